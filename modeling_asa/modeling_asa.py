# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The hybrid ASA model of Wu & Chen (Interspeech 2024): content, delivery and language-use branches.

Each branch is a transformer encoder over cached per-response features with a CLS token, learnable positional
embeddings (and, in the content branch, type embeddings for audio vs question tokens). The branch CLS vectors are
concatenated into the fused embedding, an MLP of width H^o gives ``z``, and a |C|-way output layer scores it.

This file is copied next to the weights by ``save_pretrained`` (remote code): it only imports ``torch``,
``transformers`` and its two siblings ``configuration_asa`` and ``losses``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput, logging

from .configuration_asa import AsaHybridConfig
from .objectives import main_loss, regularizer

logger = logging.get_logger(__name__)


@dataclass
class AsaHybridModelOutput(ModelOutput):
    """Output of [`AsaHybridModel`].

    Args:
        pooler_output (`torch.FloatTensor` of shape `(batch, num_branches * hidden_size)`):
            The fused embedding: the CLS vectors of the enabled branches, concatenated in the order
            content, delivery, language use.
        content_embedding (`torch.FloatTensor` of shape `(batch, hidden_size)`, *optional*):
            CLS vector of the content branch (when enabled).
        delivery_embedding (`torch.FloatTensor` of shape `(batch, hidden_size)`, *optional*):
            CLS vector of the delivery branch (when enabled).
        language_use_embedding (`torch.FloatTensor` of shape `(batch, hidden_size)`, *optional*):
            CLS vector of the language-use branch (when enabled).
    """

    pooler_output: torch.FloatTensor | None = None
    content_embedding: torch.FloatTensor | None = None
    delivery_embedding: torch.FloatTensor | None = None
    language_use_embedding: torch.FloatTensor | None = None


@dataclass
class AsaOrdinalClassifierOutput(ModelOutput):
    """Output of [`AsaHybridForOrdinalClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            The whole training objective: ``main_loss + config.ranksim_gamma * regularizer_loss`` (the main loss
            alone when ``config.regularizer == "none"``). Any training loop that calls ``loss.backward()`` trains with
            the paper's regulariser; [`AsaTrainer`] only changes how it is spread over gradient-accumulation steps.
        logits (`torch.FloatTensor` of shape `(batch, num_labels)`):
            Class scores (for LMCL, ``s * cos(z, w_j)`` without margin).
        z (`torch.FloatTensor` of shape `(batch, head_hidden_size)`):
            Output of the MLP, the input of the output layer (the features LMCL and RankSim act on).
        fused_embedding (`torch.FloatTensor` of shape `(batch, num_branches * hidden_size)`):
            Concatenated branch CLS vectors.
        main_loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            The main loss (cross-entropy, LMCL or CORN) alone, with its graph (a batch mean, or a sum over
            ``num_items_in_batch``).
        regularizer_loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given and
            `config.regularizer != "none"`):
            W-RankSim of the output-layer weight, or batch-wise RankSim of `z`, unweighted (with aspects: plus each
            aspect head's regulariser times its weight).
        aspect_logits (`torch.FloatTensor` of shape `(batch, num_aspects, num_labels)`, *optional*, returned when
            `config.aspects` is set):
            Class scores of each aspect head (same classes and decoding as `logits`).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    z: torch.FloatTensor | None = None
    fused_embedding: torch.FloatTensor | None = None
    main_loss: torch.FloatTensor | None = None
    regularizer_loss: torch.FloatTensor | None = None
    aspect_logits: torch.FloatTensor | None = None


def _downsample(features: torch.Tensor, mask: torch.Tensor, factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked average pooling of `(batch, time, dim)` over windows of ``factor`` frames."""
    if factor == 1:
        return features, mask
    batch, time, dim = features.shape
    pad = (-time) % factor
    if pad:
        features = nn.functional.pad(features, (0, 0, 0, pad))
        mask = nn.functional.pad(mask, (0, pad))
    m = mask.to(features.dtype).reshape(batch, -1, factor, 1)
    summed = (features.reshape(batch, -1, factor, dim) * m).sum(dim=2)
    counts = m.sum(dim=2)
    return summed / counts.clamp(min=1.0), (counts.squeeze(-1) > 0).to(mask.dtype)


class AsaLayerWeightedSum(nn.Module):
    """A learned weighted sum of stacked encoder layers (SUPERB): ``sum_l softmax(w)_l * LayerNorm(h_l)``.

    Each layer's states are normalised (no learned scale) before weighting, so layers of different scale (Whisper's
    residual stream grows with depth; its last layer is layer-normed) compete on their direction. The weights start
    equal.

    Args:
        num_layers (`int`): stacked layers L.
        size (`int`): size D of one layer's states.
    """

    def __init__(self, num_layers: int, size: int):
        super().__init__()
        self.num_layers, self.size = num_layers, size
        self.layer_weights = nn.Parameter(torch.zeros(num_layers))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """`(batch, time, L * D)` layer after layer -> `(batch, time, D)`."""
        batch, time, _ = features.shape
        layers = features.reshape(batch, time, self.num_layers, self.size).float()
        layers = nn.functional.layer_norm(layers, (self.size,))
        weights = torch.softmax(self.layer_weights, dim=0)
        return torch.einsum("btld,l->btd", layers, weights)


class AsaBranchEncoder(nn.Module):
    """One branch: per-segment projection to H, positional and type embeddings, a CLS token, a transformer encoder.

    A branch reads one or more segments (the content branch: answer audio states, then question token states).
    Each segment has its own projection and its own positional table, so a segment's positions never depend on how
    much padding the previous segment carries; a type embedding tells segments apart.

    Args:
        config ([`AsaHybridConfig`]): the model configuration.
        input_sizes (`list[int]`): feature size of each segment.
        max_lengths (`list[int]`): longest sequence of each segment.
    """

    def __init__(self, config: AsaHybridConfig, input_sizes: list[int], max_lengths: list[int]):
        super().__init__()
        hidden = config.hidden_size
        self.max_lengths = list(max_lengths)
        self.projections = nn.ModuleList(nn.Linear(size, hidden) for size in input_sizes)
        self.position_embeddings = nn.ModuleList(nn.Embedding(length, hidden) for length in max_lengths)
        self.type_embeddings = nn.Embedding(len(input_sizes), hidden) if len(input_sizes) > 1 else None
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.layer_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        layer = nn.TransformerEncoderLayer(
            d_model=hidden,
            nhead=config.num_attention_heads,
            dim_feedforward=config.intermediate_size,
            dropout=config.hidden_dropout_prob,
            activation="gelu",
            batch_first=True,
            norm_first=True,
            layer_norm_eps=config.layer_norm_eps,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=config.num_hidden_layers, enable_nested_tensor=False)
        self.final_layer_norm = nn.LayerNorm(hidden, eps=config.layer_norm_eps)

    def forward(self, segments: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Encode the segments and return the CLS vector.

        Args:
            segments (`list[tuple[torch.Tensor, torch.Tensor]]`): per segment, features `(batch, length, size)` and
                an attention mask `(batch, length)` with 1 for real positions and 0 for padding.

        Returns:
            `torch.Tensor` of shape `(batch, hidden_size)`.
        """
        embedded, masks = [], []
        for index, (features, mask) in enumerate(segments):
            length = features.shape[1]
            x = self.projections[index](features.to(self.projections[index].weight.dtype))
            positions = torch.arange(length, device=x.device)
            x = x + self.position_embeddings[index](positions).unsqueeze(0)
            if self.type_embeddings is not None:
                x = x + self.type_embeddings.weight[index]
            embedded.append(x)
            masks.append(mask.to(torch.bool))
        batch = embedded[0].shape[0]
        cls = self.cls_token.expand(batch, -1, -1)
        if self.type_embeddings is not None:
            cls = cls + self.type_embeddings.weight[0]
        hidden = self.dropout(self.layer_norm(torch.cat([cls, *embedded], dim=1)))
        keep = torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=hidden.device), *masks], dim=1)
        hidden = self.encoder(hidden, src_key_padding_mask=~keep)
        return self.final_layer_norm(hidden[:, 0])


class AsaPooledBranch(nn.Module):
    """A baseline branch: the masked mean of each segment, concatenated (no learned parameters).

    With ``config.branch_encoder == "pooled"`` every branch is one of these, and the model is the pooled baseline:
    mean-pooled answer states (and, when enabled, pooled question, delivery and language-use features) into a
    linear or small-MLP head, trained with the same losses and regularisers as the hybrid model.

    Args:
        input_sizes (`list[int]`): feature size of each segment; the output has their sum.
    """

    def __init__(self, input_sizes: list[int]):
        super().__init__()
        self.output_size = sum(input_sizes)

    def forward(self, segments: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Masked mean over time of every segment, concatenated: `(batch, sum(input_sizes))`.

        A segment with no real position (an answer with no words) pools to zeros.
        """
        pooled = []
        for features, mask in segments:
            weights = mask.to(torch.float32).unsqueeze(-1)
            total = (features.float() * weights).sum(dim=1)
            pooled.append(total / weights.sum(dim=1).clamp(min=1.0))
        return torch.cat(pooled, dim=-1)


class AsaStandardize(nn.Module):
    """Standardise a vector with fixed statistics (buffers saved with the weights; identity until fitted).

    Args:
        size (`int`): vector size.
    """

    def __init__(self, size: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("std", torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class AsaHybridPreTrainedModel(PreTrainedModel):
    """Weight initialisation and the `from_pretrained` plumbing shared by the ASA models."""

    config_class = AsaHybridConfig
    base_model_prefix = "asa"
    main_input_name = "acoustic_features"
    supports_gradient_checkpointing = False
    # The scorer's head (MLP, output layer, the baseline's standardisation, aspect heads) is not part of the base
    # model: `AutoModel.from_pretrained` on a scorer folder leaves it out without reporting it as unexpected.
    _keys_to_ignore_on_load_unexpected = [  # noqa: RUF012 - transformers reads the class attribute
        r"^head\.",
        r"^classifier\.",
        r"^standardize\.",
        r"^relevance\.",
        r"^aspect_heads\.",
        r"^aspect_classifiers\.",
    ]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.zero_()
        elif isinstance(module, AsaBranchEncoder):
            module.cls_token.normal_(mean=0.0, std=std)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Save as usual, and record both Auto classes in ``auto_map`` so that ``AutoModel`` and
        ``AutoModelForSequenceClassification`` load the folder with ``trust_remote_code=True`` alone."""
        module = type(self).__module__.split(".")[-1]
        auto_map = dict(getattr(self.config, "auto_map", None) or {})
        auto_map.setdefault("AutoModel", f"{module}.AsaHybridModel")
        auto_map.setdefault("AutoModelForSequenceClassification", f"{module}.AsaHybridForOrdinalClassification")
        self.config.auto_map = auto_map
        return super().save_pretrained(save_directory, *args, **kwargs)


def _check_pair(name: str, features: torch.Tensor | None, mask: torch.Tensor | None, size: int, max_len: int):
    """Validate one input and its mask; default the mask to all ones; truncate to the configured maximum length."""
    if features is None:
        raise ValueError(f"{name} is required by the enabled branches but was not given")
    if features.dim() != 3 or features.shape[-1] != size:
        raise ValueError(f"{name} must have shape (batch, length, {size}), got {tuple(features.shape)}")
    if mask is None:
        mask = torch.ones(features.shape[:2], dtype=torch.long, device=features.device)
    elif mask.shape != features.shape[:2]:
        raise ValueError(f"{name} mask must have shape {tuple(features.shape[:2])}, got {tuple(mask.shape)}")
    if features.shape[1] > max_len:
        logger.warning_once(f"{name} has {features.shape[1]} positions; truncating to the configured {max_len}.")
        features, mask = features[:, :max_len], mask[:, :max_len]
    return features, mask


def _branch(config: AsaHybridConfig, input_sizes: list[int], max_lengths: list[int]) -> nn.Module:
    """The branch module ``config.branch_encoder`` names: the paper's transformer encoder or the pooled baseline."""
    if config.branch_encoder == "pooled":
        return AsaPooledBranch(input_sizes)
    return AsaBranchEncoder(config, input_sizes, max_lengths)


class AsaHybridModel(AsaHybridPreTrainedModel):
    """The three-branch encoder; returns the fused CLS embedding (see [`AsaHybridModelOutput`]).

    Args:
        config ([`AsaHybridConfig`]): the model configuration; ``config.branches`` selects the branches.

    Example:

    ```python
    >>> import torch
    >>> from modeling_asa import AsaHybridConfig, AsaHybridModel
    >>> config = AsaHybridConfig(hidden_size=32, num_attention_heads=2, intermediate_size=64, branches=["delivery"])
    >>> model = AsaHybridModel(config)
    >>> out = model(delivery_features=torch.randn(2, 7, config.delivery_feature_size))
    >>> out.pooler_output.shape
    torch.Size([2, 32])
    ```
    """

    def __init__(self, config: AsaHybridConfig):
        super().__init__(config)
        self.acoustic_layers = (
            AsaLayerWeightedSum(config.acoustic_num_layers, config.acoustic_feature_size)
            if "content" in config.branches and config.acoustic_num_layers > 1
            else None
        )
        self.content_encoder = (
            _branch(
                config,
                [config.acoustic_feature_size, config.question_feature_size],
                [-(-config.max_audio_frames // config.acoustic_downsample), config.max_question_tokens],
            )
            if "content" in config.branches
            else None
        )
        self.delivery_encoder = (
            _branch(config, [config.delivery_feature_size], [config.max_delivery_segments])
            if "delivery" in config.branches
            else None
        )
        self.language_use_encoder = (
            _branch(config, [config.language_use_feature_size], [config.max_words])
            if "language_use" in config.branches
            else None
        )
        self.post_init()

    @property
    def output_size(self) -> int:
        """Size of the fused embedding: ``len(config.branches) * hidden_size`` (pooled baseline: the sum of the
        enabled inputs' feature sizes)."""
        if self.config.branch_encoder == "pooled":
            encoders = (self.content_encoder, self.delivery_encoder, self.language_use_encoder)
            return sum(e.output_size for e in encoders if e is not None)
        return len(self.config.branches) * self.config.hidden_size

    def forward(
        self,
        acoustic_features: torch.Tensor | None = None,
        acoustic_attention_mask: torch.Tensor | None = None,
        question_features: torch.Tensor | None = None,
        question_attention_mask: torch.Tensor | None = None,
        delivery_features: torch.Tensor | None = None,
        delivery_attention_mask: torch.Tensor | None = None,
        language_use_features: torch.Tensor | None = None,
        language_use_attention_mask: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> AsaHybridModelOutput | tuple:
        r"""
        Args:
            acoustic_features (`torch.FloatTensor` of shape `(batch, frames, layers * acoustic_feature_size)`):
                Frozen acoustic-encoder (Whisper) states of the answer; ``layers = config.acoustic_num_layers``,
                layer after layer along the last axis.
            acoustic_attention_mask (`torch.LongTensor` of shape `(batch, frames)`, *optional*):
                1 for real frames, 0 for padding (all ones when omitted).
            question_features (`torch.FloatTensor` of shape `(batch, tokens, question_feature_size)`):
                Sentence-BERT token states of the question.
            question_attention_mask (`torch.LongTensor` of shape `(batch, tokens)`, *optional*): padding mask.
            delivery_features (`torch.FloatTensor` of shape `(batch, words, delivery_feature_size)`):
                Raw per-word delivery features (standardised inside with the config's train-split statistics).
            delivery_attention_mask (`torch.LongTensor` of shape `(batch, words)`, *optional*): padding mask.
            language_use_features (`torch.FloatTensor` of shape `(batch, words, language_use_feature_size)`):
                Per-word POS/DEP/morphology one-hot vectors.
            language_use_attention_mask (`torch.LongTensor` of shape `(batch, words)`, *optional*): padding mask.
            return_dict (`bool`, *optional*): return a [`AsaHybridModelOutput`] (default) or a tuple.
        """
        config = self.config
        return_dict = return_dict if return_dict is not None else config.return_dict
        embeddings = {}
        if self.content_encoder is not None:
            acoustic, acoustic_mask = _check_pair(
                "acoustic_features", acoustic_features, acoustic_attention_mask,
                config.acoustic_num_layers * config.acoustic_feature_size, config.max_audio_frames,
            )  # fmt: skip
            if self.acoustic_layers is not None:
                acoustic = self.acoustic_layers(acoustic)
            acoustic, acoustic_mask = _downsample(acoustic, acoustic_mask, config.acoustic_downsample)
            question, question_mask = _check_pair(
                "question_features", question_features, question_attention_mask,
                config.question_feature_size, config.max_question_tokens,
            )  # fmt: skip
            embeddings["content"] = self.content_encoder([(acoustic, acoustic_mask), (question, question_mask)])
        if self.delivery_encoder is not None:
            delivery, delivery_mask = _check_pair(
                "delivery_features", delivery_features, delivery_attention_mask,
                config.delivery_feature_size, config.max_delivery_segments,
            )  # fmt: skip
            if config.delivery_feature_mean is not None:
                # Train-split statistics live in the config (not in buffers), so every load path agrees.
                mean = delivery.new_tensor(config.delivery_feature_mean, dtype=torch.float32)
                std = delivery.new_tensor(config.delivery_feature_std, dtype=torch.float32)
                delivery = (delivery.float() - mean) / std
            # Non-finite raw values (e.g. an undefined pitch) become the train mean, i.e. 0 after standardising.
            delivery = torch.nan_to_num(delivery, nan=0.0, posinf=0.0, neginf=0.0)
            embeddings["delivery"] = self.delivery_encoder([(delivery, delivery_mask)])
        if self.language_use_encoder is not None:
            language, language_mask = _check_pair(
                "language_use_features", language_use_features, language_use_attention_mask,
                config.language_use_feature_size, config.max_words,
            )  # fmt: skip
            embeddings["language_use"] = self.language_use_encoder([(language, language_mask)])
        pooled = torch.cat(
            [embeddings[name] for name in ("content", "delivery", "language_use") if name in embeddings], -1
        )
        output = AsaHybridModelOutput(
            pooler_output=pooled,
            content_embedding=embeddings.get("content"),
            delivery_embedding=embeddings.get("delivery"),
            language_use_embedding=embeddings.get("language_use"),
        )
        return output if return_dict else output.to_tuple()


class AsaHybridForOrdinalClassification(AsaHybridPreTrainedModel):
    """The hybrid model with its ordinal classification head: MLP (H^o), then a |C|-way output layer.

    The output layer's weight ``W`` (``classifier.weight``, shape ``(num_labels, head_hidden_size)``) holds one
    vector per ordered class; W-RankSim regularises it. With ``config.loss == "lmcl"`` the logits are
    ``s * cos(z, w_j)`` (margin on the target class during training) and the layer has no bias. With
    ``config.loss == "corn"`` the layer has |C|-1 threshold outputs and the logits are the class log-probabilities
    they imply (CORN, the ordinal baseline).

    With ``labels`` the output's ``loss`` is the whole objective, ``main_loss + ranksim_gamma * regularizer_loss``,
    and both parts are returned as well: a plain `transformers.Trainer` or a hand-written loop trains with the
    regulariser. [`AsaTrainer`] adds only what gradient accumulation needs (W-RankSim once per optimiser step).

    Args:
        config ([`AsaHybridConfig`]): the model configuration.

    Example:

    ```python
    >>> import torch
    >>> from modeling_asa import AsaHybridConfig, AsaHybridForOrdinalClassification
    >>> config = AsaHybridConfig(hidden_size=32, num_attention_heads=2, intermediate_size=64, branches=["delivery"])
    >>> model = AsaHybridForOrdinalClassification(config)
    >>> out = model(delivery_features=torch.randn(2, 7, config.delivery_feature_size), labels=torch.tensor([0, 4]))
    >>> out.logits.shape, out.regularizer_loss is not None
    (torch.Size([2, 5]), True)
    ```
    """

    # The forward takes `num_items_in_batch`, so the Trainer counts labels across gradient-accumulation steps and the
    # loss is normalised by that count (exact under gradient accumulation, whatever the micro-batch sizes).
    accepts_loss_kwargs = True

    def __init__(self, config: AsaHybridConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.asa = AsaHybridModel(config)
        fused_size = self.asa.output_size
        # The pooled baseline standardises its inputs with training-split statistics (`fit_standardizer`)
        self.standardize = AsaStandardize(fused_size) if config.branch_encoder == "pooled" else None
        # the relevance evidence beside the branches (config.relevance_feature_size; not in the paper's model):
        # counts and seconds log-compressed, projected to H and layer-normed
        self.relevance = None
        if config.relevance_feature_size:
            self.relevance = nn.Sequential(
                nn.Linear(config.relevance_feature_size, config.hidden_size),
                nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps),
                nn.GELU(),
            )
            fused_size += config.hidden_size
        self.head, z_size = self._make_head(fused_size)
        self.classifier = self._make_classifier(z_size)
        # one ordinal head per rubric aspect, on the same classes (config.aspects; none by default)
        self.aspect_heads = self.aspect_classifiers = None
        if config.aspects:
            source_size = fused_size if config.aspect_source == "fused" else config.hidden_size
            heads = [self._make_head(source_size) for _ in config.aspects]
            self.aspect_heads = nn.ModuleList(head for head, _ in heads)
            self.aspect_classifiers = nn.ModuleList(self._make_classifier(size) for _, size in heads)
        self.post_init()

    def _make_head(self, input_size: int) -> tuple[nn.Module, int]:
        """The MLP H^o (or, for the pooled linear baseline, dropout only) and the size of its output ``z``."""
        config = self.config
        if config.head_hidden_size:
            head = nn.Sequential(
                nn.Dropout(config.hidden_dropout_prob),
                nn.Linear(input_size, config.head_hidden_size),
                nn.GELU(),
                nn.Dropout(config.hidden_dropout_prob),
            )
            return head, config.head_hidden_size
        # the pooled linear baseline: the output layer reads the standardised pooled features
        return nn.Dropout(config.hidden_dropout_prob), input_size

    def _make_classifier(self, z_size: int) -> nn.Linear:
        # the main loss decides the outputs (CORN: one per threshold, |C|-1) and the bias (LMCL: none)
        objective = main_loss(self.config.loss)
        return nn.Linear(z_size, objective.num_outputs(self.config.num_labels), bias=objective.bias)

    @torch.no_grad()
    def fit_standardizer(self, batches) -> None:
        """Set the pooled baseline's standardisation to the mean and standard deviation of its pooled inputs.

        Args:
            batches (iterable of `dict`): collated model inputs of the training split (labels are ignored).

        Raises:
            ValueError: when the model is not the pooled baseline, or ``batches`` is empty.
        """
        if self.standardize is None:
            raise ValueError("fit_standardizer applies to branch_encoder='pooled' only")
        total = total_sq = None
        count = 0
        device = self.classifier.weight.device
        for batch in batches:
            inputs = {
                k: v.to(device)
                for k, v in batch.items()
                if k not in ("labels", "aspect_labels", "relevance_features", "num_items_in_batch")
            }
            fused = self.asa(**inputs, return_dict=True).pooler_output.double()
            total = fused.sum(0) if total is None else total + fused.sum(0)
            total_sq = (fused**2).sum(0) if total_sq is None else total_sq + (fused**2).sum(0)
            count += fused.shape[0]
        if not count:
            raise ValueError("fit_standardizer needs at least one batch")
        mean = total / count
        std = (total_sq / count - mean**2).clamp(min=0.0).sqrt()
        # a constant input (e.g. a one-hot never seen in training) is left unscaled rather than divided by 0
        std = torch.where(std > 1e-6, std, torch.ones_like(std))
        self.standardize.mean.copy_(mean.float())
        self.standardize.std.copy_(std.float())

    def regularizer(
        self,
        z: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator | None = None,
        classifier: nn.Linear | None = None,
    ):
        """The configured rank regulariser (unweighted), or ``None`` when ``config.regularizer == "none"``.

        Args:
            z (`torch.Tensor` of shape `(batch, head_hidden_size)`): the batch's features (used by RankSim).
            labels (`torch.Tensor` of shape `(batch,)`): class indices (used by RankSim).
            generator (`torch.Generator`, *optional*): for RankSim's per-label sampling.
            classifier (`nn.Linear`, *optional*): the output layer W-RankSim ranks (default: the holistic one).
        """
        rank_regularizer = regularizer(self.config.regularizer)
        if rank_regularizer is None:
            return None
        classifier = classifier if classifier is not None else self.classifier
        return rank_regularizer(z, labels, classifier, self.config, generator=generator)

    def _output(self, z: torch.Tensor, classifier: nn.Linear) -> tuple[torch.Tensor, Any]:
        """(class logits, what the main loss needs besides, e.g. CORN's threshold logits) of one output layer."""
        return main_loss(self.config.loss).logits(z, classifier, self.config)

    def _objective(self, z, logits, extra, labels, num_items_in_batch, classifier):
        """The main loss of one head (``config.loss``, a registered objective) on its labelled answers."""
        return main_loss(self.config.loss).loss(
            z, logits, extra, labels, classifier, self.config, num_items_in_batch, self.training
        )

    def forward(
        self,
        acoustic_features: torch.Tensor | None = None,
        acoustic_attention_mask: torch.Tensor | None = None,
        question_features: torch.Tensor | None = None,
        question_attention_mask: torch.Tensor | None = None,
        delivery_features: torch.Tensor | None = None,
        delivery_attention_mask: torch.Tensor | None = None,
        language_use_features: torch.Tensor | None = None,
        language_use_attention_mask: torch.Tensor | None = None,
        relevance_features: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        aspect_labels: torch.Tensor | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> AsaOrdinalClassifierOutput | tuple:
        r"""
        Args:
            acoustic_features, acoustic_attention_mask, question_features, question_attention_mask,
            delivery_features, delivery_attention_mask, language_use_features, language_use_attention_mask:
                See [`AsaHybridModel.forward`].
            labels (`torch.LongTensor` of shape `(batch,)`, *optional*):
                Class indices in ``[0, num_labels)``; when given the main loss and the regulariser are computed.
            relevance_features (`torch.FloatTensor` of shape `(batch, relevance_feature_size)`, *optional*):
                The relevance stage's evidence per answer; required when ``config.relevance_feature_size`` > 0.
            aspect_labels (`torch.LongTensor` of shape `(batch, num_aspects)`, *optional*):
                Class indices of each aspect (``config.aspects`` order; a negative value: not rated); with
                ``labels``, each aspect head's loss and regulariser join the objective, times its weight.
            num_items_in_batch (`int` or `torch.Tensor`, *optional*):
                Number of labelled items in the whole accumulated batch (passed by the Trainer under gradient
                accumulation); the main loss is then ``sum / num_items_in_batch`` instead of a per-batch mean.
            return_dict (`bool`, *optional*): return an [`AsaOrdinalClassifierOutput`] (default) or a tuple.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        hybrid = self.asa(
            acoustic_features=acoustic_features,
            acoustic_attention_mask=acoustic_attention_mask,
            question_features=question_features,
            question_attention_mask=question_attention_mask,
            delivery_features=delivery_features,
            delivery_attention_mask=delivery_attention_mask,
            language_use_features=language_use_features,
            language_use_attention_mask=language_use_attention_mask,
            return_dict=True,
        )
        fused = hybrid.pooler_output
        head_input = fused if self.standardize is None else self.standardize(fused)
        if self.relevance is not None:
            if relevance_features is None:
                raise ValueError(
                    f"this model reads relevance_features (config.relevance_feature_size = "
                    f"{self.config.relevance_feature_size}); compute them with the relevance stage"
                )
            evidence = torch.nan_to_num(relevance_features.to(head_input), nan=0.0, posinf=0.0, neginf=0.0)
            evidence = torch.sign(evidence) * torch.log1p(evidence.abs())  # word counts and seconds compressed
            head_input = torch.cat([head_input, self.relevance(evidence)], dim=-1)
        z = self.head(head_input)
        logits, corn_logits = self._output(z, self.classifier)
        aspects = []  # (z, logits, corn logits) per aspect head
        if self.aspect_heads is not None:
            for name, head, classifier in zip(self.config.aspects, self.aspect_heads, self.aspect_classifiers):
                source = head_input if self.config.aspect_source == "fused" else getattr(hybrid, f"{name}_embedding")
                z_aspect = head(source)
                aspects.append((z_aspect, *self._output(z_aspect, classifier)))

        loss = main_loss = regularizer_loss = None
        if labels is not None:
            labels = labels.to(logits.device).long().reshape(-1)
            if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_labels):
                raise ValueError(
                    f"labels must be class indices in [0, {self.num_labels}), got values in "
                    f"[{int(labels.min())}, {int(labels.max())}]"
                )
            main_loss = self._objective(z, logits, corn_logits, labels, num_items_in_batch, self.classifier)
            regularizer_loss = self.regularizer(z, labels)
            if aspects and aspect_labels is not None:
                aspect_labels = aspect_labels.to(logits.device).long().reshape(len(labels), len(aspects))
                if aspect_labels.max() >= self.num_labels:
                    raise ValueError(f"aspect_labels must be class indices below {self.num_labels} (negative: not "
                                     f"rated), got {int(aspect_labels.max())}")  # fmt: skip
                weights = self.config.aspect_loss_weights
                for i, ((z_a, logits_a, corn_a), classifier) in enumerate(zip(aspects, self.aspect_classifiers)):
                    rated = aspect_labels[:, i] >= 0
                    if not bool(rated.any()):
                        continue
                    target = aspect_labels[rated, i]
                    corn_rated = corn_a[rated] if corn_a is not None else None
                    main_loss = main_loss + weights[i] * self._objective(
                        z_a[rated], logits_a[rated], corn_rated, target, num_items_in_batch, classifier
                    )
                    extra = self.regularizer(z_a[rated], target, classifier=classifier)
                    if extra is not None:
                        regularizer_loss = regularizer_loss + weights[i] * extra
            loss = main_loss
            if regularizer_loss is not None:  # the whole objective: any loop that backpropagates `loss` is the paper's
                loss = main_loss + self.config.ranksim_gamma * regularizer_loss

        output = AsaOrdinalClassifierOutput(
            loss=loss,
            logits=logits,
            z=z,
            fused_embedding=fused,
            main_loss=main_loss,
            regularizer_loss=regularizer_loss,
            aspect_logits=torch.stack([a[1] for a in aspects], dim=1) if aspects else None,
        )
        return output if return_dict else output.to_tuple()


AsaHybridConfig.register_for_auto_class()
AsaHybridModel.register_for_auto_class("AutoModel")
AsaHybridForOrdinalClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "AsaBranchEncoder",
    "AsaHybridForOrdinalClassification",
    "AsaHybridModel",
    "AsaHybridModelOutput",
    "AsaHybridPreTrainedModel",
    "AsaLayerWeightedSum",
    "AsaOrdinalClassifierOutput",
    "AsaPooledBranch",
    "AsaStandardize",
]

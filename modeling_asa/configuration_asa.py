# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Configuration of the hybrid automatic speech assessment (ASA) model.

This file is copied next to the weights by ``save_pretrained`` (remote code), so it only imports
``transformers``.
"""

from __future__ import annotations

from typing import ClassVar

from transformers import PretrainedConfig

BRANCHES = ("content", "delivery", "language_use")
BRANCH_ENCODERS = ("transformer", "pooled")
ASPECT_SOURCES = ("fused", "branch")


class AsaHybridConfig(PretrainedConfig):
    r"""
    Configuration of [`AsaHybridModel`] and [`AsaHybridForOrdinalClassification`], the hybrid feature-fusion scorer
    of Wu & Chen, "Optimizing Automatic Speech Assessment: W-RankSim Regularization and Hybrid Feature Fusion
    Strategies" (Interspeech 2024). ``AsaHybridConfig()`` is the paper's model: three branches, ``H = 512``,
    ``H^o = 64``, five score classes (1-5), cross-entropy with W-RankSim (``lambda = 2``, ``gamma = 1.5``).

    The classes are ordered: class index ``i`` is the ``i``-th smallest score, and ``id2label`` maps indices to the
    score names (``{0: "1", ..., 4: "5"}`` by default).

    Args:
        num_labels (`int`, *optional*, defaults to 5):
            Number of ordered score classes |C| (ignored when ``id2label`` is given).
        hidden_size (`int`, *optional*, defaults to 512):
            Width H of every branch encoder.
        head_hidden_size (`int`, *optional*, defaults to 64):
            Width H^o of the MLP before the output layer; the output weight is ``|C| x H^o``. With
            ``branch_encoder="pooled"``, 0 means no MLP: the output layer reads the standardised pooled features
            (a linear model).
        branch_encoder (`str`, *optional*, defaults to `"transformer"`):
            How a branch turns its sequences into one vector: ``"transformer"`` (the paper's encoder with a CLS
            token) or ``"pooled"`` (the masked mean of each input sequence, standardised with training-split
            statistics: the pooled linear or small-MLP baseline).
        acoustic_feature_size (`int`, *optional*, defaults to 512):
            Size of the acoustic-encoder states of the answer (Whisper-base: 512).
        acoustic_num_layers (`int`, *optional*, defaults to 1):
            Layers of acoustic-encoder states per frame. 1: ``acoustic_features`` are one layer's states (the
            last). More (features made with ``asa-prepare --acoustic-layers all``: Whisper-base has 7): the features
            hold that many layers side by side, ``acoustic_num_layers * acoustic_feature_size`` wide, and the model
            learns a softmax-weighted sum of the layers, each normalised first (the SUPERB practice).
        question_feature_size (`int`, *optional*, defaults to 384):
            Size of the question token states (all-MiniLM-L6-v2: 384).
        delivery_feature_size (`int`, *optional*, defaults to 16):
            Size of one per-word delivery feature vector.
        language_use_feature_size (`int`, *optional*, defaults to 256):
            Size of one per-word language-use (POS/DEP/morphology) vector.
        max_audio_frames (`int`, *optional*, defaults to 1500):
            Longest acoustic sequence (1500 Whisper frames = 30 s); longer inputs are truncated with a warning.
        max_question_tokens (`int`, *optional*, defaults to 128):
            Longest question token sequence.
        max_delivery_segments (`int`, *optional*, defaults to 128):
            Longest delivery sequence M (words).
        max_words (`int`, *optional*, defaults to 128):
            Longest language-use sequence T (words).
        acoustic_downsample (`int`, *optional*, defaults to 1):
            Average-pool the acoustic states over this many frames before the content encoder (1: no pooling).
        num_hidden_layers (`int`, *optional*, defaults to 2):
            Transformer layers per branch encoder.
        num_attention_heads (`int`, *optional*, defaults to 8):
            Attention heads per layer; must divide ``hidden_size``.
        intermediate_size (`int`, *optional*, defaults to 1024):
            Feed-forward size of the branch encoder layers.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on embeddings, encoder layers and the MLP head.
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.1):
            Kept for compatibility with BERT-like configs; the encoder layers use ``hidden_dropout_prob``.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the layer norms.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialiser.
        branches (`list[str]`, *optional*, defaults to `["content", "delivery", "language_use"]`):
            Enabled branches (any non-empty subset, for the ablations of Table 1).
        loss (`str`, *optional*, defaults to `"ce"`):
            Main loss: ``"ce"`` (cross-entropy on a linear output layer), ``"lmcl"`` (CosFace) or ``"corn"`` (the
            CORN ordinal baseline: |C|-1 conditional binary outputs; the model's logits are then the class
            log-probabilities).
        lmcl_scale (`float`, *optional*, defaults to 1.96):
            LMCL scale s.
        lmcl_margin (`float`, *optional*, defaults to 0.15):
            LMCL additive cosine margin m.
        class_weights (`list[float]`, *optional*):
            One weight per class multiplying each answer's main loss (e.g. ``n / (|C| n_c)`` for balanced classes);
            ``None``: every answer counts the same.
        regularizer (`str`, *optional*, defaults to `"w_ranksim"`):
            ``"none"``, ``"w_ranksim"`` (on the output-layer weight) or ``"ranksim"`` (batch-wise, on ``z``).
        ranksim_lambda (`float`, *optional*, defaults to 2.0):
            Interpolation lambda of the blackbox rank gradient (Eq. 7).
        ranksim_gamma (`float`, *optional*, defaults to 1.5):
            Weight gamma of the regulariser in the total loss.
        acoustic_encoder (`str`, *optional*, defaults to `"openai/whisper-base"`):
            Id or path of the frozen encoder that produced ``acoustic_features``.
        context_encoder (`str`, *optional*, defaults to `"sentence-transformers/all-MiniLM-L6-v2"`):
            Id or path of the frozen encoder that produced ``question_features``.
        ctc_model (`str`, *optional*, defaults to `"facebook/wav2vec2-base-960h"`):
            Monolingual CTC model used for alignment and posteriors.
        asr_model (`str`, *optional*, defaults to `"voidful/wav2vec2-xlsr-multilingual-56"`):
            Multilingual CTC model used for the transcript and posteriors (XLSR-53 fine-tuned for CTC on 56
            languages of Common Voice; ``asa-prepare`` records the model it actually used).
        recognizer (`str`, *optional*):
            The ASR model whose words the delivery and language-use features are built on (Whisper's decoder by
            default; ``None``: the greedy CTC transcript of ``asr_model``). ``asa-prepare`` records the model it used.
        spacy_model (`str`, *optional*, defaults to `"en_core_web_sm"`):
            spaCy pipeline used for the language-use features.
        language_model (`str`, *optional*):
            Path of the kenlm n-gram LM used for the delivery features.
        delivery_feature_names (`list[str]`, *optional*):
            Name of each delivery field, in order (recorded from the feature pipeline).
        delivery_feature_mean (`list[float]`, *optional*):
            Per-field mean of the delivery features on the training split; with ``delivery_feature_std`` the model
            standardises its delivery input, so training and scoring agree.
        delivery_feature_std (`list[float]`, *optional*):
            Per-field standard deviation matching ``delivery_feature_mean``.
        language_use_inventory (`dict`, *optional*):
            The spaCy label inventory behind the language-use one-hots.
        aspects (`list[str]`, *optional*):
            Names of the rubric aspects scored apart (e.g. ``["content", "delivery", "language_use"]`` or
            speechocean762's ``["accuracy", "fluency", "prosodic", "completeness"]``): one ordinal head per aspect
            beside the holistic one, on the same classes, trained with the same loss and regulariser. ``None``: the
            holistic head only.
        aspect_loss_weights (`list[float]`, *optional*, defaults to 1.0 per aspect):
            Weight of each aspect's loss (and regulariser) in the objective; the holistic loss has weight 1.
        aspect_source (`str`, *optional*, defaults to `"fused"`):
            What each aspect head reads: ``"fused"`` (the fused branch vectors, like the holistic head) or
            ``"branch"`` (the CLS vector of the branch named like the aspect; needs aspect names that are branches).
        relevance_feature_size (`int`, *optional*, defaults to 0):
            Width of the relevance evidence vector (``relevance_features``: similarity to the question and its
            reference answers, words heard, confidence...; the relevance stage's fields) fed to the head beside the
            fused branches, so the score itself can respond to what was said; 0: not used (the paper's model).

    Example:

    ```python
    >>> from modeling_asa import AsaHybridConfig
    >>> config = AsaHybridConfig(branches=["content", "delivery"], loss="lmcl")
    >>> config.num_labels, config.hidden_size
    (5, 512)
    ```
    """

    model_type = "asa_hybrid"
    keys_to_ignore_at_inference: ClassVar[list[str]] = ["z", "fused_embedding", "main_loss", "regularizer_loss"]

    def __init__(
        self,
        hidden_size: int = 512,
        head_hidden_size: int = 64,
        branch_encoder: str = "transformer",
        acoustic_feature_size: int = 512,
        acoustic_num_layers: int = 1,
        question_feature_size: int = 384,
        delivery_feature_size: int = 16,
        language_use_feature_size: int = 256,
        max_audio_frames: int = 1500,
        max_question_tokens: int = 128,
        max_delivery_segments: int = 128,
        max_words: int = 128,
        acoustic_downsample: int = 1,
        num_hidden_layers: int = 2,
        num_attention_heads: int = 8,
        intermediate_size: int = 1024,
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        layer_norm_eps: float = 1e-5,
        initializer_range: float = 0.02,
        branches: list[str] | tuple[str, ...] | None = None,
        loss: str = "ce",
        lmcl_scale: float = 1.96,
        lmcl_margin: float = 0.15,
        class_weights: list[float] | None = None,
        regularizer: str = "w_ranksim",
        ranksim_lambda: float = 2.0,
        ranksim_gamma: float = 1.5,
        acoustic_encoder: str = "openai/whisper-base",
        context_encoder: str = "sentence-transformers/all-MiniLM-L6-v2",
        ctc_model: str = "facebook/wav2vec2-base-960h",
        asr_model: str = "voidful/wav2vec2-xlsr-multilingual-56",
        recognizer: str | None = None,
        spacy_model: str = "en_core_web_sm",
        language_model: str | None = None,
        delivery_feature_names: list[str] | None = None,
        delivery_feature_mean: list[float] | None = None,
        delivery_feature_std: list[float] | None = None,
        language_use_inventory: dict | None = None,
        aspects: list[str] | None = None,
        aspect_loss_weights: list[float] | None = None,
        aspect_source: str = "fused",
        relevance_feature_size: int = 0,
        **kwargs,
    ):
        if "id2label" not in kwargs and "num_labels" not in kwargs:
            kwargs["num_labels"] = 5
        super().__init__(**kwargs)
        if "id2label" not in kwargs:
            # Default class names are the scores 1..|C| (the paper's 1-5 scale).
            self.id2label = {i: str(i + 1) for i in range(self.num_labels)}
        if not getattr(self, "label2id", None) or len(self.label2id) != len(self.id2label):
            self.label2id = {v: k for k, v in self.id2label.items()}
        self.hidden_size = hidden_size
        self.head_hidden_size = head_hidden_size
        self.branch_encoder = branch_encoder
        self.acoustic_feature_size = acoustic_feature_size
        self.acoustic_num_layers = acoustic_num_layers
        self.question_feature_size = question_feature_size
        self.delivery_feature_size = delivery_feature_size
        self.language_use_feature_size = language_use_feature_size
        self.max_audio_frames = max_audio_frames
        self.max_question_tokens = max_question_tokens
        self.max_delivery_segments = max_delivery_segments
        self.max_words = max_words
        self.acoustic_downsample = acoustic_downsample
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.branches = list(BRANCHES if branches is None else branches)
        self.loss = loss
        self.lmcl_scale = lmcl_scale
        self.lmcl_margin = lmcl_margin
        self.class_weights = [float(w) for w in class_weights] if class_weights is not None else None
        self.regularizer = regularizer
        self.ranksim_lambda = ranksim_lambda
        self.ranksim_gamma = ranksim_gamma
        self.acoustic_encoder = acoustic_encoder
        self.context_encoder = context_encoder
        self.ctc_model = ctc_model
        self.asr_model = asr_model
        self.recognizer = recognizer
        self.spacy_model = spacy_model
        self.language_model = language_model
        self.delivery_feature_names = list(delivery_feature_names) if delivery_feature_names is not None else None
        self.delivery_feature_mean = list(delivery_feature_mean) if delivery_feature_mean is not None else None
        self.delivery_feature_std = list(delivery_feature_std) if delivery_feature_std is not None else None
        self.language_use_inventory = language_use_inventory
        self.aspects = list(aspects) if aspects else None
        self.aspect_loss_weights = (
            [float(w) for w in aspect_loss_weights]
            if aspect_loss_weights is not None
            else ([1.0] * len(self.aspects) if self.aspects else None)
        )
        self.aspect_source = aspect_source
        self.relevance_feature_size = relevance_feature_size
        self.validate_asa()

    def validate_asa(self) -> None:
        """Check the hyper-parameters; raise `ValueError` quoting every bad value."""
        errors = []
        if self.num_labels < 2:
            errors.append(f"num_labels must be >= 2 for ordinal classification, got {self.num_labels}")
        positive = (
            "hidden_size", "acoustic_feature_size", "acoustic_num_layers", "question_feature_size",
            "delivery_feature_size", "language_use_feature_size", "max_audio_frames", "max_question_tokens",
            "max_delivery_segments", "max_words", "acoustic_downsample", "num_hidden_layers",
            "num_attention_heads", "intermediate_size",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors.append(f"{name} must be a positive integer, got {value!r}")
        if self.branch_encoder not in BRANCH_ENCODERS:
            errors.append(f"branch_encoder must be one of {list(BRANCH_ENCODERS)}, got {self.branch_encoder!r}")
        smallest_head = 0 if self.branch_encoder == "pooled" else 1
        head = self.head_hidden_size
        if not isinstance(head, int) or isinstance(head, bool) or head < smallest_head:
            errors.append(
                f"head_hidden_size must be an integer >= {smallest_head} with branch_encoder "
                f"{self.branch_encoder!r}, got {head!r}"
            )
        if not errors and self.hidden_size % self.num_attention_heads:
            errors.append(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                errors.append(f"{name} must be in [0, 1), got {value!r}")
        unknown = [b for b in self.branches if b not in BRANCHES]
        if unknown:
            errors.append(f"unknown branches {unknown}; valid branches are {list(BRANCHES)}")
        if not self.branches:
            errors.append(f"branches must name at least one of {list(BRANCHES)}, got []")
        if len(set(self.branches)) != len(self.branches):
            errors.append(f"branches must not repeat, got {self.branches}")
        from .objectives import MAIN_LOSSES, REGULARIZERS  # the registered objectives, one file each

        if self.loss not in MAIN_LOSSES:
            errors.append(f"loss must be one of {sorted(MAIN_LOSSES)}, got {self.loss!r}")
        if self.class_weights is not None and (
            len(self.class_weights) != self.num_labels or any(not w > 0 for w in self.class_weights)
        ):
            errors.append(
                f"class_weights must be {self.num_labels} positive numbers (one per class), got {self.class_weights}"
            )
        if self.regularizer != "none" and self.regularizer not in REGULARIZERS:
            errors.append(f"regularizer must be one of {['none', *sorted(REGULARIZERS)]}, got {self.regularizer!r}")
        allowed = MAIN_LOSSES[self.loss].regularizers if self.loss in MAIN_LOSSES else None
        if allowed is not None and self.regularizer not in ("none", *allowed):
            errors.append(
                f"regularizer {self.regularizer!r} does not apply to loss {self.loss!r} (e.g. W-RankSim ranks |C| "
                f"class vectors, the CORN output layer has |C|-1 threshold vectors): use 'none' or one of {list(allowed)}"
            )
        if self.loss == "corn" and self.class_weights is not None:
            errors.append("class_weights are not supported with loss 'corn' (coral-pytorch's loss has no weights)")
        if self.lmcl_scale <= 0:
            errors.append(f"lmcl_scale must be > 0, got {self.lmcl_scale!r}")
        if self.lmcl_margin < 0:
            errors.append(f"lmcl_margin must be >= 0, got {self.lmcl_margin!r}")
        if self.ranksim_lambda <= 0:
            errors.append(f"ranksim_lambda must be > 0, got {self.ranksim_lambda!r}")
        if self.ranksim_gamma < 0:
            errors.append(f"ranksim_gamma must be >= 0, got {self.ranksim_gamma!r}")
        if not isinstance(self.relevance_feature_size, int) or self.relevance_feature_size < 0:
            errors.append(f"relevance_feature_size must be an integer >= 0, got {self.relevance_feature_size!r}")
        if self.aspects:
            if len(set(self.aspects)) != len(self.aspects):
                errors.append(f"aspects must not repeat, got {self.aspects}")
            weights = self.aspect_loss_weights or []
            if len(weights) != len(self.aspects) or any(w < 0 for w in weights):
                errors.append(
                    f"aspect_loss_weights must be {len(self.aspects)} numbers >= 0 (one per aspect), got {weights}"
                )
            if self.aspect_source not in ASPECT_SOURCES:
                errors.append(f"aspect_source must be one of {list(ASPECT_SOURCES)}, got {self.aspect_source!r}")
            elif self.aspect_source == "branch" and self.branch_encoder != "transformer":
                errors.append("aspect_source 'branch' needs branch_encoder 'transformer' (a CLS vector per branch)")
            elif self.aspect_source == "branch" and any(a not in self.branches for a in self.aspects):
                errors.append(
                    f"aspect_source 'branch' feeds each aspect head from the branch of the same name; aspects "
                    f"{[a for a in self.aspects if a not in self.branches]} are not branches of {self.branches}"
                )
        for name in ("delivery_feature_names", "delivery_feature_mean", "delivery_feature_std"):
            value = getattr(self, name)
            if value is not None and len(value) != self.delivery_feature_size:
                errors.append(
                    f"{name} has {len(value)} entries but delivery_feature_size is {self.delivery_feature_size}"
                )
        if (self.delivery_feature_mean is None) != (self.delivery_feature_std is None):
            errors.append("delivery_feature_mean and delivery_feature_std must be given together")
        if self.delivery_feature_std is not None and any(s <= 0 for s in self.delivery_feature_std):
            errors.append(f"delivery_feature_std must be > 0 everywhere, got {self.delivery_feature_std}")
        if errors:
            raise ValueError("Invalid AsaHybridConfig: " + "; ".join(errors))


__all__ = ["ASPECT_SOURCES", "BRANCHES", "BRANCH_ENCODERS", "AsaHybridConfig"]

# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""A Whisper encoder with a small CTC head: character posteriors at 20 ms frames, loadable as ``AutoModelForCTC``.

Whisper's encoder always reads a 30 s window of log-mel features (3000 frames at a 10 ms hop) and
returns 1500 states (20 ms each). :class:`WhisperEncoderForCTC` pads shorter inputs to one window
with the value the Whisper feature extractor gives to zero audio, splits longer inputs into
several windows, runs the encoder only on the windows that hold audio, trims the states to the
real length given by the attention mask (``ceil(mel_frames / 2)``), and maps each state to CTC
logits with a small head (:class:`WhisperCtcHead`). The head sees only the real frames of each
row (states beyond a row's length are zeroed and the LSTM is packed), so a padded batch gives
the same logits as one answer at a time.

This file is copied next to the weights by ``save_pretrained`` (remote code), so it only imports
``torch`` and ``transformers``.

Example:
    >>> import torch
    >>> from transformers import WhisperConfig
    >>> config = WhisperCtcConfig(
    ...     encoder_config=WhisperConfig(d_model=32, encoder_layers=1, encoder_attention_heads=2,
    ...                                  encoder_ffn_dim=64, max_source_positions=50, num_mel_bins=80).to_dict(),
    ...     head_hidden_size=16, vocab_size=30)
    >>> model = WhisperEncoderForCTC(config).eval()
    >>> features = torch.randn(2, 80, 60)   # 0.6 s of log-mel frames
    >>> mask = torch.ones(2, 60, dtype=torch.long); mask[1, 40:] = 0
    >>> model(features, attention_mask=mask).logits.shape
    torch.Size([2, 30, 30])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel, WhisperConfig
from transformers.modeling_outputs import CausalLMOutput
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from .configuration_whisper_ctc import WhisperCtcConfig

MEL_HOP_SAMPLES = 160
"""Samples per log-mel frame of the Whisper feature extractor (10 ms at 16 kHz)."""
SILENCE_LOG_MEL = -1.5
"""Normalised log-mel value of digital silence: ``(log10(1e-10) + 4) / 4``."""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def whisper_padding_value(input_features: torch.Tensor) -> torch.Tensor:
    """Per-row value the Whisper feature extractor gives to zero-padded audio.

    The extractor clamps each log-mel spectrogram to ``max - 8`` and maps ``x`` to ``(x + 4) / 4``; zero
    audio (``log10(1e-10) = -10``) therefore becomes ``max(row_max - 2, -1.5)`` after normalisation.

    Args:
        input_features: ``(batch, num_mel_bins, frames)`` normalised log-mel features.

    Returns:
        ``(batch, 1, 1)`` padding values, same dtype as the features.
    """
    row_max = input_features.amax(dim=(1, 2), keepdim=True)
    return torch.clamp(row_max - 2.0, min=SILENCE_LOG_MEL)


TRIM_MULTIPLE_MEL = 100
"""A trimmed window is rounded up to a multiple of this many log-mel frames (1 s), so batches share few shapes."""


def trimmed_mel_frames(num_samples: int, window: int = 3000) -> int:
    """Log-mel frames a trimmed window keeps for ``num_samples`` of audio: enough for ``ceil(n / 320)`` encoder
    frames, rounded up to :data:`TRIM_MULTIPLE_MEL`, at most one window."""
    needed = 2 * max(1, -(-int(num_samples) // (2 * MEL_HOP_SAMPLES)))
    return min(window, -(-needed // TRIM_MULTIPLE_MEL) * TRIM_MULTIPLE_MEL)


def whisper_encode(encoder: WhisperEncoder, input_features: torch.Tensor, all_layers: bool = False) -> torch.Tensor:
    """Whisper encoder states of log-mel windows of any length up to one window (the trimmed mode).

    ``WhisperEncoder.forward`` insists on whole 30 s windows; this runs the same layers on ``frames <= 3000``
    log-mel frames with the positional embeddings sliced to the ``frames / 2`` outputs. On a whole window it equals
    ``encoder(input_features).last_hidden_state``.

    Args:
        encoder: A (pretrained) ``WhisperEncoder`` in eval mode.
        input_features: ``(batch, num_mel_bins, frames)``, ``frames`` even and at most one window.
        all_layers: Return every layer's states, not only the last: the embedding output, the output of each
            layer but the last, and the last layer's output after the final layer norm (``encoder_layers + 1``).

    Returns:
        ``(batch, frames / 2, d_model)`` states, or ``(batch, frames / 2, encoder_layers + 1, d_model)`` with
        ``all_layers``.
    """
    hidden = nn.functional.gelu(encoder.conv1(input_features))
    hidden = nn.functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)
    hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]].to(hidden.dtype)
    hidden = nn.functional.dropout(hidden, p=encoder.dropout, training=encoder.training)
    layers = [hidden]
    for layer in encoder.layers:
        hidden = layer(hidden, None)
        if all_layers:
            layers.append(hidden)
    last = encoder.layer_norm(hidden)
    if not all_layers:
        return last
    return torch.stack([*layers[:-1], last], dim=2)


def ctc_output_lengths(mel_lengths: torch.Tensor) -> torch.Tensor:
    """Number of 20 ms encoder frames covering ``mel_lengths`` log-mel frames: ``ceil(mel / 2)``.

    Args:
        mel_lengths: Integer tensor of log-mel frame counts.

    Returns:
        Integer tensor of the same shape.
    """
    return torch.div(mel_lengths + 1, 2, rounding_mode="floor")


def ctc_loss(
    logits: torch.Tensor,
    logit_lengths: torch.Tensor,
    labels: torch.Tensor,
    blank_id: int,
    reduction: str = "mean",
    zero_infinity: bool = True,
) -> torch.Tensor:
    """CTC loss of padded logits against padded labels (``-100`` or negative = padding), as in wav2vec2.

    Args:
        logits: ``(batch, frames, vocab)`` unnormalised scores.
        logit_lengths: ``(batch,)`` number of real frames per row.
        labels: ``(batch, max_label_length)`` token ids, padded with negative values.
        blank_id: Id of the CTC blank.
        reduction: ``"mean"`` (each row's loss divided by its target length, then averaged) or ``"sum"``.
        zero_infinity: Zero infinite losses (targets that do not fit in the frames).

    Returns:
        The scalar loss (float32).

    Raises:
        ValueError: When a label id is outside the vocabulary.
    """
    if labels.numel() and int(labels.max()) >= logits.shape[-1]:
        raise ValueError(f"ctc_loss: label id {int(labels.max())} >= vocab_size {logits.shape[-1]}")
    labels_mask = labels >= 0
    target_lengths = labels_mask.sum(-1)
    flattened_targets = labels.masked_select(labels_mask)
    log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    with torch.backends.cudnn.flags(enabled=False):
        return nn.functional.ctc_loss(
            log_probs,
            flattened_targets,
            logit_lengths.to(torch.long),
            target_lengths,
            blank=blank_id,
            reduction=reduction,
            zero_infinity=zero_infinity,
        )


@torch.no_grad()
def init_head_weights(module: nn.Module) -> None:
    """Initialise one layer of the head: xavier linear, kaiming convolution, orthogonal LSTM, unit LayerNorm, zero biases.

    Args:
        module: Any module; other types are left alone. Use ``head.apply(init_head_weights)``.
    """
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv1d):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LSTM):
        for name, param in module.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(param)
            else:
                nn.init.zeros_(param)


# --------------------------------------------------------------------------------------------
# Head
# --------------------------------------------------------------------------------------------


class WhisperCtcHead(nn.Module):
    """The CTC head: frames of Whisper states to CTC logits (see :class:`WhisperCtcConfig` for the types).

    Args:
        config: The model config (``d_model`` from its ``encoder_config``, and the ``head_*`` fields).
    """

    def __init__(self, config: WhisperCtcConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(config.head_dropout)
        size = config.d_model
        self.norm = nn.LayerNorm(size) if config.head_layer_norm else None
        self.conv = None
        self.lstm = None
        if config.head_type in ("conv", "conv_bilstm"):
            k = config.head_kernel_size
            self.conv = nn.Conv1d(size, config.head_hidden_size, kernel_size=k, padding=k // 2)
            size = config.head_hidden_size
        if config.head_type == "conv_bilstm":
            self.lstm = nn.LSTM(size, config.head_lstm_size, batch_first=True, bidirectional=True)
            size = 2 * config.head_lstm_size
        self.output = nn.Linear(size, config.vocab_size)

    def forward(self, hidden_states: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Map encoder states to logits.

        Args:
            hidden_states: ``(batch, frames, d_model)`` encoder states (float).
            lengths: ``(batch,)`` real frames per row; frames beyond are zeroed before the convolution and
                skipped by the LSTM. ``None``: every frame is real.

        Returns:
            ``(batch, frames, vocab_size)`` logits (rows beyond their length hold values of no meaning).
        """
        x = hidden_states
        frames = x.shape[1]
        if self.norm is not None:
            x = self.norm(x)
        mask = None
        if lengths is not None:
            mask = torch.arange(frames, device=x.device)[None, :] < lengths.to(x.device)[:, None]
            x = x * mask[..., None].to(x.dtype)
        x = self.dropout(x)
        if self.conv is not None:
            x = nn.functional.gelu(self.conv(x.transpose(1, 2)).transpose(1, 2))
            if mask is not None:
                x = x * mask[..., None].to(x.dtype)
            x = self.dropout(x)
        if self.lstm is not None:
            if lengths is None:
                x, _ = self.lstm(x)
            else:
                packed = nn.utils.rnn.pack_padded_sequence(
                    x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
                )
                out, _ = self.lstm(packed)
                x, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=frames)
            x = self.dropout(x)
        return self.output(x)


# --------------------------------------------------------------------------------------------
# Pretrained model base and the CTC model
# --------------------------------------------------------------------------------------------


class WhisperCtcPreTrainedModel(PreTrainedModel):
    """Base class: config class, weight initialisation, input name."""

    config_class = WhisperCtcConfig
    base_model_prefix = "whisper_ctc"
    main_input_name = "input_features"
    input_modalities = ("audio",)
    supports_gradient_checkpointing = False

    def _init_weights(self, module: nn.Module) -> None:
        """Initialise the head's layers (the nested Whisper encoder is initialised by its own ``_init_weights``)."""
        init_head_weights(module)


class WhisperEncoderForCTC(WhisperCtcPreTrainedModel):
    """Whisper encoder + CTC head, used like ``Wav2Vec2ForCTC`` (``AutoModelForCTC``).

    Inputs are the ``input_features`` of a ``WhisperFeatureExtractor`` (any number of log-mel frames: shorter
    than one 30 s window is padded, longer is split into windows) and, preferably, its ``attention_mask`` (mel
    frames), which gives each row's real length; without it every frame counts as real.

    Args:
        config: A :class:`WhisperCtcConfig`.

    Example:
        >>> model = WhisperEncoderForCTC.from_pretrained(".cache/models/whisper-tiny.en-ctc")  # doctest: +SKIP
    """

    def __init__(self, config: WhisperCtcConfig) -> None:
        super().__init__(config)
        self.encoder = WhisperEncoder(config.encoder_config)
        self.head = WhisperCtcHead(config)
        self.post_init()
        if config.freeze_encoder:
            self.freeze_encoder()

    def freeze_encoder(self) -> None:
        """Stop gradients through the Whisper encoder (only the head trains)."""
        for param in self.encoder.parameters():
            param.requires_grad = False

    def _get_feat_extract_output_lengths(self, input_lengths: torch.Tensor | int) -> torch.Tensor | int:
        """Number of output frames for waves of ``input_lengths`` **samples** (16 kHz).

        Used by ``CtcModel`` (as for wav2vec2) to trim padded batches and to measure the frame duration
        (0.02 s). A wave of ``n`` samples has ``n // 160`` log-mel frames when it is not padded, hence
        ``ceil((n // 160) / 2)`` frames of 20 ms.

        Args:
            input_lengths: Sample counts (int or integer tensor).

        Returns:
            Frame counts, same type as the input.
        """
        if isinstance(input_lengths, torch.Tensor):
            return ctc_output_lengths(torch.div(input_lengths, MEL_HOP_SAMPLES, rounding_mode="floor"))
        return (int(input_lengths) // MEL_HOP_SAMPLES + 1) // 2

    def mel_lengths(self, input_features: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """Real log-mel frames per row.

        ``WhisperFeatureExtractor`` returns a mask over log-mel frames when ``return_attention_mask=True`` is
        passed to the call, but a mask over **samples** when it comes from the saved config (transformers
        5.x); both are understood. A sample mask of ``n`` ones gives ``n // 160`` frames (the frames the
        extractor computes for an unpadded wave), so padded rows and a wave on its own agree. Without a mask
        every frame is real.

        Args:
            input_features: ``(batch, num_mel_bins, mel_frames)``.
            attention_mask: ``(batch, mel_frames)`` or ``(batch, samples)``, or ``None``.

        Returns:
            ``(batch,)`` long tensor in ``[1, mel_frames]``.
        """
        frames = input_features.shape[-1]
        if attention_mask is None:
            return torch.full((input_features.shape[0],), frames, dtype=torch.long, device=input_features.device)
        counts = attention_mask.to(torch.long).sum(-1)
        if attention_mask.shape[-1] != frames:
            counts = torch.div(counts, MEL_HOP_SAMPLES, rounding_mode="floor")
        return counts.clamp(min=1, max=frames)

    def encode(
        self, input_features: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the Whisper encoder on every window that holds audio; return trimmed states and lengths.

        Args:
            input_features: ``(batch, num_mel_bins, mel_frames)`` Whisper log-mel features (any length).
            attention_mask: ``(batch, mel_frames)`` or ``(batch, samples)`` (see :meth:`mel_lengths`), or ``None``.

        Returns:
            ``(states, lengths)``: ``states`` is ``(batch, max(lengths), d_model)`` (rows zeroed beyond their
            length), ``lengths`` is ``(batch,)`` = ``ceil(mel_lengths / 2)``.
        """
        batch, n_mels, frames = input_features.shape
        window = self.config.mel_frames_per_window
        mel_lengths = self.mel_lengths(input_features, attention_mask)
        lengths = ctc_output_lengths(mel_lengths)
        n_windows = torch.div(mel_lengths + window - 1, window, rounding_mode="floor").clamp(min=1)
        total = int(n_windows.max()) * window
        pad_value = whisper_padding_value(input_features)
        # Frames beyond each row's length are replaced by the padding value (what zero audio gives).
        positions = torch.arange(total, device=input_features.device)
        features = pad_value.expand(batch, n_mels, total).clone()
        features[:, :, :frames] = input_features
        features = torch.where(positions[None, None, :] < mel_lengths[:, None, None], features, pad_value)
        rows = [b for b in range(batch) for _ in range(int(n_windows[b]))]
        cols = [k for b in range(batch) for k in range(int(n_windows[b]))]
        chunks = torch.stack([features[b, :, k * window : (k + 1) * window] for b, k in zip(rows, cols)])
        chunks = chunks.to(self.encoder.conv1.weight.dtype)
        if getattr(self.config, "acoustic_window", "full") == "trimmed":
            # Only the frames that hold audio (rounded up to whole seconds), not the padding of a 30 s window; chunks
            # are encoded in groups of equal trimmed length, so a row's states never depend on the rest of the batch.
            real = [min(window, int(mel_lengths[b]) - k * window) for b, k in zip(rows, cols)]
            keeps = [min(window, -(-max(n + n % 2, 2) // TRIM_MULTIPLE_MEL) * TRIM_MULTIPLE_MEL) for n in real]
            states = chunks.new_zeros(len(rows), window // 2, self.config.d_model)
            for keep in sorted(set(keeps)):
                group = [i for i, k in enumerate(keeps) if k == keep]
                states[group, : keep // 2] = whisper_encode(self.encoder, chunks[group, :, :keep])
        else:
            states = self.encoder(chunks).last_hidden_state
        half = window // 2
        out = states.new_zeros(batch, int(lengths.max()), states.shape[-1])
        for i, (b, k) in enumerate(zip(rows, cols)):
            start = k * half
            stop = min(start + half, int(lengths[b]))
            if stop > start:
                out[b, start:stop] = states[i, : stop - start]
        return out, lengths

    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> CausalLMOutput:
        """Compute CTC logits (and the CTC loss when ``labels`` are given).

        Args:
            input_features: ``(batch, num_mel_bins, mel_frames)`` from ``WhisperFeatureExtractor``.
            attention_mask: ``(batch, mel_frames)`` (``return_attention_mask=True``); ``None``: all frames real.
            labels: ``(batch, max_label_length)`` token ids padded with ``-100``; the blank must not appear.
            **kwargs: Ignored (accepted for pipeline compatibility).

        Returns:
            ``CausalLMOutput`` with ``logits`` ``(batch, max_frames, vocab_size)`` (20 ms frames,
            ``max_frames = ceil(max(mel_lengths) / 2)``) and ``loss`` when ``labels`` are given.
        """
        states, lengths = self.encode(input_features, attention_mask)
        logits = self.head(states.to(self.head.output.weight.dtype), lengths)
        loss = None
        if labels is not None:
            loss = ctc_loss(
                logits,
                lengths,
                labels,
                blank_id=self.config.pad_token_id,
                reduction=self.config.ctc_loss_reduction,
                zero_infinity=self.config.ctc_zero_infinity,
            )
        return CausalLMOutput(loss=loss, logits=logits)

    @classmethod
    def from_whisper(
        cls, whisper_name_or_path: str, dtype: torch.dtype = torch.float32, **config_kwargs: Any
    ) -> WhisperEncoderForCTC:
        """Build the model from a Whisper checkpoint's encoder weights and a freshly initialised head.

        Args:
            whisper_name_or_path: A folder (or Hub id) holding a ``WhisperModel`` /
                ``WhisperForConditionalGeneration`` checkpoint.
            dtype: Weights dtype.
            **config_kwargs: :class:`WhisperCtcConfig` arguments (``vocab_size``, ``head_type``, ...).

        Returns:
            The model (encoder loaded, head random, in eval mode).
        """
        from transformers import WhisperModel

        whisper = WhisperModel.from_pretrained(whisper_name_or_path, dtype=dtype)
        config = WhisperCtcConfig(encoder_config=WhisperConfig(**whisper.config.to_dict()).to_dict(), **config_kwargs)
        model = cls(config).to(dtype)
        missing, unexpected = model.encoder.load_state_dict(whisper.get_encoder().state_dict(), strict=True)
        del whisper, missing, unexpected
        return model.eval()

    @property
    def frame_duration(self) -> float:
        """Seconds per output frame (0.02)."""
        return self.config.frame_duration


__all__ = [
    "MEL_HOP_SAMPLES",
    "SILENCE_LOG_MEL",
    "TRIM_MULTIPLE_MEL",
    "WhisperCtcHead",
    "WhisperCtcPreTrainedModel",
    "WhisperEncoderForCTC",
    "ctc_loss",
    "ctc_output_lengths",
    "init_head_weights",
    "trimmed_mel_frames",
    "whisper_encode",
    "whisper_padding_value",
]

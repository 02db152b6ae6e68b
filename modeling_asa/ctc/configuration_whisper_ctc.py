# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Configuration of :class:`WhisperEncoderForCTC`, a Whisper encoder with a small CTC head.

This file is copied next to the weights by ``save_pretrained`` (remote code), so it only imports
``transformers``.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig, WhisperConfig

HEAD_TYPES = ("linear", "conv", "conv_bilstm")
CTC_LOSS_REDUCTIONS = ("mean", "sum")


ACOUSTIC_WINDOWS = ("full", "trimmed")
"""How much of Whisper's 30 s window the encoder reads: all of it, or the answer's own frames."""


class WhisperCtcConfig(PretrainedConfig):
    r"""
    Configuration of [`WhisperEncoderForCTC`]: the encoder of a Whisper model (its config is nested as
    ``encoder_config``, a [`WhisperConfig`]; only its encoder fields are used) followed by a small CTC head that maps
    each 20 ms encoder frame to a character vocabulary. The decoder of the Whisper model is not part of this model.

    The head is one of

    - ``"linear"``: dropout, then a linear layer ``d_model -> vocab_size``;
    - ``"conv"``: dropout, a 1-D convolution ``d_model -> head_hidden_size`` (kernel ``head_kernel_size``, same
      padding), GELU, dropout, then a linear layer to ``vocab_size``;
    - ``"conv_bilstm"``: the ``"conv"`` block, then a bidirectional LSTM (``head_lstm_size`` units per direction),
      dropout, then a linear layer to ``vocab_size``.

    Args:
        encoder_config (`dict | WhisperConfig`, *optional*):
            The Whisper model's config (as written by ``WhisperConfig.to_dict()``); defaults to ``WhisperConfig()``
            (Whisper-tiny sized, random weights).
        vocab_size (`int`, *optional*, defaults to 30):
            Number of CTC output tokens (the tokenizer's vocabulary, blank included).
        pad_token_id (`int`, *optional*, defaults to 0):
            Id of the CTC blank, which is the tokenizer's pad token (as in wav2vec2 CTC).
        head_type (`str`, *optional*, defaults to `"conv"`):
            One of ``"linear"``, ``"conv"`` and ``"conv_bilstm"`` (see above).
        head_hidden_size (`int`, *optional*, defaults to 256):
            Output channels of the head's convolution (unused by ``"linear"``).
        head_kernel_size (`int`, *optional*, defaults to 5):
            Odd kernel size of the head's convolution, in 20 ms frames (unused by ``"linear"``).
        head_lstm_size (`int`, *optional*, defaults to 128):
            LSTM units per direction (used by ``"conv_bilstm"`` only).
        head_dropout (`float`, *optional*, defaults to 0.1):
            Dropout inside the head (training only).
        head_layer_norm (`bool`, *optional*, defaults to `False`):
            Normalise the encoder states with a (trainable) ``LayerNorm`` before the head's first layer.
        ctc_loss_reduction (`str`, *optional*, defaults to `"mean"`):
            ``torch.nn.functional.ctc_loss`` reduction: ``"mean"`` (per-target-length mean over the batch) or
            ``"sum"``.
        ctc_zero_infinity (`bool`, *optional*, defaults to `True`):
            Zero infinite CTC losses (targets longer than the audio) and their gradients.
        freeze_encoder (`bool`, *optional*, defaults to `True`):
            Whether the Whisper encoder is frozen (``requires_grad=False``) when the model is built; only the head is
            trained in this project.
        acoustic_window (`str`, *optional*, defaults to `"full"`):
            ``"full"``: the encoder reads whole 30 s windows (Whisper's training condition); ``"trimmed"``: it reads
            only the answer's own log-mel frames, rounded up to whole seconds (positional embeddings sliced to
            match), which costs what the speech costs instead of 30 s per answer.

    Example:
        >>> from transformers import WhisperConfig
        >>> config = WhisperCtcConfig(encoder_config=WhisperConfig(d_model=64, encoder_layers=1).to_dict())
        >>> config.d_model, config.vocab_size, config.frame_duration
        (64, 30, 0.02)
    """

    model_type = "whisper_ctc"

    def __init__(
        self,
        encoder_config: dict[str, Any] | WhisperConfig | None = None,
        vocab_size: int = 30,
        pad_token_id: int = 0,
        head_type: str = "conv",
        head_hidden_size: int = 256,
        head_kernel_size: int = 5,
        head_lstm_size: int = 128,
        head_dropout: float = 0.1,
        head_layer_norm: bool = False,
        ctc_loss_reduction: str = "mean",
        ctc_zero_infinity: bool = True,
        freeze_encoder: bool = True,
        acoustic_window: str = "full",
        **kwargs: Any,
    ) -> None:
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        if encoder_config is None:
            encoder_config = WhisperConfig()
        elif isinstance(encoder_config, dict):
            encoder_config = WhisperConfig(**{k: v for k, v in encoder_config.items() if k != "model_type"})
        if not isinstance(encoder_config, WhisperConfig):
            raise TypeError(f"encoder_config must be a dict or a WhisperConfig, got {type(encoder_config).__name__}")
        self.encoder_config = encoder_config
        self.vocab_size = vocab_size
        self.pad_token_id = pad_token_id
        self.head_type = head_type
        self.head_hidden_size = head_hidden_size
        self.head_kernel_size = head_kernel_size
        self.head_lstm_size = head_lstm_size
        self.head_dropout = head_dropout
        self.head_layer_norm = head_layer_norm
        self.ctc_loss_reduction = ctc_loss_reduction
        self.ctc_zero_infinity = ctc_zero_infinity
        self.freeze_encoder = freeze_encoder
        self.acoustic_window = acoustic_window
        self.validate_whisper_ctc()

    @property
    def d_model(self) -> int:
        """Size of the Whisper encoder states (the head's input size)."""
        return int(self.encoder_config.d_model)

    @property
    def mel_frames_per_window(self) -> int:
        """Log-mel frames of one Whisper window (3000 = 30 s at a 10 ms hop)."""
        return 2 * int(self.encoder_config.max_source_positions)

    @property
    def frame_duration(self) -> float:
        """Seconds per CTC output frame: 0.02 (10 ms mel hop, stride-2 convolution)."""
        return 0.02

    def validate_whisper_ctc(self) -> None:
        """Check the hyper-parameters; raise `ValueError` quoting every bad value."""
        errors = []
        for name in ("vocab_size", "head_hidden_size", "head_kernel_size", "head_lstm_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors.append(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.head_kernel_size, int) and self.head_kernel_size % 2 == 0:
            errors.append(f"head_kernel_size must be odd (same padding), got {self.head_kernel_size}")
        if self.head_type not in HEAD_TYPES:
            errors.append(f"head_type must be one of {list(HEAD_TYPES)}, got {self.head_type!r}")
        if not isinstance(self.pad_token_id, int) or not 0 <= self.pad_token_id < max(int(self.vocab_size), 1):
            errors.append(f"pad_token_id (the CTC blank) must be in [0, vocab_size), got {self.pad_token_id!r}")
        if not 0.0 <= self.head_dropout < 1.0:
            errors.append(f"head_dropout must be in [0, 1), got {self.head_dropout!r}")
        if self.acoustic_window not in ACOUSTIC_WINDOWS:
            errors.append(f"acoustic_window must be one of {list(ACOUSTIC_WINDOWS)}, got {self.acoustic_window!r}")
        if self.ctc_loss_reduction not in CTC_LOSS_REDUCTIONS:
            errors.append(
                f"ctc_loss_reduction must be one of {list(CTC_LOSS_REDUCTIONS)}, got {self.ctc_loss_reduction!r}"
            )
        if errors:
            raise ValueError("WhisperCtcConfig: " + "; ".join(errors))

    def to_dict(self) -> dict[str, Any]:
        """Serialise, with the nested Whisper config as a plain dict."""
        output = super().to_dict()
        if isinstance(self.encoder_config, PretrainedConfig):
            output["encoder_config"] = self.encoder_config.to_dict()
        return output


__all__ = ["ACOUSTIC_WINDOWS", "CTC_LOSS_REDUCTIONS", "HEAD_TYPES", "WhisperCtcConfig"]

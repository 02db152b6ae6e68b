# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Offline English CTC aligners: Whisper encoders with a trained CTC head (``model_type="whisper_ctc"``).

Importing this package registers :class:`WhisperCtcConfig` with ``AutoConfig`` and
:class:`WhisperEncoderForCTC` with ``AutoModelForCTC``, so that ``AutoModelForCTC.from_pretrained`` (and
hence :class:`modeling_asa.features.alignment.CtcModel`) loads a ``whisper_ctc`` folder like a wav2vec2 CTC
checkpoint. Saved folders also carry their modelling code (``auto_map``) and load with
``trust_remote_code=True`` where this package is not installed.

Example:
    >>> import modeling_asa.ctc  # noqa: F401  (registers the Auto classes)
    >>> from transformers import AutoConfig
    >>> AutoConfig.for_model("whisper_ctc").model_type
    'whisper_ctc'
"""

from transformers import AutoConfig, AutoModelForCTC

from .configuration_whisper_ctc import WhisperCtcConfig
from .modeling_whisper_ctc import (
    WhisperCtcHead,
    WhisperCtcPreTrainedModel,
    WhisperEncoderForCTC,
    ctc_loss,
    ctc_output_lengths,
    init_head_weights,
    whisper_padding_value,
)
from .processing_whisper_ctc import (
    CTC_VOCABULARY,
    build_ctc_processor,
    build_ctc_tokenizer,
    build_whisper_feature_extractor,
    normalize_transcript,
)

AutoConfig.register(WhisperCtcConfig.model_type, WhisperCtcConfig, exist_ok=True)
AutoModelForCTC.register(WhisperCtcConfig, WhisperEncoderForCTC, exist_ok=True)
WhisperCtcConfig.register_for_auto_class()
WhisperEncoderForCTC.register_for_auto_class("AutoModelForCTC")

__all__ = [
    "CTC_VOCABULARY",
    "WhisperCtcConfig",
    "WhisperCtcHead",
    "WhisperCtcPreTrainedModel",
    "WhisperEncoderForCTC",
    "build_ctc_processor",
    "build_ctc_tokenizer",
    "build_whisper_feature_extractor",
    "ctc_loss",
    "ctc_output_lengths",
    "init_head_weights",
    "normalize_transcript",
    "whisper_padding_value",
]

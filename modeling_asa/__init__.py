# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""modeling_asa: automatic speech assessment (ASA) for the Hugging Face ecosystem.

Importing the package registers ``asa_hybrid`` with ``AutoConfig``, ``AutoModel`` and
``AutoModelForSequenceClassification``, and the ``speech-assessment`` task with ``transformers.pipeline``
(a thin wrapper over :class:`AsaScorer`, which scores recordings with a trained model's own feature recipe). Heavy optional stages (feature extraction with Whisper, wav2vec2, spaCy,
kenlm, Praat) live in :mod:`modeling_asa.features` and are imported only when used.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from . import ctc as _ctc  # noqa: F401  (registers the whisper_ctc aligners with AutoModelForCTC)
from .configuration_asa import AsaHybridConfig
from .losses import blackbox_rank, cross_entropy_loss, lmcl_logits, lmcl_loss, ranksim_loss, w_ranksim_loss
from .modeling_asa import (
    AsaBranchEncoder,
    AsaHybridForOrdinalClassification,
    AsaHybridModel,
    AsaHybridModelOutput,
    AsaHybridPreTrainedModel,
    AsaOrdinalClassifierOutput,
)
from .scoring import AsaScore, AsaScorer, register_pipeline

__version__ = "0.1.0"

AutoConfig.register(AsaHybridConfig.model_type, AsaHybridConfig, exist_ok=True)
AutoModel.register(AsaHybridConfig, AsaHybridModel, exist_ok=True)
AutoModelForSequenceClassification.register(AsaHybridConfig, AsaHybridForOrdinalClassification, exist_ok=True)
register_pipeline()  # transformers.pipeline("speech-assessment", model=MODEL_DIR)

__all__ = [
    "AsaBranchEncoder",
    "AsaHybridConfig",
    "AsaHybridForOrdinalClassification",
    "AsaHybridModel",
    "AsaHybridModelOutput",
    "AsaHybridPreTrainedModel",
    "AsaOrdinalClassifierOutput",
    "AsaScore",
    "AsaScorer",
    "blackbox_rank",
    "cross_entropy_loss",
    "lmcl_logits",
    "lmcl_loss",
    "ranksim_loss",
    "w_ranksim_loss",
]

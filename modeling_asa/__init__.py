# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""modeling_asa: automatic speech assessment (ASA) for the Hugging Face ecosystem.

Importing the package registers ``asa_hybrid`` with ``AutoConfig``, ``AutoModel`` and
``AutoModelForSequenceClassification``, the ``whisper_ctc`` aligners with ``AutoModelForCTC``, and the
``speech-assessment`` task with ``transformers.pipeline`` (a thin wrapper over :class:`AsaScorer`, which scores
recordings with a trained model's own feature recipe). Heavy optional stages (feature extraction with Whisper,
spaCy, kenlm, Praat) live in :mod:`modeling_asa.features` and are imported only when used.

The console scripts (``asa-score``, ``asa-prepare``, ``asa-demo``) import the package lightly, so ``--help`` answers
without loading torch; they call :func:`load` once their arguments are parsed. Any public name (``AsaScorer``,
``AsaHybridConfig``, ...) loads it too.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "AsaHybridConfig": ".configuration_asa",
    "AsaBranchEncoder": ".modeling_asa",
    "AsaHybridForOrdinalClassification": ".modeling_asa",
    "AsaHybridModel": ".modeling_asa",
    "AsaHybridModelOutput": ".modeling_asa",
    "AsaHybridPreTrainedModel": ".modeling_asa",
    "AsaOrdinalClassifierOutput": ".modeling_asa",
    "AsaScore": ".scoring",
    "AsaScorer": ".scoring",
    "blackbox_rank": ".losses",
    "cross_entropy_loss": ".losses",
    "lmcl_logits": ".losses",
    "lmcl_loss": ".losses",
    "ranksim_loss": ".losses",
    "w_ranksim_loss": ".losses",
}
_CONSOLE_SCRIPTS = ("asa-score", "asa-prepare", "asa-demo")
_loaded = False


def load() -> None:
    """Import the model, losses and scorer, and register the auto classes and the pipeline task (idempotent)."""
    global _loaded
    if _loaded:
        return
    import importlib

    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

    from . import ctc as _ctc  # noqa: F401  (registers the whisper_ctc aligners with AutoModelForCTC)

    for name, module in _EXPORTS.items():
        globals()[name] = getattr(importlib.import_module(module, __name__), name)
    config, model = globals()["AsaHybridConfig"], globals()["AsaHybridModel"]
    AutoConfig.register(config.model_type, config, exist_ok=True)
    AutoModel.register(config, model, exist_ok=True)
    AutoModelForSequenceClassification.register(config, globals()["AsaHybridForOrdinalClassification"], exist_ok=True)
    from .scoring import register_pipeline

    register_pipeline()  # transformers.pipeline("speech-assessment", model=MODEL_DIR)
    _loaded = True


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A library import registers everything at once (``import modeling_asa`` then ``AutoModel.from_pretrained``); a
# console script defers it until its arguments are parsed.
if os.path.basename(sys.argv[0] if sys.argv else "") not in _CONSOLE_SCRIPTS:
    load()

__all__ = [  # noqa: RUF022 - the public names, then the two helpers
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
    "__version__",
    "load",
]

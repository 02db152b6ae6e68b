# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The registered objectives: main losses (``config.loss``) and rank regularisers (``config.regularizer``).

Each lives in its own file and registers itself on import (see :mod:`modeling_asa.objective_base`); this module
imports them all. ``"none"`` means no regulariser.

Example:
    >>> sorted(MAIN_LOSSES), sorted(REGULARIZERS)
    (['ce', 'corn', 'lmcl'], ['ranksim', 'w_ranksim'])
"""

from __future__ import annotations

# one import per objective file (each registers itself; `save_pretrained` copies what is imported this way)
from .objective_base import MAIN_LOSSES, REGULARIZERS, MainLoss, Regularizer
from .objective_ce import CrossEntropy  # noqa: F401
from .objective_corn import Corn  # noqa: F401
from .objective_lmcl import LargeMarginCosine  # noqa: F401
from .regularizer_ranksim import RankSim  # noqa: F401
from .regularizer_w_ranksim import WRankSim  # noqa: F401


def main_loss(name: str) -> MainLoss:
    """The registered main loss called ``name`` (``ValueError`` naming the valid ones otherwise)."""
    if name not in MAIN_LOSSES:
        raise ValueError(f"loss must be one of {sorted(MAIN_LOSSES)}, got {name!r}")
    return MAIN_LOSSES[name]


def regularizer(name: str) -> Regularizer | None:
    """The registered regulariser called ``name``, or ``None`` for ``"none"``."""
    if name == "none":
        return None
    if name not in REGULARIZERS:
        raise ValueError(f"regularizer must be one of {['none', *sorted(REGULARIZERS)]}, got {name!r}")
    return REGULARIZERS[name]


__all__ = ["MAIN_LOSSES", "REGULARIZERS", "main_loss", "regularizer"]

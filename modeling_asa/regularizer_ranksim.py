# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Batch-wise RankSim (``regularizer="ranksim"``, the baseline): the similarities of the batch's features ``z`` rank
like their labels' (one sample per label, lambda = ``config.ranksim_lambda``)."""

from __future__ import annotations

from .losses import ranksim_loss
from .objective_base import Regularizer, register


@register
class RankSim(Regularizer):
    name = "ranksim"

    def __call__(self, z, labels, classifier, config, generator=None):
        return ranksim_loss(z, labels, config.ranksim_lambda, generator=generator)

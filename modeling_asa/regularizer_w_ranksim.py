# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""W-RankSim (``regularizer="w_ranksim"``, the paper's): the cosine similarities of the output layer's class vectors
rank like the label distances (blackbox rank gradients, lambda = ``config.ranksim_lambda``)."""

from __future__ import annotations

from .losses import w_ranksim_loss
from .objective_base import Regularizer, register


@register
class WRankSim(Regularizer):
    name = "w_ranksim"

    def __call__(self, z, labels, classifier, config, generator=None):
        return w_ranksim_loss(classifier.weight, config.ranksim_lambda)

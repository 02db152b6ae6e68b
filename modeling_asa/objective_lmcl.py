# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""LMCL / CosFace (``loss="lmcl"``): logits ``s * cos(z, w_j)`` of a bias-free output layer, with the margin ``m``
taken off the target class while training (s = ``config.lmcl_scale``, m = ``config.lmcl_margin``)."""

from __future__ import annotations

from .losses import lmcl_logits
from .objective_base import MainLoss, register
from .objective_ce import weighted_cross_entropy


@register
class LargeMarginCosine(MainLoss):
    name = "lmcl"
    bias = False

    def logits(self, z, classifier, config):
        return lmcl_logits(z, classifier.weight, None, config.lmcl_scale, config.lmcl_margin), None

    def loss(self, z, logits, extra, labels, classifier, config, num_items_in_batch, training):
        if training:  # the margin on the target class
            logits = lmcl_logits(z, classifier.weight, labels, config.lmcl_scale, config.lmcl_margin)
        return weighted_cross_entropy(logits, labels, config, num_items_in_batch)

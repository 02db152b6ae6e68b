# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""CORN (``loss="corn"``; Shi et al. 2021, the loss of ``coral-pytorch``): |C|-1 threshold outputs trained on their
conditional subsets; the logits are the class log-probabilities they imply. W-RankSim ranks |C| class vectors and
does not apply; class weights are not supported."""

from __future__ import annotations

from .losses import corn_log_probabilities, corn_loss
from .objective_base import MainLoss, register


@register
class Corn(MainLoss):
    name = "corn"
    regularizers = ("ranksim",)

    def num_outputs(self, num_labels):
        return num_labels - 1

    def logits(self, z, classifier, config):
        thresholds = classifier(z)
        return corn_log_probabilities(thresholds), thresholds

    def loss(self, z, logits, extra, labels, classifier, config, num_items_in_batch, training):
        loss = corn_loss(extra, labels, config.num_labels)
        if num_items_in_batch is not None:  # a batch mean, rescaled to the accumulated batch
            loss = loss * labels.numel() / num_items_in_batch
        return loss

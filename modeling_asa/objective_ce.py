# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Cross-entropy on a linear output layer (``loss="ce"``), class-weighted when ``config.class_weights`` is set."""

from __future__ import annotations

from .losses import cross_entropy_loss
from .objective_base import MainLoss, per_item_mean, register


def weighted_cross_entropy(logits, labels, config, num_items_in_batch):
    """Per-answer cross-entropy times ``config.class_weights[label]`` (when set), averaged (see ``per_item_mean``)."""
    per_item = cross_entropy_loss(logits, labels, reduction="none")
    if config.class_weights is not None:
        per_item = per_item * per_item.new_tensor(config.class_weights)[labels]
    return per_item_mean(per_item, num_items_in_batch)


@register
class CrossEntropy(MainLoss):
    name = "ce"

    def logits(self, z, classifier, config):
        return classifier(z), None

    def loss(self, z, logits, extra, labels, classifier, config, num_items_in_batch, training):
        return weighted_cross_entropy(logits, labels, config, num_items_in_batch)

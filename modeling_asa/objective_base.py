# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The objective interface: a main loss (how an output layer's logits are made and trained) and a rank regulariser,
each registered by name. One file per objective (``objective_*.py``), gathered by :mod:`modeling_asa.objectives`.

Adding one: a file with a :class:`MainLoss` or :class:`Regularizer` subclass decorated with :func:`register`, its
import line in ``objectives.py``, and its test; ``AsaHybridConfig(loss=...)`` / ``(regularizer=...)`` then accepts
its name. The files travel with a saved model (``save_pretrained`` copies the model's relative imports).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

MAIN_LOSSES: dict[str, MainLoss] = {}
"""Name -> the main loss (``config.loss``)."""
REGULARIZERS: dict[str, Regularizer] = {}
"""Name -> the rank regulariser (``config.regularizer``; ``"none"`` is not registered)."""


class MainLoss:
    """How an output layer scores ``z`` and how it is trained.

    Attributes:
        name: the ``config.loss`` value.
        bias: whether the output layer has a bias.
        regularizers: the registered regularisers this loss works with (``None``: all).
    """

    name: ClassVar[str]
    bias: ClassVar[bool] = True
    regularizers: ClassVar[tuple[str, ...] | None] = None

    def num_outputs(self, num_labels: int) -> int:
        """Outputs of the output layer for ``num_labels`` ordered classes."""
        return num_labels

    def logits(self, z: torch.Tensor, classifier: nn.Linear, config: Any) -> tuple[torch.Tensor, Any]:
        """``(class logits (batch, num_labels), anything loss() needs besides)`` at inference and training."""
        raise NotImplementedError

    def loss(
        self,
        z: torch.Tensor,
        logits: torch.Tensor,
        extra: Any,
        labels: torch.Tensor,
        classifier: nn.Linear,
        config: Any,
        num_items_in_batch: int | torch.Tensor | None,
        training: bool,
    ) -> torch.Tensor:
        """The loss of the labelled answers: a batch mean, or a sum over ``num_items_in_batch`` (gradient
        accumulation)."""
        raise NotImplementedError


class Regularizer:
    """A rank regulariser on the output layer (W-RankSim) or on the batch's features (RankSim); unweighted."""

    name: ClassVar[str]

    def __call__(
        self,
        z: torch.Tensor,
        labels: torch.Tensor,
        classifier: nn.Linear,
        config: Any,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError


def register(cls):
    """Class decorator: register a :class:`MainLoss` or :class:`Regularizer` subclass under its ``name``."""
    table = MAIN_LOSSES if issubclass(cls, MainLoss) else REGULARIZERS
    if cls.name in table:
        raise ValueError(f"an objective named {cls.name!r} is registered already ({type(table[cls.name]).__name__})")
    table[cls.name] = cls()
    return cls


def per_item_mean(per_item: torch.Tensor, num_items_in_batch: int | torch.Tensor | None) -> torch.Tensor:
    """A batch mean, or the sum over ``num_items_in_batch`` under gradient accumulation (exact whatever the
    micro-batch sizes)."""
    return per_item.sum() / num_items_in_batch if num_items_in_batch is not None else per_item.mean()


__all__ = ["MAIN_LOSSES", "REGULARIZERS", "MainLoss", "Regularizer", "per_item_mean", "register"]

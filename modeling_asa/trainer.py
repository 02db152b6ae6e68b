# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""`AsaTrainer`: a `transformers.Trainer` whose loss is ``main loss + gamma * rank regulariser``."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import Trainer, TrainingArguments

logger = logging.getLogger(__name__)


@dataclass
class AsaTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the paper's optimiser defaults.

    Args:
        learning_rate (`float`, *optional*, defaults to 2e-4): the paper's learning rate.
        weight_decay (`float`, *optional*, defaults to 1e-5): the paper's RAdam weight decay.
        use_radam (`bool`, *optional*, defaults to `True`): optimise with `torch.optim.RAdam` (the paper's choice)
            instead of the optimiser named by ``optim``.
    """

    learning_rate: float = field(default=2e-4, metadata={"help": "Initial learning rate (paper: 2e-4)."})
    weight_decay: float = field(default=1e-5, metadata={"help": "Weight decay of RAdam (paper: 1e-5)."})
    use_radam: bool = field(
        default=True, metadata={"help": "Use torch.optim.RAdam (paper); set False to use `optim` instead."}
    )


class AsaTrainer(Trainer):
    """Trainer for [`AsaHybridForOrdinalClassification`]: the model's ``loss`` under gradient accumulation.

    The model's ``loss`` is already the whole objective, ``main_loss + ranksim_gamma * regularizer``, where the
    regulariser is W-RankSim on the output layer's class weights or batch-wise RankSim on the batch's features ``z``
    (``model.config.regularizer``); without gradient accumulation this trainer returns it as it is, so a plain
    `transformers.Trainer` trains the same model. The main loss and the regulariser are logged as separate series
    (``loss_main``, ``loss_regularizer``) next to ``loss``.

    What gradient accumulation needs: the model takes ``num_items_in_batch``, so its main loss is a sum over the
    micro-batch divided by the number of labelled items in the whole accumulated batch, exact whatever the
    micro-batch sizes. W-RankSim depends on the weights only, and the blackbox rank gradient (Eq. 7) is not linear in
    its upstream gradient, so this trainer adds it once per optimiser step (on the micro-batch that syncs gradients)
    with weight gamma: the update is then the same as without accumulation (a plain Trainer would add it on every
    micro-batch). RankSim ranks the samples of a batch, so under accumulation it is computed per micro-batch and
    weighted by the micro-batch's share of the items (a smaller batch has fewer distinct labels: this changes the
    regulariser itself, as it would without accumulation).

    With [`AsaTrainingArguments`] (``use_radam=True``, the default) the optimiser is `torch.optim.RAdam` with the
    paper's learning rate 2e-4 and weight decay 1e-5.

    Example:

    ```python
    >>> trainer = AsaTrainer(model=model, args=AsaTrainingArguments("out"), train_dataset=train,
    ...                      data_collator=AsaDataCollator())  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP
    ```
    """

    # The loss returned by compute_loss is already normalised over the accumulated batch when the Trainer gives
    # num_items_in_batch (see the class docstring); without it, training_step divides a per-batch mean as usual.
    loss_is_scaled_for_ga = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if (
            getattr(self.args, "use_radam", False)
            and self.optimizer is None
            and getattr(self, "optimizer_cls_and_kwargs", None) is None
        ):
            self.optimizer_cls_and_kwargs = (
                torch.optim.RAdam,
                {
                    "lr": self.args.learning_rate,
                    "betas": (self.args.adam_beta1, self.args.adam_beta2),
                    "eps": self.args.adam_epsilon,
                    # the multi-tensor step (torch picks the per-tensor loop on CPU); same update up to float
                    # rounding. With the tensor reading of train_asa.py it saved 3-6% of a real hybrid run
                    "foreach": True,
                },
            )
        if self.args.label_names is None:
            # the holistic labels only: a model with aspect heads also takes `aspect_labels`, which join its loss
            # but are not the labels that predictions and metrics pair with
            self.label_names = ["labels"]
        self._component_sums: dict[str, tuple[float, int]] = {}
        self._component_count = 0

    def _get_eval_sampler(self, eval_dataset):
        """Evaluate and predict in the dataset's order, also with ``train_sampling_strategy="group_by_length"``.

        transformers 5 groups evaluation batches by length too (a seeded shuffle): the metrics survive that, but
        `predict` would return rows in another order than the dataset's, and ``train_asa.py`` pairs predictions with
        ``dataset["response_id"]``. Length grouping is kept for training only.
        """
        if self.args.train_sampling_strategy == "group_by_length" and eval_dataset is not None:
            if self.args.world_size <= 1:
                return torch.utils.data.SequentialSampler(eval_dataset)
            return None
        return super()._get_eval_sampler(eval_dataset)

    def create_model_card(self, *args, **kwargs) -> None:
        """Keep the model card ``train_asa.py`` wrote (metrics per split, objective, feature recipe).

        ``Trainer.push_to_hub`` writes its generic card over ``README.md`` before uploading; with a card already in
        the output folder this keeps it, so the Hub gets the same card as the folder. Without one, Trainer's card.
        """
        if os.path.isfile(os.path.join(self.args.output_dir, "README.md")):
            return
        super().create_model_card(*args, **kwargs)

    def _config(self, model: nn.Module):
        return self.accelerator.unwrap_model(model).config

    def _regularizer_weight(self, model: nn.Module) -> float:
        return float(self._config(model).ranksim_gamma)

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ):
        """The model's loss; under gradient accumulation its parts, spread over the steps (see the class docstring).

        Args:
            model (`nn.Module`): the (possibly wrapped) model.
            inputs (`dict`): the batch; must contain ``labels``.
            return_outputs (`bool`, *optional*, defaults to `False`): also return the model outputs.
            num_items_in_batch (`int` or `torch.Tensor`, *optional*): labelled items in the accumulated batch.

        Returns:
            The loss, or ``(loss, outputs)`` when ``return_outputs``.
        """
        if "labels" not in inputs:
            raise ValueError(f"AsaTrainer needs `labels` in the batch; got keys {sorted(inputs)}")
        batch_size = inputs["labels"].shape[0]
        outputs = model(**inputs, num_items_in_batch=num_items_in_batch)
        main, regularizer = outputs.main_loss, outputs.regularizer_loss
        gamma = self._regularizer_weight(model)
        # Under data parallelism num_items_in_batch counts every process and DDP averages gradients: scale back up,
        # as Trainer.compute_loss does.
        world = self.accelerator.num_processes if self.args.average_tokens_across_devices else 1
        accumulating = model.training and num_items_in_batch is not None
        added_regularizer = regularizer is not None
        if not accumulating:
            loss = outputs.loss  # the model's whole objective
        else:
            loss = main * world
            if regularizer is None:
                pass
            elif self._config(model).regularizer == "w_ranksim":
                # W-RankSim depends on the weights only, and its blackbox gradient is not linear in the upstream
                # gradient: add it once per optimiser step, on the micro-batch that syncs the gradients.
                added_regularizer = bool(self.accelerator.sync_gradients)
                if added_regularizer:
                    loss = loss + gamma * regularizer
            else:
                # RankSim ranks the micro-batch itself: weight each micro-batch by its share of the items.
                loss = loss + gamma * regularizer * (batch_size / num_items_in_batch) * world
        if model.training:
            # Log per-batch values (main loss as a batch mean), independent of the accumulation scaling.
            main_mean = main.detach()
            if num_items_in_batch is not None:
                main_mean = main_mean * (float(num_items_in_batch) / max(batch_size, 1))
            self._accumulate("loss_main", main_mean)
            if added_regularizer:
                self._accumulate("loss_regularizer", regularizer.detach())
            self._component_count += 1
        return (loss, outputs) if return_outputs else loss

    def _accumulate(self, name: str, value: torch.Tensor) -> None:
        total, count = self._component_sums.get(name, (0.0, 0))
        self._component_sums[name] = (total + float(value), count + 1)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the averaged loss components to the training logs, then log as usual."""
        if "loss" in logs and self._component_count:
            for name, (total, count) in self._component_sums.items():
                logs[name] = round(total / count, 6)
            self._component_sums, self._component_count = {}, 0
        super().log(logs, start_time)


__all__ = ["AsaTrainer", "AsaTrainingArguments"]

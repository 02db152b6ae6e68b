# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Batching of cached ASA features: pad variable-length sequences and build their attention masks."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

#: Sequence inputs of the model, each padded with its own ``<name>_attention_mask``.
SEQUENCE_INPUTS = {
    "content": ("acoustic_features", "question_features"),
    "delivery": ("delivery_features",),
    "language_use": ("language_use_features",),
}


def pad_sequences(sequences: Sequence[Any], dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad a list of `(length_i, dim)` arrays into `(batch, max_length, dim)` with a `(batch, max_length)` mask.

    Args:
        sequences: arrays, tensors or nested lists, each of shape `(length_i, dim)`; ``length_i`` may be 0.
        dtype: dtype of the padded features.

    Returns:
        ``(features, mask)``; mask is 1 on real positions. A batch whose sequences are all empty still gets one
        (masked) position so that shapes stay valid.

    Example:

    ```python
    >>> x, m = pad_sequences([np.ones((2, 3)), np.ones((1, 3))])
    >>> x.shape, m.tolist()
    (torch.Size([2, 2, 3]), [[1, 1], [1, 0]])
    ```
    """
    arrays = [s if isinstance(s, torch.Tensor) else torch.as_tensor(np.asarray(s, dtype=np.float32)) for s in sequences]
    dims = {a.shape[-1] for a in arrays if a.dim() == 2 and a.shape[0] > 0}
    if len(dims) > 1:
        raise ValueError(f"cannot batch sequences of different feature sizes {sorted(dims)}")
    dim = dims.pop() if dims else (arrays[0].shape[-1] if arrays and arrays[0].dim() == 2 else 1)
    longest = max([a.shape[0] if a.dim() == 2 else 0 for a in arrays] + [1])
    features = torch.zeros(len(arrays), longest, dim, dtype=dtype)
    mask = torch.zeros(len(arrays), longest, dtype=torch.long)
    for i, a in enumerate(arrays):
        if a.dim() == 2 and a.shape[0] > 0:
            features[i, : a.shape[0]] = a.to(dtype)
            mask[i, : a.shape[0]] = 1
    return features, mask


def tensor_format(dataset):
    """``dataset`` reading its feature arrays as torch tensors, every other column as before.

    Without a format, `datasets` returns an `Array2D` row as nested Python lists, which the collator then turns back
    into arrays: for 16 consecutive rows of Whisper states that took 0.23 s against 0.02 s as tensors (1.0 s against
    0.03 s with every Whisper layer); a whole hybrid run gained a few percent. The values are the same.
    """
    columns = [c for names in SEQUENCE_INPUTS.values() for c in names if c in dataset.column_names]
    return dataset.with_format("torch", columns=columns, output_all_columns=True) if columns else dataset


@dataclass
class AsaDataCollator:
    """Collate rows of a features dataset into model inputs.

    Rows carry ``acoustic_features``, ``delivery_features`` and ``language_use_features`` as `(length, dim)` arrays
    and ``label``/``labels``. Question states are stored once per question: give them as ``question_features``
    (question id -> `(tokens, dim)` array) and the rows' ``question_id`` selects them; a row may also carry its own
    ``question_features``.

    Args:
        question_features (`Mapping[str, array]`, *optional*): question id -> token states.
        branches (`Sequence[str]`, *optional*): only build the inputs of these branches (default: all present).
        label_column (`str`, *optional*, defaults to `"label"`): the row key of the class index (``labels`` also
            works).
        aspects (`bool`, *optional*, defaults to `False`): also pass the rows' ``aspect_labels`` (for a model with
            aspect heads).
        relevance (`bool`, *optional*, defaults to `False`): also pass the rows' ``relevance_features`` (for a model
            with ``relevance_feature_size``).
    """

    question_features: Mapping[str, Any] | None = None
    branches: Sequence[str] | None = None
    label_column: str = "label"
    aspects: bool = False
    relevance: bool = False
    _warned: set = field(default_factory=set, repr=False)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Pad one batch of rows. Returns a dict of tensors ready for the model (``labels`` when present)."""
        if not rows:
            raise ValueError("cannot collate an empty batch")
        batch: dict[str, torch.Tensor] = {}
        branches = self.branches if self.branches is not None else tuple(SEQUENCE_INPUTS)
        for branch in branches:
            for name in SEQUENCE_INPUTS[branch]:
                values = [self._get(row, name) for row in rows]
                if all(v is None for v in values):
                    continue
                missing = [i for i, v in enumerate(values) if v is None]
                if missing:
                    raise ValueError(f"{name} is missing in rows {missing} of the batch")
                features, mask = pad_sequences(values)
                batch[name] = features
                batch[name.replace("_features", "_attention_mask")] = mask
        label_key = self.label_column if self.label_column in rows[0] else "labels"
        if label_key in rows[0]:
            batch["labels"] = torch.tensor([int(row[label_key]) for row in rows], dtype=torch.long)
        if self.relevance:
            missing = [i for i, row in enumerate(rows) if row.get("relevance_features") is None]
            if missing:
                raise ValueError(f"relevance_features is missing in rows {missing} of the batch")
            batch["relevance_features"] = torch.stack(
                [torch.as_tensor(row["relevance_features"], dtype=torch.float32).reshape(-1) for row in rows]
            )
        if self.aspects and rows[0].get("aspect_labels") is not None:
            # class index of each aspect (config.aspects order); a negative value is an aspect not rated
            batch["aspect_labels"] = torch.tensor(
                [[int(v) for v in row["aspect_labels"]] for row in rows], dtype=torch.long
            )
        return batch

    def _get(self, row: dict[str, Any], name: str):
        if name == "question_features" and row.get("question_features") is None and self.question_features:
            question_id = row.get("question_id")
            if question_id not in self.question_features:
                raise KeyError(f"no question features for question_id {question_id!r}")
            return self.question_features[question_id]
        return row.get(name)


__all__ = ["SEQUENCE_INPUTS", "AsaDataCollator", "pad_sequences", "tensor_format"]

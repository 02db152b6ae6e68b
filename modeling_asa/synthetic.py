# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Generated feature datasets with a known ordinal structure, for examples, smoke runs and tests.

The rows have the same columns as the features written by ``asa-prepare`` (``acoustic_features``, ``question_id``,
``delivery_features``, ``language_use_features``, ``label``), but the values are drawn at random: each response has
a latent proficiency ``s`` that grows with its class, and every feature sequence carries ``s`` along a fixed random
direction under Gaussian noise. Neighbouring classes therefore overlap, distant ones do not, as with real scores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from datasets import Dataset, DatasetDict

logger = logging.getLogger(__name__)

#: Class frequencies of the default imbalanced 5-class problem (most answers in the middle of the scale).
DEFAULT_CLASS_PRIORS = (0.08, 0.22, 0.40, 0.22, 0.08)


def make_synthetic_features(
    num_examples: int = 600,
    num_classes: int = 5,
    class_priors: Sequence[float] | None = DEFAULT_CLASS_PRIORS,
    acoustic_feature_size: int = 32,
    question_feature_size: int = 16,
    delivery_feature_size: int = 16,
    language_use_feature_size: int = 24,
    num_questions: int = 4,
    noise: float = 1.0,
    signal: float = 1.5,
    seed: int = 0,
    split_ratios: Sequence[float] = (0.8, 0.1, 0.1),
) -> tuple[DatasetDict, dict[str, np.ndarray]]:
    """Generate an imbalanced ordinal feature dataset.

    Args:
        num_examples: total rows over all splits.
        num_classes: number of ordered classes.
        class_priors: class frequencies (normalised); ``None`` for balanced classes.
        acoustic_feature_size, question_feature_size, delivery_feature_size, language_use_feature_size: feature
            sizes of the columns (match them in the model config).
        num_questions: number of distinct questions.
        noise: standard deviation of the per-position Gaussian noise.
        signal: strength of the latent proficiency along each feature's direction.
        seed: random seed (the output is a pure function of the arguments).
        split_ratios: train / dev / test fractions.

    Returns:
        ``(dataset, question_features)``: a `DatasetDict` with ``train``, ``dev`` and ``test`` splits, and the token
        states of each question id (for [`AsaDataCollator`]).

    Example:

    ```python
    >>> data, questions = make_synthetic_features(num_examples=50, seed=1)
    >>> sorted(data), len(questions)
    (['dev', 'test', 'train'], 4)
    ```
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if class_priors is not None and len(class_priors) != num_classes:
        raise ValueError(f"class_priors has {len(class_priors)} entries but num_classes is {num_classes}")
    if abs(sum(split_ratios) - 1.0) > 1e-6 or len(split_ratios) != 3:
        raise ValueError(f"split_ratios must be three fractions summing to 1, got {tuple(split_ratios)}")
    rng = np.random.default_rng(seed)
    priors = np.full(num_classes, 1.0 / num_classes) if class_priors is None else np.asarray(class_priors, float)
    priors = priors / priors.sum()
    labels = rng.choice(num_classes, size=num_examples, p=priors)
    latent = (labels + rng.uniform(-0.5, 0.5, size=num_examples)) / (num_classes - 1) * 2.0 - 1.0

    def direction(size: int) -> np.ndarray:
        d = rng.normal(size=size)
        return d / np.linalg.norm(d)

    dirs = {
        "acoustic": direction(acoustic_feature_size),
        "delivery": direction(delivery_feature_size),
        "language": direction(language_use_feature_size),
    }
    question_features = {
        f"q{i}": rng.normal(size=(int(rng.integers(5, 12)), question_feature_size)).astype(np.float16)
        for i in range(num_questions)
    }
    rows = []
    for i in range(num_examples):
        s = latent[i]
        n_frames = int(rng.integers(20, 60))
        n_words = int(rng.integers(3, 12))
        acoustic = rng.normal(scale=noise, size=(n_frames, acoustic_feature_size)) + signal * s * dirs["acoustic"]
        delivery = rng.normal(scale=noise, size=(n_words, delivery_feature_size)) + signal * s * dirs["delivery"]
        language = rng.normal(scale=noise, size=(n_words, language_use_feature_size)) + signal * s * dirs["language"]
        rows.append(
            {
                "response_id": f"r{i:05d}",
                "question_id": f"q{int(rng.integers(num_questions))}",
                "acoustic_features": acoustic.astype(np.float16),
                "delivery_features": delivery.astype(np.float32),
                "language_use_features": language.astype(np.float32),
                "label": int(labels[i]),
            }
        )
    order = rng.permutation(num_examples)
    n_train = round(split_ratios[0] * num_examples)
    n_dev = round(split_ratios[1] * num_examples)
    parts = {"train": order[:n_train], "dev": order[n_train : n_train + n_dev], "test": order[n_train + n_dev :]}
    dataset = DatasetDict(
        {
            name: Dataset.from_list([rows[j] for j in idx]) if len(idx) else Dataset.from_list([])
            for name, idx in parts.items()
        }
    )
    logger.info("Generated %d synthetic rows: %s", num_examples, {k: len(v) for k, v in dataset.items()})
    return dataset, question_features


__all__ = ["DEFAULT_CLASS_PRIORS", "make_synthetic_features"]

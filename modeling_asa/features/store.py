# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""On-disk layout of a features folder (written by ``asa-prepare``, read by ``train_asa.py`` and the scorer).

::

    FEATURES_DIR/
      features_metadata.json   encoders, feature layout and sizes, classes, split seed, normalisation, versions
      dataset/                 datasets.DatasetDict.save_to_disk: one split per name (train, dev, test_known, ...)
      questions/               datasets.Dataset: question_id, question_features (tokens x dim), once per question
      problems.csv             responses that could not be processed: response_id, stage, reason

Rows of ``dataset`` hold ``response_id``, ``question_id``, ``label`` and, per enabled stage,
``acoustic_features`` (frames x dim, float16), ``delivery_features`` (words x fields, float32) and
``language_use_features`` (words x labels, uint8 one-hots).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DatasetDict, load_from_disk

logger = logging.getLogger(__name__)

FEATURES_METADATA = "features_metadata.json"
DATASET_DIR = "dataset"
QUESTIONS_DIR = "questions"
FORMAT_VERSION = 1

#: Per-response feature columns (variable-length 2-D arrays).
ARRAY_COLUMNS = ("acoustic_features", "delivery_features", "language_use_features")
#: metadata["dims"] key -> AsaHybridConfig argument.
DIM_KEYS = (
    "acoustic_feature_size",
    "acoustic_num_layers",
    "question_feature_size",
    "delivery_feature_size",
    "language_use_feature_size",
)


class FeaturesError(ValueError):
    """A features folder is missing or inconsistent."""


@dataclass
class FeatureSet:
    """A loaded features folder.

    Args:
        dataset (`DatasetDict`): the per-response features, one split per name.
        question_features (`dict[str, np.ndarray]`): question id -> `(tokens, dim)` states.
        metadata (`dict`): the content of ``features_metadata.json``.
        path (`Path`, *optional*): where it was loaded from.
    """

    dataset: DatasetDict
    question_features: dict[str, np.ndarray]
    metadata: dict[str, Any]
    path: Path | None = None


def load_features(features_dir: str | Path) -> FeatureSet:
    """Load a features folder written by ``asa-prepare``.

    Raises:
        FeaturesError: naming the folder and what is missing or wrong.
    """
    features_dir = Path(features_dir)
    meta_path = features_dir / FEATURES_METADATA
    if not meta_path.is_file():
        raise FeaturesError(f"{features_dir}: not a features folder (no {FEATURES_METADATA}); run asa-prepare first")
    try:
        metadata = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise FeaturesError(f"{meta_path}: invalid JSON ({err})") from err
    if metadata.get("format_version") != FORMAT_VERSION:
        raise FeaturesError(
            f"{meta_path}: format_version {metadata.get('format_version')!r} is not the supported {FORMAT_VERSION}"
        )
    needs_questions = metadata.get("stages", {}).get("content", True)
    for sub in (DATASET_DIR, QUESTIONS_DIR) if needs_questions else (DATASET_DIR,):
        if not (features_dir / sub).is_dir():
            raise FeaturesError(f"{features_dir}: missing the {sub}/ folder; re-run asa-prepare")
    dataset = load_from_disk(str(features_dir / DATASET_DIR))
    if not isinstance(dataset, DatasetDict):
        raise FeaturesError(f"{features_dir / DATASET_DIR}: expected a DatasetDict with named splits")
    for split in dataset.values():
        # Feature arrays come back as numpy arrays rather than nested Python lists (much faster to batch).
        arrays = [c for c in ARRAY_COLUMNS if c in split.column_names]
        split.set_format("numpy", columns=arrays, output_all_columns=True)
    question_features = {}
    if needs_questions:
        questions = load_from_disk(str(features_dir / QUESTIONS_DIR)).with_format("numpy")
        question_features = {
            str(qid): np.asarray(feats, dtype=np.float32)
            for qid, feats in zip(questions["question_id"], questions["question_features"])
        }
    return FeatureSet(dataset=dataset, question_features=question_features, metadata=metadata, path=features_dir)


def config_kwargs_from_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """`AsaHybridConfig` arguments recorded by the feature pipeline (sizes, encoders, classes, normalisation)."""
    kwargs: dict[str, Any] = {}
    for key in DIM_KEYS:
        if metadata.get("dims", {}).get(key):
            kwargs[key] = int(metadata["dims"][key])
    # every encoder as recorded (a local folder by its name: config.json travels), None for a stage that did not run
    from .recipe import model_reference

    kwargs.update({k: model_reference(v) for k, v in metadata.get("encoders", {}).items()})
    if metadata.get("id2label"):
        kwargs["id2label"] = {int(k): str(v) for k, v in metadata["id2label"].items()}
    if metadata.get("aspects"):  # per-aspect labels (asa-prepare --aspect-columns): one head each
        kwargs["aspects"] = list(metadata["aspects"])
    for key in ("delivery_feature_names", "delivery_feature_mean", "delivery_feature_std", "language_use_inventory"):
        if metadata.get(key) is not None:
            kwargs[key] = metadata[key]
    return kwargs


__all__ = [
    "DATASET_DIR",
    "FEATURES_METADATA",
    "FORMAT_VERSION",
    "QUESTIONS_DIR",
    "FeatureSet",
    "FeaturesError",
    "config_kwargs_from_metadata",
    "load_features",
]

# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Speaker-grouped k-fold cross-validation folds over the selection splits (train + dev).

Model settings are chosen on these folds, never on a test split: every speaker of ``train`` and ``dev`` lands in
exactly one fold, folds are stratified by the speaker's (majority) label and balanced by answer count, and the
assignment is fixed by a seed and saved as JSON, so an interrupted study resumes on the same folds.

Example:
    >>> folds = make_group_folds(["a", "a", "b", "c", "d"], [0, 0, 1, 0, 1], num_folds=2, seed=0)
    >>> sorted(len(f) for f in folds), sorted(g for f in folds for g in f)
    ([2, 2], ['a', 'b', 'c', 'd'])
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets

FOLDS_FORMAT = 1
#: The splits whose speakers are cross-validated (the test splits are never part of the folds).
SELECTION_SPLITS = ("train", "dev")


class FoldsError(ValueError):
    """A folds file is missing, malformed, or does not match the features it is used with."""


def make_group_folds(groups: Sequence[str], labels: Sequence[int], num_folds: int, seed: int) -> list[list[str]]:
    """Assign every group (speaker) to one of ``num_folds`` folds.

    Groups are stratified by their most frequent label (ties: the smallest), shuffled with ``seed`` within each
    stratum (after sorting, so the result does not depend on row order) and dealt, largest first, to the fold with
    the fewest answers of that stratum so far.

    Args:
        groups: the group id of each answer.
        labels: the class index of each answer.
        num_folds: number of folds (at least 2, at most the number of groups).
        seed: the shuffling seed.

    Returns:
        One sorted list of group ids per fold.
    """
    if len(groups) != len(labels):
        raise ValueError(f"groups ({len(groups)}) and labels ({len(labels)}) differ in length")
    sizes = Counter(str(g) for g in groups)
    if num_folds < 2 or num_folds > len(sizes):
        raise ValueError(f"num_folds must be between 2 and the number of groups ({len(sizes)}), got {num_folds}")
    label_counts: dict[str, Counter] = defaultdict(Counter)
    for group, label in zip(groups, labels):
        label_counts[str(group)][int(label)] += 1
    strata: dict[int, list[str]] = defaultdict(list)
    for group in sorted(sizes):
        counts = label_counts[group]
        strata[min(counts, key=lambda c: (-counts[c], c))].append(group)
    rng = random.Random(seed)
    folds: list[list[str]] = [[] for _ in range(num_folds)]
    load = [0] * num_folds  # answers per fold, over all strata (breaks ties between strata)
    for label in sorted(strata):
        members = strata[label]
        rng.shuffle(members)
        members.sort(key=lambda g: -sizes[g])  # stable: equal sizes keep the shuffled order
        in_stratum = [0] * num_folds
        for group in members:
            target = min(range(num_folds), key=lambda f: (in_stratum[f], load[f], f))
            folds[target].append(group)
            in_stratum[target] += sizes[group]
            load[target] += sizes[group]
    return [sorted(f) for f in folds]


def save_folds(path: str | os.PathLike, folds: list[list[str]], *, seed: int, group_by: str, features: str) -> Path:
    """Write the folds as JSON (format, seed, grouping column, features folder, one group list per fold)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": FOLDS_FORMAT, "seed": seed, "group_by": group_by, "splits": list(SELECTION_SPLITS),
              "features": str(features), "folds": folds}  # fmt: skip
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def load_folds(path: str | os.PathLike) -> dict[str, Any]:
    """Read a folds file written by :func:`save_folds`; raises `FoldsError` naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise FoldsError(f"{path}: no such folds file")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise FoldsError(f"{path}: not valid JSON ({err})") from err
    folds = record.get("folds") if isinstance(record, dict) else None
    if record.get("format") != FOLDS_FORMAT or not isinstance(folds, list) or len(folds) < 2:
        raise FoldsError(f"{path}: not a folds file of format {FOLDS_FORMAT} with at least 2 folds")
    seen = [g for fold in folds for g in fold]
    if len(seen) != len(set(seen)):
        raise FoldsError(f"{path}: a group appears in more than one fold")
    return record


def folds_for_features(dataset: datasets.DatasetDict, num_folds: int, seed: int, group_by: str = "speaker_id"):
    """Folds over the speakers of the selection splits of a features dataset (see :func:`make_group_folds`)."""
    groups, labels = [], []
    for split in SELECTION_SPLITS:
        if split not in dataset:
            raise FoldsError(f"the features have no {split!r} split; cross-validation pools {list(SELECTION_SPLITS)}")
        if group_by not in dataset[split].column_names:
            raise FoldsError(f"split {split!r} has no {group_by!r} column to group the folds by")
        groups += [str(g) for g in dataset[split][group_by]]
        labels += [int(v) for v in dataset[split]["label"]]
    if any(not g for g in groups):
        raise FoldsError(f"some answers have an empty {group_by!r}: folds need a group for every answer")
    return make_group_folds(groups, labels, num_folds, seed)


def fold_datasets(dataset: datasets.DatasetDict, record: dict[str, Any], fold: int):
    """``(train, held_out)`` for one fold: the selection splits pooled, the fold's groups held out.

    Raises:
        FoldsError: when ``fold`` is out of range or the features' groups do not match the folds file.
    """
    folds = record["folds"]
    if not 0 <= fold < len(folds):
        raise FoldsError(f"fold {fold} out of range: the folds file has folds 0..{len(folds) - 1}")
    group_by = record.get("group_by", "speaker_id")
    pooled = datasets.concatenate_datasets([dataset[s] for s in SELECTION_SPLITS])
    groups = [str(g) for g in pooled[group_by]]
    known = {g for f in folds for g in f}
    unknown = sorted(set(groups) - known)
    if unknown:
        raise FoldsError(
            f"{len(unknown)} {group_by} value(s) of the features are in no fold (e.g. {unknown[:3]}): the folds "
            "were made for other features; make new folds"
        )
    held = set(folds[fold])
    held_rows = [i for i, g in enumerate(groups) if g in held]
    train_rows = [i for i, g in enumerate(groups) if g not in held]
    return pooled.select(train_rows), pooled.select(held_rows)


__all__ = [
    "FOLDS_FORMAT",
    "SELECTION_SPLITS",
    "FoldsError",
    "fold_datasets",
    "folds_for_features",
    "load_folds",
    "make_group_folds",
    "save_folds",
]

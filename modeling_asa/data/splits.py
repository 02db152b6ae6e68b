"""Train / dev / test_known / test_unknown splits as in the paper.

The paper evaluates on two test sets: *known content* (responses to questions also seen in
training) and *unknown content* (every response to held-out questions). :func:`assign_splits`
holds out questions (by id, or a random fraction of them chosen with the seed), sends all their
responses to ``test_unknown``, and splits the remaining responses 8:1:1 into ``train``, ``dev``
and ``test_known``. With ``group_by`` (e.g. ``"speaker_id"``) whole groups go to one of
``train`` / ``dev`` / ``test_known``, so no speaker crosses those three.

Note on grouping and ``test_unknown``: ``test_unknown`` is defined by question, not by speaker.
A speaker with responses to a held-out question therefore has those responses in ``test_unknown``
and may have others in ``train``; only ``train`` / ``dev`` / ``test_known`` are speaker-disjoint.
To measure on unseen speakers *and* unseen questions, filter ``test_unknown`` to the speakers
that are not in ``train`` (e.g. with ``Dataset.filter``).

The assignment is a plain ``dict`` ``response_id -> split``; it is deterministic for a seed and
independent of row order (ids are sorted before shuffling), and it round-trips through a CSV
file (``response_id,split``) with :func:`save_assignment` / :func:`load_assignment`.

Example:
    >>> table = {"response_id": [f"r{i}" for i in range(40)], "question_id": [f"q{i % 4}" for i in range(40)]}
    >>> assignment = assign_splits(table, unknown_questions=["q3"], seed=0)
    >>> split_counts(assignment)
    {'train': 24, 'dev': 3, 'test_known': 3, 'test_unknown': 10}
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "dev", "test_known", "test_unknown")
"""The split names, in order."""

SPLIT_COLUMN = "split"
"""Optional ``metadata.csv`` column giving each response's split (one of :data:`SPLIT_NAMES`), used as given."""

_KNOWN_SPLITS = SPLIT_NAMES[:3]
SMALL_SPLIT = 10
"""A dev or test_known split with fewer answers than this is reported: its metrics would be noise."""


def _columns(table: Any, names: Sequence[str]) -> dict[str, list[str]]:
    """Extract columns as lists of strings from a Dataset, Corpus, DataFrame, dict of lists or list of dicts.

    Args:
        table: The table.
        names: Columns to extract.

    Returns:
        ``{name: values as str}``.

    Raises:
        ValueError: A column is missing (the message lists the valid names) or holds None.
        TypeError: Unsupported table type.
    """
    if hasattr(table, "dataset") and isinstance(table.dataset, datasets.Dataset):
        table = table.dataset  # a Corpus
    if isinstance(table, datasets.Dataset):
        available = list(table.column_names)
        getter = lambda name: list(table[name])
    elif isinstance(table, Mapping):
        available = list(table.keys())
        getter = lambda name: list(table[name])
    elif hasattr(table, "columns") and hasattr(table, "__getitem__") and not isinstance(table, (list, tuple)):
        available = [str(c) for c in table.columns]  # pandas-like
        getter = lambda name: list(table[name].tolist())
    elif isinstance(table, Sequence) and all(isinstance(row, Mapping) for row in table):
        available = list(table[0].keys()) if table else []
        getter = lambda name: [row.get(name) for row in table]
    else:
        raise TypeError(
            "expected a datasets.Dataset, Corpus, pandas DataFrame, dict of lists or list of dicts; "
            f"got {type(table).__name__}"
        )
    missing = [name for name in names if name not in available]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}; found: {', '.join(map(str, available))}")
    result = {}
    for name in names:
        values = getter(name)
        empty = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and math.isnan(v))]
        if empty:
            raise ValueError(f"column {name!r} has {len(empty)} missing value(s), first at row {empty[0]}")
        result[name] = [str(v) for v in values]
    return result


def _check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Validate (train, dev, test_known) ratios."""
    values = tuple(float(r) for r in ratios)
    if len(values) != 3:
        raise ValueError(f"ratios must have 3 values (train, dev, test_known); got {tuple(ratios)}")
    if any(not math.isfinite(r) or r < 0 for r in values):
        raise ValueError(f"ratios must be non-negative; got {tuple(ratios)}")
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"ratios must sum to 1; got {tuple(ratios)} (sum {sum(values):g})")
    if values[0] == 0:
        raise ValueError(f"the train ratio must be > 0; got {tuple(ratios)}")
    return values  # type: ignore[return-value]


def _choose_unknown_questions(
    questions: list[str],
    unknown_questions: Sequence[str] | None,
    unknown_fraction: float | None,
    seed: int,
) -> set[str]:
    """Pick the held-out questions (by id or at random)."""
    if unknown_questions is not None and unknown_fraction is not None:
        raise ValueError("give unknown_questions or unknown_fraction, not both")
    if unknown_questions is not None:
        if isinstance(unknown_questions, str):
            unknown_questions = [unknown_questions]
        chosen = {str(q) for q in unknown_questions}
        missing = sorted(chosen - set(questions))
        if missing:
            raise ValueError(f"unknown question id(s) not in the corpus: {', '.join(missing)}")
        if chosen and len(chosen) == len(questions):
            raise ValueError("every question is held out for test_unknown; nothing is left for train")
        return chosen
    if unknown_fraction is not None:
        fraction = float(unknown_fraction)
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"unknown_fraction must be in (0, 1); got {unknown_fraction}")
        count = max(1, math.floor(fraction * len(questions) + 0.5))
        if count >= len(questions):
            raise ValueError(
                f"unknown_fraction={fraction:g} holds out all {len(questions)} question(s); "
                "need more questions or a smaller fraction"
            )
        rng = np.random.default_rng([int(seed), 0])
        order = rng.permutation(len(questions))
        return {questions[i] for i in order[:count]}
    return set()


def _assign_groups(sizes: dict[str, int], ratios: tuple[float, float, float], seed: int) -> dict[str, str]:
    """Shuffle groups and cut them into train/dev/test_known by response counts.

    A group goes to the split whose cumulative-ratio interval contains the midpoint of the
    group's span, so counts follow the ratios closely; every split with a positive ratio gets at
    least one group when there are enough groups.
    """
    keys = sorted(sizes)
    rng = np.random.default_rng([int(seed), 1])
    order = [keys[i] for i in rng.permutation(len(keys))]
    total = float(sum(sizes.values()))
    bounds = (ratios[0], ratios[0] + ratios[1])
    result: dict[str, str] = {}
    cumulative = 0.0
    for key in order:
        mid = (cumulative + sizes[key] / 2.0) / total
        result[key] = _KNOWN_SPLITS[0] if mid < bounds[0] else _KNOWN_SPLITS[1] if mid < bounds[1] else _KNOWN_SPLITS[2]
        cumulative += sizes[key]
    for split, ratio in zip(_KNOWN_SPLITS, ratios):
        if ratio <= 0 or split in result.values():
            continue
        members: dict[str, list[str]] = defaultdict(list)
        for key in order:
            members[result[key]].append(key)
        donor = max(members, key=lambda s: (len(members[s]), s == _KNOWN_SPLITS[0]))
        if len(members[donor]) > 1:
            result[members[donor][-1]] = split
        else:
            logger.warning("Only %d group(s): split %r stays empty", len(keys), split)
    return result


def assign_splits(
    dataset_or_table: Any,
    unknown_questions: Sequence[str] | None = None,
    unknown_fraction: float | None = None,
    group_by: str | None = None,
    seed: int = 0,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
) -> dict[str, str]:
    """Assign every response to ``train``, ``dev``, ``test_known`` or ``test_unknown``.

    Args:
        dataset_or_table: A ``datasets.Dataset`` or :class:`~modeling_asa.data.Corpus`, a pandas
            DataFrame, a dict of lists or a list of dicts, with ``response_id`` and
            ``question_id`` columns (and ``group_by``). Values are compared as strings.
        unknown_questions: Question ids held out: all their responses go to ``test_unknown``.
        unknown_fraction: Instead of ids, hold out this fraction of the questions, in (0, 1),
            chosen at random with ``seed`` (at least one question, never all).
            With neither argument there is no ``test_unknown`` split.
        group_by: Column whose groups (e.g. ``speaker_id``) must not cross train / dev /
            test_known. ``test_unknown`` is chosen by question only, so a speaker in it may also
            appear in ``train`` (see the module docstring).
        seed: Random seed; the result depends only on the seed and the rows' contents, not on
            their order.
        ratios: (train, dev, test_known) shares of the remaining responses; must sum to 1.
            Approximate when grouping (whole groups move).

    Returns:
        ``response_id -> split name``, sorted by response id.

    Raises:
        ValueError: Missing columns (listing the valid ones), duplicate response ids, held-out
            question ids not in the table, both or an invalid ``unknown_fraction``, ratios not
            summing to 1.

    Example:
        >>> rows = [{"response_id": f"r{i}", "question_id": "q1" if i < 5 else "q2"} for i in range(10)]
        >>> sorted(set(assign_splits(rows, unknown_questions=["q1"]).values()))
        ['dev', 'test_known', 'test_unknown', 'train']
    """
    weights = _check_ratios(ratios)
    names = ["response_id", "question_id"] + ([group_by] if group_by else [])
    columns = _columns(dataset_or_table, names)
    response_ids = columns["response_id"]
    counts = Counter(response_ids)
    duplicates = sorted(r for r, n in counts.items() if n > 1)
    if duplicates:
        raise ValueError(
            f"duplicate response_id(s): {', '.join(duplicates[:10])}{' ...' if len(duplicates) > 10 else ''}"
        )
    if not response_ids:
        raise ValueError("cannot split an empty table")
    questions = sorted(set(columns["question_id"]))
    held_out = _choose_unknown_questions(questions, unknown_questions, unknown_fraction, seed)

    rows = sorted(zip(response_ids, columns["question_id"], columns[group_by] if group_by else response_ids))
    assignment: dict[str, str] = {}
    sizes: Counter[str] = Counter()
    for response_id, question_id, group in rows:
        if question_id in held_out:
            assignment[response_id] = SPLIT_NAMES[3]
        else:
            sizes[group] += 1
    if not sizes:
        raise ValueError("no response left for train after holding out questions")
    group_split = _assign_groups(dict(sizes), weights, seed)
    for response_id, question_id, group in rows:
        if question_id not in held_out:
            assignment[response_id] = group_split[group]
    result = {r: assignment[r] for r in sorted(assignment)}
    if group_by and held_out:
        unknown_groups = {g for r, q, g in rows if q in held_out}
        in_train = unknown_groups & {g for r, q, g in rows if q not in held_out and group_split[g] == SPLIT_NAMES[0]}
        if in_train:
            logger.info(
                "%d of the %d %s group(s) in test_unknown also answer in train: test_unknown measures unseen "
                "questions, not unseen %s groups",
                len(in_train),
                len(unknown_groups),
                group_by,
                group_by,
            )
    counts = split_counts(result)
    if unknown_fraction is not None and held_out:
        share = counts.get(SPLIT_NAMES[3], 0) / len(result)
        if share > 2 * unknown_fraction:
            logger.warning(
                "--unknown-fraction %g holds out %d of %d questions, %.0f%% of the answers: with so few questions "
                "the held-out share is coarse; pass --unknown-questions to choose them",
                unknown_fraction, len(held_out), len(questions), 100 * share,
            )  # fmt: skip
    for name in _KNOWN_SPLITS[1:]:
        if 0 < counts.get(name, 0) < SMALL_SPLIT:
            logger.warning("the %s split has only %d answers: its metrics will be noisy", name, counts[name])
    logger.info(
        "Split %d responses (%d held-out question(s)%s): %s",
        len(result),
        len(held_out),
        f", grouped by {group_by}" if group_by else "",
        split_counts(result),
    )
    return result


def split_counts(assignment: Mapping[str, str]) -> dict[str, int]:
    """Number of responses per split.

    Args:
        assignment: ``response_id -> split``.

    Returns:
        ``{split: count}`` for the four split names, in order (zeros included).
    """
    counts = Counter(assignment.values())
    return {name: counts.get(name, 0) for name in SPLIT_NAMES}


def split_dataset(dataset: Any, assignment: Mapping[str, str]) -> datasets.DatasetDict:
    """Split a dataset by a ``response_id -> split`` assignment.

    Args:
        dataset: A ``datasets.Dataset`` (or :class:`~modeling_asa.data.Corpus`) with a
            ``response_id`` column.
        assignment: ``response_id -> split`` (from :func:`assign_splits` or :func:`load_assignment`).

    Returns:
        A ``DatasetDict`` with the non-empty splits, in the order of :data:`SPLIT_NAMES`; row order
        within a split follows the dataset.

    Raises:
        ValueError: Rows without a split (the message names a few), or unknown split names.
    """
    if hasattr(dataset, "dataset") and isinstance(dataset.dataset, datasets.Dataset):
        dataset = dataset.dataset
    if "response_id" not in dataset.column_names:
        raise ValueError(f"missing column response_id; found: {', '.join(dataset.column_names)}")
    bad_names = sorted(set(assignment.values()) - set(SPLIT_NAMES))
    if bad_names:
        raise ValueError(f"unknown split name(s) {', '.join(bad_names)}; valid: {', '.join(SPLIT_NAMES)}")
    ids = [str(r) for r in dataset["response_id"]]
    missing = [r for r in ids if r not in assignment]
    if missing:
        raise ValueError(f"{len(missing)} response(s) have no split, e.g. {', '.join(missing[:5])}")
    extra = len(set(assignment) - set(ids))
    if extra:
        logger.warning("%d response id(s) in the assignment are not in the dataset", extra)
    indices: dict[str, list[int]] = defaultdict(list)
    for index, response_id in enumerate(ids):
        indices[assignment[response_id]].append(index)
    return datasets.DatasetDict({name: dataset.select(indices[name]) for name in SPLIT_NAMES if indices[name]})


def save_assignment(assignment: Mapping[str, str], path: str | os.PathLike) -> Path:
    """Write an assignment as a CSV file with the header ``response_id,split``.

    Args:
        assignment: ``response_id -> split``.
        path: Output file (parent folders are created).

    Returns:
        The path written.

    Raises:
        ValueError: Unknown split names.
    """
    bad_names = sorted(set(assignment.values()) - set(SPLIT_NAMES))
    if bad_names:
        raise ValueError(f"unknown split name(s) {', '.join(bad_names)}; valid: {', '.join(SPLIT_NAMES)}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["response_id", "split"])
        for response_id in sorted(assignment):
            writer.writerow([response_id, assignment[response_id]])
    return target


def load_assignment(path: str | os.PathLike) -> dict[str, str]:
    """Read an assignment written by :func:`save_assignment`.

    Args:
        path: CSV file with the header ``response_id,split``.

    Returns:
        ``response_id -> split`` (ids as strings).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: ``"<path>:<line>: <problem>"`` for a wrong header, an unknown split name, a
            duplicate or empty response id.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: split file not found")
    result: dict[str, str] = {}
    with open(source, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if header[:2] != ["response_id", "split"]:
            raise ValueError(f"{source}:1: expected the header response_id,split; found: {','.join(header)}")
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            line = reader.line_num
            if len(values) < 2:
                raise ValueError(f"{source}:{line}: expected 2 fields, got {len(values)}")
            response_id, split = values[0].strip(), values[1].strip()
            if not response_id:
                raise ValueError(f"{source}:{line}: empty response_id")
            if split not in SPLIT_NAMES:
                raise ValueError(f"{source}:{line}: unknown split {split!r}; valid: {', '.join(SPLIT_NAMES)}")
            if response_id in result:
                raise ValueError(f"{source}:{line}: duplicate response_id {response_id!r}")
            result[response_id] = split
    return result


__all__ = [
    "SPLIT_COLUMN",
    "SPLIT_NAMES",
    "assign_splits",
    "load_assignment",
    "save_assignment",
    "split_counts",
    "split_dataset",
]

"""Tests for modeling_asa.data.splits: the paper's train / dev / test_known / test_unknown split."""

from __future__ import annotations

import random
from collections import defaultdict

import datasets
import pandas as pd
import pytest

from modeling_asa.data import (
    SPLIT_NAMES,
    assign_splits,
    load_assignment,
    load_corpus,
    save_assignment,
    split_counts,
    split_dataset,
)


def _table(n_speakers: int = 20, per_speaker: int = 10, n_questions: int = 5) -> dict[str, list[str]]:
    """A dict-of-lists table: every speaker answers every question (``per_speaker`` responses)."""
    rows = defaultdict(list)
    for s in range(n_speakers):
        for k in range(per_speaker):
            rows["response_id"].append(f"s{s:02d}_{k:02d}")
            rows["question_id"].append(f"q{k % n_questions}")
            rows["speaker_id"].append(f"s{s:02d}")
    return dict(rows)


def _shuffled_rows(table: dict[str, list[str]], seed: int) -> list[dict[str, str]]:
    rows = [dict(zip(table, values)) for values in zip(*table.values())]
    random.Random(seed).shuffle(rows)
    return rows


def test_every_response_gets_exactly_one_valid_split():
    table = _table()
    assignment = assign_splits(table, unknown_questions=["q4"], group_by="speaker_id")
    assert sorted(assignment) == sorted(table["response_id"])
    assert set(assignment.values()) == set(SPLIT_NAMES)
    assert list(assignment) == sorted(assignment)  # sorted by response id
    counts = split_counts(assignment)
    assert sum(counts.values()) == 200 and list(counts) == list(SPLIT_NAMES)


def test_deterministic_and_independent_of_row_order():
    table = _table()
    kwargs = {"unknown_fraction": 0.4, "group_by": "speaker_id", "seed": 7}
    reference = assign_splits(table, **kwargs)
    assert assign_splits(table, **kwargs) == reference
    assert assign_splits(_shuffled_rows(table, 1), **kwargs) == reference  # list of dicts, shuffled
    assert assign_splits(pd.DataFrame(_shuffled_rows(table, 2)), **kwargs) == reference
    assert assign_splits(datasets.Dataset.from_list(_shuffled_rows(table, 3)), **kwargs) == reference
    assert assign_splits(table, **{**kwargs, "seed": 8}) != reference


def test_unknown_questions_go_to_test_unknown_only():
    table = _table()
    assignment = assign_splits(table, unknown_questions=["q1", "q3"], group_by="speaker_id")
    for rid, qid in zip(table["response_id"], table["question_id"]):
        assert (assignment[rid] == "test_unknown") == (qid in {"q1", "q3"})
    assert split_counts(assignment)["test_unknown"] == 80


def test_unknown_fraction_picks_whole_questions():
    table = _table(n_questions=10)
    for seed in range(3):
        assignment = assign_splits(table, unknown_fraction=0.2, seed=seed)
        held = {q for r, q in zip(table["response_id"], table["question_id"]) if assignment[r] == "test_unknown"}
        assert len(held) == 2
        known = {q for r, q in zip(table["response_id"], table["question_id"]) if assignment[r] != "test_unknown"}
        assert not held & known
    picks = {
        frozenset(q for r, q in zip(table["response_id"], table["question_id"]) if a[r] == "test_unknown")
        for a in (assign_splits(table, unknown_fraction=0.2, seed=s) for s in range(6))
    }
    assert len(picks) > 1  # the seed changes which questions are held out
    tiny = assign_splits(table, unknown_fraction=0.01)  # rounds to 0 questions -> at least one
    assert split_counts(tiny)["test_unknown"] == 20


def test_no_test_unknown_without_held_out_questions():
    counts = split_counts(assign_splits(_table()))
    assert counts == {"train": 160, "dev": 20, "test_known": 20, "test_unknown": 0}


def test_ungrouped_ratios_follow_request():
    table = _table(n_speakers=50, per_speaker=20)
    counts = split_counts(assign_splits(table, unknown_questions=["q0"], ratios=(0.7, 0.2, 0.1)))
    assert counts["test_unknown"] == 200
    assert counts["train"] == pytest.approx(560, abs=1)
    assert counts["dev"] == pytest.approx(160, abs=1)
    assert counts["test_known"] == pytest.approx(80, abs=1)


def test_grouped_split_keeps_speakers_together():
    table = _table(n_speakers=60, per_speaker=10)
    assignment = assign_splits(table, unknown_questions=["q0"], group_by="speaker_id", seed=3)
    speaker_splits = defaultdict(set)
    for rid, speaker in zip(table["response_id"], table["speaker_id"]):
        if assignment[rid] != "test_unknown":
            speaker_splits[speaker].add(assignment[rid])
    assert all(len(splits) == 1 for splits in speaker_splits.values())
    counts = split_counts(assignment)
    known = 480  # 600 responses minus the 120 answers to q0
    assert counts["train"] / known == pytest.approx(0.8, abs=0.05)
    assert counts["dev"] / known == pytest.approx(0.1, abs=0.05)
    assert counts["test_known"] / known == pytest.approx(0.1, abs=0.05)
    # Documented: test_unknown is chosen by question, so its speakers may also be in train.
    unknown_speakers = {s for r, s in zip(table["response_id"], table["speaker_id"]) if assignment[r] == "test_unknown"}
    assert unknown_speakers & {s for s, splits in speaker_splits.items() if "train" in splits}


def test_few_groups_still_fill_every_split():
    table = _table(n_speakers=4, per_speaker=3, n_questions=3)
    counts = split_counts(assign_splits(table, group_by="speaker_id"))
    assert counts["train"] == 6 and counts["dev"] == 3 and counts["test_known"] == 3
    counts = split_counts(assign_splits(table, group_by="speaker_id", ratios=(0.9, 0.0, 0.1)))
    assert counts["dev"] == 0 and counts["test_known"] == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unknown_questions": ["q1", "q9", "zz"]}, r"unknown question id\(s\) not in the corpus: q9, zz"),
        ({"unknown_questions": ["q0", "q1", "q2", "q3", "q4"]}, "every question is held out"),
        (
            {"unknown_questions": ["q1"], "unknown_fraction": 0.2},
            "give unknown_questions or unknown_fraction, not both",
        ),
        ({"unknown_fraction": 0.0}, r"unknown_fraction must be in \(0, 1\); got 0.0"),
        ({"unknown_fraction": 1.0}, r"unknown_fraction must be in \(0, 1\); got 1.0"),
        ({"unknown_fraction": 0.95}, r"unknown_fraction=0.95 holds out all 5 question\(s\)"),
        ({"ratios": (0.8, 0.1, 0.2)}, r"ratios must sum to 1; got \(0.8, 0.1, 0.2\) \(sum 1.1\)"),
        ({"ratios": (0.5, 0.5)}, r"ratios must have 3 values"),
        ({"ratios": (1.2, -0.1, -0.1)}, "ratios must be non-negative"),
        ({"ratios": (0.0, 0.5, 0.5)}, r"the train ratio must be > 0"),
        ({"group_by": "school"}, r"missing column\(s\) school; found: response_id, question_id, speaker_id"),
    ],
)
def test_validation_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        assign_splits(_table(), **kwargs)


def test_table_errors():
    with pytest.raises(ValueError, match=r"duplicate response_id\(s\): a"):
        assign_splits({"response_id": ["a", "a", "b"], "question_id": ["q", "q", "q"]})
    with pytest.raises(ValueError, match="cannot split an empty table"):
        assign_splits({"response_id": [], "question_id": []})
    with pytest.raises(ValueError, match=r"column 'speaker_id' has 1 missing value\(s\), first at row 1"):
        assign_splits(
            {"response_id": ["a", "b"], "question_id": ["q", "q"], "speaker_id": ["x", None]}, group_by="speaker_id"
        )
    with pytest.raises(TypeError, match="expected a datasets.Dataset, Corpus, pandas DataFrame"):
        assign_splits(42)


def test_split_dataset_and_round_trip(make_corpus, tmp_path):
    corpus = load_corpus(make_corpus())
    assignment = assign_splits(corpus, unknown_questions=["q2"], group_by="speaker_id")
    dataset_dict = split_dataset(corpus.dataset, assignment)
    assert isinstance(dataset_dict, datasets.DatasetDict)
    assert list(dataset_dict) == [s for s in SPLIT_NAMES if split_counts(assignment)[s]]
    for name, split in dataset_dict.items():
        assert all(assignment[r] == name for r in split["response_id"])
        assert split.features == corpus.dataset.features
    assert sum(len(s) for s in dataset_dict.values()) == len(corpus.dataset)
    assert set(dataset_dict["test_unknown"]["question_id"]) == {"q2"}

    path = save_assignment(assignment, tmp_path / "out" / "splits.csv")
    assert path.read_text().splitlines()[0] == "response_id,split"
    loaded = load_assignment(path)
    assert loaded == assignment and loaded["000"] == assignment["000"]  # ids with leading zeros stay strings

    with pytest.raises(ValueError, match=r"1 response\(s\) have no split, e.g. 000"):
        split_dataset(corpus.dataset, {k: v for k, v in assignment.items() if k != "000"})
    with pytest.raises(ValueError, match=r"unknown split name\(s\) validation; valid: train, dev, test_known"):
        split_dataset(corpus.dataset, {**assignment, "000": "validation"})
    with pytest.raises(ValueError, match=r"unknown split name\(s\) val"):
        save_assignment({"a": "val"}, tmp_path / "bad.csv")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("id,split\na,train\n", r"bad\.csv:1: expected the header response_id,split; found: id,split"),
        ("response_id,split\na,train\nb,validation\n", r"bad\.csv:3: unknown split 'validation'"),
        ("response_id,split\na,train\na,dev\n", r"bad\.csv:3: duplicate response_id 'a'"),
        ("response_id,split\n,train\n", r"bad\.csv:2: empty response_id"),
        ("response_id,split\nonly_one_field\n", r"bad\.csv:2: expected 2 fields, got 1"),
    ],
)
def test_load_assignment_errors(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_assignment(path)


def test_load_assignment_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv: split file not found"):
        load_assignment(tmp_path / "nope.csv")


def test_unknown_groups_seen_in_train_are_reported(caplog):
    rows = [{"response_id": f"r{i}", "question_id": f"q{i % 4}", "speaker_id": f"s{i % 5}"} for i in range(40)]
    with caplog.at_level("INFO", logger="modeling_asa.data.splits"):
        assignment = assign_splits(rows, unknown_questions=["q0"], group_by="speaker_id", seed=0)
    unknown = {rows[i]["speaker_id"] for i in range(40) if assignment[f"r{i}"] == "test_unknown"}
    train = {rows[i]["speaker_id"] for i in range(40) if assignment[f"r{i}"] == "train"}
    overlap = unknown & train
    assert overlap  # every speaker answers every question here
    assert (
        f"{len(overlap)} of the {len(unknown)} speaker_id group(s) in test_unknown also answer in train" in caplog.text
    )

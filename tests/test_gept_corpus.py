"""The GEPT-style demo corpus generator (eSpeak NG) and the main job (``scripts/demo.sh``) end to end.

The generator needs eSpeak NG (the ``espeakng-loader`` wheel of the ``demo`` extra, which ``scripts/test.sh``
installs); without it these tests skip with the reason. The end-to-end test runs the real ``scripts/demo.sh`` on a
small generated corpus with tiny random models (steps 1-2, install and model set-up, skipped).
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dataset_scripts.make_gept_corpus import LEVEL_SHARES, UNKNOWN_SET, _level_counts, make_gept_corpus, questions
from modeling_asa.tts import espeak_library_available

REPO = Path(__file__).resolve().parents[1]
needs_espeak = pytest.mark.skipif(
    not espeak_library_available(), reason="eSpeak NG not installed (pip install espeakng-loader)"
)


def _rows(root: Path) -> list[dict[str, str]]:
    with open(root / "metadata.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


_AUDIO_DERIVED = ("duration_s", "speech_s", "speech_rate_wps")  # eSpeak NG's lengths vary by a few samples


def _same_corpus(a: Path, b: Path) -> bool:
    """Same files, same metadata (durations within 50 ms) and the same loudness up to eSpeak NG's flutter."""
    if sorted(p.relative_to(a) for p in a.rglob("*")) != sorted(p.relative_to(b) for p in b.rglob("*")):
        return False
    rows_a, rows_b = _rows(a), _rows(b)
    for ra, rb in zip(rows_a, rows_b, strict=True):
        if {k: v for k, v in ra.items() if k not in _AUDIO_DERIVED} != {
            k: v for k, v in rb.items() if k not in _AUDIO_DERIVED
        } or abs(float(ra["duration_s"]) - float(rb["duration_s"])) > 0.05:
            return False
        wa, _ = sf.read(a / ra["file_name"])
        wb, _ = sf.read(b / rb["file_name"])
        if abs(np.sqrt(np.mean(wa**2)) / np.sqrt(np.mean(wb**2)) - 1) > 0.1:
            return False
    return (a / "questions.jsonl").read_bytes() == (b / "questions.jsonl").read_bytes()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if not espeak_library_available():
        pytest.skip("eSpeak NG not installed (pip install espeakng-loader)")
    return make_gept_corpus(tmp_path_factory.mktemp("gept") / "corpus", n_speakers=40, seed=0, show_progress=False)


def test_level_shares_are_bell_shaped_and_imbalanced():
    counts = _level_counts(100)
    assert counts == [round(100 * s) for s in LEVEL_SHARES] and sum(_level_counts(37)) == 37
    assert counts[2] == max(counts) and counts[0] < counts[1] and counts[4] < counts[3]


def test_questions_are_four_sets_of_a_picture_and_four_questions():
    qs = questions()
    assert len(qs) == 20 and len({q["question_id"] for q in qs}) == 20
    for set_id in "ABCD":
        tasks = [q["task"] for q in qs if q["set"] == set_id]
        assert tasks == ["picture description"] + ["related question"] * 4


@needs_espeak
def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = make_gept_corpus(tmp_path / "a", n_speakers=8, seed=3, show_progress=False)
    b = make_gept_corpus(tmp_path / "b", n_speakers=8, seed=3, show_progress=False)
    c = make_gept_corpus(tmp_path / "c", n_speakers=8, seed=4, show_progress=False)
    assert _same_corpus(a, b)
    assert _rows(a) != _rows(c)
    before = (a / "metadata.csv").stat().st_mtime_ns
    make_gept_corpus(tmp_path / "a", n_speakers=8, seed=3, show_progress=False)  # complete: reused, not rewritten
    assert (a / "metadata.csv").stat().st_mtime_ns == before


@needs_espeak
def test_layout_labels_and_splits(corpus):
    from modeling_asa.data import load_corpus

    rows = _rows(corpus)
    assert len(rows) == 200
    loaded = load_corpus(corpus)
    assert loaded.classes == [1, 2, 3, 4, 5]
    by_id = {r["response_id"]: r for r in rows}
    for example in loaded.dataset:  # the label is the floor of the two raters' mean, as in the paper
        r = by_id[example["response_id"]]
        assert example["label"] == math.floor((int(r["rater_1"]) + int(r["rater_2"])) / 2)
    levels = [int(r["hidden_level"]) for r in rows[::5]]  # one row per test taker
    assert [levels.count(level) for level in (1, 2, 3, 4, 5)] == _level_counts(40)
    labels = np.array([ex["label"] for ex in loaded.dataset])
    hidden = np.array([int(by_id[ex["response_id"]]["hidden_level"]) for ex in loaded.dataset])
    assert np.corrcoef(labels, hidden)[0, 1] > 0.8  # raters see the level through the aspects, with noise
    assert (labels != hidden).any()
    splits = {r["split"] for r in rows}
    assert splits == {"train", "dev", "test_known", "test_unknown"}
    assert all((r["split"] == "test_unknown") == r["question_id"].startswith(UNKNOWN_SET) for r in rows)
    speakers = {}
    for r in rows:
        speakers.setdefault(r["speaker_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in speakers.values())  # a test taker is in one split only
    info = sf.info(corpus / rows[0]["file_name"])
    assert info.samplerate == 16000 and info.channels == 1
    lines = (corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["question_id"] for line in lines} >= {r["question_id"] for r in rows}
    assert "transcript" not in rows[0]  # the words come from the ASR model, as in a real test


def _moves_with_level(rows, value, ability: str = "hidden_level") -> tuple[list[float], float]:
    """Mean of ``value`` at levels 1, 3 and 5 of an ability (default the hidden level; an aspect's ability rounded),
    and its Spearman correlation with that ability over answers."""
    from scipy.stats import spearmanr

    values = np.array([value(r) for r in rows], dtype=float)
    levels = np.array([round(float(r[ability])) for r in rows])
    means = [float(values[levels == level].mean()) for level in (1, 3, 5)]
    return means, float(spearmanr(values, levels).statistic)


@needs_espeak
@pytest.mark.parametrize(
    "aspect",
    ["speaking rate", "filler rate", "pitch variation", "grammar-error rate", "idea units covered"],
)
def test_every_aspect_moves_with_its_ability(corpus, aspect):
    rows = _rows(corpus)
    value, sign, ability = {
        "speaking rate": (lambda r: int(r["n_words"]) / sf.info(corpus / r["file_name"]).duration, 1,  # measured
                          "delivery_ability"),
        "filler rate": (lambda r: int(r["n_fillers"]) / int(r["n_spoken_tokens"]), -1, "delivery_ability"),
        "pitch variation": (lambda r: float(r["pitch_range"]), 1, "delivery_ability"),
        "grammar-error rate": (lambda r: int(r["n_grammar_errors"]) / int(r["n_words"]), -1, "language_use_ability"),
        "idea units covered": (lambda r: int(r["units_covered"]), 1, "content_ability"),
    }[aspect]  # fmt: skip
    (low, mid, high), rho = _moves_with_level(rows, value, ability)
    assert sign * low < sign * mid < sign * high, (aspect, low, mid, high)
    assert sign * rho > 0.3, (aspect, rho)


@needs_espeak
def test_aspects_are_rated_and_partly_independent(corpus):
    """The three abilities correlate about 0.7 (a rubric's aspects, not one ability three times); each aspect is
    rated (two raters' mean, read with --aspect-columns) and its rating follows its own ability more than the
    holistic label does; an off-task answer gets the lowest content rating and at most level 2."""
    from scipy.stats import spearmanr

    from modeling_asa.data import load_corpus

    rows = _rows(corpus)
    aspects = ("content", "delivery", "language_use")
    abilities = np.array([[float(r[f"{a}_ability"]) for a in aspects] for r in rows])
    correlations = np.corrcoef(abilities.T)[np.triu_indices(3, 1)]
    assert ((correlations > 0.45) & (correlations < 0.85)).all(), correlations
    loaded = load_corpus(corpus, aspect_columns=list(aspects))
    by_id = {r["response_id"]: r for r in rows}
    labels = np.array(loaded.dataset["label"])
    aspect_labels = np.array(loaded.dataset["aspect_labels"])
    for i, aspect in enumerate(aspects):
        ability = [float(by_id[rid][f"{aspect}_ability"]) for rid in loaded.dataset["response_id"]]
        own, holistic = spearmanr(aspect_labels[:, i], ability).statistic, spearmanr(labels, ability).statistic
        assert own > holistic, (aspect, own, holistic)
    off_task = [r for r in rows if r["on_topic"] == "0"]
    assert off_task and all(float(r["content"]) == 1.0 for r in off_task)
    assert all(math.floor((int(r["rater_1"]) + int(r["rater_2"])) / 2) <= 2 for r in off_task)


@needs_espeak
def test_only_weak_answers_wander_off_topic(corpus):
    (low, mid, high), _ = _moves_with_level(_rows(corpus), lambda r: 1 - int(r["on_topic"]))
    assert low > mid >= high == 0.0


@needs_espeak
def test_bad_arguments_fail_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="n_speakers must be >= 8"):
        make_gept_corpus(tmp_path / "x", n_speakers=3)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "metadata.csv").write_text("file_name,score\n")
    result = subprocess.run([sys.executable, str(REPO / "dataset_scripts" / "make_gept_corpus.py"), "--output",
                             str(tmp_path / "other"), "--n-speakers", "8"], capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 2 and "already holds metadata.csv" in result.stderr.strip().splitlines()[-1]


@needs_espeak
@pytest.mark.slow
def test_main_job_end_to_end_with_tiny_models(trained, tmp_path):
    """``bash scripts/demo.sh`` steps 3-7 on 8 test takers with the tiny models of the ``trained`` fixture."""
    from conftest import SPACY, TINY, spacy_available

    if not spacy_available():
        pytest.skip(f"spaCy pipeline {SPACY} not installed")
    models = trained["models"]
    pairs = dict(zip(TINY[::2], TINY[1::2], strict=True))
    tiny_train = [x for k, v in pairs.items() if k not in ("--num_train_epochs", "--disable_tqdm") for x in (k, v)]
    env = {
        **os.environ, "SKIP_SETUP": "1", "DATA": str(tmp_path / "data"), "MODEL": str(tmp_path / "demo"),
        "BASELINE": str(tmp_path / "demo-lmcl"), "SPEAKERS": "8", "EPOCHS": "1",
        "ACOUSTIC_ENCODER": models["whisper"], "CONTEXT_ENCODER": models["bert"], "CTC_MODEL": models["ctc"],
        "ASR_MODEL": models["ctc_multi"], "RECOGNIZER": models["recognizer"], "LM": str(tmp_path / "no-lm.bin"),
        "TRAIN_ARGS": " ".join(tiny_train),
    }  # fmt: skip
    result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "| LMCL + W-RankSim |" in out and "| LMCL |" in out and "unknown content (n=10)" in out
    results = json.loads((tmp_path / "demo" / "asa_results.json").read_text())
    table_row = next(line for line in out.splitlines() if line.startswith("| LMCL + W-RankSim |"))
    assert f"{results['test_unknown']['qwk']:.3f}" in table_row  # the printed figures are the run's own
    assert (tmp_path / "demo" / "README.md").is_file() and (tmp_path / "demo" / "feature_recipe.json").is_file()
    assert "predicted" in out and "start s" in out  # the held-out answer's score and word timeline
    assert "Spearman: aspect score vs ability" in out  # each aspect against the hidden abilities
    assert "content" in next(line for line in out.splitlines() if line.startswith("file "))  # aspects in the table
    rerun = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True, text=True,
                           cwd=tmp_path, timeout=600, check=False)  # fmt: skip
    assert rerun.returncode == 0 and "reusing" in rerun.stdout and "already complete" in rerun.stderr

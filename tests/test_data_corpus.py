"""Tests for modeling_asa.data.corpus (contract, validation, loading), the demo corpus and the data scripts."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile as sf
from paths import REPO_ROOT, SHARED_CORPUS, SHARED_CORPUS_MISSING
from scipy.stats import spearmanr

from dataset_scripts.make_demo_corpus import make_demo_corpus
from modeling_asa.audio import load_audio
from modeling_asa.data import (
    Corpus,
    CorpusError,
    CorpusProblem,
    apply_rater_rule,
    load_corpus,
    read_questions,
    validate_corpus,
)


def _rows(n: int = 4, **overrides: str) -> list[dict[str, str]]:
    """``n`` valid minimal rows (``file_name``, ids, ``score``), with column overrides for row 0."""
    rows = [
        {"file_name": f"a/{i}.wav", "response_id": f"r{i}", "question_id": "q1", "score": str(1 + i % 3)}
        for i in range(n)
    ]
    rows[0].update(overrides)
    return rows


def _reasons(problems: list[CorpusProblem]) -> list[str]:
    return [p.reason for p in problems]


# --------------------------------------------------------------------------- valid corpora


def test_load_valid_corpus(make_corpus):
    root = make_corpus()
    corpus = load_corpus(root)
    assert isinstance(corpus, Corpus)
    ds = corpus.dataset
    assert ds.column_names == ["audio", "response_id", "question_id", "label", "speaker_id", "transcript", "age"]
    assert ds.features["audio"] == datasets.Audio(sampling_rate=16000, decode=False)
    assert ds.features["label"] == datasets.Value("int64")
    assert ds.features["age"] == datasets.Value("int64")  # extra numeric column inferred
    assert ds.features["speaker_id"] == datasets.Value("string")
    assert len(ds) == 8 == len(corpus)
    first = ds[0]
    assert first["response_id"] == "000" and first["speaker_id"] == "00"  # ids stay strings
    assert first["audio"]["bytes"] is None
    audio_path = Path(first["audio"]["path"])
    assert audio_path.is_absolute() and audio_path == root.resolve() / "audio" / "000.wav"
    assert load_audio(audio_path).shape == (4800,)
    assert ds["label"] == [1, 2, 3, 1, 2, 3, 1, 2]
    assert corpus.classes == [1, 2, 3]
    assert corpus.label_counts() == {1: 3, 2: 3, 3: 2}
    assert corpus.questions == {"q1": "Describe your home town.", "q2": "What do you do at weekends?"}
    assert corpus.question_text("q2") == "What do you do at weekends?"
    assert corpus.problems == [] and corpus.root == root.resolve()
    assert corpus.label_source == "score"
    assert validate_corpus(root) == []


def test_declared_classes_kept_when_unused(make_corpus):
    corpus = load_corpus(make_corpus(), classes=[5, 4, 3, 2, 1])
    assert corpus.classes == [1, 2, 3, 4, 5]
    assert corpus.label_counts() == {1: 3, 2: 3, 3: 2, 4: 0, 5: 0}


def test_invalid_classes_and_rule_arguments(make_corpus):
    root = make_corpus()
    with pytest.raises(ValueError, match=r"classes must be unique; duplicated: \[2\]"):
        load_corpus(root, classes=[1, 2, 2])
    with pytest.raises(ValueError, match=r"classes must be integers; got \[1\.5\]"):
        load_corpus(root, classes=[1, 1.5])
    with pytest.raises(ValueError, match="classes must not be empty"):
        validate_corpus(root, classes=[])
    with pytest.raises(ValueError, match="rater_rule must be one of floor, round, ceil; got 'mean'"):
        load_corpus(root, rater_rule="mean")


def test_custom_label_column_and_extra_columns(make_corpus):
    rows = [
        {
            "file_name": f"a/{i}.flac",
            "response_id": f"{i:04d}",
            "question_id": "q1",
            "age_band": str(i % 5),
            "duration_s": f"{1.5 + i:.2f}",
            "gender": "mf"[i % 2],
            "school_id": "007",
        }
        for i in range(5)
    ]
    root = make_corpus(rows=rows)
    corpus = load_corpus(root, label_column="age_band", classes=range(5))
    ds = corpus.dataset
    assert "age_band" not in ds.column_names and ds["label"] == [0, 1, 2, 3, 4]
    assert ds.features["duration_s"] == datasets.Value("float64") and ds["duration_s"][1] == 2.5
    assert ds.features["gender"] == datasets.Value("string")
    assert ds["school_id"] == ["007"] * 5  # *_id columns are never converted
    assert ds["response_id"][0] == "0000"
    assert "speaker_id" not in ds.column_names and "transcript" not in ds.column_names
    with pytest.raises(CorpusError, match=r"missing label column 'score'; found: file_name, response_id, "):
        load_corpus(root, label_column="score")
    with pytest.raises(CorpusError, match="no label: expected a 'score' column, rater_<n> columns"):
        load_corpus(root)


# --------------------------------------------------------------------------- rater averaging


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("floor", [3, 2, 1, 4, 2]), ("round", [3, 2, 2, 4, 3]), ("ceil", [4, 2, 2, 5, 3])],
)
def test_rater_average_rules(make_corpus, rule, expected):
    ratings = [("3", "4", "3"), ("2", "2", "2"), ("1", "2", "2"), ("4", "5", "4"), ("2", "", "3")]
    rows = [
        {
            "file_name": f"a/{i}.wav",
            "response_id": f"r{i}",
            "question_id": "q1",
            "rater_1": a,
            "rater_2": b,
            "rater_10": c,
        }
        for i, (a, b, c) in enumerate(ratings)
    ]
    # means: 3.33, 2, 1.67, 4.33, 2.5 (the empty rating is skipped)
    corpus = load_corpus(make_corpus(rows=rows), rater_rule=rule)
    assert corpus.dataset["label"] == expected
    assert corpus.label_source == f"mean(rater_1, rater_2, rater_10) -> {rule}"
    assert corpus.dataset.features["rater_1"] == datasets.Value("int64")  # raters kept as columns
    assert corpus.dataset["rater_2"][4] is None


def test_apply_rater_rule():
    assert [apply_rater_rule(3.5, r) for r in ("floor", "round", "ceil")] == [3, 4, 4]
    assert apply_rater_rule(2.9999999999, "floor") == 3  # float noise absorbed
    assert apply_rater_rule(3.0, "ceil") == 3
    with pytest.raises(ValueError, match="rater_rule must be one of"):
        apply_rater_rule(1.0, "nearest")


def test_rater_problems(make_corpus):
    rows = [
        {"file_name": "a/0.wav", "response_id": "r0", "question_id": "q1", "rater_1": "x", "rater_2": "3"},
        {"file_name": "a/1.wav", "response_id": "r1", "question_id": "q1", "rater_1": "", "rater_2": ""},
        {"file_name": "a/2.wav", "response_id": "r2", "question_id": "q1", "rater_1": "2", "rater_2": "3"},
    ]
    root = make_corpus(rows=rows)
    assert _reasons(validate_corpus(root)) == [
        "non-numeric rating 'x' in column 'rater_1'",
        "no rating in rater_1, rater_2",
    ]
    assert _reasons(validate_corpus(root, classes=[3, 4])) == [
        "non-numeric rating 'x' in column 'rater_1'",
        "no rating in rater_1, rater_2",
        "label 2 outside the declared classes [3, 4]",
    ]


def test_both_label_column_and_raters(make_corpus):
    rows = [{**row, "rater_1": "2", "rater_2": "3"} for row in _rows()]
    root = make_corpus(rows=rows)
    with pytest.raises(
        CorpusError, match=r"both a label column \('score'\) and rater columns \(rater_1, rater_2\) are present"
    ):
        load_corpus(root)
    assert load_corpus(root, label_column="score").dataset["label"] == [1, 2, 3, 1]
    assert load_corpus(root, label_column="rater_*").dataset["label"] == [2, 2, 2, 2]
    with pytest.raises(CorpusError, match=r"no rater_<n> columns; found: file_name, response_id"):
        load_corpus(make_corpus(rows=_rows(), name="plain"), label_column="rater_*")


# --------------------------------------------------------------------------- file-level problems


def test_missing_files_and_folder(make_corpus, tmp_path):
    with pytest.raises(CorpusError, match=r"corpus folder not found"):
        load_corpus(tmp_path / "nowhere")
    root = make_corpus(rows=False)
    with pytest.raises(CorpusError, match=r"metadata\.csv: metadata file not found \(expected metadata\.csv\)"):
        load_corpus(root)
    root = make_corpus(questions=False, name="no_questions")
    problems = validate_corpus(root)
    assert _reasons(problems) == ["questions file not found (expected questions.jsonl)"]
    assert problems[0].file == str(root.resolve() / "questions.jsonl")
    with pytest.raises(CorpusError, match="questions file not found"):
        load_corpus(root, strict=False)  # cannot be skipped: every row would lack its question


def test_empty_metadata(make_corpus):
    with pytest.raises(CorpusError, match=r"metadata file is empty \(no header row\)"):
        load_corpus(make_corpus(rows=""))
    with pytest.raises(CorpusError, match="metadata file has no rows"):
        load_corpus(make_corpus(rows="file_name,response_id,question_id,score\n", name="header_only"))


def test_missing_required_columns_lists_found(make_corpus):
    rows = [{"path": "a/0.wav", "id": "r0", "question_id": "q1", "score": "1"}]
    problems = validate_corpus(make_corpus(rows=rows))
    assert _reasons(problems) == [
        "missing required column(s) file_name, response_id; found: path, id, question_id, score"
    ]
    assert problems[0].file.endswith("metadata.csv:1")
    with pytest.raises(CorpusError, match=r"^1 problem in corpus .*:\n  .*metadata\.csv:1: missing required column"):
        load_corpus(make_corpus(rows=rows, name="second"), strict=False)


def test_duplicate_and_reserved_columns(make_corpus):
    text = "file_name,response_id,question_id,score,score,audio\na/0.wav,r0,q1,1,1,x\n"
    assert _reasons(validate_corpus(make_corpus(rows=text))) == [
        "duplicate column(s): score",
        "column(s) audio are reserved (created by the loader); rename them",
    ]


def test_questions_jsonl_problems(make_corpus):
    questions = "\n".join(  # noqa: FLY002 - one line per JSONL record reads better
        [
            '{"question_id": "q1", "text": "First."}',
            '{"question_id": "q2", "text": "Broken"',
            '["not", "an", "object"]',
            '{"question_id": "q3"}',
            '{"question_id": "q1", "text": "Again."}',
            "",
            '{"question_id": 7, "text": "Numeric id."}',
            '{"question_id": "", "text": "Empty id."}',
            '{"question_id": "q9", "text": 5}',
        ]
    )
    root = make_corpus(rows=_rows(), questions=questions)
    problems = validate_corpus(root)
    where = str(root.resolve() / "questions.jsonl")
    assert [(p.file, p.reason) for p in problems] == [
        (f"{where}:2", "malformed JSON (Expecting ',' delimiter at column 39)"),
        (f"{where}:3", "expected a JSON object, got list"),
        (f"{where}:4", "missing key(s) text; found: question_id"),
        (f"{where}:5", "duplicate question_id 'q1' (first on line 1)"),
        (f"{where}:8", "invalid question_id ''"),
        (f"{where}:9", "question text must be a string, got int"),
    ]
    assert read_questions(make_corpus(name="good")) == {
        "q1": "Describe your home town.",
        "q2": "What do you do at weekends?",
    }
    with pytest.raises(CorpusError, match=r"^6 problems:\n  .*questions\.jsonl:2: malformed JSON"):
        read_questions(root / "questions.jsonl")
    corpus = load_corpus(root, strict=False)
    assert corpus.questions == {"q1": "First.", "7": "Numeric id."}
    assert len(corpus.dataset) == 4 and len(corpus.problems) == 6


# --------------------------------------------------------------------------- row-level problems


def test_every_row_problem_is_reported(make_corpus, tiny_audio_dir):
    rows = _rows(12)
    rows[1].update(file_name="/abs/path.wav")
    rows[2].update(file_name="../outside.wav")
    rows[3].update(file_name="a/missing.wav")
    rows[4].update(question_id="q404")
    rows[5].update(response_id="r0")
    rows[6].update(score="high")
    rows[7].update(score="2.5")
    rows[8].update(score="9")
    rows[9].update(response_id="", question_id="")
    rows[10].update(file_name="a\\..\\..\\win.wav")
    rows[11].update(file_name="")
    root = make_corpus(rows=rows)
    (root / "a" / "missing.wav").unlink()
    problems = validate_corpus(root, classes=[1, 2, 3])
    meta = str(root.resolve() / "metadata.csv")
    assert [(p.file, p.reason, p.response_id) for p in problems] == [
        (f"{meta}:3", "absolute audio path not allowed: '/abs/path.wav'", "r1"),
        (f"{meta}:4", "audio path leaves the corpus folder ('..'): '../outside.wav'", "r2"),
        (f"{meta}:6", "unknown question_id 'q404' (not in questions.jsonl)", "r4"),
        (f"{meta}:7", "duplicate response_id 'r0' (first on line 2)", "r0"),
        (f"{meta}:8", "non-numeric label 'high' in column 'score'", "r6"),
        (f"{meta}:9", "label '2.5' in column 'score' is not an integer", "r7"),
        (f"{meta}:10", "label 9 outside the declared classes [1, 2, 3]", "r8"),
        (f"{meta}:11", "empty response_id", None),
        (f"{meta}:11", "empty question_id", None),
        (f"{meta}:12", "audio path leaves the corpus folder ('..'): 'a\\\\..\\\\..\\\\win.wav'", "r10"),
        (f"{meta}:13", "empty file_name", "r11"),
        (str(root.resolve() / "a" / "missing.wav"), "audio file not found", "r3"),
    ]
    with pytest.raises(CorpusError) as info:
        load_corpus(root, classes=[1, 2, 3])
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == f"12 problems in corpus {root.resolve()}:"
    assert len(lines) == 13 and len(info.value.problems) == 12
    assert lines[3].endswith("unknown question_id 'q404' (not in questions.jsonl) (response_id='r4')")


def test_audio_problems(make_corpus, tiny_audio_dir):
    rows = _rows(6)
    for i, key in enumerate(["empty", "corrupt", "short", "stereo_44k", "noise", "silence"]):
        rows[i]["file_name"] = f"audio/{tiny_audio_dir[key].name}"
    root = make_corpus(rows=rows, write_audio=False)
    (root / "audio").symlink_to(tiny_audio_dir["tone"].parent, target_is_directory=True)
    problems = validate_corpus(root)
    assert [(Path(p.file).name, p.response_id) for p in problems] == [
        ("empty.wav", "r0"),
        ("corrupt.wav", "r1"),
        ("short.wav", "r2"),
    ]
    reasons = _reasons(problems)
    assert reasons[0] == "audio file is empty (0 bytes)"
    assert reasons[1].startswith("unreadable audio (")
    assert reasons[2] == "audio too short (0.050 s < 0.1 s)"
    # Without reading headers only existence and size are checked.
    assert _reasons(validate_corpus(root, check_audio=False)) == ["audio file is empty (0 bytes)"]
    # A smaller minimum duration accepts the short file.
    assert len(validate_corpus(root, min_duration=0.01)) == 2


def test_wrong_field_count(make_corpus):
    text = "file_name,response_id,question_id,score\na/0.wav,r0,q1,1\na/1.wav,r1,q1\n"
    root = make_corpus(rows=text)
    problems = validate_corpus(root)
    assert [(p.reason, p.response_id) for p in problems] == [
        ("expected 4 fields, got 3", "r1"),
        ("audio file not found", "r0"),  # make_corpus(rows=str) writes no audio
    ]


def test_non_strict_drops_bad_rows(make_corpus, caplog):
    rows = _rows(5)
    rows[1].update(question_id="nope")
    rows[3].update(score="")
    root = make_corpus(rows=rows)
    with caplog.at_level(logging.WARNING, logger="modeling_asa.data.corpus"):
        corpus = load_corpus(root, strict=False)
    assert corpus.dataset["response_id"] == ["r0", "r2", "r4"]
    assert _reasons(corpus.problems) == [
        "unknown question_id 'nope' (not in questions.jsonl)",
        "missing label in column 'score'",
    ]
    assert "dropped 2 of 5 rows with problems" in caplog.text
    with pytest.raises(CorpusError, match=r"^2 problems in corpus"):
        load_corpus(root)


def test_non_strict_with_no_usable_row(make_corpus):
    root = make_corpus(rows=_rows(1, question_id="nope"))
    with pytest.raises(CorpusError, match=r"\(no usable rows left\)"):
        load_corpus(root, strict=False)


def test_reads_bom_and_quoted_fields(make_corpus):
    text = '\ufefffile_name,response_id,question_id,score,transcript\na/0.wav,r0,q1,2,"hello, ""world"""\n'
    root = make_corpus(rows=text)
    (root / "a").mkdir()
    sf.write(root / "a" / "0.wav", np.full(3200, 0.1, dtype=np.float32), 16000)
    corpus = load_corpus(root)
    assert corpus.dataset["transcript"] == ['hello, "world"']


# --------------------------------------------------------------------------- demo corpus and scripts


def _burst_rate(wave: np.ndarray) -> float:
    """Voiced bursts per second from 10 ms frame energies."""
    frames = wave[: len(wave) // 160 * 160].reshape(-1, 160)
    voiced = (frames**2).mean(axis=1) > 1e-3
    return float(np.sum(voiced[1:] & ~voiced[:-1])) / (len(wave) / 16000)


def test_demo_corpus(tmp_path):
    start = time.perf_counter()
    root = make_demo_corpus(tmp_path / "demo")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 2_000_000
    corpus = load_corpus(root, classes=[1, 2, 3, 4, 5])
    ds = corpus.dataset
    assert len(ds) == 72 and corpus.problems == []
    assert all(count > 0 for count in corpus.label_counts().values())
    assert {"speaker_id", "transcript", "duration_s"} <= set(ds.column_names)
    assert len(set(ds["speaker_id"])) == 12 and sorted(corpus.questions) == ["Q01", "Q02", "Q03"]
    infos = [sf.info(a["path"]) for a in ds["audio"]]
    assert {i.format for i in infos} == {"WAV", "FLAC"}
    assert {i.samplerate for i in infos} == {16000, 22050}
    assert sorted(i.channels for i in infos)[-2:] == [1, 2]  # exactly one stereo file
    # The label is learnable from the signal: the burst rate alone ranks the scores.
    rates = [_burst_rate(load_audio(a["path"])) for a in ds["audio"]]
    assert spearmanr(rates, ds["label"]).statistic > 0.7
    # ... and from the transcript: one word per burst, so higher scores have more words per second.
    words = [len(t.split()) / d for t, d in zip(ds["transcript"], ds["duration_s"])]
    assert spearmanr(words, ds["label"]).statistic > 0.7


def test_demo_corpus_is_deterministic_and_skips_existing(tmp_path, caplog):
    a = make_demo_corpus(tmp_path / "a", n_speakers=5, responses_per_speaker=2, seed=3)
    b = make_demo_corpus(tmp_path / "b", n_speakers=5, responses_per_speaker=2, seed=3)
    assert (a / "metadata.csv").read_text() == (b / "metadata.csv").read_text()
    assert (a / "audio" / "S02" / "S02_01.flac").read_bytes() == (b / "audio" / "S02" / "S02_01.flac").read_bytes()
    with caplog.at_level(logging.INFO, logger="dataset_scripts.make_demo_corpus"):
        make_demo_corpus(tmp_path / "a", n_speakers=5, responses_per_speaker=2, seed=3)
    assert "already complete" in caplog.text
    with pytest.raises(FileExistsError, match=r"already holds audio, metadata\.csv, questions\.jsonl"):
        make_demo_corpus(tmp_path / "a", n_speakers=5, responses_per_speaker=2, seed=4)
    make_demo_corpus(tmp_path / "a", n_speakers=5, responses_per_speaker=2, seed=4, overwrite=True)
    assert (a / "metadata.csv").read_text() != (b / "metadata.csv").read_text()
    with pytest.raises(ValueError, match="n_speakers must be >= 1; got 0"):
        make_demo_corpus(tmp_path / "c", n_speakers=0)


def test_demo_corpus_with_raters(tmp_path):
    root = make_demo_corpus(tmp_path / "raters", n_speakers=5, responses_per_speaker=3, n_raters=2)
    corpus = load_corpus(root)
    assert corpus.label_source == "mean(rater_1, rater_2) -> floor"
    assert set(corpus.dataset["label"]) <= {1, 2, 3, 4, 5}
    ceil_labels = load_corpus(root, rater_rule="ceil").dataset["label"]
    assert all(c >= f for c, f in zip(ceil_labels, corpus.dataset["label"]))


def test_scripts_help(capsys):
    # make_demo_corpus.py imports only numpy and soundfile, so it runs as a plain file.
    command = [sys.executable, "dataset_scripts/make_demo_corpus.py", "--help"]
    result = subprocess.run(command, check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "--n-speakers" in result.stdout
    # load_gept_folder imports modeling_asa (torch); check its parser in-process to stay fast.
    from dataset_scripts import load_gept_folder

    with pytest.raises(SystemExit) as info:
        load_gept_folder.main(["--help"])
    assert info.value.code == 0
    assert "--unknown-fraction" in capsys.readouterr().out


def test_load_gept_folder_main(tmp_path):
    from dataset_scripts import load_gept_folder
    from dataset_scripts import make_demo_corpus as demo_script

    root = demo_script.main(["--output", str(tmp_path / "demo"), "--n-speakers", "6", "--n-questions", "3"])
    splits = tmp_path / "splits.csv"
    summary = load_gept_folder.main(
        [str(root), "--unknown-questions", "Q03", "--group-by", "speaker_id", "--save-splits", str(splits)]
    )
    assert summary["responses"] == 36 and summary["speakers"] == 6 and summary["questions"] == 3
    assert summary["split_counts"]["test_unknown"] == 12
    assert sum(summary["split_counts"].values()) == 36
    assert sum(summary["label_counts"].values()) == 36
    assert splits.read_text().startswith("response_id,split\n")


# --------------------------------------------------------------------------- shared real corpus


@pytest.mark.integration
def test_shared_corpus_loads():
    if not (SHARED_CORPUS / "metadata.csv").is_file():
        pytest.skip(SHARED_CORPUS_MISSING)
    corpus = load_corpus(SHARED_CORPUS, label_column="age_band", classes=[0, 1, 2, 3, 4])
    ds = corpus.dataset
    assert len(ds) == 2500 and corpus.classes == [0, 1, 2, 3, 4]
    assert corpus.label_counts() == {0: 460, 1: 440, 2: 260, 3: 960, 4: 380}
    assert len(set(ds["speaker_id"])) == 125
    assert ds["response_id"][0].startswith("0")  # leading zeros kept
    assert all(q in corpus.questions for q in ds["question_id"])
    wave = load_audio(ds[0]["audio"]["path"])
    assert wave.dtype == np.float32 and len(wave) > 16000


# --------------------------------------------------------------------------- aspect columns


def test_aspect_columns_become_aspect_labels(make_corpus):
    """Each aspect column is read like the label: a raters' mean is reduced by the rater rule, on the label's classes."""
    rows = [{**row, "fluency": v, "accuracy": a} for row, v, a in
            zip(_rows(4), ("1", "2.5", "3", "1.5"), ("3", "2", "1", "2"))]  # fmt: skip
    root = make_corpus(rows=rows)
    corpus = load_corpus(root, aspect_columns=["fluency", "accuracy"])
    assert corpus.aspects == ["fluency", "accuracy"]
    assert corpus.dataset["aspect_labels"] == [[1, 3], [2, 2], [3, 1], [1, 2]]  # 2.5 -> 2, 1.5 -> 1 (floor)
    rounded = load_corpus(root, aspect_columns=["fluency"], rater_rule="round")
    assert rounded.dataset["aspect_labels"] == [[1], [3], [3], [2]]
    assert "aspect_labels" not in load_corpus(root).dataset.column_names  # without the option nothing changes


def test_bad_aspect_values_are_problems_of_their_rows(make_corpus):
    rows = [{**row, "fluency": v} for row, v in zip(_rows(4), ("1", "", "x", "9"))]
    root = make_corpus(rows=rows)
    with pytest.raises(CorpusError) as caught:
        load_corpus(root, aspect_columns=["fluency"])
    reasons = _reasons(caught.value.problems)
    assert "missing aspect label in column 'fluency'" in reasons
    assert "non-numeric aspect label 'x' in column 'fluency'" in reasons
    assert any(r.startswith("aspect label 9 in column 'fluency' is not one of the label's classes") for r in reasons)
    kept = load_corpus(root, aspect_columns=["fluency"], strict=False)  # the other answers go on
    assert kept.dataset["response_id"] == ["r0"] and len(kept.problems) == 3
    with pytest.raises(CorpusError, match="aspect label 9 in column 'fluency' outside the declared classes"):
        load_corpus(root, aspect_columns=["fluency"], classes=[1, 2, 3, 4, 5])
    with pytest.raises(CorpusError, match=r"missing aspect column\(s\) delivery; found: file_name"):
        load_corpus(root, aspect_columns=["delivery"], strict=False)

"""Nothing passes silently: each bad input gets one clear line (and a problems.csv row where it is per answer), the
good answers are all processed, and no traceback reaches the console."""

import csv
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import default_rows
from tiny_models import build_tiny_bert, build_tiny_whisper

from modeling_asa.audio import AudioError, load_answer_audio
from modeling_asa.cli import prepare_main
from modeling_asa.data import assign_splits, load_corpus

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from modeling_asa import training as train_asa


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"whisper": str(build_tiny_whisper(root / "whisper")), "bert": str(build_tiny_bert(root / "bert"))}


def prepare(corpus: Path, output: Path, models, *extra: str) -> int:
    return prepare_main([
        str(corpus), "--output", str(output), "--acoustic-encoder", models["whisper"],
        "--context-encoder", models["bert"], "--stages", "content", "--device", "cpu", *extra,
    ])  # fmt: skip


def problems(output: Path) -> list[dict[str, str]]:
    with open(output / "problems.csv", newline="") as f:
        return list(csv.DictReader(f))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# ------------------------------------------------------------------------------------------------ labels


def test_label_typo_is_reported_with_advice(make_corpus, tmp_path, models, caplog):
    rows = default_rows()
    rows[3]["score"] = "9"  # a typo on a 1-3 scale
    corpus = make_corpus(rows)
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus, strict=False)
    assert loaded.classes == [1, 2, 3, 9]
    messages = [str(w) for w in loaded.warnings]
    assert any("not a contiguous range (no answer has 4, 5, 6, 7, 8)" in m for m in messages)
    assert any("label 9 is a class of only 1 of 8 answers" in m and "--classes" in m for m in messages)
    assert "label 9 is a class of only 1" in caplog.text
    assert prepare(corpus, tmp_path / "out", models) == 0
    rows_out = [p for p in problems(tmp_path / "out") if p["stage"] == "labels"]
    assert any(p["response_id"] == "003" and "--classes" in p["reason"] for p in rows_out)
    # with the classes declared, the typo is a problem row and the answer is left out
    assert prepare(corpus, tmp_path / "declared", models, "--classes", "1,2,3") == 0
    bad = {p["response_id"]: p for p in problems(tmp_path / "declared")}
    assert "outside the declared classes" in bad["003"]["reason"]


def test_rare_class_without_gap(make_corpus):
    rows = [dict(r, score=str(1 + i % 2)) for i, r in enumerate(default_rows() * 1)]
    rows[0]["score"] = "3"
    corpus = make_corpus(rows)
    warnings = [str(w) for w in load_corpus(corpus).warnings]
    assert len(warnings) == 1 and "label 3 is a class of only 1 of 8 answers" in warnings[0]
    assert load_corpus(corpus, classes=[1, 2, 3]).warnings == []


# ------------------------------------------------------------------------------------------------ audio


def test_silent_and_truncated_answers(make_corpus, tmp_path, models, capsys, caplog):
    corpus = make_corpus()
    sf.write(corpus / "audio/002.wav", np.zeros(4800, dtype=np.float32), 16000)
    truncate(corpus / "audio/005.wav")
    with pytest.raises(AudioError, match=r"002.wav: no speech: the recording is silent"):
        load_answer_audio(corpus / "audio/002.wav")
    with pytest.raises(AudioError, match=r"005.wav: truncated file: the header declares 0.30 s of audio"):
        load_answer_audio(corpus / "audio/005.wav")
    # (on the package logger: train_asa.py, run earlier in the session, sets its level)
    with caplog.at_level(logging.INFO, logger="modeling_asa"):
        assert prepare(corpus, tmp_path / "out", models, "--unknown-questions", "q2") == 0
    found = {p["response_id"]: p for p in problems(tmp_path / "out") if p["stage"] != "labels"}
    assert set(found) == {"002", "005"}
    assert found["002"]["stage"] == "content" and "no speech" in found["002"]["reason"]
    assert found["005"]["stage"] == "corpus" and "truncated file" in found["005"]["reason"]
    # the per-answer message names the response and its file, and the summary counts every row of the corpus
    assert "002 (" in caplog.text and "audio/002.wav): content: " in caplog.text
    assert "6 usable of 8, 2 problems" in caplog.text
    assert "Traceback" not in capsys.readouterr().err


def test_scoring_rejects_silence_like_prepare():
    from modeling_asa.scoring import AsaScorer

    scorer = AsaScorer.__new__(AsaScorer)  # only the audio decoding is exercised here
    with pytest.raises(AudioError, match=r"<array 0>: no speech"):
        scorer._decode(np.zeros(16000, dtype=np.float32), 0, 16000)


# ------------------------------------------------------------------------------------------------ messages


def test_ctrl_c_ends_with_one_line_and_status_130(make_corpus, tmp_path, models, monkeypatch, capsys):
    from modeling_asa.features import runner

    def interrupted(self):
        self.progress = ("content", 3, 8)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.FeaturePipeline, "run", interrupted)
    assert prepare(make_corpus(), tmp_path / "out", models) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["interrupted after 3 of 8 answers (content stage); re-run the same command to resume"]


def test_unreachable_hub_fails_fast_in_one_line(make_corpus, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    corpus = make_corpus()
    with caplog.at_level(logging.ERROR):
        status = prepare_main([str(corpus), "--output", str(tmp_path / "out"), "--stages", "content"])
    assert status == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    advice = "not a local folder and HF_HUB_OFFLINE is set; pass a local folder (see scripts/setup_offline_models.sh)"
    assert errors == [
        f"--acoustic-encoder openai/whisper-base: {advice}",
        f"--context-encoder sentence-transformers/all-MiniLM-L6-v2: {advice}",
    ]
    assert not (tmp_path / "out" / "cache" / "content").exists()  # no work started


def test_few_questions_warn_about_the_held_out_share(caplog):
    rows = [{"response_id": f"r{i}", "question_id": f"q{i % 3}"} for i in range(12)]
    with caplog.at_level(logging.WARNING):
        assign_splits(rows, unknown_fraction=0.1, seed=0)
    assert "--unknown-fraction 0.1 holds out 1 of 3 questions, 33% of the answers" in caplog.text
    assert "split has only" in caplog.text


# ------------------------------------------------------------------------------------------------ train_asa.py


def test_hyphen_and_underscore_spellings_give_the_same_arguments(tmp_path):
    under = train_asa.parse_args(["--features_dir", str(tmp_path), "--num_train_epochs", "3"])
    hyphen = train_asa.parse_args(["--features-dir", str(tmp_path), "--num-train-epochs", "3"])
    assert under[0] == hyphen[0] and under[1] == hyphen[1]
    assert under[2].to_dict() == hyphen[2].to_dict()
    assert under[0].hidden_size == 512 and under[2].output_dir == "outputs/asa"  # the paper's model, not the demo's
    assert under[2].eval_strategy == "epoch" and under[2].num_train_epochs == 3
    demo = train_asa.parse_args([])
    assert demo[0].hidden_size == 64 and demo[2].output_dir == "outputs/demo" and demo[2].num_train_epochs == 12
    assert demo[1].threads == 1 and under[1].threads is None  # the small demo model runs on one thread


def test_help_shows_the_defaults_in_use():
    demo = train_asa.build_parser(demo=True).format_help()
    features = train_asa.build_parser(demo=False).format_help()
    assert "(default: outputs/demo)" in demo and "(default: outputs/asa)" in features
    assert "(default: epoch)" in features and "--features-dir" in features


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--branches", "content,fluency"],
            "--branches content,fluency: unknown branch(es) ['fluency']; valid: content, delivery, language_use",
        ),
        (["--loss", "mse"], "--loss mse: valid values are ce, corn, lmcl"),
        (["--regularizer", "rank"], "--regularizer rank: valid values are none, ranksim, w_ranksim"),
        (["--branch_encoder", "cnn"], "--branch_encoder cnn: valid values are transformer, pooled"),
        (["--class_weighting", "inverse"], "--class_weighting inverse: valid values are none, balanced"),
    ],
)  # fmt: skip
def test_invalid_choices_fail_in_one_line(args, message):
    result = subprocess.run([sys.executable, "train_asa.py", *args], capture_output=True, text=True, cwd=REPO,
                            check=False, timeout=300)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"train_asa.py: error: {message}"
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------------------ threads


def test_threads_follow_the_cores_available(monkeypatch):
    import torch

    from modeling_asa.runtime import available_cores, configure_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert configure_threads() == available_cores() == torch.get_num_threads()
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert configure_threads() == 1 == torch.get_num_threads()
        assert configure_threads(2) == 2
        with pytest.raises(ValueError, match="--threads must be >= 1"):
            configure_threads(0)
    finally:
        torch.set_num_threads(before)
    if hasattr(os, "sched_getaffinity"):
        assert available_cores() == len(os.sched_getaffinity(0))

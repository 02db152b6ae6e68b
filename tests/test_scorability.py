"""Non-scorable answers (``modeling_asa.scorability``) and the relevance stage that gives them their evidence."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tiny_models import build_tiny_bert

from modeling_asa.features.relevance import (
    RELEVANCE_FIELDS,
    RelevanceStage,
    question_coverage,
    question_overlap,
    speech_seconds,
)
from modeling_asa.features.stage import Answer
from modeling_asa.scorability import (
    FLAG_REASONS,
    FLAGS,
    SCORABILITY_FILE,
    Thresholds,
    describe,
    evidence_dict,
    fit_thresholds,
    flags_for,
)

GOOD = {
    "question_similarity": 0.6, "reference_similarity": math.nan, "question_coverage": 0.5, "question_overlap": 0.1,
    "num_words": 25.0, "mean_confidence": 0.9, "no_speech_prob": 0.01, "english_prob": 0.9, "speech_seconds": 9.0,
}  # fmt: skip
FITTED = Thresholds(min_similarity=0.2, min_english_prob=0.3, min_confidence=0.5)


def test_question_overlap_and_coverage():
    question = ["what", "are", "the", "students", "doing", "in", "the", "library"]
    assert question_overlap(question, question) == 1.0
    assert question_overlap(question, ["they", "are", "reading", "books", "quietly"]) == 0.0
    assert question_overlap(question, ["students"]) == 1.0  # under three words: unigrams
    assert question_overlap(question, []) == 0.0
    assert question_coverage(question, ["the", "students", "read", "in", "the", "library"]) == pytest.approx(2 / 3)
    assert math.isnan(question_coverage(["what", "is", "it"], ["yes"]))  # no content word to cover


def test_speech_seconds_ignores_leading_and_trailing_silence():
    wave = np.zeros(16000 * 3, dtype=np.float32)
    wave[16000 : 16000 * 2] = 0.5 * np.sin(np.arange(16000) / 5.0)
    assert speech_seconds(wave) == pytest.approx(1.0, abs=0.03)
    assert speech_seconds(np.zeros(16000, np.float32)) == 0.0
    assert speech_seconds(None) == 0.0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"num_words": 0.0, "speech_seconds": 0.3}, ["no_speech", "too_short"]),
        ({"no_speech_prob": 0.95}, ["no_speech"]),
        ({"num_words": 2.0}, ["too_short"]),
        ({"speech_seconds": 0.3}, ["too_short"]),
        ({"question_overlap": 0.9}, ["question_read_back"]),
        ({"question_similarity": 0.05, "question_coverage": 0.0}, ["off_topic"]),
        ({"question_similarity": 0.05, "question_coverage": 0.3}, []),  # says the question's words: not off topic
        ({"question_similarity": 0.05, "reference_similarity": 0.7, "question_coverage": 0.0}, []),
        ({"mean_confidence": 0.3}, ["low_asr_confidence"]),
        ({"mean_confidence": 0.3, "english_prob": 0.05}, ["not_english", "low_asr_confidence"]),
        ({"english_prob": 0.05}, ["not_english"]),  # Whisper translates: its language probability is the evidence
        ({"english_prob": 0.35}, []),  # above the fitted floor (an accent)
    ],
)
def test_each_flag(change, expected):
    assert flags_for({**GOOD, **change}, FITTED) == sorted(expected, key=FLAGS.index)


def test_unfitted_thresholds_switch_the_data_checks_off():
    assert (
        flags_for({**GOOD, "question_similarity": -0.5, "question_coverage": 0.0, "mean_confidence": 0.0}, Thresholds())
        == []
    )
    assert describe(["too_short", "off_topic"]) == f"{FLAG_REASONS['too_short']}; {FLAG_REASONS['off_topic']}"


def test_fit_save_load_and_override(tmp_path):
    rng = np.random.default_rng(0)
    evidence = [{**GOOD, "question_similarity": s, "mean_confidence": c, "english_prob": e}
                for s, c, e in zip(rng.uniform(0.2, 0.8, 200), rng.uniform(0.5, 1.0, 200), rng.uniform(0, 1, 200))]  # fmt: skip
    fitted = fit_thresholds(evidence, quantile=0.05)
    assert fitted.min_similarity == pytest.approx(np.quantile([e["question_similarity"] for e in evidence], 0.05))
    assert sum(bool(flags_for(e, fitted)) for e in evidence) <= 0.15 * len(evidence)  # few train answers flagged
    assert "200 answers" in fitted.fitted_on
    fitted.save(tmp_path)
    assert json.loads((tmp_path / SCORABILITY_FILE).read_text())["min_words"] == 3
    loaded = Thresholds.load(tmp_path, min_words=5)
    assert loaded.min_words == 5 and loaded.min_similarity == pytest.approx(fitted.min_similarity)
    assert Thresholds.load(tmp_path / "none").min_similarity is None  # a folder without the file: defaults
    with pytest.raises(ValueError, match=r"unknown scorability threshold\(s\) \['min_wordz'\]"):
        Thresholds.load(tmp_path, min_wordz=5)
    with pytest.raises(ValueError, match="no answers to fit on"):
        fit_thresholds([])
    with pytest.raises(ValueError, match="relevance_features has 2 values"):
        evidence_dict([1.0, 2.0])


def test_relevance_stage_compares_the_words_with_the_question_and_references(tmp_path):
    bert = str(build_tiny_bert(tmp_path / "bert"))
    question = "what are the students doing"
    stage = RelevanceStage(bert, references={question: ["the students are reading"]}, device="cpu")
    assert stage.needs == ("recognition",) and stage.settings()["references"]
    assert stage.recipe()["reference_answers"] == {question: ["the students are reading"]}  # the scorer gets them
    wave = (0.3 * np.sin(np.arange(16000 * 2) / 5.0)).astype(np.float32)
    answers = [Answer("read-back", wave, "q1", question), Answer("other", wave, "q2", "another question")]

    def heard(text):
        words = text.upper().split()
        return {"recognition": {"text": np.asarray(text), "words": np.asarray(words),
                                "word_confidence": np.full(len(words), 0.8, np.float32),
                                "no_speech_prob": np.float32(0.1), "english_prob": np.float32(0.7)}}  # fmt: skip

    read_back, other = stage.compute(answers, [heard(question), heard("my favourite food")])
    a, b = evidence_dict(read_back["relevance_features"]), evidence_dict(other["relevance_features"])
    assert read_back["relevance_features"].shape == (len(RELEVANCE_FIELDS),)
    assert a["question_overlap"] == 1.0 and a["question_coverage"] == 1.0
    assert a["question_similarity"] == pytest.approx(1.0, abs=1e-3)  # the same text
    assert -1.0 <= b["question_similarity"] <= 1.0 and b["question_overlap"] == 0.0
    assert -1.0 <= a["reference_similarity"] <= 1.0 and math.isnan(b["reference_similarity"])  # none for the other
    assert (
        a["num_words"] == 5 and a["mean_confidence"] == pytest.approx(0.8) and a["english_prob"] == pytest.approx(0.7)
    )
    assert a["speech_seconds"] == pytest.approx(2.0, abs=0.03)
    assert flags_for(a, Thresholds()) == ["question_read_back"]


def test_corpus_reads_reference_answers_and_reports_bad_ones(make_corpus):
    from modeling_asa.data import load_corpus, validate_corpus

    questions = [
        {"question_id": "q1", "text": "Describe your town.", "reference_answers": ["My town is small."],
         "key_points": ["size", "people"]},
        {"question_id": "q2", "text": "What do you eat?", "key_points": "rice"},
    ]  # fmt: skip
    corpus_dir = make_corpus(questions=questions)
    problems = validate_corpus(corpus_dir)
    assert any("questions.jsonl:2" in p.file and "key_points must be a list of strings" in p.reason for p in problems)
    corpus = load_corpus(corpus_dir, strict=False)
    assert corpus.references == {"q1": ["My town is small.", "size", "people"]}

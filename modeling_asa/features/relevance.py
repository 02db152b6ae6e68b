# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The relevance stage: does the answer respond to the question, and can it be scored at all?

Nothing in the content branch compares what was said with what was asked, so an answer to another question, the
question read back or counting from one to thirty can score like a good answer. This stage measures it, per answer,
from the recogniser's words and the question's text, as the evidence the non-scorable checks
(:mod:`modeling_asa.scorability`) read. The columns of ``relevance_features`` are :data:`RELEVANCE_FIELDS`:

========================  ===============================================================================
``question_similarity``   cosine of the Sentence-BERT sentence embeddings (mean of the token states, the
                          context encoder of the question stage) of the answer's text and of the question
``reference_similarity``  the highest such cosine against the question's ``reference_answers`` and
                          ``key_points`` (optional fields of ``questions.jsonl``); ``NaN`` without them
``question_coverage``     share of the question's content words (stop words left out) that the answer says
``question_overlap``      share of the answer's word trigrams that are trigrams of the question (``1`` for
                          the question read back; unigrams for answers of under three words)
``num_words``             words recognised (or given)
``mean_confidence``       mean per-word confidence of the recogniser (``NaN`` for a given transcript)
``no_speech_prob``        the recogniser's probability that there is no speech
``english_prob``          a multilingual recogniser's probability that the answer is English
``speech_seconds``        the answer's duration (s) without its leading and trailing silence
========================  ===============================================================================

Example:
    >>> question_overlap("please describe the picture".split(), "please describe the picture".split())
    1.0
    >>> round(question_coverage("what are the students doing".split(), "the students are reading".split()), 2)
    0.5
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..text import normalize_text, spell_numbers
from .stage import Answer, Column, FeatureStage, stable_hash

logger = logging.getLogger(__name__)

RELEVANCE_FIELDS: tuple[str, ...] = (
    "question_similarity",
    "reference_similarity",
    "question_coverage",
    "question_overlap",
    "num_words",
    "mean_confidence",
    "no_speech_prob",
    "english_prob",
    "speech_seconds",
)
"""Columns of ``relevance_features`` (definitions in the module docstring)."""

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "his",
        "its",
        "our",
        "their",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "please",
        "there",
        "here",
        "not",
        "no",
        "yes",
        "so",
        "if",
        "then",
        "than",
        "too",
        "very",
        "just",
        "also",
        "some",
        "any",
        "all",
    ]
)
"""Function words that say nothing about what an answer is about (question coverage counts the others)."""


def _words(text: Sequence[str]) -> list[str]:
    return [w.lower() for w in text if w]


def question_coverage(question: Sequence[str], answer: Sequence[str]) -> float:
    """Share of the question's content words the answer says (``NaN`` when the question has none)."""
    content = {w for w in _words(question) if w not in STOP_WORDS}
    if not content:
        return math.nan
    return len(content & set(_words(answer))) / len(content)


def question_overlap(question: Sequence[str], answer: Sequence[str]) -> float:
    """Share of the answer's word trigrams (unigrams below three words) found in the question (``0`` when empty)."""
    q, a = _words(question), _words(answer)
    if not a:
        return 0.0
    n = 3 if len(a) >= 3 and len(q) >= 3 else 1
    grams = {tuple(q[i : i + n]) for i in range(len(q) - n + 1)}
    answer_grams = [tuple(a[i : i + n]) for i in range(len(a) - n + 1)]
    return sum(g in grams for g in answer_grams) / len(answer_grams)


def speech_seconds(wave: np.ndarray | None, sampling_rate: int = 16000) -> float:
    """Duration between the first and the last 20 ms frame louder than 1/30 of the loudest (``0`` for silence)."""
    if wave is None or len(wave) == 0:
        return 0.0
    frame = sampling_rate // 50
    n = len(wave) // frame
    if n == 0:
        return 0.0
    energy = np.sqrt((np.asarray(wave[: n * frame], dtype=np.float64).reshape(n, frame) ** 2).mean(axis=1))
    top = energy.max()
    if top <= 1e-4:
        return 0.0
    loud = np.flatnonzero(energy > top / 30)
    return float((loud[-1] - loud[0] + 1) * frame / sampling_rate)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denominator) if denominator > 0 else 0.0


class RelevanceStage(FeatureStage):
    """The relevance stage (see the module docstring): one float32 vector of :data:`RELEVANCE_FIELDS` per answer.

    Args:
        context_encoder (`str`): The Sentence-BERT model of the question stage.
        references (`dict`, *optional*): ``question text -> reference answers and key points`` from
            ``questions.jsonl`` (their digest is part of the settings, so editing them recomputes the stage). The
            feature recipe keeps them, so the scorer compares an answer to a question it was trained on with the same
            references (matched by the question's text); other questions have none.
    """

    name = "relevance"
    model_options = ()  # the context encoder is the question stage's option; a user overrides it there
    version = 2  # 2: the question's words normalised as the recognised words are

    def __init__(
        self,
        context_encoder: str,
        references: Mapping[str, Sequence[str]] | None = None,
        device: str | None = None,
        batch_size: int = 32,
    ) -> None:
        super().__init__(device, batch_size)
        self.context_encoder = context_encoder
        self.references = {str(k): list(v) for k, v in (references or {}).items() if v}
        self.encoder = None

    @property
    def needs(self) -> tuple[str, ...]:
        return ("recognition",)

    def settings(self) -> dict[str, Any]:
        digest = stable_hash(self.references) if self.references else None
        return {"context_encoder": self.context_encoder, "references": digest}

    def recipe(self) -> dict[str, Any]:
        return {**self.settings(), "reference_answers": self.references}

    def cache_key(self, needed_keys=()) -> dict[str, Any]:
        from .stage import model_identity

        key = super().cache_key(needed_keys)
        key["settings"]["context_encoder"] = model_identity(self.context_encoder)
        return key

    def load(self) -> None:
        if self.encoder is None:
            from .content import QuestionEncoder

            self.encoder = QuestionEncoder(self.context_encoder, device=self.device, batch_size=self.batch_size)
            self.loaded = True

    def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Sentence embeddings: the mean of each text's token states (Sentence-BERT's mean pooling)."""
        self.load()
        if not texts:
            return []
        return [s.astype(np.float32).mean(axis=0) for s in self.encoder.encode(list(texts), show_progress=False)]

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        heard = [given["recognition"] for given in inputs]
        texts = [str(h["text"]) if str(h["text"]).strip() else " ".join(map(str, h["words"])) for h in heard]
        questions = [a.question if isinstance(a.question, str) else "" for a in answers]
        unique = sorted({t for t in texts + questions if t.strip()})
        references = sorted({r for a in answers for r in self.references.get(str(a.question), ())})
        vectors = dict(zip(unique + references, self.embed(unique + references)))
        out = []
        for answer, h, text, question in zip(answers, heard, texts, questions):
            words = [str(w) for w in h["words"]]
            question_words = normalize_text(spell_numbers(question)).split()  # as the recognised words are
            similarity = _cosine(vectors[text], vectors[question]) if text.strip() and question.strip() else 0.0
            refs = self.references.get(str(answer.question), ())
            reference = (
                max((_cosine(vectors[text], vectors[r]) for r in refs), default=math.nan) if text.strip() else 0.0
            )
            confidence = np.asarray(h["word_confidence"], dtype=np.float64)
            row = {
                "question_similarity": similarity,
                "reference_similarity": reference if refs else math.nan,
                "question_coverage": question_coverage(question_words, words),
                "question_overlap": question_overlap(question_words, words),
                "num_words": float(len(words)),
                "mean_confidence": float(np.nanmean(confidence)) if np.isfinite(confidence).any() else math.nan,
                "no_speech_prob": float(h["no_speech_prob"]),
                "english_prob": float(h["english_prob"]),
                "speech_seconds": speech_seconds(answer.wave),
            }
            out.append({"relevance_features": np.asarray([row[f] for f in RELEVANCE_FIELDS], dtype=np.float32)})
        return out

    def columns(self) -> dict[str, Column]:
        return {"relevance_features": Column("float32", len(RELEVANCE_FIELDS), "answer")}


__all__ = [
    "RELEVANCE_FIELDS",
    "STOP_WORDS",
    "RelevanceStage",
    "question_coverage",
    "question_overlap",
    "speech_seconds",
]

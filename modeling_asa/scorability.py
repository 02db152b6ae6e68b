# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Non-scorable answers: decide whether an answer can be scored at all, and say why not.

Operational scorers first check that a response is scorable (non-scorable and off-topic response detection is a
standing part of automated speaking assessment). A level given to counting, to the question read back or to an answer
in another language misleads a teacher and rewards a test taker who games the scorer. The checks read the relevance
stage's evidence (:data:`~modeling_asa.features.relevance.RELEVANCE_FIELDS`) and return flags, each with a reason in
plain words (:data:`FLAG_REASONS`):

=======================  ==================================================================================
``no_speech``            the recogniser heard no word, or its no-speech probability is above ``max_no_speech``
``too_short``            fewer than ``min_words`` words or less than ``min_speech_seconds`` of speech
``off_topic``            the answer's sentence embedding is less similar to the question (or to its reference
                         answers) than ``min_similarity``, and says none of the question's content words
``question_read_back``   at least ``max_question_overlap`` of the answer's word trigrams are the question's
``not_english``          a multilingual recogniser's English probability is below ``min_english_prob`` (fitted
                         on the train speakers, so their accent is not the signal)
``low_asr_confidence``   the recogniser's mean word confidence is below ``min_confidence``
=======================  ==================================================================================

The data-dependent thresholds (similarity, English probability, confidence) are fitted on the train split
(:func:`fit_thresholds`: a low quantile of the train answers that the raters placed in the upper half of the scale,
on task by any reading of a rubric; ``train_asa.py`` does it) and saved in the model folder as ``scorability.json``;
every threshold can be overridden.

Example:
    >>> t = Thresholds()
    >>> flags_for({"num_words": 0.0, "speech_seconds": 0.2, "no_speech_prob": 0.1}, t)
    ['no_speech', 'too_short']
    >>> flags_for({"num_words": 12.0, "speech_seconds": 5.0, "question_overlap": 1.0}, t)
    ['question_read_back']
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .features.relevance import RELEVANCE_FIELDS

logger = logging.getLogger(__name__)

SCORABILITY_FILE = "scorability.json"
"""The thresholds in a model folder."""
FLAGS = ("no_speech", "too_short", "off_topic", "question_read_back", "not_english", "low_asr_confidence")
FLAG_REASONS = {
    "no_speech": "no speech was heard",
    "too_short": "the answer is too short to score",
    "off_topic": "the answer does not seem to respond to the question",
    "question_read_back": "the answer repeats the question",
    "not_english": "the answer does not sound like English",
    "low_asr_confidence": "too few words could be recognised reliably",
}
"""Each flag in a teacher's words (the web page and the table show them)."""


@dataclass
class Thresholds:
    """When an answer is flagged (see the module docstring); ``None`` switches a data-fitted check off.

    Args:
        min_words (`int`, *optional*, defaults to 3): Fewer recognised words is ``too_short``.
        min_speech_seconds (`float`, *optional*, defaults to 1.0): Less speech (s) is ``too_short``.
        max_no_speech (`float`, *optional*, defaults to 0.8): A higher no-speech probability is ``no_speech``.
        max_question_overlap (`float`, *optional*, defaults to 0.8): A higher share of the question's trigrams is
            ``question_read_back``.
        min_similarity (`float`, *optional*): A lower question (or reference) similarity, with no question content
            word said, is ``off_topic``; fitted.
        min_english_prob (`float`, *optional*): Below it is ``not_english``; fitted.
        min_confidence (`float`, *optional*): A lower mean word confidence is ``low_asr_confidence``; fitted.
        fitted_on (`str`, *optional*): What the fitted values come from.
    """

    min_words: int = 3
    min_speech_seconds: float = 1.0
    max_no_speech: float = 0.8
    max_question_overlap: float = 0.8
    min_similarity: float | None = None
    min_english_prob: float | None = None
    min_confidence: float | None = None
    fitted_on: str = "defaults (not fitted)"

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``scorability.json`` into a model folder."""
        path = Path(folder) / SCORABILITY_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike, **overrides: Any) -> Thresholds:
        """The thresholds of a model folder (defaults when it has none), with ``overrides`` applied.

        Raises:
            ValueError: An override that is not a threshold (the message lists the valid names).
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown scorability threshold(s) {unknown}; valid: {sorted(names - {'fitted_on'})}")
        path = Path(folder) / SCORABILITY_FILE
        values = json.loads(path.read_text()) if path.is_file() else {}
        values = {k: v for k, v in values.items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def evidence_dict(vector: Any) -> dict[str, float]:
    """A ``relevance_features`` vector as ``field -> value``."""
    values = np.asarray(vector, dtype=np.float64).reshape(-1)
    if values.shape[0] != len(RELEVANCE_FIELDS):
        raise ValueError(f"relevance_features has {values.shape[0]} values, expected {len(RELEVANCE_FIELDS)}")
    return dict(zip(RELEVANCE_FIELDS, values.tolist()))


def _value(evidence: dict[str, float], name: str) -> float:
    value = evidence.get(name, math.nan)
    return float(value) if value is not None else math.nan


def _best_similarity(evidence: dict[str, float]) -> float:
    """The higher of the question and reference similarities (``NaN`` when neither is defined)."""
    values = [v for v in (_value(evidence, "question_similarity"), _value(evidence, "reference_similarity"))
              if math.isfinite(v)]  # fmt: skip
    return max(values) if values else math.nan


def flags_for(evidence: dict[str, float], thresholds: Thresholds) -> list[str]:
    """The flags of one answer (in :data:`FLAGS` order; empty: scorable).

    Args:
        evidence: ``field -> value`` of :data:`~modeling_asa.features.relevance.RELEVANCE_FIELDS` (missing = NaN).
        thresholds: The thresholds.
    """
    t = thresholds
    words, seconds = _value(evidence, "num_words"), _value(evidence, "speech_seconds")
    no_speech, overlap = _value(evidence, "no_speech_prob"), _value(evidence, "question_overlap")
    similarity = _best_similarity(evidence)
    coverage, english = _value(evidence, "question_coverage"), _value(evidence, "english_prob")
    confidence = _value(evidence, "mean_confidence")
    found = set()
    if words == 0 or (math.isfinite(no_speech) and no_speech > t.max_no_speech):
        found.add("no_speech")
    if words < t.min_words or (math.isfinite(seconds) and seconds < t.min_speech_seconds):
        found.add("too_short")
    if words > 0 and math.isfinite(overlap) and overlap >= t.max_question_overlap:
        found.add("question_read_back")
    if (
        words > 0
        and t.min_similarity is not None
        and math.isfinite(similarity)
        and similarity < t.min_similarity
        and not (math.isfinite(coverage) and coverage > 0)
    ):
        found.add("off_topic")
    low_confidence = t.min_confidence is not None and math.isfinite(confidence) and confidence < t.min_confidence
    if words > 0 and low_confidence:
        found.add("low_asr_confidence")
    if words > 0 and t.min_english_prob is not None and math.isfinite(english) and english < t.min_english_prob:
        # fitted on the speakers' own population, so an accent alone stays above it; Whisper translates what it
        # does not hear as English (a Spanish answer came out as fluent English, confidence 0.6): its language
        # probability is the evidence, not the words
        found.add("not_english")
    return [f for f in FLAGS if f in found]


def fit_thresholds(
    evidence: list[dict[str, float]], quantile: float = 0.01, where: str = "the train split"
) -> Thresholds:
    """Fit the data-dependent thresholds on answers the raters scored (all scorable by definition).

    Each fitted threshold is the ``quantile`` (default 1%) of its evidence over these answers, so about that share
    of ordinary answers would be flagged by it; the fixed thresholds keep their defaults.

    Raises:
        ValueError: No answer to fit on.
    """
    if not evidence:
        raise ValueError("fit_thresholds: no answers to fit on")

    def low(name: str) -> float | None:
        values = np.array([_value(e, name) for e in evidence], dtype=np.float64)
        values = values[np.isfinite(values)]
        return float(np.quantile(values, quantile)) if values.size else None

    similarity = [np.nanmax([_value(e, "question_similarity"), _value(e, "reference_similarity")]) for e in evidence]
    finite = np.array([s for s in similarity if math.isfinite(s)])
    return Thresholds(
        min_similarity=float(np.quantile(finite, quantile)) if finite.size else None,
        min_english_prob=low("english_prob"),
        min_confidence=low("mean_confidence"),
        fitted_on=f"the {quantile:.0%} quantile of {len(evidence)} answers of {where}",
    )


def describe(flags: list[str]) -> str:
    """The flags in plain words, for a teacher (``""`` when scorable)."""
    return "; ".join(FLAG_REASONS[f] for f in flags)


__all__ = [
    "FLAGS",
    "FLAG_REASONS",
    "SCORABILITY_FILE",
    "Thresholds",
    "describe",
    "evidence_dict",
    "fit_thresholds",
    "flags_for",
]

# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Read-speech training data for the CTC heads: examples, speaker-held-out splits and error rates.

A read-speech corpus follows the project's corpus contract (``metadata.csv`` + ``questions.jsonl`` +
audio); each response is the reading of its question's text, so the transcript of a response is its
prompt, normalised by :func:`~modeling_asa.ctc.processing_whisper_ctc.normalize_transcript`. This is
the case of speechocean762 (Zhang et al., 2021, CC BY 4.0), whose prompts are the read sentences.

Used by :mod:`modeling_asa.tools.train_ctc_head` and :mod:`modeling_asa.tools.evaluate_ctc_aligner` (behind
``scripts/train_ctc_head.py`` and ``scripts/evaluate_ctc_aligner.py``), so both see the same transcripts and the
same held-out speakers.

Example:
    >>> char_error_rate(["HELLO WORLD"], ["HELO WORLD"]), word_error_rate(["HELLO WORLD"], ["HELO WORLD"])
    (0.09090909090909091, 0.5)
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .processing_whisper_ctc import normalize_transcript

logger = logging.getLogger(__name__)


class CorpusFormatError(ValueError):
    """A read-speech corpus that does not follow the contract (one-line message naming the file)."""


@dataclass(frozen=True)
class ReadSpeechExample:
    """One response of a read-speech corpus.

    Attributes:
        response_id: The response id (``metadata.csv``).
        speaker_id: The speaker id.
        path: Absolute audio path.
        transcript: Normalised transcript (upper case ``A``-``Z``, apostrophes, single spaces).
        duration_s: Duration from ``metadata.csv`` (``nan`` when absent).
    """

    response_id: str
    speaker_id: str
    path: str
    transcript: str
    duration_s: float


def load_read_speech_corpus(corpus_dir: str | os.PathLike) -> list[ReadSpeechExample]:
    """Read a corpus with :func:`modeling_asa.data.load_corpus`; the transcript of a response is its question's text.

    Args:
        corpus_dir: Corpus folder (``metadata.csv`` with ``file_name``, ``response_id``, ``question_id``,
            ``speaker_id``; ``questions.jsonl`` with ``question_id`` and ``text``); labels are not needed.

    Returns:
        The examples in ``metadata.csv`` order (responses whose normalised text is empty are skipped with a
        warning).

    Raises:
        CorpusFormatError: When the corpus breaks the contract (every problem listed, each naming its file) or has
            no ``speaker_id`` column.
    """
    from ..data import CorpusError, load_corpus

    try:
        corpus = load_corpus(corpus_dir, strict=True, check_audio=False, require_labels=False)
    except CorpusError as err:
        raise CorpusFormatError(str(err)) from err
    if "speaker_id" not in corpus.dataset.column_names:
        raise CorpusFormatError(
            f"{corpus.root / 'metadata.csv'}: missing column(s) ['speaker_id']; found {corpus.dataset.column_names}"
        )
    rows, paths = corpus.rows_and_paths()
    examples: list[ReadSpeechExample] = []
    for row, path in zip(rows, paths):
        transcript = normalize_transcript(corpus.questions[row["question_id"]])
        if not transcript:
            logger.warning("%s: response %s has an empty transcript, skipped", corpus.root, row["response_id"])
            continue
        duration = row.get("duration_s")
        duration = float(duration) if duration not in (None, "") else float("nan")
        examples.append(ReadSpeechExample(row["response_id"], str(row["speaker_id"]), path, transcript, duration))
    return examples


@dataclass
class SpeakerSplit:
    """Speakers held out for evaluation, speakers of the dev subset, and the remaining training speakers.

    Attributes:
        seed: Seed of the draw.
        heldout_fraction: Fraction of all speakers held out (never trained on).
        dev_fraction: Fraction of the non-held-out speakers used as the dev subset (model selection).
        heldout_speakers: Sorted held-out speaker ids.
        dev_speakers: Sorted dev speaker ids.
        train_speakers: Sorted training speaker ids.
    """

    seed: int
    heldout_fraction: float
    dev_fraction: float
    heldout_speakers: list[str]
    dev_speakers: list[str]
    train_speakers: list[str]

    def to_json(self, path: str | os.PathLike, **extra: object) -> None:
        """Write the split (and ``extra`` fields) as JSON."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**asdict(self), **extra}, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> SpeakerSplit:
        """Read a split written by :meth:`to_json`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def split_speakers(
    speakers: Sequence[str], heldout_fraction: float = 0.2, dev_fraction: float = 0.1, seed: int = 0
) -> SpeakerSplit:
    """Draw held-out and dev speakers with a seed (``random.Random(seed)`` over the sorted speaker ids).

    Args:
        speakers: Speaker ids (duplicates ignored).
        heldout_fraction: Fraction of speakers held out, rounded, at least 1.
        dev_fraction: Fraction of the remaining speakers in the dev subset, rounded, at least 1.
        seed: Seed.

    Returns:
        A :class:`SpeakerSplit`.

    Raises:
        ValueError: On fractions outside ``(0, 1)`` or fewer than 3 speakers.

    Example:
        >>> s = split_speakers([f"s{i}" for i in range(10)], 0.2, 0.25, seed=0)
        >>> len(s.heldout_speakers), len(s.dev_speakers), len(s.train_speakers)
        (2, 2, 6)
    """
    unique = sorted(set(speakers))
    if not 0 < heldout_fraction < 1 or not 0 < dev_fraction < 1:
        raise ValueError(f"fractions must be in (0, 1), got heldout={heldout_fraction}, dev={dev_fraction}")
    if len(unique) < 3:
        raise ValueError(f"need at least 3 speakers to split, got {len(unique)}")
    rng = random.Random(seed)
    shuffled = unique[:]
    rng.shuffle(shuffled)
    n_heldout = max(1, round(heldout_fraction * len(unique)))
    rest = shuffled[n_heldout:]
    n_dev = max(1, round(dev_fraction * len(rest)))
    return SpeakerSplit(
        seed=seed,
        heldout_fraction=heldout_fraction,
        dev_fraction=dev_fraction,
        heldout_speakers=sorted(shuffled[:n_heldout]),
        dev_speakers=sorted(rest[:n_dev]),
        train_speakers=sorted(rest[n_dev:]),
    )


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1) between two sequences.

    Args:
        reference: Reference tokens (characters of a string, or words).
        hypothesis: Hypothesis tokens.

    Returns:
        The distance.

    Example:
        >>> edit_distance("KITTEN", "SITTING")
        3
    """
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def char_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus character error rate: total character edits / total reference characters (spaces included).

    Args:
        references: Reference transcripts.
        hypotheses: Hypotheses, same length.

    Returns:
        The CER (``nan`` when the references are empty).
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references for {len(hypotheses)} hypotheses")
    edits = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
    total = sum(len(r) for r in references)
    return edits / total if total else float("nan")


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: total word edits / total reference words.

    Args:
        references: Reference transcripts (words separated by spaces).
        hypotheses: Hypotheses, same length.

    Returns:
        The WER (``nan`` when the references are empty).
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references for {len(hypotheses)} hypotheses")
    edits = sum(edit_distance(r.split(), h.split()) for r, h in zip(references, hypotheses))
    total = sum(len(r.split()) for r in references)
    return edits / total if total else float("nan")


__all__ = [
    "CorpusFormatError",
    "ReadSpeechExample",
    "SpeakerSplit",
    "char_error_rate",
    "edit_distance",
    "load_read_speech_corpus",
    "split_speakers",
    "word_error_rate",
]

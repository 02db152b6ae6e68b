# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The interface every feature stage implements, shared by ``asa-prepare`` and ``AsaScorer``.

A stage turns a batch of decoded answers (16 kHz waves, question text, optional transcript) into per-answer arrays.
``asa-prepare`` (:mod:`modeling_asa.features.runner`) walks the stages in dependency order over a corpus, caching each
result per answer and stage; :class:`~modeling_asa.scoring.AsaScorer` walks the same stages over the answers it is
given, without a cache. Both therefore compute features with the same code.

=================  ====================================================  ============================================
stage              computes                                              needs
=================  ====================================================  ============================================
``content``        Whisper encoder states of the answer                  (audio)
``question``       Sentence-BERT token states of the question text       (question text; once per question)
``delivery``       transcript, CTC-segmentation words, prosody,          (audio; the content states when its ASR
                   posteriors, ASR confidence                            model shares the content encoder)
``lm``             n-gram LM log10 probability per word                  ``delivery`` (the words)
``language_use``   spaCy POS/DEP/morphology one-hots per word            ``delivery`` (the words)
=================  ====================================================  ============================================

A stage declares its :meth:`~FeatureStage.settings` (everything that changes its output: they key its cache and are
recorded in the feature recipe), loads its models once (:meth:`~FeatureStage.load`), computes a batch
(:meth:`~FeatureStage.compute`) and declares its output columns (:meth:`~FeatureStage.columns`). A per-answer problem
is returned as a one-line string instead of arrays; it never stops the other answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .fields import delivery_matrix

StageOutput = dict[str, np.ndarray]
"""What a stage returns for one answer: named arrays."""


@dataclass
class Answer:
    """One spoken answer to compute features for.

    Args:
        response_id (`str`): Its id (for messages and caching).
        wave (`np.ndarray`, *optional*): 16 kHz mono float32 samples (``None`` for stages that need no audio).
        question_id (`str`, *optional*): The question's id.
        question (`str`, *optional*): The question's text.
        transcript (`str`, *optional*): A given transcript; ``None`` lets the delivery stage use its ASR model.
        source (`str`, *optional*): Where the answer came from (file path), for messages.
    """

    response_id: str
    wave: np.ndarray | None = None
    question_id: str | None = None
    question: str | None = None
    transcript: str | None = None
    source: str = ""

    @property
    def name(self) -> str:
        """``"<response_id> (<file>)"``: how messages name this answer."""
        return (
            f"{self.response_id} ({self.source})"
            if self.source and self.source != self.response_id
            else self.response_id
        )


@dataclass(frozen=True)
class Column:
    """One output array of a stage.

    Args:
        dtype (`str`): numpy dtype of the stored array (``"float16"``, ``"float32"``, ``"uint8"``, ``"str"``).
        width (`int`, *optional*): Size of the last axis of a 2-D array (``None`` for a 1-D array).
        per (`str`): What one row is: ``"frame"``, ``"token"``, ``"word"`` or ``"answer"``.
    """

    dtype: str
    width: int | None
    per: str


def stable_hash(obj: Any, length: int = 12) -> str:
    """A short, stable hex digest of a JSON-serialisable object (cache keys, fingerprints)."""
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:length]


def model_identity(name_or_path: str | None) -> Any:
    """What identifies a model in a cache key: its id, plus names and sizes of its files when it is local."""
    if name_or_path is None:
        return None
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix in {".json", ".safetensors", ".bin", ".txt"}
        )
        return {"path": str(path.resolve()), "files": [(p.name, p.stat().st_size) for p in files]}
    if path.is_file():
        return {"path": str(path.resolve()), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
    return str(name_or_path)


def one_line(error: BaseException) -> str:
    """``"<Type>: <message on one line>"`` for a per-answer problem."""
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def assemble_example(outputs: dict[str, dict[str, np.ndarray]], delivery: bool = True) -> dict[str, Any]:
    """One row of model inputs from the per-answer outputs of the stages (shared by ``asa-prepare`` and the scorer).

    Args:
        outputs: stage name -> that stage's arrays for one answer (``content``, ``delivery``, ``lm``,
            ``language_use``; the question states are stored per question and added by the caller).
        delivery: include ``delivery_features`` (the words are kept either way when the delivery stage ran).

    Returns:
        ``acoustic_features``, ``delivery_features`` (the delivery stage's fields with the LM stage's column, in
        ``DELIVERY_FIELDS`` order), ``language_use_features``, ``relevance_features``, ``words`` and ``transcript``,
        for the stages present.
    """
    example: dict[str, Any] = {}
    if "content" in outputs:
        example["acoustic_features"] = outputs["content"]["acoustic_features"]
    if "delivery" in outputs:
        found = outputs["delivery"]
        example["words"] = [str(w) for w in found["words"]]
        example["transcript"] = str(found["transcript"])
        if delivery:
            lm = outputs["lm"]["lm_log10_prob"] if "lm" in outputs else None
            example["delivery_features"] = delivery_matrix(found["delivery_core"], lm)
    if "language_use" in outputs:
        example["language_use_features"] = outputs["language_use"]["language_use_features"]
    if "relevance" in outputs:
        example["relevance_features"] = outputs["relevance"]["relevance_features"]
    return example


class FeatureStage:
    """Base class of the feature stages (see the module docstring).

    Subclasses set :attr:`name`, :attr:`model_options` and :attr:`version`, and implement :meth:`settings`,
    :meth:`load`, :meth:`compute` and :meth:`columns`.

    Args:
        device (`str`, *optional*): ``cpu``, ``cuda``, ...; ``None`` picks CUDA when available.
        batch_size (`int`, *optional*, defaults to 8): Answers per forward pass of its models.
    """

    name: ClassVar[str] = ""
    model_options: ClassVar[tuple[str, ...]] = ()
    """Settings that name a model (Hub id or local path): cache keys use their file identity, and the scorer lets
    a user override them (``asa-score --<option>``)."""
    uses_audio: ClassVar[bool] = True
    per_question: ClassVar[bool] = False
    """Computed once per question text instead of once per answer (the question states)."""
    version: ClassVar[int] = 1
    """Bumped when the stage's code changes its output (part of the cache key)."""

    def __init__(self, device: str | None = None, batch_size: int = 8) -> None:
        self.device = device
        self.batch_size = batch_size
        self.loaded = False

    @property
    def needs(self) -> tuple[str, ...]:
        """Names of the stages whose outputs :meth:`compute` reads (``inputs[i][name]``)."""
        return ()

    def settings(self) -> dict[str, Any]:
        """Everything that changes this stage's output (JSON-serialisable; the recipe entry and the cache key)."""
        raise NotImplementedError

    def recipe(self) -> dict[str, Any]:
        """The settings plus what loading established (e.g. the spaCy label inventory): the feature recipe entry."""
        return self.settings()

    def cache_key(self, needed_keys: Mapping[str, Any] = ()) -> dict[str, Any]:
        """Settings with each model replaced by its file identity, the stage version and the keys of its needs."""
        key = {k: (model_identity(v) if k in self.model_options else v) for k, v in self.settings().items()}
        return {"stage": self.name, "v": self.version, "settings": key, "needs": dict(needed_keys)}

    def load(self) -> None:
        """Load the stage's models (once; later calls do nothing)."""
        raise NotImplementedError

    def compute(
        self, answers: Sequence[Answer], inputs: Sequence[Mapping[str, StageOutput]]
    ) -> list[StageOutput | str]:
        """Compute a batch: one dict of arrays per answer, or a one-line problem string.

        Args:
            answers: The decoded answers.
            inputs: Per answer, the outputs of the stages in :attr:`needs`.
        """
        raise NotImplementedError

    def columns(self) -> dict[str, Column]:
        """The arrays :meth:`compute` returns per answer (after :meth:`load`)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings()})"


__all__ = [
    "Answer",
    "Column",
    "FeatureStage",
    "StageOutput",
    "assemble_example",
    "model_identity",
    "one_line",
    "stable_hash",
]

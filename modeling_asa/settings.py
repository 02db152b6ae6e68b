# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Settings and option values, written once and importable without torch (the console scripts' ``--help`` reads
their defaults from here in well under a second).

Default models are Hub ids; every model option also takes a local folder (``scripts/setup_offline_models.sh`` makes
the offline ones).
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("content", "delivery", "language_use")
"""The stages a user selects (``--stages``); ``question`` comes with ``content`` and ``lm`` with ``delivery``."""
ACOUSTIC_WINDOWS = ("full", "trimmed")
"""What the Whisper encoders read: 30 s windows (``full``, Whisper's training input) or the answer's own frames."""
ACOUSTIC_LAYERS = ("last", "all")
"""Which Whisper encoder layers the content stage keeps."""
RECOGNIZER_BACKENDS = ("auto", "ctranslate2", "transformers", "ctc")
"""How the recogniser runs (``auto``: CTranslate2 weights when the folder has them, else by the model type)."""
RECOGNIZER_WINDOWS = ("padded", "full")
"""What the recogniser decodes: the answer plus a little silence (``padded``) or whole 30 s windows (``full``)."""
RATER_RULES = ("floor", "round", "ceil")
"""How the mean of several raters' scores becomes a label."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""The ``--log-level`` choices of every command."""


@dataclass
class PrepareSettings:
    """Settings of one ``asa-prepare`` run (each model argument takes a Hub id or a local folder).

    Args:
        acoustic_encoder: Whisper model for the content stage.
        context_encoder: Sentence-BERT model for the question token states.
        ctc_model: monolingual CTC model (alignment, ``mono_posterior``).
        asr_model: multilingual CTC model (``multi_posterior``; the transcript and ASR confidence too when no
            ``recognizer`` runs); ``None`` leaves ``multi_posterior`` undefined.
        recognizer: the ASR model whose words are aligned when no transcript is given (a Whisper folder or Hub id,
            a CTranslate2 Whisper folder, or a CTC model; see `modeling_asa.features.recognition`); ``None``
            transcribes with the greedy CTC path of ``asr_model`` (or ``ctc_model``) as before it existed.
        recognizer_backend, recognizer_window, beam_size, language: how the recogniser decodes (see
            `modeling_asa.features.recognition.Recognizer`).
        spacy_model: spaCy pipeline for the language-use one-hots.
        lm: kenlm ARPA or binary LM; ``None`` leaves ``lm_log10_prob`` undefined.
        label_column, rater_rule, classes: how labels are read (see `modeling_asa.data.load_corpus`).
        aspect_columns: per-aspect label columns scored apart by a model with aspect heads (same classes and
            rater rule as the label).
        unknown_questions, unknown_fraction, group_by, seed: the split (see `modeling_asa.data.assign_splits`);
            a ``split`` column in ``metadata.csv`` wins over them.
        limit: only the first ``limit`` responses (in ``metadata.csv`` order), for trials.
        device: ``cpu``, ``cuda``, ``cuda:1``...; ``None`` picks the accelerator of this process when present.
        batch_size: responses per forward pass.
        stages: the stages to run (``content``, ``delivery``, ``language_use``).
        strict: stop at the first problem (corpus, model loading or response) instead of reporting and going on.
        acoustic_window: ``"full"`` (Whisper encoders read 30 s windows) or ``"trimmed"`` (the answer's own
            frames), for the content stage and the Whisper-encoder aligners.
        acoustic_layers: ``"last"`` (the content stage keeps the Whisper encoder's last layer) or ``"all"`` (every
            layer, for a model that learns their weighted sum; several times the disk).
    """

    acoustic_encoder: str = "openai/whisper-base"
    context_encoder: str = "sentence-transformers/all-MiniLM-L6-v2"
    ctc_model: str = "facebook/wav2vec2-base-960h"
    asr_model: str | None = None
    recognizer: str | None = "openai/whisper-base"
    recognizer_backend: str = "auto"
    recognizer_window: str = "padded"
    beam_size: int = 1
    language: str | None = "en"
    spacy_model: str = "en_core_web_sm"
    lm: str | None = None
    label_column: str | None = None
    aspect_columns: list[str] | None = None
    rater_rule: str = "floor"
    classes: list[int] | None = None
    unknown_questions: list[str] | None = None
    unknown_fraction: float | None = None
    group_by: str | None = None
    seed: int = 0
    limit: int | None = None
    device: str | None = None
    batch_size: int = 8
    stages: tuple[str, ...] = STAGES
    strict: bool = False
    acoustic_window: str = "full"
    acoustic_layers: str = "last"

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stages {unknown}; valid stages are {list(STAGES)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.acoustic_window not in ACOUSTIC_WINDOWS:
            raise ValueError(f"acoustic_window must be one of {list(ACOUSTIC_WINDOWS)}, got {self.acoustic_window!r}")
        if self.acoustic_layers not in ACOUSTIC_LAYERS:
            raise ValueError(f"acoustic_layers must be one of {list(ACOUSTIC_LAYERS)}, got {self.acoustic_layers!r}")


__all__ = [
    "ACOUSTIC_LAYERS",
    "ACOUSTIC_WINDOWS",
    "LOG_LEVELS",
    "RATER_RULES",
    "RECOGNIZER_BACKENDS",
    "RECOGNIZER_WINDOWS",
    "STAGES",
    "PrepareSettings",
]

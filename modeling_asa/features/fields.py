# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The per-word delivery vector's fields: names, definitions and how the delivery and LM stages' outputs join.

A leaf module (numpy only): the stage interface assembles model inputs with :func:`delivery_matrix` without importing
the delivery stage (which imports the aligners, which import the content stage, which imports the stage interface).
"""

from __future__ import annotations

import numpy as np

PROSODY_FIELDS: tuple[str, ...] = (
    "pitch_mean_st",
    "pitch_std_st",
    "pitch_min_st",
    "pitch_max_st",
    "voiced_fraction",
    "intensity_mean_db",
    "intensity_std_db",
    "intensity_max_db",
)
"""Column names of :func:`word_prosody` (see the module docstring for each definition)."""

PROSODY_FIELD_DESCRIPTIONS: dict[str, str] = {
    "pitch_mean_st": "mean F0 over voiced frames, semitones re 100 Hz (0 when unvoiced)",
    "pitch_std_st": "std of F0 over voiced frames, semitones (0 when unvoiced)",
    "pitch_min_st": "min F0 over voiced frames, semitones re 100 Hz (0 when unvoiced)",
    "pitch_max_st": "max F0 over voiced frames, semitones re 100 Hz (0 when unvoiced)",
    "voiced_fraction": "fraction of the word's pitch frames that are voiced",
    "intensity_mean_db": "mean Praat intensity, dB (floored at 0 dB)",
    "intensity_std_db": "std of Praat intensity, dB",
    "intensity_max_db": "max Praat intensity, dB",
}
"""One line per :data:`PROSODY_FIELDS` entry."""

DELIVERY_FIELDS: tuple[str, ...] = (
    "duration_s",
    "silence_after_s",
    *PROSODY_FIELDS,
    "mono_posterior",
    "multi_posterior",
    "lm_log10_prob",
    "asr_confidence",
)
"""Column names of the per-word delivery vector (definitions in the module docstring)."""

DELIVERY_FIELD_DESCRIPTIONS: dict[str, str] = {
    "duration_s": "word duration from the CTC-segmentation alignment (s)",
    "silence_after_s": "gap to the next aligned word's start (s, >= 0); 0 for the last word",
    **PROSODY_FIELD_DESCRIPTIONS,
    "mono_posterior": "forced-path mean token posterior under the monolingual CTC model",
    "multi_posterior": "forced-path mean token posterior under the multilingual CTC model (NaN if none)",
    "lm_log10_prob": "n-gram LM log10 probability of the word given its history (NaN if no LM)",
    "asr_confidence": "mean max-posterior over the word's emitted frames of the ASR (multilingual) model",
}
"""One line per :data:`DELIVERY_FIELDS` entry."""


LM_FIELD = DELIVERY_FIELDS.index("lm_log10_prob")
CORE_FIELDS: tuple[str, ...] = tuple(f for f in DELIVERY_FIELDS if f != "lm_log10_prob")
"""The delivery fields the delivery stage computes (all but ``lm_log10_prob``, which the LM stage computes)."""


def delivery_matrix(core: np.ndarray, lm_scores: np.ndarray | None = None) -> np.ndarray:
    """The per-word delivery vector in :data:`DELIVERY_FIELDS` order, from the two stages that compute it.

    Args:
        core: ``(n_words, len(CORE_FIELDS))`` from the delivery stage.
        lm_scores: ``(n_words,)`` from the LM stage, or ``None`` (no LM: the column is ``NaN``).

    Returns:
        Float32 ``(n_words, len(DELIVERY_FIELDS))``.
    """
    core = np.asarray(core, dtype=np.float32)
    column = (
        np.full(core.shape[0], np.nan, dtype=np.float32)
        if lm_scores is None
        else np.asarray(lm_scores, dtype=np.float32).reshape(-1)
    )
    if column.shape[0] != core.shape[0]:
        raise ValueError(f"delivery_matrix: {column.shape[0]} LM scores for {core.shape[0]} words")
    return np.insert(core, LM_FIELD, column, axis=1)


__all__ = [
    "CORE_FIELDS",
    "DELIVERY_FIELDS",
    "DELIVERY_FIELD_DESCRIPTIONS",
    "LM_FIELD",
    "PROSODY_FIELDS",
    "PROSODY_FIELD_DESCRIPTIONS",
    "delivery_matrix",
]

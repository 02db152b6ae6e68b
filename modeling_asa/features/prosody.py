# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Per-word prosody (pitch and intensity) with Praat, through ``praat-parselmouth``.

One Praat ``Pitch`` (autocorrelation, 10 ms step, 75-600 Hz) and one ``Intensity`` object
(minimum pitch 100 Hz, 10 ms step) are computed per wave; each word then summarises the frames
whose centre lies in ``[start, end]`` (the frame nearest the word's midpoint when the word is
shorter than one frame). The fields, in column order, are :data:`PROSODY_FIELDS`:

=====================  ========================================================================
``pitch_mean_st``      mean F0 of the word's voiced frames, semitones re 100 Hz (``12 log2(f0/100)``)
``pitch_std_st``       standard deviation of F0 over voiced frames, semitones
``pitch_min_st``       minimum F0 over voiced frames, semitones re 100 Hz
``pitch_max_st``       maximum F0 over voiced frames, semitones re 100 Hz
``voiced_fraction``    fraction of the word's pitch frames that are voiced, in ``[0, 1]``
``intensity_mean_db``  mean intensity, dB (Praat, re 2e-5 with the wave taken as Pa)
``intensity_std_db``   standard deviation of intensity, dB
``intensity_max_db``   maximum intensity, dB
=====================  ========================================================================

NaN safety: a word with no voiced frame gets ``0`` for the four pitch fields and
``voiced_fraction = 0`` (so the model sees "unvoiced", not a missing value). Intensity values are
floored at 0 dB (digital silence is -300 dB in Praat). An unaligned word (``NaN`` times) gets a
row of ``NaN``.

Example:
    >>> import numpy as np
    >>> from modeling_asa.features.alignment import WordSegment
    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> wave = (0.1 * np.sin(2 * np.pi * 200 * t) * (t < 0.5)).astype(np.float32)
    >>> feats = word_prosody(wave, sr, [WordSegment("a", 0.1, 0.4, 0.0), WordSegment("b", 0.6, 0.9, 0.0)])
    >>> round(100 * 2 ** (float(feats[0, 0]) / 12)), float(feats[1, PROSODY_FIELDS.index("voiced_fraction")])
    (200, 0.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from .alignment import WordSegment
from .fields import PROSODY_FIELD_DESCRIPTIONS, PROSODY_FIELDS

logger = logging.getLogger(__name__)

PITCH_FLOOR_HZ = 75.0
"""Praat pitch floor (Hz)."""
PITCH_CEILING_HZ = 600.0
"""Praat pitch ceiling (Hz)."""
TIME_STEP_S = 0.01
"""Analysis step (s) of both the pitch and the intensity contours."""
INTENSITY_MIN_PITCH_HZ = 100.0
"""Praat ``To Intensity`` minimum pitch (Hz); the wave must last at least ``6.4 / 100`` s."""
INTENSITY_FLOOR_DB = 0.0
"""Lower bound applied to intensity values (dB)."""


class ProsodyError(ValueError):
    """A wave Praat cannot analyse (one-line message)."""


def _frames_in(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """Indices of analysis frames whose centre is in ``[start, end]`` (nearest to the midpoint if none)."""
    idx = np.flatnonzero((times >= start) & (times <= end))
    if idx.size == 0 and times.size:
        idx = np.array([int(np.argmin(np.abs(times - 0.5 * (start + end))))])
    return idx


def pitch_intensity_contours(wave: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Praat F0 and intensity contours of a whole wave.

    Args:
        wave: 1-D waveform (float, nominally in ``[-1, 1]``).
        sr: Sample rate in Hz.

    Returns:
        ``(pitch_times, f0_hz, intensity_times, intensity_db)``; ``f0_hz`` is 0 for unvoiced
        frames, ``intensity_db`` is floored at :data:`INTENSITY_FLOOR_DB`.

    Raises:
        ProsodyError: When the wave is empty, not 1-D, or too short for Praat.
    """
    import parselmouth

    data = np.asarray(wave, dtype=np.float64)
    if data.ndim != 1 or data.size == 0:
        raise ProsodyError(f"word_prosody: expected a non-empty 1-D wave, got shape {data.shape}")
    data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    try:
        sound = parselmouth.Sound(data, sampling_frequency=float(sr))
        pitch = sound.to_pitch(
            time_step=TIME_STEP_S,
            pitch_floor=PITCH_FLOOR_HZ,
            pitch_ceiling=PITCH_CEILING_HZ,
        )
        intensity = sound.to_intensity(minimum_pitch=INTENSITY_MIN_PITCH_HZ, time_step=TIME_STEP_S)
    except parselmouth.PraatError as exc:
        first = " ".join(str(exc).split())[:200]
        raise ProsodyError(f"word_prosody: Praat cannot analyse a {data.size / sr:.3f} s wave ({first})") from exc
    f0 = np.nan_to_num(pitch.selected_array["frequency"].astype(np.float64), nan=0.0)
    db = np.maximum(np.asarray(intensity.values, dtype=np.float64)[0], INTENSITY_FLOOR_DB)
    return np.asarray(pitch.xs()), f0, np.asarray(intensity.xs()), db


def word_prosody(wave: np.ndarray, sr: int, segments: Sequence[WordSegment]) -> np.ndarray:
    """Per-word pitch and intensity statistics (:data:`PROSODY_FIELDS`).

    Args:
        wave: 1-D waveform of the whole answer.
        sr: Sample rate in Hz.
        segments: Word segments in seconds (from :func:`~modeling_asa.features.alignment.align_words`).

    Returns:
        Float32 array ``(n_words, len(PROSODY_FIELDS))``; ``NaN`` rows for unaligned words.

    Raises:
        ProsodyError: When Praat cannot analyse the wave (empty, shorter than 64 ms).
    """
    out = np.full((len(segments), len(PROSODY_FIELDS)), np.nan, dtype=np.float32)
    if not segments:
        return out
    p_times, f0, i_times, db = pitch_intensity_contours(wave, sr)
    for k, seg in enumerate(segments):
        if not (math.isfinite(seg.start) and math.isfinite(seg.end)):
            continue
        row = out[k]
        p_idx = _frames_in(p_times, seg.start, seg.end)
        voiced = f0[p_idx]
        voiced = voiced[voiced > 0]
        row[4] = voiced.size / p_idx.size if p_idx.size else 0.0
        if voiced.size:
            st = 12.0 * np.log2(voiced / 100.0)
            row[0:4] = (st.mean(), st.std(), st.min(), st.max())
        else:
            row[0:4] = 0.0
        i_idx = _frames_in(i_times, seg.start, seg.end)
        if i_idx.size:
            vals = db[i_idx]
            row[5:8] = (vals.mean(), vals.std(), vals.max())
    return out


__all__ = [
    "INTENSITY_FLOOR_DB",
    "INTENSITY_MIN_PITCH_HZ",
    "PITCH_CEILING_HZ",
    "PITCH_FLOOR_HZ",
    "PROSODY_FIELDS",
    "PROSODY_FIELD_DESCRIPTIONS",
    "TIME_STEP_S",
    "ProsodyError",
    "pitch_intensity_contours",
    "word_prosody",
]

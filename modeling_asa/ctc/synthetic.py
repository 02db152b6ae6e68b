# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Speech with exactly known word timings, from ``espeak-ng``, to measure word-boundary errors of an aligner.

Each word is synthesised on its own (``espeak-ng --stdout``), resampled to 16 kHz and trimmed to where its
amplitude first and last exceeds 1 % of its peak; the words are then concatenated with random pauses, so the
start and end of every word in the result are known to the sample. ``espeak-ng`` is a system program
(``apt-get install espeak-ng``); :func:`espeak_available` says whether it is installed.

Example:
    >>> import numpy as np
    >>> if espeak_available():  # doctest: +SKIP
    ...     utt = synthesize_utterance(["good", "morning"], np.random.default_rng(0))
    ...     [(w, round(s, 2)) for w, s in zip(utt.words, utt.starts)]
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

SAMPLING_RATE = 16000
"""Output sampling rate (Hz)."""


class SynthesisError(RuntimeError):
    """``espeak-ng`` is missing or failed (one-line message naming the word)."""


@dataclass
class SyntheticUtterance:
    """A concatenation of separately synthesised words.

    Attributes:
        wave: Float32 mono waveform at 16 kHz.
        words: The words, in order.
        starts: Start time of each word in seconds (exact, to the sample).
        ends: End time of each word in seconds.
    """

    wave: np.ndarray
    words: list[str]
    starts: list[float]
    ends: list[float]


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the ``PATH``."""
    return shutil.which("espeak-ng") is not None


def trim_silence(wave: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut leading and trailing samples whose magnitude is at most ``threshold`` times the peak.

    Args:
        wave: 1-D waveform.
        threshold: Fraction of the peak magnitude (0.01 = -40 dB).

    Returns:
        The trimmed waveform (empty when ``wave`` is silent).

    Example:
        >>> trim_silence(np.array([0.0, 0.001, 0.5, -1.0, 0.2, 0.0])).tolist()
        [0.5, -1.0, 0.2]
    """
    magnitude = np.abs(wave)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak == 0.0:
        return wave[:0]
    loud = np.flatnonzero(magnitude > threshold * peak)
    return wave[loud[0] : loud[-1] + 1]


@functools.lru_cache(maxsize=4096)
def _synthesize_cached(word: str, voice: str, speed: int) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    if not espeak_available():
        raise SynthesisError("espeak-ng is not installed (apt-get install espeak-ng)")
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", word], capture_output=True, check=False
    )
    if result.returncode != 0 or not result.stdout:
        raise SynthesisError(f"espeak-ng failed on {word!r}: {result.stderr.decode(errors='replace').strip()[:200]}")
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if rate != SAMPLING_RATE:
        divisor = np.gcd(int(rate), SAMPLING_RATE)
        samples = resample_poly(samples, SAMPLING_RATE // divisor, int(rate) // divisor).astype(np.float32)
    trimmed = trim_silence(samples)
    if trimmed.size == 0:
        raise SynthesisError(f"espeak-ng produced silence for {word!r}")
    return trimmed


def synthesize_word(word: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """Synthesise one word with ``espeak-ng``, at 16 kHz, trimmed (see :func:`trim_silence`).

    Args:
        word: The word.
        voice: ``espeak-ng`` voice.
        speed: Words per minute.

    Returns:
        Float32 waveform (a copy; results are cached per word, voice and speed).

    Raises:
        SynthesisError: When ``espeak-ng`` is missing, fails, or returns silence.
    """
    return _synthesize_cached(word, voice, int(speed)).copy()


def synthesize_utterance(
    words: list[str],
    rng: np.random.Generator,
    gap_range: tuple[float, float] = (0.05, 0.4),
    edge: float = 0.3,
    noise_std: float = 0.002,
    voice: str = "en-us",
    speed: int = 160,
) -> SyntheticUtterance:
    """Concatenate separately synthesised words with random pauses; the word timings are exact.

    Args:
        words: Words to say.
        rng: Random generator (pause lengths and noise).
        gap_range: Pause between two words, uniform in this range (seconds).
        edge: Silence before the first and after the last word (seconds).
        noise_std: Standard deviation of white noise added everywhere (0.002 is about -54 dBFS), so pauses
            are not digital silence.
        voice: ``espeak-ng`` voice.
        speed: Words per minute.

    Returns:
        A :class:`SyntheticUtterance`.

    Raises:
        SynthesisError: When a word cannot be synthesised.
        ValueError: On an empty word list or a bad gap range.
    """
    if not words:
        raise ValueError("synthesize_utterance: no words")
    low, high = gap_range
    if not 0 <= low <= high:
        raise ValueError(f"synthesize_utterance: bad gap_range {gap_range}")
    pieces = [np.zeros(round(edge * SAMPLING_RATE), dtype=np.float32)]
    position = pieces[0].shape[0]
    starts, ends = [], []
    for k, word in enumerate(words):
        if k:
            gap = np.zeros(round(rng.uniform(low, high) * SAMPLING_RATE), dtype=np.float32)
            pieces.append(gap)
            position += gap.shape[0]
        audio = synthesize_word(word, voice=voice, speed=speed)
        starts.append(position / SAMPLING_RATE)
        pieces.append(audio)
        position += audio.shape[0]
        ends.append(position / SAMPLING_RATE)
    pieces.append(np.zeros(round(edge * SAMPLING_RATE), dtype=np.float32))
    wave = np.concatenate(pieces)
    peak = float(np.abs(wave).max())
    if peak > 0:
        wave = wave * (0.5 / peak)
    if noise_std > 0:
        wave = wave + rng.normal(0.0, noise_std, size=wave.shape[0]).astype(np.float32)
    return SyntheticUtterance(wave.astype(np.float32), list(words), starts, ends)


__all__ = [
    "SAMPLING_RATE",
    "SynthesisError",
    "SyntheticUtterance",
    "espeak_available",
    "synthesize_utterance",
    "synthesize_word",
    "trim_silence",
]

"""Tests for modeling_asa.audio: decoding, mono mixing, resampling and error messages."""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from modeling_asa.audio import (
    TARGET_SAMPLE_RATE,
    AudioError,
    audio_duration,
    audio_problem,
    decode_audio_bytes,
    load_audio,
    load_audio_example,
    to_mono_16k,
)

TONE_HZ = 440.0  # conftest.tiny_audio_dir["tone"]
STEREO_TONE_HZ = 1000.0  # conftest.tiny_audio_dir["stereo_44k"]


def _peak_hz(wave: np.ndarray, sample_rate: int) -> float:
    """Frequency of the largest FFT bin."""
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1.0 / sample_rate)[np.argmax(spectrum)])


def test_target_sample_rate_is_16k():
    assert TARGET_SAMPLE_RATE == 16000
    assert issubclass(AudioError, ValueError)


def test_load_16k_mono_unchanged(tiny_audio_dir):
    path = tiny_audio_dir["tone"]
    wave = load_audio(path)
    reference, sr = sf.read(path, dtype="float32")
    assert sr == 16000
    assert wave.dtype == np.float32 and wave.ndim == 1
    np.testing.assert_allclose(wave, reference, atol=1e-6)
    assert abs(_peak_hz(wave, 16000) - TONE_HZ) < 3.0


def test_stereo_44k_to_16k_mono(tiny_audio_dir):
    path = tiny_audio_dir["stereo_44k"]
    raw, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == 44100 and raw.shape[1] == 2
    wave = load_audio(path)
    # 44100 -> 16000 is up 160 / down 441 after gcd reduction: length ceil(44100 * 160 / 441).
    assert wave.shape == (math.ceil(raw.shape[0] * 160 / 441),) == (16000,)
    assert wave.dtype == np.float32
    assert abs(_peak_hz(wave, 16000) - STEREO_TONE_HZ) < 2.0
    # The tone is on the left channel only: the mono mix halves its amplitude (0.5 -> 0.25).
    middle = wave[2000:-2000]
    assert np.max(np.abs(middle)) == pytest.approx(0.25, abs=0.01)
    expected = resample_poly(raw.mean(axis=1).astype(np.float64), 160, 441).astype(np.float32)
    np.testing.assert_allclose(wave, expected, atol=1e-6)


def test_22k_noise_resampled_length(tiny_audio_dir):
    wave = load_audio(tiny_audio_dir["noise"])
    assert wave.shape == (math.ceil(11025 * 320 / 441),)  # 22050 -> 16000: up 320, down 441
    assert np.isfinite(wave).all()


def test_other_target_rate(tiny_audio_dir):
    wave = load_audio(tiny_audio_dir["stereo_44k"], target_sr=8000)
    assert wave.shape == (8000,)
    assert abs(_peak_hz(wave, 8000) - STEREO_TONE_HZ) < 2.0


def test_silence_loads_as_zeros(tiny_audio_dir):
    wave = load_audio(tiny_audio_dir["silence"])
    assert wave.shape == (8000,)
    assert not wave.any()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("missing", "audio file not found"),
        ("empty", r"audio file is empty \(0 bytes\)"),
        ("corrupt", r"unreadable audio \("),
        ("short", r"audio too short \(0\.050 s < 0\.1 s\)"),
        ("nan", r"audio contains no finite samples \(all NaN/inf\)"),
    ],
)
def test_load_audio_errors(tiny_audio_dir, key, problem):
    path = tiny_audio_dir[key]
    with pytest.raises(AudioError, match="^" + re.escape(str(path)) + ": " + problem) as info:
        load_audio(path)
    assert "\n" not in str(info.value)


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(AudioError, match=re.escape(str(tmp_path)) + ": not a regular file"):
        load_audio(tmp_path)


def test_min_duration_is_configurable(tiny_audio_dir):
    wave = load_audio(tiny_audio_dir["short"], min_duration=0.01)
    assert wave.shape == (800,)


def test_partial_nan_replaced_with_warning(tmp_path, caplog):
    data = np.full(4000, 0.1, dtype=np.float32)
    data[100:110] = np.nan
    data[200] = np.inf
    path = tmp_path / "partial_nan.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="modeling_asa.audio"):
        wave = load_audio(path)
    assert np.isfinite(wave).all()
    assert wave[105] == 0.0 and wave[200] == 0.0 and wave[0] == pytest.approx(0.1)
    assert "replacing 11 non-finite samples" in caplog.text


def test_decode_bytes_matches_file(tiny_audio_dir):
    path = tiny_audio_dir["stereo_44k"]
    from_bytes = decode_audio_bytes(path.read_bytes())
    np.testing.assert_array_equal(from_bytes, load_audio(path))
    with pytest.raises(AudioError, match=r"^<bytes>: audio data is empty \(0 bytes\)"):
        decode_audio_bytes(b"")
    with pytest.raises(AudioError, match=r"^clip\.wav: unreadable audio"):
        decode_audio_bytes(tiny_audio_dir["corrupt"].read_bytes(), name="clip.wav")


def test_load_audio_example_variants(tiny_audio_dir):
    path = tiny_audio_dir["tone"]
    expected = load_audio(path)
    np.testing.assert_array_equal(load_audio_example({"path": str(path), "bytes": None}), expected)
    np.testing.assert_array_equal(load_audio_example({"path": "ignored.wav", "bytes": path.read_bytes()}), expected)
    np.testing.assert_array_equal(load_audio_example(str(path)), expected)
    array = load_audio_example({"array": np.ones(22050, dtype=np.float32), "sampling_rate": 22050})
    assert array.shape == (16000,)
    with pytest.raises(AudioError, match="neither bytes nor a path"):
        load_audio_example({"path": None, "bytes": None})


def test_to_mono_rejects_bad_shapes():
    with pytest.raises(AudioError, match=r"^x: expected 1-D or 2-D samples, got shape \(2, 2, 2\)"):
        to_mono_16k(np.zeros((2, 2, 2)), 16000, name="x")
    with pytest.raises(AudioError, match=r"^x: invalid sample rate 0"):
        to_mono_16k(np.zeros(100), 0, name="x")


def test_audio_duration_and_problem(tiny_audio_dir):
    assert audio_duration(tiny_audio_dir["stereo_44k"]) == pytest.approx(1.0)
    assert audio_duration(tiny_audio_dir["noise"]) == pytest.approx(0.5)
    with pytest.raises(AudioError, match=re.escape(str(tiny_audio_dir["corrupt"])) + ": unreadable audio"):
        audio_duration(tiny_audio_dir["corrupt"])
    assert audio_problem(tiny_audio_dir["tone"], min_duration=0.1) is None
    assert audio_problem(tiny_audio_dir["missing"]) == "audio file not found"
    assert audio_problem(tiny_audio_dir["empty"]) == "audio file is empty (0 bytes)"
    assert audio_problem(tiny_audio_dir["corrupt"]).startswith("unreadable audio (")
    assert audio_problem(tiny_audio_dir["short"], min_duration=0.1) == "audio too short (0.050 s < 0.1 s)"
    header_only = tiny_audio_dir["tone"].parent / "header_only.wav"
    sf.write(header_only, np.zeros(0, dtype=np.float32), 16000)
    assert audio_problem(header_only) == "audio has no samples"


@pytest.mark.parametrize("suffix,rate", [(".webm", 48000), (".m4a", 44100), (".mp4", 22050)])
def test_browser_and_phone_formats_decode(tmp_path, suffix, rate):
    """WebM/Opus (browsers), M4A/AAC (phones) and MP4 audio decode through PyAV like a WAV does."""
    from tiny_models import write_compressed_audio

    t = np.arange(2 * rate) / rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t)
    path = write_compressed_audio(tmp_path / f"answer{suffix}", wave, rate)
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and abs(len(decoded) / TARGET_SAMPLE_RATE - 2.0) < 0.1
    # the tone survives the lossy codec: its level (RMS of 0.3 * sine = 0.21) within 20%
    assert 0.17 < float(np.sqrt(np.mean(decoded[4000:-4000] ** 2))) < 0.26
    assert abs(audio_duration(path) - 2.0) < 0.1 and audio_problem(path) is None
    assert len(decode_audio_bytes(path.read_bytes(), name=path.name)) == len(decoded)


def test_unreadable_container_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "answer.webm"
    bad.write_bytes(b"not a webm file" * 8)
    with pytest.raises(AudioError) as caught:
        load_audio(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: unreadable audio") and "\n" not in message and message.count(str(bad)) == 1
    assert audio_problem(bad).startswith("unreadable audio")

"""Audio I/O for modeling_asa: decode any answer recording into 16 kHz mono float32.

Every feature stage (Whisper content states, CTC alignment, prosody) reads audio through
:func:`load_audio`, so training, ``asa-prepare`` and ``AsaScorer`` see exactly the same samples.
Decoding uses ``soundfile`` (libsndfile: WAV, FLAC, OGG/Vorbis, MP3, AIFF, ...) and, for what browsers and
phones record (WebM/Opus, M4A/AAC, MP4 audio, ...), PyAV (FFmpeg's decoders in the wheel: no system ffmpeg
needed); stereo is averaged
to mono and other sample rates are resampled with :func:`scipy.signal.resample_poly` using
gcd-reduced up/down factors (e.g. 44.1 kHz -> 16 kHz is up 160, down 441).

``datasets.Audio`` decoding needs ``torchcodec``; the corpus keeps ``Audio(decode=False)`` columns
(``{"path", "bytes"}``) and decodes them here instead (see :func:`load_audio_example`).

Every problem raises :class:`AudioError` with a one-line message ``"<path>: <problem>"``.

Example:
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> sf.write(path, np.zeros((44100, 2), dtype="float32") + 0.1, 44100)
    >>> wav = load_audio(path)
    >>> wav.dtype, wav.shape
    (dtype('float32'), (16000,))
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

logger = logging.getLogger(__name__)

TARGET_SAMPLE_RATE = 16000
"""Sample rate (Hz) of every waveform the feature stages consume."""
SILENCE_PEAK = 1e-3
"""An answer whose peak amplitude is below this (-60 dBFS) holds no speech."""
SILENCE_RMS = 1e-4
"""An answer whose RMS level is below this (-80 dBFS) holds no speech (e.g. a lone click in silence)."""
LONG_ANSWER_S = 30.0
"""Answers longer than this are accepted (the encoders cut them into 30 s windows) and counted as long."""

_READ_ERRORS = (sf.SoundFileError, RuntimeError, OSError, ValueError, TypeError, EOFError)

CONTAINER_FORMATS = (".webm", ".weba", ".m4a", ".mp4", ".aac", ".opus", ".mka", ".mkv", ".3gp", ".wma", ".amr")
"""Extensions decoded through PyAV (besides every format soundfile reads)."""


class AudioError(ValueError):
    """An audio file or buffer that cannot be used: missing, empty, corrupt, too short or non-finite.

    The message is one line, ``"<path>: <problem>"``.
    """


def _one_line(error: BaseException) -> str:
    """Collapse an exception message into a single line."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _check_file(path: str | os.PathLike) -> str:
    """Check that ``path`` is an existing, non-empty regular file.

    Args:
        path: Audio file path.

    Returns:
        ``str(path)``.

    Raises:
        AudioError: When the file is missing, is not a regular file, or has 0 bytes.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise AudioError(f"{name}: audio file not found")
    if not os.path.isfile(name):
        raise AudioError(f"{name}: not a regular file")
    if os.path.getsize(name) == 0:
        raise AudioError(f"{name}: audio file is empty (0 bytes)")
    return name


def to_mono_16k(
    samples: np.ndarray,
    sample_rate: int,
    target_sr: int = TARGET_SAMPLE_RATE,
    min_duration: float = 0.1,
    name: str = "<array>",
) -> np.ndarray:
    """Turn decoded samples into a finite float32 mono waveform at ``target_sr``.

    Args:
        samples: Array of shape ``(frames,)`` or ``(frames, channels)``.
        sample_rate: Sample rate of ``samples`` in Hz.
        target_sr: Output sample rate in Hz.
        min_duration: Minimum duration in seconds; shorter input raises.
        name: Name used in error messages (the file path).

    Returns:
        Float32 array of shape ``(ceil(frames * up / down),)`` where ``up / down`` is the
        gcd-reduced ``target_sr / sample_rate`` (the :func:`scipy.signal.resample_poly` length).

    Raises:
        AudioError: When the audio is too short or contains no finite sample.
    """
    if sample_rate <= 0 or target_sr <= 0:
        raise AudioError(f"{name}: invalid sample rate {sample_rate} -> {target_sr}")
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 2:
        data = data.mean(axis=1)
    elif data.ndim != 1:
        raise AudioError(f"{name}: expected 1-D or 2-D samples, got shape {tuple(data.shape)}")
    duration = data.shape[0] / sample_rate
    if data.shape[0] == 0 or duration < min_duration:
        raise AudioError(f"{name}: audio too short ({duration:.3f} s < {min_duration:g} s)")
    finite = np.isfinite(data)
    if not finite.any():
        raise AudioError(f"{name}: audio contains no finite samples (all NaN/inf)")
    if not finite.all():
        logger.warning("%s: replacing %d non-finite samples with 0", name, int((~finite).sum()))
        data = np.where(finite, data, 0.0)
    if sample_rate != target_sr:
        g = math.gcd(int(sample_rate), int(target_sr))
        data = resample_poly(data, int(target_sr) // g, int(sample_rate) // g)
    return np.ascontiguousarray(data, dtype=np.float32)


class _AvInfo:
    """The header fields of :func:`audio_info` for a file PyAV reads (soundfile's ``info`` shape)."""

    def __init__(self, samplerate: int, channels: int, frames: int, format: str, subtype: str):
        self.samplerate, self.channels, self.frames = samplerate, channels, frames
        self.duration = frames / samplerate if samplerate > 0 else 0.0
        self.format, self.subtype = format, subtype


def _av_stream(container: Any, name: str) -> Any:
    stream = next((s for s in container.streams if s.type == "audio"), None)
    if stream is None:
        raise AudioError(f"{name}: no audio stream in the file")
    return stream


def _av_read(source: str | io.BytesIO, name: str) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of ``source`` with PyAV: ``(samples (frames, 1) float32, sample rate)``.

    Channels are mixed to mono by FFmpeg's resampler at the stream's own rate (our resampling follows).
    """
    try:
        import av
    except ImportError as error:
        raise AudioError(f"{name}: unreadable audio (this format needs PyAV: pip install av)") from error
    try:
        with av.open(source) as container:
            stream = _av_stream(container, name)
            rate = int(stream.codec_context.sample_rate or 0)
            if rate <= 0:
                raise AudioError(f"{name}: invalid sample rate {rate}")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = []
            for frame in container.decode(stream):
                chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except AudioError:
        raise
    except (av.FFmpegError, *_READ_ERRORS) as error:
        raise AudioError(f"{name}: unreadable audio ({_av_message(error, name)})") from error
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return samples[:, None], rate


def _av_info(name: str) -> _AvInfo:
    import av  # ImportError: the caller reports soundfile's message

    try:
        with av.open(name) as container:
            stream = _av_stream(container, name)
            rate = int(stream.codec_context.sample_rate or 0)
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = float(container.duration or 0) / av.time_base
            codec = stream.codec_context.name
            return _AvInfo(rate, int(stream.codec_context.channels or 1), round(seconds * rate),
                           container.format.name, codec)  # fmt: skip
    except AudioError:
        raise
    except (av.FFmpegError, *_READ_ERRORS) as error:
        raise AudioError(f"{name}: unreadable audio ({_av_message(error, name)})") from error


def _av_message(error: BaseException, name: str) -> str:
    """FFmpeg's message without its error number and the file name (the line starts with the name already)."""
    text = getattr(error, "strerror", None) or _one_line(error)
    return _one_line(text.replace(f": '{name}'", ""))


def _read(source: str | bytes, name: str) -> tuple[np.ndarray, int]:
    """soundfile first (exact, fast), then PyAV for the containers libsndfile does not read."""
    try:
        return sf.read(source if isinstance(source, str) else io.BytesIO(source), dtype="float32", always_2d=True)
    except _READ_ERRORS as error:
        try:
            return _av_read(source if isinstance(source, str) else io.BytesIO(source), name)
        except AudioError as av_error:
            if "needs PyAV" in str(av_error) or isinstance(source, bytes) or not _is_container(name):
                raise AudioError(f"{name}: unreadable audio ({_one_line(error)})") from error
            raise


def _is_container(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in CONTAINER_FORMATS


def load_audio(
    path: str | os.PathLike,
    target_sr: int = TARGET_SAMPLE_RATE,
    min_duration: float = 0.1,
) -> np.ndarray:
    """Decode an audio file into a float32 mono waveform at ``target_sr``.

    Args:
        path: Any file soundfile reads (WAV, FLAC, OGG, MP3, ...) or PyAV reads (WebM/Opus, M4A/AAC, MP4, ...),
            any sample rate, mono or multi-channel (channels are averaged).
        target_sr: Output sample rate in Hz (default 16000).
        min_duration: Minimum duration in seconds (before resampling); shorter audio raises.

    Returns:
        1-D float32 array.

    Raises:
        AudioError: ``"<path>: <problem>"`` for a missing, 0-byte, unreadable/corrupt, too short
            or all-NaN/inf file.

    Example:
        >>> wav = load_audio("corpus/audio/S01_01.flac")  # doctest: +SKIP
    """
    name = _check_file(path)
    samples, sample_rate = _read(name, name)
    return to_mono_16k(samples, sample_rate, target_sr=target_sr, min_duration=min_duration, name=name)


def decode_audio_bytes(
    data: bytes,
    target_sr: int = TARGET_SAMPLE_RATE,
    min_duration: float = 0.1,
    name: str = "<bytes>",
) -> np.ndarray:
    """Decode an in-memory encoded audio file (e.g. WAV/FLAC bytes) like :func:`load_audio`.

    Args:
        data: The encoded file's bytes.
        target_sr: Output sample rate in Hz.
        min_duration: Minimum duration in seconds.
        name: Name used in error messages.

    Returns:
        1-D float32 array.

    Raises:
        AudioError: For empty, undecodable, too short or all-NaN/inf data.
    """
    if not data:
        raise AudioError(f"{name}: audio data is empty (0 bytes)")
    samples, sample_rate = _read(bytes(data), name)
    return to_mono_16k(samples, sample_rate, target_sr=target_sr, min_duration=min_duration, name=name)


def load_audio_example(
    example: str | os.PathLike | Mapping[str, Any],
    target_sr: int = TARGET_SAMPLE_RATE,
    min_duration: float = 0.1,
) -> np.ndarray:
    """Decode the value of an ``Audio(decode=False)`` column (``{"path", "bytes"}``) or a path.

    Args:
        example: A path, or a mapping with ``"bytes"`` (used when not None) and/or ``"path"``.
            A mapping with ``"array"`` and ``"sampling_rate"`` (a decoded example) is converted too.
        target_sr: Output sample rate in Hz.
        min_duration: Minimum duration in seconds.

    Returns:
        1-D float32 array.

    Raises:
        AudioError: As :func:`load_audio`, or when the mapping holds neither bytes nor a path.
    """
    if isinstance(example, (str, os.PathLike)):
        return load_audio(example, target_sr=target_sr, min_duration=min_duration)
    if "array" in example and "sampling_rate" in example:
        return to_mono_16k(
            np.asarray(example["array"]),
            int(example["sampling_rate"]),
            target_sr=target_sr,
            min_duration=min_duration,
            name=str(example.get("path") or "<array>"),
        )
    if example.get("bytes"):
        return decode_audio_bytes(
            example["bytes"], target_sr=target_sr, min_duration=min_duration, name=str(example.get("path") or "<bytes>")
        )
    if example.get("path"):
        return load_audio(example["path"], target_sr=target_sr, min_duration=min_duration)
    raise AudioError("<audio>: audio example holds neither bytes nor a path")


def _wav_truncation(path: str | os.PathLike) -> str | None:
    """For a RIFF/WAVE file whose ``data`` chunk declares more bytes than the file holds: the problem, else None.

    libsndfile silently reads such a file as a shorter one, so the header is parsed here. Streaming WAVs that
    declare an unknown length (0 or 0xFFFFFFFF) are not judged.
    """
    import struct

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = 0
            while True:
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"fmt ":
                    fmt = handle.read(length)
                    block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else 0
                    handle.seek(length % 2, os.SEEK_CUR)
                elif name == b"data":
                    if length in (0, 0xFFFFFFFF) or not block_align:
                        return None
                    available = size - handle.tell()
                    if length > available:
                        rate = struct.unpack("<I", fmt[4:8])[0] if len(fmt) >= 8 else 0
                        declared, held = (
                            f"{n / block_align / rate:.2f} s" if rate else f"{n} bytes"
                            for n in (length, max(available, 0))
                        )
                        return f"truncated file: the header declares {declared} of audio, the file holds {held}"
                    return None
                else:
                    handle.seek(length + length % 2, os.SEEK_CUR)
    except (OSError, struct.error):
        return None


def speech_problem(wave: np.ndarray) -> str | None:
    """Why a decoded answer holds no speech (peak below :data:`SILENCE_PEAK` or RMS below :data:`SILENCE_RMS`)."""
    wave = np.asarray(wave, dtype=np.float32)
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) if wave.size else 0.0
    if peak < SILENCE_PEAK or rms < SILENCE_RMS:
        return (f"no speech: the recording is silent (peak {peak:.1e}, RMS {rms:.1e}; thresholds {SILENCE_PEAK:g} "
                f"and {SILENCE_RMS:g})")  # fmt: skip
    return None


def load_answer_audio(source: str | os.PathLike | Mapping[str, Any]) -> np.ndarray:
    """Decode a spoken answer for the feature stages, as ``asa-prepare`` and the scorer both do.

    :func:`load_audio_example`, plus the checks that keep bad answers out of training and scoring: a truncated WAV
    (header longer than the data) and a recording with no speech (:func:`speech_problem`) raise.

    Raises:
        AudioError: ``"<file>: <problem>"``.
    """
    if isinstance(source, (str, os.PathLike)):
        truncated = _wav_truncation(source)
        if truncated:
            raise AudioError(f"{os.fspath(source)}: {truncated}")
    wave = load_audio_example(source)
    problem = speech_problem(wave)
    if problem:
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(source.get("path") or "<array>")
        raise AudioError(f"{name}: {problem}")
    return wave


def audio_info(path: str | os.PathLike) -> Any:
    """Read an audio file's header (no decoding) with :func:`soundfile.info`, or PyAV for its containers.

    Args:
        path: Audio file path.

    Returns:
        The ``soundfile`` info object (``samplerate``, ``channels``, ``frames``, ``duration``,
        ``format``, ``subtype``).

    Raises:
        AudioError: For a missing, 0-byte or unreadable file.
    """
    name = _check_file(path)
    try:
        return sf.info(name)
    except _READ_ERRORS as error:
        if _is_container(name):
            try:
                return _av_info(name)
            except ImportError:
                pass
        raise AudioError(f"{name}: unreadable audio ({_one_line(error)})") from error


def audio_duration(path: str | os.PathLike) -> float:
    """Duration of an audio file in seconds, from its header (no decoding).

    Args:
        path: Audio file path.

    Returns:
        Duration in seconds (``frames / samplerate``).

    Raises:
        AudioError: For a missing, 0-byte or unreadable file.
    """
    info = audio_info(path)
    if info.samplerate <= 0:
        raise AudioError(f"{os.fspath(path)}: invalid sample rate {info.samplerate}")
    return float(info.frames) / float(info.samplerate)


def audio_problem(path: str | os.PathLike, min_duration: float = 0.0) -> str | None:
    """Cheaply check an audio file from its header, without decoding the samples.

    Used by corpus validation to find bad files before any feature work starts. It cannot see
    corruption inside the sample data or NaN samples; :func:`load_audio` still checks those.

    Args:
        path: Audio file path.
        min_duration: Minimum duration in seconds (0 only rejects files with no samples).

    Returns:
        ``None`` when the file looks usable, otherwise the problem as a short phrase without the
        path (e.g. ``"audio file is empty (0 bytes)"``).
    """
    name = os.fspath(path)
    try:
        info = audio_info(name)
    except AudioError as error:
        return str(error)[len(name) + 2 :]
    if info.frames <= 0 or info.samplerate <= 0:
        return "audio has no samples"
    truncated = _wav_truncation(name)
    if truncated:
        return truncated
    duration = float(info.frames) / float(info.samplerate)
    if duration < min_duration:
        return f"audio too short ({duration:.3f} s < {min_duration:g} s)"
    return None


__all__ = [
    "CONTAINER_FORMATS",
    "LONG_ANSWER_S",
    "SILENCE_PEAK",
    "SILENCE_RMS",
    "TARGET_SAMPLE_RATE",
    "AudioError",
    "audio_duration",
    "audio_info",
    "audio_problem",
    "decode_audio_bytes",
    "load_answer_audio",
    "load_audio",
    "load_audio_example",
    "speech_problem",
    "to_mono_16k",
]

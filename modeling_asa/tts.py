"""Offline text-to-speech with eSpeak NG, in process (no program to install).

The library comes from the ``espeakng-loader`` PyPI package (``pip install "modeling_asa[demo]"``: the shared
library and its voice data in one wheel) or, without it, from the system (``apt-get install libespeak-ng1``). It is
called through ``ctypes`` in synchronous mode, so one call returns the whole waveform. Used by the GEPT-style demo
corpus generator (``dataset_scripts/make_gept_corpus.py``).

Example:
    >>> from modeling_asa.tts import Espeak, espeak_library_available
    >>> if espeak_library_available():  # doctest: +SKIP
    ...     tts = Espeak()
    ...     wave = tts.synthesize("A man is reading a book.", voice="en-us+m3", rate=150, pitch=50, pitch_range=50)
    ...     wave.dtype, tts.sample_rate
    (dtype('float32'), 22050)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

__all__ = ["Espeak", "EspeakError", "espeak_library_available"]

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAMETERS = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    """eSpeak NG is missing or failed (one line)."""


def _locate() -> tuple[str, str | None]:
    """(shared library path, voice data path or ``None`` for the library's default)."""
    try:
        import espeakng_loader

        return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except ImportError:
        name = ctypes.util.find_library("espeak-ng")
        if name is None:
            raise EspeakError(
                'eSpeak NG not found: pip install espeakng-loader (or "modeling_asa[demo]"), or apt-get install '
                "libespeak-ng1"
            ) from None
        return name, None


def espeak_library_available() -> bool:
    """Whether :class:`Espeak` can load eSpeak NG (the ``espeakng-loader`` wheel or the system library)."""
    try:
        _locate()
    except EspeakError:
        return False
    return True


class Espeak:
    """eSpeak NG loaded once per process; :meth:`synthesize` is serialised by a lock (the library is global).

    Attributes:
        sample_rate: The rate of every waveform returned (22050 Hz for eSpeak NG's voices).
        library: The shared library that was loaded.
        version: eSpeak NG's version string (the audio can differ between versions).
    """

    _instance_lock = threading.Lock()
    _loaded: tuple[ctypes.CDLL, int, str] | None = None

    def __init__(self):
        with Espeak._instance_lock:
            if Espeak._loaded is None:
                path, data = _locate()
                try:
                    lib = ctypes.CDLL(path)
                except OSError as err:
                    raise EspeakError(f"{path}: cannot load eSpeak NG ({err})") from None
                lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
                lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                             ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]  # fmt: skip
                lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
                lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
                rate = lib.espeak_Initialize(
                    _AUDIO_OUTPUT_SYNCHRONOUS, 0, None if data is None else data.encode(), _INITIALIZE_DONT_EXIT
                )
                if rate <= 0:
                    raise EspeakError(f"{path}: eSpeak NG failed to initialise (voice data {data or 'default'})")
                lib.espeak_Info.restype = ctypes.c_char_p
                lib.espeak_Info.argtypes = [ctypes.c_void_p]
                version = (lib.espeak_Info(None) or b"unknown").decode(errors="replace")
                Espeak._loaded = (lib, int(rate), path, version)
        self._lib, self.sample_rate, self.library, self.version = Espeak._loaded
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library calls it

    def _collect(self, wav, n: int, _events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synthesize(
        self, text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50, pitch_range: int = 50
    ) -> np.ndarray:
        """Speak ``text``; returns float32 samples in [-1, 1] at :attr:`sample_rate`.

        Args:
            text: Plain text (UTF-8).
            voice: eSpeak NG voice, optionally with a variant (``"en-us"``, ``"en+f3"``).
            rate: Speaking rate in words per minute (80-450).
            pitch: Base pitch, 0-99.
            pitch_range: Pitch variation, 0-99 (0 is a monotone).

        Raises:
            EspeakError: An unknown voice, or no audio for ``text``.
        """
        with Espeak._instance_lock:
            lib = self._lib
            lib.espeak_SetSynthCallback(self._callback)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EspeakError(f"eSpeak NG has no voice {voice!r}")
            for name, value in (("rate", rate), ("pitch", pitch), ("range", pitch_range)):
                lib.espeak_SetParameter(_PARAMETERS[name], int(value), 0)
            self._chunks = []
            data = text.encode("utf-8") + b"\0"
            buffer = ctypes.create_string_buffer(data, len(data))
            lib.espeak_Synth(buffer, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if not chunks:
            raise EspeakError(f"eSpeak NG produced no audio for {text[:60]!r}")
        return (np.concatenate(chunks).astype(np.float32) / 32768.0).astype(np.float32)

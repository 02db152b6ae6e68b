# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The recogniser stage: the words of the answer, with a confidence per word, from an ASR model's own decoder.

The delivery and language-use branches and the word timeline a teacher reads are built on these words, so they come
from the best recogniser the project can afford: Whisper's own autoregressive decoder (the paper's split: a
multilingual ASR recognises, a monolingual CTC model force-aligns the recognised words). Three backends:

================  ==========================================================================================
``ctranslate2``   a Whisper model in CTranslate2 format (the format of faster-whisper; int8 on CPU, float16 on
                  CUDA): a folder holding ``model.bin``, or a transformers Whisper folder with a ``ctranslate2/``
                  sub-folder (``scripts/setup_offline_models.sh`` writes one for the offline Whisper-base).
                  The default where such weights exist: 5x faster than ``transformers`` here (results/asr/).
``transformers``  any ``AutoModelForSpeechSeq2Seq`` Whisper checkpoint (Hub id or folder), ``generate``.
``ctc``           any CTC model ``modeling_asa.features.alignment.CtcModel`` loads: greedy best path (the
                  recogniser before this stage existed, kept as an option).
================  ==========================================================================================

``backend="auto"`` picks ``ctranslate2`` when the folder holds CTranslate2 weights, ``ctc`` for a CTC checkpoint and
``transformers`` for any other Whisper checkpoint; anything else is refused in one line before any work.

**The window.** Whisper's decoder was trained on 30 s windows whose unspoken tail is silence. ``"full"`` decodes
every answer in a whole window (Whisper's own condition; an answer of 4 s pays for 30 s of encoder). ``"padded"``
(the default) decodes the answer's own log-mel frames plus :data:`DEFAULT_PAD_SECONDS` of Whisper's silence padding:
the decoder still sees where the speech ends (without the pad it runs away into repetitions), at a fraction of the
cost. Answers longer than one window are cut at the quietest 20 ms within the last 5 s before the window's end and
decoded window by window. Batches hold windows of equal length only, so an answer's words never depend on its
neighbours (``asa-prepare`` and the scorer batch differently).

**Words and confidence.** Tokens are grouped into words where the tokenizer starts a new word (a leading space); a
word's confidence is the mean probability the decoder gave its tokens. Words are then written as the aligners and the
n-gram LM read them: numbers spelt out (:func:`~modeling_asa.text.spell_numbers`, so counting is heard as counting),
punctuation dropped, upper case (:func:`~modeling_asa.text.normalize_text`); ``text`` keeps the decoder's own
spelling for display. Decoding is greedy by default (``beam_size`` for beam search), in English for multilingual
models (``language``; ``None`` lets Whisper detect it), at most :data:`MAX_TOKENS_PER_SECOND` tokens per second of
audio (a bound on runaway repetitions). For multilingual Whisper models the stage also records the decoder's
probability that the answer is English (``english_prob``) and that it holds no speech (``no_speech_prob``): the
non-scorable checks read them.

Example:
    >>> recognizer = Recognizer(".cache/models/whisper-base")  # doctest: +SKIP
    >>> [r.words for r in recognizer.transcribe([wave])]  # doctest: +SKIP
    [['A', 'GIRL', 'IS', 'LOOKING', 'FOR', 'A', 'BOOK']]
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..settings import RECOGNIZER_BACKENDS, RECOGNIZER_WINDOWS
from ..text import normalize_text, spell_numbers
from .stage import Answer, Column, FeatureStage, one_line

logger = logging.getLogger(__name__)

DEFAULT_PAD_SECONDS = 3.0
"""Silence after the answer in a ``"padded"`` window (chosen on held-out speakers: results/asr/)."""
MAX_TOKENS_PER_SECOND = 6.0
"""Decoding stops after this many tokens per second of audio (+ a margin of 10): speech rarely passes 4. A decoding
stopped there that ends in a loop is cut after the loop's first copy (:func:`loop_start`)."""
SAMPLING_RATE = 16000
WINDOW_SECONDS = 30.0
_MEL_FRAMES_PER_SECOND = 100
_CUT_SEARCH_SECONDS = 5.0
_LANGUAGE_TOKEN = re.compile(r"<\|[a-z]{2,3}\|>")


class RecognizerError(ValueError):
    """A recogniser that cannot be used (one line naming the option, the model and the problem)."""


@dataclass
class Recognition:
    """What the recogniser heard in one answer.

    Attributes:
        text: The decoder's own text (case and punctuation kept), for display.
        words: The words as the aligners read them (numbers spelt out, no punctuation, upper case).
        word_confidence: ``(len(words),)`` float32: the mean probability of each word's tokens (for CTC, the mean
            max-posterior of its frames).
        no_speech_prob: Whisper's probability of its no-speech token at the start (``NaN`` where undefined).
        english_prob: A multilingual Whisper's probability that the language is English (``NaN`` where undefined).
    """

    text: str
    words: list[str]
    word_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    no_speech_prob: float = math.nan
    english_prob: float = math.nan


def words_with_confidence(pieces: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    """Normalise decoded words, each with its confidence, into the words the aligners read.

    Args:
        pieces: ``(raw word, confidence)`` pairs, the raw words as the decoder wrote them.

    Returns:
        ``(words, confidences)``: a raw word may become several words (``"21"`` -> ``TWENTY ONE``, each with its
        confidence) or none (punctuation alone).

    Example:
        >>> words_with_confidence([(" 21,", 0.9), (" apples.", 0.5), (" -", 0.1)])
        (['TWENTY', 'ONE', 'APPLES'], [0.9, 0.9, 0.5])
    """
    words: list[str] = []
    confidences: list[float] = []
    for raw, confidence in pieces:
        for word in normalize_text(spell_numbers(raw), case="upper").split():
            words.append(word)
            confidences.append(float(confidence))
    return words, confidences


def loop_start(ids: Sequence[int], max_period: int = 16, min_repeats: int = 3, min_period: int = 1) -> int:
    """Where a decoding that ran into a loop should end: after the first copy of the unit that repeats to the end.

    Whisper's decoder sometimes repeats a word or a phrase until it is stopped ("YES I AM A ROMANTIC ROMANTIC
    ROMANTIC ..."). When the last tokens repeat a unit of ``min_period`` to ``max_period`` tokens at least
    ``min_repeats`` times, the length up to the end of the unit's first copy in that run; else ``len(ids)``. The
    recogniser calls it on a decoding the token limit stopped (any unit, 3 copies), and on every decoding for a
    phrase of several tokens said 4 times over ("3 1 7 9 3 1 7 9 ..."), which a speaker hardly does; a word a
    speaker repeats within a decoding that ends by itself is left alone.

    Example:
        >>> loop_start([7, 8, 9, 9, 9, 9, 9])
        3
        >>> loop_start([1, 2, 3, 4, 2, 3, 4, 2, 3, 4, 2])
        4
        >>> loop_start([1, 2, 3, 4])
        4
        >>> loop_start([3, 1, 7, 9, 3, 1, 7, 9, 3, 1, 7, 9, 3, 3])  # the last token breaks off the unit
        4
    """
    keep = len(ids)
    for drop in (0, 1, 2):  # the last token or two of a stopped decoding may break off the unit
        n = len(ids) - drop
        for period in range(min_period, min(max_period, n // min_repeats) + 1):
            i = n - period - 1
            while i >= 0 and ids[i] == ids[i + period]:
                i -= 1
            start = i + 1  # ids[start:n] repeats with this period
            if n - start >= min_repeats * period:
                keep = min(keep, start + period)
    return keep


def _cut_loop(ids: list[int], limited: bool) -> list[int]:
    """``ids`` without a decoding loop (see :func:`loop_start`); ``limited``: the token limit stopped it."""
    keep = loop_start(ids, min_repeats=4, min_period=2)
    if limited:
        keep = min(keep, loop_start(ids))
    return ids[:keep]


def _quietest_cut(wave: np.ndarray, limit: int) -> int:
    """A cut point at most ``limit`` samples in: the quietest 20 ms frame of the last 5 s before it."""
    frame = 320
    start = max(0, limit - int(_CUT_SEARCH_SECONDS * SAMPLING_RATE))
    region = wave[start:limit]
    n = len(region) // frame
    if n < 2:
        return limit
    energy = (region[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return start + int(np.argmin(energy)) * frame + frame // 2


def split_windows(wave: np.ndarray, seconds: float) -> list[np.ndarray]:
    """Cut a wave into pieces of at most ``seconds`` each, at the quietest moment near each limit.

    Example:
        >>> [len(p) for p in split_windows(np.zeros(16000 * 5, np.float32), 2.0)]
        [32000, 32000, 16000]
    """
    limit = int(seconds * SAMPLING_RATE)
    pieces = []
    rest = np.asarray(wave, dtype=np.float32)
    while len(rest) > limit:
        cut = _quietest_cut(rest, limit) if np.any(rest[:limit]) else limit
        cut = max(1, min(cut, limit))
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def _is_ct2_folder(path: Path) -> bool:
    return (path / "model.bin").is_file()


def _read_config(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def resolve_backend(model: str, backend: str = "auto") -> tuple[str, str]:
    """``(backend, folder or id to load)`` for a recogniser option, without loading anything.

    Raises:
        RecognizerError: An unknown backend, or a model that is neither a Whisper sequence-to-sequence nor a CTC model.
    """
    if backend not in RECOGNIZER_BACKENDS:
        raise RecognizerError(f"--recognizer-backend {backend}: not one of {', '.join(RECOGNIZER_BACKENDS)}")
    path = Path(model).expanduser()
    ct2 = path if _is_ct2_folder(path) else path / "ctranslate2" if _is_ct2_folder(path / "ctranslate2") else None
    config = _read_config(path) if path.is_dir() else {}
    model_type = config.get("model_type")
    architectures = config.get("architectures") or []
    is_ctc = model_type == "whisper_ctc" or any(a.endswith("ForCTC") for a in architectures)
    if backend == "auto":
        if ct2 is not None:
            return "ctranslate2", str(ct2)
        if is_ctc:
            return "ctc", model
        if path.is_dir() and model_type not in (None, "whisper"):
            raise RecognizerError(
                f"--recognizer {model}: a {model_type!r} model is neither a Whisper sequence-to-sequence model nor a "
                "CTC model; pass one of those"
            )
        return "transformers", model
    if backend == "ctranslate2":
        if ct2 is None:
            raise RecognizerError(
                f"--recognizer {model}: no CTranslate2 weights (model.bin, or ctranslate2/model.bin); convert it with "
                "ct2-transformers-converter or use --recognizer-backend transformers"
            )
        return "ctranslate2", str(ct2)
    if backend == "ctc" and path.is_dir() and not is_ctc:
        raise RecognizerError(f"--recognizer {model}: not a CTC model (model_type {model_type!r})")
    if backend == "transformers" and path.is_dir() and (is_ctc or model_type not in (None, "whisper")):
        raise RecognizerError(
            f"--recognizer {model}: --recognizer-backend transformers needs a Whisper sequence-to-sequence model, "
            f"not model_type {model_type!r}"
        )
    return backend, model


class _WhisperBase:
    """What the two Whisper backends share: the feature extractor, the tokenizer, windows and word building."""

    def __init__(self, tokenizer, feature_extractor, multilingual: bool, language: str | None, window: str):
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.multilingual = multilingual
        self.language = language
        self.window = window
        self.eot = int(tokenizer.convert_tokens_to_ids("<|endoftext|>"))
        self.prompt = self._prompt(language)
        # the language tokens of a multilingual Whisper: <|en|>, <|zh|>, <|haw|>, ...
        vocab = tokenizer.get_vocab() if multilingual else {}
        self.language_ids = {t: int(i) for t, i in vocab.items() if _LANGUAGE_TOKEN.fullmatch(t)}

    def _prompt(self, language: str | None) -> list[int]:
        tokens = ["<|startoftranscript|>"]
        if self.multilingual:
            if language:
                tokens.append(f"<|{language}|>")
            tokens.append("<|transcribe|>")
        tokens.append("<|notimestamps|>")
        ids = self.tokenizer.convert_tokens_to_ids(tokens)
        unknown = [t for t, i in zip(tokens, ids) if i is None or i == self.tokenizer.unk_token_id]
        if unknown:
            raise RecognizerError(f"--language {language}: the tokenizer has no token {unknown[0]}")
        return [int(i) for i in ids]

    @property
    def chunk_seconds(self) -> float:
        return WINDOW_SECONDS - (DEFAULT_PAD_SECONDS if self.window == "padded" else 0.0)

    def mel_frames(self, num_samples: int) -> int:
        """Log-mel frames the decoder reads for a chunk (whole seconds, at most one window)."""
        if self.window == "full":
            return int(WINDOW_SECONDS * _MEL_FRAMES_PER_SECOND)
        seconds = math.ceil(num_samples / SAMPLING_RATE + DEFAULT_PAD_SECONDS)
        return int(min(WINDOW_SECONDS, seconds) * _MEL_FRAMES_PER_SECOND)

    max_target_positions = 448
    """The decoder's length limit (prompt included)."""

    def max_new_tokens(self, num_samples: int) -> int:
        wanted = math.ceil(num_samples / SAMPLING_RATE * MAX_TOKENS_PER_SECOND) + 10
        return max(1, min(wanted, self.max_target_positions - len(self.prompt) - 1))

    def features(self, chunks: Sequence[np.ndarray], frames: int) -> np.ndarray:
        mel = self.feature_extractor(list(chunks), sampling_rate=SAMPLING_RATE, return_tensors="np").input_features
        return np.ascontiguousarray(mel[:, :, :frames], dtype=np.float32)

    def pieces(self, ids: Sequence[int], probs: Sequence[float]) -> list[tuple[str, float]]:
        """``(raw word, mean token probability)`` per word of a decoded token sequence (special tokens dropped)."""
        groups: list[tuple[list[int], list[float]]] = []
        for token_id, prob in zip(ids, probs):
            if token_id >= self.eot:
                continue
            piece = self.tokenizer.convert_ids_to_tokens(int(token_id)) or ""
            if not groups or piece.startswith(("Ġ", " ", "▁")):
                groups.append(([], []))
            groups[-1][0].append(int(token_id))
            groups[-1][1].append(float(prob))
        return [(self.tokenizer.decode(g, skip_special_tokens=True), float(np.mean(p))) for g, p in groups]

    def english_prob(self, lang_logits: np.ndarray | None) -> float:
        """Softmax over the language tokens of the first decoding step; the share of ``<|en|>``."""
        if lang_logits is None or "<|en|>" not in self.language_ids:
            return math.nan
        ids = np.array(sorted(self.language_ids.values()))
        logits = np.asarray(lang_logits, dtype=np.float64)[ids]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return float(probs[list(ids).index(self.language_ids["<|en|>"])])


def _softmax_prob(logits: np.ndarray, index: int) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    finite = np.isfinite(logits)
    top = logits[finite].max()
    return float(math.exp(logits[index] - top) / np.exp(logits[finite] - top).sum())


class _Ct2Backend(_WhisperBase):
    def __init__(
        self,
        folder: str,
        source: str,
        device: str,
        beam_size: int,
        language,
        window,
        batch_size: int,
        compute_type: str | None = None,
    ):
        import ctranslate2
        from transformers import WhisperFeatureExtractor, WhisperTokenizerFast

        folder_path = Path(folder)
        parent = folder_path.parent if folder_path.name == "ctranslate2" else folder_path
        cuda = device.startswith("cuda")
        try:
            self.model = ctranslate2.models.Whisper(
                folder, device="cuda" if cuda else "cpu", device_index=int(device.split(":")[1]) if ":" in device else 0,
                compute_type=compute_type or ("float16" if cuda else "int8"), intra_threads=_threads(),
            )  # fmt: skip
        except (RuntimeError, ValueError, OSError) as err:
            raise RecognizerError(
                f"--recognizer {source}: cannot load the CTranslate2 model ({one_line(err)})"
            ) from err
        tokenizer_file = next((p / "tokenizer.json" for p in (folder_path, parent) if (p / "tokenizer.json").is_file()),
                              None)  # fmt: skip
        if tokenizer_file is None:
            raise RecognizerError(f"--recognizer {source}: no tokenizer.json beside the CTranslate2 model")
        tokenizer = WhisperTokenizerFast(tokenizer_file=str(tokenizer_file))
        n_mels = int(getattr(self.model, "n_mels", 80) or 80)
        feature_extractor = WhisperFeatureExtractor(feature_size=n_mels)
        multilingual = bool(self.model.is_multilingual)
        generation = parent / "generation_config.json"
        if generation.is_file():  # the transformers folder beside the weights says what the model is
            multilingual = bool(json.loads(generation.read_text()).get("is_multilingual", multilingual))
        self.max_target_positions = int(_read_config(parent).get("max_target_positions", 448))
        super().__init__(tokenizer, feature_extractor, multilingual, language, window)
        self.beam_size = beam_size
        self.batch_size = batch_size

    def decode(self, chunks: Sequence[np.ndarray], frames: int) -> list[Recognition]:
        import ctranslate2

        mel = ctranslate2.StorageView.from_array(self.features(chunks, frames))
        encoded = self.model.encode(mel, to_cpu=False)
        english = [math.nan] * len(chunks)
        prompts = [self.prompt] * len(chunks)
        if self.multilingual and self.model.is_multilingual:
            # the language distribution of the step after <|startoftranscript|> (CTranslate2's own detection)
            detected = [dict(ranking) for ranking in self.model.detect_language(encoded)]
            english = [d.get("<|en|>", 0.0) for d in detected]
            if not self.language:
                prompts = [self._prompt(max(d, key=d.get)[2:-2]) for d in detected]
        # CTranslate2 4.x stops Whisper at half of max_length tokens (measured: 20 -> 10, 40 -> 20), so it is asked
        # for twice the budget; a decoding it stopped has no end-of-text step
        budget = len(self.prompt) + max(self.max_new_tokens(len(c)) for c in chunks)
        results = self.model.generate(
            encoded, prompts, beam_size=self.beam_size, return_logits_vocab=True, return_no_speech_prob=True,
            max_length=min(2 * budget, self.max_target_positions),
        )  # fmt: skip
        out = []
        for i, result in enumerate(results):
            ids = list(result.sequences_ids[0])
            steps = result.logits[0] if result.logits else []
            limited = len(steps) <= len(ids) or len(ids) > self.max_new_tokens(len(chunks[i]))
            ids = _cut_loop(ids, limited)[: self.max_new_tokens(len(chunks[i]))]
            probs = [_softmax_prob(np.asarray(steps[k]), t) if k < len(steps) else math.nan for k, t in enumerate(ids)]
            text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
            words, conf = words_with_confidence(self.pieces(ids, probs))
            out.append(Recognition(text, words, np.asarray(conf, np.float32), float(result.no_speech_prob), english[i]))
        return out


class _TransformersBackend(_WhisperBase):
    def __init__(self, model_id: str, device: str, beam_size: int, language, window, batch_size: int):
        import torch
        from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor

        from .content import load_pretrained

        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        model = load_pretrained(AutoModelForSpeechSeq2Seq.from_pretrained, model_id, "recogniser", dtype=self.dtype)
        if model.config.model_type != "whisper":
            raise RecognizerError(f"--recognizer {model_id}: only Whisper sequence-to-sequence models are supported, "
                                  f"not {model.config.model_type!r}")  # fmt: skip
        processor = load_pretrained(AutoProcessor.from_pretrained, model_id, "recogniser processor")
        self.model = model.to(self.device).eval()
        self.max_target_positions = int(model.config.max_target_positions)
        generation = model.generation_config
        multilingual = getattr(generation, "is_multilingual", None)
        if multilingual is None:  # generation configs saved without the flag: a multilingual one maps languages
            multilingual = bool(getattr(generation, "lang_to_id", None))
        super().__init__(processor.tokenizer, processor.feature_extractor, bool(multilingual), language, window)
        self.beam_size = beam_size
        self.batch_size = batch_size
        no_speech = [self.tokenizer.convert_tokens_to_ids(t) for t in ("<|nospeech|>", "<|nocaptions|>")]
        self.no_speech_id = next((i for i in no_speech if i not in (None, self.tokenizer.unk_token_id)), None)

    def _first_logits(self, encoder_outputs, n: int):
        import torch

        start = torch.full((n, 1), self.prompt[0], device=self.device)
        return self.model(encoder_outputs=encoder_outputs, decoder_input_ids=start).logits[:, -1].float().cpu().numpy()

    def decode(self, chunks: Sequence[np.ndarray], frames: int) -> list[Recognition]:
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        from ..ctc.modeling_whisper_ctc import whisper_encode

        n = len(chunks)
        mel = torch.from_numpy(self.features(chunks, frames)).to(self.device, self.dtype)
        with torch.inference_mode():
            encoder_outputs = BaseModelOutput(last_hidden_state=whisper_encode(self.model.model.encoder, mel))
            languages = [self.language] * n
            if self.multilingual and not self.language:
                first = self._first_logits(encoder_outputs, n)
                ids = {i: tok[2:-2] for tok, i in self.language_ids.items()}
                languages = [ids[max(ids, key=lambda i: row[i])] for row in first]
            options = {"language": languages, "task": "transcribe"} if self.multilingual else {}
            config = copy.deepcopy(self.model.generation_config)
            config.max_length = None  # max_new_tokens below bounds each answer by its length
            with _quiet_transformers():
                generated = self.model.generate(
                    encoder_outputs=encoder_outputs, generation_config=config, num_beams=self.beam_size,
                    do_sample=False, return_timestamps=False,
                    max_new_tokens=max(self.max_new_tokens(len(c)) for c in chunks), **options,
                )  # fmt: skip
            texts = []
            for row in generated.cpu().tolist():
                body = [t for t in row if t <= self.eot]
                ended = self.eot in body
                body = [t for t in (body[: body.index(self.eot)] if ended else body) if t < self.eot]
                texts.append(_cut_loop(body, not ended))
            # one teacher-forced pass over prompt + words: each token's probability, and the first step's
            # language and no-speech probabilities
            prompts = [self._prompt(lang) if self.multilingual else self.prompt for lang in languages]
            length = max(len(p) + len(t) for p, t in zip(prompts, texts))
            inputs = torch.full((n, length), self.eot, device=self.device)
            for i, (p, t) in enumerate(zip(prompts, texts)):
                inputs[i, : len(p) + len(t)] = torch.tensor(p + t)
            logits = self.model(encoder_outputs=encoder_outputs, decoder_input_ids=inputs).logits.float()
            log_probs = torch.log_softmax(logits, dim=-1).cpu().numpy()
        out = []
        for i, (p, ids) in enumerate(zip(prompts, texts)):
            probs = [float(np.exp(log_probs[i, len(p) - 1 + k, t])) for k, t in enumerate(ids)]
            no_speech = float(np.exp(log_probs[i, 0, self.no_speech_id])) if self.no_speech_id is not None else math.nan
            english = self.english_prob(logits[i, 0].cpu().numpy()) if self.multilingual else math.nan
            text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
            words, conf = words_with_confidence(self.pieces(ids, probs))
            out.append(Recognition(text, words, np.asarray(conf, np.float32), no_speech, english))
        return out


@contextlib.contextmanager
def _quiet_transformers():
    """``generate`` warns on every batch about settings this module chose on purpose: keep those to errors."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


class _CtcBackend:
    def __init__(self, model_id: str, device: str, batch_size: int):
        from .alignment import CtcModel

        self.ctc = CtcModel(model_id, device=device, batch_size=batch_size)

    def transcribe(self, waves: Sequence[np.ndarray]) -> list[Recognition]:
        from .alignment import greedy_transcribe

        out = []
        for lp in self.ctc.log_probs(list(waves), show_progress=False):
            t = greedy_transcribe(lp, self.ctc)
            out.append(Recognition(t.text, list(t.words), np.asarray(t.word_confidence, np.float32)))
        return out


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


class Recognizer:
    """Transcribe answers with a Whisper decoder (CTranslate2 or transformers) or a CTC model.

    Args:
        model_name_or_path (`str`): A Whisper folder or Hub id, a CTranslate2 Whisper folder, or a CTC model.
        backend (`str`, *optional*, defaults to `"auto"`): One of :data:`RECOGNIZER_BACKENDS`.
        window (`str`, *optional*, defaults to `"padded"`): One of :data:`RECOGNIZER_WINDOWS`.
        beam_size (`int`, *optional*, defaults to 1): 1 is greedy decoding.
        language (`str`, *optional*, defaults to `"en"`): Decoding language of a multilingual Whisper; ``None``
            detects it per answer.
        device (`str`, *optional*): ``cpu``, ``cuda``, ...; ``None`` picks CUDA when available.
        batch_size (`int`, *optional*, defaults to 8): Windows per decoder batch.
        compute_type (`str`, *optional*): CTranslate2 compute type; ``None``: ``int8`` on CPU, ``float16`` on CUDA.

    Raises:
        RecognizerError: A model that is neither Whisper nor CTC, or bad settings (one line).
    """

    def __init__(
        self,
        model_name_or_path: str,
        backend: str = "auto",
        window: str = "padded",
        beam_size: int = 1,
        language: str | None = "en",
        device: str | None = None,
        batch_size: int = 8,
        compute_type: str | None = None,
    ) -> None:
        import torch

        if window not in RECOGNIZER_WINDOWS:
            raise RecognizerError(f"--recognizer-window {window}: not one of {', '.join(RECOGNIZER_WINDOWS)}")
        if beam_size < 1:
            raise RecognizerError(f"--beam-size {beam_size}: must be >= 1")
        self.name_or_path = os.fspath(model_name_or_path)
        self.backend, target = resolve_backend(self.name_or_path, backend)
        self.window = window
        self.batch_size = batch_size
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.backend == "ctranslate2":
            self.impl: Any = _Ct2Backend(
                target, self.name_or_path, device, beam_size, language, window, batch_size, compute_type
            )
        elif self.backend == "transformers":
            self.impl = _TransformersBackend(target, device, beam_size, language, window, batch_size)
        else:
            self.impl = _CtcBackend(target, device, batch_size)
        logger.info("recogniser %s (%s backend, %s window, beam %d, language %s) on %s", self.name_or_path,
                    self.backend, window, beam_size, language, device)  # fmt: skip

    def transcribe(self, waves: Sequence[np.ndarray]) -> list[Recognition]:
        """What each 16 kHz wave says (one :class:`Recognition` per wave, in order).

        Raises:
            ValueError: A wave that is not 1-D.
        """
        if isinstance(self.impl, _CtcBackend):
            return self.impl.transcribe(waves)
        impl: _WhisperBase = self.impl
        chunks: list[np.ndarray] = []
        owners: list[int] = []
        for index, wave in enumerate(waves):
            wave = np.asarray(wave, dtype=np.float32)
            if wave.ndim != 1:
                raise ValueError(f"waves[{index}]: expected a 1-D wave, got shape {wave.shape}")
            for piece in split_windows(wave, impl.chunk_seconds):
                chunks.append(piece)
                owners.append(index)
        frames = [impl.mel_frames(len(c)) for c in chunks]
        order = sorted(range(len(chunks)), key=lambda i: (frames[i], len(chunks[i])))
        decoded: list[Recognition | None] = [None] * len(chunks)
        for size in sorted(set(frames)):
            group = [i for i in order if frames[i] == size]
            for start in range(0, len(group), self.batch_size):
                indices = group[start : start + self.batch_size]
                for i, result in zip(indices, impl.decode([chunks[i] for i in indices], size)):
                    decoded[i] = result
        merged: list[list[Recognition]] = [[] for _ in waves]
        for owner, result in zip(owners, decoded):
            merged[owner].append(result)  # type: ignore[arg-type]
        return [_merge(parts) for parts in merged]


def _merge(parts: list[Recognition]) -> Recognition:
    if len(parts) == 1:
        return parts[0]
    return Recognition(
        " ".join(p.text for p in parts if p.text),
        [w for p in parts for w in p.words],
        np.concatenate([p.word_confidence for p in parts]).astype(np.float32),
        float(min(p.no_speech_prob for p in parts)),
        float(np.nanmean([p.english_prob for p in parts])) if any(np.isfinite(p.english_prob) for p in parts) else
        math.nan,
    )  # fmt: skip


class RecognitionStage(FeatureStage):
    """The recogniser stage: the answer's words, per-word confidence, and no-speech / English probabilities.

    An answer with a given transcript is not decoded: the given words are passed on (confidence ``NaN``) and win over
    the recogniser, as they always have.

    Args:
        recognizer (`str`): See [`Recognizer`].
        backend, window, beam_size, language: See [`Recognizer`].
    """

    name = "recognition"
    model_options = ("recognizer",)
    version = 2  # 2: decoding loops cut

    def __init__(
        self,
        recognizer: str,
        backend: str = "auto",
        window: str = "padded",
        beam_size: int = 1,
        language: str | None = "en",
        device: str | None = None,
        batch_size: int = 8,
    ) -> None:
        super().__init__(device, batch_size)
        self.recognizer = recognizer
        self.backend = backend
        self.window = window
        self.beam_size = int(beam_size)
        self.language = language
        self.model: Recognizer | None = None

    def settings(self) -> dict[str, Any]:
        return {"recognizer": self.recognizer, "backend": self.backend, "window": self.window,
                "beam_size": self.beam_size, "language": self.language}  # fmt: skip

    def check(self) -> None:
        """Refuse a model that is neither Whisper nor CTC before any work (reads config files only)."""
        resolve_backend(self.recognizer, self.backend)

    def load(self) -> None:
        if self.model is not None:
            return
        self.model = Recognizer(self.recognizer, self.backend, self.window, self.beam_size, self.language,
                                device=self.device, batch_size=self.batch_size)  # fmt: skip
        self.loaded = True

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        todo = [i for i, a in enumerate(answers) if a.transcript is None]
        heard: dict[int, Recognition] = {}
        if todo:
            try:
                heard = dict(zip(todo, self.model.transcribe([answers[i].wave for i in todo])))
            except Exception as err:  # noqa: BLE001 - reported per answer, the other batches go on
                return [one_line(err)] * len(answers)
        out: list[Any] = []
        for i, answer in enumerate(answers):
            if i in heard:
                r = heard[i]
            else:
                words = normalize_text(spell_numbers(answer.transcript or ""), case="upper").split()
                r = Recognition(answer.transcript or "", words, np.full(len(words), np.nan, np.float32))
            out.append(
                {
                    "text": np.asarray(r.text),
                    "words": np.asarray(r.words, dtype=str),
                    "word_confidence": np.asarray(r.word_confidence, dtype=np.float32),
                    "no_speech_prob": np.float32(r.no_speech_prob),
                    "english_prob": np.float32(r.english_prob),
                }
            )
        return out

    def columns(self) -> dict[str, Column]:
        return {
            "text": Column("str", None, "answer"),
            "words": Column("str", None, "word"),
            "word_confidence": Column("float32", None, "word"),
            "no_speech_prob": Column("float32", None, "answer"),
            "english_prob": Column("float32", None, "answer"),
        }


__all__ = [
    "DEFAULT_PAD_SECONDS",
    "MAX_TOKENS_PER_SECOND",
    "RECOGNIZER_BACKENDS",
    "RECOGNIZER_WINDOWS",
    "Recognition",
    "RecognitionStage",
    "Recognizer",
    "RecognizerError",
    "loop_start",
    "resolve_backend",
    "split_windows",
    "words_with_confidence",
]

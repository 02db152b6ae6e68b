# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""CTC models, greedy ASR transcripts, CTC-segmentation word alignment and word posteriors.

The delivery branch needs, for every word of a response, where it was said (start/end time) and how
confidently acoustic models recognise it. This module provides the acoustic half:

* :class:`CtcModel` wraps any ``AutoModelForCTC`` checkpoint (wav2vec2, HuBERT, WavLM, ... or a
  folder on disk) and returns per-frame log posteriors, trimmed to each answer's real length.
* :func:`greedy_transcribe` turns log posteriors into a transcript with per-word ASR confidence.
* :func:`align_words` aligns a transcript word by word with the ``ctc_segmentation`` package
  (Kürzinger et al., 2020), each word being one "utterance", as its documentation shows for word
  alignment.
* :func:`word_posteriors` scores each aligned word under a (possibly different) CTC model.

The alignment functions only need an object with four attributes (the :class:`CtcVocabulary`
protocol): ``vocabulary`` (token strings indexed by id), ``blank_id``, ``word_delimiter`` and
``frame_duration`` (seconds per output frame). :class:`CtcModel` has them; so can a small dataclass.

Conventions shared by every function here:

* **Blank.** The CTC blank is the pad token (as in wav2vec2 CTC). The word-delimiter token (``"|"`` in
  wav2vec2 character vocabularies) separates words; for alignment and posteriors it is merged into
  the blank (``log(p_blank + p_delimiter)``), because each word is aligned as its own utterance
  and the gap between two words is a blank state.
* **Special tokens.** The blank, the delimiter and marker tokens written ``<...>`` or ``[...]``
  (``<s>``, ``</s>``, ``<unk>``, ``[PAD]``) never produce text and are never aligned.
* **Text normalisation.** A word is mapped to the vocabulary by changing its case to the case of
  the vocabulary's letters (upper for the usual English wav2vec2 models), then greedy
  longest-match over the non-special tokens; characters with no token (punctuation, digits when
  the vocabulary has none) are dropped. Apostrophes are kept when the vocabulary has one.
* **Unalignable words.** A word with no character in the vocabulary (``"-"``, ``"2024"`` for an
  English letters-only model) is skipped by the aligner but kept in the output with ``NaN``
  start, end and score, so the output always has one :class:`WordSegment` per input word.
* **Word boundaries.** ``ctc_segmentation.determine_utterance_segments`` puts utterance borders
  in the middle of the gap between two utterances (its segments tile the audio), which would hide
  every pause. Word times here are therefore read from the character-level alignment that
  ``ctc_segmentation`` returns: the start is the frame where the word's first token is first
  emitted, the end is the end of the last token's emission (the last following frame, before the
  next word starts, where that token is still more probable than the blank). The score is the
  ``determine_utterance_segments`` confidence of the word.

Example:
    >>> import numpy as np
    >>> from modeling_asa.features.alignment import SimpleVocabulary, align_words
    >>> vocab = SimpleVocabulary(["<pad>", "|", "A", "B"], blank_id=0, word_delimiter="|", frame_duration=0.02)
    >>> log_probs = np.log(np.full((20, 4), 0.01))
    >>> log_probs[:, 0] = np.log(0.97)
    >>> log_probs[5:7] = np.log([0.01, 0.01, 0.97, 0.01])
    >>> log_probs[12:15] = np.log([0.01, 0.01, 0.01, 0.97])
    >>> [(s.word, round(s.start, 2), round(s.end, 2)) for s in align_words(log_probs, ["a", "b"], vocab)]
    [('a', 0.1, 0.14), ('b', 0.24, 0.3)]

References:
    L. Kürzinger, D. Winkelbauer, L. Li, T. Watzel, G. Rigoll, "CTC-Segmentation of Large Corpora
    for German End-to-end Speech Recognition", SPECOM 2020, https://arxiv.org/abs/2007.09127.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from tqdm.auto import tqdm

from .content import ModelLoadError, load_pretrained

logger = logging.getLogger(__name__)

_MARKER_RE = re.compile(r"^(<[^<>]+>|\[[^\[\]]+\])$")


class AlignmentError(ValueError):
    """A transcript that cannot be aligned to its audio (one-line message naming the problem)."""


_CTC_HEAD_PREFIXES = frozenset({"lm_head", "head"})
"""First name components of CTC output-layer weights (wav2vec2-family ``lm_head``; ``WhisperEncoderForCTC.head``)."""


class CtcModelLoadError(ModelLoadError):
    """A CTC checkpoint that cannot be loaded (one-line message naming the path and the problem)."""


@runtime_checkable
class CtcVocabulary(Protocol):
    """What the alignment functions need to know about a CTC model.

    Attributes:
        vocabulary: Token strings indexed by token id (length = number of CTC outputs).
        blank_id: Id of the CTC blank token.
        word_delimiter: Token separating words (``"|"`` for wav2vec2), or ``" "``.
        frame_duration: Seconds per CTC output frame.
    """

    vocabulary: list[str]
    blank_id: int
    word_delimiter: str
    frame_duration: float


@dataclass
class SimpleVocabulary:
    """A plain :class:`CtcVocabulary`, for log posteriors computed elsewhere (and for tests).

    Args:
        vocabulary: Token strings indexed by token id.
        blank_id: Id of the CTC blank token.
        word_delimiter: Word-separator token, or ``" "`` when the vocabulary has none.
        frame_duration: Seconds per frame.
    """

    vocabulary: list[str]
    blank_id: int = 0
    word_delimiter: str = "|"
    frame_duration: float = 0.02


@dataclass
class WordSegment:
    """One aligned word.

    Attributes:
        word: The word as given to :func:`align_words` (not normalised).
        start: Start time in seconds (``NaN`` when the word could not be aligned).
        end: End time in seconds (``NaN`` when the word could not be aligned).
        score: ``ctc_segmentation`` confidence (log domain, ``<= 0``; higher is better), ``NaN``
            when not aligned.
    """

    word: str
    start: float
    end: float
    score: float

    @property
    def aligned(self) -> bool:
        """Whether the word has finite times."""
        return math.isfinite(self.start) and math.isfinite(self.end)


@dataclass
class Transcription:
    """Greedy CTC transcript.

    Attributes:
        text: Words joined by single spaces (in the vocabulary's case, e.g. upper case).
        words: The words.
        word_confidence: Array ``(n_words,)``: per word, the mean over the frames where the greedy
            path emits one of the word's tokens (repeated frames included, blank and delimiter
            frames excluded) of the maximum posterior probability of that frame.
    """

    text: str
    words: list[str]
    word_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Vocabulary helpers
# --------------------------------------------------------------------------------------------


def _is_marker(token: str) -> bool:
    """Whether ``token`` is a marker such as ``<s>``, ``<unk>`` or ``[PAD]``."""
    return bool(_MARKER_RE.match(token))


def _delimiter_id(model: CtcVocabulary) -> int | None:
    """Id of the word-delimiter token, or ``None`` when the vocabulary has none (or it is the blank)."""
    try:
        idx = list(model.vocabulary).index(model.word_delimiter)
    except ValueError:
        return None
    return None if idx == model.blank_id else idx


def _special_mask(model: CtcVocabulary) -> np.ndarray:
    """Boolean mask ``(V,)`` of tokens that never produce word text (blank, delimiter, markers, empty)."""
    vocab = list(model.vocabulary)
    mask = np.array(
        [tok == "" or _is_marker(tok) or tok == model.word_delimiter for tok in vocab],
        dtype=bool,
    )
    mask[model.blank_id] = True
    return mask


@dataclass(frozen=True)
class _TokenTable:
    """Text tokens of a vocabulary, for mapping words to token ids."""

    token_to_id: dict[str, int]
    max_len: int
    case: str | None  # "upper", "lower" or None (keep)

    @classmethod
    def from_model(cls, model: CtcVocabulary) -> _TokenTable:
        special = _special_mask(model)
        token_to_id: dict[str, int] = {}
        n_upper = n_lower = 0
        for idx, tok in enumerate(model.vocabulary):
            if special[idx] or tok in token_to_id:
                continue
            token_to_id[tok] = idx
            n_upper += sum(ch.isupper() for ch in tok)
            n_lower += sum(ch.islower() for ch in tok)
        case = "upper" if n_upper > n_lower else "lower" if n_lower > n_upper else None
        max_len = max((len(t) for t in token_to_id), default=1)
        return cls(token_to_id=token_to_id, max_len=max_len, case=case)

    def encode(self, word: str) -> list[int]:
        """Greedy longest-match token ids of ``word``; characters without a token are dropped."""
        if self.case == "upper":
            word = word.upper()
        elif self.case == "lower":
            word = word.lower()
        ids: list[int] = []
        i = 0
        while i < len(word):
            for length in range(min(self.max_len, len(word) - i), 0, -1):
                idx = self.token_to_id.get(word[i : i + length])
                if idx is not None:
                    ids.append(idx)
                    i += length
                    break
            else:
                i += 1
        return ids


def encode_words(words: list[str], model: CtcVocabulary) -> list[list[int]]:
    """Map words to token ids of ``model``'s vocabulary (see the module's text normalisation).

    Args:
        words: Words (any case, punctuation allowed).
        model: A :class:`CtcVocabulary`.

    Returns:
        One list of token ids per word; empty for a word with no character in the vocabulary.

    Example:
        >>> encode_words(["don't!", "42"], SimpleVocabulary(["<pad>", "|", "D", "O", "N", "'", "T"]))
        [[2, 3, 4, 5, 6], []]
    """
    table = _TokenTable.from_model(model)
    return [table.encode(word) for word in words]


def normalize_words(words: list[str], model: CtcVocabulary) -> list[str]:
    """Normalise words for alignment with ``model`` (case changed, out-of-vocabulary characters dropped).

    Args:
        words: Words.
        model: A :class:`CtcVocabulary`.

    Returns:
        The normalised words (``""`` for a word with no character in the vocabulary).
    """
    vocab = list(model.vocabulary)
    return ["".join(vocab[i] for i in ids) for ids in encode_words(words, model)]


def _merged_blank(log_probs: np.ndarray, model: CtcVocabulary) -> np.ndarray:
    """Copy of ``log_probs`` whose blank column is ``log(p_blank + p_delimiter)``."""
    lp = np.array(log_probs, dtype=np.float32, copy=True)
    delim = _delimiter_id(model)
    if delim is not None:
        lp[:, model.blank_id] = np.logaddexp(lp[:, model.blank_id], lp[:, delim])
    return lp


def _pad_to(wave: np.ndarray, n_samples: int) -> np.ndarray:
    """``wave`` right-padded with zeros to at least ``n_samples`` samples."""
    if wave.shape[0] >= n_samples:
        return wave
    return np.concatenate([wave, np.zeros(n_samples - wave.shape[0], dtype=wave.dtype)])


def _check_log_probs(log_probs: np.ndarray, model: CtcVocabulary, name: str) -> np.ndarray:
    """Validate a ``(T, V)`` log-posterior matrix against ``model``'s vocabulary."""
    lp = np.asarray(log_probs)
    if lp.ndim != 2 or lp.shape[1] != len(model.vocabulary):
        raise ValueError(
            f"{name}: expected log posteriors of shape (T, {len(model.vocabulary)}), got {tuple(lp.shape)}"
        )
    return lp


# --------------------------------------------------------------------------------------------
# CTC model
# --------------------------------------------------------------------------------------------


class CtcModel:
    """A CTC acoustic model (``AutoModelForCTC``) with its feature extractor and tokenizer.

    Args:
        model_name_or_path: Hub id or local folder (``config.json``, weights, tokenizer and feature
            extractor files, as written by ``save_pretrained``). Offline, use a local folder.
        device: Torch device; defaults to CUDA when available, else CPU.
        dtype: Model weights dtype (log posteriors are always returned as float32).
        batch_size: Number of waves per forward pass in :meth:`log_probs`.
        frame_duration: Seconds per output frame; ``None`` computes it (see :attr:`frame_duration`).

    Raises:
        CtcModelLoadError: When the checkpoint, tokenizer or feature extractor cannot be loaded.

    Example:
        >>> ctc = CtcModel("/path/to/wav2vec2-base-960h")  # doctest: +SKIP
        >>> lp = ctc.log_probs([np.zeros(16000, dtype=np.float32)])[0]  # doctest: +SKIP
        >>> lp.shape  # doctest: +SKIP
        (49, 32)
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        batch_size: int = 8,
        frame_duration: float | None = None,
    ) -> None:
        from transformers import (
            AutoFeatureExtractor,
            AutoModelForCTC,
            AutoProcessor,
            AutoTokenizer,
        )

        if batch_size < 1:
            raise ValueError(f"CtcModel: batch_size must be >= 1, got {batch_size}")
        name = os.fspath(model_name_or_path)
        self.name_or_path = name
        self.batch_size = int(batch_size)
        self.device = (
            torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.dtype = dtype
        local = os.path.isdir(name)
        if not local and (os.path.isabs(name) or name.startswith((".", "~"))):
            raise CtcModelLoadError(f"{name}: CTC model folder not found")
        # A local folder never touches the network; a Hub id is tried once (the model first, so an
        # unreachable Hub fails after one round of retries instead of one per file).
        hub_kwargs = {"local_files_only": True} if local else {}
        # The project's one model-loading helper (content.load_pretrained) turns each failure into one line.
        try:
            model, loading = load_pretrained(
                AutoModelForCTC.from_pretrained, name, "CTC model", dtype=dtype, output_loading_info=True, **hub_kwargs
            )
            feature_extractor = tokenizer = None
            try:
                processor = AutoProcessor.from_pretrained(name, **hub_kwargs)
                feature_extractor = getattr(processor, "feature_extractor", None)
                tokenizer = getattr(processor, "tokenizer", None)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.debug("%s: AutoProcessor failed (%s); trying feature extractor + tokenizer", name, exc)
            if feature_extractor is None:
                feature_extractor = load_pretrained(
                    AutoFeatureExtractor.from_pretrained, name, "CTC feature extractor", **hub_kwargs
                )
            if tokenizer is None:
                tokenizer = load_pretrained(AutoTokenizer.from_pretrained, name, "CTC tokenizer", **hub_kwargs)
        except ModelLoadError as exc:
            hint = "; the folder needs config.json, weights, tokenizer and feature-extractor files (save_pretrained)"
            raise CtcModelLoadError(f"{exc}{hint if local else ''}") from exc
        # A checkpoint without a trained output layer (a pretrained-only wav2vec2 such as xls-r-300m) loads with a
        # freshly initialised head: its "posteriors" would be noise, so refuse it.
        untrained = sorted(k for k in loading.get("missing_keys", ()) if k.split(".")[0] in _CTC_HEAD_PREFIXES)
        if untrained:
            raise CtcModelLoadError(
                f"{name}: the checkpoint has no trained CTC output layer (missing {', '.join(untrained)}); "
                "pass a model fine-tuned for CTC"
            )
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()

        n_out = int(getattr(model.config, "vocab_size", 0) or 0) or len(tokenizer)
        vocab = [f"<unused_{i}>" for i in range(n_out)]
        for tok, idx in tokenizer.get_vocab().items():
            if 0 <= idx < n_out:
                vocab[idx] = tok
        self._vocabulary = vocab
        pad_id = tokenizer.pad_token_id
        if pad_id is None:
            pad_id = getattr(model.config, "pad_token_id", None)
        self._blank_id = int(pad_id) if pad_id is not None else 0
        delim = getattr(tokenizer, "word_delimiter_token", None)
        self._word_delimiter = delim if delim and delim in vocab else " "
        self.sampling_rate = int(getattr(feature_extractor, "sampling_rate", 16000))
        self._frame_duration = float(frame_duration) if frame_duration else self._compute_frame_duration()
        self._min_samples = self._compute_min_samples()
        self._window_samples = self._compute_window_samples()
        logger.info(
            "Loaded CTC model %s: %d tokens, blank=%r, delimiter=%r, %.4f s/frame, device=%s",
            name,
            len(vocab),
            vocab[self._blank_id],
            self._word_delimiter,
            self._frame_duration,
            self.device,
        )

    # -- properties -------------------------------------------------------------------------

    @property
    def vocabulary(self) -> list[str]:
        """Token strings indexed by id (length = number of CTC outputs)."""
        return self._vocabulary

    @property
    def blank_id(self) -> int:
        """Id of the CTC blank: the tokenizer's pad token, as in wav2vec2 CTC."""
        return self._blank_id

    @property
    def word_delimiter(self) -> str:
        """The tokenizer's word-delimiter token when it is in the vocabulary (``"|"``), else ``" "``."""
        return self._word_delimiter

    @property
    def frame_duration(self) -> float:
        """Seconds per output frame (0.02 for wav2vec2).

        Computed, in order of preference, from the model's ``_get_feat_extract_output_lengths``
        (wav2vec2 family, adapters included) as the slope between 1 s and 2 s of input, from
        ``prod(config.conv_stride) / sampling_rate``, or by running the model on 1 s and 2 s of
        silence and taking ``samples / frames`` from the difference (robust to edge frames).
        """
        return self._frame_duration

    def _compute_frame_duration(self) -> float:
        """Measure seconds per output frame (see :attr:`frame_duration`)."""
        sr = self.sampling_rate
        lengths_fn = getattr(self.model, "_get_feat_extract_output_lengths", None)
        if callable(lengths_fn):
            frames = lengths_fn(torch.tensor([sr, 2 * sr]))
            delta = int(frames[1] - frames[0])
            if delta > 0:
                return 1.0 / delta
        strides = getattr(self.model.config, "conv_stride", None)
        if strides:
            return float(np.prod(strides)) / sr
        n1 = self._probe_frames(sr)
        n2 = self._probe_frames(2 * sr)
        if n2 <= n1:
            raise ValueError(
                f"{self.name_or_path}: cannot measure the frame duration (1 s -> {n1} frames, 2 s -> {n2} frames); "
                "pass frame_duration= explicitly"
            )
        return 1.0 / (n2 - n1)

    def _compute_min_samples(self) -> int:
        """Fewest input samples giving one output frame (shorter waves are zero-padded to it), 1 if unknown."""
        lengths_fn = getattr(self.model, "_get_feat_extract_output_lengths", None)
        if not callable(lengths_fn):
            return 1
        frames = lengths_fn(torch.arange(1, 2 * self.sampling_rate + 1))
        ok = torch.nonzero(frames >= 1)
        return int(ok[0, 0]) + 1 if ok.numel() else 1

    def _compute_window_samples(self) -> int | None:
        """Samples per window of a fixed-window feature extractor (Whisper: 480000), ``None`` for others.

        Such extractors truncate longer input, so :meth:`log_probs` cuts long waves into windows. The
        window is used only when it is a whole number of output frames, so windows join frame-exactly.
        """
        window = getattr(self.feature_extractor, "n_samples", None)
        if not isinstance(window, int) or window <= 0:
            return None
        frames = window / (self.sampling_rate * self._frame_duration)
        if abs(frames - round(frames)) > 1e-6:
            logger.warning(
                "%s: feature window of %d samples is not a whole number of frames; long waves are truncated",
                self.name_or_path,
                window,
            )
            return None
        return window

    def _probe_frames(self, n_samples: int) -> int:
        """Number of output frames for ``n_samples`` of silence."""
        with torch.inference_mode():
            inputs = self._prepare([np.zeros(n_samples, dtype=np.float32)])
            return int(self.model(**inputs).logits.shape[1])

    # -- inference --------------------------------------------------------------------------

    def _prepare(self, waves: list[np.ndarray]) -> dict[str, torch.Tensor]:
        """Feature-extract a batch (padded, with an attention mask when the extractor returns one).

        Fixed-window extractors (Whisper) pad every wave to their window, with zeros, as the model was
        trained; padding to the longest wave would compute the end of that wave differently.
        """
        padding = "max_length" if getattr(self, "_window_samples", None) else True
        batch = self.feature_extractor(waves, sampling_rate=self.sampling_rate, padding=padding, return_tensors="pt")
        inputs = {}
        for key, value in batch.items():
            if not isinstance(value, torch.Tensor):
                continue
            value = value.to(self.device)
            if value.is_floating_point():
                value = value.to(self.dtype)
            inputs[key] = value
        return inputs

    def _output_lengths(self, n_samples: list[int], n_frames: int) -> list[int]:
        """Real number of output frames of each wave of a padded batch."""
        lengths_fn = getattr(self.model, "_get_feat_extract_output_lengths", None)
        if callable(lengths_fn):
            out = lengths_fn(torch.tensor(n_samples)).tolist()
        else:
            out = [round(n / (self.sampling_rate * self.frame_duration)) for n in n_samples]
        return [max(0, min(int(n), n_frames)) for n in out]

    def set_acoustic_window(self, window: str) -> bool:
        """Make a Whisper-encoder (``whisper_ctc``) aligner read ``"full"`` 30 s windows or ``"trimmed"`` ones.

        Returns:
            Whether the window applies: ``False`` (and nothing changes) for other CTC models, which read the audio
            as it is.
        """
        if getattr(self.model.config, "model_type", None) != "whisper_ctc":
            return False
        self.model.config.acoustic_window = window
        return True

    def log_probs(
        self, waves: list[np.ndarray], sampling_rate: int | None = None, show_progress: bool = True
    ) -> list[np.ndarray]:
        """Per-frame CTC log posteriors of each wave.

        Waves are sorted by length and run in batches of :attr:`batch_size` (less padding); each
        output is trimmed to its own number of frames. With feature extractors that return no
        attention mask (wav2vec2-base style, group-norm models) padding slightly changes the
        output of shorter waves in a batch; ``batch_size=1`` avoids it.

        Waves too short for the model's convolutions give a ``(0, V)`` array. With a fixed-window
        feature extractor (one with ``n_samples``, e.g. ``WhisperFeatureExtractor``: 30 s), longer
        waves are cut into windows of ``n_samples`` samples, each run on its own, and their log
        posteriors concatenated (the window must be a whole number of frames).

        Args:
            waves: 1-D float waveforms at :attr:`sampling_rate`.
            sampling_rate: Rate of ``waves`` in Hz, checked against the model's when given.

        Returns:
            One float32 array ``(T_i, V)`` of log posteriors per wave, in input order.

        Raises:
            ValueError: On a wrong sampling rate or an empty / non-1-D wave.
        """
        if sampling_rate is not None and int(sampling_rate) != self.sampling_rate:
            raise ValueError(
                f"{self.name_or_path}: waves at {sampling_rate} Hz, the model expects {self.sampling_rate} Hz"
            )
        arrays = []
        for i, wave in enumerate(waves):
            arr = np.asarray(wave, dtype=np.float32)
            if arr.ndim != 1 or arr.size == 0:
                raise ValueError(f"{self.name_or_path}: wave {i} must be a non-empty 1-D array, got shape {arr.shape}")
            arrays.append(arr)
        waves_in = arrays
        owners = list(range(len(arrays)))
        window = self._window_samples
        if window:
            arrays, owners = [], []
            for i, arr in enumerate(waves_in):
                for start in range(0, arr.shape[0], window):
                    arrays.append(arr[start : start + window])
                    owners.append(i)
        order = sorted(range(len(arrays)), key=lambda i: -arrays[i].shape[0])
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        results: list[np.ndarray | None] = [None] * len(arrays)
        with torch.inference_mode():
            for batch in tqdm(
                batches,
                desc="CTC log-probs",
                unit="batch",
                disable=not show_progress or len(batches) < 2,
                leave=False,
            ):
                # Waves too short for the conv stack are zero-padded to one frame's worth of samples;
                # their output is trimmed to their real length (0 frames) below.
                inputs = self._prepare([_pad_to(arrays[i], self._min_samples) for i in batch])
                logits = self.model(**inputs).logits.float()
                lp = torch.log_softmax(logits, dim=-1).cpu().numpy()
                lengths = self._output_lengths([arrays[i].shape[0] for i in batch], lp.shape[1])
                for row, (i, n) in enumerate(zip(batch, lengths)):
                    results[i] = np.ascontiguousarray(lp[row, :n], dtype=np.float32)
        if len(arrays) == len(waves_in):
            return results  # type: ignore[return-value]
        pieces: list[list[np.ndarray]] = [[] for _ in waves_in]
        for owner, part in zip(owners, results):
            pieces[owner].append(part)  # type: ignore[arg-type]
        return [parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0) for parts in pieces]

    def __repr__(self) -> str:
        return (
            f"CtcModel({self.name_or_path!r}, tokens={len(self.vocabulary)}, "
            f"frame_duration={self.frame_duration:.4f}, device={self.device})"
        )


# --------------------------------------------------------------------------------------------
# Greedy decoding
# --------------------------------------------------------------------------------------------


def greedy_transcribe(log_probs: np.ndarray, model: CtcVocabulary) -> Transcription:
    """Greedy (best-path) CTC decoding with per-word confidence.

    Frame-wise argmax, repeats collapsed, blanks dropped; the delimiter token (and a leading
    ``"▁"`` on sentencepiece-style tokens, or a space) separates words; markers such as
    ``<unk>`` produce no text.

    Args:
        log_probs: ``(T, V)`` log posteriors of one answer.
        model: A :class:`CtcVocabulary`.

    Returns:
        A :class:`Transcription`; ``word_confidence[k]`` is the mean, over the frames whose argmax
        is one of word ``k``'s text tokens (repeats included), of the frame's max posterior.

    Example:
        >>> vocab = SimpleVocabulary(["<pad>", "|", "A", "B"])
        >>> lp = np.log(np.eye(4)[[2, 2, 0, 1, 3, 0]] * 0.96 + 0.01)
        >>> t = greedy_transcribe(lp, vocab)
        >>> t.text, [round(float(c), 2) for c in t.word_confidence]
        ('A B', [0.97, 0.97])
    """
    lp = _check_log_probs(log_probs, model, "greedy_transcribe")
    vocab = list(model.vocabulary)
    if lp.shape[0] == 0:
        return Transcription("", [], np.zeros(0, dtype=np.float32))
    best = lp.argmax(axis=1)
    best_p = np.exp(lp.max(axis=1).astype(np.float64))
    delim = _delimiter_id(model)
    special = _special_mask(model)
    words: list[str] = []
    confidences: list[float] = []
    current: list[str] = []
    probs: list[float] = []

    def flush() -> None:
        text = "".join(current).strip()
        if text:
            words.append(text)
            confidences.append(float(np.mean(probs)))
        current.clear()
        probs.clear()

    prev = -1
    for t, idx in enumerate(best.tolist()):
        if idx == delim:
            flush()
        elif not special[idx]:
            if idx != prev:
                token = vocab[idx]
                if token.startswith("▁"):
                    flush()
                    token = token[1:]
                current.append(token)
            probs.append(best_p[t])
        prev = idx
    flush()
    return Transcription(" ".join(words), words, np.asarray(confidences, dtype=np.float32))


def segment_confidence(log_probs: np.ndarray, segments: list[WordSegment], model: CtcVocabulary) -> np.ndarray:
    """ASR-style confidence of words given by time segments rather than by greedy decoding.

    The same definition as :attr:`Transcription.word_confidence`, with the frames chosen by time:
    the mean, over the frames inside ``[start, end)`` whose argmax is a text token, of the frame's
    max posterior. Used when the transcript is given (human) instead of recognised.

    Args:
        log_probs: ``(T, V)`` log posteriors.
        segments: Word segments (seconds).
        model: A :class:`CtcVocabulary` describing ``log_probs``.

    Returns:
        Float32 array ``(n_words,)``; ``NaN`` for unaligned words or segments with no text frame.
    """
    lp = _check_log_probs(log_probs, model, "segment_confidence")
    special = _special_mask(model)
    best = lp.argmax(axis=1) if lp.shape[0] else np.zeros(0, dtype=int)
    best_p = np.exp(lp.max(axis=1)) if lp.shape[0] else np.zeros(0)
    out = np.full(len(segments), np.nan, dtype=np.float32)
    for k, seg in enumerate(segments):
        window = _segment_frames(seg, model.frame_duration, lp.shape[0])
        if window is None:
            continue
        f0, f1 = window
        keep = ~special[best[f0:f1]]
        if keep.any():
            out[k] = float(best_p[f0:f1][keep].mean())
    return out


# --------------------------------------------------------------------------------------------
# Alignment
# --------------------------------------------------------------------------------------------


def align_words(log_probs: np.ndarray, words: list[str], model: CtcVocabulary) -> list[WordSegment]:
    """Align words to CTC log posteriors with ``ctc_segmentation``, one word per "utterance".

    Args:
        log_probs: ``(T, V)`` log posteriors of one answer (from :meth:`CtcModel.log_probs`).
        words: The transcript's words, in order (any case; punctuation is dropped for alignment).
        model: A :class:`CtcVocabulary` (``CtcModel`` or :class:`SimpleVocabulary`).

    Returns:
        One :class:`WordSegment` per input word, in order; times in seconds. Words with no
        character in the vocabulary get ``NaN`` start/end/score (see the module docstring).
        An empty ``words`` list returns ``[]``.

    Raises:
        AlignmentError: When the transcript is longer than the audio permits (or the alignment
            fails), or ``log_probs`` has no frame.
    """
    from ctc_segmentation import (
        CtcSegmentationParameters,
        ctc_segmentation,
        determine_utterance_segments,
        prepare_token_list,
    )

    lp_raw = _check_log_probs(log_probs, model, "align_words")
    if not words:
        return []
    n_frames = lp_raw.shape[0]
    if n_frames == 0:
        raise AlignmentError("align_words: audio too short (0 CTC frames)")
    token_ids = encode_words(list(words), model)
    alignable = [k for k, ids in enumerate(token_ids) if ids]
    segments = [WordSegment(str(w), math.nan, math.nan, math.nan) for w in words]
    if not alignable:
        logger.warning(
            "align_words: no word of %r has a character in the vocabulary",
            " ".join(words),
        )
        return segments
    lp = _merged_blank(lp_raw, model)
    blank = model.blank_id
    duration = float(model.frame_duration)
    config = CtcSegmentationParameters(char_list=list(model.vocabulary), index_duration=duration, blank=blank)
    utterances = [np.asarray(token_ids[k], dtype=np.int64) for k in alignable]
    ground_truth, utt_begin = prepare_token_list(config, utterances)
    n_tokens = int(ground_truth.shape[0])
    if n_tokens > n_frames:
        raise AlignmentError(
            f"align_words: transcript longer than audio ({n_tokens} CTC states for {n_frames} frames "
            f"= {n_frames * duration:.2f} s)"
        )
    try:
        timings, char_probs, _ = ctc_segmentation(config, lp, ground_truth)
        utt_segments = determine_utterance_segments(
            config, utt_begin, char_probs, timings, [words[k] for k in alignable]
        )
    except (AssertionError, IndexError) as exc:
        raise AlignmentError(f"align_words: transcript longer than audio ({type(exc).__name__}: {exc})") from exc

    frames = np.rint(np.asarray(timings) / duration).astype(np.int64)
    starts = [int(frames[utt_begin[j] + 1]) for j in range(len(alignable))]
    for j, k in enumerate(alignable):
        ids = token_ids[k]
        last_pos = utt_begin[j] + len(ids)
        last_id = ids[-1]
        t = int(frames[last_pos])
        bound = starts[j + 1] if j + 1 < len(alignable) else n_frames
        while t + 1 < bound and lp[t + 1, last_id] >= lp[t + 1, blank]:
            t += 1
        start = starts[j] * duration
        end = max(t + 1, starts[j] + 1) * duration
        segments[k] = WordSegment(str(words[k]), float(start), float(end), float(utt_segments[j][2]))
    return segments


# --------------------------------------------------------------------------------------------
# Word posteriors
# --------------------------------------------------------------------------------------------


def _segment_frames(seg: WordSegment, frame_duration: float, n_frames: int) -> tuple[int, int] | None:
    """Frame window ``[f0, f1)`` covering ``[seg.start, seg.end)`` (at least one frame), or ``None``."""
    if not seg.aligned or n_frames == 0:
        return None
    f0 = math.floor(seg.start / frame_duration + 1e-6)
    f1 = math.ceil(seg.end / frame_duration - 1e-6)
    f0 = min(max(f0, 0), n_frames - 1)
    f1 = min(max(f1, f0 + 1), n_frames)
    return f0, f1


def _min_frames(ids: list[int]) -> int:
    """Fewest frames a CTC path needs to emit ``ids`` (one blank between repeated tokens)."""
    return len(ids) + sum(a == b for a, b in itertools.pairwise(ids))


def forced_path_posterior(log_probs: np.ndarray, ids: list[int], blank_id: int) -> float:
    """Mean posterior of the tokens on the best CTC path forced to emit ``ids`` over all frames.

    Viterbi over the standard CTC topology (optional blanks around and between tokens, a blank
    required between two equal tokens), starting in the first blank or token and ending in the
    last token or the final blank.

    Args:
        log_probs: ``(T, V)`` log posteriors of the window (blank column already merged).
        ids: Token ids of the word (non-empty).
        blank_id: Blank id.

    Returns:
        The mean, over the frames where the best path is in a token state, of ``exp`` of that
        token's log posterior; ``NaN`` when no path fits in ``T`` frames.

    Example:
        >>> lp = np.log(np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.3, 0.0, 0.7]]) + 1e-12)
        >>> round(forced_path_posterior(lp, [1, 2], blank_id=0), 3)
        0.8
    """
    n_frames = log_probs.shape[0]
    if not ids or n_frames < _min_frames(ids):
        return math.nan
    ext = np.full(2 * len(ids) + 1, blank_id, dtype=np.int64)
    ext[1::2] = ids
    n_states = ext.shape[0]
    can_skip = np.zeros(n_states, dtype=bool)
    can_skip[3::2] = ext[3::2] != ext[1:-2:2]
    neg = -np.inf
    emit = log_probs[:, ext].astype(np.float64)
    delta = np.full(n_states, neg)
    delta[0] = emit[0, 0]
    delta[1] = emit[0, 1]
    back = np.zeros((n_frames, n_states), dtype=np.int8)
    for t in range(1, n_frames):
        stay = delta
        step = np.concatenate(([neg], delta[:-1]))
        skip = np.where(can_skip, np.concatenate(([neg, neg], delta[:-2])), neg)
        cand = np.stack([stay, step, skip])
        choice = cand.argmax(axis=0)
        delta = cand[choice, np.arange(n_states)] + emit[t]
        back[t] = choice
    end_state = n_states - 1 if delta[n_states - 1] >= delta[n_states - 2] else n_states - 2
    if not np.isfinite(delta[end_state]):
        return math.nan
    state = end_state
    token_logp: list[float] = []
    for t in range(n_frames - 1, -1, -1):
        if state % 2 == 1:
            token_logp.append(emit[t, state])
        state -= int(back[t, state])
    if not token_logp:
        return math.nan
    return float(np.mean(np.exp(token_logp)))


def word_posteriors(
    log_probs: np.ndarray,
    segments: list[WordSegment],
    words: list[str],
    model: CtcVocabulary,
) -> np.ndarray:
    """Per-word acoustic posterior of the words under ``model``, inside their time segments.

    Definition: the word is mapped to ``model``'s tokens (module text normalisation); its segment
    ``[start, end)`` is mapped to ``model``'s frames (``floor(start / frame_duration)`` to
    ``ceil(end / frame_duration)``, so models with different frame rates work on the same
    segments), widened one frame at a time on both sides when too short for the tokens; then the
    posterior is :func:`forced_path_posterior`: the mean, over the frames where the best CTC path
    forced to the word's tokens emits a token, of that token's posterior probability (blank frames
    excluded). Computed for the monolingual model on its own segments and for the multilingual
    model on the same segments.

    Args:
        log_probs: ``(T, V)`` log posteriors of the answer under ``model``.
        segments: One :class:`WordSegment` per word (from :func:`align_words`, any model).
        words: The words (same length as ``segments``).
        model: A :class:`CtcVocabulary` describing ``log_probs``.

    Returns:
        Float32 array ``(n_words,)`` in ``[0, 1]``; ``NaN`` for unaligned words and words with no
        character in ``model``'s vocabulary.

    Raises:
        ValueError: When ``segments`` and ``words`` differ in length.
    """
    lp_raw = _check_log_probs(log_probs, model, "word_posteriors")
    if len(segments) != len(words):
        raise ValueError(f"word_posteriors: {len(segments)} segments for {len(words)} words")
    out = np.full(len(words), np.nan, dtype=np.float32)
    if not words or lp_raw.shape[0] == 0:
        return out
    lp = _merged_blank(lp_raw, model)
    n_frames = lp.shape[0]
    for k, (seg, ids) in enumerate(zip(segments, encode_words(list(words), model))):
        window = _segment_frames(seg, model.frame_duration, n_frames)
        if window is None or not ids:
            continue
        f0, f1 = window
        need = _min_frames(ids)
        while f1 - f0 < need and (f0 > 0 or f1 < n_frames):
            f0 = max(f0 - 1, 0)
            if f1 - f0 < need:
                f1 = min(f1 + 1, n_frames)
        out[k] = forced_path_posterior(lp[f0:f1], ids, model.blank_id)
    return out


__all__ = [
    "AlignmentError",
    "CtcModel",
    "CtcModelLoadError",
    "CtcVocabulary",
    "SimpleVocabulary",
    "Transcription",
    "WordSegment",
    "align_words",
    "encode_words",
    "forced_path_posterior",
    "greedy_transcribe",
    "normalize_words",
    "segment_confidence",
    "word_posteriors",
]

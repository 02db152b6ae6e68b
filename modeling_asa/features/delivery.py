# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Per-word delivery features: timing, prosody, acoustic posteriors, LM score and ASR confidence.

For each response, :class:`DeliveryExtractor` gets a transcript (the given one, or the greedy
transcript of the multilingual CTC model), aligns it word by word with the monolingual CTC model
(:func:`~modeling_asa.features.alignment.align_words`) and builds one vector per word whose columns
are :data:`DELIVERY_FIELDS`:

=====================  ========================================================================
``duration_s``         word duration ``end - start`` (s), from the alignment
``silence_after_s``    pause after the word: the next aligned word's start minus this word's end
                       (s, clipped at 0); ``0`` for the last aligned word, because the silence
                       between the last word and the end of the recording depends on when the
                       recording was stopped, not on the speaker's fluency
prosody fields         :data:`~modeling_asa.features.prosody.PROSODY_FIELDS` (8 columns: pitch
                       mean/std/min/max in semitones re 100 Hz, voiced fraction, intensity
                       mean/std/max in dB)
``mono_posterior``     :func:`~modeling_asa.features.alignment.word_posteriors` of the
                       monolingual (alignment) model on its own segments, in ``[0, 1]``
``multi_posterior``    the same under the multilingual model, on the same time segments
                       (``NaN`` without a multilingual model)
``lm_log10_prob``      n-gram LM log10 probability of the word given its history
                       (``lm.word_scores(words)``; ``NaN`` without an LM)
``asr_confidence``     ASR confidence: for ASR transcripts the greedy per-word confidence
                       (:class:`~modeling_asa.features.alignment.Transcription`); for given
                       transcripts the same definition on the frames of the word's segment
                       (:func:`~modeling_asa.features.alignment.segment_confidence`)
=====================  ========================================================================

``NaN`` marks a value that is not available (unaligned word, no multilingual model, no LM).
:func:`fit_normalizer` ignores ``NaN``; the model standardises its delivery input with the fitted statistics
and then replaces ``NaN`` by 0, i.e. by the training mean. The pipeline fits the normaliser on the **train split
only** and applies it to every split, so no statistic leaks from dev/test.

Example:
    >>> import numpy as np
    >>> from modeling_asa.features.alignment import WordSegment
    >>> wave = np.zeros(16000, dtype=np.float32)
    >>> segs = [WordSegment("hi", 0.1, 0.3, -0.1), WordSegment("there", 0.5, 0.8, -0.2)]
    >>> feats = compute_delivery_features(wave, 16000, segs, np.array([0.9, 0.8]), None, None, np.array([0.7, 0.6]))
    >>> feats.shape == (2, len(DELIVERY_FIELDS)), [round(float(v), 2) for v in feats[:, 1]]
    (True, [0.2, 0.0])
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .alignment import (
    AlignmentError,
    CtcModel,
    WordSegment,
    align_words,
    greedy_transcribe,
    segment_confidence,
    word_posteriors,
)
from .fields import (
    CORE_FIELDS,
    DELIVERY_FIELD_DESCRIPTIONS,
    DELIVERY_FIELDS,
    LM_FIELD,
    delivery_matrix,
)
from .prosody import word_prosody
from .stage import Answer, Column, FeatureStage, model_identity, one_line

logger = logging.getLogger(__name__)


@dataclass
class DeliveryResult:
    """Delivery features of one response.

    Attributes:
        words: The transcript's words (whitespace split; empty when ``problem`` is set).
        segments: One :class:`~modeling_asa.features.alignment.WordSegment` per word.
        features: Float32 array ``(n_words, len(DELIVERY_FIELDS))`` (``(0, F)`` on a problem).
        transcript: The transcript used (given, or greedy ASR output).
        problem: ``None``, or a one-line description of why this response has no features.
    """

    words: list[str]
    segments: list[WordSegment]
    features: np.ndarray
    transcript: str
    problem: str | None = None


def _optional_column(values: np.ndarray | Sequence[float] | None, n_words: int, name: str) -> np.ndarray:
    """A float column of length ``n_words``; ``NaN`` when ``values`` is ``None``."""
    if values is None:
        return np.full(n_words, np.nan, dtype=np.float64)
    col = np.asarray(values, dtype=np.float64).reshape(-1)
    if col.shape[0] != n_words:
        raise ValueError(f"compute_delivery_features: {name} has {col.shape[0]} values for {n_words} words")
    return col


def compute_delivery_features(
    wave: np.ndarray,
    sr: int,
    segments: Sequence[WordSegment],
    mono_posteriors: np.ndarray | None,
    multi_posteriors: np.ndarray | None,
    lm_scores: np.ndarray | None,
    asr_confidence: np.ndarray | None,
) -> np.ndarray:
    """Assemble the per-word delivery matrix (columns :data:`DELIVERY_FIELDS`).

    Args:
        wave: 1-D waveform of the response (for prosody).
        sr: Sample rate of ``wave`` in Hz.
        segments: Aligned words in order (``NaN`` times for unaligned words).
        mono_posteriors: ``(n_words,)`` monolingual-model posteriors, or ``None`` (-> ``NaN``).
        multi_posteriors: ``(n_words,)`` multilingual-model posteriors, or ``None`` (-> ``NaN``).
        lm_scores: ``(n_words,)`` LM log10 probabilities, or ``None`` (-> ``NaN``).
        asr_confidence: ``(n_words,)`` ASR confidences, or ``None`` (-> ``NaN``).

    Returns:
        Float32 array ``(n_words, len(DELIVERY_FIELDS))``; unaligned words have ``NaN`` timing and
        prosody columns.

    Raises:
        ValueError: When a per-word array does not have one value per segment.
        ProsodyError: When Praat cannot analyse the wave.
    """
    n = len(segments)
    starts = np.array([s.start for s in segments], dtype=np.float64)
    ends = np.array([s.end for s in segments], dtype=np.float64)
    duration = ends - starts
    silence = np.full(n, np.nan, dtype=np.float64)
    aligned = [k for k in range(n) if math.isfinite(starts[k]) and math.isfinite(ends[k])]
    for j, k in enumerate(aligned):
        silence[k] = max(0.0, starts[aligned[j + 1]] - ends[k]) if j + 1 < len(aligned) else 0.0
    columns = [
        duration[:, None],
        silence[:, None],
        word_prosody(wave, sr, segments).astype(np.float64),
        _optional_column(mono_posteriors, n, "mono_posteriors")[:, None],
        _optional_column(multi_posteriors, n, "multi_posteriors")[:, None],
        _optional_column(lm_scores, n, "lm_scores")[:, None],
        _optional_column(asr_confidence, n, "asr_confidence")[:, None],
    ]
    return np.concatenate(columns, axis=1).astype(np.float32).reshape(n, len(DELIVERY_FIELDS))


def fit_normalizer(
    feature_arrays: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Per-field mean and standard deviation over all words of all responses, ignoring ``NaN``.

    Call it on the **train split only** (the pipeline does) and apply the result to every split
    by the model (``AsaHybridConfig.delivery_feature_mean`` / ``delivery_feature_std``).

    Args:
        feature_arrays: Arrays ``(n_words_i, F)`` (responses with 0 words are fine).

    Returns:
        ``(mean, std)``, float32 arrays ``(F,)``; ``std`` is floored at ``1e-6``. A field with no
        finite value gets mean 0 and std 1.

    Raises:
        ValueError: When there is no array, the widths differ, or there is no word at all.

    Example:
        >>> mean, std = fit_normalizer([np.array([[1.0, np.nan], [3.0, np.nan]])])
        >>> mean.tolist(), std.tolist()
        ([2.0, 0.0], [1.0, 1.0])
    """
    if not feature_arrays:
        raise ValueError("fit_normalizer: no feature arrays given")
    widths = {np.asarray(a).shape[-1] for a in feature_arrays}
    if len(widths) != 1:
        raise ValueError(f"fit_normalizer: feature arrays have different widths {sorted(widths)}")
    width = widths.pop()
    stacked = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1, width) for a in feature_arrays])
    if stacked.shape[0] == 0:
        raise ValueError("fit_normalizer: the feature arrays contain no word")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        mean = np.nanmean(stacked, axis=0)
        std = np.nanstd(stacked, axis=0)
    empty = ~np.isfinite(mean)
    mean[empty] = 0.0
    std[empty] = 1.0
    std = np.maximum(np.nan_to_num(std, nan=1.0), 1e-6)
    return mean.astype(np.float32), std.astype(np.float32)


class DeliveryExtractor:
    """Compute :class:`DeliveryResult` for a list of responses.

    Args:
        mono: Monolingual CTC model, used for alignment and ``mono_posterior``.
        multi: Multilingual CTC model, used for the ASR transcript (when none is given),
            ``multi_posterior`` and ``asr_confidence``; ``None`` uses ``mono`` for ASR and leaves
            ``multi_posterior`` ``NaN``.

    ``lm_log10_prob`` is left ``NaN``: the LM stage ([`~modeling_asa.features.lm.LmStage`]) computes that column.

    Example:
        >>> extractor = DeliveryExtractor(CtcModel("/models/wav2vec2-en"), CtcModel("/models/xlsr"))  # doctest: +SKIP
        >>> results = extractor.extract([wave], [None])  # doctest: +SKIP
        >>> results[0].features.shape  # doctest: +SKIP
        (7, 16)
    """

    def __init__(
        self,
        mono: CtcModel,
        multi: CtcModel | None = None,
    ) -> None:
        self.mono = mono
        self.multi = multi

    @property
    def asr_model(self) -> CtcModel:
        """The model whose greedy transcript is used when none is given (multi, else mono)."""
        return self.multi if self.multi is not None else self.mono

    @staticmethod
    def _log_probs_safe(
        model: CtcModel, waves: dict[int, np.ndarray], sr: int, show_progress: bool = True
    ) -> dict[int, np.ndarray | str]:
        """Log posteriors per response index; a failing response maps to its error message."""
        from ..audio import to_mono_16k

        if not waves:
            return {}
        keys = list(waves)
        arrays = [waves[k] for k in keys]
        if sr != model.sampling_rate:
            arrays = [to_mono_16k(a, sr, target_sr=model.sampling_rate, min_duration=0.0) for a in arrays]
        try:
            return dict(zip(keys, model.log_probs(arrays, show_progress=show_progress)))
        except Exception as exc:  # noqa: BLE001 - fall back to one response at a time
            logger.warning(
                "%s: batched forward failed (%s); retrying one response at a time",
                model,
                exc,
            )
        out: dict[int, np.ndarray | str] = {}
        for key, arr in zip(keys, arrays):
            try:
                out[key] = model.log_probs([arr], show_progress=False)[0]
            except Exception as exc:  # noqa: BLE001 - reported as the response's problem
                out[key] = f"CTC forward failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        return out

    def _one(
        self,
        wave: np.ndarray,
        sr: int,
        transcript: str | None,
        lp_mono: np.ndarray,
        lp_multi: np.ndarray | None,
        given_confidence: np.ndarray | None = None,
    ) -> DeliveryResult:
        """Delivery features of one valid response (raises on a problem)."""
        if lp_mono.shape[0] == 0:
            raise AlignmentError("audio too short (0 CTC frames)")
        lp_asr = lp_multi if self.multi is not None else lp_mono
        confidence: np.ndarray | None = None
        if transcript is None:
            transcription = greedy_transcribe(lp_asr, self.asr_model)
            text, words, confidence = (
                transcription.text,
                transcription.words,
                transcription.word_confidence,
            )
            if not words:
                raise AlignmentError("empty transcript (the ASR model recognised no word)")
        else:
            words = transcript.split()
            text = " ".join(words)
            if not words:
                raise AlignmentError("empty transcript")
            usable = given_confidence is not None and len(given_confidence) == len(words)
            if usable and np.isfinite(given_confidence).any():
                confidence = np.asarray(given_confidence, dtype=np.float32)
        segments = align_words(lp_mono, words, self.mono)
        if not any(s.aligned for s in segments):
            raise AlignmentError("no word could be aligned (no character in the model vocabulary)")
        if confidence is None:
            confidence = segment_confidence(lp_asr, segments, self.asr_model)
        mono_post = word_posteriors(lp_mono, segments, words, self.mono)
        multi_post = word_posteriors(lp_multi, segments, words, self.multi) if self.multi is not None else None
        features = compute_delivery_features(wave, sr, segments, mono_post, multi_post, None, confidence)
        return DeliveryResult(list(words), segments, features, text, None)

    def extract(
        self,
        waves: Sequence[np.ndarray],
        transcripts: Sequence[str | None],
        sampling_rate: int | None = None,
        multi_log_probs: Sequence[np.ndarray | None] | None = None,
        show_progress: bool = True,
        confidences: Sequence[np.ndarray | None] | None = None,
    ) -> list[DeliveryResult]:
        """Delivery features of several responses; one bad response never stops the others.

        Args:
            waves: 1-D waveforms.
            transcripts: One transcript per wave, or ``None`` to use the greedy transcript of the
                multilingual model (the monolingual one when ``multi`` is ``None``).
            sampling_rate: Rate of ``waves`` in Hz; defaults to the monolingual model's. Waves are
                resampled for a model with another rate; prosody uses the waves as given.
            multi_log_probs: Log posteriors of the multilingual model already computed elsewhere (e.g. by
                its CTC head on cached encoder states, see ``FeaturePipeline``), one per wave; the
                multilingual model is then not run on the waves. ``None`` entries are computed as usual.
            show_progress: Progress bars over the responses and the model batches (a caller with its own
                bar, such as ``FeaturePipeline``, turns them off).
            confidences: Per transcript, the recogniser's per-word confidence (``asr_confidence``), or ``None``
                (then it is measured on the frames of each word's segment, as for a given transcript).

        Returns:
            One :class:`DeliveryResult` per response, in order. A response that fails (empty or
            too-short wave, empty transcript, transcript longer than the audio, ...) has
            ``problem`` set, no words and a ``(0, len(DELIVERY_FIELDS))`` feature array.

        Raises:
            ValueError: When ``waves`` and ``transcripts`` differ in length.
        """
        if len(waves) != len(transcripts):
            raise ValueError(f"DeliveryExtractor.extract: {len(waves)} waves for {len(transcripts)} transcripts")
        sr = int(sampling_rate or self.mono.sampling_rate)
        problems: dict[int, str] = {}
        valid: dict[int, np.ndarray] = {}
        for i, wave in enumerate(waves):
            arr = np.asarray(wave, dtype=np.float32)
            if arr.ndim != 1:
                problems[i] = f"expected a 1-D wave, got shape {arr.shape}"
            elif arr.size == 0:
                problems[i] = "empty wave (0 samples)"
            elif not np.isfinite(arr).all():
                problems[i] = "wave contains non-finite samples"
            else:
                valid[i] = arr
        lp_mono = self._log_probs_safe(self.mono, valid, sr, show_progress)
        lp_multi: dict[int, np.ndarray | str] = {}
        if self.multi is not None:
            given = {
                i: multi_log_probs[i] for i in valid if multi_log_probs is not None and multi_log_probs[i] is not None
            }
            lp_multi = dict(given)
            rest = {i: w for i, w in valid.items() if i not in given}
            lp_multi.update(self._log_probs_safe(self.multi, rest, sr, show_progress))
        results: list[DeliveryResult] = []
        empty = np.zeros((0, len(DELIVERY_FIELDS)), dtype=np.float32)
        for i in tqdm(
            range(len(waves)),
            desc="delivery features",
            unit="resp",
            disable=not show_progress or len(waves) < 2,
            leave=False,
        ):
            given = transcripts[i]
            if i not in problems:
                mono_i, multi_i = lp_mono.get(i), lp_multi.get(i)
                failed = next((x for x in (mono_i, multi_i) if isinstance(x, str)), None)
                if failed is not None:
                    problems[i] = failed
                else:
                    try:
                        conf = confidences[i] if confidences is not None else None
                        results.append(self._one(valid[i], sr, given, mono_i, multi_i, conf))
                        continue
                    except Exception as exc:  # noqa: BLE001 - one bad response must not stop the batch
                        problems[i] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            results.append(DeliveryResult([], [], empty.copy(), given or "", problems[i]))
        return results


def _model_type(name_or_path: str | None) -> str | None:
    """``model_type`` from a local model folder's config.json (``None`` for a Hub id or no model)."""
    import json
    from pathlib import Path

    if name_or_path is None or not (Path(name_or_path) / "config.json").is_file():
        return None
    try:
        return json.loads((Path(name_or_path) / "config.json").read_text()).get("model_type")
    except (OSError, ValueError):
        return None


class DeliveryStage(FeatureStage):
    """The delivery stage: transcript, CTC-segmentation words, prosody, posteriors and ASR confidence per word.

    Args:
        ctc_model (`str`): Monolingual CTC model (alignment, ``mono_posterior``).
        asr_model (`str`, *optional*): Multilingual CTC model (transcript when none is given, ``multi_posterior``,
            ASR confidence); ``None`` uses ``ctc_model`` for ASR and leaves ``multi_posterior`` undefined.
        content_encoder (`str`, *optional*): The content stage's Whisper encoder. When ``asr_model`` is a Whisper
            encoder + CTC head (``whisper_ctc``) with this very encoder, one Whisper pass serves both: the head reads
            the content stage's (float16) states instead of re-running the encoder, and the stage needs ``content``.
        acoustic_window (`str`, *optional*, defaults to `"full"`): The window the Whisper-encoder (``whisper_ctc``)
            aligners read: ``"full"`` 30 s windows or ``"trimmed"`` (the answer's own frames).
        recognized (`bool`, *optional*, defaults to `False`): The recogniser stage runs before this one: its words
            are aligned (a given transcript still wins) and its per-word confidence is ``asr_confidence``; an answer
            in which it heard no word is a problem. Without it the ASR model's greedy CTC transcript is aligned.
    """

    name = "delivery"
    model_options = ("ctc_model", "asr_model")

    def __init__(
        self,
        ctc_model: str,
        asr_model: str | None = None,
        content_encoder: str | None = None,
        acoustic_window: str = "full",
        device: str | None = None,
        batch_size: int = 8,
        recognized: bool = False,
    ) -> None:
        super().__init__(device, batch_size)
        self.recognized = bool(recognized)
        self.ctc_model = ctc_model
        self.asr_model = asr_model
        self.acoustic_window = acoustic_window
        # Only a whisper_ctc ASR model can share the content pass (read from its config.json, no loading).
        self.content_encoder = content_encoder if _model_type(asr_model) == "whisper_ctc" else None
        self.extractor: DeliveryExtractor | None = None
        self._shared = False

    @property
    def needs(self) -> tuple[str, ...]:
        return (("content",) if self.content_encoder else ()) + (("recognition",) if self.recognized else ())

    def settings(self) -> dict[str, Any]:
        settings = {
            "ctc_model": self.ctc_model,
            "asr_model": self.asr_model,
            "shares_content_pass": self.content_encoder is not None,
        }
        if self.recognized:  # absent otherwise, so caches made before the recogniser stage stay valid
            settings["recognized"] = True
        whisper_aligner = any(_model_type(m) == "whisper_ctc" for m in (self.ctc_model, self.asr_model))
        if whisper_aligner and self.acoustic_window != "full":
            # the window changes the output of Whisper-encoder aligners only (and "full" is left out of the key so
            # caches made before the option existed stay valid)
            settings["acoustic_window"] = self.acoustic_window
        return settings

    def recipe(self) -> dict[str, Any]:
        recipe = {**self.settings(), "acoustic_window": self.acoustic_window}
        if self.loaded:
            recipe["shares_content_pass"] = self._shared
        return recipe

    def cache_key(self, needed_keys=()) -> dict[str, Any]:
        key = super().cache_key(needed_keys)
        key["settings"]["content_encoder"] = model_identity(self.content_encoder)
        return key

    def load(self) -> None:
        if self.extractor is not None:
            return
        from .alignment import CtcModel

        mono = CtcModel(self.ctc_model, device=self.device, batch_size=self.batch_size)
        multi = CtcModel(self.asr_model, device=self.device, batch_size=self.batch_size) if self.asr_model else None
        for ctc in (mono, multi):
            # Whisper-encoder aligners read the same window as the content stage ("full" or "trimmed")
            if ctc is None:
                continue
            trained_on = getattr(ctc.model.config, "acoustic_window", "full")
            if ctc.set_acoustic_window(self.acoustic_window) and trained_on != self.acoustic_window:
                if self.recognized:  # it only aligns given words and scores them: within its own-window figures
                    logger.info("%s: its CTC head was trained on %s-window states and reads %s windows; it aligns "
                                "the recogniser's words", ctc.name_or_path, trained_on, self.acoustic_window)  # fmt: skip
                    continue
                logger.warning(
                    "%s: its CTC head was trained on %s-window states and now reads %s windows (it recognises a "
                    "little worse; use an aligner trained on %s windows, docs/ctc_aligners.md)", ctc.name_or_path,
                    trained_on, self.acoustic_window, self.acoustic_window,
                )  # fmt: skip
        self.extractor = DeliveryExtractor(mono, multi)
        self._shared = self._shares_encoder(multi)
        self.loaded = True

    def _shares_encoder(self, ctc: CtcModel | None) -> bool:
        """Whether the ASR model's Whisper encoder has exactly the content encoder's weights."""
        if ctc is None or self.content_encoder is None:
            return False
        import torch

        from .content import AcousticEncoder

        model = ctc.model
        encoder, head = getattr(model, "encoder", None), getattr(model, "head", None)
        if encoder is None or head is None:
            return False
        theirs = AcousticEncoder(self.content_encoder, device="cpu").encoder.state_dict()
        ours = encoder.state_dict()
        same = theirs.keys() == ours.keys() and all(
            ours[k].shape == theirs[k].shape and torch.equal(ours[k].detach().cpu().float(), theirs[k].float())
            for k in ours
        )
        logger.info("delivery: %s %s the content stage's Whisper encoder%s", self.asr_model,
                    "shares" if same else "does not share", ": its head reads the content states" if same else "")  # fmt: skip
        return same

    def _head_log_probs(self, states: np.ndarray, n_samples: int) -> np.ndarray:
        """CTC log posteriors of the ASR head on content states (float16 as cached, computed in float32).

        With every layer kept (``acoustic_layers="all"``) the last ``d_model`` columns are the last layer's states.
        """
        import torch

        model = self.extractor.multi.model
        frames = int(model._get_feat_extract_output_lengths(n_samples))
        last = np.asarray(states, dtype=np.float32)[:frames, -int(model.config.d_model) :]
        hidden = torch.from_numpy(np.ascontiguousarray(last)).unsqueeze(0).to(model.device)
        with torch.inference_mode():
            logits = model.head(hidden.to(model.head.output.weight.dtype), torch.tensor([hidden.shape[1]]))
        return torch.log_softmax(logits[0].float(), dim=-1).cpu().numpy()

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        multi = None
        if self._shared:
            multi = [
                self._head_log_probs(i["content"]["acoustic_features"], len(a.wave)) for a, i in zip(answers, inputs)
            ]
        transcripts: list[str | None] = [a.transcript for a in answers]
        confidences: list[np.ndarray | None] = [None] * len(answers)
        unheard: dict[int, str] = {}
        if self.recognized:
            for i, (answer, given) in enumerate(zip(answers, inputs)):
                if answer.transcript is not None:
                    continue
                heard = given["recognition"]
                words = [str(w) for w in heard["words"]]
                if not words:
                    unheard[i] = "the recogniser heard no words (empty transcript)"
                transcripts[i] = " ".join(words)
                confidences[i] = np.asarray(heard["word_confidence"], dtype=np.float32)
        try:
            results = self.extractor.extract(
                [a.wave for a in answers], transcripts, multi_log_probs=multi, show_progress=False,
                confidences=confidences,
            )  # fmt: skip
        except Exception as err:  # noqa: BLE001 - a failing batch is reported per answer, never stops the run
            return [one_line(err)] * len(answers)
        out: list[Any] = []
        for i, result in enumerate(results):
            if i in unheard:
                out.append(unheard[i])
                continue
            if result.problem:
                out.append(result.problem)
                continue
            out.append(
                {
                    "delivery_core": np.delete(result.features.astype(np.float32), LM_FIELD, axis=1),
                    "words": np.asarray(result.words, dtype=str),
                    "transcript": np.asarray(result.transcript),
                    "starts": np.asarray([s.start for s in result.segments], dtype=np.float32),
                    "ends": np.asarray([s.end for s in result.segments], dtype=np.float32),
                }
            )
        return out

    def columns(self) -> dict[str, Column]:
        return {
            "delivery_core": Column("float32", len(CORE_FIELDS), "word"),
            "words": Column("str", None, "word"),
            "transcript": Column("str", None, "answer"),
            "starts": Column("float32", None, "word"),
            "ends": Column("float32", None, "word"),
        }


__all__ = [
    "CORE_FIELDS",
    "DELIVERY_FIELDS",
    "DELIVERY_FIELD_DESCRIPTIONS",
    "DeliveryExtractor",
    "DeliveryResult",
    "DeliveryStage",
    "compute_delivery_features",
    "delivery_matrix",
    "fit_normalizer",
]

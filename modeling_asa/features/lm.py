# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""N-gram language-model scores (KenLM) for the delivery branch.

The delivery branch has one ``lm_log10_prob`` value per word: the log10 probability that an n-gram
language model gives the word, knowing the words said before it in the same answer. A fluent answer
made of common word sequences scores high; a broken or ungrammatical one scores low.
:class:`KenlmScorer` computes it with `KenLM <https://kheafield.com/code/kenlm/>`_ from an ARPA or
KenLM binary file (``scripts/build_lm.py`` builds one; ``docs/language_model.md`` explains how).

Conventions:

* **Text normalisation.** :func:`normalize_text` is the one normaliser used both to build a model
  (``scripts/build_lm.py``) and to score words, so both sides always see the same tokens: Unicode
  is folded to ASCII, the case is set (``"upper"`` by default, the case of the character-vocabulary
  CTC transcripts the delivery pipeline produces), every character other than a letter or an
  apostrophe becomes a space (``"well-known"`` -> ``WELL KNOWN``, ``"2024"`` -> nothing) and
  apostrophes that do not sit between two letters are dropped (``'tis`` -> ``TIS``, ``don't`` ->
  ``DON'T``).
* **One score per input word.** :meth:`KenlmScorer.word_scores` returns exactly ``len(words)``
  values. A word that normalises to several tokens (``"well-known"``) gets the sum of its tokens'
  log10 probabilities (the probability of the whole piece); a word with no letter left (``"-"``,
  ``"2024"``) gets ``NaN``, like the aligner's unalignable words, and is left out of the history.
* **History.** The first word is conditioned on the sentence start ``<s>`` (``bos=True``); the
  sentence end ``</s>`` is not scored (``eos=False``), since the end of an answer is not a word.
* **Out-of-vocabulary words.** KenLM maps a word missing from the model's vocabulary to ``<unk>``
  and returns ``log10 P(<unk> | history)``: the ``<unk>`` unigram probability plus the backoff
  weights of the history (``lmplz`` estimates the ``<unk>`` probability from the discounted mass;
  an ARPA file without ``<unk>`` gets KenLM's default of -100). The following word is then scored
  with ``<unk>`` in its history. :meth:`KenlmScorer.oov_mask` tells which words were OOV (KenLM's
  OOV flag), so a caller can mask or count them.

Example:
    >>> from modeling_asa.features.lm import KenlmScorer  # doctest: +SKIP
    >>> lm = KenlmScorer(".cache/lm/english-3gram.bin")  # doctest: +SKIP
    >>> lm.word_scores(["it", "is", "not", "to", "be", "done"])  # doctest: +SKIP
    array([-1.3729428 , -0.5614141 , -0.9086698 , -1.1813068 , -0.44669598, -1.6043887 ], dtype=float32)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..text import CASES, _check_case, normalize_text
from .stage import Answer, Column, FeatureStage

logger = logging.getLogger(__name__)


class LanguageModelError(OSError):
    """A language-model file exists but KenLM cannot load it (corrupt, wrong format, ...)."""


def _import_kenlm() -> Any:
    """Import the ``kenlm`` module, or raise an ``ImportError`` saying how to install it."""
    try:
        import kenlm  # optional dependency, imported lazily on purpose
    except ImportError as err:
        raise ImportError("KenlmScorer needs the kenlm Python module: pip install kenlm") from err
    return kenlm


class KenlmScorer:
    """Per-word log10 probabilities from a KenLM n-gram model (ARPA or KenLM binary file).

    Args:
        path: An ARPA file (``.arpa``, plain text) or a KenLM binary (``build_binary`` output).
        case: ``"upper"`` or ``"lower"``: the case of the model's vocabulary; words are normalised
            to it with :func:`normalize_text` before scoring (defaults to ``"upper"``).

    Raises:
        FileNotFoundError: ``path`` does not exist or is not a file.
        LanguageModelError: KenLM cannot read the file.
        ImportError: the ``kenlm`` module is not installed.
        ValueError: ``case`` is not one of :data:`CASES`.

    Example:
        >>> lm = KenlmScorer(".cache/lm/english-3gram.bin")  # doctest: +SKIP
        >>> lm.order  # doctest: +SKIP
        3
        >>> lm.word_scores(["we", "call", "it", "bear"]).shape  # doctest: +SKIP
        (4,)
    """

    def __init__(self, path: str | os.PathLike, case: str = "upper") -> None:
        self.case = _check_case(case)
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: language model file not found")
        kenlm = _import_kenlm()
        try:
            self._model = kenlm.Model(str(self.path))
        except OSError as err:
            detail = " ".join(str(err).split())
            raise LanguageModelError(f"{self.path}: KenLM cannot read this language model ({detail})") from err
        logger.info("loaded %d-gram language model %s", self._model.order, self.path)

    @property
    def order(self) -> int:
        """The n-gram order of the model (3 for a trigram model)."""
        return int(self._model.order)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r}, order={self.order}, case={self.case!r})"

    def __contains__(self, word: str) -> bool:
        """Whether the normalised ``word`` (all its tokens) is in the model's vocabulary."""
        tokens = normalize_text(word, self.case).split()
        return bool(tokens) and all(token in self._model for token in tokens)

    def _tokens(self, words: Sequence[str]) -> tuple[list[str], list[int]]:
        """Normalised tokens of ``words`` and, per word, how many tokens it produced."""
        if isinstance(words, str):
            raise TypeError("words must be a list of words, not a string (use text.split())")
        pieces = [normalize_text(str(word), self.case).split() for word in words]
        return [token for piece in pieces for token in piece], [len(piece) for piece in pieces]

    def _full_scores(self, words: Sequence[str]) -> tuple[list[tuple[float, int, bool]], list[int]]:
        """KenLM ``full_scores`` (bos=True, eos=False) of the tokens of ``words``, and token counts."""
        tokens, counts = self._tokens(words)
        scores = list(self._model.full_scores(" ".join(tokens), bos=True, eos=False)) if tokens else []
        return scores, counts

    def word_scores(self, words: Sequence[str]) -> np.ndarray:
        """Log10 probability of each word given the preceding words of the same utterance.

        Args:
            words: The utterance's words, in order (e.g. ``transcript.split()``).

        Returns:
            Float32 array ``(len(words),)``: ``log10 P(word | <s>, previous words)``; the sum over
            the tokens of a word that normalises to several tokens; ``NaN`` for a word with no
            letter. An out-of-vocabulary word gets the ``<unk>`` probability (see the module
            docstring).

        Example:
            >>> lm.word_scores(["the", "cat", "sat"])  # doctest: +SKIP
            array([-0.2, -0.4, -0.3], dtype=float32)
        """
        scores, counts = self._full_scores(words)
        out = np.full(len(counts), np.nan, dtype=np.float32)
        start = 0
        for i, n in enumerate(counts):
            if n:
                out[i] = sum(score for score, _, _ in scores[start : start + n])
            start += n
        return out

    def oov_mask(self, words: Sequence[str]) -> np.ndarray:
        """Which words are out of the model's vocabulary (KenLM's OOV flag).

        Args:
            words: The utterance's words, in order.

        Returns:
            Bool array ``(len(words),)``: ``True`` when any token of the word is OOV; ``False`` for
            a word with no letter (it is not scored at all).
        """
        scores, counts = self._full_scores(words)
        out = np.zeros(len(counts), dtype=bool)
        start = 0
        for i, n in enumerate(counts):
            out[i] = any(oov for _, _, oov in scores[start : start + n])
            start += n
        return out

    def sentence_score(self, words: Sequence[str], eos: bool = True) -> float:
        """Total log10 probability of an utterance, from ``<s>`` (and up to ``</s>`` if ``eos``).

        Args:
            words: The utterance's words, in order.
            eos: Also score the sentence end ``</s>`` (KenLM's usual sentence probability).

        Returns:
            ``log10 P(words)``; with ``eos=False`` it equals ``np.nansum(word_scores(words))``.
        """
        tokens, _ = self._tokens(words)
        return float(self._model.score(" ".join(tokens), bos=True, eos=eos))

    def perplexity(self, sentences: Iterable[str]) -> dict[str, float | int]:
        """Corpus perplexity of ``sentences``, counting ``</s>`` as a token (KenLM's convention).

        Args:
            sentences: Sentences as strings; each is normalised with :func:`normalize_text`.

        Returns:
            ``{"perplexity", "perplexity_no_oov", "n_sentences", "n_tokens", "n_oov", "oov_rate"}``:
            perplexity ``10 ** (-sum log10 p / n_tokens)`` over all tokens (``n_tokens`` includes one
            ``</s>`` per sentence), the same over the in-vocabulary tokens only, and the OOV count
            and rate (over words, ``</s>`` excluded).
        """
        total, total_iv = 0.0, 0.0
        n_tokens = n_iv = n_oov = n_sentences = 0
        for sentence in sentences:
            text = normalize_text(sentence, self.case)
            if not text:
                continue
            n_sentences += 1
            for score, _, oov in self._model.full_scores(text, bos=True, eos=True):
                total += score
                n_tokens += 1
                if oov:
                    n_oov += 1
                else:
                    total_iv += score
                    n_iv += 1
        if n_tokens == 0:
            raise ValueError("perplexity: no sentence with a word to score")
        n_words = n_tokens - n_sentences
        return {
            "perplexity": float(10.0 ** (-total / n_tokens)),
            "perplexity_no_oov": float(10.0 ** (-total_iv / n_iv)) if n_iv else float("nan"),
            "n_sentences": n_sentences,
            "n_tokens": n_tokens,
            "n_oov": n_oov,
            "oov_rate": float(n_oov / n_words) if n_words else 0.0,
        }


class LmStage(FeatureStage):
    """The LM stage: n-gram log10 probability of each word of the delivery stage's transcript.

    Args:
        lm (`str`): A kenlm ARPA or binary file.
        case (`str`, *optional*, defaults to `"upper"`): The case of the LM's vocabulary (see [`KenlmScorer`]).
    """

    name = "lm"
    model_options = ("lm",)
    uses_audio = False

    def __init__(self, lm: str, case: str = "upper", device: str | None = None, batch_size: int = 8) -> None:
        super().__init__(device, batch_size)
        self.lm = lm
        self.case = _check_case(case)
        self.scorer: KenlmScorer | None = None

    @property
    def needs(self) -> tuple[str, ...]:
        return ("delivery",)

    def settings(self) -> dict[str, Any]:
        return {"lm": self.lm, "case": self.case}

    def load(self) -> None:
        if self.scorer is None:
            self.scorer = KenlmScorer(self.lm, case=self.case)
            self.loaded = True

    def compute(self, answers: Sequence[Answer], inputs: Sequence[Any]) -> list[Any]:
        self.load()
        out = []
        for given in inputs:
            words = [str(w) for w in given["delivery"]["words"]]
            scores = self.scorer.word_scores(words) if words else np.zeros(0)
            out.append({"lm_log10_prob": np.asarray(scores, dtype=np.float32)})
        return out

    def columns(self) -> dict[str, Column]:
        return {"lm_log10_prob": Column("float32", None, "word")}


__all__ = ["CASES", "KenlmScorer", "LanguageModelError", "LmStage", "normalize_text"]

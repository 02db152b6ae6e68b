# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Build an n-gram language model (ARPA or KenLM binary) for the delivery branch's LM feature.

The text is split into sentences, normalised with
:func:`modeling_asa.features.lm.normalize_text` (the same normaliser :class:`KenlmScorer` applies
to the words it scores; upper case by default, like character-vocabulary CTC transcripts), written
one sentence per line and given to KenLM's ``lmplz`` (modified Kneser-Ney); ``build_binary`` then
converts the ARPA file when ``--output`` ends in ``.bin``. ``lmplz`` and ``build_binary`` come from
``scripts/build_kenlm.sh`` (``--kenlm-bin``; the script ``scripts/build_lm.py`` defaults to the checkout's
``.cache/kenlm/bin``) or ``PATH``.

Inputs (any mix, all concatenated):

* ``--text FILE ...``: running text (``.gz``, ``.bz2``, ``.xz`` are read too). Paragraphs are
  separated by blank lines, lines inside a paragraph are joined, and paragraphs are split into
  sentences; a Project Gutenberg header and licence footer are removed. With
  ``--sentence-per-line``, every non-empty line is one sentence instead (e.g. an exam's prompts).
* ``--rdata DIR ...``: the character vectors of an R package's lazy-load data folder
  (``Rdata.rdx``/``Rdata.rdb``), as shipped by Debian's ``r-cran-*`` packages; this is how the
  project's offline English model reads the novels of ``r-cran-janeaustenr`` and ``r-cran-tokenizers``
  (see ``docs/language_model.md``).

Examples:
    Build a trigram from your own exam-domain text and check it on held-out sentences::

        scripts/build_kenlm.sh
        python scripts/build_lm.py --text my_domain.txt --order 3 --output lm.bin --memory 1G \\
            --heldout-every 50 --heldout-output heldout.txt --eval-text heldout.txt

    From Python, build from any iterable of sentences::

        from modeling_asa.tools.build_lm import build_lm
        build_lm(["we call it bear", "it is not to be done"], "tiny.arpa", order=2, kenlm_bin=".cache/kenlm/bin")
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import logging
import lzma
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tqdm.auto import tqdm

from modeling_asa.features.lm import CASES, KenlmScorer, normalize_text

logger = logging.getLogger(__name__)

# Abbreviations whose final period does not end a sentence (compared case-insensitively).
_ABBREVIATIONS = (
    "mr", "mrs", "ms", "messrs", "dr", "st", "prof", "rev", "col", "capt", "gen", "lt", "sgt", "sr",
    "jr", "vs", "etc", "e.g", "i.e", "no", "vol", "ch", "fig", "mt", "ft", "esq", "hon",
)  # fmt: skip
_ABBREV_RE = re.compile(r"\b(" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")\.", re.IGNORECASE)
_ABBREV_MARK = "\x00"
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space and an opening
# quote/bracket or a capital letter or digit.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018_]*[A-Z0-9])")
_GUTENBERG_START_RE = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*$", re.MULTILINE | re.IGNORECASE)
_GUTENBERG_END_RE = re.compile(
    r"^(\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg).*$",
    re.MULTILINE | re.IGNORECASE,
)


class LmBuildError(RuntimeError):
    """Building the language model failed (missing program, lmplz/build_binary error, no text)."""


# --------------------------------------------------------------------------------------------
# Reading text
# --------------------------------------------------------------------------------------------


def read_text_file(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file, decompressing ``.gz``, ``.bz2`` and ``.xz`` files.

    Args:
        path: The file.

    Returns:
        Its text (undecodable bytes replaced).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: text file not found")
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.read()


class _RUnserializer:
    """Minimal reader of R's XDR serialisation format (versions 2 and 3).

    It supports what R data packages store: character, logical, integer, double and generic
    vectors (lists, with ``names`` turned into a dict), pairlists, symbols and references.
    """

    # NULL, global/empty/base env, missing, unbound
    _SPECIAL: ClassVar[frozenset[int]] = frozenset({254, 253, 252, 251, 250, 242, 241})

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.refs: list[Any] = []
        self.source = source

    def _int(self) -> int:
        """Read a big-endian int32."""
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def _length(self) -> int:
        """Read a vector length (an int32, or -1 followed by two int32 halves for a long vector)."""
        n = self._int()
        if n == -1:  # long vector
            hi, lo = self._int(), self._int()
            n = (hi << 32) + lo
        return n

    def parse(self) -> Any:
        """Check the ``X\\n`` header, skip the version fields and return the serialised object."""
        if self.data[:2] != b"X\n":
            raise ValueError(f"{self.source}: not R XDR serialised data (header {self.data[:2]!r})")
        self.pos = 2
        version = self._int()
        self._int(), self._int()  # writer R version, minimal reader version
        if version == 3:
            self.pos += 4 + self._int()  # native encoding name
        return self._item()

    def _item(self) -> Any:
        """Read one object (its flags word, then its content)."""
        flags = self._int()
        sexp_type = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if sexp_type in self._SPECIAL:
            return None
        if sexp_type == 255:  # reference to an earlier symbol/environment
            index = flags >> 8 or self._int()
            return self.refs[index - 1]
        if sexp_type == 1:  # symbol
            name = self._item()
            self.refs.append(name)
            return name
        if sexp_type in (2, 6, 17):  # pairlist, language object, dots
            if has_attr:
                self._item()
            tag = self._item() if has_tag else None
            head = [(tag, self._item())]
            tail = self._item()
            return head + tail if isinstance(tail, list) else head
        if sexp_type == 9:  # CHARSXP
            n = self._int()
            if n == -1:
                return None
            raw = self.data[self.pos : self.pos + n]
            self.pos += n
            return raw.decode("utf-8", errors="replace")
        if sexp_type in (10, 13):  # logical, integer
            n = self._length()
            value: Any = list(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif sexp_type == 14:  # double
            n = self._length()
            value = list(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        elif sexp_type in (16, 19, 20):  # character vector, list, expression
            value = [self._item() for _ in range(self._length())]
        else:
            raise ValueError(f"{self.source}: unsupported R object type {sexp_type}")
        if has_attr:
            attributes = self._item()
            names = dict(attributes).get("names") if isinstance(attributes, list) else None
            if sexp_type == 19 and names is not None:
                return dict(zip(names, value))
        return value


def read_r_lazy_data(folder: str | os.PathLike, base: str = "Rdata") -> dict[str, Any]:
    """Read every object of an installed R package's lazy-load data (``data/Rdata.rdx|rdb``).

    Args:
        folder: The package's ``data`` folder (holding ``Rdata.rdx`` and ``Rdata.rdb``).
        base: The database's base name.

    Returns:
        ``{object name: value}``; character vectors are lists of ``str`` (``None`` for ``NA``).

    Example:
        >>> read_r_lazy_data("/usr/lib/R/site-library/janeaustenr/data")["emma"][0]  # doctest: +SKIP
        'EMMA'
    """
    folder = Path(folder)
    index_path, db_path = folder / f"{base}.rdx", folder / f"{base}.rdb"
    for path in (index_path, db_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: R lazy-load database file not found")
    index = _RUnserializer(gzip.decompress(index_path.read_bytes()), str(index_path)).parse()
    if not isinstance(index, dict) or not isinstance(index.get("variables"), dict):
        raise ValueError(f"{index_path}: no 'variables' table in this R lazy-load index")  # noqa: TRY004
    blob = db_path.read_bytes()
    out: dict[str, Any] = {}
    for name, (offset, length) in index["variables"].items():
        chunk = blob[offset : offset + length]
        # Each chunk: 4-byte big-endian uncompressed length, then (R's compress=TRUE) a zlib stream,
        # or a type byte ('Z' zlib, '2' bzip2, 'X' xz, '0' none) for compress=2/3.
        payload, kind = chunk[4:], chunk[4:5]
        if kind == b"Z":
            data = zlib.decompress(payload[1:])
        elif kind == b"2":
            data = bz2.decompress(payload[1:])
        elif kind == b"X":
            data = lzma.decompress(payload[1:])
        elif kind == b"0":
            data = payload[1:]
        else:
            data = zlib.decompress(payload)
        out[name] = _RUnserializer(data, f"{db_path}:{name}").parse()
    return out


def strip_gutenberg_boilerplate(text: str) -> str:
    """Remove a Project Gutenberg header and licence footer when their markers are present.

    Args:
        text: A book's text.

    Returns:
        The text between the ``*** START OF ... PROJECT GUTENBERG ...`` and
        ``*** END OF ...`` / ``End of Project Gutenberg's ...`` lines, or ``text`` unchanged.
    """
    start = _GUTENBERG_START_RE.search(text)
    if start:
        text = text[start.end() :]
    end = _GUTENBERG_END_RE.search(text)
    if end:
        text = text[: end.start()]
    return text


def _is_heading(paragraph: str) -> bool:
    """A title or chapter heading: a short paragraph without lower-case letters."""
    return not any(ch.islower() for ch in paragraph) and len(paragraph.split()) <= 12


def split_sentences(text: str) -> Iterator[str]:
    """Split running text into sentences (raw, not normalised).

    Paragraphs are separated by blank lines; the lines of a paragraph are joined; headings (short
    paragraphs without lower-case letters, e.g. ``CHAPTER I``) are skipped. A sentence ends at
    ``.``, ``!`` or ``?`` (plus closing quotes) followed by a capital letter, except after common
    abbreviations such as ``Mr.`` and ``Mrs.``.

    Args:
        text: Running text.

    Yields:
        Sentences, stripped.

    Example:
        >>> list(split_sentences("Mr. Knightley came.  Was it\\nlate? Yes.\\n\\nCHAPTER II\\n\\nShe smiled."))
        ['Mr. Knightley came.', 'Was it late?', 'Yes.', 'She smiled.']
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph or _is_heading(paragraph):
            continue
        protected = _ABBREV_RE.sub(lambda m: m.group(1) + _ABBREV_MARK, paragraph)
        for sentence in _SENTENCE_END_RE.split(protected):
            sentence = sentence.replace(_ABBREV_MARK, ".").strip()
            if sentence:
                yield sentence


def iter_raw_sentences(
    text_files: Sequence[str | os.PathLike] = (),
    rdata_dirs: Sequence[str | os.PathLike] = (),
    sentence_per_line: bool = False,
) -> Iterator[str]:
    """Raw sentences from text files and R data folders, in order.

    Args:
        text_files: Text files (running text, or one sentence per line with ``sentence_per_line``).
        rdata_dirs: R lazy-load data folders; each character vector is one document whose
            elements are lines (an element with line breaks, such as a whole book, works too).
        sentence_per_line: Treat each non-empty line of ``text_files`` as one sentence.

    Yields:
        Raw sentences (before normalisation).
    """
    for path in text_files:
        text = read_text_file(path)
        if sentence_per_line:
            yield from (line.strip() for line in text.splitlines() if line.strip())
        else:
            yield from split_sentences(strip_gutenberg_boilerplate(text))
    for folder in rdata_dirs:
        for name, value in read_r_lazy_data(folder).items():
            if isinstance(value, list) and value and all(isinstance(v, str) or v is None for v in value):
                logger.info("%s: reading character vector %r (%d elements)", folder, name, len(value))
                yield from split_sentences(strip_gutenberg_boilerplate("\n".join(v or "" for v in value)))
            else:
                logger.info("%s: skipping %r (not a character vector)", folder, name)


def read_sentence_file(path: str | os.PathLike, field: str = "text") -> list[str]:
    """Sentences from a file: one per line, or the ``field`` of each line of a ``.jsonl`` file.

    Args:
        path: A ``.txt`` (one sentence per line) or ``.jsonl`` file.
        field: The JSON field holding the sentence in a ``.jsonl`` file.

    Returns:
        The non-empty sentences.
    """
    path = Path(path)
    lines = [line for line in read_text_file(path).splitlines() if line.strip()]
    if path.suffix != ".jsonl":
        return lines
    out = []
    for number, line in enumerate(lines, 1):
        try:
            out.append(str(json.loads(line)[field]))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{number}: no JSON field {field!r} ({err})") from err
    return out


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def find_kenlm_program(
    name: str, kenlm_bin: str | os.PathLike | None = None, default_kenlm_bin: str | os.PathLike | None = None
) -> Path:
    """Locate ``lmplz`` or ``build_binary``: ``kenlm_bin`` only, or else ``default_kenlm_bin``, then ``PATH``.

    Args:
        name: ``"lmplz"`` or ``"build_binary"``.
        kenlm_bin: A folder holding the program (searched alone), or ``None``.
        default_kenlm_bin: Folder searched before ``PATH`` when ``kenlm_bin`` is ``None`` (the script
            ``scripts/build_lm.py`` passes the checkout's ``.cache/kenlm/bin``, where ``scripts/build_kenlm.sh``
            installs the programs), or ``None``.

    Returns:
        The program's path.

    Raises:
        LmBuildError: the program is nowhere to be found (the message says how to build it).
    """
    if kenlm_bin is not None:
        folders = [Path(kenlm_bin)]
    else:
        folders = [Path(default_kenlm_bin)] if default_kenlm_bin is not None else []
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if kenlm_bin is None and (found := shutil.which(name)):
        return Path(found)
    if kenlm_bin is not None:
        where = str(kenlm_bin)
    else:
        where = f"{default_kenlm_bin} or PATH" if default_kenlm_bin is not None else "PATH"
    raise LmBuildError(f"KenLM program {name!r} not found in {where}: build it with scripts/build_kenlm.sh")


def _run(cmd: list[str], what: str) -> None:
    """Run a KenLM program, raising :class:`LmBuildError` with the end of its output on failure."""
    logger.info("running: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise LmBuildError(f"{what} failed with exit code {proc.returncode}: {tail}")
    for line in proc.stderr.splitlines():
        if line.startswith(("=== ", "Unigram tokens", "Statistics:", "Memory estimate")):
            logger.debug("%s: %s", Path(cmd[0]).name, line)


def write_normalized_sentences(
    sentences: Iterable[str],
    path: str | os.PathLike,
    case: str = "upper",
    min_words: int = 1,
    exclude: Iterable[str] = (),
    heldout_every: int = 0,
    heldout_path: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Normalise sentences and write them one per line (the text ``lmplz`` reads).

    Args:
        sentences: Raw sentences.
        path: Output text file for training.
        case: ``"upper"`` or ``"lower"``.
        min_words: Drop sentences with fewer words after normalisation.
        exclude: Sentences that must not be trained on (e.g. evaluation prompts); compared after
            normalisation, exact match.
        heldout_every: When > 0, every ``heldout_every``-th kept sentence goes to ``heldout_path``
            instead of the training text.
        heldout_path: Output file for held-out sentences (needed when ``heldout_every`` > 0).

    Returns:
        Counts: ``{"read", "written", "words", "too_short", "excluded", "heldout"}``.
    """
    if heldout_every > 0 and heldout_path is None:
        raise ValueError("heldout_every > 0 needs a heldout_path")
    excluded = {normalize_text(s, case) for s in exclude}
    excluded.discard("")
    stats = {"read": 0, "written": 0, "words": 0, "too_short": 0, "excluded": 0, "heldout": 0}
    kept = 0
    heldout_handle = open(heldout_path, "w", encoding="utf-8") if heldout_every > 0 else None  # noqa: SIM115
    try:
        with open(path, "w", encoding="utf-8") as handle:
            for sentence in tqdm(sentences, desc="normalising", unit=" sentences", mininterval=2.0):
                stats["read"] += 1
                text = normalize_text(sentence, case)
                n_words = len(text.split())
                if n_words < max(min_words, 1):
                    stats["too_short"] += 1
                    continue
                if text in excluded:
                    stats["excluded"] += 1
                    continue
                kept += 1
                if heldout_handle is not None and kept % heldout_every == 0:
                    heldout_handle.write(text + "\n")
                    stats["heldout"] += 1
                    continue
                handle.write(text + "\n")
                stats["written"] += 1
                stats["words"] += n_words
    finally:
        if heldout_handle is not None:
            heldout_handle.close()
    return stats


def build_lm_from_text_file(
    text_path: str | os.PathLike,
    output: str | os.PathLike,
    order: int = 3,
    memory: str = "1G",
    kenlm_bin: str | os.PathLike | None = None,
    discount_fallback: bool = True,
    prune: Sequence[int] | None = None,
    binary_type: str = "trie",
    temp_dir: str | os.PathLike | None = None,
    default_kenlm_bin: str | os.PathLike | None = None,
) -> Path:
    """Run ``lmplz`` on an already normalised one-sentence-per-line file (and ``build_binary``).

    Args:
        text_path: Normalised text, one sentence per line.
        output: ``*.arpa`` (ARPA text) or ``*.bin`` (KenLM binary; the ARPA is a temporary file).
        order: N-gram order.
        memory: ``lmplz -S`` memory budget (``"1G"``, ``"20%"``, ...).
        kenlm_bin: Folder holding ``lmplz``/``build_binary`` (default: ``default_kenlm_bin``, then PATH).
        discount_fallback: Pass ``--discount_fallback`` (needed on small corpora, unused otherwise).
        prune: ``lmplz --prune`` thresholds per order (e.g. ``[0, 0, 1]``), or ``None``.
        binary_type: ``build_binary`` data structure, ``"trie"`` (smaller) or ``"probing"`` (faster).
        temp_dir: Temporary folder for ``lmplz -T`` and the intermediate ARPA.
        default_kenlm_bin: Folder searched before ``PATH`` when ``kenlm_bin`` is ``None``
            (see :func:`find_kenlm_program`).

    Returns:
        The output path.
    """
    output = Path(output)
    if output.suffix not in (".arpa", ".bin"):
        raise ValueError(f"{output}: the output must end in .arpa or .bin")
    if order < 1:
        raise ValueError(f"order={order} must be >= 1")
    if binary_type not in ("trie", "probing"):
        raise ValueError(f"binary_type={binary_type!r} is not 'trie' or 'probing'")
    lmplz = find_kenlm_program("lmplz", kenlm_bin, default_kenlm_bin)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=temp_dir, prefix="build_lm_") as tmp:
        arpa = output if output.suffix == ".arpa" else Path(tmp) / "model.arpa"
        cmd = [str(lmplz), "-o", str(order), "-S", memory, "-T", tmp, "--text", str(text_path), "--arpa", str(arpa)]
        if discount_fallback:
            cmd.append("--discount_fallback")
        if prune:
            cmd += ["--prune", *map(str, prune)]
        _run(cmd, "lmplz")
        if output.suffix == ".bin":
            build_binary = find_kenlm_program("build_binary", kenlm_bin, default_kenlm_bin)
            _run([str(build_binary), "-T", tmp, binary_type, str(arpa), str(output)], "build_binary")
    return output


def build_lm(
    sentences: Iterable[str],
    output: str | os.PathLike,
    order: int = 3,
    memory: str = "1G",
    case: str = "upper",
    kenlm_bin: str | os.PathLike | None = None,
    discount_fallback: bool = True,
    min_words: int = 1,
    exclude: Iterable[str] = (),
    keep_text: str | os.PathLike | None = None,
    **lmplz_kwargs: Any,
) -> Path:
    """Build an n-gram model from an iterable of sentences.

    Args:
        sentences: Raw sentences (normalised here with :func:`normalize_text`).
        output: ``*.arpa`` or ``*.bin``.
        order: N-gram order.
        memory: ``lmplz -S`` memory budget.
        case: ``"upper"`` or ``"lower"`` (must match the :class:`KenlmScorer` ``case``).
        kenlm_bin: Folder holding ``lmplz``/``build_binary``.
        discount_fallback: Pass ``--discount_fallback`` to ``lmplz``.
        min_words: Drop sentences with fewer words.
        exclude: Sentences never to train on (exact match after normalisation).
        keep_text: Also keep the normalised training text at this path.
        **lmplz_kwargs: ``prune``, ``binary_type``, ``temp_dir``, ``default_kenlm_bin`` of
            :func:`build_lm_from_text_file`.

    Returns:
        The output path.

    Example:
        >>> build_lm(["we call it bear", "it is not to be done"], "tiny.arpa", order=2)  # doctest: +SKIP
        PosixPath('tiny.arpa')
    """
    if case not in CASES:
        raise ValueError(f"case={case!r} is not one of {CASES}")
    with tempfile.TemporaryDirectory(prefix="build_lm_text_") as tmp:
        text_path = Path(keep_text) if keep_text is not None else Path(tmp) / "sentences.txt"
        stats = write_normalized_sentences(sentences, text_path, case=case, min_words=min_words, exclude=exclude)
        if stats["written"] == 0:
            raise LmBuildError(f"no sentence left to train on after normalisation ({stats})")
        logger.info("training text: %s", stats)
        return build_lm_from_text_file(
            text_path, output, order, memory, kenlm_bin, discount_fallback=discount_fallback, **lmplz_kwargs
        )


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def parse_args(
    argv: Sequence[str] | None = None, default_kenlm_bin: str | os.PathLike | None = None
) -> argparse.Namespace:
    """Parse the command line (see ``--help``).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        default_kenlm_bin: Folder searched before ``PATH`` when ``--kenlm-bin`` is not given (named in the help).

    Returns:
        The parsed arguments.
    """
    default_where = f"{default_kenlm_bin}, then PATH" if default_kenlm_bin is not None else "PATH"
    parser = argparse.ArgumentParser(
        description="Build a KenLM n-gram language model (ARPA or binary) from English text.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    src = parser.add_argument_group("text sources (at least one)")
    src.add_argument("--text", nargs="+", default=[], metavar="FILE", help="Text files (.gz/.bz2/.xz ok).")
    src.add_argument(
        "--sentence-per-line",
        action="store_true",
        help="Each non-empty line of --text files is one sentence (default: running text, split into sentences).",
    )
    src.add_argument(
        "--rdata",
        nargs="+",
        default=[],
        metavar="DIR",
        help="R package lazy-load data folders (Rdata.rdx/.rdb), e.g. from Debian's r-cran-janeaustenr.",
    )
    parser.add_argument("--output", required=True, help="Output model: *.arpa or *.bin (KenLM binary).")
    parser.add_argument("--order", type=int, default=3, help="N-gram order.")
    parser.add_argument("--memory", default="1G", help="lmplz -S memory budget (e.g. 1G, 20%%).")
    parser.add_argument("--case", choices=CASES, default="upper", help="Case of the model's vocabulary.")
    parser.add_argument("--min-words", type=int, default=1, help="Drop sentences with fewer words.")
    parser.add_argument(
        "--kenlm-bin",
        default=None,
        help=f"Folder with lmplz and build_binary (default: {default_where}).",
    )
    parser.add_argument(
        "--no-discount-fallback",
        dest="discount_fallback",
        action="store_false",
        help="Do not pass --discount_fallback to lmplz (it is only used when the counts need it).",
    )
    parser.add_argument("--prune", type=int, nargs="+", default=None, help="lmplz --prune thresholds.")
    parser.add_argument("--binary-type", choices=("trie", "probing"), default="trie", help="build_binary type.")
    parser.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="FILE",
        help="Sentences never to train on (one per line, or .jsonl with a 'text' field), e.g. evaluation prompts.",
    )
    parser.add_argument("--keep-text", default=None, help="Keep the normalised training text here.")
    parser.add_argument("--heldout-every", type=int, default=0, help="Hold out every N-th sentence (0: none).")
    parser.add_argument("--heldout-output", default=None, help="File for the held-out sentences.")
    parser.add_argument(
        "--eval-text",
        nargs="+",
        default=[],
        metavar="FILE",
        help="After building, report perplexity on these files (one sentence per line, or .jsonl 'text').",
    )
    parser.add_argument("--report", default=None, help="Write a JSON report (counts, sizes, perplexities) here.")
    parser.add_argument("--temp-dir", default=None, help="Temporary folder for lmplz.")
    parser.add_argument("--log-level", default="INFO", help="Logging level.")
    args = parser.parse_args(argv)
    if not args.text and not args.rdata:
        parser.error("give at least one text source: --text FILE... or --rdata DIR...")
    if args.heldout_every > 0 and not args.heldout_output:
        parser.error("--heldout-every needs --heldout-output")
    return args


def main(argv: Sequence[str] | None = None, default_kenlm_bin: str | os.PathLike | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``); see ``--help``.
        default_kenlm_bin: Folder searched for ``lmplz``/``build_binary`` before ``PATH`` when ``--kenlm-bin``
            is not given (the script passes the checkout's ``.cache/kenlm/bin``).

    Returns:
        0 on success, 1 when the model cannot be built.
    """
    args = parse_args(argv, default_kenlm_bin=default_kenlm_bin)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    output = Path(args.output)
    report: dict[str, Any] = {"output": str(output), "order": args.order, "case": args.case}
    exclude = [s for path in args.exclude for s in read_sentence_file(path)]
    try:
        # Fail early (before reading the text) when the programs are missing.
        find_kenlm_program("lmplz", args.kenlm_bin, default_kenlm_bin)
        if output.suffix == ".bin":
            find_kenlm_program("build_binary", args.kenlm_bin, default_kenlm_bin)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="build_lm_text_") as tmp:
            text_path = Path(args.keep_text) if args.keep_text else Path(tmp) / "sentences.txt"
            stats = write_normalized_sentences(
                iter_raw_sentences(args.text, args.rdata, args.sentence_per_line),
                text_path,
                case=args.case,
                min_words=args.min_words,
                exclude=exclude,
                heldout_every=args.heldout_every,
                heldout_path=args.heldout_output,
            )
            logger.info("training text: %s (%.1f MB)", stats, text_path.stat().st_size / 1e6)
            if stats["written"] == 0:
                raise LmBuildError(f"no sentence left to train on after normalisation ({stats})")
            report["text"] = {**stats, "bytes": text_path.stat().st_size}
            build_lm_from_text_file(
                text_path,
                output,
                args.order,
                args.memory,
                args.kenlm_bin,
                discount_fallback=args.discount_fallback,
                prune=args.prune,
                binary_type=args.binary_type,
                temp_dir=args.temp_dir,
                default_kenlm_bin=default_kenlm_bin,
            )
        report["build_seconds"] = round(time.perf_counter() - start, 1)
        report["model_bytes"] = output.stat().st_size
        logger.info("wrote %s (%.1f MB) in %.1f s", output, output.stat().st_size / 1e6, report["build_seconds"])
    except (LmBuildError, FileNotFoundError, ValueError) as err:
        logger.error("%s", err)
        return 1
    if args.eval_text:
        scorer = KenlmScorer(output, case=args.case)
        report["perplexity"] = {}
        for path in args.eval_text:
            result = scorer.perplexity(read_sentence_file(path))
            report["perplexity"][str(path)] = result
            logger.info(
                "%s: perplexity %.1f (%.1f without OOV), OOV rate %.2f%% over %d sentences",
                path,
                result["perplexity"],
                result["perplexity_no_oov"],
                100 * result["oov_rate"],
                result["n_sentences"],
            )
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        logger.info("report written to %s", args.report)
    return 0


__all__ = [
    "LmBuildError",
    "build_lm",
    "build_lm_from_text_file",
    "find_kenlm_program",
    "iter_raw_sentences",
    "main",
    "parse_args",
    "read_r_lazy_data",
    "read_sentence_file",
    "read_text_file",
    "split_sentences",
    "strip_gutenberg_boilerplate",
    "write_normalized_sentences",
]

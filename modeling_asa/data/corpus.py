"""The corpus contract: load and validate an ASA corpus folder into a ``datasets.Dataset``.

A corpus is a folder holding

- ``metadata.csv``: one row per response with ``file_name`` (audio path relative to the folder),
  ``response_id``, ``question_id`` and the label: either one label column (default ``score``; any
  name, e.g. ``age_band``) or one column per rater (``rater_1``, ``rater_2``, ...) whose average,
  reduced to an integer by a rule (``floor`` by default, as in the paper; or ``round``, ``ceil``),
  is the label. ``speaker_id`` and ``transcript`` are optional; every other column is kept.
- ``questions.jsonl``: one ``{"question_id": ..., "text": ...}`` object per line; optionally
  ``"reference_answers"`` and ``"key_points"`` (lists of strings: what a good answer says), which the
  relevance stage compares the answers with.
- the audio files, in any format soundfile reads, any sample rate, mono or stereo.

:func:`validate_corpus` collects every problem (it never stops at the first one);
:func:`load_corpus` returns a :class:`Corpus` whose ``dataset`` has the columns ``audio``
(``datasets.Audio(sampling_rate=16000, decode=False)`` holding the absolute path), ``response_id``,
``question_id``, ``label`` (int), ``speaker_id`` / ``transcript`` when present, and the other
metadata columns. IDs are always strings (``"007"`` stays ``"007"``).

Example:
    >>> from modeling_asa.data import load_corpus
    >>> corpus = load_corpus("demo_corpus")  # doctest: +SKIP
    >>> corpus.classes, corpus.dataset.column_names  # doctest: +SKIP
    ([1, 2, 3, 4, 5], ['audio', 'response_id', 'question_id', 'label', 'speaker_id', 'transcript', 'duration_s'])
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

import datasets
import pyarrow as pa
from tqdm.auto import tqdm

from ..audio import TARGET_SAMPLE_RATE, audio_problem
from .splits import SPLIT_COLUMN, SPLIT_NAMES

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.csv"
"""Name of the per-response table inside a corpus folder."""
QUESTIONS_FILE = "questions.jsonl"
"""Name of the question-text file inside a corpus folder."""
REQUIRED_COLUMNS = ("file_name", "response_id", "question_id")
"""Columns every ``metadata.csv`` must have."""
DEFAULT_LABEL_COLUMN = "score"
"""Label column used when ``label_column`` is None and the file has one."""
RATER_LABEL = "rater_*"
"""Pass as ``label_column`` to force the label to be the average of the ``rater_<n>`` columns."""
RATER_RULES = ("floor", "round", "ceil")
"""How the average of the rater columns becomes an integer label (``round`` rounds halves up)."""
OPTIONAL_COLUMNS = ("speaker_id", "transcript")
"""Optional string columns with a fixed meaning."""
RESERVED_COLUMNS = ("audio", "label", "aspect_labels")
"""Column names the loader creates; a metadata column may only use them as the label column."""

_RATER_RE = re.compile(r"^rater_(\d+)$")
_INT_RE = re.compile(r"^-?(0|[1-9]\d*)$")
_FLOAT_RE = re.compile(r"^[+-]?((\d+\.?\d*)|(\.\d+))([eE][+-]?\d+)?$")
_AUDIO_CHECK_PROGRESS_MIN_ROWS = 500
_VALUE_TYPES = {pa.int64(): "int64", pa.float64(): "float64", pa.string(): "string"}


class CorpusError(ValueError):
    """A corpus folder that breaks the contract.

    The message's first line gives the number of problems; each following line is one problem
    (``"<file>: <reason>"``). The problems are also in ``error.problems``.
    """

    def __init__(self, message: str, problems: Sequence[CorpusProblem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


@dataclass
class CorpusProblem:
    """One problem found in a corpus folder.

    Args:
        file (`str`): The file at fault: ``<root>/metadata.csv:<line>``, ``<root>/questions.jsonl:<line>``,
            or the audio file's path.
        reason (`str`): What is wrong, as a short phrase.
        response_id (`str`, *optional*): The response (metadata row) concerned, when there is one.
    """

    file: str
    reason: str
    response_id: str | None = None

    def __str__(self) -> str:
        suffix = f" (response_id={self.response_id!r})" if self.response_id is not None else ""
        return f"{self.file}: {self.reason}{suffix}"


@dataclass
class Corpus:
    """A loaded corpus.

    Args:
        dataset (`datasets.Dataset`): One row per usable response (columns described in the module
            docstring).
        questions (`dict[str, str]`): ``question_id -> text`` for every question in ``questions.jsonl``.
        references (`dict[str, list[str]]`): ``question_id -> reference answers and key points`` where
            ``questions.jsonl`` gives them (optional fields ``reference_answers``, ``key_points``).
        classes (`list[int]`): Sorted label classes (declared, or inferred from the data).
        problems (`list[CorpusProblem]`): Problems found (empty when loaded with ``strict=True``).
        root (`Path`): The corpus folder (absolute).
        label_source (`str`): Where the label came from, e.g. ``"age_band"`` or
            ``"mean(rater_1, rater_2) -> floor"``.
        warnings (`list[CorpusProblem]`): Suspicious inferred classes (see :func:`label_warnings`); the rows are
            kept.
        aspects (`list[str]`): The per-aspect label columns (``aspect_columns``); each row's ``aspect_labels`` holds
            their labels in this order, on the holistic label's classes.
    """

    dataset: datasets.Dataset
    questions: dict[str, str]
    classes: list[int]
    problems: list[CorpusProblem] = field(default_factory=list)
    root: Path = field(default_factory=Path)
    label_source: str = DEFAULT_LABEL_COLUMN
    warnings: list[CorpusProblem] = field(default_factory=list)
    references: dict[str, list[str]] = field(default_factory=dict)
    aspects: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.dataset)

    def label_counts(self) -> dict[int, int]:
        """Number of responses per class (every class listed, zero counts included).

        Returns:
            ``{class: count}`` in class order.
        """
        counts = Counter(self.dataset["label"])
        return {c: counts.get(c, 0) for c in self.classes}

    def rows_and_paths(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Every row's metadata (without the audio column) and the absolute path of its audio, in corpus order."""
        rows = self.dataset.remove_columns("audio").to_list()
        audio = self.dataset.select_columns(["audio"]).with_format("arrow")[:]["audio"].to_pylist()
        return rows, [a["path"] for a in audio]

    def question_text(self, question_id: str) -> str:
        """Text of a question.

        Args:
            question_id: A question id.

        Returns:
            The question's text.

        Raises:
            KeyError: Unknown question id.
        """
        return self.questions[question_id]


@dataclass
class _Row:
    """One parsed metadata row."""

    line: int
    values: dict[str, str]
    label: int | None = None
    aspects: list[int] | None = None


@dataclass
class _Scan:
    """Everything :func:`_scan_corpus` found."""

    root: Path
    problems: list[CorpusProblem] = field(default_factory=list)
    questions: dict[str, str] = field(default_factory=dict)
    references: dict[str, list[str]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    fatal: bool = False
    label_column: str | None = None
    rater_columns: list[str] = field(default_factory=list)
    label_source: str = ""
    aspect_columns: list[str] = field(default_factory=list)


def _check_rater_rule(rater_rule: str) -> None:
    """Raise ValueError for an unknown rater rule."""
    if rater_rule not in RATER_RULES:
        raise ValueError(f"rater_rule must be one of {', '.join(RATER_RULES)}; got {rater_rule!r}")


def _check_classes(classes: Sequence[int] | None) -> list[int] | None:
    """Validate declared classes and return them sorted."""
    if classes is None:
        return None
    values = list(classes)
    if not values:
        raise ValueError("classes must not be empty")
    bad = [c for c in values if isinstance(c, bool) or not _is_integral(c)]
    if bad:
        raise ValueError(f"classes must be integers; got {bad}")
    ints = [int(c) for c in values]
    duplicates = sorted(c for c, n in Counter(ints).items() if n > 1)
    if duplicates:
        raise ValueError(f"classes must be unique; duplicated: {duplicates}")
    return sorted(ints)


def _is_integral(value: Any) -> bool:
    """True for numbers with no fractional part (numpy integers, 3.0)."""
    try:
        return float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        return False


def apply_rater_rule(mean: float, rater_rule: str = "floor") -> int:
    """Reduce an average rating to an integer label.

    Args:
        mean: The average of the raters' scores.
        rater_rule: ``"floor"`` (drop the fractional part, as in the paper), ``"round"`` (halves
            round up) or ``"ceil"``.

    Returns:
        The integer label.

    Example:
        >>> [apply_rater_rule(3.5, r) for r in ("floor", "round", "ceil")]
        [3, 4, 4]
    """
    _check_rater_rule(rater_rule)
    value = round(float(mean), 9)  # absorb float noise such as 2.9999999999
    if rater_rule == "floor":
        return math.floor(value)
    if rater_rule == "ceil":
        return math.ceil(value)
    return math.floor(value + 0.5)


def _path_problem(file_name: str) -> str | None:
    """Reject empty, absolute and ``..`` audio paths."""
    if not file_name:
        return "empty file_name"
    if file_name.startswith(("/", "\\")) or os.path.isabs(file_name) or PureWindowsPath(file_name).drive:
        return f"absolute audio path not allowed: {file_name!r}"
    if ".." in re.split(r"[\\/]", file_name):
        return f"audio path leaves the corpus folder ('..'): {file_name!r}"
    return None


def _read_questions(path: Path, scan: _Scan) -> None:
    """Parse questions.jsonl into ``scan.questions``, recording problems."""
    if not path.is_file():
        scan.problems.append(CorpusProblem(str(path), f"questions file not found (expected {QUESTIONS_FILE})"))
        scan.fatal = True
        return
    first_line: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        scan.problems.append(CorpusProblem(str(path), f"cannot read questions file ({error})"))
        scan.fatal = True
        return
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            scan.problems.append(CorpusProblem(where, f"malformed JSON ({error.msg} at column {error.colno})"))
            continue
        if not isinstance(obj, dict):
            scan.problems.append(CorpusProblem(where, f"expected a JSON object, got {type(obj).__name__}"))
            continue
        missing = [key for key in ("question_id", "text") if key not in obj]
        if missing:
            scan.problems.append(
                CorpusProblem(where, f"missing key(s) {', '.join(missing)}; found: {', '.join(obj) or '(none)'}")
            )
            continue
        raw_id, text = obj["question_id"], obj["text"]
        if raw_id is None or isinstance(raw_id, (dict, list, bool)) or not str(raw_id).strip():
            scan.problems.append(CorpusProblem(where, f"invalid question_id {raw_id!r}"))
            continue
        if not isinstance(text, str):
            scan.problems.append(CorpusProblem(where, f"question text must be a string, got {type(text).__name__}"))
            continue
        question_id = str(raw_id).strip()
        if question_id in first_line:
            scan.problems.append(
                CorpusProblem(where, f"duplicate question_id {question_id!r} (first on line {first_line[question_id]})")
            )
            continue
        first_line[question_id] = number
        scan.questions[question_id] = text
        for key in ("reference_answers", "key_points"):
            value = obj.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                scan.problems.append(CorpusProblem(where, f"{key} must be a list of strings, got {value!r:.60}"))
                continue
            scan.references.setdefault(question_id, []).extend(v for v in value if v.strip())
    if not scan.questions and not any(p.file.startswith(f"{path}:") for p in scan.problems):
        scan.problems.append(CorpusProblem(str(path), "questions file holds no questions"))


def _resolve_label(
    header: list[str], label_column: str | None, where: str, scan: _Scan, require_labels: bool = True
) -> None:
    """Decide where the label comes from, recording a fatal problem when it is ambiguous or absent."""
    raters = sorted((c for c in header if _RATER_RE.match(c)), key=lambda c: int(_RATER_RE.match(c).group(1)))
    found = ", ".join(header)
    if label_column == RATER_LABEL:
        if not raters:
            scan.problems.append(CorpusProblem(where, f"no rater_<n> columns; found: {found}"))
            scan.fatal = True
            return
        scan.rater_columns = raters
    elif label_column is not None:
        if label_column not in header:
            scan.problems.append(CorpusProblem(where, f"missing label column {label_column!r}; found: {found}"))
            scan.fatal = True
            return
        scan.label_column = label_column
    else:
        has_score = DEFAULT_LABEL_COLUMN in header
        if has_score and raters:
            scan.problems.append(
                CorpusProblem(
                    where,
                    f"both a label column ({DEFAULT_LABEL_COLUMN!r}) and rater columns ({', '.join(raters)}) "
                    f"are present; pass label_column={DEFAULT_LABEL_COLUMN!r} or {RATER_LABEL!r}",
                )
            )
            scan.fatal = True
            return
        if not has_score and not raters:
            if not require_labels:
                scan.label_source = ""
                return
            scan.problems.append(
                CorpusProblem(
                    where,
                    f"no label: expected a {DEFAULT_LABEL_COLUMN!r} column, rater_<n> columns, or label_column=...; "
                    f"found: {found}",
                )
            )
            scan.fatal = True
            return
        if has_score:
            scan.label_column = DEFAULT_LABEL_COLUMN
        else:
            scan.rater_columns = raters
    if scan.label_column is not None:
        scan.label_source = scan.label_column
    elif scan.rater_columns:
        scan.label_source = f"mean({', '.join(scan.rater_columns)})"


def _parse_label(row: _Row, scan: _Scan, rater_rule: str) -> tuple[int | None, str | None]:
    """Return (label, problem) for one row."""
    if scan.label_column is None and not scan.rater_columns:
        return None, None  # an unlabelled corpus (scoring only)
    if scan.label_column is not None:
        column = scan.label_column
        raw = row.values.get(column, "").strip()
        if not raw:
            return None, f"missing label in column {column!r}"
        try:
            value = float(raw)
        except ValueError:
            return None, f"non-numeric label {raw!r} in column {column!r}"
        if not math.isfinite(value):
            return None, f"non-numeric label {raw!r} in column {column!r}"
        if value != math.floor(value):
            return None, f"label {raw!r} in column {column!r} is not an integer"
        return int(value), None
    ratings = []
    for column in scan.rater_columns:
        raw = row.values.get(column, "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            return None, f"non-numeric rating {raw!r} in column {column!r}"
        if not math.isfinite(value):
            return None, f"non-numeric rating {raw!r} in column {column!r}"
        ratings.append(value)
    if not ratings:
        return None, f"no rating in {', '.join(scan.rater_columns)}"
    return apply_rater_rule(sum(ratings) / len(ratings), rater_rule), None


def _parse_aspect(row: _Row, column: str, rater_rule: str) -> tuple[int | None, str | None]:
    """(aspect label, problem) of one row: a number, reduced by the rater rule when it is a mean (e.g. 3.5)."""
    raw = row.values.get(column, "").strip()
    if not raw:
        return None, f"missing aspect label in column {column!r}"
    try:
        value = float(raw)
    except ValueError:
        return None, f"non-numeric aspect label {raw!r} in column {column!r}"
    if not math.isfinite(value):
        return None, f"non-numeric aspect label {raw!r} in column {column!r}"
    return apply_rater_rule(value, rater_rule), None


def _scan_corpus(
    corpus_dir: str | os.PathLike,
    label_column: str | None,
    classes: list[int] | None,
    check_audio: bool,
    rater_rule: str,
    min_duration: float,
    require_labels: bool = True,
    aspect_columns: Sequence[str] = (),
) -> _Scan:
    """Read and check a corpus folder, collecting every problem."""
    root = Path(corpus_dir).expanduser().resolve()
    scan = _Scan(root=root, aspect_columns=list(aspect_columns))
    if not root.is_dir():
        scan.problems.append(CorpusProblem(str(root), "corpus folder not found"))
        scan.fatal = True
        return scan

    _read_questions(root / QUESTIONS_FILE, scan)
    questions_ok = (root / QUESTIONS_FILE).is_file()

    metadata = root / METADATA_FILE
    if not metadata.is_file():
        scan.problems.append(CorpusProblem(str(metadata), f"metadata file not found (expected {METADATA_FILE})"))
        scan.fatal = True
        return scan
    try:
        with open(metadata, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            raw_rows = []
            for values in reader:
                raw_rows.append((reader.line_num, values))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        scan.problems.append(CorpusProblem(str(metadata), f"cannot read metadata ({error})"))
        scan.fatal = True
        return scan
    where_header = f"{metadata}:1"
    if not header or not any(h.strip() for h in header):
        scan.problems.append(CorpusProblem(str(metadata), "metadata file is empty (no header row)"))
        scan.fatal = True
        return scan
    header = [h.strip() for h in header]
    scan.header = header
    duplicated = sorted(c for c, n in Counter(header).items() if n > 1)
    if duplicated:
        scan.problems.append(CorpusProblem(where_header, f"duplicate column(s): {', '.join(duplicated)}"))
        scan.fatal = True
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        scan.problems.append(
            CorpusProblem(where_header, f"missing required column(s) {', '.join(missing)}; found: {', '.join(header)}")
        )
        scan.fatal = True
    _resolve_label(header, label_column, where_header, scan, require_labels)
    absent = [c for c in scan.aspect_columns if c not in header]
    if absent:
        scan.problems.append(CorpusProblem(where_header, f"missing aspect column(s) {', '.join(absent)}; found: "
                                                         f"{', '.join(header)}"))  # fmt: skip
        scan.fatal = True
    reserved = [c for c in RESERVED_COLUMNS if c in header and c != scan.label_column]
    if reserved:
        scan.problems.append(
            CorpusProblem(
                where_header, f"column(s) {', '.join(reserved)} are reserved (created by the loader); rename them"
            )
        )
        scan.fatal = True
    if scan.fatal:
        return scan

    first_line: dict[str, int] = {}
    for line, values in raw_rows:
        if not any(v.strip() for v in values):
            continue  # blank line
        index = len(scan.rows)
        if len(values) != len(header):
            partial = dict(zip(header, (v.strip() for v in values)))
            scan.rows.append(_Row(line, partial))
            scan.bad_rows.add(index)
            scan.problems.append(
                CorpusProblem(
                    f"{metadata}:{line}",
                    f"expected {len(header)} fields, got {len(values)}",
                    partial.get("response_id") or None,
                )
            )
            continue
        row = _Row(line, {h: v.strip() for h, v in zip(header, values)})
        scan.rows.append(row)
        where = f"{metadata}:{line}"
        response_id = row.values["response_id"]
        rid = response_id or None

        def bad(reason: str, file: str = where, _index: int = index, _rid: str | None = rid) -> None:
            scan.problems.append(CorpusProblem(file, reason, _rid))
            scan.bad_rows.add(_index)

        if not response_id:
            bad("empty response_id")
        elif response_id in first_line:
            bad(f"duplicate response_id {response_id!r} (first on line {first_line[response_id]})")
        else:
            first_line[response_id] = line
        question_id = row.values["question_id"]
        if not question_id:
            bad("empty question_id")
        elif questions_ok and question_id not in scan.questions:
            bad(f"unknown question_id {question_id!r} (not in {QUESTIONS_FILE})")
        label, problem = _parse_label(row, scan, rater_rule)
        if problem is not None:
            bad(problem)
        elif classes is not None and label not in classes:
            bad(f"label {label} outside the declared classes {classes}")
        row.label = label
        if scan.aspect_columns:
            row.aspects = []
            for column in scan.aspect_columns:
                value, problem = _parse_aspect(row, column, rater_rule)
                if problem is not None:
                    bad(problem)
                elif classes is not None and value not in classes:
                    bad(f"aspect label {value} in column {column!r} outside the declared classes {classes}")
                row.aspects.append(value)
        split = row.values.get(SPLIT_COLUMN)
        if split is not None and split not in SPLIT_NAMES:
            bad(f"split {split!r} is not one of {', '.join(SPLIT_NAMES)}")
        problem = _path_problem(row.values["file_name"])
        if problem is not None:
            bad(problem)

    # Audio: existence and size always (cheap), header via soundfile.info when check_audio.
    candidates = [
        (i, row)
        for i, row in enumerate(scan.rows)
        if len(row.values) == len(header) and _path_problem(row.values["file_name"]) is None
    ]
    progress = tqdm(
        candidates,
        desc="Checking audio files" if check_audio else "Checking audio paths",
        unit="file",
        disable=len(candidates) < _AUDIO_CHECK_PROGRESS_MIN_ROWS,
    )
    for index, row in progress:
        audio_path = root / row.values["file_name"]
        rid = row.values.get("response_id") or None
        if check_audio:
            problem = audio_problem(audio_path, min_duration=min_duration)
        elif not audio_path.exists():
            problem = "audio file not found"
        elif not audio_path.is_file():
            problem = "not a regular file"
        elif audio_path.stat().st_size == 0:
            problem = "audio file is empty (0 bytes)"
        else:
            problem = None
        if problem is not None:
            scan.problems.append(CorpusProblem(str(audio_path), problem, rid))
            scan.bad_rows.add(index)
    if not scan.rows:
        scan.problems.append(CorpusProblem(str(metadata), "metadata file has no rows"))
    return scan


def validate_corpus(
    corpus_dir: str | os.PathLike,
    label_column: str | None = None,
    classes: Sequence[int] | None = None,
    check_audio: bool = True,
    *,
    rater_rule: str = "floor",
    min_duration: float = 0.1,
) -> list[CorpusProblem]:
    """Check a corpus folder against the contract and return every problem found.

    Checks: ``metadata.csv`` / ``questions.jsonl`` exist; every JSON line parses and has
    ``question_id`` and ``text``; no duplicate question ids; the required columns exist (the
    problem lists the columns found); exactly one label source (a label column or ``rater_<n>``
    columns); per row: non-empty unique ``response_id``, a known ``question_id``, a numeric integer
    label (or numeric ratings) inside ``classes`` when given, a relative audio path without ``..``,
    and an existing, non-empty audio file. With ``check_audio`` the file's header is read with
    ``soundfile.info`` (no decoding) to catch unreadable files and audio shorter than
    ``min_duration``.

    Args:
        corpus_dir: The corpus folder.
        label_column: The label column; None means ``score`` when present, else the ``rater_<n>``
            columns. ``"rater_*"`` forces rater averaging.
        classes: Declared label classes; labels outside them are problems. None skips the check.
        check_audio: Read each audio file's header (cheap). When False only existence and size
            are checked.
        rater_rule: How the rater average becomes an integer: ``floor``, ``round`` or ``ceil``.
        min_duration: Audio shorter than this many seconds is a problem (only with ``check_audio``).

    Returns:
        The problems, in file order (empty when the corpus is valid).

    Raises:
        ValueError: For an invalid ``rater_rule`` or ``classes`` argument (not a corpus problem).

    Example:
        >>> for problem in validate_corpus("my_corpus", label_column="age_band"):  # doctest: +SKIP
        ...     print(problem)
    """
    _check_rater_rule(rater_rule)
    declared = _check_classes(classes)
    scan = _scan_corpus(corpus_dir, label_column, declared, check_audio, rater_rule, min_duration)
    return scan.problems


def format_problems(problems: Sequence[CorpusProblem], root: str | os.PathLike | None = None) -> str:
    """Format problems as a message: a count line, then one line per problem.

    Args:
        problems: The problems.
        root: The corpus folder, named in the first line.

    Returns:
        The multi-line message.
    """
    where = f" in corpus {root}" if root is not None else ""
    head = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}{where}:"
    return "\n".join([head, *(f"  {p}" for p in problems)])


def _column_type(values: list[str], name: str) -> pa.DataType:
    """Infer int64 / float64 / string for an extra metadata column (ids stay strings)."""
    if name == "id" or name.endswith("_id"):
        return pa.string()
    present = [v for v in values if v != ""]
    if not present:
        return pa.string()
    if all(_INT_RE.match(v) for v in present):
        if all(-(2**63) <= int(v) < 2**63 for v in present):
            return pa.int64()
        return pa.string()
    if all(_FLOAT_RE.match(v) for v in present) and not any(_looks_zero_padded(v) for v in present):
        return pa.float64()
    return pa.string()


def _looks_zero_padded(value: str) -> bool:
    """True for values such as ``007`` that are codes, not numbers."""
    digits = value.lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()


def _convert(values: list[str], dtype: pa.DataType) -> list[Any]:
    """Convert string cells to the inferred type (empty cells become None for numbers)."""
    if dtype == pa.int64():
        return [int(v) if v != "" else None for v in values]
    if dtype == pa.float64():
        return [float(v) if v != "" else None for v in values]
    return values


def _build_dataset(scan: _Scan, rows: list[_Row]) -> datasets.Dataset:
    """Build the Arrow-backed dataset for the kept rows."""
    audio_type = pa.struct({"bytes": pa.binary(), "path": pa.string()})
    columns: dict[str, pa.Array] = {
        "audio": pa.array(
            [{"bytes": None, "path": str(scan.root / row.values["file_name"])} for row in rows], type=audio_type
        ),
        "response_id": pa.array([row.values["response_id"] for row in rows], type=pa.string()),
        "question_id": pa.array([row.values["question_id"] for row in rows], type=pa.string()),
        "label": pa.array([row.label for row in rows], type=pa.int64()),
    }
    features: dict[str, Any] = {
        "audio": datasets.Audio(sampling_rate=TARGET_SAMPLE_RATE, decode=False),
        "response_id": datasets.Value("string"),
        "question_id": datasets.Value("string"),
        "label": datasets.Value("int64"),
    }
    if scan.aspect_columns:
        columns["aspect_labels"] = pa.array([row.aspects for row in rows], type=pa.list_(pa.int64()))
        features["aspect_labels"] = datasets.Sequence(datasets.Value("int64"))
    for name in OPTIONAL_COLUMNS:
        if name in scan.header:
            columns[name] = pa.array([row.values.get(name, "") for row in rows], type=pa.string())
            features[name] = datasets.Value("string")
    consumed = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    if scan.label_column is not None:
        consumed.add(scan.label_column)
    for name in scan.header:
        if name in consumed or not name:
            continue
        values = [row.values.get(name, "") for row in rows]
        dtype = _column_type(values, name)
        columns[name] = pa.array(_convert(values, dtype), type=dtype)
        features[name] = datasets.Value(_VALUE_TYPES[dtype])
    table = pa.table(columns)
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=datasets.Features(features)))


RARE_CLASS_SHARE = 0.01
"""An inferred class with fewer than this share of the answers (or a single answer) is reported as suspicious."""


def label_warnings(rows: Sequence[_Row], metadata: Path) -> list[CorpusProblem]:
    """Inferred classes that look like label typos: a gap in the integer range, or a class of very few answers.

    A label typo (a 9 on a 1-5 scale) would otherwise become an ordinal class of its own without a word. One
    :class:`CorpusProblem` per gap and per row of a rare class; each advises passing the declared classes.
    """
    counts = Counter(row.label for row in rows if row.label is not None)
    if not counts:
        return []
    found = sorted(counts)
    advice = "if that is not intended, pass the declared classes (--classes, e.g. 1,2,3,4,5)"
    warnings = []
    missing = sorted(set(range(found[0], found[-1] + 1)) - set(found))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        warnings.append(CorpusProblem(str(metadata), f"inferred classes {found} are not a contiguous range "
                                                     f"(no answer has {shown}); {advice}"))  # fmt: skip
    total = sum(counts.values())
    for row in rows:
        n = counts.get(row.label, 0)
        if row.label is not None and (n == 1 or n < RARE_CLASS_SHARE * total):
            warnings.append(
                CorpusProblem(f"{metadata}:{row.line}", f"label {row.label} is a class of only {n} of {total} "
                              f"answers; {advice}", row.values.get("response_id") or None)
            )  # fmt: skip
    return warnings


def load_corpus(
    corpus_dir: str | os.PathLike,
    label_column: str | None = None,
    rater_rule: str = "floor",
    classes: Sequence[int] | None = None,
    strict: bool = True,
    *,
    check_audio: bool = True,
    min_duration: float = 0.1,
    require_labels: bool = True,
    aspect_columns: Sequence[str] | None = None,
) -> Corpus:
    """Load a corpus folder into a :class:`Corpus` after validating it.

    Args:
        corpus_dir: The corpus folder (see the module docstring for the layout).
        label_column: The label column; None means ``score`` when present, else the average of
            the ``rater_<n>`` columns. ``"rater_*"`` forces rater averaging.
        rater_rule: How the rater average becomes an integer: ``floor`` (default, as in the
            paper), ``round`` (halves up) or ``ceil``.
        classes: Declared label classes; None infers them from the labels found.
        strict: True raises :class:`CorpusError` listing every problem. False drops the rows with
            problems, logs a warning and keeps the problems in ``Corpus.problems``.
        check_audio: Read each audio header with ``soundfile.info`` (cheap, no decoding).
        min_duration: Audio shorter than this many seconds is a problem (default 0.1 s, the
            minimum :func:`modeling_asa.audio.load_audio` accepts).
        require_labels: False accepts a corpus with no label column (for scoring): its rows have ``label``
            ``None`` and the corpus has no classes.
        aspect_columns: Per-aspect label columns (e.g. ``["content", "delivery", "language_use"]``), each a
            number on the holistic label's classes (a mean of raters is reduced by ``rater_rule``); a missing or
            bad value, or one outside the classes, is a problem of that row like a bad label.

    Returns:
        The loaded :class:`Corpus`.

    Raises:
        CorpusError: With ``strict=True`` on any problem; always when the corpus cannot be read at
            all (missing files or columns, ambiguous label) or no usable row is left.
        ValueError: For an invalid ``rater_rule`` or ``classes`` argument.

    Example:
        >>> corpus = load_corpus("speechocean762-train", label_column="age_band")  # doctest: +SKIP
        >>> corpus.classes  # doctest: +SKIP
        [0, 1, 2, 3, 4]
    """
    _check_rater_rule(rater_rule)
    declared = _check_classes(classes)
    scan = _scan_corpus(
        corpus_dir, label_column, declared, check_audio, rater_rule, min_duration, require_labels,
        aspect_columns=list(aspect_columns or ()),
    )  # fmt: skip
    if scan.aspect_columns and declared is None and not scan.fatal:
        # inferred classes come from the holistic labels: an aspect outside them is a problem of its row
        found = {row.label for i, row in enumerate(scan.rows) if i not in scan.bad_rows and row.label is not None}
        for i, row in enumerate(scan.rows):
            if i in scan.bad_rows or not row.aspects or not found:  # no holistic labels: nothing to check against
                continue
            outside = [(c, v) for c, v in zip(scan.aspect_columns, row.aspects) if v not in found]
            if outside:
                column, value = outside[0]
                scan.problems.append(CorpusProblem(
                    f"{scan.root / METADATA_FILE}:{row.line}",
                    f"aspect label {value} in column {column!r} is not one of the label's classes {sorted(found)}",
                    row.values.get("response_id") or None,
                ))  # fmt: skip
                scan.bad_rows.add(i)
    if scan.fatal or (strict and scan.problems):
        raise CorpusError(format_problems(scan.problems, scan.root), scan.problems)
    kept = [row for i, row in enumerate(scan.rows) if i not in scan.bad_rows]
    if scan.problems:
        logger.warning(
            "Corpus %s: dropped %d of %d rows with problems (%d problems; first: %s)",
            scan.root,
            len(scan.rows) - len(kept),
            len(scan.rows),
            len(scan.problems),
            scan.problems[0],
        )
    if not kept:
        problems = scan.problems or [CorpusProblem(str(scan.root / METADATA_FILE), "no usable rows")]
        raise CorpusError(format_problems(problems, scan.root) + "\n  (no usable rows left)", problems)
    dataset = _build_dataset(scan, kept)
    found = sorted({row.label for row in kept if row.label is not None})
    corpus_classes = declared if declared is not None else found
    warnings = [] if declared is not None else label_warnings(kept, scan.root / METADATA_FILE)
    for warning in warnings:
        logger.warning("%s", warning)
    source = scan.label_source if not scan.rater_columns else f"{scan.label_source} -> {rater_rule}"
    logger.info(
        "Loaded corpus %s: %d responses, %d questions, classes %s, label from %s",
        scan.root,
        len(dataset),
        len(scan.questions),
        corpus_classes,
        source,
    )
    return Corpus(
        dataset=dataset,
        questions=dict(scan.questions),
        references={k: list(v) for k, v in scan.references.items()},
        classes=list(corpus_classes),
        problems=list(scan.problems),
        root=scan.root,
        label_source=source,
        warnings=warnings,
        aspects=list(scan.aspect_columns),
    )


def read_questions(path: str | os.PathLike) -> dict[str, str]:
    """Read a ``questions.jsonl`` file.

    Args:
        path: The file, or a corpus folder holding ``questions.jsonl``.

    Returns:
        ``question_id -> text``.

    Raises:
        CorpusError: Listing every problem in the file.
    """
    target = Path(path)
    if target.is_dir():
        target = target / QUESTIONS_FILE
    scan = _Scan(root=target.parent)
    _read_questions(target, scan)
    if scan.problems:
        raise CorpusError(format_problems(scan.problems), scan.problems)
    return dict(scan.questions)


__all__ = [
    "DEFAULT_LABEL_COLUMN",
    "METADATA_FILE",
    "QUESTIONS_FILE",
    "RARE_CLASS_SHARE",
    "RATER_LABEL",
    "RATER_RULES",
    "REQUIRED_COLUMNS",
    "Corpus",
    "CorpusError",
    "CorpusProblem",
    "apply_rater_rule",
    "format_problems",
    "label_warnings",
    "load_corpus",
    "read_questions",
    "validate_corpus",
]

# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The one text normaliser of the project: n-gram LM building and scoring, and the CTC aligners' transcripts.

Example:
    >>> normalize_text("Don't -- it's well-known, 'tis 2024!")
    "DON'T IT'S WELL KNOWN TIS"
"""

from __future__ import annotations

import re
import unicodedata

CASES = ("upper", "lower")
"""Valid values of the ``case`` arguments."""

_NOT_LETTER_OR_APOSTROPHE = re.compile(r"[^A-Za-z']+")
_LOOSE_APOSTROPHE = re.compile(r"(?<![A-Za-z])'|'(?![A-Za-z])")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def _check_case(case: str) -> str:
    """Return ``case`` or raise ``ValueError`` listing the valid values."""
    if case not in CASES:
        raise ValueError(f"case={case!r} is not one of {CASES}")
    return case


def normalize_text(text: str, case: str = "upper") -> str:
    """Normalise text to the tokens an n-gram model of this project is built from and queried with.

    Args:
        text: Any text (a sentence, a word, a transcript).
        case: ``"upper"`` or ``"lower"``: the case of the model's vocabulary.

    Returns:
        Space-separated tokens made of ASCII letters and inner apostrophes, or ``""`` when nothing
        is left.

    Example:
        >>> normalize_text("Don't -- it's well-known, 'tis 2024!")
        "DON'T IT'S WELL KNOWN TIS"
        >>> normalize_text("Café au lait", case="lower")
        'cafe au lait'
    """
    _check_case(case)
    folded = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    ascii_text = _NOT_LETTER_OR_APOSTROPHE.sub(" ", ascii_text)
    ascii_text = _LOOSE_APOSTROPHE.sub(" ", ascii_text)
    ascii_text = ascii_text.upper() if case == "upper" else ascii_text.lower()
    return " ".join(ascii_text.split())


__all__ = ["CASES", "normalize_text"]

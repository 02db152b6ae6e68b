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


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}  # fmt: skip
_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9])(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)?(?![A-Za-z0-9])", re.IGNORECASE)


def _cardinal(n: int) -> str:
    """English words of ``0 <= n < 10**12`` (``"twenty one"``, ``"one hundred five"``)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{_cardinal(head)} {name}" + ("" if rest == 0 else " " + _cardinal(rest))
    raise AssertionError(n)


def spell_numbers(text: str) -> str:
    """Write the digits of a transcript as English words, as a speaker says them.

    Whisper's decoder writes what it hears as ``"1, 2, 3"`` or ``"the 3rd"``; the aligners, the n-gram LM and the
    validity checks read words. Integers (with or without thousands commas, up to 12 digits) and ordinals
    (``1st``, ``22nd``) are spelt out; other characters are left as they are.

    Example:
        >>> spell_numbers("I counted 1, 2, 21 and 105 on the 3rd day of 2,000")
        'I counted one, two, twenty one and one hundred five on the third day of two thousand'
    """

    def spell(match: re.Match[str]) -> str:
        digits, suffix = match.group(1).replace(",", ""), match.group(2)
        if len(digits) > 12:
            return match.group(0)
        words = _cardinal(int(digits))
        if suffix:
            head, _, last = words.rpartition(" ")
            if last in _ORDINAL_WORDS:
                last = _ORDINAL_WORDS[last]
            elif last.endswith("y"):
                last = last[:-1] + "ieth"
            else:
                last += "th"
            words = f"{head} {last}".strip()
        return words

    return _NUMBER_RE.sub(spell, text)


__all__ = ["CASES", "normalize_text", "spell_numbers"]

# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Versions of the installed packages, recorded next to every computed artefact (features, heads, evaluations)."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata as importlib_metadata


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """The Python version and the installed version of each distribution in ``names``.

    Args:
        names: Distribution names as pip knows them (``"ctc-segmentation"``, ``"praat-parselmouth"``, ...).

    Returns:
        ``{"python": ..., name: version}``; a distribution that is not installed maps to ``"not installed"``.
    """
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out

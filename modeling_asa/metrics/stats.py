# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Summaries of a metric over seeds or folds: mean, spread and a 95% confidence interval of the mean.

With 3-5 seeds or folds the interval is wide; it is the honest statement of what a table's difference means.

Example:
    >>> s = mean_std_ci([0.70, 0.74, 0.72])
    >>> round(s["mean"], 3), round(s["std"], 3), round(s["ci95"], 3)
    (0.72, 0.02, 0.05)
    >>> d = paired_difference([0.75, 0.78, 0.74], [0.70, 0.74, 0.72])
    >>> round(d["mean"], 3)
    0.037
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_std_ci(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation and the half-width of a two-sided 95% t-interval of the mean.

    Args:
        values: one value per seed or fold.

    Returns:
        ``{"mean", "std", "ci95", "n"}``; ``std`` and ``ci95`` are 0 for a single value.

    Raises:
        ValueError: for no values.
    """
    from scipy.stats import t

    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        raise ValueError("no values to summarise")
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    half = float(t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else 0.0
    return {"mean": float(x.mean()), "std": std, "ci95": half, "n": n}


def format_mean_std_ci(stats: dict[str, float]) -> str:
    """``"mean ± std [±ci95]"`` of a :func:`mean_std_ci` result (three decimals); the mean alone for one value."""
    if stats["n"] > 1:
        return f"{stats['mean']:.3f} ± {stats['std']:.3f} [±{stats['ci95']:.3f}]"
    return f"{stats['mean']:.3f}"


def summary_cell(values: Sequence[float], expected: int | None = None) -> str:
    """A table cell: :func:`format_mean_std_ci` of ``values``, ``"-"`` for none, and ``" (n=k)"`` appended when
    fewer than ``expected`` runs have the value (runs lacking a split)."""
    if len(values) == 0:
        return "-"
    cell = format_mean_std_ci(mean_std_ci(values))
    return cell + (f" (n={len(values)})" if expected is not None and len(values) != expected else "")


def settings_table(
    settings: dict[str, list[dict]], splits: Sequence[str], metrics: Sequence[str], count: str = "runs"
) -> str:
    """A Markdown table, one row per setting: its run count and :func:`summary_cell` per split and metric.

    Args:
        settings: label -> the runs' ``asa_results.json`` contents (``{split: {metric: value}}``).
        splits, metrics: the columns, split-major.
        count: the header of the run-count column (``"runs"``, ``"seeds"``, ``"folds"``).
    """
    columns = [(s, m) for s in splits for m in metrics]
    lines = ["| setting | " + count + " | " + " | ".join(f"{s} {m}" for s, m in columns) + " |"]
    lines.append("|---" * (2 + len(columns)) + "|")
    for label, runs in settings.items():
        cells = [summary_cell([r[s][m] for r in runs if s in r], len(runs)) for s, m in columns]
        lines.append(f"| {label} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_interval(difference: dict[str, float]) -> str:
    """A :func:`paired_difference` (or Welch difference) as ``+0.012 [-0.004, +0.028]`` (``(1 pair)`` when alone)."""
    mean = difference["mean"]
    if difference["n"] < 2:
        return f"{mean:+.3f} (1 pair)"
    return f"{mean:+.3f} [{mean - difference['ci95']:+.3f}, {mean + difference['ci95']:+.3f}]"


def paired_difference(with_values: Sequence[float], without_values: Sequence[float]) -> dict[str, float]:
    """:func:`mean_std_ci` of the per-seed (or per-fold) differences ``with - without`` of paired runs.

    Pairing (same seed, same folds) removes the spread the two settings share, so the interval is usually narrower
    than that of either mean. An interval that excludes 0 is a difference this data distinguishes.

    Raises:
        ValueError: when the two lists differ in length or are empty.
    """
    a, b = np.asarray(with_values, dtype=np.float64), np.asarray(without_values, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values must match one to one, got {len(a)} and {len(b)}")
    return mean_std_ci(a - b)


def welch_difference(a_values: Sequence[float], b_values: Sequence[float]) -> dict[str, float]:
    """Mean difference ``mean(a) - mean(b)`` of two unpaired samples with a 95% Welch t-interval.

    For settings whose runs do not pair one to one (different models trained with the same seeds share only the
    data split), so neither the paired interval nor equal variances are assumed.

    Returns:
        ``{"diff", "ci_low", "ci_high", "p", "n_a", "n_b"}``; the interval bounds are NaN with fewer than two
        values on either side.

    Raises:
        ValueError: when either sample is empty.
    """
    from scipy.stats import ttest_ind

    a, b = np.asarray(a_values, dtype=np.float64), np.asarray(b_values, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both samples need at least one value")
    out = {"diff": float(a.mean() - b.mean()), "n_a": len(a), "n_b": len(b)}
    if len(a) < 2 or len(b) < 2:
        return {**out, "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan")}
    test = ttest_ind(a, b, equal_var=False)
    interval = test.confidence_interval(0.95)
    return {**out, "ci_low": float(interval.low), "ci_high": float(interval.high), "p": float(test.pvalue)}


__all__ = [
    "format_mean_std_ci",
    "mean_std_ci",
    "paired_difference",
    "settings_table",
    "summary_cell",
    "welch_difference",
]

"""Evaluation metrics for ordinal ASA scores.

Two ways to use them:

- plain numpy: :func:`compute_ordinal_metrics` and, for ``transformers.Trainer``,
  :func:`make_compute_metrics`;
- as Hugging Face ``evaluate`` modules shipped inside this package (``evaluate.load("name")``
  would fetch from the Hub, so they are loaded by path): :func:`load_asa_metric`.

Both go through :mod:`modeling_asa.metrics.ordinal`, the single implementation.

Example:
    >>> from modeling_asa.metrics import load_asa_metric
    >>> metric = load_asa_metric("asa_ordinal")  # doctest: +SKIP
    >>> metric.compute(predictions=[0, 2], references=[0, 1], num_classes=3)["mae"]  # doctest: +SKIP
    0.5
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ordinal import (
    ORDINAL_METRIC_NAMES,
    compute_ordinal_metrics,
    confusion_matrix,
    expected_scores,
    make_compute_metrics,
    quadratic_weighted_kappa,
)

if TYPE_CHECKING:
    import evaluate

logger = logging.getLogger(__name__)

#: Folder holding the local ``evaluate`` modules (one sub-folder ``<name>/<name>.py`` each).
METRICS_DIR: Path = Path(__file__).resolve().parent


def available_metrics() -> list[str]:
    """List the local ``evaluate`` modules shipped in :data:`METRICS_DIR`.

    Returns:
        Sorted names ``<name>`` for which ``METRICS_DIR/<name>/<name>.py`` exists.
    """
    return sorted(p.name for p in METRICS_DIR.iterdir() if (p / f"{p.name}.py").is_file())


def load_asa_metric(name: str = "asa_ordinal", **kwargs: Any) -> evaluate.EvaluationModule:
    """Load a metric shipped with ``modeling_asa`` through ``evaluate.load`` by local path.

    Works offline (``HF_HUB_OFFLINE=1``) and from any working directory.

    Args:
        name: Metric folder name under :data:`METRICS_DIR` (see :func:`available_metrics`).
        **kwargs: Passed to ``evaluate.load`` (e.g. ``experiment_id``, ``keep_in_memory``).

    Returns:
        The loaded ``evaluate.EvaluationModule``.

    Raises:
        ValueError: If ``name`` is not one of the shipped metrics.
    """
    import evaluate

    folder = METRICS_DIR / name
    if not (folder / f"{name}.py").is_file():
        raise ValueError(f"unknown ASA metric {name!r}: no {folder / (name + '.py')}; available: {available_metrics()}")
    logger.debug("Loading evaluate module from %s", folder)
    return evaluate.load(str(folder), **kwargs)


__all__ = [
    "METRICS_DIR",
    "ORDINAL_METRIC_NAMES",
    "available_metrics",
    "compute_ordinal_metrics",
    "confusion_matrix",
    "expected_scores",
    "load_asa_metric",
    "make_compute_metrics",
    "quadratic_weighted_kappa",
]

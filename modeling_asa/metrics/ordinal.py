"""Ordinal classification metrics for automatic speech assessment (plain numpy).

Proficiency scores are ordered classes (``0 < 1 < ... < K-1``), so besides accuracy and
macro-F1 the usual ASA metrics measure *how far* a prediction is from the reference:
quadratic weighted kappa (QWK), adjacent accuracy (``|pred - ref| <= 1``), mean absolute
error and Pearson correlation.

This module is the single source of truth for the maths: the local ``evaluate`` module
``modeling_asa/metrics/asa_ordinal/asa_ordinal.py`` and the ``Trainer`` hook built by
:func:`make_compute_metrics` both call :func:`compute_ordinal_metrics`.

Example:
    >>> from modeling_asa.metrics.ordinal import compute_ordinal_metrics
    >>> m = compute_ordinal_metrics([0, 1, 2, 2], [0, 1, 2, 1], num_classes=3)
    >>> round(m["accuracy"], 2), m["adjacent_accuracy"], round(m["mae"], 2)
    (0.75, 1.0, 0.25)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

ArrayLike = Sequence[int] | np.ndarray

#: Names of the scalar metrics returned by :func:`compute_ordinal_metrics` (besides
#: the per-class ``recall_<k>`` entries).
ORDINAL_METRIC_NAMES: tuple[str, ...] = (
    "accuracy",
    "macro_f1",
    "qwk",
    "adjacent_accuracy",
    "mae",
    "pearson",
)


def _as_class_array(values: Any, name: str) -> np.ndarray:
    """Convert ``values`` to a 1-D ``int64`` array of non-negative class ids.

    Args:
        values: A sequence, numpy array or CPU tensor of integer class ids (floats are
            accepted when they hold whole numbers).
        name: Argument name used in error messages.

    Returns:
        A 1-D ``np.int64`` array.

    Raises:
        ValueError: If ``values`` is not 1-D, holds non-integral or negative values.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D class ids, got an array of shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must hold integer class ids, got dtype {array.dtype}")
        if not np.all(np.equal(np.round(array), array)):
            raise ValueError(f"{name} must hold integer class ids, got non-integral values")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must hold class ids >= 0, got {int(array.min())}")
    return array


def _check_inputs(
    predictions: ArrayLike, references: ArrayLike, num_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate inputs and resolve the number of classes.

    Args:
        predictions: Predicted class ids.
        references: Reference class ids.
        num_classes: Number of classes, or ``None`` to use ``max(ids) + 1``.

    Returns:
        ``(predictions, references, num_classes)`` with both arrays as ``int64``.

    Raises:
        ValueError: On empty inputs, length mismatch or ids outside ``[0, num_classes)``.
    """
    pred = _as_class_array(predictions, "predictions")
    ref = _as_class_array(references, "references")
    if pred.shape != ref.shape:
        raise ValueError(f"predictions and references must have the same length, got {pred.size} and {ref.size}")
    if pred.size == 0:
        raise ValueError("predictions and references are empty: cannot compute metrics on 0 items")
    observed = int(max(pred.max(), ref.max())) + 1
    if num_classes is None:
        num_classes = observed
    elif int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    elif observed > int(num_classes):
        raise ValueError(f"class id {observed - 1} is out of range for num_classes={num_classes}")
    return pred, ref, int(num_classes)


def confusion_matrix(predictions: ArrayLike, references: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix with references on rows and predictions on columns.

    Args:
        predictions: Predicted class ids, shape ``(N,)``.
        references: Reference class ids, shape ``(N,)``.
        num_classes: Number of classes ``K`` (defaults to ``max(ids) + 1``).

    Returns:
        ``np.int64`` array of shape ``(K, K)``; entry ``[i, j]`` counts items with
        reference ``i`` predicted as ``j``.
    """
    pred, ref, k = _check_inputs(predictions, references, num_classes)
    return np.bincount(ref * k + pred, minlength=k * k).reshape(k, k)


def quadratic_weighted_kappa(predictions: ArrayLike, references: ArrayLike, num_classes: int | None = None) -> float:
    """Cohen's kappa with quadratic weights on the class *values*.

    ``kappa = 1 - sum(W * O) / sum(W * E)`` with ``W[i, j] = (i - j)^2``, ``O`` the
    confusion matrix and ``E`` the outer product of the two marginals divided by ``N``.
    Equals ``sklearn.metrics.cohen_kappa_score(references, predictions,
    weights="quadratic", labels=range(K))``. Without ``labels`` sklearn weights classes by
    their rank among the *observed* labels, which differs when a class in the middle of
    the scale is absent; here the distance is always the class-value difference.

    When both predictions and references are one and the same constant class, kappa is
    ``0/0``; since the agreement is perfect we return ``1.0`` (sklearn returns NaN).

    Args:
        predictions: Predicted class ids, shape ``(N,)``.
        references: Reference class ids, shape ``(N,)``.
        num_classes: Number of classes ``K`` (defaults to ``max(ids) + 1``).

    Returns:
        QWK in ``[-1, 1]``.

    References:
        Cohen (1968), "Weighted kappa: Nominal scale agreement provision for scaled
        disagreement or partial credit", Psychological Bulletin 70(4).
    """
    pred, ref, k = _check_inputs(predictions, references, num_classes)
    observed = np.bincount(ref * k + pred, minlength=k * k).reshape(k, k).astype(np.float64)
    n = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    classes = np.arange(k, dtype=np.float64)
    weights = (classes[:, None] - classes[None, :]) ** 2
    denominator = float((weights * expected).sum())
    if denominator == 0.0:
        # Only possible when every prediction and reference is the same single class.
        return 1.0
    return float(1.0 - (weights * observed).sum() / denominator)


def _pearson(pred: np.ndarray, ref: np.ndarray) -> float:
    """Pearson correlation that never returns NaN.

    Args:
        pred: Predicted class ids.
        ref: Reference class ids.

    Returns:
        The correlation; ``1.0`` if ``pred == ref`` everywhere, ``0.0`` when either side
        is constant (correlation undefined) and they differ.
    """
    if np.array_equal(pred, ref):
        return 1.0
    pred = pred.astype(np.float64)
    p = pred - pred.mean()
    r = ref.astype(np.float64) - ref.mean()
    denominator = float(np.sqrt((p * p).sum() * (r * r).sum()))
    if denominator == 0.0:
        return 0.0
    return float(np.clip((p * r).sum() / denominator, -1.0, 1.0))


def expected_scores(probabilities: np.ndarray) -> np.ndarray:
    """The probability-weighted class index of each row: ``sum_k p_k * k`` (the expected score, in class units).

    Example:
        >>> expected_scores(np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])).tolist()
        [0.5, 2.0]
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"expected_scores: probabilities must be (N, K), got shape {probabilities.shape}")
    return probabilities @ np.arange(probabilities.shape[1], dtype=np.float64)


def compute_ordinal_metrics(
    predictions: ArrayLike,
    references: ArrayLike,
    num_classes: int | None = None,
    expected: ArrayLike | None = None,
) -> dict[str, float]:
    """Compute the ASA metric set for ordinal class predictions.

    Args:
        predictions: Predicted class ids, shape ``(N,)`` (list, numpy array or CPU tensor).
        references: Reference class ids, shape ``(N,)``.
        num_classes: Number of score classes ``K``. Defaults to ``max(ids) + 1``; pass it
            so that ``recall_<k>`` keys are stable across evaluation sets.
        expected: The expected score of each answer in class units (:func:`expected_scores` of the class
            probabilities), shape ``(N,)``; adds ``pcc``.

    Returns:
        A dict of floats:

        - ``accuracy``: exact-match rate.
        - ``macro_f1``: unweighted mean of per-class F1 over the classes that occur in
          references or predictions (same as ``sklearn.metrics.f1_score(average="macro")``).
        - ``qwk``: quadratic weighted kappa (see :func:`quadratic_weighted_kappa`).
        - ``adjacent_accuracy``: rate of ``|pred - ref| <= 1``.
        - ``mae``: mean absolute error in class units.
        - ``pearson``: Pearson correlation; ``1.0`` for identical inputs and ``0.0`` when
          one side is constant (never NaN).
        - ``pcc`` (with ``expected``): Pearson correlation of the expected score with the reference, the
          field's utterance-level metric (GOPT and its successors on speechocean762 report it); in class units,
          which equals the correlation with the label values when the classes are evenly spaced.
        - ``recall_<k>`` for ``k`` in ``range(K)``: per-class recall, NaN for classes
          absent from the references.

    Raises:
        ValueError: On empty or mismatched inputs, non-integer or out-of-range ids.

    Example:
        >>> m = compute_ordinal_metrics([2, 2, 1], [2, 1, 1])
        >>> round(m["macro_f1"], 3), m["recall_1"]
        (0.667, 0.5)
    """
    pred, ref, k = _check_inputs(predictions, references, num_classes)
    conf = np.bincount(ref * k + pred, minlength=k * k).reshape(k, k).astype(np.float64)
    true_pos = np.diag(conf)
    support = conf.sum(axis=1)
    predicted = conf.sum(axis=0)
    present = (support + predicted) > 0
    # F1 = 2TP / (2TP + FP + FN) = 2TP / (support + predicted); defined on present classes.
    f1 = np.divide(2.0 * true_pos, support + predicted, out=np.zeros(k), where=present)
    abs_err = np.abs(pred - ref)

    metrics: dict[str, float] = {
        "accuracy": float(true_pos.sum() / pred.size),
        "macro_f1": float(f1[present].mean()),
        "qwk": quadratic_weighted_kappa(pred, ref, k),
        "adjacent_accuracy": float(np.mean(abs_err <= 1)),
        "mae": float(abs_err.mean()),
        "pearson": _pearson(pred, ref),
    }
    if expected is not None:
        scores = np.asarray(expected, dtype=np.float64).reshape(-1)
        if scores.shape != ref.shape or not np.isfinite(scores).all():
            raise ValueError(f"expected: {scores.shape[0]} finite scores needed for {ref.shape[0]} references")
        metrics["pcc"] = _pearson(scores, ref)
    recall = np.divide(true_pos, support, out=np.full(k, np.nan), where=support > 0)
    for cls in range(k):
        metrics[f"recall_{cls}"] = float(recall[cls])
    return metrics


def _logits_to_classes(logits: np.ndarray, num_classes: int) -> np.ndarray:
    """Turn model outputs into class ids.

    Args:
        logits: ``(N, K)`` class scores (argmax) or ``(N,)`` / ``(N, 1)`` regression
            outputs (rounded and clipped to ``[0, K-1]``).
        num_classes: Number of classes ``K``.

    Returns:
        ``(N,)`` int64 class ids.

    Raises:
        ValueError: If the output shape is neither of the above.
    """
    logits = np.asarray(logits)
    if logits.ndim == 2 and logits.shape[1] == num_classes and num_classes > 1:
        return logits.argmax(axis=-1).astype(np.int64)
    if logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1):
        return np.clip(np.rint(logits.reshape(-1)), 0, num_classes - 1).astype(np.int64)
    raise ValueError(
        f"cannot turn predictions of shape {logits.shape} into class ids: expected "
        f"(N, {num_classes}) logits or (N,) / (N, 1) regression scores"
    )


def make_compute_metrics(num_classes: int) -> Callable[[Any], dict[str, float]]:
    """Build a ``compute_metrics`` function for :class:`transformers.Trainer`.

    The returned function takes an ``EvalPrediction`` (or a ``(predictions, label_ids)``
    tuple). When the model returns several outputs, ``predictions`` is a tuple and its
    first element is taken as the logits; ``(N, K)`` logits are arg-maxed, ``(N,)`` or
    ``(N, 1)`` regression outputs are rounded and clipped to ``[0, K-1]``.

    Args:
        num_classes: Number of score classes ``K``.

    Returns:
        ``compute_metrics(eval_pred) -> dict[str, float]`` (see
        :func:`compute_ordinal_metrics`, with ``pcc`` of the softmax expected score for ``(N, K)`` logits).

    Example:
        >>> import numpy as np
        >>> from transformers import EvalPrediction
        >>> fn = make_compute_metrics(3)
        >>> logits = np.array([[2.0, 0.1, 0.0], [0.0, 0.2, 1.0]])
        >>> fn(EvalPrediction(predictions=(logits,), label_ids=np.array([0, 2])))["accuracy"]
        1.0
    """
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    num_classes = int(num_classes)

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        """Compute ordinal metrics from a Trainer ``EvalPrediction``.

        Args:
            eval_pred: ``EvalPrediction`` or ``(predictions, label_ids)``.

        Returns:
            The metric dict of :func:`compute_ordinal_metrics`.
        """
        logits, labels = eval_pred[0], eval_pred[1]
        if isinstance(logits, tuple):
            logits = logits[0]
        if isinstance(labels, tuple):
            labels = labels[0]
        predictions = _logits_to_classes(logits, num_classes)
        expected = None
        logits = np.asarray(logits, dtype=np.float64)
        if logits.ndim == 2 and logits.shape[1] == num_classes and num_classes > 1:
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            expected = expected_scores(shifted / shifted.sum(axis=1, keepdims=True))
        return compute_ordinal_metrics(predictions, np.asarray(labels).reshape(-1), num_classes, expected)

    return compute_metrics


__all__ = [
    "ORDINAL_METRIC_NAMES",
    "compute_ordinal_metrics",
    "confusion_matrix",
    "expected_scores",
    "make_compute_metrics",
    "quadratic_weighted_kappa",
]

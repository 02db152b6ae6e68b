"""Tests for modeling_asa.metrics: numpy maths vs scikit-learn, edge cases, evaluate module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import cohen_kappa_score, f1_score, recall_score
from transformers import EvalPrediction

from modeling_asa.metrics import (
    METRICS_DIR,
    ORDINAL_METRIC_NAMES,
    available_metrics,
    compute_ordinal_metrics,
    confusion_matrix,
    expected_scores,
    load_asa_metric,
    make_compute_metrics,
    quadratic_weighted_kappa,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("num_classes", [2, 3, 5, 9])
def test_matches_sklearn_on_random_data(seed: int, num_classes: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    ref = rng.integers(0, num_classes, size=n)
    # correlated predictions so kappa is not ~0
    pred = np.clip(ref + rng.integers(-1, 2, size=n) * (rng.random(n) < 0.5), 0, num_classes - 1)
    m = compute_ordinal_metrics(pred, ref, num_classes=num_classes)
    labels = list(range(num_classes))
    assert m["qwk"] == pytest.approx(cohen_kappa_score(ref, pred, weights="quadratic", labels=labels), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(ref, pred, average="macro"), abs=1e-12)
    assert m["accuracy"] == pytest.approx(np.mean(pred == ref))
    assert m["mae"] == pytest.approx(np.mean(np.abs(pred - ref)))
    assert m["adjacent_accuracy"] == pytest.approx(np.mean(np.abs(pred - ref) <= 1))
    if np.std(pred) > 0 and np.std(ref) > 0:
        assert m["pearson"] == pytest.approx(pearsonr(pred, ref)[0], abs=1e-12)
    present = sorted(set(ref.tolist()))
    sk_recall = recall_score(ref, pred, labels=present, average=None)
    for cls, value in zip(present, sk_recall):
        assert m[f"recall_{cls}"] == pytest.approx(value)
    for cls in set(labels) - set(present):
        assert np.isnan(m[f"recall_{cls}"])


def test_qwk_uncorrelated_predictions_match_sklearn_default_when_all_classes_present() -> None:
    rng = np.random.default_rng(0)
    ref, pred = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert quadratic_weighted_kappa(pred, ref) == pytest.approx(cohen_kappa_score(ref, pred, weights="quadratic"))


def test_qwk_uses_class_values_not_ranks_of_observed_labels() -> None:
    # class 1 absent: sklearn's default treats {0, 2} as adjacent ranks, we use value distance
    ref, pred = np.array([0, 0, 2, 2, 2]), np.array([0, 2, 2, 0, 2])
    ours = quadratic_weighted_kappa(pred, ref, num_classes=3)
    assert ours == pytest.approx(cohen_kappa_score(ref, pred, weights="quadratic", labels=[0, 1, 2]))
    # here, the two conventions happen to agree (only 2 observed classes); with 3 they differ
    ref3, pred3 = np.array([0, 1, 3, 3, 0]), np.array([1, 0, 3, 0, 3])
    ours3 = quadratic_weighted_kappa(pred3, ref3, num_classes=4)
    assert ours3 == pytest.approx(cohen_kappa_score(ref3, pred3, weights="quadratic", labels=[0, 1, 2, 3]))
    assert ours3 != pytest.approx(cohen_kappa_score(ref3, pred3, weights="quadratic"))


def test_perfect_predictions() -> None:
    ref = [0, 1, 2, 3, 4, 2]
    m = compute_ordinal_metrics(ref, ref, num_classes=5)
    assert m["qwk"] == 1.0 and m["pearson"] == 1.0 and m["accuracy"] == 1.0 and m["macro_f1"] == 1.0
    assert m["mae"] == 0.0 and m["adjacent_accuracy"] == 1.0
    assert all(m[f"recall_{k}"] == 1.0 for k in range(5))


def test_single_class_everywhere_is_perfect_not_nan() -> None:
    m = compute_ordinal_metrics([2, 2, 2], [2, 2, 2], num_classes=4)
    assert m["qwk"] == 1.0 and m["pearson"] == 1.0 and m["accuracy"] == 1.0
    assert m["macro_f1"] == 1.0
    assert np.isnan(m["recall_0"]) and m["recall_2"] == 1.0


def test_single_reference_class_with_varied_predictions() -> None:
    ref, pred = [1, 1, 1, 1], [0, 1, 2, 1]
    m = compute_ordinal_metrics(pred, ref, num_classes=3)
    assert m["qwk"] == pytest.approx(cohen_kappa_score(ref, pred, weights="quadratic", labels=[0, 1, 2]))
    assert m["qwk"] == pytest.approx(0.0)
    assert m["pearson"] == 0.0  # undefined (constant references), reported as 0, never NaN
    assert m["accuracy"] == 0.5 and m["adjacent_accuracy"] == 1.0
    assert m["macro_f1"] == pytest.approx(f1_score(ref, pred, average="macro", zero_division=0))


def test_all_wrong_reversed_scale() -> None:
    ref = np.array([0, 1, 2, 3, 4] * 4)
    pred = 4 - ref
    pred[ref == 2] = 0  # no correct prediction anywhere
    m = compute_ordinal_metrics(pred, ref, num_classes=5)
    assert m["accuracy"] == 0.0 and m["macro_f1"] == 0.0
    assert m["qwk"] < 0 and m["pearson"] < 0
    assert m["qwk"] == pytest.approx(cohen_kappa_score(ref, pred, weights="quadratic", labels=list(range(5))))
    assert m["mae"] == pytest.approx(np.abs(pred - ref).mean())


def test_fully_reversed_qwk_is_minus_one() -> None:
    ref = np.array([0, 1, 2, 3, 4])
    assert quadratic_weighted_kappa(4 - ref, ref) == pytest.approx(-1.0)


def test_confusion_matrix_rows_are_references() -> None:
    cm = confusion_matrix([1, 1, 0], [0, 1, 0], num_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [0, 0, 0]])


def test_keys_and_types() -> None:
    m = compute_ordinal_metrics(np.array([0, 1]), [1, 1], num_classes=3)
    assert set(ORDINAL_METRIC_NAMES) <= set(m)
    assert {f"recall_{k}" for k in range(3)} <= set(m)
    assert all(type(v) is float for v in m.values())
    json.dumps(m)


def test_accepts_integral_floats_and_tensors() -> None:
    import torch

    m = compute_ordinal_metrics(torch.tensor([0, 2]), np.array([0.0, 2.0]))
    assert m["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("pred", "ref", "kwargs", "match"),
    [
        ([], [], {}, "empty"),
        ([0, 1], [0], {}, "same length"),
        ([0, 3], [0, 1], {"num_classes": 3}, "class id 3 is out of range for num_classes=3"),
        ([0, -1], [0, 1], {}, "predictions must hold class ids >= 0"),
        ([0, 1.5], [0, 1], {}, "predictions must hold integer class ids"),
        ([[0, 1]], [[0, 1]], {}, "predictions must be 1-D"),
        ([0], [0], {"num_classes": 0}, "num_classes must be >= 1"),
        ([0], ["a"], {}, "references must hold integer class ids"),
    ],
)
def test_validation_errors(pred, ref, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        compute_ordinal_metrics(pred, ref, **kwargs)


def test_make_compute_metrics_with_tuple_logits() -> None:
    fn = make_compute_metrics(num_classes=3)
    logits = np.array([[3.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 2.0, 0.0]], dtype=np.float32)
    hidden = np.zeros((3, 7), dtype=np.float32)
    out = fn(EvalPrediction(predictions=(logits, hidden), label_ids=np.array([0, 2, 2])))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = expected_scores(probabilities)
    assert out == pytest.approx(
        compute_ordinal_metrics([0, 2, 1], [0, 2, 2], num_classes=3, expected=expected), nan_ok=True
    )
    assert out["pcc"] == pytest.approx(pearsonr(expected, [0, 2, 2])[0])
    # plain array logits and a plain tuple give the same result
    assert fn((logits, np.array([0, 2, 2]))) == pytest.approx(out, nan_ok=True)


def test_pcc_is_the_pearson_correlation_of_the_expected_score() -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(11), size=40)
    ref = rng.integers(2, 11, 40)
    expected = expected_scores(probabilities)
    assert expected == pytest.approx(probabilities @ np.arange(11))
    pred = probabilities.argmax(axis=1)
    metrics = compute_ordinal_metrics(pred, ref, num_classes=11, expected=expected)
    assert metrics["pcc"] == pytest.approx(pearsonr(expected, ref)[0])
    assert "pcc" not in compute_ordinal_metrics(pred, ref, num_classes=11)
    with pytest.raises(ValueError, match="expected: 39 finite scores needed for 40 references"):
        compute_ordinal_metrics(pred, ref, num_classes=11, expected=expected[:-1])
    metric = load_asa_metric("asa_ordinal", experiment_id="test_metrics_pcc")
    result = metric.compute(predictions=pred, references=ref, num_classes=11, expected=expected)
    assert result["pcc"] == pytest.approx(metrics["pcc"])


def test_make_compute_metrics_regression_outputs_are_rounded_and_clipped() -> None:
    fn = make_compute_metrics(num_classes=4)
    out = fn(EvalPrediction(predictions=np.array([[-0.7], [1.4], [2.6], [9.0]]), label_ids=np.array([0, 1, 3, 3])))
    assert out == pytest.approx(compute_ordinal_metrics([0, 1, 3, 3], [0, 1, 3, 3], num_classes=4), nan_ok=True)


def test_make_compute_metrics_rejects_bad_shapes() -> None:
    fn = make_compute_metrics(num_classes=4)
    with pytest.raises(ValueError, match=r"cannot turn predictions of shape \(2, 3\) into class ids"):
        fn(EvalPrediction(predictions=np.zeros((2, 3)), label_ids=np.array([0, 1])))
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        make_compute_metrics(0)


def test_available_metrics_and_unknown_name() -> None:
    assert "asa_ordinal" in available_metrics()
    assert (METRICS_DIR / "asa_ordinal" / "README.md").is_file()
    with pytest.raises(ValueError, match="unknown ASA metric 'nope'.*available: \\['asa_ordinal'\\]"):
        load_asa_metric("nope")


def test_evaluate_module_loads_by_path_and_matches_numpy(tmp_path: Path) -> None:
    metric = load_asa_metric("asa_ordinal", experiment_id="test_metrics_inproc")
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 5, 50)
    pred = np.clip(ref + rng.integers(-2, 3, 50), 0, 4)
    # incremental API as in an eval loop
    for start in range(0, 50, 20):
        metric.add_batch(predictions=pred[start : start + 20], references=ref[start : start + 20])
    result = metric.compute(num_classes=5)
    expected = compute_ordinal_metrics(pred, ref, num_classes=5)
    assert result == pytest.approx(expected, nan_ok=True)
    assert set(metric.features) == {"predictions", "references"}
    assert "Wu" in metric.citation and "qwk" in metric.inputs_description


def test_evaluate_load_offline_from_foreign_cwd(tmp_path: Path) -> None:
    """evaluate.load by path in a fresh interpreter, Hub offline, cwd outside the repo."""
    code = (
        "import json, evaluate\n"
        "from modeling_asa.metrics import METRICS_DIR\n"
        "m = evaluate.load(str(METRICS_DIR / 'asa_ordinal'))\n"
        "print(json.dumps(m.compute(predictions=[0, 1, 2, 2], references=[0, 1, 2, 1], num_classes=3)))\n"
    )
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_EVALUATE_OFFLINE="1",
        HF_MODULES_CACHE=str(tmp_path / "modules"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == pytest.approx(compute_ordinal_metrics([0, 1, 2, 2], [0, 1, 2, 1], num_classes=3), nan_ok=True)
    assert (tmp_path / "modules").is_dir()  # the module was copied into the isolated cache

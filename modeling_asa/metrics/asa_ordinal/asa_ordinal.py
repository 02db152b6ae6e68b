"""ASA ordinal metrics as a local Hugging Face ``evaluate`` module.

Load it by path (the Hub is not needed)::

    from modeling_asa.metrics import load_asa_metric
    metric = load_asa_metric("asa_ordinal")
    metric.compute(predictions=[0, 1, 2], references=[0, 2, 2], num_classes=3)

``evaluate.load`` copies this file into its module cache before importing it, so it must
not use relative imports: the maths is imported by absolute package name from
:mod:`modeling_asa.metrics.ordinal`, which must therefore be installed (or on
``sys.path``).
"""

import datasets
import evaluate

from modeling_asa.metrics.ordinal import compute_ordinal_metrics

_DESCRIPTION = """\
Metrics for ordinal proficiency scores in automatic speech assessment (ASA): accuracy,
macro-F1, quadratic weighted kappa (QWK, distance = class-value difference), adjacent
accuracy (|prediction - reference| <= 1), mean absolute error in class units, Pearson
correlation (never NaN) and per-class recall.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (`list` of `int`): predicted score classes, 0 .. K-1.
    references (`list` of `int`): reference score classes, 0 .. K-1.
    num_classes (`int`, *optional*): number of classes K; defaults to max(ids) + 1. Pass it
        so the `recall_<k>` keys are the same for every evaluation set.
    expected (`list` of `float`, *optional*): each answer's expected score in class units (sum_k p_k * k).
Returns:
    accuracy (`float`): exact-match rate.
    macro_f1 (`float`): mean per-class F1 over classes present in references or predictions.
    qwk (`float`): quadratic weighted kappa; 1.0 when both sides are the same constant class.
    adjacent_accuracy (`float`): rate of |prediction - reference| <= 1.
    mae (`float`): mean absolute error in class units.
    pearson (`float`): Pearson correlation; 1.0 if identical, 0.0 if one side is constant.
    pcc (`float`, with `expected`): Pearson correlation of the expected score with the reference (the field's
        utterance-level metric on speechocean762).
    recall_<k> (`float`): recall of class k, NaN when k is absent from the references.
Examples:
    >>> metric = evaluate.load("path/to/modeling_asa/metrics/asa_ordinal")
    >>> results = metric.compute(predictions=[0, 1, 2, 2], references=[0, 1, 2, 1], num_classes=3)
    >>> results["accuracy"], results["adjacent_accuracy"]
    (0.75, 1.0)
"""

_CITATION = """\
@inproceedings{wu2024optimizing,
  title     = {Optimizing Automatic Speech Assessment: W-RankSim Regularization and Hybrid Feature Fusion Strategies},
  author    = {Wu, Chung-Wen and Chen, Berlin},
  booktitle = {Proc. Interspeech 2024},
  year      = {2024}
}
@article{cohen1968weighted,
  title   = {Weighted kappa: Nominal scale agreement provision for scaled disagreement or partial credit},
  author  = {Cohen, Jacob},
  journal = {Psychological Bulletin},
  volume  = {70},
  number  = {4},
  pages   = {213--220},
  year    = {1968}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AsaOrdinal(evaluate.Metric):
    """Accuracy, macro-F1, QWK, adjacent accuracy, MAE, Pearson and per-class recall."""

    def _info(self) -> evaluate.MetricInfo:
        """Describe the metric and its input features.

        Returns:
            The ``evaluate.MetricInfo`` for this module.
        """
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.cohen_kappa_score.html"],
        )

    def _compute(self, predictions, references, num_classes=None, expected=None) -> dict:
        """Compute the metrics.

        Args:
            predictions: Predicted class ids.
            references: Reference class ids.
            num_classes: Number of classes (optional).
            expected: Expected score of each answer in class units (optional; adds ``pcc``).

        Returns:
            A dict of floats (see ``_KWARGS_DESCRIPTION``).
        """
        return compute_ordinal_metrics(predictions, references, num_classes=num_classes, expected=expected)


__all__ = ["AsaOrdinal"]

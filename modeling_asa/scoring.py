# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Score new recordings with a trained model and exactly the features it was trained on.

:class:`AsaScorer` reads a model folder (or Hub id) written by ``train_asa.py``: the model, and its feature recipe
(``feature_recipe.json``: every stage that ran in ``asa-prepare``, with its models and settings). It rebuilds those
stages (:mod:`modeling_asa.features.stage`, the code ``asa-prepare`` runs) and runs them, batch by batch, on the
answers it is given; then the model. ``asa-score`` (:mod:`modeling_asa.cli`) and the ``speech-assessment`` pipeline
task are thin wrappers over it.

Example:
    >>> from modeling_asa import AsaScorer
    >>> scorer = AsaScorer.from_pretrained("outputs/run1")  # doctest: +SKIP
    >>> result = scorer.score("answer.wav", question="Describe the picture.")  # doctest: +SKIP
    >>> result.predicted, round(result.expected_score, 2), result.words[0]["word"]  # doctest: +SKIP
    (4, 3.71, 'THE')
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .audio import AudioError, load_answer_audio, speech_problem, to_mono_16k
from .features.recipe import RecipeError, load_recipe, model_option_problems, stage_models, stages_from_recipe
from .features.stage import Answer, FeatureStage, assemble_example, one_line
from .scorability import Thresholds, evidence_dict, flags_for

logger = logging.getLogger(__name__)


def label_value(name: str) -> int | float | str:
    """A class name of ``id2label`` as the corpus's label value (``"3"`` -> 3)."""
    try:
        number = float(name)
    except (TypeError, ValueError):
        return name
    return int(number) if number.is_integer() else number


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def prediction_rows(
    response_ids: Sequence[str],
    logits: np.ndarray,
    label_values: Sequence[Any],
    references: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """Rows of a predictions table: ``response_id``, ``predicted``, ``expected_score``, ``prob_<label>`` per class,
    and ``reference`` when given (label values, not class indices). Shared by ``train_asa.py`` and ``asa-score``.

    Args:
        response_ids: One id per row of ``logits``.
        logits: ``(n, |C|)`` model logits.
        label_values: The label value of each class index.
        references: The reference label value per row, or ``None``.
    """
    probabilities = softmax(logits)
    numeric = all(isinstance(v, (int, float)) for v in label_values)
    rows = []
    for i, rid in enumerate(response_ids):
        p = probabilities[i]
        row: dict[str, Any] = {
            "response_id": rid,
            "predicted": label_values[int(p.argmax())],
            "expected_score": float(np.dot(p, np.asarray(label_values, dtype=np.float64))) if numeric else None,
        }
        row.update({f"prob_{v}": float(p[j]) for j, v in enumerate(label_values)})
        if references is not None:
            row["reference"] = references[i]
        rows.append(row)
    return rows


ASPECT_METRICS = ("accuracy", "macro_f1", "qwk", "pcc")
"""The metrics reported per aspect (``aspect_<name>_<metric>`` in ``asa_results.json`` and ``metrics.json``)."""


def aspect_predictions(predictions: Any, config: Any) -> np.ndarray | None:
    """The ``(n, num_aspects, |C|)`` aspect logits in `Trainer.predict`'s output, or ``None`` without aspect heads."""
    if not getattr(config, "aspects", None) or not isinstance(predictions, (tuple, list)):
        return None
    found = [np.asarray(p) for p in predictions if np.asarray(p).ndim == 3]
    return found[0] if found else None


def aspect_metrics(
    probabilities: np.ndarray, aspect_labels: Sequence[Sequence[int]], aspects: Sequence[str], num_labels: int
) -> dict[str, float]:
    """``aspect_<name>_<metric>`` for each aspect, on the answers rated on it.

    Args:
        probabilities: ``(n, num_aspects, |C|)`` class probabilities of the aspect heads.
        aspect_labels: ``(n, num_aspects)`` class indices; a negative value is an answer not rated on that aspect.
        aspects: the aspect names, in the heads' order.
        num_labels: ``|C|``.
    """
    from .metrics import compute_ordinal_metrics, expected_scores

    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray([list(map(int, row)) for row in aspect_labels], dtype=np.int64).reshape(len(probabilities), -1)
    out: dict[str, float] = {}
    for i, name in enumerate(aspects):
        rated = labels[:, i] >= 0
        if not rated.any():
            continue
        p = probabilities[rated, i]
        metrics = compute_ordinal_metrics(
            p.argmax(-1), labels[rated, i], num_classes=num_labels, expected=expected_scores(p)
        )
        out.update({f"aspect_{name}_{m}": float(metrics[m]) for m in ASPECT_METRICS if m in metrics})
    return out


def add_aspect_columns(
    rows: list[dict[str, Any]],
    aspect_logits: np.ndarray,
    aspects: Sequence[str],
    label_values: Sequence[Any],
    references: Sequence[Sequence[int]] | None = None,
) -> list[dict[str, Any]]:
    """Add each aspect's expected score (``aspect_<name>``), predicted level and, when given, reference level to
    prediction rows (in place; returned too)."""
    values = np.asarray(label_values, dtype=np.float64)
    for i, row in enumerate(rows):
        for j, name in enumerate(aspects):
            p = softmax(aspect_logits[i, j])
            row[f"aspect_{name}"] = float(np.dot(p, values))
            row[f"aspect_{name}_predicted"] = label_values[int(p.argmax())]
            if references is not None:
                index = int(references[i][j])
                row[f"aspect_{name}_reference"] = label_values[index] if index >= 0 else None
    return rows


def write_predictions(path: str | os.PathLike, rows: list[dict[str, Any]], label_values: Sequence[Any]) -> Path:
    """Write :func:`prediction_rows` to a CSV file (probabilities with 6 decimals; ``asa-score`` adds ``error``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["response_id", "predicted", "expected_score", *(f"prob_{v}" for v in label_values)]
    columns += [name for name in ("reference", "flags", "error") if rows and name in rows[0]]
    columns += [name for name in (rows[0] if rows else {}) if name.startswith("aspect_")]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    return path


@dataclass
class AsaScore:
    """The score of one answer.

    ``scorable`` (a property, in :meth:`to_dict` too) is ``False`` for an answer with an error or a flag: its level
    should not be reported as a score.

    Attributes:
        file: The file (or ``"<array i>"``) that was scored.
        response_id: The answer's id (the file's stem, or the corpus id).
        predicted: The predicted label, as the corpus's own label value (``None`` when ``error`` is set).
        expected_score: The probability-weighted label value (``None`` for non-numeric labels or on error).
        probabilities: Label value -> probability.
        words: The word timeline behind the delivery features: per word ``word``, ``start``, ``end`` (s) and the
            raw (unnormalised) delivery fields (``None`` where undefined); empty without a delivery stage.
        transcript: The transcript used: the given one, else the recogniser's own text (case and punctuation kept;
            the timeline's ``words`` are the same words as the aligner read them).
        flags: Why it is not scorable (:data:`~modeling_asa.scorability.FLAGS`; empty when scorable). A flagged
            answer keeps its words and probabilities, for inspection.
        evidence: What the flags were decided on (:data:`~modeling_asa.features.relevance.RELEVANCE_FIELDS`;
            ``None`` where undefined); empty without a relevance stage.
        error: Why the answer could not be scored (one line), else ``None``.
        aspects: For a model with aspect heads, each aspect's expected score (e.g. ``{"content": 3.2, "delivery":
            2.8, "language_use": 3.0}``); empty otherwise.
        aspect_probabilities: Each aspect's label value -> probability.
    """

    file: str
    response_id: str
    predicted: Any = None
    expected_score: float | None = None
    probabilities: dict[Any, float] = field(default_factory=dict)
    words: list[dict[str, Any]] = field(default_factory=list)
    transcript: str | None = None
    flags: list[str] = field(default_factory=list)
    evidence: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    aspects: dict[str, float | None] = field(default_factory=dict)
    aspect_probabilities: dict[str, dict[Any, float]] = field(default_factory=dict)

    @property
    def scorable(self) -> bool:
        """Whether the level can be reported as a score: no error and no flag."""
        return self.error is None and not self.flags

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: label values as string keys, ``scorable`` included."""
        out = asdict(self)
        out["scorable"] = self.scorable
        out["probabilities"] = {str(k): v for k, v in self.probabilities.items()}
        out["aspect_probabilities"] = {
            name: {str(k): v for k, v in probabilities.items()}
            for name, probabilities in self.aspect_probabilities.items()
        }
        return out


def _timeline(delivery: Mapping[str, np.ndarray], lm: Mapping[str, np.ndarray] | None) -> list[dict[str, Any]]:
    from .features.delivery import DELIVERY_FIELDS, delivery_matrix

    matrix = delivery_matrix(delivery["delivery_core"], lm["lm_log10_prob"] if lm else None)
    words = []
    for i, word in enumerate(delivery["words"]):
        entry: dict[str, Any] = {"word": str(word), "start": float(delivery["starts"][i]),
                                 "end": float(delivery["ends"][i])}  # fmt: skip
        for j, name in enumerate(DELIVERY_FIELDS):
            value = float(matrix[i, j])
            entry[name] = value if math.isfinite(value) else None
        words.append(entry)
    return words


def load_stages(
    recipe: dict[str, Any],
    overrides: dict[str, str | None] | None = None,
    device: str | None = None,
    batch_size: int = 8,
    where: str = "the model",
    folder: str | os.PathLike | None = None,
) -> dict[str, FeatureStage]:
    """Rebuild a recipe's stages (:func:`~modeling_asa.features.recipe.stages_from_recipe`), check every model
    before anything loads (one line each), then load them. ``folder``: the model folder the recipe came from.

    Raises:
        RecipeError: A recorded model missing here without an override, or a model option that cannot be resolved.
    """
    stages = stages_from_recipe(recipe, overrides, device=device, batch_size=batch_size, where=where, folder=folder)
    unresolved = model_option_problems(stage_models(stages))
    if unresolved:
        raise RecipeError("; ".join(unresolved))
    for stage in stages.values():
        stage.load()
    return stages


class AsaScorer:
    """Score spoken answers with a trained ASA model and the feature stages it was trained with.

    Args:
        model (`AsaHybridForOrdinalClassification`): The trained model.
        recipe (`dict`): Its feature recipe.
        stages (`dict[str, FeatureStage]`): The stages rebuilt from the recipe (loaded).
        batch_size (`int`, *optional*, defaults to 8): Answers per batch (each model runs once per batch).

    Use [`AsaScorer.from_pretrained`] to build one from a model folder.
    """

    def __init__(
        self,
        model,
        recipe: dict[str, Any],
        stages: dict[str, FeatureStage],
        batch_size: int = 8,
        thresholds: Thresholds | None = None,
    ):
        from .collator import AsaDataCollator

        self.thresholds = thresholds or Thresholds()
        self.model = model.eval()
        self.recipe = recipe
        self.stages = stages
        self.batch_size = batch_size
        self.branches = list(model.config.branches)
        self.label_values = [label_value(model.config.id2label[i]) for i in range(model.config.num_labels)]
        self.collator = AsaDataCollator(
            branches=self.branches, relevance=bool(getattr(model.config, "relevance_feature_size", 0))
        )
        missing = [b for b, s in (("content", "content"), ("delivery", "delivery"), ("language_use", "language_use"))
                   if b in self.branches and s not in stages]  # fmt: skip
        if missing:
            raise RecipeError(f"the model reads the {', '.join(missing)} branch(es) but its recipe has no such stage")

    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | os.PathLike,
        *,
        device: str | None = None,
        batch_size: int = 8,
        revision: str | None = None,
        thresholds: dict[str, Any] | None = None,
        **model_options: str | None,
    ) -> AsaScorer:
        """Load a model folder (or Hub id) and rebuild and load its feature stages.

        Args:
            model_name_or_path: A folder written by ``train_asa.py`` (``save_pretrained`` + ``feature_recipe.json``)
                or a Hub id of one.
            device: ``cpu``, ``cuda``, ...; ``None`` picks CUDA when available.
            batch_size: Answers per batch.
            revision: Hub revision, for a Hub id.
            thresholds: Override thresholds of the non-scorable checks (``scorability.json`` of the folder, see
                :class:`~modeling_asa.scorability.Thresholds`), e.g. ``{"min_words": 5}``.
            **model_options: Replace a recorded model (``acoustic_encoder``, ``context_encoder``, ``ctc_model``,
                ``asr_model``, ``recognizer``, ``lm``, ``spacy_model``), or give ``models_dir``: where the recorded
                local models are found (default ``$ASA_MODELS_DIR``, else the project's ``.cache/models``).

        Raises:
            RecipeError: No recipe, or a recorded model missing here without an override (names the option).
        """
        import torch

        from .modeling_asa import AsaHybridForOrdinalClassification

        folder = Path(model_name_or_path).expanduser()
        if not folder.is_dir():
            folder = Path(_download(str(model_name_or_path), revision))
        recipe = load_recipe(folder)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        stages = load_stages(
            recipe, model_options, device=device, batch_size=batch_size, where=str(folder), folder=folder
        )
        model = AsaHybridForOrdinalClassification.from_pretrained(str(folder)).to(device)
        return cls(
            model, recipe, stages, batch_size=batch_size, thresholds=Thresholds.load(folder, **(thresholds or {}))
        )

    # -- inputs --------------------------------------------------------------------------------------------------

    @staticmethod
    def _decode(item: Any, index: int, sampling_rate: int | None) -> tuple[str, np.ndarray]:
        """(file name, 16 kHz mono wave) of a path, an array (with ``sampling_rate``) or a ``{"array", ...}`` dict."""
        if isinstance(item, (str, os.PathLike)):
            return os.fspath(item), load_answer_audio(item)
        if isinstance(item, Mapping):
            return str(item.get("path") or f"<array {index}>"), load_answer_audio(item)
        name = f"<array {index}>"
        if sampling_rate is None:
            raise AudioError(f"{name}: an array needs its sampling_rate")
        wave = to_mono_16k(np.asarray(item), int(sampling_rate), name=name)
        problem = speech_problem(wave)
        if problem:
            raise AudioError(f"{name}: {problem}")
        return name, wave

    def score(
        self,
        audio: Any,
        question: str | Sequence[str] | None = None,
        transcript: str | Sequence[str | None] | None = None,
        sampling_rate: int | None = None,
        response_ids: Sequence[str] | None = None,
        show_progress: bool = False,
    ) -> AsaScore | list[AsaScore]:
        """Score one answer or a list of answers.

        Args:
            audio: A file path, a 1-D array (with ``sampling_rate``), a ``{"array", "sampling_rate"}`` dict, or a
                list of them.
            question: The question text (one for all answers, or one per answer); required by the content branch.
            transcript: Known transcript(s); ``None`` uses the recipe's ASR model, as in training without
                transcripts.
            sampling_rate: Rate of array inputs.
            response_ids: Ids for the answers (default: the file stems, or ``answer_<i>``).
            show_progress: A progress bar over the answers.

        Returns:
            An [`AsaScore`] (a list for a list input). An answer that cannot be scored has ``error`` set; the others
            are still scored.
        """
        single = not isinstance(audio, (list, tuple))
        items = [audio] if single else list(audio)
        n = len(items)
        questions = _per_answer(question, n, "question")
        transcripts = _per_answer(transcript, n, "transcript")
        answers, results = [], []
        for i, item in enumerate(items):
            rid = response_ids[i] if response_ids else None
            try:
                name, wave = self._decode(item, i, sampling_rate)
            except AudioError as err:
                name = os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"<array {i}>"
                results.append(AsaScore(name, rid or Path(name).stem, error=str(err)))
                continue
            rid = rid or (Path(name).stem if not name.startswith("<") else f"answer_{i}")
            answers.append(Answer(rid, wave, None, questions[i], transcripts[i], name))
            results.append(None)
        scored = iter(self.score_answers(answers, show_progress=show_progress))
        results = [r if r is not None else next(scored) for r in results]
        return results[0] if single else results

    # -- scoring -------------------------------------------------------------------------------------------------

    def score_answers(self, answers: Sequence[Answer], show_progress: bool = False) -> list[AsaScore]:
        """Score decoded answers (16 kHz waves), in batches of similar length; results in input order."""
        from tqdm.auto import tqdm

        order = sorted(range(len(answers)), key=lambda i: len(answers[i].wave))
        results: list[AsaScore | None] = [None] * len(answers)
        with tqdm(total=len(answers), desc="Scoring", unit="answer", disable=not show_progress) as bar:
            for start in range(0, len(order), self.batch_size):
                batch = [answers[i] for i in order[start : start + self.batch_size]]
                for i, result in zip(order[start : start + self.batch_size], self._score_batch(batch)):
                    results[i] = result
                bar.update(len(batch))
        return results  # type: ignore[return-value]

    def compute_features(self, answers: Sequence[Answer]) -> list[dict[str, Any] | str]:
        """Run the recipe's stages on a batch: per answer, the model-input row or a one-line problem.

        A row holds what ``asa-prepare`` stores for the answer (``acoustic_features``, ``delivery_features``,
        ``language_use_features``, ``words``, ``transcript``), the question states, and ``stage_outputs`` (every
        stage's raw arrays, for the word timeline).
        """
        outputs: dict[str, dict[str, Any]] = {a.response_id: {} for a in answers}
        failed: dict[str, str] = {}
        question_states: dict[str, np.ndarray] = {}
        for name, stage in self.stages.items():
            alive = [a for a in answers if a.response_id not in failed]
            if not alive:
                break
            if stage.per_question:
                texts = sorted({a.question for a in alive if isinstance(a.question, str)})
                for a in alive:
                    if not isinstance(a.question, str):
                        failed[a.response_id] = "no question text (the content branch needs the question)"
                if texts:
                    computed = stage.compute([Answer(t, question=t) for t in texts], [{} for _ in texts])
                    question_states.update({t: r["question_features"] for t, r in zip(texts, computed)})
                continue
            inputs = [{need: outputs[a.response_id][need] for need in stage.needs} for a in alive]
            try:
                computed = stage.compute(alive, inputs)
            except Exception as err:  # noqa: BLE001 - reported per answer; the other batches go on
                computed = [one_line(err)] * len(alive)
            for answer, result in zip(alive, computed, strict=True):
                if isinstance(result, str):
                    failed[answer.response_id] = f"{name}: {result}"
                else:
                    outputs[answer.response_id][name] = result
        rows: list[dict[str, Any] | str] = []
        for answer in answers:
            if answer.response_id in failed:
                rows.append(failed[answer.response_id])
                continue
            row = assemble_example(outputs[answer.response_id])
            if "question" in self.stages:
                row["question_features"] = question_states[answer.question]
            row["stage_outputs"] = outputs[answer.response_id]
            rows.append(row)
        return rows

    def _score_batch(self, answers: list[Answer]) -> list[AsaScore]:
        scores, batch, kept = self.prepare(answers)
        if batch is not None:
            self.finish(kept, self.forward(batch))
        return scores

    def decode(self, audio: Any, sampling_rate: int | None = None, index: int = 0) -> tuple[str, np.ndarray]:
        """``(name, 16 kHz wave)`` of one input (path, array with ``sampling_rate``, or audio dict).

        Raises:
            AudioError: An unreadable or unusable recording (one line naming it).
        """
        return self._decode(audio, index, sampling_rate)

    def prepare(self, answers: Sequence[Answer]) -> tuple[list[AsaScore], dict[str, Any] | None, list[AsaScore]]:
        """Run the feature stages: ``(one AsaScore per answer, the model's input batch or None, the scores the batch
        fills)``. Words, transcript, flags and evidence are set here; an answer whose features fail gets its
        ``error``."""
        scores, rows, kept = [], [], []
        for answer, row in zip(answers, self.compute_features(answers)):
            score = AsaScore(answer.source, answer.response_id, transcript=answer.transcript)
            if isinstance(row, str):
                score.error = row
                if "heard no words" in row:
                    score.flags = ["no_speech"]
                logger.warning("%s: %s", answer.name, score.error)
            else:
                found = row.pop("stage_outputs")
                rows.append(row)
                kept.append(score)
                if "delivery" in found:
                    score.words = _timeline(found["delivery"], found.get("lm"))
                    score.transcript = str(found["delivery"]["transcript"])
                if "recognition" in found and answer.transcript is None:
                    score.transcript = str(found["recognition"]["text"])  # as the recogniser wrote it
                if "relevance" in found:
                    evidence = evidence_dict(found["relevance"]["relevance_features"])
                    score.flags = flags_for(evidence, self.thresholds)
                    score.evidence = {k: (v if math.isfinite(v) else None) for k, v in evidence.items()}
            scores.append(score)
        return scores, (self.collator(rows) if rows else None), kept

    def forward(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        """The model on one input batch: ``{"logits"}`` and, with aspect heads, ``{"aspect_logits"}`` (numpy)."""
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            out = self.model(**{k: v.to(device) for k, v in batch.items()})
        outputs = {"logits": out.logits.float().cpu().numpy()}
        if out.aspect_logits is not None:
            outputs["aspect_logits"] = out.aspect_logits.float().cpu().numpy()
        return outputs

    def finish(self, scores: Sequence[AsaScore], outputs: dict[str, np.ndarray]) -> None:
        """Fill the scores of a batch from the model's outputs: level, expected score, probabilities, aspects."""
        aspects = self.model.config.aspects or []
        numeric = all(isinstance(v, (int, float)) for v in self.label_values)
        rows = prediction_rows([s.response_id for s in scores], outputs["logits"], self.label_values)
        for i, (score, row) in enumerate(zip(scores, rows)):
            score.predicted = row["predicted"]
            score.expected_score = row["expected_score"]
            score.probabilities = {v: row[f"prob_{v}"] for v in self.label_values}
            for j, name in enumerate(aspects):
                p = softmax(outputs["aspect_logits"][i, j])
                score.aspect_probabilities[name] = {v: float(p[k]) for k, v in enumerate(self.label_values)}
                score.aspects[name] = float(np.dot(p, np.asarray(self.label_values, float))) if numeric else None


def _per_answer(value: Any, n: int, what: str) -> list[Any]:
    if value is None or isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{len(values)} {what}s for {n} answers")
    return values


def _download(model_id: str, revision: str | None) -> str:
    """A Hub model's folder (one line of error when the Hub is unreachable)."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(model_id, revision=revision)
    except Exception as err:  # noqa: BLE001 - turned into one line naming the id and what to do
        raise RecipeError(
            f"{model_id}: not a local folder, and it could not be fetched from the Hub ({type(err).__name__}); "
            "pass a local model folder"
        ) from None


def recipe_folder(name_or_path: str | os.PathLike, revision: str | None = None) -> Path:
    """The folder holding a model's ``feature_recipe.json`` (and ``scorability.json``): the model folder itself, or
    for a Hub id the local snapshot of those two files (``hf_hub_download``; the weights are not fetched again)."""
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return folder
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError

    try:
        recipe = Path(hf_hub_download(str(name_or_path), "feature_recipe.json", revision=revision))
    except Exception as err:  # noqa: BLE001 - one line naming the id and what to do
        raise RecipeError(f"{name_or_path}: no feature_recipe.json found locally or on the Hub "
                          f"({type(err).__name__}); pass a model folder written by train_asa.py") from None  # fmt: skip
    try:
        hf_hub_download(str(name_or_path), "scorability.json", revision=revision)
    except EntryNotFoundError:
        pass  # a model without fitted thresholds: the defaults apply
    return recipe.parent


def _pipeline_class():
    """The ``speech-assessment`` pipeline class (built lazily: ``transformers.Pipeline`` is imported on first use)."""
    from transformers import Pipeline

    class SpeechAssessmentPipeline(Pipeline):
        """``transformers.pipeline("speech-assessment", model=MODEL)``: a model folder or Hub id of an ASA scorer.

        Call it with a file path, a ``{"array", "sampling_rate"}`` dict or an array (with ``sampling_rate=``) and
        ``question="..."``; it returns [`AsaScore.to_dict`]: ``scorable``, ``flags``, ``predicted``,
        ``expected_score``, ``probabilities``, ``aspects``, ``words``, ``error``... In the transformers shape:
        ``preprocess`` decodes the audio and runs the feature stages of the model's recipe, ``_forward`` runs the
        model, ``postprocess`` formats the score.
        """

        def __init__(self, model, *args, scorer: AsaScorer | None = None, **kwargs):
            super().__init__(model, *args, **kwargs)
            if scorer is None:
                folder = recipe_folder(model.config._name_or_path)
                recipe = load_recipe(folder)
                stages = load_stages(recipe, device=str(self.device), where=str(folder), folder=folder)
                scorer = AsaScorer(model, recipe, stages, thresholds=Thresholds.load(folder))
            self.scorer = scorer

        def _sanitize_parameters(self, question=None, transcript=None, sampling_rate=None, **kwargs):
            preprocess = {"question": question, "transcript": transcript, "sampling_rate": sampling_rate}
            return {k: v for k, v in preprocess.items() if v is not None}, {}, {}

        def preprocess(self, inputs, question=None, transcript=None, sampling_rate=None):
            try:
                name, wave = self.scorer.decode(inputs, sampling_rate)
            except AudioError as err:
                name = os.fspath(inputs) if isinstance(inputs, (str, os.PathLike)) else "<array 0>"
                return {"scores": [AsaScore(name, Path(name).stem, error=str(err))], "batch": None, "kept": []}
            rid = Path(name).stem if not name.startswith("<") else "answer_0"
            scores, batch, kept = self.scorer.prepare([Answer(rid, wave, None, question, transcript, name)])
            return {"scores": scores, "batch": batch, "kept": kept}

        def _forward(self, model_inputs):
            batch = model_inputs["batch"]
            return {**model_inputs, "outputs": self.scorer.forward(batch) if batch is not None else None}

        def postprocess(self, model_outputs):
            if model_outputs["outputs"] is not None:
                self.scorer.finish(model_outputs["kept"], model_outputs["outputs"])
            return model_outputs["scores"][0].to_dict()

        def _ensure_tensor_on_device(self, inputs, device):
            return inputs  # the scorer moves the batch itself (and the scores are not tensors)

    return SpeechAssessmentPipeline


def register_pipeline() -> None:
    """Register the ``speech-assessment`` task with ``transformers.pipeline`` (done when ``modeling_asa`` is imported)."""
    from transformers import AutoModelForSequenceClassification
    from transformers.pipelines import PIPELINE_REGISTRY

    PIPELINE_REGISTRY.register_pipeline(
        "speech-assessment", pipeline_class=_pipeline_class(), pt_model=AutoModelForSequenceClassification, type="audio"
    )


__all__ = [
    "ASPECT_METRICS",
    "AsaScore",
    "AsaScorer",
    "add_aspect_columns",
    "aspect_metrics",
    "aspect_predictions",
    "label_value",
    "load_stages",
    "prediction_rows",
    "recipe_folder",
    "register_pipeline",
    "softmax",
    "write_predictions",
]

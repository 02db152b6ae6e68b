# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Model cards for trained ASA scorers: a README.md with Hub metadata, settings, feature encoders and results."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "model_card.md"
METRIC_COLUMNS = ("accuracy", "macro_f1", "qwk", "pcc", "adjacent_accuracy", "mae", "pearson")
"""``pcc``: Pearson correlation of the expected score with the label, the field's utterance-level metric."""


def _results_table(results: dict[str, dict[str, float]]) -> str:
    if not results:
        return "No evaluation was run."
    header = "| split | " + " | ".join(METRIC_COLUMNS) + " |"
    rule = "|---" * (len(METRIC_COLUMNS) + 1) + "|"
    rows = [
        f"| {split} | " + " | ".join(f"{metrics.get(name, float('nan')):.3f}" for name in METRIC_COLUMNS) + " |"
        for split, metrics in results.items()
    ]
    table = "\n".join([header, rule, *rows])
    # per aspect (a model with aspect heads): QWK and PCC of each aspect's score against its own label
    aspects = sorted({k[len("aspect_") : -len("_qwk")] for m in results.values() for k in m
                      if k.startswith("aspect_") and k.endswith("_qwk")})  # fmt: skip
    if aspects:
        splits = list(results)
        lines = ["| aspect | " + " | ".join(f"{s} QWK | {s} PCC" for s in splits) + " |",
                 "|---" * (1 + 2 * len(splits)) + "|"]  # fmt: skip
        for aspect in aspects:
            cells = [
                f"{results[s].get(f'aspect_{aspect}_{m}', float('nan')):.3f}" for s in splits for m in ("qwk", "pcc")
            ]
            lines.append(f"| {aspect} | " + " | ".join(cells) + " |")
        table += "\n\nEach aspect's score against its own label:\n\n" + "\n".join(lines)
    return table


def _model_index(model_name: str, results: dict[str, dict[str, float]], dataset_name: str) -> str:
    if not results:
        return ""
    lines = ["model-index:", f"- name: {model_name}", "  results:"]
    for split, metrics in results.items():
        lines += [
            "  - task:",
            "      type: audio-classification",
            "      name: Automatic speech assessment",
            "    dataset:",
            f"      name: {dataset_name}",
            f"      type: {dataset_name}",
            f"      split: {split}",
            "    metrics:",
        ]
        for name in ("accuracy", "macro_f1", "qwk", "pcc"):
            if name in metrics:
                lines += [f"    - type: {name}", f"      value: {metrics[name]:.4f}"]
    return "\n".join(lines)


def _model_reference(name: str | None) -> str | None:
    """How a card names a model: Hub ids and relative paths as given; an absolute local path (machine-specific, of
    no use to a reader) by its last two components."""
    if not name or not Path(str(name)).is_absolute():
        return name
    parts = Path(str(name)).parts
    return f"local folder .../{'/'.join(parts[-2:])}"


def _inputs_table(config: Any) -> str:
    """Rows of the card's "computed by" table: only the inputs of the branches the model uses."""
    branches = set(config.branches)
    aligner, asr = f"`{_model_reference(config.ctc_model)}`", f"`{_model_reference(config.asr_model)}`"
    rows = []
    if "content" in branches:
        rows.append(("acoustic states", f"`{_model_reference(config.acoustic_encoder)}`"))
        rows.append(("question token states", f"`{_model_reference(config.context_encoder)}`"))
    if branches & {"delivery", "language_use"}:
        heard = getattr(config, "recognizer", None)
        source = f"the decoder of `{_model_reference(heard)}`" if heard else f"the greedy CTC path of {asr}"
        words = f"transcripts from {source} where the corpus has none, aligned by CTC-segmentation with {aligner}"
        rows.append(("words (transcript, alignment)", words))
    if "delivery" in branches:
        rows.append(("delivery posteriors", f"{aligner} (monolingual), {asr} (multilingual)"))
        rows.append(("n-gram LM", f"`{_model_reference(config.language_model)}`"))
    if "language_use" in branches:
        rows.append(("language use", f"spaCy `{config.spacy_model}`"))
    return "\n".join(f"| {name} | {value} |" for name, value in rows)


def _recipe_table(recipe: dict[str, Any] | None) -> str:
    """The feature recipe as recorded (every stage that ran, with its settings), or a note when there is none."""
    if not recipe:
        return "No feature recipe: this model was not trained on `asa-prepare` features and cannot score audio."
    rows = ["| stage | settings |", "|---|---|"]
    for stage, settings in recipe.get("stages", {}).items():
        shown = []
        for key, value in settings.items():
            if key == "inventory":
                value = f"{value.get('feature_size')} one-hot columns of spaCy {value.get('spacy_model')} " \
                        f"{value.get('spacy_model_version')}"  # fmt: skip
            elif isinstance(value, str):
                value = f"`{_model_reference(value)}`"
            shown.append(f"{key}: {value}")
        rows.append(f"| {stage} | {'; '.join(shown)} |")
    normalisation = recipe.get("delivery_normalisation")
    if normalisation:
        rows.append(f"| delivery normalisation | mean/std per field over {normalisation.get('fitted_on')} |")
    return "\n".join(rows)


GENERIC_USE = (
    "Intended to assist human raters in scoring spoken answers of the kind it was trained on (the training data "
    "above): the same tasks, kind of speakers and recording conditions. Not validated for any other use."
)
"""The card's intended-use text when the training run gives none (``train_asa.py --intended_use``)."""


def render_model_card(
    config: Any,
    results: dict[str, dict[str, float]] | None = None,
    features_metadata: dict[str, Any] | None = None,
    training_args: Any = None,
    num_train: int | None = None,
    model_name: str = "asa-hybrid",
    license: str = "apache-2.0",
    recipe: dict[str, Any] | None = None,
    intended_use: str | None = None,
) -> str:
    """Fill the model-card template (``intended_use``: the card's intended use and limits for this model, in
    Markdown; a generic statement when ``None``).

    Args:
        config: the model's `AsaHybridConfig`.
        results: split -> metric name -> value (as returned by ``compute_ordinal_metrics``).
        features_metadata: ``features_metadata.json`` of the training features (data description, corpus name).
        training_args: the `TrainingArguments` used.
        num_train: number of training rows.
        model_name: title of the card.
        license: license id for the Hub metadata.
        recipe: the feature recipe (``feature_recipe.json``) the model was trained on.

    Returns:
        The card as Markdown with YAML front matter.
    """
    results = results or {}
    meta = features_metadata or {}
    eval_split = meta.get("eval_split", "dev")
    corpus = meta.get("corpus_name") or meta.get("source") or "unknown"
    description = meta.get("description") or f"Features from `{corpus}`."
    args = training_args
    fields = {
        "license": license,
        "model_index": _model_index(model_name, results, str(corpus).replace(" ", "_")),
        "model_name": model_name,
        "num_labels": config.num_labels,
        "class_names": ", ".join(str(config.id2label[i]) for i in range(config.num_labels)),
        "branches": ", ".join(config.branches),
        "branch_encoder": _branch_encoder_text(config),
        "loss": f"lmcl (s={config.lmcl_scale}, m={config.lmcl_margin})" if config.loss == "lmcl" else config.loss,
        "regularizer": config.regularizer
        if config.regularizer == "none"
        else f"{config.regularizer} (lambda={config.ranksim_lambda}, gamma={config.ranksim_gamma})",
        "hidden_size": config.hidden_size,
        "head_hidden_size": config.head_hidden_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "inputs_table": _inputs_table(config),
        "recipe_table": _recipe_table(recipe),
        "data_description": description,
        "num_train": num_train if num_train is not None else "unknown",
        "optimizer": "RAdam" if getattr(args, "use_radam", False) else getattr(args, "optim", "unknown"),
        "learning_rate": getattr(args, "learning_rate", "unknown"),
        "weight_decay": getattr(args, "weight_decay", "unknown"),
        "batch_size": getattr(args, "per_device_train_batch_size", "unknown"),
        "epochs": getattr(args, "num_train_epochs", "unknown"),
        "seed": getattr(args, "seed", "unknown"),
        "selection": (
            f"checkpoint chosen on the `{eval_split}` split by "
            f"`{getattr(args, 'metric_for_best_model', None) or 'loss'}`"
            if getattr(args, "load_best_model_at_end", False)
            else f"the final model (no checkpoint chosen; `{eval_split}` is only reported)"
        ),
        "results_table": _results_table(results),
        "intended_use": intended_use.strip() if intended_use else GENERIC_USE,
    }
    return TEMPLATE_PATH.read_text().format(**fields)


def _branch_encoder_text(config: Any) -> str:
    """The card's description of how branches are encoded (the paper's transformers, or the pooled baseline)."""
    if getattr(config, "branch_encoder", "transformer") != "pooled":
        return "transformer encoder with a CLS token per branch (the paper's)"
    head = f"an MLP (H^o = {config.head_hidden_size})" if config.head_hidden_size else "a linear output layer"
    return f"pooled baseline: masked mean of each input, standardised on the train split, into {head}"


def write_model_card(output_dir: str | Path, config: Any, **kwargs: Any) -> Path:
    """Render the card (see :func:`render_model_card`) into ``output_dir/README.md``; returns its path."""
    path = Path(output_dir) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_model_card(config, **kwargs))
    logger.info("Wrote model card %s", path)
    return path


__all__ = ["TEMPLATE_PATH", "render_model_card", "write_model_card"]

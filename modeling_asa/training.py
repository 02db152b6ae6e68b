# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Train the hybrid ASA scorer (Wu & Chen, Interspeech 2024) on a features folder written by ``asa-prepare``.

The training entry point behind ``asa-train`` and the top-level ``train_asa.py`` launcher (which ``accelerate
launch`` runs); scripts and experiment drivers call :func:`main` with a list of arguments.

Examples::

    # built-in default: a generated imbalanced 5-class feature set (no downloads, about a minute on 2 CPU cores)
    asa-train --output_dir outputs/demo           # = python train_asa.py --output_dir outputs/demo

    # a real corpus, after `asa-prepare CORPUS --output features/`
    accelerate launch train_asa.py --features_dir features/ --output_dir outputs/run1 \\
        --loss ce --regularizer w_ranksim --num_train_epochs 30

    # all arguments from a JSON file
    python train_asa.py args.json

The script trains with `AsaTrainer` (RAdam; the model's loss is main + gamma * regulariser), picks the checkpoint on dev
split, evaluates every test split, and writes the model (with its remote code), metrics and a model card.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import torch
import transformers
from transformers import HfArgumentParser, set_seed

from modeling_asa import AsaHybridConfig, AsaHybridForOrdinalClassification
from modeling_asa.collator import SEQUENCE_INPUTS, AsaDataCollator, tensor_format
from modeling_asa.data.folds import SELECTION_SPLITS, FoldsError, fold_datasets, load_folds
from modeling_asa.features.recipe import portable_recipe, save_recipe
from modeling_asa.features.store import FeaturesError, FeatureSet, config_kwargs_from_metadata, load_features
from modeling_asa.metrics import compute_ordinal_metrics, expected_scores, make_compute_metrics
from modeling_asa.model_card import write_model_card
from modeling_asa.runtime import configure_threads, cpu_has_bf16
from modeling_asa.scorability import Thresholds, evidence_dict, fit_thresholds, flags_for
from modeling_asa.scoring import (
    add_aspect_columns,
    aspect_metrics,
    aspect_predictions,
    label_value,
    prediction_rows,
    softmax,
    write_predictions,
)
from modeling_asa.synthetic import make_synthetic_features
from modeling_asa.trainer import AsaTrainer, AsaTrainingArguments

logger = logging.getLogger("train_asa")


@dataclass
class ModelArguments:
    """Which model to train: architecture, loss and regulariser (defaults: the paper's)."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Start from this checkpoint (Hub id or folder) instead of a new model."}
    )
    branches: str = field(
        default="content,delivery,language_use",
        metadata={"help": "Comma-separated enabled branches (any of content, delivery, language_use)."},
    )
    branch_encoder: str = field(
        default="transformer",
        metadata={
            "help": "transformer (the paper's branch encoders) or pooled (the baseline: mean-pooled features, "
            "standardised on the train split, into a linear output layer with --head_hidden_size 0 or an MLP)."
        },
    )
    loss: str = field(
        default="ce",
        metadata={
            "help": "Main loss: ce, lmcl, or corn (the CORN ordinal baseline; with --regularizer none or ranksim)."
        },
    )
    regularizer: str = field(default="w_ranksim", metadata={"help": "none, w_ranksim or ranksim."})
    class_weighting: str = field(
        default="none",
        metadata={"help": "none, or balanced: weight each answer's main loss by n / (|C| n_c) of the train split."},
    )
    ranksim_lambda: float = field(default=2.0, metadata={"help": "Blackbox rank interpolation lambda."})
    ranksim_gamma: float = field(default=1.5, metadata={"help": "Weight gamma of the regulariser."})
    lmcl_scale: float = field(default=1.96, metadata={"help": "LMCL scale s."})
    lmcl_margin: float = field(default=0.15, metadata={"help": "LMCL margin m."})
    hidden_size: int = field(default=512, metadata={"help": "Branch encoder width H."})
    head_hidden_size: int = field(
        default=64, metadata={"help": "MLP width H^o (0 with --branch_encoder pooled: a linear model)."}
    )
    num_hidden_layers: int = field(default=2, metadata={"help": "Transformer layers per branch."})
    num_attention_heads: int = field(default=8, metadata={"help": "Attention heads per layer."})
    intermediate_size: int = field(default=1024, metadata={"help": "Feed-forward size per layer."})
    hidden_dropout_prob: float = field(default=0.1, metadata={"help": "Dropout."})
    acoustic_downsample: int = field(default=1, metadata={"help": "Average-pool acoustic frames by this factor."})
    aspects: bool = field(
        default=True,
        metadata={"help": "Train one head per aspect when the features carry aspect labels (asa-prepare "
                  "--aspect-columns); false: the holistic head only."},
    )  # fmt: skip
    aspect_source: str = field(
        default="fused",
        metadata={"help": "What the aspect heads read: fused (the fused branch vectors) or branch (the CLS vector "
                  "of the branch named like the aspect)."},
    )  # fmt: skip
    aspect_loss_weight: float = field(
        default=1.0, metadata={"help": "Weight of each aspect's loss and regulariser (the holistic loss has 1)."}
    )
    relevance: bool = field(
        default=False,
        metadata={"help": "Feed the relevance evidence (similarity to the question and its reference answers, words "
                  "heard, confidence; the features' relevance_features) to the head beside the branches."},
    )  # fmt: skip


NOT_CONFIG_FIELDS = (
    "model_name_or_path", "branches", "class_weighting", "aspects", "aspect_loss_weight", "relevance"
)  # fmt: skip
"""ModelArguments that are not `AsaHybridConfig` arguments as they stand (the script resolves them)."""


@dataclass
class DataArguments:
    """Which features to train on."""

    features_dir: str | None = field(
        default=None,
        metadata={"help": "Features folder from asa-prepare. Omit to train on the built-in generated feature set."},
    )
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    eval_split: str = field(default="dev", metadata={"help": "Split for model selection (never a test split)."})
    test_splits: str = field(
        default="test_known,test_unknown,test",
        metadata={"help": "Comma-separated splits to report at the end (missing ones are skipped)."},
    )
    cv_folds_file: str | None = field(
        default=None,
        metadata={
            "help": "Cross-validation: a folds file from scripts/cross_validate.py. Trains on train + dev without "
            "the speakers of --cv_fold and evaluates on them (reported as split 'cv'); no test split is touched."
        },
    )
    cv_fold: int = field(default=0, metadata={"help": "The held-out fold with --cv_folds_file."})
    unseen_speaker_split: bool = field(
        default=True,
        metadata={
            "help": "Also report 'test_unknown_unseen': the test_unknown answers whose group (the split's --group-by "
            "column, e.g. speaker_id) never appears in the training data, i.e. unseen questions from unseen "
            "speakers. Added only when test_unknown shares groups with train."
        },
    )
    exclude_test_unknown_speakers: bool = field(
        default=False,
        metadata={
            "help": "Keep test_unknown's groups (the split's --group-by column, e.g. speaker_id) out of training "
            "too: every train answer by a speaker who answers a held-out question is dropped, so test_unknown "
            "measures unseen questions from unseen speakers, at the cost of those speakers' training answers."
        },
    )
    intended_use: str | None = field(
        default=None,
        metadata={"help": "The model card's intended use and limits for this model (Markdown; default: a generic "
                  "statement)."},
    )  # fmt: skip
    keep_checkpoints: bool = field(
        default=False,
        metadata={"help": "Keep the checkpoint-* folders (optimiser state; for --resume_from_checkpoint) in the "
                  "finished model folder. By default a finished run deletes them: the folder then travels."},
    )  # fmt: skip
    max_train_samples: int | None = field(default=None, metadata={"help": "Truncate the train split (debugging)."})
    synthetic_examples: int = field(default=800, metadata={"help": "Rows of the built-in generated feature set."})
    threads: int | None = field(
        default=None,
        metadata={"help": "torch threads (default: OMP_NUM_THREADS if set, else the cores available to this process)."},
    )


FEATURES_DEFAULTS = {
    "output_dir": "outputs/asa",
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "logging_strategy": "epoch",
    # The recipe chosen by speaker cross-validation (results/recipe/README.md): a fixed 10 epochs, the final model
    # (no checkpoint chosen on a 12-speaker dev split), Whisper frames pooled by 16 (as good as 4 by CV, half the time).
    "load_best_model_at_end": False,
    "metric_for_best_model": "qwk",
    "save_total_limit": 2,
    "num_train_epochs": 10.0,
    "acoustic_downsample": 16,
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 32,
    "report_to": "none",
    "remove_unused_columns": False,
    # pinned memory only helps host-to-GPU copies (torch warns about it on CPU-only machines)
    "dataloader_pin_memory": torch.cuda.is_available(),
}
"""Defaults of this script where they differ from the dataclasses' (they are what --help shows)."""
DEMO_DEFAULTS = {
    "output_dir": "outputs/demo",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_hidden_layers": 1,
    "num_train_epochs": 12.0,
    "learning_rate": 1e-3,
    "acoustic_downsample": 1,
    "load_best_model_at_end": True,
    # A model this small gains nothing from a second thread and loses a lot beside any other load (one busy core
    # made a 2-thread demo 9x slower: 391 s instead of 45 s of training).
    "threads": 1,
}
"""Without --features_dir: the built-in demo trains a small model on generated features (seconds on 2 cores)."""


class UsageError(ValueError):
    """A wrong argument: reported in one line, without a traceback."""


def build_parser(demo: bool = False) -> HfArgumentParser:
    """The argument parser; ``demo`` switches the defaults to the built-in demo's (shown by ``--help``)."""
    demo_text = ", ".join(f"{k}={v}" for k, v in DEMO_DEFAULTS.items())
    parser = HfArgumentParser(
        (ModelArguments, DataArguments, AsaTrainingArguments),
        description=__doc__.split("\n\n")[0],
        epilog=f"The defaults shown are those of {'the built-in demo' if demo else 'a features folder'}. Without "
        f"--features_dir (the built-in demo) these change: {demo_text} (--features_dir DIR --help shows the "
        "features-folder defaults). Options take hyphens or underscores (--features-dir = --features_dir).",
    )
    parser.set_defaults(**FEATURES_DEFAULTS)
    if demo:
        parser.set_defaults(**DEMO_DEFAULTS)
    return parser


def _option_names(argv: list[str]) -> set[str]:
    """The options given, spelled with underscores (``--features-dir=x`` -> ``--features_dir``)."""
    return {"--" + a[2:].split("=")[0].replace("-", "_") for a in argv if a.startswith("--")}


def parse_args(argv: list[str]) -> tuple[ModelArguments, DataArguments, AsaTrainingArguments]:
    if len(argv) == 1 and argv[0].endswith(".json"):
        return build_parser().parse_json_file(json_file=os.path.abspath(argv[0]))
    demo = "--features_dir" not in _option_names(argv)
    try:
        return build_parser(demo=demo).parse_args_into_dataclasses(args=argv)
    except ValueError as err:  # TrainingArguments' own checks, e.g. --bf16 true without a GPU and --use_cpu true
        raise UsageError(" ".join(str(err).split())) from err


def validate_args(model_args: ModelArguments, data_args: DataArguments) -> list[str]:
    """Check the choices that would otherwise fail late; returns the branches. Raises `UsageError` (one line)."""
    from modeling_asa.configuration_asa import BRANCH_ENCODERS, BRANCHES
    from modeling_asa.objectives import MAIN_LOSSES, REGULARIZERS

    branches = [b.strip() for b in model_args.branches.split(",") if b.strip()]
    unknown = [b for b in branches if b not in BRANCHES]
    if unknown or not branches:
        raise UsageError(
            f"--branches {model_args.branches}: unknown branch(es) {unknown}; valid: {', '.join(BRANCHES)}"
        )
    choices = (
        ("--loss", model_args.loss, tuple(sorted(MAIN_LOSSES))),
        ("--regularizer", model_args.regularizer, ("none", *sorted(REGULARIZERS))),
        ("--branch_encoder", model_args.branch_encoder, BRANCH_ENCODERS),
        ("--class_weighting", model_args.class_weighting, ("none", "balanced")),
    )
    for name, value, valid in choices:
        if value not in valid:
            raise UsageError(f"{name} {value}: valid values are {', '.join(valid)}")
    if model_args.loss == "corn" and model_args.regularizer == "w_ranksim":
        raise UsageError(
            "--loss corn has |C|-1 threshold vectors, not the |C| class vectors W-RankSim ranks: add --regularizer none"
        )
    if data_args.eval_split.startswith("test"):
        raise UsageError(f"--eval_split {data_args.eval_split!r} is a test split; choose settings on a dev split")
    return branches


def balanced_class_weights(labels, num_classes: int) -> list[float]:
    """``n / (|C| n_c)`` per class (a class absent from training counts as one answer), mean 1 over the answers."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=num_classes).astype(float)
    return (len(labels) / (num_classes * np.maximum(counts, 1.0))).tolist()


@contextlib.contextmanager
def logging_set_up(training_args: AsaTrainingArguments):
    """The script's log format and levels while it runs; on exit the loggers it touched (the root's handlers, this
    script's, ``modeling_asa``'s, ``datasets``' and ``transformers``') get their levels, handlers and formats back,
    so calling :func:`main` in-process (tests, notebooks) leaves the caller's logging as it was."""
    touched = [logging.getLogger(), logger, logging.getLogger("modeling_asa"), logging.getLogger("datasets"),
               logging.getLogger("transformers")]  # fmt: skip
    saved = [(log, log.level, list(log.handlers), [h.formatter for h in log.handlers]) for log in touched]
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    level = training_args.get_process_log_level()
    logger.setLevel(level)
    logging.getLogger("modeling_asa").setLevel(level)
    datasets.utils.logging.set_verbosity(level)
    transformers.utils.logging.set_verbosity(level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    try:
        yield
    finally:
        for log, log_level, handlers, formatters in saved:
            log.setLevel(log_level)
            log.handlers[:] = handlers
            for handler, formatter in zip(handlers, formatters):
                handler.setFormatter(formatter)


def builtin_feature_set(num_examples: int, seed: int) -> FeatureSet:
    """The main job's built-in default: generated features with a known ordinal structure (no downloads)."""
    dataset, questions = make_synthetic_features(num_examples=num_examples, seed=seed)
    metadata = {
        "source": "modeling_asa.synthetic.make_synthetic_features",
        "dims": {
            "acoustic_feature_size": 32,
            "question_feature_size": 16,
            "delivery_feature_size": 16,
            "language_use_feature_size": 24,
        },
        "id2label": {str(i): str(i + 1) for i in range(5)},
        "encoders": {},
    }
    return FeatureSet(dataset=dataset, question_features=questions, metadata=metadata)


def check_columns(feature_set: FeatureSet, branches: list[str], splits: list[str]) -> None:
    """Fail early, naming the valid columns and splits, when the features do not fit the requested model."""
    available = list(feature_set.dataset)
    for split in splits:
        if split not in feature_set.dataset:
            raise UsageError(f"split {split!r} not found in the features; available splits: {available}")
        columns = feature_set.dataset[split].column_names
        needed = ["label"] + [n for b in branches for n in SEQUENCE_INPUTS[b] if n != "question_features"]
        if "content" in branches:
            needed.append("question_id")
        missing = [n for n in needed if n not in columns]
        if missing:
            raise UsageError(
                f"split {split!r} lacks columns {missing} needed by branches {branches}; its columns are {columns}"
            )


UNSEEN_SPLIT = "test_unknown_unseen"
"""The reported subset of test_unknown whose groups (speakers) are not in the training data."""


def unseen_group_subset(test_unknown, train_dataset, metadata: dict):
    """The answers of ``test_unknown`` whose group never appears in ``train_dataset``, or ``None``.

    ``test_unknown`` holds every answer to the held-out questions, so its speakers may also answer in train (on
    speechocean762 most do), which flatters it for a speaker-level label. This subset keeps the unseen questions
    answered by unseen speakers. ``None`` when the split records no group column, the datasets lack it, no group
    of test_unknown is in train (the subset would be test_unknown itself) or every one is (it would be empty).
    """
    group_by = (metadata.get("split") or {}).get("group_by")
    if not group_by or group_by not in test_unknown.column_names or group_by not in train_dataset.column_names:
        return None
    seen = set(train_dataset[group_by])
    keep = [i for i, g in enumerate(test_unknown[group_by]) if g not in seen]
    if not keep or len(keep) == len(test_unknown):
        return None
    logger.info("%s: %d of the %d test_unknown answers are from %s groups not in train", UNSEEN_SPLIT, len(keep),
                len(test_unknown), group_by)  # fmt: skip
    return test_unknown.select(keep)


def drop_groups_of(train_dataset, test_unknown, metadata: dict):
    """``train_dataset`` without the answers of any group (speaker) that also answers in ``test_unknown``.

    Raises:
        UsageError: the features record no group column, or every training answer is by such a group.
    """
    group_by = (metadata.get("split") or {}).get("group_by")
    if not group_by or group_by not in train_dataset.column_names or group_by not in test_unknown.column_names:
        raise UsageError(
            "--exclude_test_unknown_speakers needs the split's group column (asa-prepare --group-by speaker_id); "
            f"these features record {group_by!r} and their train columns are {train_dataset.column_names}"
        )
    held_out = set(test_unknown[group_by])
    train_groups = train_dataset[group_by]
    keep = [i for i, g in enumerate(train_groups) if g not in held_out]
    if not keep:
        raise UsageError(f"--exclude_test_unknown_speakers: every train answer is by a {group_by} of test_unknown")
    dropped = set(train_groups) & held_out
    logger.info("--exclude_test_unknown_speakers: %d of the %d train answers dropped (%d of the %d %s groups also "
                "answer in test_unknown)", len(train_groups) - len(keep), len(train_groups), len(dropped),
                len(set(train_groups)), group_by)  # fmt: skip
    return train_dataset.select(keep)


def add_length_column(dataset, branches: list[str], name: str):
    """``dataset`` with a ``name`` column of each answer's sequence length (for ``--train_sampling_strategy
    group_by_length``): its Whisper frames with the content branch, else its words. Batches of similar length pad
    less: the branch transformers' cost follows the longest answer of a batch."""
    column = "acoustic_features" if "content" in branches else (
        "delivery_features" if "delivery" in branches else "language_use_features"
    )  # fmt: skip
    lengths = [len(features) for batch in dataset.select_columns([column]).iter(batch_size=256) for features in
               batch[column]]  # fmt: skip
    return dataset.add_column(name, lengths)


def fit_scorability(train_dataset) -> Thresholds | None:
    """The non-scorable checks' thresholds fitted on the train answers' relevance evidence (``None`` without it)."""
    if "relevance_features" not in train_dataset.column_names:
        return None
    # the answers the raters placed in the upper half of the scale: on task by any reading of the rubric (the lower
    # half may hold off-task answers, whose evidence would move the thresholds to accept them)
    labels = np.asarray(train_dataset["label"])
    upper = labels >= np.median(labels)
    evidence = [evidence_dict(v) for v, keep in zip(train_dataset["relevance_features"], upper) if keep]
    thresholds = fit_thresholds(evidence, where="the train split's upper half of the scale")
    logger.info("scorability thresholds: %s", thresholds)
    return thresholds


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    model_args, data_args, training_args = parse_args(sys.argv[1:] if argv is None else argv)
    branches = validate_args(model_args, data_args)
    configure_threads(data_args.threads)
    with logging_set_up(training_args):
        if training_args.bf16 and training_args.device.type == "cpu" and not cpu_has_bf16():
            logger.warning(
                "--bf16 true on a CPU without bf16 instructions (AVX512-BF16 or AMX): torch emulates bf16 and "
                "training runs many times slower than in float32 (50x in scripts/benchmark_bf16.py on an AVX2 "
                "CPU); drop --bf16 on this machine"
            )
        return run(model_args, data_args, training_args, branches)


def end_distributed() -> None:
    """Wait for every process, then take the process group down before the interpreter exits.

    Left to interpreter shutdown, a process that finishes first tears down gloo's threads while another still writes
    the results; that aborted a rank ("terminate called without an active exception") in a CI run. Called where the
    script's process ends, not in :func:`main`: run_experiments.py and cross_validate.py call main once per run.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def run(model_args, data_args, training_args: AsaTrainingArguments, branches: list[str]) -> dict[str, dict[str, float]]:
    """Train and evaluate as :func:`main` was asked to (arguments parsed and checked, logging set up)."""
    logger.info("Training arguments: %s", training_args.to_json_string())
    set_seed(training_args.seed)

    if data_args.features_dir:
        feature_set = load_features(data_args.features_dir)
        logger.info("Loaded features from %s: %s", data_args.features_dir, dict(feature_set.dataset.num_rows))
    else:
        logger.info("No --features_dir given: training on the built-in generated feature set.")
        feature_set = builtin_feature_set(data_args.synthetic_examples, training_args.seed)

    if training_args.train_sampling_strategy == "group_by_length":
        # Before any row selection: adding a column to a non-contiguous selection (a cross-validation fold)
        # flattens its indices, which datasets cannot do for the variable-length Array2D columns (ArrowInvalid).
        name = training_args.length_column_name
        for split in SELECTION_SPLITS if data_args.cv_folds_file else [data_args.train_split]:
            if split in feature_set.dataset and name not in feature_set.dataset[split].column_names:
                feature_set.dataset[split] = add_length_column(feature_set.dataset[split], branches, name)
    if data_args.cv_folds_file:
        check_columns(feature_set, branches, list(SELECTION_SPLITS))
        train_dataset, eval_dataset = fold_datasets(
            feature_set.dataset, load_folds(data_args.cv_folds_file), data_args.cv_fold
        )
        logger.info("Cross-validation fold %d: %d train, %d held-out answers", data_args.cv_fold,
                    len(train_dataset), len(eval_dataset))  # fmt: skip
        reported = {"cv": eval_dataset}
    else:
        check_columns(feature_set, branches, [data_args.train_split, data_args.eval_split])
        train_dataset = feature_set.dataset[data_args.train_split]
        eval_dataset = feature_set.dataset[data_args.eval_split]
        test_splits = [s for s in data_args.test_splits.split(",") if s and s in feature_set.dataset]
        reported = {split: feature_set.dataset[split] for split in [data_args.eval_split, *test_splits]}
    if data_args.exclude_test_unknown_speakers:
        if "test_unknown" not in reported:
            raise UsageError(
                "--exclude_test_unknown_speakers: no test_unknown split is reported (it needs one, and no "
                "--cv_folds_file)"
            )
        train_dataset = drop_groups_of(train_dataset, reported["test_unknown"], feature_set.metadata)
    if data_args.max_train_samples is not None:
        train_dataset = train_dataset.select(range(min(data_args.max_train_samples, len(train_dataset))))
    if data_args.unseen_speaker_split and "test_unknown" in reported:
        unseen = unseen_group_subset(reported["test_unknown"], train_dataset, feature_set.metadata)
        if unseen is not None:
            reported[UNSEEN_SPLIT] = unseen

    # the feature arrays as tensors: the collator gets them without a round trip through Python lists
    train_dataset, eval_dataset = tensor_format(train_dataset), tensor_format(eval_dataset)
    reported = {split: tensor_format(dataset) for split, dataset in reported.items()}

    if model_args.model_name_or_path:
        model = AsaHybridForOrdinalClassification.from_pretrained(model_args.model_name_or_path)
    else:
        config_kwargs = config_kwargs_from_metadata(feature_set.metadata)
        config_kwargs.update(
            {k: v for k, v in vars(model_args).items() if k not in NOT_CONFIG_FIELDS},
            branches=branches,
        )
        if not model_args.aspects:
            config_kwargs["aspects"] = None
        if model_args.relevance:
            if "relevance_features" not in train_dataset.column_names:
                raise UsageError("--relevance true: the features have no relevance_features (asa-prepare runs the "
                                 "relevance stage with a recogniser and the content stage)")  # fmt: skip
            config_kwargs["relevance_feature_size"] = len(train_dataset[0]["relevance_features"])
        if config_kwargs.get("aspects"):
            config_kwargs["aspect_loss_weights"] = [model_args.aspect_loss_weight] * len(config_kwargs["aspects"])
            logger.info(
                "Aspect heads: %s (reading the %s representation, loss weight %g each)",
                ", ".join(config_kwargs["aspects"]),
                model_args.aspect_source,
                model_args.aspect_loss_weight,
            )
        config = AsaHybridConfig(**config_kwargs)
        if model_args.class_weighting == "balanced":
            config.class_weights = balanced_class_weights(train_dataset["label"], config.num_labels)
        model = AsaHybridForOrdinalClassification(config)
    num_labels = model.config.num_labels
    labels = np.asarray(train_dataset["label"])
    logger.info("Train label counts: %s", np.bincount(labels, minlength=num_labels).tolist())
    if model.config.class_weights is not None:
        logger.info("Class weights of the main loss: %s", [round(w, 3) for w in model.config.class_weights])

    collator = AsaDataCollator(
        question_features=feature_set.question_features, branches=branches, aspects=bool(model.config.aspects),
        relevance=bool(model.config.relevance_feature_size),
    )  # fmt: skip
    if model.config.branch_encoder == "pooled" and not model_args.model_name_or_path:
        # the baseline's standardisation: statistics of the pooled train-split features, saved with the weights
        model.fit_standardizer(torch.utils.data.DataLoader(train_dataset, batch_size=64, collate_fn=collator))
        logger.info("Pooled baseline: standardised %d pooled inputs on the train split", model.asa.output_size)
    trainer = AsaTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=collator,
        compute_metrics=make_compute_metrics(num_labels),
    )
    train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    # _internal_call: with --push_to_hub, upload once at the end, when the card and the feature recipe are written
    trainer.save_model(_internal_call=True)
    trainer.log_metrics("train", train_result.metrics)
    trainer.save_metrics("train", train_result.metrics)

    results: dict[str, dict[str, float]] = {}
    label_values = [label_value(model.config.id2label[i]) for i in range(num_labels)]
    thresholds = fit_scorability(train_dataset)
    if thresholds is not None and trainer.is_world_process_zero():
        thresholds.save(training_args.output_dir)  # the scorer flags answers it cannot score with these
    for split, dataset in reported.items():
        prediction = trainer.predict(dataset, metric_key_prefix=split)
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        expected = expected_scores(torch.softmax(torch.from_numpy(np.asarray(logits, np.float32)), -1).numpy())
        metrics = compute_ordinal_metrics(
            logits.argmax(-1), prediction.label_ids, num_classes=num_labels, expected=expected
        )
        aspect_logits = aspect_predictions(prediction.predictions, model.config)
        if aspect_logits is not None:  # aspect_<name>_<metric>, on the answers rated on that aspect
            probabilities = softmax(aspect_logits)
            config = model.config
            metrics.update(aspect_metrics(probabilities, dataset["aspect_labels"], config.aspects, config.num_labels))
        results[split] = {k: float(v) for k, v in metrics.items()}
        trainer.log_metrics(split, {f"{split}_{k}": v for k, v in metrics.items()})
        trainer.save_metrics(split, {f"{split}_{k}": v for k, v in metrics.items()})
        if trainer.is_world_process_zero() and "response_id" in dataset.column_names:
            references = [label_values[int(i)] for i in prediction.label_ids]
            rows = prediction_rows(dataset["response_id"], logits, label_values, references)
            if aspect_logits is not None:
                add_aspect_columns(rows, aspect_logits, model.config.aspects, label_values, dataset["aspect_labels"])
            if thresholds is not None:  # which held-out answers the scorer would not score, and why
                for row, vector in zip(rows, dataset["relevance_features"]):
                    row["flags"] = ";".join(flags_for(evidence_dict(vector), thresholds))
            write_predictions(Path(training_args.output_dir, f"predictions_{split}.csv"), rows, label_values)

    if trainer.is_world_process_zero():
        # the selection split's metrics after every evaluation (epoch curves for choosing the number of epochs)
        curve = [
            {k.removeprefix("eval_"): v for k, v in entry.items() if k.startswith("eval_") or k in ("epoch", "step")}
            for entry in trainer.state.log_history
            if "eval_qwk" in entry
        ]
        Path(training_args.output_dir, "eval_curve.json").write_text(json.dumps(curve, indent=1))
        layer_sum = getattr(getattr(model, "asa", model), "acoustic_layers", None)
        if layer_sum is not None:
            # the learned weight of each Whisper layer (0 = the embeddings): kept when the weights are pruned
            weights = torch.softmax(layer_sum.layer_weights.detach().float().cpu(), dim=0).tolist()
            logger.info("Whisper layer weights (embeddings first): %s", ", ".join(f"{w:.3f}" for w in weights))
            Path(training_args.output_dir, "acoustic_layer_weights.json").write_text(json.dumps(weights))
        recipe = feature_set.metadata.get("recipe")
        if recipe:
            # the scorer rebuilds exactly these feature stages (asa-score, AsaScorer); local models by name and
            # checksum, so the folder travels
            save_recipe(portable_recipe(recipe, training_args.output_dir), training_args.output_dir)
        write_model_card(
            training_args.output_dir,
            config=model.config,
            results=results,
            features_metadata=feature_set.metadata,
            training_args=training_args,
            num_train=len(train_dataset),
            recipe=recipe,
            intended_use=data_args.intended_use,
        )
        if not data_args.keep_checkpoints:  # the final model is saved: the optimiser states are 5/6 of the folder
            for checkpoint in Path(training_args.output_dir).glob("checkpoint-*"):
                shutil.rmtree(checkpoint, ignore_errors=True)
        # written last: its presence marks a finished run (run_experiments.py and cross_validate.py skip those)
        Path(training_args.output_dir, "asa_results.json").write_text(json.dumps(results, indent=2))
        summary = ", ".join(
            f"{split}: acc={m['accuracy']:.3f} macroF1={m['macro_f1']:.3f} QWK={m['qwk']:.3f}"
            for split, m in results.items()
        )
        logger.info("Done. %s. Model, metrics and card in %s", summary, training_args.output_dir)
    if training_args.push_to_hub:
        # Trainer's own upload of the output folder: weights, remote code, feature recipe, card, metrics, predictions
        trainer.push_to_hub(commit_message="modeling_asa: model, remote code, feature recipe and model card")
        logger.info("Pushed %s to the Hub as %s", training_args.output_dir, trainer.hub_model_id)
    return results


def cli(argv: list[str] | None = None) -> int:
    """The command line (``asa-train``, ``python train_asa.py``): one line for a usage error, exit status 2."""
    try:
        main(argv)
        end_distributed()
    except (UsageError, FeaturesError, FoldsError) as err:
        print(f"train_asa.py: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train_asa.py: interrupted; re-run with --resume_from_checkpoint true to continue", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())

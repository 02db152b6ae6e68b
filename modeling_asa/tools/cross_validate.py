# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Speaker-grouped k-fold cross-validation of one ``train_asa.py`` setting over train + dev (``scripts/cross_validate.py``).

The folds (``modeling_asa.data.folds``) are made once from the features and saved; every setting of a study uses
the same folds file. Each fold trains ``train_asa.py`` on the other folds and evaluates on its own speakers; a fold
whose ``asa_results.json`` exists is skipped, so an interrupted study continues where it stopped. Weights and
checkpoints are deleted after each fold (only metrics, predictions and the per-epoch curve are kept). No test split
is read.

The summary (``cv_summary.json``, and a Markdown line printed) gives per metric the mean, the standard deviation
across folds and a 95% t-interval of the mean, for the final model decoded two ways: ``argmax`` (the most probable
class) and ``expected`` (the probability-weighted class index, rounded), and the mean QWK after every epoch.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.folds import FoldsError, folds_for_features, load_folds, save_folds
from ..metrics import compute_ordinal_metrics
from ..metrics.stats import mean_std_ci, paired_difference

logger = logging.getLogger(__name__)

METRICS = ("accuracy", "macro_f1", "qwk")


def decode_expected(probabilities: np.ndarray) -> np.ndarray:
    """Class indices from the probability-weighted class index, rounded (half up) and clipped to the classes."""
    p = np.asarray(probabilities, dtype=np.float64)
    expected = p @ np.arange(p.shape[1], dtype=np.float64)
    return np.clip(np.floor(expected + 0.5), 0, p.shape[1] - 1).astype(int)


def read_predictions(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities, reference class indices)`` of a ``predictions_<split>.csv`` written by ``train_asa.py``."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no predictions")
    prob_columns = [c for c in rows[0] if c.startswith("prob_")]
    if not prob_columns or "reference" not in rows[0]:
        raise ValueError(f"{path}: not a train_asa.py predictions file (needs a reference and prob_<level> columns)")
    values = [c.removeprefix("prob_") for c in prob_columns]
    probabilities, references = [], []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            probabilities.append([float(row[c]) for c in prob_columns])
        except (TypeError, ValueError):
            raise ValueError(f"{path}, line {line}: a prob_ value is missing or not a number") from None
        if row["reference"] not in values:
            raise ValueError(f"{path}, line {line}: reference {row['reference']!r} is not one of the levels {values}")
        references.append(values.index(row["reference"]))
    return np.array(probabilities), np.array(references)


def fold_metrics(run_dir: str | Path) -> dict[str, Any]:
    """One finished fold: metrics of both decodings on its held-out speakers, and its per-epoch QWK curve."""
    run_dir = Path(run_dir)
    probabilities, references = read_predictions(run_dir / "predictions_cv.csv")
    num_classes = probabilities.shape[1]
    decoded = {"argmax": probabilities.argmax(1), "expected": decode_expected(probabilities)}
    out: dict[str, Any] = {
        name: {k: float(v) for k, v in compute_ordinal_metrics(pred, references, num_classes=num_classes).items()}
        for name, pred in decoded.items()
    }
    curve_path = run_dir / "eval_curve.json"
    curve = json.loads(curve_path.read_text()) if curve_path.is_file() else []
    out["curve_qwk"] = [float(entry["qwk"]) for entry in curve]
    out["n"] = len(references)
    train_path = run_dir / "train_results.json"
    if train_path.is_file():  # Trainer's train metrics: wall time of the training loop (evaluations included)
        train = json.loads(train_path.read_text())
        out["seconds_per_epoch"] = float(train["train_runtime"]) / max(float(train.get("epoch", 1.0)), 1e-9)
    return out


def summarize_folds(run_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """Mean / std / 95% interval across folds of every metric (both decodings) and of the QWK after each epoch."""
    folds = [fold_metrics(d) for d in run_dirs]
    summary: dict[str, Any] = {"folds": len(folds), "answers": sum(f["n"] for f in folds)}
    for decoding in ("argmax", "expected"):
        summary[decoding] = {m: mean_std_ci([f[decoding][m] for f in folds]) for m in METRICS}
    length = min((len(f["curve_qwk"]) for f in folds), default=0)
    summary["curve_qwk"] = [mean_std_ci([f["curve_qwk"][i] for f in folds]) for i in range(length)]
    timed = [f["seconds_per_epoch"] for f in folds if "seconds_per_epoch" in f]
    summary["seconds_per_epoch"] = float(np.mean(timed)) if timed else None
    summary["per_fold"] = folds
    summary["fold_names"] = [Path(d).name for d in run_dirs]
    return summary


def paired_to_reference(summary: dict[str, Any], reference: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per-fold differences ``summary - reference`` on the folds both settings finished (same speakers held out).

    Returns ``{"argmax macro_f1" | "argmax qwk" | "expected qwk": paired_difference(...)}``.

    Raises:
        ValueError: when the two settings share no finished fold.
    """
    mine = dict(zip(summary.get("fold_names", []), summary["per_fold"]))
    theirs = dict(zip(reference.get("fold_names", []), reference["per_fold"]))
    common = [name for name in mine if name in theirs]
    if not common:
        raise ValueError("no fold finished by both settings (or a cv_summary.json without fold_names: re-run it)")
    return {
        f"{decoding} {metric}": paired_difference(
            [mine[k][decoding][metric] for k in common], [theirs[k][decoding][metric] for k in common]
        )
        for decoding, metric in (("argmax", "macro_f1"), ("argmax", "qwk"), ("expected", "qwk"))
    }


def _mean_std(stats: dict[str, float]) -> str:
    """``"mean ± std"``; the mean alone for one fold (no spread to show)."""
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}" if stats["n"] > 1 else f"{stats['mean']:.3f}"


def _paired_cell(pair: dict[str, float]) -> str:
    """``"+mean [low, high]"`` of a paired difference; the mean alone for one fold (no interval from one pair)."""
    if pair["n"] < 2:
        return f"{pair['mean']:+.3f}"
    return f"{pair['mean']:+.3f} [{pair['mean'] - pair['ci95']:+.3f}, {pair['mean'] + pair['ci95']:+.3f}]"


def format_summary(name: str, summary: dict[str, Any]) -> str:
    """One Markdown row: the setting, folds, and mean ± std of each metric (argmax), then QWK (expected).

    A setting with one finished fold shows its values alone: a spread of 0 would read as a measured one.
    """
    cells = [_mean_std(summary["argmax"][m]) for m in METRICS]
    cells.append(_mean_std(summary["expected"]["qwk"]))
    curve = summary.get("curve_qwk") or []
    best = max(range(len(curve)), key=lambda i: curve[i]["mean"]) if curve else None
    cells.append(f"{best + 1}: {curve[best]['mean']:.3f}" if best is not None else "-")
    seconds = summary.get("seconds_per_epoch")
    cells.append(f"{seconds:.0f}" if seconds else "-")
    return f"| {name} | {summary['folds']} | " + " | ".join(cells) + " |"


SUMMARY_HEADER = (
    "| setting | folds | accuracy | macro-F1 | QWK | QWK (expected score) | best epoch: mean QWK | s/epoch |\n"
    "|---|---|---|---|---|---|---|---|"
)

# what a fold keeps: its metrics, predictions, curve and arguments; weights, checkpoints and the card go
_KEEP = (
    "asa_results.json", "eval_curve.json", "args.json", "run_args.json", "train_results.json",
    "acoustic_layer_weights.json",
)  # fmt: skip


def prune_run(run_dir: Path) -> None:
    """Delete everything of a finished ``train_asa.py`` run but its metrics, arguments, curve and predictions
    (weights, checkpoints, the card and copied code go): what a results folder keeps."""
    for item in run_dir.iterdir():
        if item.name not in _KEEP and not (item.name.startswith("predictions_") and item.suffix == ".csv"):
            shutil.rmtree(item) if item.is_dir() else item.unlink()


def ensure_folds(folds_file: Path, features_dir: str, num_folds: int, seed: int, group_by: str) -> dict[str, Any]:
    """Load the folds file, or make it from the features' train + dev speakers when it does not exist."""
    if folds_file.is_file():
        record = load_folds(folds_file)
        if len(record["folds"]) != num_folds or record.get("seed") != seed:
            raise FoldsError(
                f"{folds_file}: has {len(record['folds'])} folds with seed {record.get('seed')}, not {num_folds} "
                f"with seed {seed}; pass matching --folds/--fold_seed or another --folds_file"
            )
        return record
    from ..features.store import load_features

    feature_set = load_features(features_dir)
    folds = folds_for_features(feature_set.dataset, num_folds, seed, group_by)
    save_folds(folds_file, folds, seed=seed, group_by=group_by, features=features_dir)
    logger.info("Wrote %d folds (%s speakers each) to %s", num_folds, [len(f) for f in folds], folds_file)
    return load_folds(folds_file)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cross_validate.py",
        description="Speaker-grouped k-fold cross-validation of one train_asa.py setting over train + dev.",
        epilog="Arguments after -- go to train_asa.py (e.g. -- --loss lmcl --num_train_epochs 8).",
    )
    parser.add_argument("--features_dir", required=True, help="features folder from asa-prepare")
    parser.add_argument("--output", required=True, help="folder of this setting: one fold<k>/ per fold")
    parser.add_argument("--folds_file", required=True, help="the study's folds (JSON); made when it does not exist")
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default: 5)")
    parser.add_argument("--fold_seed", type=int, default=0, help="seed of the fold assignment (default: 0)")
    parser.add_argument("--only_folds", default=None, help="comma-separated folds to run (default: all)")
    parser.add_argument("--group_by", default="speaker_id", help="grouping column (default: speaker_id)")
    parser.add_argument("train_args", nargs="*", help="train_asa.py arguments (after --)")
    return parser


def main(argv: Sequence[str] | None, train: Callable[[list[str]], Any]) -> dict[str, Any]:
    """Run (or resume) every fold of one setting with ``train`` (``train_asa.main``) and summarise them."""
    args = build_parser().parse_args(argv)
    output = Path(args.output)
    record = ensure_folds(Path(args.folds_file), args.features_dir, args.folds, args.fold_seed, args.group_by)
    folds = range(len(record["folds"]))
    if args.only_folds:
        folds = [int(f) for f in args.only_folds.split(",")]
    for fold in folds:
        run_dir = output / f"fold{fold}"
        if (run_dir / "asa_results.json").is_file():
            logger.info("fold %d: done already (%s), skipping", fold, run_dir)
            continue
        cli = ["--features_dir", args.features_dir, "--output_dir", str(run_dir), "--cv_folds_file",
               str(args.folds_file), "--cv_fold", str(fold), *args.train_args]  # fmt: skip
        logger.info("fold %d: training", fold)
        train(cli)
        (run_dir / "args.json").write_text(json.dumps({"train_asa": cli, "folds_file": args.folds_file}, indent=1))
        prune_run(run_dir)
    # the summary covers every finished fold of the setting, not only those this call ran (--only_folds)
    finished = [output / f"fold{k}" for k in range(len(record["folds"]))]
    summary = summarize_folds([d for d in finished if (d / "asa_results.json").is_file()])
    summary["train_args"] = list(args.train_args)
    (output / "cv_summary.json").write_text(json.dumps(summary, indent=1))
    print(SUMMARY_HEADER)
    print(format_summary(output.name, summary))
    return summary


def table_main(argv: Sequence[str] | None = None) -> int:
    """``python -m modeling_asa.tools.cross_validate SETTING_DIR...``: the Markdown table of finished settings."""
    parser = argparse.ArgumentParser(description="Table of cross-validated settings (their cv_summary.json).")
    parser.add_argument("settings", nargs="+", help="setting folders written by scripts/cross_validate.py")
    parser.add_argument(
        "--reference", default=None, help="setting folder name to compare the others with, fold by fold (paired)"
    )
    args = parser.parse_args(argv)
    rows, summaries = [], {}
    for folder in map(Path, args.settings):
        path = folder / "cv_summary.json"
        if not path.is_file():
            print(f"cross_validate: {folder}: no cv_summary.json (not finished); left out", file=sys.stderr)
            continue
        summaries[folder.name] = json.loads(path.read_text())
        rows.append(format_summary(folder.name, summaries[folder.name]))
    print(SUMMARY_HEADER)
    print("\n".join(rows))
    if args.reference is not None:
        if args.reference not in summaries:
            print(f"cross_validate: --reference {args.reference} is none of {sorted(summaries)}", file=sys.stderr)
            return 1
        print(f"\nPaired per-fold difference to {args.reference} (mean [95% interval], on the folds both finished):\n")
        print("| setting | folds | macro-F1 | QWK | QWK (expected score) |\n|---|---|---|---|---|")
        for name, summary in summaries.items():
            if name == args.reference:
                continue
            try:
                pair = paired_to_reference(summary, summaries[args.reference])
            except ValueError as err:
                print(f"cross_validate: {name}: {err}", file=sys.stderr)
                continue
            cells = [_paired_cell(p) for p in pair.values()]
            print(f"| {name} | {next(iter(pair.values()))['n']} | " + " | ".join(cells) + " |")
    return 0 if rows else 1


def cli(train: Callable[[list[str]], Any]) -> int:
    """Entry point for ``scripts/cross_validate.py``: one-line errors, exit 2 on a bad folds file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(levelname)s - %(name)s - %(message)s")
    try:
        main(sys.argv[1:], train)
    except (FoldsError, ValueError) as err:
        print(f"cross_validate.py: error: {err}", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "decode_expected",
    "fold_metrics",
    "format_summary",
    "main",
    "paired_to_reference",
    "prune_run",
    "summarize_folds",
    "table_main",
]

if __name__ == "__main__":
    sys.exit(table_main())

#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The Table 1 analogue: models x objectives over seeds, the paired effect of W-RankSim, and the model ranking.

Reads the run folders of ``scripts/run_experiments.py --grid table1`` (each holds ``asa_results.json`` and
``run_args.json``) and, with ``--baselines``, those of ``--grid baselines`` (the floor row of every table). Prints
(and with ``--output`` writes) five Markdown tables:

1. every cell: accuracy, macro-F1 and QWK per split, mean ± sample std [95% half-width] over seeds;
2. for each model and main loss, the paired per-seed difference with minus without W-RankSim (and RankSim): the
   same seed gives the same initialisation and batch order, so the pairs share everything but the regulariser;
3. for each model, LMCL + W-RankSim (the paper's best) minus every other objective, CORN included, paired by seed;
4. CORN (the ordinal baseline, hybrid only) minus every other objective of the hybrid, paired by seed;
5. each model minus the full hybrid with the same objective (Welch: different models do not pair).

Example::

    python scripts/summarize_table1.py --runs results/table1 --baselines results/table1/baselines \\
        --output results/table1/table.md
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from modeling_asa.metrics.stats import format_interval, paired_difference, settings_table, welch_difference

logger = logging.getLogger("summarize_table1")

MODELS = {"content,delivery,language_use": "hybrid", "content,delivery": "without language use",
          "content": "content only"}  # fmt: skip
OBJECTIVES = {("ce", "none"): "CE", ("ce", "w_ranksim"): "CE + W-RankSim", ("lmcl", "none"): "LMCL",
              ("lmcl", "w_ranksim"): "LMCL + W-RankSim", ("ce", "ranksim"): "CE + RankSim",
              ("lmcl", "ranksim"): "LMCL + RankSim", ("corn", "none"): "CORN"}  # fmt: skip
METRICS = {"accuracy": "acc", "macro_f1": "macro-F1", "qwk": "QWK", "pcc": "PCC"}


def collect(runs_dir: Path) -> dict[tuple[str, str, str], dict[int, dict]]:
    """(branches, loss, regulariser) -> seed -> that run's ``asa_results.json``, for every finished run folder."""
    cells: dict[tuple[str, str, str], dict[int, dict]] = {}
    for args_file in sorted(runs_dir.glob("*/run_args.json")):
        results_file = args_file.with_name("asa_results.json")
        if not results_file.is_file():
            logger.warning("%s: no asa_results.json (unfinished run), left out", args_file.parent)
            continue
        record = json.loads(args_file.read_text())
        setting = record["setting"]
        if "per_device_train_batch_size" in setting or setting.get("branch_encoder") == "pooled":
            continue  # another grid's run in the same folder
        key = (setting.get("branches", "content,delivery,language_use"), setting["loss"], setting["regularizer"])
        cells.setdefault(key, {})[int(record["seed"])] = json.loads(results_file.read_text())
    return cells


def collect_baselines(runs_dir: Path) -> dict[str, dict[int, dict]]:
    """Baseline label -> seed -> results, from ``--grid baselines`` run folders (pooled branches, linear head)."""
    rows: dict[str, dict[int, dict]] = {}
    for args_file in sorted(runs_dir.glob("*/run_args.json")):
        results_file = args_file.with_name("asa_results.json")
        record = json.loads(args_file.read_text())
        if record["setting"].get("branch_encoder") != "pooled" or not results_file.is_file():
            continue
        setting = record["setting"]
        label = "baseline " + ("content" if setting["branches"] == "content" else "all branches")
        objective = (setting.get("loss", "ce"), setting.get("regularizer", "none"))
        if objective != ("ce", "none"):  # the issue-36 grid gives the baselines every objective
            label += ", " + OBJECTIVES.get(objective, " + ".join(objective))
        rows.setdefault(label, {})[int(record["seed"])] = json.loads(results_file.read_text())
    return rows


def _label(key: tuple[str, str, str]) -> str:
    branches, loss, reg = key
    return f"{MODELS.get(branches, branches)}, {OBJECTIVES.get((loss, reg), f'{loss} + {reg}')}"


def _order(key: tuple[str, str, str]) -> tuple[int, int]:
    branches, loss, reg = key
    models, objectives = list(MODELS), list(OBJECTIVES)
    return (models.index(branches) if branches in models else 99,
            objectives.index((loss, reg)) if (loss, reg) in objectives else 99)  # fmt: skip


def _paired_row(first: dict[int, dict], second: dict[int, dict], columns: list[tuple[str, str]]) -> list[str]:
    """``first`` minus ``second`` per (split, metric), paired by seed over the seeds both finished."""
    seeds = sorted(set(first) & set(second))
    row = []
    for split, metric in columns:
        pairs = [(first[s][split][metric], second[s][split][metric]) for s in seeds
                 if split in first[s] and split in second[s]]  # fmt: skip
        row.append(format_interval(paired_difference(*zip(*pairs))) if pairs else "-")
    return row


def paired_table(cells: dict, splits: list[str], metrics: list[str]) -> str:
    """With minus without each regulariser, per model and main loss, on the seeds both finished."""
    columns = [(s, m) for s in splits for m in metrics]
    lines = ["| model, main loss | regulariser | pairs | " + " | ".join(f"{s} {METRICS[m]}" for s, m in columns) + " |",
             "|---" * (3 + len(columns)) + "|"]  # fmt: skip
    for branches in [b for b in MODELS if any(k[0] == b for k in cells)]:
        for loss in ("ce", "lmcl"):
            without = cells.get((branches, loss, "none"), {})
            for reg, name in (("w_ranksim", "W-RankSim"), ("ranksim", "RankSim")):
                with_ = cells.get((branches, loss, reg), {})
                seeds = set(with_) & set(without)
                if seeds:
                    row = _paired_row(with_, without, columns)
                    lines.append(
                        f"| {MODELS[branches]}, {loss.upper()} | {name} | {len(seeds)} | " + " | ".join(row) + " |"
                    )
    return "\n".join(lines) + "\n"


BEST = ("lmcl", "w_ranksim")
"""The objective the paper reports best (LMCL + W-RankSim)."""
CORN = ("corn", "none")
"""The modern ordinal baseline (Shi et al. 2021), trained on the hybrid only."""


def objective_table(cells: dict, splits: list[str], metrics: list[str], reference: tuple[str, str] = BEST) -> str:
    """Per model, the ``reference`` objective minus every other objective, paired by seed (positive: it is higher)."""
    columns = [(s, m) for s in splits for m in metrics]
    title = OBJECTIVES[reference]
    lines = [f"| model | {title} minus | pairs | " + " | ".join(f"{s} {METRICS[m]}" for s, m in columns)
             + " |", "|---" * (3 + len(columns)) + "|"]  # fmt: skip
    for branches in [b for b in MODELS if (b, *reference) in cells]:
        ref = cells[(branches, *reference)]
        for objective, name in OBJECTIVES.items():
            other = cells.get((branches, *objective), {})
            seeds = set(ref) & set(other)
            if objective != reference and seeds:
                row = _paired_row(ref, other, columns)
                lines.append(f"| {MODELS[branches]} | {name} | {len(seeds)} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def model_table(cells: dict, splits: list[str], metrics: list[str]) -> str:
    """Each smaller model minus the hybrid with the same objective (Welch 95%)."""
    columns = [(s, m) for s in splits for m in metrics]
    lines = ["| objective | model minus hybrid | " + " | ".join(f"{s} {METRICS[m]}" for s, m in columns) + " |",
             "|---" * (2 + len(columns)) + "|"]  # fmt: skip
    hybrid = "content,delivery,language_use"
    for (loss, reg), objective in OBJECTIVES.items():
        reference = cells.get((hybrid, loss, reg))
        if not reference:
            continue
        for branches in ("content,delivery", "content"):
            other = cells.get((branches, loss, reg))
            if not other:
                continue
            row = []
            for split, metric in columns:
                a = [r[split][metric] for r in other.values() if split in r]
                b = [r[split][metric] for r in reference.values() if split in r]
                if len(a) < 2 or len(b) < 2:
                    row.append("-")
                    continue
                w = welch_difference(a, b)
                row.append(f"{w['diff']:+.3f} [{w['ci_low']:+.3f}, {w['ci_high']:+.3f}]")
            lines.append(f"| {objective} | {MODELS[branches]} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="folder of the table1 grid's run folders")
    parser.add_argument("--baselines", default=None, help="folder of the baselines grid's run folders")
    parser.add_argument("--splits", default="dev,test_known,test_unknown")
    parser.add_argument("--paired_metrics", default="macro_f1,qwk", help="metrics of the difference tables")
    parser.add_argument(
        "--metrics",
        default="accuracy,macro_f1,qwk",
        help="metrics of the first table (add pcc for runs that report it, e.g. the speechocean762 total grid)",
    )
    parser.add_argument("--output", default=None, help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(levelname)s - %(name)s - %(message)s")
    splits = [s for s in args.splits.split(",") if s]
    metrics = [m for m in args.paired_metrics.split(",") if m]
    table_metrics = [m for m in args.metrics.split(",") if m]
    unknown = [m for m in metrics + table_metrics if m not in METRICS]
    if unknown:
        parser.error(f"--paired_metrics: unknown {unknown}; valid: {', '.join(METRICS)}")
    cells = collect(Path(args.runs))
    if not cells:
        parser.error(f"{args.runs}: no finished table1 run (run_args.json + asa_results.json)")
    rows = {_label(k): cells[k] for k in sorted(cells, key=_order)}
    if args.baselines:
        rows.update(collect_baselines(Path(args.baselines)))
    text = (
        "Mean ± sample std [95% half-width] over seeds:\n\n"
        + settings_table({label: list(runs.values()) for label, runs in rows.items()}, splits, table_metrics)
        + "\nWith minus without the regulariser, paired by seed (mean [95% interval]):\n\n"
        + paired_table(cells, splits, metrics)
        + "\nLMCL + W-RankSim minus each other objective, paired by seed (mean [95% interval]):\n\n"
        + objective_table(cells, splits, metrics)
        + "\nCORN (the ordinal baseline) minus each other objective, paired by seed (mean [95% interval]):\n\n"
        + objective_table(cells, splits, metrics, reference=CORN)
        + "\nEach model minus the hybrid with the same objective (Welch 95% interval):\n\n"
        + model_table(cells, splits, metrics)
    )  # fmt: skip
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return text


if __name__ == "__main__":
    main()

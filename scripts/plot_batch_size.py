#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The Figure 4 analogue: QWK against training batch size per regulariser, mean and sample std over seeds.

Reads the run folders of ``scripts/run_experiments.py --grid batch_size`` (each holds ``asa_results.json`` and
``run_args.json``), writes one PNG with a panel per split (error bars: sample std over seeds) and prints the
Markdown table of the same numbers (mean ± std [95% CI half-width], seeds), then how steady each objective is
across batch sizes (range of the means, seed spread within a size, one-way ANOVA of batch size). ``--baseline GLOB``
adds the floor: the pooled linear baseline's runs, a dashed line with its seed spread in the plot and a row in the
table.

Example::

    python scripts/plot_batch_size.py --runs results/batch_size/runs --output results/batch_size/qwk_by_batch_size.png \
        --baseline "results/table1/baselines/content_pooled_0_ce_none_seed[012]"
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
from pathlib import Path

from modeling_asa.metrics.stats import mean_std_ci, summary_cell

logger = logging.getLogger("plot_batch_size")

LABELS = {"none": "LMCL", "ranksim": "LMCL + RankSim", "w_ranksim": "LMCL + W-RankSim"}


def collect(runs_dir: Path, metric: str, splits: list[str]) -> dict[str, dict[int, dict[str, list[float]]]]:
    """regulariser -> batch size -> split -> per-seed values, from every run folder under ``runs_dir``."""
    table: dict[str, dict[int, dict[str, list[float]]]] = {}
    for args_file in sorted(runs_dir.glob("*/run_args.json")):
        results_file = args_file.with_name("asa_results.json")
        if not results_file.is_file():
            logger.warning("%s: no asa_results.json (unfinished run), left out", args_file.parent)
            continue
        setting = json.loads(args_file.read_text())["setting"]
        if "per_device_train_batch_size" not in setting:
            continue
        results = json.loads(results_file.read_text())
        cell = table.setdefault(setting.get("regularizer", "none"), {}).setdefault(
            int(setting["per_device_train_batch_size"]), {}
        )
        for split in splits:
            if split in results:
                cell.setdefault(split, []).append(float(results[split][metric]))
    if not table:
        raise SystemExit(f"plot_batch_size.py: error: {runs_dir}: no finished run with a per_device_train_batch_size")
    return table


def baseline_values(pattern: str, metric: str, splits: list[str]) -> dict[str, list[float]]:
    """split -> the per-seed values of the baseline runs matching ``pattern`` (finished runs only)."""
    files = sorted(Path(p) / "asa_results.json" for p in glob.glob(pattern))
    results = [json.loads(f.read_text()) for f in files if f.is_file()]
    if not results:
        raise SystemExit(f"plot_batch_size.py: error: --baseline {pattern}: no finished run folder matches")
    return {split: [float(r[split][metric]) for r in results if split in r] for split in splits}


def markdown(table: dict, metric: str, splits: list[str], baseline: dict[str, list[float]] | None = None) -> str:
    header = "| objective | batch size | seeds | " + " | ".join(f"{s} {metric}" for s in splits) + " |"
    lines = [header, "|---" * (3 + len(splits)) + "|"]
    for reg in sorted(table, key=list(LABELS).index):
        for size in sorted(table[reg]):
            values = [table[reg][size].get(split, []) for split in splits]
            seeds = max(len(v) for v in values)
            cells = [summary_cell(v, seeds) for v in values]
            lines.append(f"| {LABELS.get(reg, reg)} | {size} | {seeds} | " + " | ".join(cells) + " |")
    if baseline:
        seeds = max(len(v) for v in baseline.values())
        cells = [summary_cell(baseline.get(split, []), seeds) for split in splits]
        lines.append(f"| baseline: pooled linear (batch 16) | 16 | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def steadiness(table: dict, metric: str, splits: list[str]) -> str:
    """How much each objective moves with the batch size: the range of its per-size means, the seed spread within a
    size (the noise to read the range against) and a one-way ANOVA p-value of batch size (sizes with 2+ seeds)."""
    from scipy.stats import f_oneway

    header = f"| objective | split | sizes | range of mean {metric} over sizes | mean seed std within a size | "
    lines = [header + "ANOVA p (batch size) |", "|---" * 6 + "|"]
    for reg in sorted(table, key=list(LABELS).index):
        for split in splits:
            groups = [table[reg][size][split] for size in sorted(table[reg]) if table[reg][size].get(split)]
            if len(groups) < 2:
                continue
            means = [mean_std_ci(g)["mean"] for g in groups]
            repeated = [g for g in groups if len(g) > 1]
            noise = f"{sum(mean_std_ci(g)['std'] for g in repeated) / len(repeated):.3f}" if repeated else "-"
            # no test with fewer than two repeated sizes, or with no spread within any size (the F ratio is undefined)
            testable = len(repeated) > 1 and any(mean_std_ci(g)["std"] > 0 for g in repeated)
            p_value = f"{f_oneway(*repeated).pvalue:.3f}" if testable else "-"
            lines.append(f"| {LABELS.get(reg, reg)} | {split} | {len(groups)} | {max(means) - min(means):.3f} | "
                         f"{noise} | {p_value} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def plot(
    table: dict, metric: str, splits: list[str], output: Path, baseline: dict[str, list[float]] | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(splits), figsize=(5 * len(splits), 4), sharey=True, squeeze=False)
    for ax, split in zip(axes[0], splits):
        for offset, reg in enumerate(sorted(table, key=list(LABELS).index)):
            sizes = [b for b in sorted(table[reg]) if table[reg][b].get(split)]
            stats = [mean_std_ci(table[reg][b][split]) for b in sizes]
            # a small horizontal offset per objective keeps the error bars apart on the log axis
            x = [b * 2 ** (0.06 * (offset - 1)) for b in sizes]
            ax.errorbar(x, [s["mean"] for s in stats], yerr=[s["std"] for s in stats], marker="o", capsize=3,
                        label=LABELS.get(reg, reg))  # fmt: skip
        if baseline and baseline.get(split):
            floor = mean_std_ci(baseline[split])
            ax.axhline(floor["mean"], color="gray", linestyle="--", label="baseline: pooled linear")
            ax.axhspan(floor["mean"] - floor["std"], floor["mean"] + floor["std"], color="gray", alpha=0.15)
        ax.set_xscale("log", base=2)
        sizes_all = sorted({b for reg in table for b in table[reg]})
        ax.set_xticks(sizes_all, [str(b) for b in sizes_all])
        ax.set_xlabel("training batch size")
        ax.set_title(split)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{metric.upper()} (mean ± sample std over seeds)")
    axes[0][-1].legend(loc="lower right")
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="folder of the batch_size grid's run folders")
    parser.add_argument("--output", required=True, help="the PNG to write")
    parser.add_argument("--metric", default="qwk", choices=["qwk", "macro_f1", "accuracy"])
    parser.add_argument("--splits", default="dev,test_known", help="comma-separated splits, one panel each")
    parser.add_argument("--baseline", default=None, help="GLOB of the pooled linear baseline's run folders (the floor)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(levelname)s - %(name)s - %(message)s")
    splits = [s for s in args.splits.split(",") if s]
    table = collect(Path(args.runs), args.metric, splits)
    floor = baseline_values(args.baseline, args.metric, splits) if args.baseline else None
    plot(table, args.metric, splits, Path(args.output), floor)
    text = markdown(table, args.metric, splits, floor) + "\n" + steadiness(table, args.metric, splits)
    print(text)
    logger.info("wrote %s", args.output)
    return text


if __name__ == "__main__":
    main()

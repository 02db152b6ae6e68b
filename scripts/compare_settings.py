#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Compare settings run over several seeds: mean ± std [95% interval] per split, and each setting minus a reference.

Each setting is ``LABEL=GLOB``: the ``train_asa.py`` output folders of its seeds (each with ``asa_results.json``).
The difference to ``--reference`` is Welch's (unpaired, unequal variances): different models trained with the
same seed share only the data split, so their runs do not pair. With ``--paired`` the runs of a setting and of the
reference pair by folder name (the same run made two ways, e.g. bf16 and float32) and the interval is that of the
per-pair differences. An interval that excludes 0 is a difference this data distinguishes; one that includes 0 is
not.

Example::

    python scripts/compare_settings.py --reference baseline \\
        "hybrid=results/recipe/test_runs/ce_w_ranksim_seed*" \\
        "baseline=results/recipe/test_runs/content_pooled_0_ce_none_seed*"
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path


def load_setting(pattern: str) -> list[dict]:
    """The ``asa_results.json`` of every folder matching ``pattern`` (``ValueError`` if none, or one unfinished),
    each with its folder's name under ``"_name"``."""
    folders = sorted(p for p in glob.glob(pattern) if Path(p).is_dir())
    if not folders:
        raise ValueError(f"{pattern}: no run folders match")
    runs = []
    for folder in folders:
        path = Path(folder) / "asa_results.json"
        if not path.is_file():
            raise ValueError(f"{folder}: no asa_results.json (the run did not finish)")
        runs.append({**json.loads(path.read_text(encoding="utf-8")), "_name": Path(folder).name})
    return runs


def compare(
    settings: dict[str, list[dict]],
    reference: str | None,
    splits: list[str],
    metrics: list[str],
    paired: bool = False,
) -> str:
    """The Markdown tables: one of the settings' figures, one of the differences to ``reference`` (Welch's, or
    ``paired`` by folder name)."""
    from modeling_asa.metrics.stats import paired_difference, settings_table, welch_difference

    columns = [(s, m) for s in splits for m in metrics]
    out = settings_table(settings, splits, metrics)
    header = out.splitlines()[0]
    if reference is None:
        return out
    kind = "paired by run folder, 95% interval" if paired else "Welch 95% interval"
    lines = ["", f"Difference to {reference} ({kind}):", "", header, "|---" * (2 + len(columns)) + "|"]
    for label, runs in settings.items():
        if label == reference:
            continue
        cells = []
        if paired:
            by_name = {r["_name"]: r for r in settings[reference]}
            pairs = [(r, by_name[r["_name"]]) for r in runs if r["_name"] in by_name]
            for split, metric in columns:
                both = [(a[split][metric], b[split][metric]) for a, b in pairs if split in a and split in b]
                if len(both) < 2:
                    cells.append("-")
                    continue
                d = paired_difference([a for a, _ in both], [b for _, b in both])
                low, high = d["mean"] - d["ci95"], d["mean"] + d["ci95"]
                cells.append(f"{d['mean']:+.3f} [{low:+.3f}, {high:+.3f}]")
            lines.append(f"| {label} | {len(pairs)} pairs | " + " | ".join(cells) + " |")
            continue
        for split, metric in columns:
            a = [r[split][metric] for r in runs if split in r]
            b = [r[split][metric] for r in settings[reference] if split in r]
            if not a or not b:
                cells.append("-")
                continue
            w = welch_difference(a, b)
            if len(a) < 2 or len(b) < 2:  # no interval from a single run
                cell = f"{w['diff']:+.3f} (no interval)"
            else:
                cell = f"{w['diff']:+.3f} [{w['ci_low']:+.3f}, {w['ci_high']:+.3f}]"
            partial = (len(a), len(b)) != (len(runs), len(settings[reference]))
            cells.append(cell + (f" (n={len(a)} vs {len(b)})" if partial else ""))
        lines.append(f"| {label} | {len(runs)} | " + " | ".join(cells) + " |")
    return out + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", nargs="+", help="LABEL=GLOB of each setting's run folders")
    parser.add_argument("--reference", default=None, help="the LABEL the others are compared with")
    parser.add_argument("--splits", default="dev,test_known,test_unknown")
    parser.add_argument("--metrics", default="macro_f1,qwk")
    parser.add_argument("--output", default=None, help="also write the tables to this Markdown file")
    parser.add_argument(
        "--paired", action="store_true", help="pair each setting's runs with the reference's by folder name"
    )
    args = parser.parse_args(argv)
    settings: dict[str, list[dict]] = {}
    try:
        for item in args.settings:
            label, sep, pattern = item.partition("=")
            if not sep or not label:
                raise ValueError(f"{item}: expected LABEL=GLOB")
            settings[label] = load_setting(pattern)
    except ValueError as err:
        print(f"compare_settings: {err}", file=sys.stderr)
        return 1
    if args.reference is not None and args.reference not in settings:
        parser.error(f"--reference {args.reference} is none of the labels {sorted(settings)}")
    if args.paired and args.reference is None:
        parser.error("--paired needs --reference")
    table = compare(settings, args.reference, args.splits.split(","), args.metrics.split(","), paired=args.paired)
    if args.output:
        Path(args.output).write_text(table, encoding="utf-8")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Print a comparison table of finished ``train_asa.py`` runs: accuracy, macro-F1 and QWK per evaluated split.

Every figure is read from the runs' own ``asa_results.json``; the answer counts from their
``predictions_<split>.csv``. Used by ``scripts/demo.sh``::

    python -m modeling_asa.tools.compare_runs outputs/gept-demo outputs/gept-demo-lmcl
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

SPLIT_NAMES = {"dev": "dev", "test_known": "known content", "test_unknown": "unknown content",
               "test_unknown_unseen": "unknown content, unseen speakers", "test": "test"}  # fmt: skip


def load_run(folder: str | Path) -> dict:
    """``{"name", "splits": {split: {"metrics", "n"}}}`` of one run folder (``ValueError`` when unfinished)."""
    folder = Path(folder)
    results = folder / "asa_results.json"
    if not results.is_file():
        raise ValueError(f"{folder}: no asa_results.json (the run did not finish)")
    metrics = json.loads(results.read_text(encoding="utf-8"))
    splits = {}
    for split, values in metrics.items():
        predictions = folder / f"predictions_{split}.csv"
        n = None
        if predictions.is_file():
            with open(predictions, encoding="utf-8", newline="") as handle:
                n = sum(1 for _ in csv.DictReader(handle))
        splits[split] = {"metrics": values, "n": n}
    return {"name": folder.name, "splits": splits}


def format_table(runs: list[dict], labels: list[str] | None = None, splits: list[str] | None = None) -> str:
    """A Markdown table: one row per run, accuracy / macro-F1 / QWK per split, the answer count in the header."""
    splits = splits or [s for s in SPLIT_NAMES if any(s in r["splits"] for r in runs)]
    labels = labels or [r["name"] for r in runs]
    header = ["model"]
    for split in splits:
        n = next((r["splits"][split]["n"] for r in runs if split in r["splits"]), None)
        name = SPLIT_NAMES.get(split, split) + (f" (n={n})" if n is not None else "")
        header += [f"{name} acc", "macro-F1", "QWK"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, run in zip(labels, runs):
        cells = [label]
        for split in splits:
            m = run["splits"].get(split, {}).get("metrics", {})
            cells += [f"{m[k]:.3f}" if k in m else "-" for k in ("accuracy", "macro_f1", "qwk")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the table, returns 1 when a run is unfinished."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="train_asa.py output folders")
    parser.add_argument("--labels", default=None, help="comma-separated row labels (default: folder names)")
    parser.add_argument("--splits", default=None, help="comma-separated splits (default: all evaluated)")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(folder) for folder in args.runs]
    except ValueError as err:
        print(f"compare_runs: {err}", file=sys.stderr)
        return 1
    labels = args.labels.split(",") if args.labels else None
    if labels and len(labels) != len(runs):
        parser.error(f"--labels has {len(labels)} names for {len(runs)} runs")
    print(format_table(runs, labels, args.splits.split(",") if args.splits else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())

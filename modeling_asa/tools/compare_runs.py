"""Print a comparison table of finished ``train_asa.py`` runs: accuracy, macro-F1 and QWK per evaluated split.

Every figure is read from the runs' own ``asa_results.json``; the answer counts, and the QWK of the expected score
(the probability-weighted level, rounded: it moves when a model's probabilities move, even when no argmax level
does), from their ``predictions_<split>.csv``. Used by ``scripts/demo.sh``::

    python -m modeling_asa.tools.compare_runs outputs/gept-demo outputs/gept-demo-lmcl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..metrics import compute_ordinal_metrics
from .cross_validate import decode_expected, read_predictions

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
        n, expected_qwk = None, None
        if predictions.is_file():
            probabilities, references = read_predictions(predictions)
            n = len(references)
            decoded = decode_expected(probabilities)
            expected_qwk = float(
                compute_ordinal_metrics(decoded, references, num_classes=probabilities.shape[1])["qwk"]
            )
        splits[split] = {"metrics": values, "n": n, "expected_qwk": expected_qwk}
    return {"name": folder.name, "splits": splits}


def format_table(runs: list[dict], labels: list[str] | None = None, splits: list[str] | None = None) -> str:
    """A Markdown table: one row per run, accuracy / macro-F1 / QWK / expected-score QWK per split, the answer count
    in the header."""
    splits = splits or [s for s in SPLIT_NAMES if any(s in r["splits"] for r in runs)]
    labels = labels or [r["name"] for r in runs]
    header = ["model"]
    for split in splits:
        n = next((r["splits"][split]["n"] for r in runs if split in r["splits"]), None)
        name = SPLIT_NAMES.get(split, split) + (f" (n={n})" if n is not None else "")
        header += [f"{name} acc", "macro-F1", "QWK", "QWK (expected)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, run in zip(labels, runs):
        cells = [label]
        for split in splits:
            entry = run["splits"].get(split, {})
            m = entry.get("metrics", {})
            cells += [f"{m[k]:.3f}" if k in m else "-" for k in ("accuracy", "macro_f1", "qwk")]
            cells.append(f"{entry['expected_qwk']:.3f}" if entry.get("expected_qwk") is not None else "-")
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

#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Check that ``asa-score`` reproduces ``train_asa.py``'s predictions from audio (same features, measured).

For each split, it writes a view of the corpus whose ``metadata.csv`` carries the ``split`` column of the features
folder (``splits.csv``; audio and questions linked, nothing copied), runs ``asa-score --corpus VIEW --split S``
exactly as a user would, and compares every response with ``MODEL/predictions_S.csv``: same predicted label, largest
probability difference. Prints one line per split and exits 1 when a label differs or a probability differs by more
than ``--tolerance``.

Example::

    python scripts/check_scoring_parity.py --model outputs/so762-hybrid --corpus ../shared/data/speechocean762-train \\
        --features ~/.cache/modeling_asa/features/speechocean762 --splits dev,test_known
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path


def read(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["response_id"]: row for row in csv.DictReader(handle)}


def corpus_view(corpus: Path, splits_csv: Path, folder: Path) -> Path:
    """A corpus folder with a split column taken from ``splits.csv`` (audio and questions are symlinks)."""
    splits = {rid: row["split"] for rid, row in read(splits_csv).items()}
    folder.mkdir(parents=True, exist_ok=True)
    with open(corpus / "metadata.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["response_id"] in splits]
    with open(folder / "metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], "split"])
        writer.writeheader()
        writer.writerows({**row, "split": splits[row["response_id"]]} for row in rows)
    for name in {"questions.jsonl", *(Path(r["file_name"]).parts[0] for r in rows)}:
        if not (folder / name).exists():
            os.symlink((corpus / name).resolve(), folder / name)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder written by train_asa.py")
    parser.add_argument("--corpus", required=True, help="the corpus the features were prepared from")
    parser.add_argument("--features", required=True, help="the features folder (for its splits.csv)")
    parser.add_argument("--splits", default="dev,test_known", help="splits to check (default: %(default)s)")
    parser.add_argument("--label-column", default=None, help="label column of the corpus (e.g. age_band)")
    parser.add_argument("--tolerance", type=float, default=0.01, help="largest allowed probability difference")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    from modeling_asa.cli import score_main

    model = Path(args.model)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        view = corpus_view(Path(args.corpus), Path(args.features) / "splits.csv", Path(tmp) / "corpus")
        for split in args.splits.split(","):
            output = Path(tmp) / split / "predictions.csv"
            command = ["--model", str(model), "--corpus", str(view), "--split", split, "--output", str(output),
                       "--device", args.device, "--log-level", "ERROR"]  # fmt: skip
            if args.label_column:
                command += ["--label-column", args.label_column]
            start = time.perf_counter()
            status = score_main(command)
            seconds = time.perf_counter() - start
            trained, scored = read(model / f"predictions_{split}.csv"), read(output)
            probs = [k for k in next(iter(trained.values())) if k.startswith("prob_")]
            same = sum(scored[r]["predicted"] == row["predicted"] for r, row in trained.items() if r in scored)
            diff = max(
                (abs(float(scored[r][k]) - float(row[k])) for r, row in trained.items() if r in scored for k in probs),
                default=float("nan"),
            )
            print(f"{split}: asa-score exit {status} in {seconds:.0f} s; {len(scored)} scored of {len(trained)} in "
                  f"predictions_{split}.csv; same label {same}/{len(trained)}; max |prob difference| {diff:.4f}")  # fmt: skip
            failed |= status != 0 or same != len(trained) or not diff <= args.tolerance
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""What the rank regulariser costs: time per training step with no regulariser, W-RankSim and RankSim per batch size.

One training step is what ``AsaTrainer`` does per batch: the model's forward (main loss + regulariser), the backward
and one RAdam update, on real batches of a features folder (``--features_dir``; default the built-in generated
feature set, whose shapes are small). The same model weights, batches and thread count serve every regulariser; the
figure is the median over ``--steps`` timed steps after ``--warmup`` untimed ones. Step times on a shared 2-core
machine vary by about 10% from step to step, more than a cheap regulariser costs, so the regulariser is also timed
on its own: its forward and backward on the batch's features ``z`` (RankSim) or the output layer's weights
(W-RankSim), median of ``--reg_repeats`` repetitions. Its share of a step is that time over the median step time
without a regulariser. Prints a Markdown table (and writes ``--output`` JSON).

Example:
    python scripts/benchmark_regularizers.py --features_dir ~/.cache/modeling_asa/features/speechocean762 \\
        --batch_sizes 2,4,8,16,32 --acoustic_downsample 4 --output results/regularizer_cost/cost.json
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from modeling_asa import AsaHybridConfig, AsaHybridForOrdinalClassification
from modeling_asa.collator import SEQUENCE_INPUTS, AsaDataCollator
from modeling_asa.features.store import config_kwargs_from_metadata, load_features
from modeling_asa.versions import package_versions

logger = logging.getLogger("benchmark_regularizers")

REGULARIZERS = ("none", "w_ranksim", "ranksim")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features_dir", default=None, help="asa-prepare output (default: built-in generated set)")
    parser.add_argument("--split", default="train", help="split the batches come from (default train)")
    parser.add_argument("--batch_sizes", default="2,4,8,16,32", help="comma-separated (default 2,4,8,16,32)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per cell (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--branches", default=None, help="model branches (default: every branch the features hold)")
    parser.add_argument("--acoustic_downsample", type=int, default=4, help="frame pooling (default 4)")
    parser.add_argument("--loss", default="lmcl", help="main loss (default lmcl, the batch-size sweep's)")
    parser.add_argument("--reg_repeats", type=int, default=1000, help="repetitions of the regulariser alone")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    except ValueError:
        parser.error(f"--batch_sizes must be comma-separated integers, got {args.batch_sizes!r}")
    if not args.batch_sizes or min(args.batch_sizes) < 2:
        parser.error("--batch_sizes: every batch size must be at least 2 (RankSim ranks a batch)")
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    return args


def _feature_set(args: argparse.Namespace):
    if args.features_dir:
        return load_features(args.features_dir)
    from modeling_asa import training as train_asa

    return train_asa.builtin_feature_set(600, args.seed)


def _branches(args: argparse.Namespace, dataset) -> list[str]:
    if args.branches:
        return [b for b in args.branches.split(",") if b]
    columns = set(dataset.column_names)
    return [b for b, needed in SEQUENCE_INPUTS.items() if needed[0] in columns]


def time_steps(model, optimizer, batches: list[dict], warmup: int) -> list[float]:
    """Seconds of each step after the first ``warmup`` (forward with the regulariser, backward, update)."""
    times = []
    model.train()
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        outputs = model(**batch)
        outputs.loss.backward()  # the whole objective, regulariser included
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def time_regularizer(model, batch: dict, repeats: int) -> float:
    """Median seconds of the regulariser's forward and backward alone, on this batch's ``z`` (a leaf copy)."""
    model.train()
    with torch.no_grad():
        z = model(**{k: v for k, v in batch.items() if k != "labels"}).z
    labels = batch["labels"]
    times = []
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        leaf = z.detach().requires_grad_(True)
        start = time.perf_counter()
        model.regularizer(leaf, labels).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    feature_set = _feature_set(args)
    if args.split not in feature_set.dataset:
        logger.error("%s: no split %r (has %s)", args.features_dir, args.split, list(feature_set.dataset))
        return 2
    dataset = feature_set.dataset[args.split]
    branches = _branches(args, dataset)
    collator = AsaDataCollator(question_features=feature_set.question_features, branches=branches)
    generator = torch.Generator().manual_seed(args.seed)
    rows = []
    for batch_size in args.batch_sizes:
        n = args.warmup + args.steps
        order = torch.randperm(len(dataset), generator=generator).tolist()
        need = n * batch_size
        order = (order * (need // len(order) + 1))[:need]
        batches = [collator([dataset[j] for j in order[k * batch_size : (k + 1) * batch_size]]) for k in range(n)]
        row = {"batch_size": batch_size}
        for regularizer in REGULARIZERS:
            torch.manual_seed(args.seed)
            config_kwargs = config_kwargs_from_metadata(feature_set.metadata)
            config = AsaHybridConfig(**config_kwargs, branches=branches, loss=args.loss, regularizer=regularizer,
                                     acoustic_downsample=args.acoustic_downsample)  # fmt: skip
            model = AsaHybridForOrdinalClassification(config)
            optimizer = torch.optim.RAdam(model.parameters(), lr=2e-4, weight_decay=1e-5)
            times = time_steps(model, optimizer, batches, args.warmup)
            row[regularizer] = statistics.median(times) * 1000
            logger.info("batch %d, %s: %.1f ms per step (median of %d)", batch_size, regularizer, row[regularizer],
                        len(times))  # fmt: skip
            if regularizer != "none":
                alone = time_regularizer(model, batches[0], args.reg_repeats) * 1000
                row[f"{regularizer}_alone"] = alone
                logger.info("batch %d, %s alone: %.4f ms (median of %d)", batch_size, regularizer, alone,
                            args.reg_repeats)  # fmt: skip
        rows.append(row)

    header = (
        "| batch size | step, no regulariser (ms) | W-RankSim alone (ms, share of the step) | RankSim alone (ms, "
        "share) | step with W-RankSim (ms) | step with RankSim (ms) |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for row in rows:
        base = row["none"]
        alone = [f"{row[f'{r}_alone']:.3f} ({100 * row[f'{r}_alone'] / base:.2f}%)" for r in ("w_ranksim", "ranksim")]
        steps = [f"{row[r]:.1f} ({100 * (row[r] - base) / base:+.1f}%)" for r in ("w_ranksim", "ranksim")]
        lines.append(f"| {row['batch_size']} | {base:.1f} | {alone[0]} | {alone[1]} | {steps[0]} | {steps[1]} |")
    table = "\n".join(lines)
    print(table)
    if args.output:
        record = {
            "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
            "features": args.features_dir or "built-in generated feature set",
            "branches": branches,
            "loss": args.loss,
            "acoustic_downsample": args.acoustic_downsample,
            "steps": args.steps,
            "warmup": args.warmup,
            "reg_repeats": args.reg_repeats,
            "rows": rows,
            "versions": package_versions(("torch", "transformers")),
        }
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

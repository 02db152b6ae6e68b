#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Resumable experiment grid: losses x regularisers x branch sets, each trained with ``train_asa.py``.

Each run writes ``OUTPUT/<name>/asa_results.json``; a run whose results exist is skipped, so an interrupted grid
continues where it stopped. Runs go seed by seed (every setting with the first seed, then every setting with the
next), so a grid cut short leaves each cell with the same number of seeds; ``--only KEY=VALUE`` keeps the settings
that match (e.g. ``--only loss=ce --only regularizer=w_ranksim``). ``--reuse DIR`` takes a finished run of another
grid whose ``train_asa.py`` arguments parse to the same values (output folder aside) instead of training it again:
its files are copied and ``run_args.json`` names the source (the batch-size grid's batch-16 runs are Table 1's).
Several workers may run the same grid at once: each claims a run before training it (``.claimed`` in its folder)
and skips the runs a live worker holds. The table printed at the end (and written to ``OUTPUT/results.md``)
reports the dev split used for model selection next to the test splits, as measured.

Example::

    python scripts/run_experiments.py --features_dir ~/.cache/modeling_asa/features/speechocean762 \\
        --output results/speechocean762 --grid regularizers --seeds 0,1,2 -- --num_train_epochs 15
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

logger = logging.getLogger("run_experiments")

SO762_OBJECTIVES = (("ce", "none"), ("ce", "w_ranksim"), ("lmcl", "w_ranksim"), ("ce", "ranksim"), ("corn", "none"))
"""The objectives of issue 36's grid on speechocean762's expert scores."""

GRIDS = {
    # the paper's Table 2-style comparison: main loss x regulariser on the full hybrid model
    "regularizers": [
        {"loss": loss, "regularizer": reg} for loss in ("ce", "lmcl") for reg in ("none", "ranksim", "w_ranksim")
    ],
    # the batch-wise RankSim baseline at smaller weights than W-RankSim's gamma=1.5 (read on dev only)
    "ranksim_gamma": [
        {"loss": loss, "regularizer": "ranksim", "ranksim_gamma": gamma}
        for loss in ("ce", "lmcl")
        for gamma in ("0.1", "0.5")
    ],
    # the floor of every table: the pooled linear baseline (content only, and every branch pooled), plain CE
    "baselines": [
        {"branches": b, "branch_encoder": "pooled", "head_hidden_size": "0", "loss": "ce", "regularizer": "none"}
        for b in ("content", "content,delivery,language_use")
    ],
    # the hybrid with CE + W-RankSim alone (the same run names as in the regularizers grid)
    "hybrid": [{"loss": "ce", "regularizer": "w_ranksim"}],
    # the paper's Table 1: models x objectives (issue 10), plus CORN on the hybrid
    "table1": [
        {"branches": b, "loss": loss, "regularizer": reg}
        for b in ("content,delivery,language_use", "content,delivery", "content")
        for loss, reg in (
            ("ce", "none"),
            ("ce", "w_ranksim"),
            ("lmcl", "none"),
            ("lmcl", "w_ranksim"),
            ("ce", "ranksim"),
            ("lmcl", "ranksim"),
        )
    ]
    + [{"branches": "content,delivery,language_use", "loss": "corn", "regularizer": "none"}],
    # issue 37: aspect heads fed from the fused vectors or from their own branch, and the holistic head alone
    "aspects": [{"aspect_source": "fused"}, {"aspect_source": "branch"}, {"aspects": "false"}],
    # issue 33: the relevance evidence fed to the model (the demo's model with aspect heads on their branches)
    "relevance": [{"aspect_source": "branch", "relevance": "true"}],
    # issue 36: the real label (speechocean762 `total`): 4 models x the five objectives the issue names
    "so762_total": [
        {"branches": b, "loss": loss, "regularizer": reg}
        for b in ("content,delivery,language_use", "content,delivery", "content")
        for loss, reg in SO762_OBJECTIVES
    ],
    "so762_total_baselines": [
        {"branches": b, "branch_encoder": "pooled", "head_hidden_size": "0", "loss": loss, "regularizer": reg}
        for b in ("content", "content,delivery,language_use")
        for loss, reg in SO762_OBJECTIVES
    ],
    # the paper's Figure 4: LMCL alone and with either regulariser, across training batch sizes
    "batch_size": [
        {"loss": "lmcl", "regularizer": reg, "per_device_train_batch_size": str(size)}
        for reg in ("none", "ranksim", "w_ranksim")
        for size in (2, 4, 8, 16, 32)
    ],
    # the paper's own training settings (RAdam 2e-4 as everywhere, weight decay 1e-5, 8 epochs, batch size 2, no frame
    # pooling) for the hybrid with W-RankSim, next to the grids' recipe
    "paper_settings": [
        {
            "loss": loss,
            "regularizer": "w_ranksim",
            "per_device_train_batch_size": "2",
            "acoustic_downsample": "1",
            "weight_decay": "1e-5",
            "num_train_epochs": "8",
        }
        for loss in ("ce", "lmcl")
    ],
    # Table 1-style ablation of the branches (CE + W-RankSim)
    "branches": [
        {"branches": b, "loss": "ce", "regularizer": "w_ranksim"}
        for b in ("content", "delivery", "language_use", "content,delivery", "content,delivery,language_use")
    ],
}


def run_name(setting: dict[str, str], seed: int) -> str:
    return "_".join(f"{v}".replace(",", "+") for v in setting.values()) + f"_seed{seed}"


def parsed_arguments(cli: list[str]) -> list[dict]:
    """What ``train_asa.py`` would run with ``cli``, as dicts, the output folder left out (its derived paths too)."""
    import dataclasses

    from modeling_asa import training as train_asa

    cli = list(cli)
    cli[cli.index("--output_dir") + 1] = "/same-output"
    return [
        args.to_dict() if hasattr(args, "to_dict") else dataclasses.asdict(args) for args in train_asa.parse_args(cli)
    ]


def find_same_run(cli: list[str], reuse_dirs: list[Path]) -> Path | None:
    """A finished run folder under ``reuse_dirs`` whose recorded ``train_asa.py`` arguments mean the same as ``cli``."""
    wanted = parsed_arguments(cli)
    for folder in reuse_dirs:
        for args_file in sorted(folder.glob("*/run_args.json")):
            if not args_file.with_name("asa_results.json").is_file():
                continue
            if parsed_arguments(json.loads(args_file.read_text())["train_asa"]) == wanted:
                return args_file.parent
    return None


CLAIM = ".claimed"
"""Marks a run folder as being trained by a live worker (its pid and the machine's boot id)."""


def _boot_id() -> str:
    path = Path("/proc/sys/kernel/random/boot_id")
    return path.read_text().strip() if path.is_file() else "unknown"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def claim_run(run_dir: Path) -> bool:
    """Mark ``run_dir`` as this process's to train; ``False`` when a live worker holds it already.

    Several workers can walk the same grids at once (``bash results/run_issue10.sh`` twice, one torch thread each):
    each trains the runs nobody holds. A claim left by a killed worker (its process gone, or from before a reboot)
    is taken over.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    claim = run_dir / CLAIM
    mine = f"{os.getpid()} {_boot_id()}"
    try:
        fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        pid, _, boot = claim.read_text().partition(" ")
        if pid.isdigit() and boot == _boot_id() and int(pid) != os.getpid() and _alive(int(pid)):
            return False
        logger.info("%s: taking over a claim left by a stopped worker (%s)", run_dir.name, pid)
        claim.write_text(mine)
        return True
    with os.fdopen(fd, "w") as handle:
        handle.write(mine)
    return True


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features_dir", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--grid", choices=sorted(GRIDS), default="regularizers")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument(
        "--metrics_only", action="store_true",
        help="after each run keep only its metrics, arguments, curve and predictions (no weights): for results/",
    )  # fmt: skip
    parser.add_argument(
        "--only", action="append", default=[], metavar="KEY=VALUE",
        help="run only the grid's settings with this value (repeatable; all must match)",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", action="append", default=[], type=Path, metavar="DIR",
        help="copy a finished run from this grid output folder when its train_asa.py arguments mean the same "
        "(repeatable)",
    )  # fmt: skip
    parser.add_argument("train_args", nargs="*", help="extra train_asa.py arguments (after --)")
    args = parser.parse_args(argv)
    settings = GRIDS[args.grid]
    for item in args.only:
        key, sep, value = item.partition("=")
        known = sorted({k for setting in settings for k in setting})
        if not sep or key not in known:
            parser.error(
                f"--only {item}: expected KEY=VALUE with KEY one of the {args.grid} grid's: {', '.join(known)}"
            )
        settings = [setting for setting in settings if setting.get(key) == value]
    if not settings:
        parser.error(f"--only {' '.join(args.only)}: no setting of the {args.grid} grid matches")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(levelname)s - %(name)s - %(message)s")
    from modeling_asa import training as train_asa
    from modeling_asa.tools.cross_validate import prune_run

    output = Path(args.output)
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, dict] = {}
    for seed in seeds:
        for setting in settings:
            name = run_name(setting, seed)
            run_dir = output / name
            done = run_dir / "asa_results.json"
            cli = ["--features_dir", args.features_dir, "--output_dir", str(run_dir), "--seed", str(seed)]
            cli += [item for k, v in setting.items() for item in (f"--{k}", v)] + list(args.train_args)
            record = {"setting": setting, "seed": seed, "train_asa": cli}
            same = None if done.exists() else find_same_run(cli, args.reuse)
            if done.exists():
                logger.info("%s: done already, skipping", name)
            elif same is not None:
                logger.info("%s: the same run is %s, copying it", name, same)
                shutil.copytree(same, run_dir, dirs_exist_ok=True)
                record["copied_from"] = str(same)
                (run_dir / "run_args.json").write_text(json.dumps(record, indent=1))
            elif not claim_run(run_dir):
                logger.info("%s: another worker is training it, skipping", name)
                continue
            else:
                logger.info("%s: training", name)
                try:
                    train_asa.main(cli)
                finally:
                    (run_dir / CLAIM).unlink(missing_ok=True)
            if not (run_dir / "run_args.json").is_file():  # also when a run was cut off right after training
                # what reproduces the run (results/ folders keep it next to asa_results.json)
                (run_dir / "run_args.json").write_text(json.dumps(record, indent=1))
            if args.metrics_only:
                prune_run(run_dir)
            # keep the final model and metrics, drop the intermediate checkpoints
            for checkpoint in run_dir.glob("checkpoint-*"):
                shutil.rmtree(checkpoint)
            results[name] = {"setting": setting, "seed": seed, "results": json.loads(done.read_text())}
    table = summarize(results)
    (output / "results.md").write_text(table)
    print(table)
    return results


def summarize(results: dict[str, dict]) -> str:
    """Mean, sample std over seeds and the half-width of a 95% t-interval of the mean, per setting and split."""
    from modeling_asa.metrics.stats import settings_table

    by_setting: dict[str, list[dict]] = {}
    for entry in results.values():
        key = ", ".join(f"{k}={v}" for k, v in entry["setting"].items())
        by_setting.setdefault(key, []).append(entry["results"])
    splits = sorted({s for runs in by_setting.values() for r in runs for s in r})
    return settings_table(by_setting, splits, ("accuracy", "macro_f1", "qwk"), count="seeds")


if __name__ == "__main__":
    main()

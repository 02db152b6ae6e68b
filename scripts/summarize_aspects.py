#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""The tables of results/aspects/: each aspect score against the hidden abilities, and what multi-task training
does to the holistic score.

Reads the run folders of ``scripts/run_experiments.py --grid aspects`` (aspect heads on the fused vectors, on their
own branch, and the holistic head alone; several seeds each) and the corpus with the ``<aspect>_ability`` columns,
and writes three Markdown tables:

1. per setting with aspect heads and per aspect, on the held-out answers of test_known and test_unknown together:
   Spearman of the aspect score with its hidden ability, Spearman of the holistic expected score with the same
   ability, their paired difference, and the aspect level's QWK against the raters (mean ± sample std over seeds);
2. each aspect's QWK and PCC against its raters per test split (``asa_results.json``);
3. the holistic score with aspect heads minus without, paired by seed (QWK and PCC per test split).

Example::

    python scripts/summarize_aspects.py --runs results/aspects/runs --corpus demo_data/gept \\
        --output results/aspects/table.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from modeling_asa.metrics.stats import format_interval, paired_difference
from modeling_asa.tools.evaluate_aspects import evaluate_run, format_table, summarize

SPLITS = ("test_known", "test_unknown")


def collect(runs_dir: Path) -> dict[str, dict[int, Path]]:
    """Setting label (``fused``, ``branch``, ``holistic only``) -> seed -> finished run folder."""
    settings: dict[str, dict[int, Path]] = {}
    for args_file in sorted(runs_dir.glob("*/run_args.json")):
        if not (args_file.parent / "asa_results.json").is_file():
            continue
        record = json.loads(args_file.read_text())
        setting = record["setting"]
        label = "holistic only" if setting.get("aspects") == "false" else setting.get("aspect_source", "fused")
        settings.setdefault(label, {})[int(record["seed"])] = args_file.parent
    return settings


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="folder of the aspects grid's run folders")
    parser.add_argument("--corpus", required=True, help="the corpus with the <aspect>_ability columns")
    parser.add_argument("--output", default=None, help="also write the tables here (default: print only)")
    args = parser.parse_args(argv)
    settings = collect(Path(args.runs))
    results = {label: {seed: json.loads((run / "asa_results.json").read_text()) for seed, run in runs.items()}
               for label, runs in settings.items()}  # fmt: skip
    text = ""
    for label in ("fused", "branch"):
        if label not in settings:
            continue
        per_run = [evaluate_run(run, args.corpus, list(SPLITS)) for _, run in sorted(settings[label].items())]
        text += (f"**Aspect heads reading the {label} representation** ({len(per_run)} seeds; held-out answers of "
                 f"{' and '.join(SPLITS)}):\n\n{format_table(summarize(per_run))}\n\n")  # fmt: skip
    aspects = sorted({k.split("_", 1)[1].rsplit("_", 1)[0] for r in results.get("fused", {}).values()
                      for k in r[SPLITS[0]] if k.startswith("aspect_") and k.endswith("_qwk")})  # fmt: skip
    if aspects:
        lines = ["| setting | aspect | " + " | ".join(f"{s} QWK | {s} PCC" for s in SPLITS) + " |",
                 "|---" * (2 + 2 * len(SPLITS)) + "|"]  # fmt: skip
        for label in ("fused", "branch"):
            for aspect in aspects:
                cells = []
                for split in SPLITS:
                    for metric in ("qwk", "pcc"):
                        values = [r[split][f"aspect_{aspect}_{metric}"] for r in results.get(label, {}).values()]
                        if values:
                            mean = sum(values) / len(values)
                            std = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
                            cells.append(f"{mean:.3f} ± {std:.3f}")
                        else:
                            cells.append("-")
                lines.append(f"| {label} | {aspect} | " + " | ".join(cells) + " |")
        text += "**Each aspect's level against its raters** (mean ± sample std over seeds):\n\n" + "\n".join(lines)
        text += "\n\n"
    if "holistic only" in results:
        lines = ["| aspect heads | pairs | " + " | ".join(f"{s} QWK | {s} PCC" for s in SPLITS) + " |",
                 "|---" * (2 + 2 * len(SPLITS)) + "|"]  # fmt: skip
        base = results["holistic only"]
        for label in ("fused", "branch"):
            if label not in results:
                continue
            seeds = sorted(set(results[label]) & set(base))
            cells = [format_interval(paired_difference([results[label][s][split][m] for s in seeds],
                                                 [base[s][split][m] for s in seeds]))
                     for split in SPLITS for m in ("qwk", "pcc")]  # fmt: skip
            lines.append(f"| {label} | {len(seeds)} | " + " | ".join(cells) + " |")
        text += ("**The holistic score with aspect heads minus without** (paired by seed, mean [95% interval]):\n\n"
                 + "\n".join(lines) + "\n")  # fmt: skip
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return text


if __name__ == "__main__":
    main()

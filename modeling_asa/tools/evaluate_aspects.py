"""Does each aspect score measure its own aspect? Per-aspect figures of trained runs against a corpus's hidden
abilities and aspect ratings.

For every run folder (``train_asa.py`` output of a model with aspect heads: ``predictions_<split>.csv`` with
``aspect_<name>`` columns) and every aspect, on the chosen splits together:

- Spearman of the aspect's expected score with the answer's hidden ability (``<name>_ability``, which the GEPT-style
  demo corpus keeps), beside Spearman of the holistic expected score with the same ability: an aspect score that
  tells more about its aspect than the holistic level does is above it;
- QWK of the aspect's predicted level against the raters' aspect label (``aspect_<name>_reference``).

Several runs (seeds) give mean ± sample std. Used by ``scripts/demo.sh`` and ``results/aspects/``::

    python -m modeling_asa.tools.evaluate_aspects outputs/gept-demo --corpus demo_data/gept
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from ..metrics import compute_ordinal_metrics


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def evaluate_run(run: str | Path, corpus: str | Path, splits: list[str]) -> dict[str, dict[str, float]]:
    """``aspect -> {"spearman_aspect", "spearman_holistic", "qwk", "n"}`` of one run folder.

    Raises:
        ValueError: A run without aspect columns, or a corpus without the ``<name>_ability`` column.
    """
    run, corpus = Path(run), Path(corpus)
    abilities = {row["response_id"]: row for row in _read_csv(corpus / "metadata.csv")}
    rows = []
    for split in splits:
        path = run / f"predictions_{split}.csv"
        if not path.is_file():
            raise ValueError(f"{path}: not found (is {split} one of the run's reported splits?)")
        rows += _read_csv(path)
    aspects = [c[len("aspect_") :] for c in rows[0]
               if c.startswith("aspect_") and not c.endswith(("_predicted", "_reference"))]  # fmt: skip
    if not aspects:
        raise ValueError(f"{run}: its predictions have no aspect columns (a model trained without aspect labels)")
    out = {}
    for aspect in aspects:
        column = f"{aspect}_ability"
        if column not in next(iter(abilities.values())):
            raise ValueError(f"{corpus}/metadata.csv: no {column!r} column (the hidden ability of the aspect)")
        ability = np.array([float(abilities[r["response_id"]][column]) for r in rows])
        score = np.array([float(r[f"aspect_{aspect}"]) for r in rows])
        holistic = np.array([float(r["expected_score"]) for r in rows])
        predicted = [int(float(r[f"aspect_{aspect}_predicted"])) for r in rows]
        reference = [int(float(r[f"aspect_{aspect}_reference"])) for r in rows]
        low = min(predicted + reference)
        qwk = compute_ordinal_metrics(
            [p - low for p in predicted], [r - low for r in reference], num_classes=max(predicted + reference) - low + 1
        )["qwk"]
        out[aspect] = {
            "spearman_aspect": float(spearmanr(score, ability).statistic),
            "spearman_holistic": float(spearmanr(holistic, ability).statistic),
            "qwk": float(qwk),
            "n": len(rows),
        }
    return out


def summarize(results: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean and sample std over runs of each aspect's figures (``<figure>_mean``, ``<figure>_std``) and the paired
    difference aspect minus holistic Spearman."""
    summary = {}
    for aspect in results[0]:
        values = {k: np.array([r[aspect][k] for r in results]) for k in ("spearman_aspect", "spearman_holistic", "qwk")}
        values["gain"] = values["spearman_aspect"] - values["spearman_holistic"]
        summary[aspect] = {"runs": len(results), "n": results[0][aspect]["n"]}
        for key, array in values.items():
            summary[aspect][f"{key}_mean"] = float(array.mean())
            summary[aspect][f"{key}_std"] = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return summary


def format_table(summary: dict[str, dict[str, float]]) -> str:
    def cell(values: dict[str, float], key: str) -> str:
        std = f" ± {values[f'{key}_std']:.3f}" if values["runs"] > 1 else ""
        return f"{values[f'{key}_mean']:+.3f}{std}" if key == "gain" else f"{values[f'{key}_mean']:.3f}{std}"

    header = (
        "| aspect | answers | Spearman: aspect score vs ability | Spearman: holistic score vs ability | aspect minus "
        "holistic | QWK: aspect level vs raters |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for aspect, values in summary.items():
        lines.append(f"| {aspect} | {values['n']} | {cell(values, 'spearman_aspect')} | "
                     f"{cell(values, 'spearman_holistic')} | {cell(values, 'gain')} | {cell(values, 'qwk')} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders of train_asa.py (several: seeds of one setting)")
    parser.add_argument("--corpus", required=True, help="the corpus folder with the <aspect>_ability columns")
    parser.add_argument("--splits", default="test_known,test_unknown", help="(default: %(default)s)")
    parser.add_argument("--output", default=None, help="also write the summary as JSON here (default: none)")
    args = parser.parse_args(argv)
    try:
        results = [evaluate_run(run, args.corpus, [s for s in args.splits.split(",") if s]) for run in args.runs]
    except ValueError as err:
        print(f"evaluate_aspects: error: {err}", file=sys.stderr)
        return 2
    summary = summarize(results)
    print(format_table(summary))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps({"splits": args.splits, "runs": [str(r) for r in args.runs],
                                                 "per_run": results, "summary": summary}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

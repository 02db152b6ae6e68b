"""Load a GEPT-style corpus folder, split it, and log a summary (labels, splits, problems).

The folder follows the modeling_asa corpus contract (``metadata.csv``, ``questions.jsonl``, audio;
see :mod:`modeling_asa.data.corpus`). The GEPT corpus itself is not public; this script works on
any folder in that layout, e.g. the demo corpus or the shared speechocean762 folder::

    python -m dataset_scripts.load_gept_folder demo_corpus --unknown-questions Q03 --group-by speaker_id
    python -m dataset_scripts.load_gept_folder ../shared/data/speechocean762-train \\
        --label-column age_band --unknown-fraction 0.1 --group-by speaker_id --save-splits splits.csv

Run it from the repository root with ``python -m`` (or install the package) so that
``modeling_asa`` is importable.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from typing import Any

from modeling_asa.data import (
    RATER_RULES,
    SPLIT_NAMES,
    Corpus,
    assign_splits,
    load_corpus,
    save_assignment,
    split_counts,
)

logger = logging.getLogger(__name__)


def summarize(corpus: Corpus, assignment: dict[str, str] | None = None) -> dict[str, Any]:
    """Summarize a loaded corpus and, optionally, its split assignment.

    Args:
        corpus: The loaded corpus.
        assignment: ``response_id -> split`` from :func:`modeling_asa.data.assign_splits`.

    Returns:
        A dict with ``root``, ``responses``, ``questions``, ``speakers`` (None without a
        ``speaker_id`` column), ``label_source``, ``label_counts``, ``problems`` (count),
        ``split_counts`` and ``split_label_counts`` (``{split: {label: count}}``) when an
        assignment is given.
    """
    dataset = corpus.dataset
    summary: dict[str, Any] = {
        "root": str(corpus.root),
        "responses": len(dataset),
        "questions": len(set(dataset["question_id"])),
        "speakers": len(set(dataset["speaker_id"])) if "speaker_id" in dataset.column_names else None,
        "label_source": corpus.label_source,
        "label_counts": corpus.label_counts(),
        "problems": len(corpus.problems),
    }
    if assignment is not None:
        summary["split_counts"] = split_counts(assignment)
        per_split: dict[str, Counter[int]] = {name: Counter() for name in SPLIT_NAMES}
        for response_id, label in zip(dataset["response_id"], dataset["label"]):
            per_split[assignment[response_id]][label] += 1
        summary["split_label_counts"] = {
            name: {c: per_split[name].get(c, 0) for c in corpus.classes} for name in SPLIT_NAMES
        }
    return summary


def log_summary(summary: dict[str, Any], corpus: Corpus, max_problems: int = 20) -> None:
    """Log a summary produced by :func:`summarize`, and up to ``max_problems`` problems.

    Args:
        summary: Output of :func:`summarize`.
        corpus: The corpus (for its problems).
        max_problems: How many problems to list.
    """
    logger.info("Corpus %s", summary["root"])
    logger.info(
        "  %d responses, %d questions, %s speakers; label from %s",
        summary["responses"],
        summary["questions"],
        summary["speakers"] if summary["speakers"] is not None else "unknown",
        summary["label_source"],
    )
    logger.info("  responses per label: %s", summary["label_counts"])
    if "split_counts" in summary:
        for name in SPLIT_NAMES:
            logger.info(
                "  %-12s %5d responses, per label %s",
                name,
                summary["split_counts"][name],
                summary["split_label_counts"][name],
            )
    if corpus.problems:
        logger.warning("  %d problem(s); rows with problems were dropped:", len(corpus.problems))
        for problem in corpus.problems[:max_problems]:
            logger.warning("    %s", problem)
        if len(corpus.problems) > max_problems:
            logger.warning("    ... and %d more", len(corpus.problems) - max_problems)
    else:
        logger.info("  no problems found")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The summary dict (see :func:`summarize`).
    """
    parser = argparse.ArgumentParser(description="Load a GEPT-style corpus folder, split it and log a summary.")
    parser.add_argument("corpus_dir", help="corpus folder with metadata.csv, questions.jsonl and audio")
    parser.add_argument("--label-column", default=None, help="label column (default: score, else rater_* columns)")
    parser.add_argument("--rater-rule", default="floor", choices=RATER_RULES, help="rater average -> integer")
    parser.add_argument("--classes", type=int, nargs="+", default=None, help="declared label classes, e.g. 1 2 3 4 5")
    parser.add_argument("--non-strict", action="store_true", help="drop rows with problems instead of failing")
    parser.add_argument("--no-check-audio", action="store_true", help="skip reading audio headers")
    held_out = parser.add_mutually_exclusive_group()
    held_out.add_argument("--unknown-questions", nargs="+", default=None, help="question ids held out (test_unknown)")
    held_out.add_argument("--unknown-fraction", type=float, default=None, help="fraction of questions held out")
    parser.add_argument("--group-by", default=None, help="column kept within one of train/dev/test_known")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--ratios", type=float, nargs=3, default=(0.8, 0.1, 0.1), help="train dev test_known ratios")
    parser.add_argument("--no-split", action="store_true", help="only load and summarize")
    parser.add_argument("--save-splits", default=None, help="write the split assignment CSV here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    corpus = load_corpus(
        args.corpus_dir,
        label_column=args.label_column,
        rater_rule=args.rater_rule,
        classes=args.classes,
        strict=not args.non_strict,
        check_audio=not args.no_check_audio,
    )
    assignment = None
    if not args.no_split:
        assignment = assign_splits(
            corpus.dataset,
            unknown_questions=args.unknown_questions,
            unknown_fraction=args.unknown_fraction,
            group_by=args.group_by,
            seed=args.seed,
            ratios=tuple(args.ratios),
        )
        if args.save_splits:
            path = save_assignment(assignment, args.save_splits)
            logger.info("Wrote split assignment to %s", path)
    summary = summarize(corpus, assignment)
    log_summary(summary, corpus)
    return summary


__all__ = ["log_summary", "main", "summarize"]


if __name__ == "__main__":
    main()

# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Console scripts: ``asa-prepare`` (corpus folder -> cached features folder)."""

from __future__ import annotations

import argparse
import logging
import sys

logger = logging.getLogger("modeling_asa.cli")


def build_prepare_parser() -> argparse.ArgumentParser:
    from .features.pipeline import STAGES, PrepareSettings

    d = PrepareSettings()
    parser = argparse.ArgumentParser(
        prog="asa-prepare",
        description=(
            "Turn a corpus folder (metadata.csv, questions.jsonl, audio) into a cached features folder for "
            "train_asa.py: content (Whisper, Sentence-BERT), delivery (CTC alignment, prosody, posteriors, LM) and "
            "language-use (spaCy) features, with train/dev/test splits. Re-running resumes; an unchanged re-run "
            "does nothing. Every model option takes a Hub id or a local folder."
        ),
    )
    parser.add_argument("corpus_dir", help="corpus folder")
    parser.add_argument("--output", required=True, help="features folder to write (and resume from)")
    parser.add_argument("--acoustic-encoder", default=d.acoustic_encoder, help="Whisper model (default: %(default)s)")
    parser.add_argument(
        "--context-encoder", default=d.context_encoder, help="Sentence-BERT model (default: %(default)s)"
    )
    parser.add_argument("--ctc-model", default=d.ctc_model, help="monolingual CTC aligner (default: %(default)s)")
    parser.add_argument(
        "--asr-model", default=None, help="multilingual CTC model for transcripts and posteriors (default: none)"
    )
    parser.add_argument("--spacy-model", default=d.spacy_model, help="spaCy pipeline (default: %(default)s)")
    parser.add_argument("--lm", default=None, help="kenlm ARPA/binary n-gram LM (default: none)")
    parser.add_argument("--label-column", default=None, help="label column (default: score, else rater_* average)")
    parser.add_argument("--rater-rule", default=d.rater_rule, choices=["floor", "round", "ceil"])
    parser.add_argument("--classes", default=None, help="comma-separated declared classes, e.g. 1,2,3,4,5")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--unknown-questions", default=None, help="comma-separated held-out question ids")
    group.add_argument("--unknown-fraction", type=float, default=None, help="fraction of questions to hold out")
    parser.add_argument("--group-by", default=None, help="keep groups (e.g. speaker_id) within one split")
    parser.add_argument("--seed", type=int, default=d.seed, help="split seed (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N responses")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: this process's accelerator)")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="responses per forward pass")
    parser.add_argument(
        "--stages", default=",".join(STAGES), help=f"comma-separated stages to run (default: {','.join(STAGES)})"
    )
    parser.add_argument("--strict", action="store_true", help="fail on the first problem instead of reporting it")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def prepare_main(argv: list[str] | None = None) -> int:
    """Entry point of ``asa-prepare``; returns the exit status (non-zero when nothing usable remains)."""
    args = build_prepare_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(asctime)s - %(levelname)s - %(name)s - %(message)s"
    )
    if args.log_level != "DEBUG":
        # ctc-segmentation logs one INFO line per aligned word; keep them for --log-level DEBUG only.
        logging.getLogger("ctc_segmentation").setLevel(logging.WARNING)
    from .data import CorpusError
    from .features.pipeline import FeaturePipeline, PipelineError, PrepareSettings

    try:
        settings = PrepareSettings(
            acoustic_encoder=args.acoustic_encoder,
            context_encoder=args.context_encoder,
            ctc_model=args.ctc_model,
            asr_model=args.asr_model,
            spacy_model=args.spacy_model,
            lm=args.lm,
            label_column=args.label_column,
            rater_rule=args.rater_rule,
            classes=[int(c) for c in args.classes.split(",")] if args.classes else None,
            unknown_questions=args.unknown_questions.split(",") if args.unknown_questions else None,
            unknown_fraction=args.unknown_fraction,
            group_by=args.group_by,
            seed=args.seed,
            limit=args.limit,
            device=args.device,
            batch_size=args.batch_size,
            stages=tuple(s for s in args.stages.split(",") if s),
            strict=args.strict,
        )
        report = FeaturePipeline(args.corpus_dir, args.output, settings).run()
    except (CorpusError, PipelineError, ValueError, OSError) as err:
        logger.error("%s", err)
        return 1
    if not report.up_to_date:
        logger.info(
            "Splits: %s; problems: %d (see %s/problems.csv)", report.split_counts, len(report.problems), args.output
        )
    return 0


__all__ = ["build_prepare_parser", "prepare_main"]

if __name__ == "__main__":
    sys.exit(prepare_main())

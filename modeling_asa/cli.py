# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Console scripts: ``asa-prepare`` (corpus folder -> cached features folder) and ``asa-score`` (recordings ->
scores with a trained model and its feature recipe)."""

from __future__ import annotations

import argparse
import logging
import sys

logger = logging.getLogger("modeling_asa.cli")


def load_package() -> None:
    """Import the whole package (torch, transformers; the auto-class and task registrations) once the arguments are
    parsed: a console script's ``--help`` and argument errors never pay for it."""
    import modeling_asa

    modeling_asa.load()


THREADS_HELP = "torch threads (default: OMP_NUM_THREADS if set, else the cores available to this process)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one spelling across the commands: options are kebab-case (``--label-column``) and the
    underscore spelling (``--label_column``) is accepted too."""

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        fixed = []
        for arg in args:
            if arg == "--":
                fixed += args[len(fixed) :]
                break
            if arg.startswith("--") and "_" in arg.split("=", 1)[0]:
                name, eq, value = arg.partition("=")
                arg = name.replace("_", "-") + eq + value
            fixed.append(arg)
        return super().parse_known_args(fixed, namespace)


def build_prepare_parser() -> argparse.ArgumentParser:
    from .settings import (
        ACOUSTIC_LAYERS,
        ACOUSTIC_WINDOWS,
        LOG_LEVELS,
        RATER_RULES,
        RECOGNIZER_BACKENDS,
        RECOGNIZER_WINDOWS,
        STAGES,
        PrepareSettings,
    )  # fmt: skip

    d = PrepareSettings()
    parser = ArgumentParser(
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
        "--asr-model", default=None,
        help="multilingual CTC model for multi_posterior (and transcripts when --recognizer none; default: none)",
    )  # fmt: skip
    parser.add_argument(
        "--recognizer", default=d.recognizer,
        help="ASR model whose words are aligned when the corpus has no transcript: a Whisper folder or Hub id, a "
        "CTranslate2 Whisper folder, a CTC model, or 'none' for the greedy CTC transcript of --asr-model "
        "(default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--recognizer-backend", default=d.recognizer_backend, choices=RECOGNIZER_BACKENDS,
        help="auto: CTranslate2 where the folder has its weights, else transformers or ctc (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--recognizer-window", default=d.recognizer_window, choices=RECOGNIZER_WINDOWS,
        help="the decoder reads the answer plus 3 s of silence (padded) or whole 30 s windows (full); default: "
        "%(default)s",
    )  # fmt: skip
    parser.add_argument("--beam-size", type=int, default=d.beam_size, help="1 is greedy (default: %(default)s)")
    parser.add_argument(
        "--language", default=d.language,
        help="decoding language of a multilingual Whisper, or 'auto' to detect it (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--spacy-model", default=d.spacy_model, help="spaCy pipeline (default: %(default)s)")
    parser.add_argument("--lm", default=None, help="kenlm ARPA/binary n-gram LM (default: none)")
    parser.add_argument("--label-column", default=None, help="label column (default: score, else rater_* average)")
    parser.add_argument(
        "--aspect-columns", default=None,
        help="comma-separated per-aspect label columns scored apart (e.g. content,delivery,language_use or "
        "accuracy,fluency,prosodic,completeness), on the label's classes and rater rule (default: none)",
    )  # fmt: skip
    parser.add_argument(
        "--rater-rule", default=d.rater_rule, choices=RATER_RULES,
        help="how the mean of several raters becomes a label (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--classes", default=None, help="comma-separated declared classes, e.g. 1,2,3,4,5 (default: those seen)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--unknown-questions", default=None, help="comma-separated held-out question ids (default: none)"
    )
    group.add_argument(
        "--unknown-fraction", type=float, default=None, help="fraction of questions to hold out (default: none)"
    )
    parser.add_argument(
        "--group-by", default=None, help="keep groups (e.g. speaker_id) within one split (default: none)"
    )
    parser.add_argument("--seed", type=int, default=d.seed, help="split seed (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N responses (default: all)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: this process's accelerator)")
    parser.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="responses per forward pass (default: %(default)s)"
    )
    parser.add_argument(
        "--stages", default=",".join(STAGES), help=f"comma-separated stages to run (default: {','.join(STAGES)})"
    )
    parser.add_argument("--strict", action="store_true", help="fail on the first problem instead of reporting it")
    parser.add_argument(
        "--acoustic-window", default=d.acoustic_window, choices=ACOUSTIC_WINDOWS,
        help="Whisper encoders (content, whisper_ctc aligners) read 30 s windows (full) or only the answer's own "
        "frames (trimmed); default: %(default)s",
    )  # fmt: skip
    parser.add_argument(
        "--acoustic-layers", default=d.acoustic_layers, choices=ACOUSTIC_LAYERS,
        help="the content stage keeps the Whisper encoder's last layer (last) or every layer, for a model that "
        "learns their weighted sum (all; about layers+1 times the disk); default: %(default)s",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    parser.add_argument("--log-level", default="INFO", choices=LOG_LEVELS, help="(default: %(default)s)")
    return parser


def prepare_main(argv: list[str] | None = None) -> int:
    """Entry point of ``asa-prepare``; returns the exit status (1 when nothing usable remains, 130 on Ctrl-C)."""
    args = build_prepare_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(asctime)s - %(levelname)s - %(name)s - %(message)s"
    )
    if args.log_level != "DEBUG":
        # ctc-segmentation logs one INFO line per aligned word; keep them for --log-level DEBUG only.
        logging.getLogger("ctc_segmentation").setLevel(logging.WARNING)
    from .data import CorpusError
    from .features.runner import FeaturePipeline, PipelineError
    from .runtime import configure_threads
    from .settings import PrepareSettings

    load_package()

    pipeline = None
    try:
        configure_threads(args.threads)
        settings = PrepareSettings(
            acoustic_encoder=args.acoustic_encoder,
            context_encoder=args.context_encoder,
            ctc_model=args.ctc_model,
            asr_model=args.asr_model,
            recognizer=None if args.recognizer.lower() == "none" else args.recognizer,
            recognizer_backend=args.recognizer_backend,
            recognizer_window=args.recognizer_window,
            beam_size=args.beam_size,
            language=None if args.language.lower() == "auto" else args.language,
            spacy_model=args.spacy_model,
            lm=args.lm,
            label_column=args.label_column,
            aspect_columns=[c for c in args.aspect_columns.split(",") if c] if args.aspect_columns else None,
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
            acoustic_window=args.acoustic_window,
            acoustic_layers=args.acoustic_layers,
        )
        pipeline = FeaturePipeline(args.corpus_dir, args.output, settings)
        report = pipeline.run()
    except KeyboardInterrupt:
        stage, done, total = pipeline.progress if pipeline is not None else ("", 0, 0)
        where = f" ({stage} stage)" if stage else ""
        print(f"interrupted after {done} of {total} answers{where}; re-run the same command to resume", file=sys.stderr)
        return 130
    except (CorpusError, PipelineError, ValueError, OSError) as err:
        for line in str(err).splitlines():
            logger.error("%s", line)
        return 1
    if pipeline.state.is_main_process:
        logger.info("%s%s", "Up to date: " if report.up_to_date else "", report.summary())
    return 0


def build_score_parser() -> argparse.ArgumentParser:
    from .features.recipe import MODEL_OPTIONS
    from .settings import LOG_LEVELS, RATER_RULES

    parser = ArgumentParser(
        prog="asa-score",
        description=(
            "Score spoken answers with a model trained by train_asa.py, computing exactly the features it was "
            "trained on (its feature_recipe.json). Give audio files and --question, or a corpus folder with "
            "--corpus and --output. Exit status: 0 all scored, 1 some could not be scored, 2 none."
        ),
    )
    parser.add_argument("audio", nargs="*", help="audio files to score")
    parser.add_argument("--model", required=True, help="model folder written by train_asa.py, or a Hub id")
    parser.add_argument("--question", default=None, help="the question text the answers respond to (default: none)")
    parser.add_argument(
        "--transcript", default=None, help="a known transcript (for a single file; default: recognise the words)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array, one object per file")
    parser.add_argument(
        "--timeline", action="store_true", help="also print each answer's word timeline (timing, pitch, pauses)"
    )
    parser.add_argument(
        "--corpus", default=None, help="score a corpus folder (metadata.csv, questions.jsonl; default: none)"
    )
    parser.add_argument("--output", default=None, help="with --corpus: the predictions CSV to write (default: none)")
    parser.add_argument(
        "--split", default=None, help="with --corpus: only the rows of this split (split column; default: every row)"
    )
    parser.add_argument(
        "--label-column", default=None,
        help="with --corpus: the label column (default: the one the model was trained on, when the corpus has it; "
        "else score or rater_* columns, if any)",
    )  # fmt: skip
    parser.add_argument(
        "--rater-rule", default=None, choices=RATER_RULES,
        help="with --corpus: how rater averages become labels (default: as in training)",
    )  # fmt: skip
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: CUDA when available)")
    parser.add_argument("--batch-size", type=int, default=8, help="answers per batch (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    for option, stage in MODEL_OPTIONS.items():
        parser.add_argument(
            f"--{option.replace('_', '-')}", default=None,
            help=f"use this model for the {stage} stage (default: the one recorded in the model's recipe)",
        )  # fmt: skip
    parser.add_argument(
        "--models-dir", default=None,
        help="where the model folder's recorded local models are found (default: $ASA_MODELS_DIR, else the "
        "project's .cache/models and .cache/lm)",
    )  # fmt: skip
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, help="(default: %(default)s)")
    return parser


def _print_table(scores, label_values) -> None:
    """One row per answer; a flagged answer's row ends with its flags and says it is not scored."""
    aspects = next((list(s.aspects) for s in scores if s.aspects), [])
    header = ["file", "predicted", "expected", *(f"p({v})" for v in label_values), *aspects]
    rows = []
    for s in scores:
        if s.error:  # the row starts with the file: its name is not repeated
            rows.append([s.file, "error", s.error.removeprefix(f"{s.file}: ")])
            continue
        expected = f"{s.expected_score:.2f}" if s.expected_score is not None else "-"
        aspect_cells = [f"{s.aspects[a]:.2f}" if s.aspects.get(a) is not None else "-" for a in aspects]
        rows.append([s.file, str(s.predicted), expected, *(f"{s.probabilities[v]:.3f}" for v in label_values),
                     *aspect_cells])  # fmt: skip
    width = max(len(header[0]), *(len(r[0]) for r in rows))
    print("  ".join([header[0].ljust(width), *(h[:12].rjust(9) for h in header[1:]), "flags"]))
    for row, score in zip(rows, scores):
        if row[1] == "error":
            print(f"{row[0].ljust(width)}  error: {row[2]}")
        else:
            flags = f"NOT SCORED: {','.join(score.flags)}" if score.flags else "-"
            print("  ".join([row[0].ljust(width), *(c.rjust(9) for c in row[1:]), flags]))


def _print_timeline(score) -> None:
    """The words behind the delivery features: start, end, pitch (Hz from semitones re 100 Hz) and pause after."""
    if score.error:
        return
    print(f"\n{score.file}: {score.transcript or ''}")
    if not score.words:
        print("  (no word timeline: the model has no delivery branch)")
        return
    print(f"  {'word':<16}{'start s':>8}{'end s':>8}{'pitch Hz':>10}{'pause s':>9}")
    for w in score.words:
        pitch, voiced = w.get("pitch_mean_st"), w.get("voiced_fraction")
        hz = f"{100 * 2 ** (pitch / 12):.0f}" if pitch is not None and voiced else "-"  # unvoiced words: no pitch
        pause = w.get("silence_after_s")
        print(f"  {w['word'][:15]:<16}{w['start']:>8.2f}{w['end']:>8.2f}{hz:>10}{(pause or 0.0):>9.2f}")


def _score_corpus(scorer, args) -> list:
    """Score every usable row of a corpus folder; write the predictions CSV and, with labels, metrics.json."""
    import csv
    import json
    from pathlib import Path

    from .audio import AudioError, load_answer_audio
    from .data import SPLIT_COLUMN, load_corpus
    from .features.stage import Answer
    from .metrics import compute_ordinal_metrics
    from .scoring import AsaScore, aspect_metrics, write_predictions

    label_column, rater_rule = args.label_column, args.rater_rule
    recorded = scorer.recipe.get("labels") or {}
    with open(Path(args.corpus) / "metadata.csv", newline="", encoding="utf-8-sig") as handle:
        header = [h.strip() for h in next(csv.reader(handle), [])]
    if label_column is None and recorded.get("label_column") in header:
        # the labels the model was trained on, when this corpus has them (as the training corpus had)
        label_column = recorded["label_column"]
        logger.info("labels from the %r column, as in training", label_column)
    if args.rater_rule is None:
        rater_rule = recorded.get("rater_rule") or "floor"
    aspects = list(scorer.model.config.aspects or [])
    # the aspect labels the model was trained on, when this corpus has every one of them
    aspect_columns = aspects if aspects and all(a in header for a in aspects) else None
    corpus = load_corpus(
        args.corpus, label_column=label_column, rater_rule=rater_rule, strict=False, require_labels=False,
        aspect_columns=aspect_columns,
    )  # fmt: skip
    rows, paths = corpus.rows_and_paths()
    if args.split:
        if not rows or SPLIT_COLUMN not in rows[0]:
            raise ValueError(f"--split {args.split}: {args.corpus}/metadata.csv has no {SPLIT_COLUMN!r} column")
        keep = [i for i, r in enumerate(rows) if r[SPLIT_COLUMN] == args.split]
        rows, paths = [rows[i] for i in keep], [paths[i] for i in keep]
    failed = [AsaScore(p.file, p.response_id or "", error=p.reason) for p in corpus.problems]
    answers, references, aspect_references = [], {}, {}
    for row, path in zip(rows, paths):
        rid = str(row["response_id"])
        try:
            wave = load_answer_audio(path)
        except AudioError as err:
            failed.append(AsaScore(path, rid, error=str(err)))
            continue
        question = corpus.questions.get(str(row["question_id"]))
        answers.append(Answer(rid, wave, str(row["question_id"]), question, row.get("transcript") or None, path))
        references[rid] = row.get("label")
        if aspect_columns:
            aspect_references[rid] = row["aspect_labels"]
    for score in failed:
        logger.warning("%s: %s", score.file, score.error)
    scores = scorer.score_answers(answers, show_progress=True)
    labelled = any(v is not None for v in references.values())
    table = []
    for score in scores:
        row = {"response_id": score.response_id, "predicted": score.predicted,
               "expected_score": score.expected_score, "flags": ";".join(score.flags),
               "error": score.error or ""}  # fmt: skip
        row.update({f"prob_{v}": score.probabilities.get(v) for v in scorer.label_values})
        if labelled:
            row["reference"] = references[score.response_id]
        for j, name in enumerate(aspects):
            row[f"aspect_{name}"] = score.aspects.get(name)
            if aspect_columns:
                row[f"aspect_{name}_reference"] = aspect_references[score.response_id][j]
        table.append(row)
    output = Path(args.output)
    write_predictions(output, table, scorer.label_values)
    if labelled:
        index = {v: i for i, v in enumerate(scorer.label_values)}
        pairs = [(index[s.predicted], index[references[s.response_id]],
                  sum(p * index[v] for v, p in s.probabilities.items()))
                 for s in scores if not s.error and references[s.response_id] in index]  # fmt: skip
        outside = sum(1 for s in scores if not s.error and references[s.response_id] not in index)
        if outside:
            logger.warning("%d answers have labels outside the model's classes %s: left out of the metrics", outside,
                           scorer.label_values)  # fmt: skip
        if pairs:
            predicted, reference, expected = zip(*pairs)
            metrics = compute_ordinal_metrics(
                list(predicted), list(reference), num_classes=len(scorer.label_values), expected=list(expected)
            )
            metrics = {k: float(v) for k, v in metrics.items()}
            metrics["num_scored"] = len(pairs)
            if aspect_columns:
                kept = [s for s in scores if not s.error]
                metrics.update(aspect_metrics(
                    [[[s.aspect_probabilities[a][v] for v in scorer.label_values] for a in aspects] for s in kept],
                    [[index.get(v, -1) for v in aspect_references[s.response_id]] for s in kept],
                    aspects, len(scorer.label_values),
                ))  # fmt: skip
            (output.parent / "metrics.json").write_text(json.dumps(metrics, indent=2))
            print(
                f"{len(pairs)} answers: "
                + ", ".join(f"{k}={metrics[k]:.3f}" for k in ("accuracy", "macro_f1", "qwk", "pcc"))
            )
    print(f"Wrote {output} ({len(scores) - sum(1 for s in scores if s.error)} scored, "
          f"{sum(1 for s in scores if s.error) + len(failed)} failed)")  # fmt: skip
    return [*scores, *failed]


def score_main(argv: list[str] | None = None) -> int:
    """Entry point of ``asa-score``; returns 0 when every answer was scored, 1 when some failed, 2 when none was."""
    import json

    parser = build_score_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(levelname)s - %(name)s - %(message)s")
    logging.getLogger("ctc_segmentation").setLevel(logging.WARNING)
    if bool(args.corpus) == bool(args.audio):
        parser.error("give audio files, or --corpus CORPUS_DIR --output PREDICTIONS.csv (not both)")
    if args.corpus and not args.output:
        parser.error("--corpus needs --output PREDICTIONS.csv")
    from .data import CorpusError
    from .features.recipe import MODEL_OPTIONS, RecipeError
    from .runtime import configure_threads
    from .scoring import AsaScorer

    load_package()

    overrides = {option: getattr(args, option) for option in MODEL_OPTIONS}
    overrides["models_dir"] = args.models_dir
    try:
        configure_threads(args.threads)
        scorer = AsaScorer.from_pretrained(args.model, device=args.device, batch_size=args.batch_size, **overrides)
        if args.corpus:
            scores = _score_corpus(scorer, args)
        else:
            scores = scorer.score(args.audio, question=args.question, transcript=args.transcript, show_progress=True)
            if args.json:  # the table shows each error in its row; with --json, one line each on stderr as well
                for s in scores:
                    if s.error:
                        logger.error("%s", s.error if s.error.startswith(s.file) else f"{s.file}: {s.error}")
                keys = ("file", "scorable", "flags", "predicted", "expected_score", "probabilities", "transcript",
                        "words", "error")  # fmt: skip
                aspects = ("aspects", "aspect_probabilities") if scorer.model.config.aspects else ()
                print(json.dumps([{k: s.to_dict()[k] for k in keys + aspects} for s in scores], indent=2))
            else:
                _print_table(scores, scorer.label_values)
                if args.timeline:
                    for s in scores:
                        _print_timeline(s)
    except KeyboardInterrupt:
        print("asa-score: interrupted", file=sys.stderr)
        return 130
    except (RecipeError, CorpusError, ValueError, OSError) as err:
        logger.error("%s", " ".join(str(err).split()) if not isinstance(err, CorpusError) else err)
        return 2
    failed = sum(1 for s in scores if s.error)
    return 0 if failed == 0 else (2 if failed == len(scores) else 1)


__all__ = ["build_prepare_parser", "build_score_parser", "prepare_main", "score_main"]

if __name__ == "__main__":
    sys.exit(prepare_main())

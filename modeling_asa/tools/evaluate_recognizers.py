# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Word and character error rates of recognisers on held-out speakers of a read-speech corpus, with their speed.

Every recogniser reads the same clips: the answers of the speakers a CTC head's ``split.json`` holds out (nothing in
this project trained on them), the prompt being the reference. Each recogniser's figures go to
``<output>/<name>.json`` (a finished one is skipped on a re-run, so the job resumes), and ``<output>/wer.md`` tables
them all. Words are compared after :func:`~modeling_asa.text.normalize_text` with numbers spelt out.

Example:
    python -m modeling_asa.tools.evaluate_recognizers --output results/asr/wer \\
        --recognizer "whisper-base ct2 padded=.cache/models/whisper-base:ctranslate2:padded"
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import platform
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def heldout_clips(
    corpus: Path, split_file: Path | None, per_speaker: int | None = None, splits: set[str] | None = None
) -> list[dict[str, str]]:
    """Rows of ``metadata.csv`` whose speaker ``split_file`` holds out, or whose ``split`` column is in ``splits``
    (``per_speaker``: the first N of each speaker)."""
    held = set(json.loads(split_file.read_text())["heldout_speakers"]) if split_file else None
    counts: dict[str, int] = {}
    rows = []
    with open(corpus / "metadata.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            speaker = row["speaker_id"]
            wanted = row.get("split") in splits if splits else speaker in held
            if wanted and (per_speaker is None or counts.get(speaker, 0) < per_speaker):
                counts[speaker] = counts.get(speaker, 0) + 1
                rows.append(row)
    return rows


def parse_recognizer(spec: str) -> dict[str, str]:
    """``"NAME=MODEL[:BACKEND[:WINDOW[:COMPUTE_TYPE]]]"`` -> its fields (defaults ``auto``, ``padded``)."""
    name, _, rest = spec.partition("=")
    if not name or not rest:
        raise ValueError(f"--recognizer {spec!r}: expected NAME=MODEL[:BACKEND[:WINDOW[:COMPUTE_TYPE]]]")
    parts = rest.split(":")
    fields = {"name": name, "model": parts[0], "backend": "auto", "window": "padded", "compute_type": ""}
    for key, value in zip(("backend", "window", "compute_type"), parts[1:]):
        fields[key] = value
    return fields


def evaluate(
    spec: dict[str, str],
    clips: list[dict[str, str]],
    corpus: Path,
    batch_size: int,
    reference_column: str | None = None,
) -> dict:
    """One recogniser on the clips: WER, CER, seconds of decoding per second of audio, and the worst examples.

    The reference is the question's text (read speech), or ``reference_column`` of ``metadata.csv`` (what a
    synthetic speaker was made to say)."""
    import torch

    from ..audio import load_answer_audio
    from ..ctc.data import char_error_rate, word_error_rate
    from ..features.recognition import Recognizer
    from ..text import normalize_text, spell_numbers

    lines = (corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = {q["question_id"]: q["text"] for q in map(json.loads, filter(None, lines))}
    waves = [load_answer_audio(corpus / row["file_name"]) for row in clips]
    references = [
        normalize_text(spell_numbers(row[reference_column] if reference_column else questions[row["question_id"]]))
        for row in clips
    ]
    started = time.perf_counter()
    recognizer = Recognizer(spec["model"], backend=spec["backend"], window=spec["window"], batch_size=batch_size,
                            compute_type=spec["compute_type"] or None)  # fmt: skip
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
    heard = [None] * len(waves)
    for start in range(0, len(order), 64):
        chunk = order[start : start + 64]
        for i, result in zip(chunk, recognizer.transcribe([waves[i] for i in chunk])):
            heard[i] = result
        logger.info("%s: %d/%d clips", spec["name"], min(start + 64, len(order)), len(order))
    decode_s = time.perf_counter() - started
    hypotheses = [" ".join(r.words) for r in heard]
    audio_s = sum(len(w) for w in waves) / 16000
    errors = sorted(
        ({"file": row["file_name"], "reference": ref, "heard": hyp} for row, ref, hyp in zip(clips, references,
         hypotheses) if ref != hyp), key=lambda e: -abs(len(e["heard"]) - len(e["reference"])),
    )  # fmt: skip
    return {
        **spec,
        "backend_used": recognizer.backend,
        "clips": len(clips),
        "speakers": len({row["speaker_id"] for row in clips}),
        "audio_s": round(audio_s, 1),
        "wer": word_error_rate(references, hypotheses),
        "cer": char_error_rate(references, hypotheses),
        "load_s": round(load_s, 1),
        "decode_s": round(decode_s, 1),
        "rtf": decode_s / audio_s,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "largest_errors": errors[:5],
    }


def write_table(output: Path) -> Path:
    """``wer.md``: one row per finished recogniser."""
    runs = [json.loads(p.read_text()) for p in sorted(output.glob("*.json"))]
    lines = [
        "| recogniser | backend | window | clips (speakers) | WER | CER | RTF (decoding) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: r["wer"]):
        lines.append(f"| {r['name']} | {r['backend_used']}{' ' + r['compute_type'] if r['compute_type'] else ''} | "
                     f"{r['window'] if r['backend_used'] != 'ctc' else '-'} | {r['clips']} ({r['speakers']}) | "
                     f"{r['wer']:.3f} | {r['cer']:.3f} | {r['rtf']:.3f} |")  # fmt: skip
    path = output / "wer.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="../shared/data/speechocean762-train", help="default: %(default)s")
    parser.add_argument(
        "--split-file", default="ctc_heads/whisper-base-ctc/split.json",
        help="its heldout_speakers are the speakers read (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--splits", default=None, help="instead: the rows whose split column is one of these (a,b)")
    parser.add_argument(
        "--reference-column", default=None, help="metadata.csv column of the reference words (default: the question)"
    )
    parser.add_argument("--output", required=True, help="folder for <name>.json and wer.md")
    parser.add_argument(
        "--recognizer", action="append", required=True, help="NAME=MODEL[:BACKEND[:WINDOW[:COMPUTE_TYPE]]], repeated"
    )
    parser.add_argument("--per-speaker", type=int, default=None, help="only the first N answers of each speaker")
    parser.add_argument("--batch-size", type=int, default=8, help="default: %(default)s")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(message)s")
    corpus, output = Path(args.corpus), Path(args.output)
    if not (corpus / "metadata.csv").is_file():
        parser.error(f"--corpus {corpus}: no metadata.csv")
    output.mkdir(parents=True, exist_ok=True)
    splits = set(args.splits.split(",")) if args.splits else None
    clips = heldout_clips(corpus, None if splits else Path(args.split_file), args.per_speaker, splits)
    for spec in map(parse_recognizer, args.recognizer):
        target = output / f"{spec['name'].replace(' ', '_').replace('/', '_')}.json"
        if target.is_file():
            logger.info("%s: done already (%s)", spec["name"], target)
            continue
        result = evaluate(spec, clips, corpus, args.batch_size, args.reference_column)
        target.write_text(json.dumps(result, indent=2) + "\n")
        logger.info("%s: WER %.3f, CER %.3f, RTF %.3f", spec["name"], result["wer"], result["cer"], result["rtf"])
    print(write_table(output).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

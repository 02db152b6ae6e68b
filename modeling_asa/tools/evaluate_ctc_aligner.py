# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Measure a CTC aligner: CER/WER on held-out speakers and word-boundary error on speech with known timings.

1. **Recognition** (``--corpus``): greedy CTC transcripts (:func:`~modeling_asa.features.alignment.greedy_transcribe`)
   of every response of the held-out speakers listed in ``split.json`` (written by
   ``scripts/train_ctc_head.py``; these speakers were never trained on), against the normalised prompt
   text; corpus-level CER (characters, spaces included) and WER.
2. **Word boundaries** (``espeak-ng``): the built-in ordinary English sentences (not corpus prompts) are
   synthesised word by word, each word trimmed of silence, and concatenated with random pauses, so every
   word's true start and end are exact. :func:`~modeling_asa.features.alignment.align_words` aligns the
   transcript to the aligner's log posteriors; the absolute start and end errors are reported in ms
   (mean, median, 90th percentile, share within 20 / 50 / 100 ms).

The model is run exactly as the delivery stage runs it: ``CtcModel(folder)`` (float32 by default).
Figures are printed and written to ``--output`` (default ``ctc_heads/<folder name>/eval.json``).

The command line is ``scripts/evaluate_ctc_aligner.py``, a thin wrapper over :func:`main` that passes the checkout
as the project folder (of ``ctc_heads/``) and the shared corpus as the default ``--corpus``.

Example:
    nice -n 10 python scripts/evaluate_ctc_aligner.py --model .cache/models/whisper-tiny.en-ctc
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from modeling_asa.ctc.data import (
    SpeakerSplit,
    char_error_rate,
    load_read_speech_corpus,
    word_error_rate,
)
from modeling_asa.versions import package_versions

logger = logging.getLogger(__name__)

SENTENCES: list[str] = [
    "the train to the city leaves every morning at seven",
    "my sister bought a new bicycle last summer",
    "please close the window before you go to bed",
    "we watched a long film about the ocean",
    "the children played football in the park after school",
    "he forgot his umbrella at the office again",
    "our neighbours have a small garden full of roses",
    "the library opens early on weekdays",
    "she wrote a letter to her grandmother in spain",
    "coffee tastes better when the beans are fresh",
    "the museum was crowded on sunday afternoon",
    "they are planning a trip to the mountains",
    "a strong wind knocked down the old fence",
    "i usually walk to work when the weather is nice",
    "the teacher asked the students to read the second chapter",
    "dinner will be ready in about twenty minutes",
    "the doctor told him to drink more water",
    "my phone battery died during the meeting",
    "we need to buy milk bread and eggs",
    "the river flows slowly through the quiet valley",
    "she plays the piano every evening",
    "the bus was late because of the heavy traffic",
    "they painted the kitchen a bright yellow colour",
    "his favourite subject at school was history",
    "the cat slept on the warm blanket all day",
    "you should check the tyres before a long drive",
    "the shop around the corner sells fresh vegetables",
    "we celebrated her birthday with a chocolate cake",
    "the airport was closed because of the snow",
    "he listens to the radio while he cooks",
    "the farmer grows wheat and potatoes",
    "it took us three hours to climb the hill",
    "the new bridge will open next spring",
    "i lost my keys somewhere in the house",
    "the concert finished just before midnight",
    "they moved to a bigger apartment near the station",
    "a young boy was feeding the ducks by the lake",
    "the meeting has been moved to thursday",
    "she keeps her books on a shelf above the desk",
    "the soup was too hot to eat",
]
"""Ordinary sentences for the boundary test (written for this script; none is a speechocean762 prompt)."""


def evaluate_recognition(ctc, corpus: str, split: SpeakerSplit, limit: int | None) -> dict:
    """Greedy CER/WER on the held-out speakers' responses.

    Args:
        ctc: A :class:`~modeling_asa.features.alignment.CtcModel`.
        corpus: The read-speech corpus folder.
        split: The speaker split (its ``heldout_speakers`` are evaluated).
        limit: Evaluate at most this many responses (``None``: all).

    Returns:
        Counts, ``cer``, ``wer``, timings and the first 10 (reference, hypothesis) pairs.
    """
    from tqdm.auto import tqdm

    from modeling_asa.audio import load_audio
    from modeling_asa.features.alignment import greedy_transcribe

    heldout = set(split.heldout_speakers)
    examples = [e for e in load_read_speech_corpus(corpus) if e.speaker_id in heldout]
    if limit is not None:
        examples = examples[:limit]
    refs, hyps, audio_seconds = [], [], 0.0
    start = time.perf_counter()
    batch = 16
    for i in tqdm(range(0, len(examples), batch), desc="held-out responses", unit="batch"):
        chunk = examples[i : i + batch]
        waves = [load_audio(e.path) for e in chunk]
        audio_seconds += sum(len(w) for w in waves) / 16000
        for example, lp in zip(chunk, ctc.log_probs(waves, sampling_rate=16000)):
            hyps.append(greedy_transcribe(lp, ctc).text)
            refs.append(example.transcript)
    seconds = time.perf_counter() - start
    examples_out = [{"reference": r, "hypothesis": h} for r, h in list(zip(refs, hyps))[:10]]
    return {
        "speakers": len(heldout),
        "responses": len(examples),
        "audio_seconds": round(audio_seconds, 1),
        "cer": round(char_error_rate(refs, hyps), 4),
        "wer": round(word_error_rate(refs, hyps), 4),
        "compute_seconds": round(seconds, 1),
        "real_time_factor": round(seconds / max(audio_seconds, 1e-9), 3),
        "examples": examples_out,
    }


def evaluate_boundaries(ctc, seed: int, n_sentences: int | None, voice: str, speed: int) -> dict:
    """Word-boundary errors of ``align_words`` on espeak-ng word concatenations.

    Args:
        ctc: A :class:`~modeling_asa.features.alignment.CtcModel`.
        seed: Seed of the pauses and noise.
        n_sentences: Use only the first ``n_sentences`` of :data:`SENTENCES` (``None``: all).
        voice: espeak-ng voice.
        speed: espeak-ng words per minute.

    Returns:
        Start and end error summaries (ms), or ``{"skipped": ...}`` when espeak-ng is not installed.
    """
    from modeling_asa.ctc.synthetic import espeak_available, synthesize_utterance
    from modeling_asa.features.alignment import align_words

    if not espeak_available():
        logger.warning("espeak-ng is not installed: boundary evaluation skipped (apt-get install espeak-ng)")
        return {"skipped": "espeak-ng not installed"}
    rng = np.random.default_rng(seed)
    sentences = SENTENCES[: n_sentences or len(SENTENCES)]
    utterances = [synthesize_utterance(s.split(), rng, voice=voice, speed=speed) for s in sentences]
    log_probs = ctc.log_probs([u.wave for u in utterances], sampling_rate=16000)
    start_err, end_err, order_ok, n_words = [], [], 0, 0
    for utt, lp in zip(utterances, log_probs):
        segments = align_words(lp, utt.words, ctc)
        starts = [s.start for s in segments]
        order_ok += int(all(a <= b for a, b in itertools.pairwise(starts)))
        for seg, t0, t1 in zip(segments, utt.starts, utt.ends):
            n_words += 1
            start_err.append(abs(seg.start - t0) * 1000)
            end_err.append(abs(seg.end - t1) * 1000)

    def summary(errors: list[float]) -> dict[str, float]:
        """Mean, median, 90th percentile and shares within 20 / 50 / 100 ms of ``errors`` (ms)."""
        arr = np.asarray(errors)
        return {
            "mean_ms": round(float(arr.mean()), 1),
            "median_ms": round(float(np.median(arr)), 1),
            "p90_ms": round(float(np.percentile(arr, 90)), 1),
            "within_20ms": round(float((arr <= 20).mean()), 3),
            "within_50ms": round(float((arr <= 50).mean()), 3),
            "within_100ms": round(float((arr <= 100).mean()), 3),
        }

    return {
        "sentences": len(sentences),
        "words": n_words,
        "voice": voice,
        "speed_wpm": speed,
        "seed": seed,
        "sentences_in_order": order_ok,
        "start_error": summary(start_err),
        "end_error": summary(end_err),
    }


def main(
    argv: list[str] | None = None,
    default_corpus: str | os.PathLike | None = None,
    project_dir: str | os.PathLike | None = None,
) -> int:
    """Command-line entry point: evaluate ``--model`` and write the figures (see ``--help``).

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).
        default_corpus: Default of ``--corpus`` (the script passes the shared corpus of the checkout); with
            ``None``, ``--corpus`` is needed unless ``--skip-recognition`` is given.
        project_dir: Folder of the default ``--split`` and ``--output`` (``ctc_heads/<model folder name>/``);
            default: the current folder. The script passes the checkout.

    Returns:
        0 on success, 1 when the split file or the corpus is missing.
    """
    project = Path(project_dir) if project_dir is not None else Path.cwd()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Aligner folder (scripts/build_ctc_aligners.py output).")
    parser.add_argument("--corpus", default=None if default_corpus is None else str(default_corpus),
                        help="Read-speech corpus with the held-out speakers.")  # fmt: skip
    parser.add_argument("--split", default=None, help="split.json (default ctc_heads/<model folder name>/split.json).")
    parser.add_argument("--output", default=None, help="Output JSON (default ctc_heads/<model folder name>/eval.json).")
    parser.add_argument("--limit", type=int, default=None, help="Evaluate at most this many held-out responses.")
    parser.add_argument("--sentences", type=int, default=None, help="Use only the first N boundary sentences.")
    parser.add_argument("--skip-recognition", action="store_true", help="Skip CER/WER.")
    parser.add_argument("--skip-boundaries", action="store_true", help="Skip the espeak-ng boundary test.")
    parser.add_argument("--voice", default="en-us", help="espeak-ng voice (default en-us).")
    parser.add_argument("--speed", type=int, default=160, help="espeak-ng words per minute (default 160).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the pauses and noise (default 0).")
    parser.add_argument("--batch-size", type=int, default=8, help="CtcModel batch size (default 8).")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="Model dtype.")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2).")
    parser.add_argument("--acoustic-window", default="full", choices=["full", "trimmed"],
                        help="Whisper-encoder aligners: encode 30 s windows (full) or the answer's own length "
                             "(trimmed), as asa-prepare --acoustic-window does (default full).")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    import torch

    import modeling_asa.ctc  # noqa: F401  (registers whisper_ctc with AutoModelForCTC)
    from modeling_asa.features.alignment import CtcModel

    torch.set_num_threads(args.threads)
    model_dir = Path(args.model)
    name = model_dir.resolve().name
    split_path = Path(args.split) if args.split else project / "ctc_heads" / name / "split.json"
    output = Path(args.output) if args.output else project / "ctc_heads" / name / "eval.json"
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    ctc = CtcModel(model_dir, device="cpu", dtype=dtype, batch_size=args.batch_size)
    if not ctc.set_acoustic_window(args.acoustic_window) and args.acoustic_window != "full":
        parser.error(f"--acoustic-window trimmed applies to Whisper-encoder aligners; {model_dir} is not one")
    command = "python " + " ".join([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    result: dict = {"model": name, "dtype": args.dtype, "acoustic_window": args.acoustic_window, "command": command}
    if not args.skip_recognition:
        if not split_path.is_file():
            logger.error("%s: split file not found (written by scripts/train_ctc_head.py)", split_path)
            return 1
        if args.corpus is None:
            logger.error("--corpus is required for the recognition figures (or pass --skip-recognition)")
            return 1
        split = SpeakerSplit.from_json(split_path)
        result["recognition"] = evaluate_recognition(ctc, args.corpus, split, args.limit)
        rec = result["recognition"]
        logger.info("held-out speakers: %d responses, CER %.4f, WER %.4f (RTF %.3f)", rec["responses"], rec["cer"],
                    rec["wer"], rec["real_time_factor"])  # fmt: skip
    if not args.skip_boundaries:
        result["boundaries"] = evaluate_boundaries(ctc, args.seed, args.sentences, args.voice, args.speed)
        bnd = result["boundaries"]
        if "start_error" in bnd:
            logger.info("boundaries (%d words): start error mean %.1f ms, median %.1f ms; end error mean %.1f ms, "
                        "median %.1f ms", bnd["words"], bnd["start_error"]["mean_ms"], bnd["start_error"]["median_ms"],
                        bnd["end_error"]["mean_ms"], bnd["end_error"]["median_ms"])  # fmt: skip
    result["versions"] = package_versions(("torch", "transformers", "numpy", "ctc-segmentation"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "versions"}, indent=2))  # the product: the figures
    return 0


__all__ = ["SENTENCES", "evaluate_boundaries", "evaluate_recognition", "main"]

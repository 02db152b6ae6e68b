#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""How far trimmed-window Whisper states are from full-window states, per answer.

Encodes the same answers with ``acoustic_window="full"`` and ``"trimmed"`` and prints, over the answers, the median
and 5th percentile of the per-answer mean cosine similarity between the two states of each frame, with the time
each mode took. Answers are the first ``--limit`` of the corpus (in ``metadata.csv`` order).

Example::

    python scripts/compare_acoustic_windows.py --corpus ../shared/data/speechocean762-train \\
        --acoustic-encoder .cache/models/whisper-base --limit 200
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def frame_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over frames of the cosine similarity of two ``(frames, dim)`` state arrays."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return float(np.mean(num / np.maximum(den, 1e-12)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="corpus folder")
    parser.add_argument("--acoustic-encoder", required=True, help="Whisper model folder or id")
    parser.add_argument("--limit", type=int, default=200, help="answers to compare (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--output", default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    from modeling_asa.audio import load_answer_audio
    from modeling_asa.data import load_corpus
    from modeling_asa.features.content import AcousticEncoder
    from modeling_asa.runtime import configure_threads

    threads = configure_threads()
    corpus = load_corpus(args.corpus, strict=False, require_labels=False)
    waves = [load_answer_audio(p) for p in corpus.rows_and_paths()[1][: args.limit]]
    audio_seconds = sum(len(w) for w in waves) / 16000
    states, seconds = {}, {}
    for window in ("full", "trimmed"):
        encoder = AcousticEncoder(args.acoustic_encoder, device="cpu", batch_size=args.batch_size,
                                  acoustic_window=window)  # fmt: skip
        start = time.perf_counter()
        states[window] = encoder.encode(waves, show_progress=True)
        seconds[window] = time.perf_counter() - start
    similarity = np.array([frame_cosine(a, b) for a, b in zip(states["full"], states["trimmed"])])
    report = {
        "answers": len(waves), "audio_seconds": audio_seconds, "threads": threads,
        "median_cosine": float(np.median(similarity)), "p5_cosine": float(np.percentile(similarity, 5)),
        "min_cosine": float(similarity.min()),
        "seconds": seconds, "rtf": {k: v / audio_seconds for k, v in seconds.items()},
    }  # fmt: skip
    print(f"{len(waves)} answers, {audio_seconds:.0f} s of audio, {threads} threads")
    print(f"per-answer mean cosine(full, trimmed): median {report['median_cosine']:.4f}, "
          f"5th percentile {report['p5_cosine']:.4f}, min {report['min_cosine']:.4f}")  # fmt: skip
    for window in ("full", "trimmed"):
        print(f"{window}: {seconds[window]:.1f} s (real-time factor {report['rtf'][window]:.3f})")
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()

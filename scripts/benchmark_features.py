#!/usr/bin/env python
# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Benchmark every feature stage: seconds of compute per second of audio (real-time factor, RTF).

Runs each stage of ``asa-prepare`` on the same clips, one stage at a time, and prints a table of wall-clock seconds
per second of audio (lower is faster; 1.0 means as slow as real time) plus the machine it ran on. Stages whose
model is not given (or cannot be loaded) are reported as skipped, never guessed.

Example::

    python scripts/benchmark_features.py --corpus ../shared/data/speechocean762-train --num-clips 24 \\
        --acoustic-encoder .cache/models/whisper-base --ctc-model .cache/models/whisper-tiny.en-ctc \\
        --asr-model .cache/models/whisper-base-ctc --lm .cache/lm/english-3gram.bin --acoustic-window full,trimmed \\
        --output results/benchmark_cpu.json
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import torch

logger = logging.getLogger("benchmark_features")


def machine_description(device: str) -> dict[str, str]:
    """CPU/GPU model, thread count and library versions, for the report."""
    info = {"device": device, "torch": torch.__version__, "threads": str(torch.get_num_threads())}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        info["cpu"] = platform.processor()
    import os

    info["cores"] = str(os.cpu_count())
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def timed(fn, *args, device: str = "cpu", **kwargs):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="corpus folder (metadata.csv, questions.jsonl, audio)")
    parser.add_argument("--label-column", default=None, help="label column (e.g. age_band for speechocean762)")
    parser.add_argument("--num-clips", type=int, default=24, help="clips to time (first N of metadata.csv)")
    parser.add_argument("--acoustic-encoder", default=None, help="Whisper model folder or id")
    parser.add_argument("--context-encoder", default=None, help="Sentence-BERT model folder or id")
    parser.add_argument("--recognizer", default=None, help="ASR model whose words are aligned (Whisper, CTranslate2)")
    parser.add_argument(
        "--recognizer-backends", default="auto", help="comma-separated recogniser backends to time (auto, transformers)"
    )
    parser.add_argument("--ctc-model", default=None, help="monolingual CTC model")
    parser.add_argument("--asr-model", default=None, help="multilingual CTC model")
    parser.add_argument("--spacy-model", default=None, help="spaCy pipeline")
    parser.add_argument("--lm", default=None, help="kenlm LM")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="1,8", help="batch sizes for the neural stages")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument(
        "--acoustic-window", default="full",
        help="comma-separated Whisper windows to time: full (30 s windows), trimmed (the answer's own frames)",
    )  # fmt: skip
    parser.add_argument("--output", default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(levelname)s - %(name)s - %(message)s")
    dtype = getattr(torch, args.dtype)

    from modeling_asa.audio import load_audio
    from modeling_asa.data import load_corpus

    corpus = load_corpus(args.corpus, strict=False, label_column=args.label_column)
    rows, paths = corpus.rows_and_paths()
    rows, paths = rows[: args.num_clips], paths[: args.num_clips]
    questions = [corpus.questions[r["question_id"]] for r in rows]
    waves, t_audio = timed(lambda: [load_audio(p) for p in paths])
    audio_seconds = sum(len(w) for w in waves) / 16000
    logger.info("%d clips, %.1f s of audio", len(waves), audio_seconds)
    results: dict[str, dict] = {"audio load + resample": {"seconds": t_audio}}
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    windows = [w for w in args.acoustic_window.split(",") if w]

    if args.acoustic_encoder:
        from modeling_asa.features.content import AcousticEncoder

        for window in windows:
            for bs in batch_sizes:
                enc = AcousticEncoder(args.acoustic_encoder, device=args.device, dtype=dtype, batch_size=bs,
                                      acoustic_window=window)  # fmt: skip
                enc.encode(waves[:1], show_progress=False)  # warm-up
                _, t = timed(enc.encode, waves, show_progress=False, device=args.device)
                results[f"content: Whisper encoder ({window}, batch {bs}, {args.dtype})"] = {"seconds": t}
                del enc
    if args.context_encoder:
        from modeling_asa.features.content import QuestionEncoder

        enc = QuestionEncoder(args.context_encoder, device=args.device)
        enc.encode(questions[:1], show_progress=False)
        _, t = timed(enc.encode, questions, show_progress=False, device=args.device)
        results["questions: Sentence-BERT (per question, batch 32)"] = {"seconds": t, "per_item": t / len(questions)}

    words_per_clip = [q.split() for q in questions]
    if args.recognizer:
        from modeling_asa.features.recognition import Recognizer

        for backend in [b for b in args.recognizer_backends.split(",") if b]:
            for bs in batch_sizes:
                recognizer = Recognizer(args.recognizer, backend=backend, device=args.device, batch_size=bs)
                recognizer.transcribe(waves[:1])  # warm-up
                heard, t = timed(recognizer.transcribe, waves, device=args.device)
                results[f"recognition: {recognizer.backend} ({recognizer.window} window, batch {bs})"] = {"seconds": t}
                del recognizer
        words_per_clip = [r.words for r in heard]  # the words the delivery stage aligns
    segments = None
    if args.ctc_model:
        from modeling_asa.features.alignment import CtcModel, align_words, word_posteriors

        for name, model_id in (("mono", args.ctc_model), ("multi", args.asr_model)):
            if not model_id:
                continue
            for window in windows:
                for bs in batch_sizes:
                    model = CtcModel(model_id, device=args.device, dtype=dtype, batch_size=bs)
                    whisper_ctc = model.set_acoustic_window(window)
                    if not whisper_ctc and window != windows[0]:
                        continue  # the window only changes Whisper-encoder aligners
                    model.log_probs(waves[:1])
                    log_probs, t = timed(model.log_probs, waves, device=args.device)
                    label = f"{window}, " if whisper_ctc else ""
                    results[f"delivery: CTC posteriors, {name} ({label}batch {bs}, {args.dtype})"] = {"seconds": t}
                    if window == windows[0] and name == "mono":
                        mono, mono_lp = model, log_probs
        start = time.perf_counter()
        segments = [align_words(lp, w, mono) for lp, w in zip(mono_lp, words_per_clip)]
        results["delivery: ctc-segmentation word alignment"] = {"seconds": time.perf_counter() - start}
        start = time.perf_counter()
        for lp, segs, w in zip(mono_lp, segments, words_per_clip):
            word_posteriors(lp, segs, w, mono)
        results["delivery: word posteriors"] = {"seconds": time.perf_counter() - start}
    if segments is not None:
        from modeling_asa.features.prosody import word_prosody

        _, t = timed(lambda: [word_prosody(w, 16000, s) for w, s in zip(waves, segments)])
        results["delivery: Praat pitch + intensity"] = {"seconds": t}
    if args.lm:
        from modeling_asa.features.lm import KenlmScorer

        lm = KenlmScorer(args.lm)
        _, t = timed(lambda: [lm.word_scores(w) for w in words_per_clip])
        results["delivery: kenlm word scores"] = {"seconds": t}
    if args.spacy_model:
        from modeling_asa.features.language_use import LanguageUseEncoder

        enc = LanguageUseEncoder(args.spacy_model)
        _, t = timed(enc.encode_batch, words_per_clip)
        results["language use: spaCy one-hots"] = {"seconds": t}

    for value in results.values():
        value["rtf"] = value["seconds"] / audio_seconds
        value["audio_seconds_per_second"] = audio_seconds / max(value["seconds"], 1e-9)
    report = {"machine": machine_description(args.device), "clips": len(waves), "audio_seconds": audio_seconds,
              "stages": results}  # fmt: skip
    width = max(len(k) for k in results)
    print(f"\nMachine: {report['machine']}")
    print(f"{len(waves)} clips, {audio_seconds:.1f} s of audio\n")
    print(f"{'stage'.ljust(width)}  seconds  s compute / s audio  s audio / s")
    for name, value in results.items():
        print(
            f"{name.ljust(width)}  {value['seconds']:7.2f}  {value['rtf']:18.4f}  {value['audio_seconds_per_second']:10.1f}"
        )
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()

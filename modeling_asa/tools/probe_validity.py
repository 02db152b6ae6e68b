# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Score answers that try to game the scorer, beside a good answer, and say which are caught.

A scorer that can be gamed is worse than none. For one question of a corpus, eSpeak NG (the project's offline TTS)
speaks a good answer (the ``reference_text`` of the corpus's best-rated answer to it) and answers that try to game a
scorer: counting from one to thirty, the good answer's words shuffled, a fluent answer to another question, the question
read back, filler only, another language, a 0.3 s answer, and the good answer with an empty question. Each is scored
by :class:`~modeling_asa.scoring.AsaScorer`; an attempt is **caught** when it is flagged as not scorable or scores at
least one level (expected score) below the good answer, which must stay scorable with an expected score >= 3.

Example:
    python -m modeling_asa.tools.probe_validity --model outputs/gept-demo --corpus demo_data/gept \\
        --output results/validity/probe.json
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import tempfile
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

COUNTING = (
    "one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen, fourteen, fifteen, sixteen, "
    "seventeen, eighteen, nineteen, twenty, twenty-one, twenty-two, twenty-three, twenty-four, twenty-five, "
    "twenty-six, twenty-seven, twenty-eight, twenty-nine, thirty."
)
FILLER = "um, uh, well, you know, um, uh, I mean, um, uh, well, hmm."
SPANISH = "En la biblioteca hay muchos estudiantes que leen libros y hablan en voz baja con sus amigos."


def _good_answers(corpus: Path) -> dict[str, tuple[str, float]]:
    """question id -> (reference text, rater mean) of its best-rated answer."""
    best: dict[str, tuple[str, float]] = {}
    with open(corpus / "metadata.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            raters = [float(v) for k, v in row.items() if k.startswith("rater_") and v]
            score = float(np.mean(raters)) if raters else float(row.get("score") or 0)
            text = row.get("reference_text") or ""
            if text and score > best.get(row["question_id"], ("", -1.0))[1]:
                best[row["question_id"]] = (text, score)
    return best


def probe(model: str, corpus: Path, question_id: str | None = None, seed: int = 0) -> dict:
    """Speak and score the attempts for one question; returns every score and the verdicts."""
    import soundfile as sf

    from ..audio import to_mono_16k
    from ..scoring import AsaScorer
    from ..tts import Espeak

    questions = {q["question_id"]: q["text"] for q in map(json.loads, filter(None, (corpus / "questions.jsonl")
                 .read_text(encoding="utf-8").splitlines()))}  # fmt: skip
    good = _good_answers(corpus)
    qid = question_id or max(good, key=lambda q: good[q][1])
    question, (good_text, _) = questions[qid], good[qid]
    other = next(q for q in good if q != qid and good[q][0] != good_text)
    words = good_text.split()
    random.Random(seed).shuffle(words)
    attempts = {
        "good answer": (good_text, question, "en-us"),
        "counting": (COUNTING, question, "en-us"),
        "shuffled words": (" ".join(words), question, "en-us"),
        "another question's answer": (good[other][0], question, "en-us"),
        "question read back": (question, question, "en-us"),
        "filler only": (FILLER, question, "en-us"),
        "another language": (SPANISH, question, "es"),
        "too short (0.3 s)": ("yes", question, "en-us"),
        "empty question": (good_text, "", "en-us"),
    }
    tts = Espeak()
    scorer = AsaScorer.from_pretrained(model, device="cpu")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (text, asked, voice) in attempts.items():
            wave = to_mono_16k(tts.synthesize(text, voice, 150, 50, 50), tts.sample_rate, target_sr=16000)
            if name.startswith("too short"):
                wave = wave[: int(0.3 * 16000)]
            path = Path(tmp) / f"{name.split()[0]}.wav"
            sf.write(path, np.concatenate([np.zeros(4000, np.float32), wave, np.zeros(4000, np.float32)]), 16000)
            score = scorer.score(str(path), question=asked or " ")
            rows[name] = {"text": text, "question": asked, "heard": score.transcript, "flags": score.flags,
                          "error": score.error, "predicted": score.predicted,
                          "expected_score": score.expected_score, "evidence": score.evidence}  # fmt: skip
    reference = rows["good answer"]
    for name, row in rows.items():
        if name == "good answer":
            row["verdict"] = (
                "ok: scorable, expected >= 3"
                if not row["flags"] and not row["error"] and (row["expected_score"] or 0) >= 3
                else "FAILS: the good answer must be scorable with an expected score >= 3"
            )
            continue
        flagged = bool(row["flags"] or row["error"])
        lower = (
            row["expected_score"] is not None
            and reference["expected_score"] is not None
            and row["expected_score"] <= reference["expected_score"] - 1
        )
        row["verdict"] = "caught (flagged)" if flagged else "caught (a level lower)" if lower else "NOT CAUGHT"
    return {"model": model, "corpus": str(corpus), "question_id": qid, "question": question, "attempts": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder (train_asa.py output)")
    parser.add_argument("--corpus", required=True, help="the corpus the good answers and questions come from")
    parser.add_argument("--question-id", default=None, help="default: the question of the best-rated answer")
    parser.add_argument("--output", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = probe(args.model, Path(args.corpus), args.question_id)
    print(f"question ({result['question_id']}): {result['question']}")
    print(f"{'attempt':<28}{'expected':>9}{'level':>7}  {'flags':<34}verdict")
    for name, row in result["attempts"].items():
        expected = f"{row['expected_score']:.2f}" if row["expected_score"] is not None else "-"
        flags = ",".join(row["flags"]) or (f"error: {row['error'][:28]}" if row["error"] else "-")
        print(f"{name:<28}{expected:>9}{row['predicted']!s:>7}  {flags:<34}{row['verdict']}")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

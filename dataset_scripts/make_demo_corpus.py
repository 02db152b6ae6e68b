"""Generate a small synthetic GEPT-style demo corpus (scores 1-5) that follows the corpus contract.

The audio is synthetic, not speech, but its label is learnable from the signal: each "word" is a
voiced tone burst (a speaker-specific pitch with harmonics), and a higher score means

- more bursts per second (faster, more fluent delivery),
- a steadier pitch inside and across bursts (less jitter),
- fewer long pauses (> 0.45 s).

The transcript has one word per burst and longer, more complex sentences for higher scores, so
the language-use branch has a signal too. Files mix WAV and FLAC, 16 kHz and 22.05 kHz, mono
and one stereo file, to exercise :func:`modeling_asa.audio.load_audio`. The default
corpus (12 speakers x 6 responses, 3 questions) is about 1.5 MB and takes well under a second.
Silence between bursts is digital zero (a noise floor would triple the FLAC size).

This is the training script's built-in default corpus::

    python dataset_scripts/make_demo_corpus.py --output demo_corpus
    python dataset_scripts/load_gept_folder.py demo_corpus

Example:
    >>> from dataset_scripts.make_demo_corpus import make_demo_corpus
    >>> root = make_demo_corpus("/tmp/demo_corpus", overwrite=True)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

logger = logging.getLogger(__name__)

SCORES = (1, 2, 3, 4, 5)
"""The demo corpus's label classes."""
ASPECTS = ("fluency", "accuracy")
"""Per-aspect rating columns (two raters' mean, around the score), for --aspect-columns."""

_MANIFEST = "demo_corpus.json"
_GENERATED = ("audio", "metadata.csv", "questions.jsonl", _MANIFEST)
_LONG_PAUSE_S = (0.45, 0.8)

_QUESTIONS = (
    ("place", "Describe a place where you like to relax, and explain why you like it."),
    ("person", "Talk about a person who has influenced you, and say how."),
    ("weekend", "What do you usually do on weekends? Describe a recent weekend."),
    ("food", "Describe your favourite food and when you like to eat it."),
    ("trip", "Tell us about a trip you remember well."),
    ("school", "What do you like and dislike about your school or work?"),
)

_SENTENCES = {
    1: ("i like {t}", "{t} good", "yes i go", "it is nice", "i am happy"),
    2: ("i like the {t} very much", "the {t} is good for me", "i go there with my friend"),
    3: ("i often think about the {t} because it is nice", "my family likes the {t} too"),
    4: (
        "i really enjoy the {t} because it makes me feel calm and happy",
        "when i have free time i usually spend it with my family there",
    ),
    5: (
        "what i appreciate most about the {t} is that it always helps me relax after a long and busy week",
        "although many people prefer other things i think the {t} offers something truly special and memorable",
    ),
}


def _question_list(n_questions: int) -> list[tuple[str, str, str]]:
    """(question_id, topic word, text) for ``n_questions`` questions."""
    result = []
    for index in range(n_questions):
        topic, text = _QUESTIONS[index % len(_QUESTIONS)]
        if index >= len(_QUESTIONS):
            text = f"{text} (variant {index // len(_QUESTIONS) + 1})"
        result.append((f"Q{index + 1:02d}", topic, text))
    return result


def _transcript(score: int, topic: str, n_words: int, rng: np.random.Generator) -> str:
    """A transcript with ``n_words`` words from sentences of the score's level."""
    words: list[str] = []
    pool = _SENTENCES[score]
    while len(words) < n_words:
        words.extend(pool[int(rng.integers(len(pool)))].format(t=topic).split())
    return " ".join(words[: max(1, n_words)])


def _synthesize(
    score: int,
    f0: float,
    sample_rate: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Synthesize one response: voiced tone bursts whose rate, pitch steadiness and pauses follow the score.

    Args:
        score: The response's score, 1-5.
        f0: The speaker's base pitch in Hz.
        sample_rate: Output sample rate.
        rng: Random generator.

    Returns:
        (float32 waveform, number of bursts).
    """
    duration = float(rng.uniform(2.2, 3.0))
    rate = 1.6 + 0.7 * score  # bursts per second
    jitter = 0.14 - 0.025 * score  # relative pitch jitter
    p_long_pause = max(0.0, 0.42 - 0.08 * score)
    n = int(duration * sample_rate)
    wave = np.zeros(n, dtype=np.float64)
    t = float(rng.uniform(0.08, 0.18))
    bursts = 0
    while True:
        length = float(rng.uniform(0.10, 0.16))
        if t + length > duration - 0.08:
            break
        start, stop = int(t * sample_rate), int((t + length) * sample_rate)
        time = np.arange(stop - start) / sample_rate
        pitch = f0 * (1.0 + jitter * rng.standard_normal()) * (1.0 + jitter * 0.5 * np.sin(2 * np.pi * 3.0 * time))
        phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
        tone = sum((0.5**k) * np.sin((k + 1) * phase) for k in range(4))
        envelope = np.sin(np.pi * np.arange(stop - start) / (stop - start)) ** 2
        wave[start:stop] += 0.25 * tone * envelope
        bursts += 1
        gap = max(0.03, 1.0 / rate - length + float(rng.normal(0.0, 0.03)))
        if rng.random() < p_long_pause:
            gap += float(rng.uniform(*_LONG_PAUSE_S))
        t += length + gap
    if bursts == 0:  # never happens with the durations above; keep at least one word
        stop = int(0.12 * sample_rate)
        wave[:stop] = 0.25 * np.sin(2 * np.pi * f0 * np.arange(stop) / sample_rate)
        bursts = 1
    return wave.astype(np.float32), bursts


def _existing_is_complete(root: Path, params: dict) -> bool:
    """True when ``root`` holds a demo corpus generated with the same parameters, files intact."""
    manifest = root / _MANIFEST
    if not manifest.is_file() or not (root / "metadata.csv").is_file() or not (root / "questions.jsonl").is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if recorded.get("params") != params:
        return False
    files = recorded.get("files", [])
    return len(files) == params["n_speakers"] * params["responses_per_speaker"] and all(
        (root / name).is_file() and (root / name).stat().st_size > 0 for name in files
    )


def make_demo_corpus(
    output_dir: str | os.PathLike,
    n_speakers: int = 12,
    responses_per_speaker: int = 6,
    n_questions: int = 3,
    seed: int = 0,
    n_raters: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic GEPT-style corpus folder (scores 1-5) following the corpus contract.

    Args:
        output_dir: Output folder (created). When it already holds a demo corpus made with the
            same arguments this is a no-op (logged).
        n_speakers: Number of speakers; their abilities cycle through 1-5 so every score occurs
            when ``n_speakers >= 5``.
        responses_per_speaker: Responses per speaker; questions rotate so each question is
            answered by every speaker when ``responses_per_speaker >= n_questions``.
        n_questions: Number of questions (``Q01``, ``Q02``, ...).
        seed: Random seed; the same arguments give the same files.
        n_raters: 0 writes a ``score`` column; N > 0 writes ``rater_1`` ... ``rater_N`` instead,
            each the true score or one above it, so the default ``floor`` rule recovers the true
            score unless every rater rated one above.
        overwrite: Replace a different demo corpus (or the files this function writes) in
            ``output_dir``.

    Returns:
        The corpus folder.

    Raises:
        ValueError: Non-positive sizes or negative ``n_raters``.
        FileExistsError: ``output_dir`` holds other corpus files and ``overwrite`` is False.

    Example:
        >>> root = make_demo_corpus("demo_corpus")  # doctest: +SKIP
        >>> from modeling_asa.data import load_corpus
        >>> load_corpus(root).classes  # doctest: +SKIP
        [1, 2, 3, 4, 5]
    """
    for name, value in (
        ("n_speakers", n_speakers),
        ("responses_per_speaker", responses_per_speaker),
        ("n_questions", n_questions),
    ):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1; got {value}")
    if n_raters < 0:
        raise ValueError(f"n_raters must be >= 0; got {n_raters}")
    root = Path(output_dir)
    params = {
        "n_speakers": int(n_speakers),
        "responses_per_speaker": int(responses_per_speaker),
        "n_questions": int(n_questions),
        "seed": int(seed),
        "n_raters": int(n_raters),
        "aspects": list(ASPECTS),
    }
    if _existing_is_complete(root, params):
        logger.info("Demo corpus %s already complete for %s; skipping generation", root, params)
        return root
    clashing = [name for name in _GENERATED if (root / name).exists()]
    if clashing and not overwrite:
        raise FileExistsError(
            f"{root}: already holds {', '.join(clashing)} from another corpus; pass overwrite=True (--overwrite)"
        )
    for name in clashing:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    root.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    questions = _question_list(n_questions)
    abilities = [1 + (i % len(SCORES)) for i in range(n_speakers)]
    abilities = [abilities[i] for i in rng.permutation(n_speakers)]
    header = ["file_name", "response_id", "question_id", "speaker_id"]
    header += [f"rater_{k + 1}" for k in range(n_raters)] if n_raters else ["score"]
    header += ["transcript", "duration_s", *ASPECTS]
    aspect_rng = np.random.default_rng([seed, 1])  # its own stream: the rest of the corpus is as before
    rows = []
    files = []
    index = 0
    for s in range(n_speakers):
        speaker = f"S{s + 1:02d}"
        f0 = float(rng.uniform(95.0, 240.0))
        (root / "audio" / speaker).mkdir(parents=True, exist_ok=True)
        for k in range(responses_per_speaker):
            question_id, topic, _ = questions[(k + s) % n_questions]
            delta = int(rng.choice([-1, 0, 0, 0, 1]))
            score = int(min(max(abilities[s] + delta, SCORES[0]), SCORES[-1]))
            sample_rate = 22050 if index % 5 == 2 else 16000
            wave, n_words = _synthesize(score, f0, sample_rate, rng)
            if index == 0:  # one stereo file: right channel slightly quieter and delayed
                right = np.concatenate([np.zeros(8, dtype=np.float32), wave[:-8]]) * 0.8
                wave = np.stack([wave, right], axis=1)
            ext, fmt = ("wav", "WAV") if index % 8 == 3 else ("flac", "FLAC")
            response_id = f"{speaker}_{k + 1:02d}"
            file_name = f"audio/{speaker}/{response_id}.{ext}"
            sf.write(root / file_name, wave, sample_rate, format=fmt, subtype="PCM_16")
            row = {
                "file_name": file_name,
                "response_id": response_id,
                "question_id": question_id,
                "speaker_id": speaker,
                "transcript": _transcript(score, topic, n_words, rng),
                "duration_s": f"{wave.shape[0] / sample_rate:.3f}",
            }
            if n_raters:
                for r in range(n_raters):
                    row[f"rater_{r + 1}"] = str(min(score + int(rng.random() < 0.25), SCORES[-1]))
            else:
                row["score"] = str(score)
            for name in ASPECTS:  # two raters' mean per aspect, around the score (a .5 exercises the rater rule)
                pair = [min(max(score + int(aspect_rng.choice([-1, 0, 0, 1])), SCORES[0]), SCORES[-1]) for _ in "ab"]
                row[name] = f"{sum(pair) / 2:g}"
            rows.append(row)
            files.append(file_name)
            index += 1

    with open(root / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    with open(root / "questions.jsonl", "w", encoding="utf-8") as handle:
        for question_id, _, text in questions:
            handle.write(json.dumps({"question_id": question_id, "text": text}) + "\n")
    (root / _MANIFEST).write_text(json.dumps({"params": params, "files": files}, indent=1) + "\n", encoding="utf-8")
    logger.info(
        "Wrote demo corpus %s: %d responses, %d speakers, %d questions", root, len(rows), n_speakers, n_questions
    )
    return root


def main(argv: list[str] | None = None) -> Path:
    """Command-line entry point.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The corpus folder.
    """
    parser = argparse.ArgumentParser(
        description="Generate a small synthetic GEPT-style demo corpus (scores 1-5) in the modeling_asa corpus layout."
    )
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--n-speakers", type=int, default=12, help="number of speakers (default 12)")
    parser.add_argument("--responses-per-speaker", type=int, default=6, help="responses per speaker (default 6)")
    parser.add_argument("--n-questions", type=int, default=3, help="number of questions (default 3)")
    parser.add_argument("--n-raters", type=int, default=0, help="0: a score column; N: rater_1..rater_N columns")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing corpus in --output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return make_demo_corpus(
        args.output,
        n_speakers=args.n_speakers,
        responses_per_speaker=args.responses_per_speaker,
        n_questions=args.n_questions,
        seed=args.seed,
        n_raters=args.n_raters,
        overwrite=args.overwrite,
    )


__all__ = ["SCORES", "main", "make_demo_corpus"]


if __name__ == "__main__":
    main()

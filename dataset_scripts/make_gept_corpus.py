"""Generate a GEPT-style spoken test answered by synthetic test takers, with offline text-to-speech (eSpeak NG).

The test follows the picture-description module of the GEPT intermediate speaking test used by Wu & Chen
(Interspeech 2024): four question sets, each a picture description and four related questions. Every test taker
answers one set (five answers). Set D is answered only by its own test takers and is the unknown-content test
(``split`` = ``test_unknown``); the takers of sets A-C are split by speaker into train, dev and test_known (5:1:1, stratified by level).

Each test taker has a hidden proficiency level 1-5 (imbalanced, roughly bell-shaped: 10/24/34/22/10%); each answer
draws its content, delivery and language-use abilities around it, and these drive what is said and how:

- **content**: how many of the question's idea units the answer covers, and whether it is off-topic (low levels
  sometimes answer another question);
- **language use**: grammar errors (dropped articles, verb agreement and form), plain clauses at low levels,
  place phrases, reasons and subordinate clauses joining ideas at high levels;
- **delivery**: speaking rate, filled pauses ("um", "uh"), repetitions, silent pauses inside and between clauses,
  pitch variation; the voice and base pitch are the test taker's own.

The three abilities are partly independent (each drawn around the level with a spread of 0.9: they correlate about
0.7). Two simulated raters rate each aspect (columns ``content``, ``delivery``, ``language_use``: the mean of the two
raters, for ``asa-prepare --aspect-columns``) and the level as a weighted view of their aspect ratings; the label is
the average of the two levels with the fraction dropped (the corpus loader's default ``floor`` rule, as in the
paper). An off-task answer gets the lowest content rating and at most level 2. ``metadata.csv`` keeps the hidden
level, the aspects and what was generated (``reference_text``, ``n_words``, ``n_fillers``, ``n_grammar_errors``,
``speech_rate_wps``...) for analysis; the training pipeline reads only the audio, the question and the raters.
There is no ``transcript`` column: as in a real test, the words come from the ASR model.

Deterministic for a seed: the same arguments give the same test takers, levels, splits, words, raters and pauses.
The audio is the same up to eSpeak NG itself, which carries a little state (pitch flutter) from one utterance to the
next inside a process: lengths differ by a few ms (under 20 ms) between runs, and nothing else depends on them. The default,
48 test takers x 5 answers, is about 240 answers, 30 minutes of speech and 15 MB, written in about 20 s.

Example::

    python dataset_scripts/make_gept_corpus.py --output demo_data/gept
    asa-prepare demo_data/gept --output demo_data/features ...
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

logger = logging.getLogger(__name__)

LEVELS = (1, 2, 3, 4, 5)
LEVEL_SHARES = (0.10, 0.24, 0.34, 0.22, 0.10)
"""Share of test takers per hidden level: imbalanced and roughly bell-shaped, as in real tests."""
SAMPLE_RATE = 16000
UNKNOWN_SET = "D"
"""The question set held out as the unknown-content test."""
_MANIFEST = "gept_corpus.json"
_GENERATED = ("audio", "metadata.csv", "questions.jsonl", "README.md", _MANIFEST)
_FORMAT_VERSION = 3  # 2: questions.jsonl gives each question's key points and a reference answer; 3: aspects rated
ASPECT_SD = 0.9
"""Spread of each aspect's ability around the test taker's level: the three aspects correlate about 0.7 (partly
independent, as a rubric's aspects are), so an aspect score can tell more than the holistic level."""

# Each question: (id suffix, text, idea units). An idea unit is "subject|verb|wrong verb|object|place|reason":
# the plain clause is "subject verb object"; place and reason are added by stronger language use; the wrong verb
# is the agreement/form error weaker answers make.
QUESTION_SETS: dict[str, dict] = {
    "A": {
        "picture": "a family having a picnic in a park on a sunny day",
        "questions": [
            (
                "P",
                "Please describe the picture: what are the people doing, and where are they?",
                [
                    "the father|is cooking|are cook|some sausages|on a small grill|because everyone is hungry",
                    "two children|are playing|is play|with a red ball|near the trees|while their mother watches them",
                    "the mother|is reading|are read|a magazine|on a blue blanket|because she wants to relax",
                    "a dog|is running|are run|after the ball|across the grass|because it wants to join the game",
                ],
            ),
            (
                "1",
                "What do you usually do on weekends?",
                [
                    "I|usually visit|usually visits|my grandparents|in the countryside|because they live alone",
                    "I|often play|often plays|basketball|at the school gym|because it keeps me healthy",
                    "my family|goes|go|to the market|on Saturday morning|because the food there is fresh",
                ],
            ),
            (
                "2",
                "Do you prefer spending your free time indoors or outdoors? Why?",
                [
                    "I|prefer|prefers|the outdoors|in the mountains|because the air is clean",
                    "I|enjoy|enjoys|long walks|by the river|because walking helps me think",
                    "my friends|like|likes|video games|at home|but I find them boring after an hour",
                ],
            ),
            (
                "3",
                "Tell me about a park near your home.",
                [
                    "the park|has|have|a big lake|in the middle|where people feed the ducks",
                    "old people|practise|practises|tai chi|under the trees|early in the morning",
                    "I|sometimes jog|sometimes jogs|around the lake|after school|because it is quiet",
                ],
            ),
            (
                "4",
                "What food would you bring to a picnic, and why?",
                [
                    "I|would bring|would brings|some sandwiches|in a box|because they are easy to share",
                    "I|would also bring|would also brings|fresh fruit|in a basket|because it is healthy",
                    "my sister|always makes|always make|a chocolate cake|for our picnics|which everyone loves",
                ],
            ),
        ],
    },
    "B": {
        "picture": "a busy train station in the morning",
        "questions": [
            (
                "P",
                "Please describe the picture: what is happening at the station?",
                [
                    "many people|are waiting|is wait|for the train|on the platform|because it is late",
                    "a young man|is buying|are buy|a ticket|at the machine|while he talks on the phone",
                    "an old woman|is carrying|are carry|a heavy suitcase|up the stairs|because the lift is broken",
                    "a guard|is checking|are check|the tickets|at the gate|so nobody travels for free",
                ],
            ),
            (
                "1",
                "How do you usually travel to school or work?",
                [
                    "I|usually take|usually takes|the bus|from the corner of my street|because it is cheap",
                    "my father|drives|drive|me|to school|when it rains",
                    "the trip|takes|take|about thirty minutes|in the morning|because the roads are busy",
                ],
            ),
            (
                "2",
                "Describe a trip you remember well.",
                [
                    "my family|went|goed|to the seaside|last summer|because my brother finished school",
                    "we|stayed|stay|in a small hotel|near the beach|which had a beautiful garden",
                    "I|learned|learn|to swim|in the sea|although the water was cold",
                ],
            ),
            (
                "3",
                "What are the good and bad points of public transport?",
                [
                    "public transport|is|are|cheap|in most cities|because the government pays for it",
                    "the trains|are|is|often crowded|in the rush hour|which makes travelling tiring",
                    "buses|reduce|reduces|pollution|in the city centre|because fewer people drive cars",
                ],
            ),
            (
                "4",
                "If you could travel anywhere, where would you go?",
                [
                    "I|would go|would goes|to Japan|in the spring|because the cherry trees are beautiful",
                    "I|would like to visit|would likes to visit|the old temples|in Kyoto|which are very famous",
                    "I|would also try|would also tries|the local food|in small restaurants|because I love noodles",
                ],
            ),
        ],
    },
    "C": {
        "picture": "a family cooking dinner together in a kitchen",
        "questions": [
            (
                "P",
                "Please describe the picture: who is in the kitchen and what are they doing?",
                [
                    "the grandmother|is cutting|are cut|some vegetables|on the table|because dinner is almost ready",
                    "a boy|is washing|are wash|the dishes|in the sink|while he sings a song",
                    "the father|is stirring|are stir|a big pot of soup|on the stove|so it does not burn",
                    "a cat|is sleeping|are sleep|on a chair|near the window|because the kitchen is warm",
                ],
            ),
            (
                "1",
                "Who does the cooking in your family?",
                [
                    "my mother|cooks|cook|most of our meals|at home|because she is a good cook",
                    "my father|makes|make|breakfast|on Sundays|when my mother can sleep longer",
                    "I|help|helps|with the rice|before dinner|because I want to learn",
                ],
            ),
            (
                "2",
                "Describe your favourite dish.",
                [
                    "my favourite dish|is|are|beef noodle soup|from Taiwan|because it reminds me of home",
                    "the soup|has|have|a rich flavour|in every bowl|because it cooks for many hours",
                    "I|eat|eats|it|in winter|when the weather is cold",
                ],
            ),
            (
                "3",
                "Do you think children should learn to cook? Why or why not?",
                [
                    "children|should learn|should learns|to cook|at a young age|because it is a useful skill",
                    "cooking|teaches|teach|patience|in the kitchen|because good food takes time",
                    "children|can help|can helps|their parents|at home|which makes the family closer",
                ],
            ),
            (
                "4",
                "Do you prefer eating at home or in restaurants?",
                [
                    "I|prefer|prefers|eating at home|with my family|because the food is healthier",
                    "restaurants|are|is|expensive|in my city|so we only go on birthdays",
                    "we|can talk|can talks|freely|at the dinner table|which I enjoy",
                ],
            ),
        ],
    },
    "D": {
        "picture": "students studying in a school library",
        "questions": [
            (
                "P",
                "Please describe the picture: what are the students doing in the library?",
                [
                    "a girl|is looking|are look|for a book|on the top shelf|because she needs it for homework",
                    "two boys|are whispering|is whisper|to each other|at a long table|while the librarian watches them",
                    "a student|is typing|are type|an essay|on a laptop|because it is due tomorrow",
                    "the librarian|is putting|are put|books|back on the shelves|so the library stays tidy",
                ],
            ),
            (
                "1",
                "Where do you like to study, and why?",
                [
                    "I|like|likes|to study|in my bedroom|because it is quiet",
                    "I|sometimes study|sometimes studies|with friends|at a coffee shop|when we have a test",
                    "music|helps|help|me|to concentrate|which surprises my parents",
                ],
            ),
            (
                "2",
                "How do you prepare for an important exam?",
                [
                    "I|make|makes|a study plan|two weeks before the exam|so I do not forget anything",
                    "I|review|reviews|my notes|every evening|because repetition helps me remember",
                    "I|sleep|sleeps|early|the night before|because a tired brain makes mistakes",
                ],
            ),
            (
                "3",
                "Do you read books for fun? What kind?",
                [
                    "I|read|reads|detective stories|before bed|because I like solving the mystery",
                    "my brother|prefers|prefer|comic books|in his free time|which are easier to read",
                    "I|borrow|borrows|most of my books|from the city library|because books are expensive",
                ],
            ),
            (
                "4",
                "Should school libraries stay open at night? Why or why not?",
                [
                    "libraries|should stay|should stays|open|until ten at night|because many students work late",
                    "some students|have|has|no quiet place|at home|where they can study",
                    "the school|would need|would needs|more staff|in the evening|which costs money",
                ],
            ),
        ],
    },
}
_OFF_TOPIC = [
    "I|like|likes|music|in my room|because it makes me happy",
    "my name|is|are|Chen|in English class|because my teacher gave it to me",
    "I|have|has|a small dog|at home|which is very cute",
    "I|do not know|does not know|this question|in this test|because I am nervous",
]
_FILLERS = ("um", "uh", "er")
_VOICES = ("en-us", "en", "en-us", "en-029")
_VARIANTS_M = ("m1", "m2", "m3", "m4", "m6", "m7")
_VARIANTS_F = ("f1", "f2", "f3", "f4", "f5")
_ARTICLES = re.compile(r"\b(a|an|the|some)\s+", re.IGNORECASE)


def questions() -> list[dict[str, Any]]:
    """The test's 20 questions: ``question_id`` (``A_P``, ``A_1``, ...), ``set``, ``task``, ``text``, and what a good
    answer says (the corpus contract's optional fields): ``key_points`` (one plain clause per idea unit) and
    ``reference_answers`` (all of them in one answer)."""
    rows = []
    for set_id, spec in QUESTION_SETS.items():
        for suffix, text, units in spec["questions"]:
            task = "picture description" if suffix == "P" else "related question"
            points = [" ".join(p for i, p in enumerate(u.split("|")) if i != 2) + "." for u in units]
            rows.append({"question_id": f"{set_id}_{suffix}", "set": set_id, "task": task, "text": text,
                         "picture": spec["picture"], "key_points": points,
                         "reference_answers": [" ".join(p[0].upper() + p[1:] for p in points)]})  # fmt: skip
    return rows


def _idea_units(set_id: str, suffix: str) -> list[list[str]]:
    for s, _text, units in QUESTION_SETS[set_id]["questions"]:
        if s == suffix:
            return [unit.split("|") for unit in units]
    raise KeyError(f"{set_id}_{suffix}")


def _level_counts(n: int) -> list[int]:
    """Test takers per level for ``n`` takers (largest-remainder rounding of :data:`LEVEL_SHARES`)."""
    raw = [share * n for share in LEVEL_SHARES]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _clamp(x: float, lo: float = 1.0, hi: float = 5.0) -> float:
    return float(min(max(x, lo), hi))


def _clause(unit: list[str], language: float, rng: np.random.Generator) -> tuple[list[str], int]:
    """One idea unit as words, with the structure and errors of the language-use ability; (words, n_errors)."""
    subject, verb, wrong_verb, obj, place, reason = unit
    errors = 0
    p_error = (0.75, 0.5, 0.25, 0.08, 0.02)[round(language) - 1]
    if rng.random() < p_error:
        verb = wrong_verb
        errors += 1
    parts = [subject, verb, obj]
    if language >= 2.5 and rng.random() < 0.3 + 0.25 * (language - 2.5):
        parts.append(place)
    if language >= 3.5 and rng.random() < 0.4 + 0.3 * (language - 3.5):
        parts.append(reason)
    text = " ".join(parts)
    if rng.random() < p_error:
        dropped = _ARTICLES.sub("", text, count=1)
        errors += int(dropped != text)
        text = dropped
    return text.split(), errors


def _answer_plan(set_id: str, suffix: str, aspects: dict[str, float], rng: np.random.Generator) -> dict:
    """What the answer says: clauses (word lists), errors, coverage and topicality."""
    content, language = aspects["content"], aspects["language_use"]
    units = on_topic_units = _idea_units(set_id, suffix)
    p_off_topic = (0.35, 0.12, 0.03, 0.0, 0.0)[round(content) - 1]
    on_topic = rng.random() >= p_off_topic
    if not on_topic:
        units = [u.split("|") for u in _OFF_TOPIC]
    n_units = int(np.clip(round(0.3 + 0.85 * (content - 1) + rng.normal(0, 0.4)), 1, len(units)))
    if not on_topic:
        n_units = min(n_units, 2)
    order = rng.permutation(len(units))[:n_units]
    chosen = [units[i] for i in (sorted(order) if on_topic else order)]  # on-topic ideas in the natural order
    clauses, errors = [], 0
    for unit in chosen:
        words, e = _clause(unit, language, rng)
        clauses.append(words)
        errors += e
    # stronger language use joins ideas into longer sentences
    joined: list[list[str]] = []
    for words in clauses:
        if joined and language >= 4.0 and rng.random() < 0.5:
            joined[-1] = joined[-1] + [str(rng.choice(["and", "and then", "while"]))] + words
        else:
            joined.append(words)
    return {"clauses": joined, "grammar_errors": errors, "units_covered": n_units if on_topic else 0,
            "units_total": len(on_topic_units), "on_topic": on_topic}  # fmt: skip


def _deliver(
    clauses: list[list[str]], delivery: float, rng: np.random.Generator
) -> tuple[list[tuple[str, float]], dict]:
    """Chunks of speech and the silence after each, with fillers, repetitions and pauses of the delivery ability."""
    p_filler = (0.22, 0.12, 0.06, 0.025, 0.01)[round(delivery) - 1]
    p_repeat = (0.08, 0.05, 0.03, 0.01, 0.0)[round(delivery) - 1]
    p_pause = (0.14, 0.09, 0.05, 0.02, 0.01)[round(delivery) - 1]
    clause_pause = (0.9, 0.7, 0.5, 0.35, 0.25)[round(delivery) - 1]
    chunks: list[tuple[str, float]] = []
    n_fillers = n_repeats = n_pauses = 0
    current: list[str] = []
    for c, words in enumerate(clauses):
        for w, word in enumerate(words):
            if rng.random() < p_filler:
                current.append(str(rng.choice(_FILLERS)))
                n_fillers += 1
            current.append(word)
            if rng.random() < p_repeat:
                current.append(word)
                n_repeats += 1
            last = w == len(words) - 1
            if not last and rng.random() < p_pause:
                chunks.append((" ".join(current), float(rng.uniform(0.4, 1.1))))
                current, n_pauses = [], n_pauses + 1
        if c < len(clauses) - 1:
            chunks.append((" ".join(current) + ".", float(clause_pause * rng.uniform(0.7, 1.4))))
            current = []
    chunks.append((" ".join(current) + ".", 0.0))
    return chunks, {"n_fillers": n_fillers, "n_repetitions": n_repeats, "n_mid_clause_pauses": n_pauses}


def _trim(wave: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut eSpeak NG's leading and trailing silence."""
    loud = np.flatnonzero(np.abs(wave) > threshold)
    return wave if loud.size == 0 else wave[loud[0] : loud[-1] + 1]


def _existing_is_complete(root: Path, params: dict) -> bool:
    try:
        recorded = json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if recorded.get("params") != params or not (root / "metadata.csv").is_file():
        return False
    return all((root / name).is_file() and (root / name).stat().st_size > 0 for name in recorded.get("files", []))


_SPLIT_CYCLE = ("train", "dev", "train", "test_known", "train", "train", "train")


def _assign_splits(speakers: list[dict], rng: np.random.Generator) -> None:
    """Set D -> test_unknown; the other takers, ordered by level, are dealt to train/dev/test_known (5:1:1)."""
    known = [s for s in speakers if s["set"] != UNKNOWN_SET]
    order = sorted(rng.permutation(len(known)), key=lambda i: known[i]["level"])  # stratified by level
    for rank, i in enumerate(order):
        known[i]["split"] = _SPLIT_CYCLE[rank % len(_SPLIT_CYCLE)]
    for s in speakers:
        if s["set"] == UNKNOWN_SET:
            s["split"] = "test_unknown"


def make_gept_corpus(
    output_dir: str | os.PathLike,
    n_speakers: int = 48,
    seed: int = 0,
    overwrite: bool = False,
    show_progress: bool = True,
) -> Path:
    """Write the GEPT-style demo corpus (labels 1-5 from two raters) in the corpus layout.

    Args:
        output_dir: Output folder. When it already holds a corpus generated with the same arguments this is a
            no-op (logged), so a second run costs nothing.
        n_speakers: Number of test takers (at least 8); each answers the five questions of one set, sets assigned in
            turn, so about a quarter of the takers form the unknown-content test.
        seed: Random seed: levels, splits, words, voices and pauses.
        overwrite: Replace a different corpus in ``output_dir``.
        show_progress: A progress bar over the test takers.

    Returns:
        The corpus folder.

    Raises:
        ValueError: Fewer than 8 test takers.
        FileExistsError: ``output_dir`` holds other corpus files and ``overwrite`` is False.
        modeling_asa.tts.EspeakError: eSpeak NG is not available.
    """
    from modeling_asa.audio import to_mono_16k
    from modeling_asa.tts import Espeak

    if n_speakers < 8:
        raise ValueError(f"n_speakers must be >= 8 (every set and split needs takers); got {n_speakers}")
    root = Path(output_dir)
    params = {"n_speakers": int(n_speakers), "seed": int(seed), "version": _FORMAT_VERSION}
    if _existing_is_complete(root, params):
        logger.info("GEPT demo corpus %s already complete for %s; reusing it", root, params)
        return root
    clashing = [name for name in _GENERATED if (root / name).exists()]
    if clashing and not overwrite and not (root / _MANIFEST).exists():
        raise FileExistsError(f"{root}: already holds {', '.join(clashing)}; pass overwrite=True (--overwrite)")
    for name in clashing:
        path = root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    root.mkdir(parents=True, exist_ok=True)
    tts = Espeak()
    rng = np.random.default_rng(seed)
    counts = _level_counts(n_speakers)
    levels = np.repeat(LEVELS, counts)[rng.permutation(n_speakers)]
    set_ids = list(QUESTION_SETS)
    speakers = []
    for i in range(n_speakers):
        female = bool(rng.random() < 0.5)
        variant = str(rng.choice(_VARIANTS_F if female else _VARIANTS_M))
        speakers.append({
            "speaker_id": f"T{i + 1:03d}", "level": int(levels[i]), "set": set_ids[i % len(set_ids)],
            "voice": f"{rng.choice(_VOICES)}+{variant}", "pitch": int(rng.integers(55, 80) if female else
                                                                      rng.integers(25, 50)),
            "rate_offset": float(rng.normal(0, 8)), "delivery_offset": float(rng.normal(0, 0.3)),
        })  # fmt: skip
    _assign_splits(speakers, rng)
    rows, files = [], []
    from tqdm.auto import tqdm

    for spk in tqdm(speakers, desc="GEPT demo corpus", unit="taker", disable=not show_progress):
        (root / "audio" / spk["speaker_id"]).mkdir(parents=True, exist_ok=True)
        for suffix, _text, _units in QUESTION_SETS[spk["set"]]["questions"]:
            level = spk["level"]
            aspects = {
                "content": _clamp(level + rng.normal(0, ASPECT_SD)),
                "delivery": _clamp(level + spk["delivery_offset"] + rng.normal(0, ASPECT_SD - 0.1)),
                "language_use": _clamp(level + rng.normal(0, ASPECT_SD)),
            }
            plan = _answer_plan(spk["set"], suffix, aspects, rng)
            chunks, counts_ = _deliver(plan["clauses"], aspects["delivery"], rng)
            rate = round(92 + 17 * aspects["delivery"] + spk["rate_offset"])
            pitch_range = round(8 + 13 * aspects["delivery"])
            pieces = [np.zeros(int(rng.uniform(0.3, 0.6) * tts.sample_rate), np.float32)]
            for text, pause in chunks:
                pieces.append(_trim(tts.synthesize(text, spk["voice"], rate, spk["pitch"], pitch_range)))
                pieces.append(np.zeros(int(pause * tts.sample_rate), np.float32))
            pieces.append(np.zeros(int(rng.uniform(0.3, 0.6) * tts.sample_rate), np.float32))
            wave = to_mono_16k(np.concatenate(pieces), tts.sample_rate, target_sr=SAMPLE_RATE)
            # the noise floor has its own generator: eSpeak NG's lengths vary by a few samples between calls
            noise = np.random.default_rng([seed, len(rows)]).normal(0, 3e-4, wave.shape).astype(np.float32)
            wave = 0.8 * wave / max(1e-6, float(np.abs(wave).max())) + noise
            response_id = f"{spk['speaker_id']}_{spk['set']}_{suffix}"
            file_name = f"audio/{spk['speaker_id']}/{response_id}.flac"
            sf.write(root / file_name, np.clip(wave, -1, 1), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
            # raters: each rates the three aspects (the analytic rubric: own noise and leniency), and the level as a
            # weighted view of their aspect ratings; an off-task answer gets the lowest content rating and a low
            # level, whatever its delivery
            ratings = []
            for bias in (0.0, 0.15):
                rated = {a: _clamp(round(v + bias + rng.normal(0, 0.45))) for a, v in aspects.items()}
                if not plan["on_topic"]:
                    rated["content"] = 1.0
                view = 0.4 * rated["content"] + 0.3 * rated["delivery"] + 0.3 * rated["language_use"]
                level_rating = _clamp(round(view + rng.normal(0, 0.25)))
                ratings.append((int(level_rating if plan["on_topic"] else min(level_rating, 2.0)), rated))
            raters = [r for r, _ in ratings]
            aspect_ratings = {a: (ratings[0][1][a] + ratings[1][1][a]) / 2 for a in aspects}
            text = " ".join(" ".join(c) for c in plan["clauses"])
            spoken = [w for t, _ in chunks for w in t.replace(".", "").split()]
            duration = len(wave) / SAMPLE_RATE
            speech = sum(len(p) for p in pieces[1:-1:2]) / tts.sample_rate
            rows.append({
                "file_name": file_name, "response_id": response_id, "question_id": f"{spk['set']}_{suffix}",
                "speaker_id": spk["speaker_id"], "rater_1": raters[0], "rater_2": raters[1], "split": spk["split"],
                **{a: f"{v:g}" for a, v in aspect_ratings.items()},
                "hidden_level": level, **{f"{k}_ability": f"{v:.3f}" for k, v in aspects.items()},
                "reference_text": text, "spoken_text": " ".join(spoken), "n_words": len(text.split()),
                "n_spoken_tokens": len(spoken),
                "n_grammar_errors": plan["grammar_errors"], "units_covered": plan["units_covered"],
                "units_total": plan["units_total"], "on_topic": int(plan["on_topic"]), **counts_,
                "speaking_rate_wpm": rate, "pitch_range": pitch_range, "voice": spk["voice"],
                "speech_rate_wps": f"{len(text.split()) / duration:.3f}", "speech_s": f"{speech:.3f}",
                "duration_s": f"{duration:.3f}",
            })  # fmt: skip
            files.append(file_name)
    with open(root / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(root / "questions.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(q) + "\n" for q in questions())
    (root / "README.md").write_text(_readme(rows, params, tts.version), encoding="utf-8")
    manifest = {"params": params, "espeak": tts.version, "files": files}
    (root / _MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    hours = sum(float(r["duration_s"]) for r in rows) / 60
    logger.info("Wrote GEPT demo corpus %s: %d answers, %d test takers, %.1f min of speech", root, len(rows),
                n_speakers, hours)  # fmt: skip
    return root


def _readme(rows: list[dict], params: dict, espeak_version: str) -> str:
    labels = [math.floor((r["rater_1"] + r["rater_2"]) / 2) for r in rows]
    by_split = {s: sum(r["split"] == s for r in rows) for s in ("train", "dev", "test_known", "test_unknown")}
    dist = ", ".join(f"{c}: {labels.count(c)}" for c in LEVELS)
    return (
        "# GEPT-style demo corpus (synthetic)\n\n"
        "Generated by `dataset_scripts/make_gept_corpus.py` "
        f"(n_speakers={params['n_speakers']}, seed={params['seed']}) with eSpeak NG {espeak_version}.\n"
        "Synthetic test takers answer a picture-description test; this is **not** real learner speech, and a "
        "model trained on it says nothing about real test takers.\n\n"
        f"- {len(rows)} answers; splits: " + ", ".join(f"{k} {v}" for k, v in by_split.items()) + "\n"
        f"- label (floor of the two raters' mean): {dist}\n"
        "- question set D is the unknown-content test (split `test_unknown`).\n"
        "- aspect ratings (mean of the two raters): `content`, `delivery`, `language_use`; the hidden abilities "
        "behind them: `content_ability`, `delivery_ability`, `language_use_ability`.\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="corpus folder to write")
    parser.add_argument("--n-speakers", type=int, default=48, help="test takers, 5 answers each (default 48)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace another corpus in --output")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    from modeling_asa.tts import EspeakError

    try:
        make_gept_corpus(args.output, n_speakers=args.n_speakers, seed=args.seed, overwrite=args.overwrite)
    except (ValueError, FileExistsError, EspeakError) as err:
        print(f"make_gept_corpus: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

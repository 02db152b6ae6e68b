"""Five more attempts to game the main job's model, made for the 2026-12-06 review (not in probe_validity):
python results/validity/new_attempts.py  (after bash scripts/demo.sh; prints one line per attempt)."""

import json
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from modeling_asa.audio import to_mono_16k
from modeling_asa.scoring import AsaScorer
from modeling_asa.tools.probe_validity import _good_answers
from modeling_asa.tts import Espeak

corpus = Path("demo_data/gept")
questions = {
    q["question_id"]: q["text"]
    for q in map(json.loads, filter(None, (corpus / "questions.jsonl").read_text().splitlines()))
}
good = _good_answers(corpus)
qid = max(good, key=lambda q: good[q][1])
question, (good_text, _) = questions[qid], good[qid]
first = good_text.split(".")[0]
content_words = [w for w in good_text.replace(".", "").split() if len(w) > 4]
attempts = {
    "good answer": good_text,
    "keyword list (no sentences)": " ".join(content_words),
    "generic memorised answer": "I think this is a very interesting picture. There are many things happening and everybody looks busy. I like this picture very much because it shows daily life clearly.",
    "one sentence repeated 4 times": ". ".join([first] * 4),
    "numbers and dates": "Nineteen eighty four, two thousand and twelve, the third of March, seven, eleven, fifteen, twenty two.",
    "alphabet": "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z",
}
tts = Espeak()
scorer = AsaScorer.from_pretrained("outputs/gept-demo", device="cpu")
with tempfile.TemporaryDirectory() as tmp:
    for i, (name, text) in enumerate(attempts.items()):
        wave = to_mono_16k(tts.synthesize(text, "en-us", 150, 50, 50), tts.sample_rate, target_sr=16000)
        path = Path(tmp) / f"a{i}.wav"
        sf.write(path, np.concatenate([np.zeros(4000, np.float32), wave, np.zeros(4000, np.float32)]), 16000)
        s = scorer.score(str(path), question=question)
        print(
            f"{name:32s} expected {s.expected_score:.2f} level {s.predicted} flags {','.join(s.flags) or '-'} refsim {s.evidence.get('reference_similarity')}"
        )

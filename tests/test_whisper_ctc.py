"""Whisper CTC aligners (modeling_asa.ctc): config, model, processor, CtcModel integration, scripts, real aligner."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from paths import REAL_MODELS, REPO_ROOT
from remote_code import run_without_package
from transformers import AutoConfig, AutoModelForCTC, WhisperConfig, WhisperFeatureExtractor

from modeling_asa.ctc import (
    CTC_VOCABULARY,
    WhisperCtcConfig,
    WhisperEncoderForCTC,
    build_ctc_processor,
    build_ctc_tokenizer,
    ctc_loss,
    normalize_transcript,
    whisper_padding_value,
)
from modeling_asa.ctc.data import (
    SpeakerSplit,
    char_error_rate,
    edit_distance,
    load_read_speech_corpus,
    split_speakers,
    word_error_rate,
)
from modeling_asa.ctc.synthetic import espeak_available, synthesize_utterance, trim_silence

REAL_ALIGNERS = [REAL_MODELS / name for name in ("whisper-tiny.en-ctc", "whisper-base-ctc")]


def tiny_encoder_config(**kwargs) -> dict:
    """A 16-wide, 1-layer Whisper encoder config (30 s windows as in real Whisper)."""
    defaults = {"d_model": 16, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 32,
                "decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 32, "vocab_size": 64,
                "max_target_positions": 16, "max_source_positions": 1500, "num_mel_bins": 80, "init_std": 0.2}  # fmt: skip
    defaults.update(kwargs)
    return WhisperConfig(**defaults).to_dict()


def tiny_config(**kwargs) -> WhisperCtcConfig:
    defaults = {"encoder_config": tiny_encoder_config(), "head_type": "conv_bilstm", "head_hidden_size": 8,
                "head_kernel_size": 3, "head_lstm_size": 4, "head_dropout": 0.0}  # fmt: skip
    defaults.update(kwargs)
    return WhisperCtcConfig(**defaults)


def build_tiny_aligner(folder: Path, seed: int = 0, window_seconds: int = 30, **kwargs) -> Path:
    """Save a tiny random WhisperEncoderForCTC with its processor into ``folder`` (``window_seconds``: encoder window)."""
    torch.manual_seed(seed)
    if window_seconds != 30:
        kwargs["encoder_config"] = tiny_encoder_config(max_source_positions=50 * window_seconds)
    WhisperEncoderForCTC(tiny_config(**kwargs)).eval().save_pretrained(folder)
    processor = build_ctc_processor()
    if window_seconds != 30:
        processor.feature_extractor = WhisperFeatureExtractor(chunk_length=window_seconds, return_attention_mask=True)
    processor.save_pretrained(folder)
    processor.feature_extractor.save_pretrained(folder)
    return folder


def waves(*seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Noise bursts of the given durations (16 kHz)."""
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(round(s * 16000))).astype(np.float32) for s in seconds]


@pytest.fixture(scope="module")
def aligner_dir(tmp_path_factory) -> Path:
    return build_tiny_aligner(tmp_path_factory.mktemp("whisper_ctc"))


@pytest.fixture(scope="module")
def tiny_ctc(aligner_dir):
    from modeling_asa.features.alignment import CtcModel

    return CtcModel(aligner_dir, device="cpu", batch_size=4)


# ------------------------------------------------------------------------------------------
# Config
# ------------------------------------------------------------------------------------------


def test_config_defaults_and_nested_encoder_config():
    config = tiny_config()
    assert config.model_type == "whisper_ctc"
    assert isinstance(config.encoder_config, WhisperConfig)
    assert config.d_model == 16 and config.vocab_size == len(CTC_VOCABULARY) == 30
    assert config.pad_token_id == 0 and config.frame_duration == 0.02 and config.mel_frames_per_window == 3000
    restored = WhisperCtcConfig.from_dict(config.to_dict())
    assert isinstance(restored.encoder_config, WhisperConfig) and restored.encoder_config.d_model == 16
    assert restored.head_type == "conv_bilstm" and restored.head_lstm_size == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"head_type": "transformer"},
            r"head_type must be one of \['linear', 'conv', 'conv_bilstm'\], got 'transformer'",
        ),
        ({"head_kernel_size": 4}, r"head_kernel_size must be odd \(same padding\), got 4"),
        ({"head_hidden_size": 0}, r"head_hidden_size must be a positive integer, got 0"),
        ({"pad_token_id": 30}, r"pad_token_id \(the CTC blank\) must be in \[0, vocab_size\), got 30"),
        ({"head_dropout": 1.0}, r"head_dropout must be in \[0, 1\), got 1.0"),
        ({"ctc_loss_reduction": "none"}, r"ctc_loss_reduction must be one of \['mean', 'sum'\], got 'none'"),
    ],
)
def test_config_validation_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**kwargs)


def test_config_rejects_a_bad_encoder_config_type():
    with pytest.raises(TypeError, match="encoder_config must be a dict or a WhisperConfig, got int"):
        tiny_config(encoder_config=3)


# ------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("head_type", ["linear", "conv", "conv_bilstm"])
def test_forward_shapes_and_frozen_encoder(head_type):
    torch.manual_seed(0)
    model = WhisperEncoderForCTC(tiny_config(head_type=head_type)).eval()
    features = torch.randn(2, 80, 120)
    mask = torch.ones(2, 120, dtype=torch.long)
    mask[1, 70:] = 0
    out = model(features, attention_mask=mask)
    assert out.logits.shape == (2, 60, 30) and out.loss is None
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.head.parameters())


def test_masking_changes_the_padded_row_only():
    torch.manual_seed(0)
    model = WhisperEncoderForCTC(tiny_config()).eval()
    features = torch.randn(2, 80, 100)
    mask = torch.ones(2, 100, dtype=torch.long)
    mask[1, 60:] = 0
    with torch.no_grad():
        masked = model(features, attention_mask=mask).logits
        unmasked = model(features).logits
        alone = model(features[1:, :, :60]).logits
    assert torch.allclose(masked[0], unmasked[0], atol=1e-6)
    assert not torch.allclose(masked[1, :30], unmasked[1, :30], atol=1e-3)
    # The masked row equals the same frames given on their own (padding is invisible).
    assert torch.allclose(masked[1, :30], alone[0], atol=1e-5)


def test_padding_value_matches_the_feature_extractor():
    extractor = WhisperFeatureExtractor()
    for wave in (waves(0.7)[0], np.zeros(8000, dtype=np.float32)):
        full = torch.from_numpy(extractor(wave, sampling_rate=16000, return_tensors="np").input_features)
        value = whisper_padding_value(full[:, :, : len(wave) // 160])  # the audio's frames only
        rest = full[:, :, len(wave) // 160 + 2 :]  # frames of the zero padding (past the STFT window)
        assert torch.allclose(rest, value.expand_as(rest), atol=1e-6)


def test_long_input_is_split_into_windows():
    torch.manual_seed(0)
    model = WhisperEncoderForCTC(tiny_config()).eval()
    features = torch.randn(1, 80, 3400)
    with torch.no_grad():
        states, lengths = model.encode(features)
        first = model.encoder(features[:, :, :3000]).last_hidden_state
    assert states.shape == (1, 1700, 16) and lengths.tolist() == [1700]
    assert torch.allclose(states[0, :1500], first[0], atol=1e-6)


def test_output_lengths_in_samples():
    model = WhisperEncoderForCTC(tiny_config())
    samples = torch.tensor([160, 319, 320, 16000, 16159, 32000, 480000])
    assert model._get_feat_extract_output_lengths(samples).tolist() == [1, 1, 1, 50, 50, 100, 1500]
    assert model._get_feat_extract_output_lengths(16000) == 50


def test_ctc_loss_matches_a_per_row_reference():
    torch.manual_seed(0)
    logits = torch.randn(3, 12, 30)
    lengths = torch.tensor([12, 9, 5])
    labels = torch.tensor([[4, 5, 2, 6], [7, 7, -100, -100], [8, -100, -100, -100]])
    loss = ctc_loss(logits, lengths, labels, blank_id=0, reduction="mean")
    reference = []
    for b in range(3):
        target = labels[b][labels[b] >= 0]
        lp = torch.log_softmax(logits[b, : lengths[b]], -1)[:, None]
        row = torch.nn.functional.ctc_loss(lp, target[None], lengths[b : b + 1], torch.tensor([len(target)]),
                                           blank=0, reduction="sum")  # fmt: skip
        reference.append(row / len(target))
    assert torch.allclose(loss, torch.stack(reference).mean(), atol=1e-5)
    with pytest.raises(ValueError, match="ctc_loss: label id 30 >= vocab_size 30"):
        ctc_loss(logits, lengths, torch.tensor([[30], [1], [1]]), blank_id=0)


def test_training_step_updates_the_head_only():
    torch.manual_seed(0)
    model = WhisperEncoderForCTC(tiny_config(head_type="conv"))
    model.train()
    tokenizer = build_ctc_tokenizer()
    labels = torch.full((2, 6), -100)
    for row, text in enumerate(["HI", "OK GO"]):
        ids = tokenizer(text).input_ids
        labels[row, : len(ids)] = torch.tensor(ids)
    features = torch.randn(2, 80, 100)
    out = model(features, labels=labels)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.head.parameters())


# ------------------------------------------------------------------------------------------
# Save / load, Auto classes, remote code
# ------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(aligner_dir):
    model = WhisperEncoderForCTC.from_pretrained(aligner_dir).eval()
    auto = AutoModelForCTC.from_pretrained(aligner_dir).eval()
    assert type(auto) is WhisperEncoderForCTC
    assert AutoConfig.from_pretrained(aligner_dir).model_type == "whisper_ctc"
    torch.manual_seed(0)
    fresh = WhisperEncoderForCTC(tiny_config()).eval()
    for name, value in fresh.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
        assert torch.equal(auto.state_dict()[name], value), name
    from transformers import AutoFeatureExtractor, AutoProcessor, AutoTokenizer

    processor = AutoProcessor.from_pretrained(aligner_dir)
    assert type(processor).__name__ == "Wav2Vec2Processor"
    extractor = AutoFeatureExtractor.from_pretrained(aligner_dir)
    assert type(extractor).__name__ == "WhisperFeatureExtractor" and extractor.return_attention_mask
    tokenizer = AutoTokenizer.from_pretrained(aligner_dir)
    assert (
        type(tokenizer).__name__ == "Wav2Vec2CTCTokenizer"
        and tokenizer.convert_ids_to_tokens(list(range(30))) == CTC_VOCABULARY
    )
    config = json.loads((aligner_dir / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "configuration_whisper_ctc.WhisperCtcConfig",
                                  "AutoModelForCTC": "modeling_whisper_ctc.WhisperEncoderForCTC"}  # fmt: skip
    assert (aligner_dir / "modeling_whisper_ctc.py").is_file() and (
        aligner_dir / "configuration_whisper_ctc.py"
    ).is_file()


REMOTE_BODY = """
from transformers import AutoModelForCTC, AutoProcessor

folder, inputs_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
model = AutoModelForCTC.from_pretrained(folder, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
assert "modeling_asa" not in sys.modules
wave = torch.load(inputs_path).numpy()
inputs = processor(wave, sampling_rate=16000, padding=True, return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits
torch.save({"logits": logits}, out_path)
print(json.dumps({"class": type(model).__name__, "processor": type(processor).__name__}))
"""


def test_remote_code_loads_without_the_package(aligner_dir, tmp_path):
    wave = waves(1.3)[0]
    torch.save(torch.from_numpy(wave), tmp_path / "wave.pt")
    out = run_without_package(
        REMOTE_BODY, [str(aligner_dir), str(tmp_path / "wave.pt"), str(tmp_path / "out.pt")], tmp_path
    )
    assert out == {
        "class": "WhisperEncoderForCTC",
        "processor": "Wav2Vec2Processor",
    }
    model = WhisperEncoderForCTC.from_pretrained(aligner_dir).eval()
    inputs = build_ctc_processor()(wave, sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**inputs).logits
    assert torch.equal(torch.load(tmp_path / "out.pt")["logits"], expected)


# ------------------------------------------------------------------------------------------
# Through CtcModel (the delivery stage's loader)
# ------------------------------------------------------------------------------------------


def test_ctc_model_loads_the_folder(tiny_ctc):
    assert tiny_ctc.vocabulary == CTC_VOCABULARY
    assert tiny_ctc.blank_id == 0 and tiny_ctc.word_delimiter == "|"
    assert tiny_ctc.frame_duration == pytest.approx(0.02)
    assert tiny_ctc.sampling_rate == 16000


def test_ctc_model_log_posteriors_shape_and_normalisation(tiny_ctc):
    lps = tiny_ctc.log_probs(waves(1.0, 0.37, 2.5), sampling_rate=16000)
    assert [lp.shape for lp in lps] == [(50, 30), (19, 30), (125, 30)]
    for lp in lps:
        assert lp.dtype == np.float32
        np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-5)


def test_ctc_model_batch_equals_single(aligner_dir, tiny_ctc):
    from modeling_asa.features.alignment import CtcModel

    single = CtcModel(aligner_dir, device="cpu", batch_size=1)
    inputs = waves(1.03, 0.41, 2.2177, 0.8, seed=1)
    batched = tiny_ctc.log_probs(inputs)
    for a, b in zip(batched, single.log_probs(inputs)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_ctc_model_chunks_waves_longer_than_the_window(tmp_path):
    """Waves longer than the encoder window (30 s for real Whisper; 1 s here, to stay fast) are cut into windows."""
    from modeling_asa.features.alignment import CtcModel

    ctc = CtcModel(build_tiny_aligner(tmp_path / "one_second", window_seconds=1), device="cpu", batch_size=4)
    assert ctc.feature_extractor.n_samples == 16000 and ctc.frame_duration == pytest.approx(0.02)
    long_wave, short_wave = waves(2.5, 0.6, seed=2)
    lp, short = ctc.log_probs([long_wave, short_wave])
    parts = ctc.log_probs([long_wave[:16000], long_wave[16000:32000], long_wave[32000:]])
    assert lp.shape == (125, 30) and short.shape == (30, 30)
    np.testing.assert_allclose(lp, np.concatenate(parts), atol=1e-5)


# ------------------------------------------------------------------------------------------
# Processor, data helpers, synthesis
# ------------------------------------------------------------------------------------------


def test_normalize_transcript_and_tokenizer():
    assert normalize_transcript("Don't stop - it's 5 o'clock!") == "DON'T STOP IT'S O'CLOCK"
    assert normalize_transcript("'quoted' words") == "QUOTED WORDS"
    assert normalize_transcript("123 ...") == ""
    tokenizer = build_ctc_tokenizer()
    ids = tokenizer("IT'S OK").input_ids
    assert [CTC_VOCABULARY[i] for i in ids] == ["I", "T", "'", "S", "|", "O", "K"]
    assert tokenizer.pad_token_id == 0 and tokenizer.decode(ids) == "IT'S OK"


def test_error_rates():
    assert edit_distance("KITTEN", "SITTING") == 3
    assert char_error_rate(["AB CD"], ["AB CD"]) == 0.0
    assert char_error_rate(["HELLO WORLD"], ["HELO WORLD"]) == pytest.approx(1 / 11)
    assert word_error_rate(["A B C D"], ["A X C"]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="2 references for 1 hypotheses"):
        word_error_rate(["A", "B"], ["A"])


def test_split_speakers_is_seeded_and_disjoint(tmp_path):
    speakers = [f"{i:04d}" for i in range(125)]
    split = split_speakers(speakers, 0.2, 0.1, seed=0)
    assert (len(split.heldout_speakers), len(split.dev_speakers), len(split.train_speakers)) == (25, 10, 90)
    groups = [set(split.heldout_speakers), set(split.dev_speakers), set(split.train_speakers)]
    assert set().union(*groups) == set(speakers) and sum(map(len, groups)) == 125
    assert split == split_speakers(list(reversed(speakers)), 0.2, 0.1, seed=0)
    assert split.heldout_speakers != split_speakers(speakers, 0.2, 0.1, seed=1).heldout_speakers
    split.to_json(tmp_path / "split.json", corpus="x")
    assert SpeakerSplit.from_json(tmp_path / "split.json") == split
    with pytest.raises(ValueError, match=r"fractions must be in \(0, 1\), got heldout=0.0, dev=0.1"):
        split_speakers(speakers, 0.0, 0.1)
    with pytest.raises(ValueError, match="need at least 3 speakers to split, got 2"):
        split_speakers(["a", "b"])


def test_load_read_speech_corpus(make_corpus):
    questions = [{"question_id": "q1", "text": "Describe your home-town."}, {"question_id": "q2", "text": "Why?"}]
    corpus = make_corpus(questions=questions)
    examples = load_read_speech_corpus(corpus)
    assert len(examples) == 8
    assert examples[0].transcript == "DESCRIBE YOUR HOME TOWN" and examples[1].transcript == "WHY"
    assert examples[0].speaker_id == "00" and Path(examples[0].path).is_file()


def test_load_read_speech_corpus_errors(make_corpus, tmp_path):
    from conftest import default_rows

    from modeling_asa.ctc.data import CorpusFormatError

    with pytest.raises(CorpusFormatError, match="metadata.csv: metadata file not found"):
        load_read_speech_corpus(make_corpus(rows=False, name="none"))
    bad = make_corpus(questions=[{"question_id": "q1", "text": "x"}], name="unknown")
    with pytest.raises(CorpusFormatError, match=r"unknown question_id 'q2' .*\(response_id='001'\)"):
        load_read_speech_corpus(bad)
    no_speakers = [{k: v for k, v in row.items() if k != "speaker_id"} for row in default_rows()]
    with pytest.raises(CorpusFormatError, match=r"missing column\(s\) \['speaker_id'\]"):
        load_read_speech_corpus(make_corpus(rows=no_speakers, name="cols"))


def test_trim_silence():
    assert trim_silence(np.array([0.0, 0.001, 0.5, -1.0, 0.2, 0.0])).tolist() == [0.5, -1.0, 0.2]
    assert trim_silence(np.zeros(5)).size == 0


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_synthesized_utterance_has_exact_timings():
    utt = synthesize_utterance(["good", "morning"], np.random.default_rng(0), noise_std=0.0)
    assert utt.words == ["good", "morning"]
    assert utt.starts[0] == pytest.approx(0.3) and utt.starts[0] < utt.ends[0] < utt.starts[1] < utt.ends[1]
    for start, end in zip(utt.starts, utt.ends):
        segment = utt.wave[round(start * 16000) : round(end * 16000)]
        assert np.abs(segment[:5]).max() > 0 and np.abs(segment[-5:]).max() > 0
    gap = utt.wave[round(utt.ends[0] * 16000) + 1 : round(utt.starts[1] * 16000) - 1]
    assert np.abs(gap).max() == 0.0


# ------------------------------------------------------------------------------------------
# Scripts: train (cache + head) -> build -> evaluate, on a tiny corpus and a tiny Whisper
# ------------------------------------------------------------------------------------------


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)  # fmt: skip


@pytest.mark.parametrize("script", ["train_ctc_head.py", "build_ctc_aligners.py", "evaluate_ctc_aligner.py"])
def test_script_help_runs(script):
    """The thin scripts over modeling_asa.tools keep their command lines."""
    result = run_script(script, "--help")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("usage:") and "--help" in result.stdout


def test_tools_are_not_imported_with_the_package():
    code = "import sys, modeling_asa; print(sorted(m for m in sys.modules if m.startswith('modeling_asa.tools')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_train_ctc_head_helpers():
    from modeling_asa.tools import train_ctc_head as tool

    batches = tool.make_batches([5, 1, 3, 2, 4], 2, random.Random(0))
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3, 4] and max(len(b) for b in batches) == 2
    items = [("a", torch.ones(3, 2, dtype=torch.float16), [4, 5], "AB"), ("b", torch.ones(1, 2), [6], "C")]
    states, lengths, labels = tool.collate(items, [0, 1])
    assert states.shape == (2, 3, 2) and lengths.tolist() == [3, 1] and labels.tolist() == [[4, 5], [6, -100]]
    masked = tool.time_mask(states, lengths, 1.0, 2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(masked[0], torch.ones(3, 2))  # masked frames get the row mean (1 here)
    assert tool.time_mask(states, lengths, 0.0, 2, torch.Generator()) is states
    logits = torch.randn(2, 3, 4)
    teacher = torch.log_softmax(logits, -1)
    assert float(tool.distillation_loss(logits, teacher, lengths)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(SystemExit):
        tool.parse_args(["--whisper", "w", "--name", "n"])  # no --corpus and no default corpus
    args = tool.parse_args(["--whisper", "w", "--name", "n"], default_corpus="corpus_dir")
    assert args.corpus == "corpus_dir" and args.stage == "all"


@pytest.mark.slow
def test_train_build_evaluate_scripts(make_corpus, tmp_path, caplog):
    from tiny_models import build_tiny_whisper

    questions = [{"question_id": "q1", "text": "Good morning."}, {"question_id": "q2", "text": "It's fine"}]
    corpus = make_corpus(questions=questions)
    models = tmp_path / "models"
    whisper = build_tiny_whisper(models / "whisper-tiny.en")
    heads = tmp_path / "heads"
    states = tmp_path / "states"
    train_args = ["--whisper", str(whisper), "--name", "whisper-tiny.en-ctc", "--corpus", str(corpus),
                  "--states_dir", str(states), "--output_dir", str(heads / "whisper-tiny.en-ctc"), "--epochs", "2",
                  "--head_hidden_size", "8", "--head_lstm_size", "4", "--encoder_dtype", "float32"]  # fmt: skip
    result = run_script("train_ctc_head.py", *train_args, "--stage", "cache")
    assert result.returncode == 0, result.stderr[-3000:]
    cached = sorted(p.name for p in states.glob("*.npy"))
    assert len(cached) == 6  # 4 speakers: 1 held out (never cached), 1 dev, 2 train; 2 responses each
    assert np.load(states / cached[0]).dtype == np.float16
    result = run_script("train_ctc_head.py", *train_args)  # resumes: nothing left to encode, then trains
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 to encode" in result.stderr
    head_dir = heads / "whisper-tiny.en-ctc"
    for name in ("head.safetensors", "head_config.json", "split.json", "training_record.json"):
        assert (head_dir / name).is_file(), name
    record = json.loads((head_dir / "training_record.json").read_text())
    assert len(record["history"]) == 2 and record["data"]["clips"] == {"train": 4, "dev": 2}
    split = json.loads((head_dir / "split.json").read_text())
    heldout = set(split["heldout_speakers"])
    assert heldout and not heldout & set(split["train_speakers"]) | heldout & set(split["dev_speakers"])

    # A second head distilled from the first one's frame posteriors (same tiny encoder as teacher).
    student_dir = tmp_path / "student"
    result = run_script("train_ctc_head.py", "--whisper", str(whisper), "--name", "student", "--corpus", str(corpus),
                        "--states_dir", str(states), "--output_dir", str(student_dir), "--stage", "train",
                        "--epochs", "1", "--head_type", "conv", "--head_hidden_size", "8", "--teacher_head",
                        str(head_dir), "--teacher_whisper", str(whisper), "--teacher_states_dir", str(states))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    student = json.loads((student_dir / "training_record.json").read_text())
    assert student["distillation"]["weight"] == 1.0 and len(student["history"]) == 1

    result = run_script("build_ctc_aligners.py", "--names", "whisper-tiny.en-ctc", "--models-dir", str(models),
                        "--heads-dir", str(heads))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    built = models / "whisper-tiny.en-ctc"
    assert (built / "aligner_info.json").is_file() and (built / "preprocessor_config.json").is_file()
    result = run_script("build_ctc_aligners.py", "--names", "whisper-tiny.en-ctc", "--models-dir", str(models),
                        "--heads-dir", str(heads))  # fmt: skip
    assert "up to date" in result.stderr

    output = tmp_path / "eval.json"
    result = run_script("evaluate_ctc_aligner.py", "--model", str(built), "--corpus", str(corpus), "--split",
                        str(head_dir / "split.json"), "--output", str(output), "--skip-boundaries")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(output.read_text())["recognition"]
    assert figures["responses"] == 2 and 0.0 <= figures["cer"] and math.isfinite(figures["wer"])

    # The encoder check reads the conversion record where the head recorded one: a config.json written by another
    # transformers version is the same encoder (no warning); weights converted from another source are not.
    from modeling_asa.tools.build_ctc_aligners import build_one

    record["encoder"]["conversion"] = {"source": "a", "source_files": ["/site-packages/a/model.bin"]}
    (head_dir / "training_record.json").write_text(json.dumps(record))
    # another install location of the same source package, and a config.json from another transformers version
    (whisper / "ct2_conversion.json").write_text(json.dumps({"source": "a", "source_files": ["/venv/a/model.bin"]}))
    config = json.loads((whisper / "config.json").read_text())
    (whisper / "config.json").write_text(json.dumps({**config, "transformers_version": "0.0.1"}))
    with caplog.at_level("WARNING", logger="modeling_asa"):
        build_one("whisper-tiny.en-ctc", models, heads, force=True, verify=False)
        assert "differ" not in caplog.text
        (whisper / "ct2_conversion.json").write_text(json.dumps({"source": "b", "source_files": []}))
        build_one("whisper-tiny.en-ctc", models, heads, force=True, verify=False)
    assert "converted differently" in caplog.text and "(source)" in caplog.text


@pytest.mark.slow
def test_train_ctc_head_on_trimmed_windows(make_corpus, tmp_path):
    """A head trained on trimmed-window states records the window, and the built aligner reads that window."""
    from tiny_models import build_tiny_whisper

    corpus = make_corpus(
        questions=[{"question_id": "q1", "text": "Good morning."}, {"question_id": "q2", "text": "Fine"}]
    )
    models = tmp_path / "models"
    whisper = build_tiny_whisper(models / "whisper-tiny.en")
    heads, full_states, trimmed_states = tmp_path / "heads", tmp_path / "full", tmp_path / "trimmed"
    common = ["--whisper", str(whisper), "--corpus", str(corpus), "--epochs", "1", "--head_hidden_size", "8",
              "--head_lstm_size", "4", "--encoder_dtype", "float32"]  # fmt: skip
    result = run_script("train_ctc_head.py", *common, "--name", "full", "--states_dir", str(full_states), "--stage",
                        "cache")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_script("train_ctc_head.py", *common, "--name", "whisper-tiny.en-ctc-trimmed", "--acoustic_window",
                        "trimmed", "--states_dir", str(trimmed_states), "--output_dir",
                        str(heads / "whisper-tiny.en-ctc-trimmed"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((trimmed_states / "cache_info.json").read_text())["acoustic_window"] == "trimmed"
    names = sorted(p.name for p in trimmed_states.glob("*.npy"))
    assert names and names == sorted(p.name for p in full_states.glob("*.npy"))
    full, trimmed = np.load(full_states / names[0]), np.load(trimmed_states / names[0])
    assert full.shape == trimmed.shape and not np.allclose(full, trimmed)  # same frames, other states
    head_config = json.loads((heads / "whisper-tiny.en-ctc-trimmed" / "head_config.json").read_text())
    assert head_config["acoustic_window"] == "trimmed"

    # Training on states cached with the other window is refused, naming the cache.
    result = run_script("train_ctc_head.py", *common, "--name", "x", "--states_dir", str(trimmed_states), "--stage",
                        "train", "--output_dir", str(tmp_path / "x"))  # fmt: skip
    assert (
        result.returncode != 0 and "cache_info.json" in result.stderr and "--acoustic-window trimmed" in result.stderr
    )
    result = run_script("train_ctc_head.py", *common, "--name", "x", "--acoustic_window", "half")
    assert result.returncode != 0 and "--acoustic-window must be one of" in result.stderr

    result = run_script("build_ctc_aligners.py", "--names", "whisper-tiny.en-ctc-trimmed", "--models-dir",
                        str(models), "--heads-dir", str(heads))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    from modeling_asa.ctc import WhisperEncoderForCTC

    built = WhisperEncoderForCTC.from_pretrained(models / "whisper-tiny.en-ctc-trimmed")
    assert built.config.acoustic_window == "trimmed"


# ------------------------------------------------------------------------------------------
# The real aligner (built by scripts/build_ctc_aligners.py)
# ------------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)")
@pytest.mark.parametrize("folder", REAL_ALIGNERS, ids=lambda p: p.name)
def test_real_aligner_recovers_word_order_and_timings(folder):
    if not folder.is_dir():
        pytest.skip(f"{folder} absent (python scripts/build_ctc_aligners.py)")
    from modeling_asa.features.alignment import CtcModel, align_words, greedy_transcribe

    words = ["my", "brother", "painted", "the", "garden", "fence", "on", "saturday"]
    utt = synthesize_utterance(words, np.random.default_rng(3))
    ctc = CtcModel(folder, device="cpu")
    lp = ctc.log_probs([utt.wave])[0]
    assert lp.shape == (math.ceil((len(utt.wave) // 160) / 2), len(CTC_VOCABULARY))
    segments = align_words(lp, words, ctc)
    assert [s.word for s in segments] == words and all(s.aligned for s in segments)
    starts = [s.start for s in segments]
    assert starts == sorted(starts)
    start_error = np.mean([abs(s.start - t) for s, t in zip(segments, utt.starts)])
    end_error = np.mean([abs(s.end - t) for s, t in zip(segments, utt.ends)])
    assert start_error < 0.1 and end_error < 0.1, (start_error, end_error)
    hypothesis = greedy_transcribe(lp, ctc).text
    assert char_error_rate([" ".join(words).upper()], [hypothesis]) < 0.5, hypothesis

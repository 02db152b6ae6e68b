"""Every Whisper layer kept (``--acoustic-layers all``) and the model's learned weighted sum of them (SUPERB)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY, feature_threads
from test_whisper_ctc import waves
from tiny_models import build_tiny_bert, build_tiny_whisper

from modeling_asa import AsaHybridConfig, AsaHybridForOrdinalClassification
from modeling_asa.features.content import AcousticEncoder
from modeling_asa.modeling_asa import AsaLayerWeightedSum

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    return str(build_tiny_whisper(tmp_path_factory.mktemp("whisper")))


@pytest.mark.parametrize("window", ["full", "trimmed"])
def test_all_layers_end_with_the_last_layer_states(whisper, window):
    last = AcousticEncoder(whisper, device="cpu", acoustic_window=window)
    every = AcousticEncoder(whisper, device="cpu", acoustic_window=window, acoustic_layers="all")
    layers, size = every.encoder.config.encoder_layers + 1, every.hidden_size
    assert (last.num_layers, every.num_layers) == (1, layers)
    inputs = waves(1.3, 0.45, 31.0, seed=2)
    a, b = last.encode(inputs, show_progress=False), every.encode(inputs, show_progress=False)
    for x, y in zip(a, b):
        assert y.dtype == np.float16 and y.shape == (x.shape[0], layers * size)
        np.testing.assert_allclose(y[:, -size:].astype(np.float32), x.astype(np.float32), atol=2e-2)
        # the embedding output is not the last layer
        assert not np.allclose(y[:, :size].astype(np.float32), x.astype(np.float32), atol=1e-2)
    with pytest.raises(ValueError, match=r"acoustic_layers must be one of \['last', 'all'\]"):
        AcousticEncoder(whisper, device="cpu", acoustic_layers="middle")


def test_layer_weighted_sum_starts_equal_and_learns():
    torch.manual_seed(0)
    mix = AsaLayerWeightedSum(3, 4)
    layers = torch.randn(2, 5, 3, 4)
    out = mix(layers.reshape(2, 5, 12))
    normed = torch.nn.functional.layer_norm(layers, (4,))
    torch.testing.assert_close(out, normed.mean(dim=2))
    out.pow(2).sum().backward()
    assert mix.layer_weights.grad is not None and mix.layer_weights.grad.abs().sum() > 0


def test_model_with_stacked_layers_trains_saves_and_names_the_width(tmp_path):
    config = AsaHybridConfig(
        hidden_size=16, intermediate_size=32, num_attention_heads=2, head_hidden_size=8, acoustic_feature_size=8,
        acoustic_num_layers=3, question_feature_size=6, branches=["content"], num_labels=3,
    )  # fmt: skip
    torch.manual_seed(0)
    model = AsaHybridForOrdinalClassification(config)
    inputs = {"acoustic_features": torch.randn(4, 10, 24), "question_features": torch.randn(4, 3, 6)}
    out = model(**inputs, labels=torch.tensor([0, 1, 2, 1]))
    out.loss.backward()
    weights = model.asa.acoustic_layers.layer_weights
    assert weights.grad is not None and weights.grad.abs().sum() > 0
    model.save_pretrained(tmp_path / "m")
    again = AsaHybridForOrdinalClassification.from_pretrained(tmp_path / "m").eval()
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**inputs).logits, model(**inputs).logits)
    with pytest.raises(ValueError, match=r"acoustic_features must have shape \(batch, length, 24\), got \(4, 10, 8\)"):
        model(acoustic_features=torch.randn(4, 10, 8), question_features=torch.randn(4, 3, 6))
    with pytest.raises(ValueError, match="acoustic_num_layers must be a positive integer"):
        AsaHybridConfig(acoustic_num_layers=0)


def test_prepare_train_and_score_with_every_layer(tmp_path, whisper):
    """asa-prepare --acoustic-layers all records the layers; train_asa.py learns their weights; the scorer
    rebuilds exactly the stored stack from the recipe."""
    from dataset_scripts.make_demo_corpus import make_demo_corpus
    from modeling_asa import training as train_asa
    from modeling_asa.audio import load_audio
    from modeling_asa.cli import build_prepare_parser
    from modeling_asa.data import read_questions
    from modeling_asa.features.runner import FeaturePipeline, PrepareSettings
    from modeling_asa.features.stage import Answer
    from modeling_asa.features.store import load_features
    from modeling_asa.scoring import AsaScorer

    assert build_prepare_parser().parse_args(["corpus", "--output", "x"]).acoustic_layers == "last"
    corpus = make_demo_corpus(tmp_path / "corpus", n_speakers=4, responses_per_speaker=3, n_questions=2, seed=0)
    settings = {
        "acoustic_encoder": whisper, "context_encoder": str(build_tiny_bert(tmp_path / "bert")),
        "stages": ("content",), "device": "cpu", "group_by": "speaker_id", "unknown_fraction": 0.5,
    }  # fmt: skip
    with feature_threads():
        FeaturePipeline(corpus, tmp_path / "last", PrepareSettings(**settings)).run()
        FeaturePipeline(corpus, tmp_path / "all", PrepareSettings(**settings, acoustic_layers="all")).run()
    last, every = load_features(tmp_path / "last"), load_features(tmp_path / "all")
    layers = json.loads((Path(whisper) / "config.json").read_text())["encoder_layers"] + 1
    size = last.metadata["dims"]["acoustic_feature_size"]
    assert every.metadata["dims"]["acoustic_feature_size"] == size
    assert (last.metadata["dims"]["acoustic_num_layers"], every.metadata["dims"]["acoustic_num_layers"]) == (1, layers)
    assert "acoustic_layers" not in last.metadata["recipe"]["stages"]["content"]  # the last-layer cache key is kept
    assert every.metadata["recipe"]["stages"]["content"]["acoustic_layers"] == "all"
    row_last, row_all = last.dataset["train"][0], every.dataset["train"][0]
    assert np.asarray(row_all["acoustic_features"]).shape[1] == layers * size
    np.testing.assert_array_equal(np.asarray(row_all["acoustic_features"])[:, -size:], row_last["acoustic_features"])

    output = tmp_path / "model"
    train_asa.main(
        [*TINY, "--features_dir", str(tmp_path / "all"), "--output_dir", str(output), "--branches", "content"]
    )
    model = AsaHybridForOrdinalClassification.from_pretrained(output)
    assert model.config.acoustic_num_layers == layers
    # the optimiser moved them (RAdam's first steps are small: only that they moved is checked)
    assert torch.count_nonzero(model.asa.acoustic_layers.layer_weights) == layers
    # and the run records their softmax, which a results folder keeps when the weights are pruned
    recorded = json.loads((output / "acoustic_layer_weights.json").read_text())
    torch.testing.assert_close(torch.tensor(recorded), torch.softmax(model.asa.acoustic_layers.layer_weights, 0))

    scorer = AsaScorer.from_pretrained(output, device="cpu")
    assert scorer.stages["content"].acoustic_layers == "all"
    questions = read_questions(corpus)
    import csv

    meta = {r["response_id"]: r for r in csv.DictReader((corpus / "metadata.csv").open())}
    stored = every.dataset["train"][0]
    rid = stored["response_id"]
    answer = Answer(rid, load_audio(corpus / meta[rid]["file_name"]), stored["question_id"],
                    questions[stored["question_id"]], None, meta[rid]["file_name"])  # fmt: skip
    with feature_threads():
        computed = scorer.compute_features([answer])[0]
    np.testing.assert_array_equal(np.asarray(computed["acoustic_features"]), np.asarray(stored["acoustic_features"]))

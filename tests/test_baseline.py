"""The pooled baseline (branch_encoder="pooled"): masked mean pooling, standardisation, heads, save/load, training."""

import json
import sys
from pathlib import Path

import pytest
import torch
from remote_code import run_without_package
from test_modeling import AsaModelTester

from modeling_asa import AsaHybridForOrdinalClassification
from modeling_asa.modeling_asa import AsaPooledBranch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from modeling_asa import training as train_asa

TINY = [
    "--num_train_epochs", "1", "--per_device_train_batch_size", "8", "--disable_tqdm", "true", "--use_cpu", "true",
]  # fmt: skip


@pytest.fixture
def tester():
    return AsaModelTester()


def test_pooled_branch_is_the_masked_mean_of_each_segment():
    branch = AsaPooledBranch([3, 2])
    a = torch.tensor([[[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [100.0, 100.0, 100.0]]])
    b = torch.tensor([[[1.0, 1.0], [7.0, 7.0]]])
    out = branch([(a, torch.tensor([[1, 1, 0]])), (b, torch.tensor([[0, 1]]))])
    assert out.tolist() == [[2.0, 3.0, 4.0, 7.0, 7.0]]
    empty = branch([(a, torch.zeros(1, 3, dtype=torch.long)), (b, torch.ones(1, 2, dtype=torch.long))])
    assert empty[0, :3].tolist() == [0.0, 0.0, 0.0]  # an answer with no positions pools to zeros


@pytest.mark.parametrize("head", [0, 8])
@pytest.mark.parametrize("branches", [["content"], ["content", "delivery", "language_use"]])
def test_pooled_model_shapes_masking_and_loss(tester, head, branches):
    config = tester.get_config(branch_encoder="pooled", head_hidden_size=head, branches=branches)
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs = tester.get_inputs(config)
    expected = {"content": 12 + 10, "delivery": 6, "language_use": 9}
    assert model.asa.output_size == sum(expected[b] for b in branches)
    out = model(**inputs, labels=torch.tensor([0, 2, 4]))
    assert out.logits.shape == (3, 5) and out.loss.ndim == 0 and out.regularizer_loss is not None
    assert out.z.shape == (3, head or model.asa.output_size)
    assert model.classifier.weight.shape == (5, head or model.asa.output_size)
    # padded positions carry garbage in the inputs: changing them must not change the output
    changed = {k: v.clone() for k, v in inputs.items()}
    changed["acoustic_features"][2, 7:] = 1e4
    assert torch.allclose(model(**changed).logits, out.logits)
    changed["acoustic_features"][2, 0] = 1e4  # a real frame does change it
    assert not torch.allclose(model(**changed).logits, out.logits)


def test_fit_standardizer_standardises_the_pooled_inputs(tester):
    config = tester.get_config(branch_encoder="pooled", head_hidden_size=0)
    model = AsaHybridForOrdinalClassification(config)
    batches = [tester.get_inputs(config, seed=s) for s in range(4)]
    for batch in batches:
        batch["acoustic_features"] = batch["acoustic_features"] * 50 + 7
    model.fit_standardizer(batches)
    fused = torch.cat([model.asa(**b).pooler_output for b in batches])
    standardised = model.standardize(fused)
    assert torch.allclose(standardised.mean(0), torch.zeros(fused.shape[1]), atol=1e-4)
    assert torch.allclose(standardised.std(0, unbiased=False), torch.ones(fused.shape[1]), atol=1e-3)
    with pytest.raises(ValueError, match="needs at least one batch"):
        model.fit_standardizer([])
    transformer = AsaHybridForOrdinalClassification(tester.get_config())
    with pytest.raises(ValueError, match="applies to branch_encoder='pooled' only"):
        transformer.fit_standardizer(batches)


def test_config_validation_of_the_baseline(tester):
    with pytest.raises(ValueError, match=r"branch_encoder must be one of \['transformer', 'pooled'\], got 'mean'"):
        tester.get_config(branch_encoder="mean")
    with pytest.raises(ValueError, match=r"head_hidden_size must be an integer >= 1 with branch_encoder 'transformer'"):
        tester.get_config(head_hidden_size=0)
    with pytest.raises(ValueError, match=r"head_hidden_size must be an integer >= 0 with branch_encoder 'pooled'"):
        tester.get_config(branch_encoder="pooled", head_hidden_size=-1)
    assert tester.get_config(branch_encoder="pooled", head_hidden_size=0).head_hidden_size == 0


def test_pooled_save_load_keeps_the_statistics_and_loads_as_remote_code(tester, tmp_path):
    config = tester.get_config(branch_encoder="pooled", head_hidden_size=0)
    model = AsaHybridForOrdinalClassification(config)
    inputs = tester.get_inputs(config)
    model.fit_standardizer([inputs])
    model.eval()
    model.save_pretrained(tmp_path / "model")
    loaded = AsaHybridForOrdinalClassification.from_pretrained(tmp_path / "model").eval()
    assert torch.equal(loaded.standardize.mean, model.standardize.mean)
    assert torch.allclose(loaded(**inputs).logits, model(**inputs).logits)
    torch.save(inputs, tmp_path / "inputs.pt")
    body = """
        import json, sys, torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
        inputs = torch.load(sys.argv[2])
        print(json.dumps({"logits": model(**inputs).logits.tolist(), "encoder": model.config.branch_encoder}))
    """
    remote = run_without_package(body, [str(tmp_path / "model"), str(tmp_path / "inputs.pt")], tmp_path)
    assert remote["encoder"] == "pooled"
    assert torch.allclose(torch.tensor(remote["logits"]), model(**inputs).logits, atol=1e-5)


def test_train_script_trains_the_pooled_baseline(tmp_path):
    out = tmp_path / "baseline"
    results = train_asa.main([*TINY, "--output_dir", str(out), "--synthetic_examples", "120",
                              "--branch_encoder", "pooled", "--head_hidden_size", "0"])  # fmt: skip
    assert set(results) == {"dev", "test"}
    config = json.loads((out / "config.json").read_text())
    assert config["branch_encoder"] == "pooled" and config["head_hidden_size"] == 0
    model = AsaHybridForOrdinalClassification.from_pretrained(out)
    assert not torch.equal(model.standardize.std, torch.ones_like(model.standardize.std))  # fitted on train
    card = (out / "README.md").read_text()
    assert "pooled baseline: masked mean of each input, standardised on the train split, into a linear" in card


def test_train_script_rejects_an_unknown_branch_encoder(tmp_path):
    with pytest.raises(train_asa.UsageError, match=r"--branch_encoder mean: valid values are transformer, pooled"):
        train_asa.main([*TINY, "--output_dir", str(tmp_path), "--branch_encoder", "mean"])


@pytest.mark.slow
def test_pooled_baseline_scores_audio_like_training(trained, tmp_path):
    """The baseline trained on real (tiny-model) features: asa-score --corpus rebuilds them and agrees with training."""
    import csv

    from modeling_asa.cli import score_main

    out = tmp_path / "baseline"
    train_asa.main([*TINY, "--features_dir", str(trained["root"] / "features"), "--output_dir", str(out),
                    "--branches", ",".join(trained["stages"]), "--branch_encoder", "pooled"])  # fmt: skip
    scored_path = tmp_path / "scored.csv"
    status = score_main(["--model", str(out), "--corpus", str(trained["corpus"]), "--output", str(scored_path),
                         "--device", "cpu"])  # fmt: skip
    assert status == 0

    def read(path):
        with open(path, newline="") as handle:
            return {row["response_id"]: row for row in csv.DictReader(handle)}

    scored, compared = read(scored_path), 0
    for split in json.loads((out / "asa_results.json").read_text()):
        for rid, row in read(out / f"predictions_{split}.csv").items():
            assert scored[rid]["predicted"] == row["predicted"], rid
            assert float(scored[rid]["expected_score"]) == pytest.approx(float(row["expected_score"]), abs=0.02)
            compared += 1
    assert compared >= 8


def test_class_weights_scale_each_answers_main_loss(tester):
    """Weighted loss = mean over answers of w[y] * CE; the same under gradient-accumulation normalisation."""
    weights = [0.5, 1.0, 2.0, 1.0, 4.0]
    inputs = tester.get_inputs(tester.get_config())
    labels = torch.tensor([0, 2, 4])
    plain = AsaHybridForOrdinalClassification(tester.get_config()).eval()
    weighted = AsaHybridForOrdinalClassification(tester.get_config(class_weights=weights)).eval()
    weighted.load_state_dict(plain.state_dict())
    logits = plain(**inputs).logits
    per_item = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    expected = (per_item * torch.tensor(weights)[labels]).mean()
    assert torch.allclose(weighted(**inputs, labels=labels).main_loss, expected)
    summed = weighted(**inputs, labels=labels, num_items_in_batch=6).main_loss
    assert torch.allclose(summed, (per_item * torch.tensor(weights)[labels]).sum() / 6)
    with pytest.raises(ValueError, match=r"class_weights must be 5 positive numbers \(one per class\), got \[1.0\]"):
        tester.get_config(class_weights=[1.0])


def test_balanced_class_weights():
    weights = train_asa.balanced_class_weights([0, 0, 0, 1, 2, 2], num_classes=4)
    # n / (|C| n_c) with an absent class counted once: 6/(4*3), 6/4, 6/(4*2), 6/4
    assert weights == pytest.approx([0.5, 1.5, 0.75, 1.5])


def test_train_script_records_balanced_class_weights(tmp_path):
    out = tmp_path / "weighted"
    train_asa.main([*TINY, "--output_dir", str(out), "--synthetic_examples", "120", "--class_weighting", "balanced",
                    "--branch_encoder", "pooled"])  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert len(config["class_weights"]) == 5 and max(config["class_weights"]) > min(config["class_weights"])


def test_corn_model_outputs_class_log_probabilities(tester):
    config = tester.get_config(loss="corn", regularizer="none")
    model = AsaHybridForOrdinalClassification(config).eval()
    assert model.classifier.weight.shape == (4, config.head_hidden_size)  # |C| - 1 thresholds
    inputs = tester.get_inputs(config)
    out = model(**inputs, labels=torch.tensor([0, 3, 4]))
    assert out.logits.shape == (3, 5) and out.regularizer_loss is None
    assert torch.allclose(out.logits.exp().sum(-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(out.logits.softmax(-1), out.logits.exp(), atol=1e-5)  # the scorer's softmax is a no-op
    with pytest.raises(
        ValueError, match=r"regularizer 'w_ranksim' does not apply to loss 'corn' \(e.g. W-RankSim ranks"
    ):
        tester.get_config(loss="corn")
    assert tester.get_config(loss="corn", regularizer="ranksim").loss == "corn"


def test_train_script_trains_corn_and_names_the_regularizer_clash(tmp_path):
    results = train_asa.main([*TINY, "--output_dir", str(tmp_path / "corn"), "--synthetic_examples", "120",
                              "--loss", "corn", "--regularizer", "none"])  # fmt: skip
    assert set(results) == {"dev", "test"}
    assert "| main loss | corn |" in (tmp_path / "corn" / "README.md").read_text()
    with pytest.raises(train_asa.UsageError, match=r"--loss corn has \|C\|-1 threshold vectors.*--regularizer none"):
        train_asa.main([*TINY, "--output_dir", str(tmp_path / "x"), "--loss", "corn"])

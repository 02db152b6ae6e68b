"""AsaHybridConfig and the hybrid model: shapes, masking, validation, save/load, Auto classes, remote code."""

import itertools
import json

import pytest
import torch
from remote_code import run_without_package
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from modeling_asa import (
    AsaHybridConfig,
    AsaHybridForOrdinalClassification,
    AsaHybridModel,
)

ALL_BRANCHES = ("content", "delivery", "language_use")
BRANCH_COMBINATIONS = [list(c) for r in (1, 2, 3) for c in itertools.combinations(ALL_BRANCHES, r)]


class AsaModelTester:
    """Builds tiny configs and random inputs (shapes like the feature pipeline's)."""

    batch_size = 3

    def get_config(self, **overrides):
        kwargs = {
            "hidden_size": 16,
            "head_hidden_size": 8,
            "acoustic_feature_size": 12,
            "question_feature_size": 10,
            "delivery_feature_size": 6,
            "language_use_feature_size": 9,
            "max_audio_frames": 40,
            "max_question_tokens": 8,
            "max_delivery_segments": 10,
            "max_words": 10,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 32,
            "hidden_dropout_prob": 0.0,
        }
        kwargs.update(overrides)
        return AsaHybridConfig(**kwargs)

    def get_inputs(self, config, lengths=None, seed=0):
        """Random features; ``lengths`` gives per-row real lengths (rest is padding with garbage values)."""
        g = torch.Generator().manual_seed(seed)
        b = self.batch_size
        lengths = lengths or {
            "acoustic": [30, 12, 7],
            "question": [6, 4, 8],
            "delivery": [5, 10, 2],
            "language": [5, 10, 2],
        }
        inputs = {}
        spec = {
            "acoustic": ("acoustic_features", config.acoustic_feature_size),
            "question": ("question_features", config.question_feature_size),
            "delivery": ("delivery_features", config.delivery_feature_size),
            "language": ("language_use_features", config.language_use_feature_size),
        }
        for key, (name, size) in spec.items():
            longest = max(lengths[key])
            inputs[name] = torch.randn(b, longest, size, generator=g)
            mask = torch.zeros(b, longest, dtype=torch.long)
            for i, n in enumerate(lengths[key]):
                mask[i, :n] = 1
            inputs[name.replace("_features", "_attention_mask")] = mask
        return inputs


@pytest.fixture
def tester():
    return AsaModelTester()


def test_default_config_is_the_paper_model():
    config = AsaHybridConfig()
    assert config.model_type == "asa_hybrid"
    assert config.num_labels == 5 and config.id2label == {0: "1", 1: "2", 2: "3", 3: "4", 4: "5"}
    assert (config.hidden_size, config.head_hidden_size) == (512, 64)
    assert config.branches == list(ALL_BRANCHES)
    assert (config.loss, config.lmcl_scale, config.lmcl_margin) == ("ce", 1.96, 0.15)
    assert (config.regularizer, config.ranksim_lambda, config.ranksim_gamma) == ("w_ranksim", 2.0, 1.5)
    assert config.acoustic_encoder == "openai/whisper-base"
    assert config.context_encoder == "sentence-transformers/all-MiniLM-L6-v2"
    # the full-size model builds
    model = AsaHybridForOrdinalClassification(config)
    assert model.classifier.weight.shape == (5, 64)


def test_config_round_trip_and_custom_labels(tmp_path):
    config = AsaHybridConfig(id2label={0: "A1", 1: "A2", 2: "B1"}, branches=["delivery"], loss="lmcl")
    assert config.num_labels == 3 and config.label2id["B1"] == 2
    config.save_pretrained(tmp_path)
    loaded = AsaHybridConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"branches": ["content", "prosody"]}, r"unknown branches \['prosody'\]; valid branches are"),
        ({"branches": []}, r"branches must name at least one of"),
        ({"branches": ["delivery", "delivery"]}, r"branches must not repeat, got \['delivery', 'delivery'\]"),
        ({"loss": "mse"}, r"loss must be one of \['ce', 'corn', 'lmcl'\], got 'mse'"),
        ({"regularizer": "rank"}, r"regularizer must be one of \['none', 'ranksim', 'w_ranksim'\], got 'rank'"),
        ({"hidden_size": 0}, r"hidden_size must be a positive integer, got 0"),
        (
            {"hidden_size": 30, "num_attention_heads": 4},
            r"hidden_size \(30\) must be divisible by num_attention_heads \(4\)",
        ),
        ({"hidden_dropout_prob": 1.5}, r"hidden_dropout_prob must be in \[0, 1\), got 1.5"),
        ({"lmcl_scale": 0.0}, r"lmcl_scale must be > 0, got 0.0"),
        ({"lmcl_margin": -0.1}, r"lmcl_margin must be >= 0, got -0.1"),
        ({"ranksim_lambda": -1.0}, r"ranksim_lambda must be > 0, got -1.0"),
        ({"ranksim_gamma": -2.0}, r"ranksim_gamma must be >= 0, got -2.0"),
        ({"num_labels": 1}, r"num_labels must be >= 2 for ordinal classification, got 1"),
        (
            {"delivery_feature_names": ["a", "b"]},
            r"delivery_feature_names has 2 entries but delivery_feature_size is 16",
        ),
        (
            {"delivery_feature_mean": [0.0] * 16},
            r"delivery_feature_mean and delivery_feature_std must be given together",
        ),
        (
            {"delivery_feature_mean": [0.0] * 16, "delivery_feature_std": [0.0] * 16},
            r"delivery_feature_std must be > 0 everywhere",
        ),
    ],
)
def test_config_validation_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AsaHybridConfig(**kwargs)


@pytest.mark.parametrize("branches", BRANCH_COMBINATIONS, ids=lambda b: "+".join(b))
def test_shapes_for_every_branch_combination(tester, branches):
    config = tester.get_config(branches=branches)
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs = tester.get_inputs(config)
    out = model(**inputs, labels=torch.tensor([0, 2, 4]))
    assert out.logits.shape == (3, 5)
    assert out.z.shape == (3, config.head_hidden_size)
    assert out.fused_embedding.shape == (3, len(branches) * config.hidden_size)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert out.regularizer_loss.ndim == 0
    base = AsaHybridModel(config).eval()
    pooled = base(**inputs)
    assert pooled.pooler_output.shape == (3, len(branches) * config.hidden_size)
    for name in ALL_BRANCHES:
        embedding = getattr(pooled, f"{name}_embedding")
        assert (embedding is not None) == (name in branches)


@pytest.mark.parametrize("branches", [["content"], ["delivery"], ["language_use"]])
def test_padding_is_ignored_and_masks_matter(tester, branches):
    config = tester.get_config(branches=branches)
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs = tester.get_inputs(config)
    with torch.no_grad():
        batched = model(**inputs).fused_embedding
        # row 2 alone, cut to its real lengths: padding must not change its output
        single = {}
        for name, value in inputs.items():
            if name.endswith("_features"):
                n = int(inputs[name.replace("_features", "_attention_mask")][2].sum())
                single[name] = value[2:3, :n]
        alone = model(**single).fused_embedding
        assert torch.allclose(batched[2], alone[0], atol=1e-5)
        # the same padded batch without masks attends to the garbage and gives another output
        unmasked = model(**{k: v for k, v in inputs.items() if k.endswith("_features")}).fused_embedding
        assert (batched[2] - unmasked[2]).abs().max() > 1e-2


def test_missing_and_malformed_inputs_raise(tester):
    config = tester.get_config(branches=["content", "delivery"])
    model = AsaHybridForOrdinalClassification(config)
    inputs = tester.get_inputs(config)
    with pytest.raises(ValueError, match="delivery_features is required by the enabled branches but was not given"):
        model(**{k: v for k, v in inputs.items() if not k.startswith("delivery")})
    bad = dict(inputs, delivery_features=torch.randn(3, 10, 4))
    with pytest.raises(ValueError, match=r"delivery_features must have shape \(batch, length, 6\), got \(3, 10, 4\)"):
        model(**bad)
    bad = dict(inputs, delivery_attention_mask=torch.ones(3, 4))
    with pytest.raises(ValueError, match=r"delivery_features mask must have shape \(3, 10\), got \(3, 4\)"):
        model(**bad)
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 5\), got values in \[0, 5\]"):
        model(**inputs, labels=torch.tensor([0, 5, 1]))


def test_long_inputs_are_truncated(tester):
    config = tester.get_config(branches=["delivery"], max_delivery_segments=4)
    model = AsaHybridForOrdinalClassification(config).eval()
    x = torch.randn(1, 9, config.delivery_feature_size)
    with torch.no_grad():
        assert torch.allclose(model(delivery_features=x).logits, model(delivery_features=x[:, :4]).logits)


def test_acoustic_downsampling_pools_masked_frames(tester):
    config = tester.get_config(branches=["content"], acoustic_downsample=4)
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs = tester.get_inputs(config)
    with torch.no_grad():
        out = model(**inputs)
    assert out.logits.shape == (3, 5)
    assert model.asa.content_encoder.position_embeddings[0].num_embeddings == 10


def test_delivery_standardisation_from_config(tester):
    names = [f"f{i}" for i in range(6)]
    mean, std = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2.0] * 6
    plain = tester.get_config(branches=["delivery"])
    normed = tester.get_config(
        branches=["delivery"], delivery_feature_names=names, delivery_feature_mean=mean, delivery_feature_std=std
    )
    torch.manual_seed(0)
    a = AsaHybridForOrdinalClassification(plain).eval()
    b = AsaHybridForOrdinalClassification(normed).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 5, 6)
    with torch.no_grad():
        expected = a(delivery_features=(x - torch.tensor(mean)) / 2.0).logits
        got = b(delivery_features=x).logits
        # NaN (e.g. undefined pitch) is treated as the train mean
        x_nan = x.clone()
        x_nan[0, 1, 2] = float("nan")
        assert torch.isfinite(b(delivery_features=x_nan).logits).all()
    assert torch.allclose(expected, got, atol=1e-6)


def test_lmcl_head(tester):
    config = tester.get_config(loss="lmcl", branches=["delivery"])
    model = AsaHybridForOrdinalClassification(config)
    assert model.classifier.bias is None
    inputs = tester.get_inputs(config)
    labels = torch.tensor([1, 0, 3])
    model.eval()
    out = model(**inputs, labels=labels)
    cos = (
        torch.nn.functional.normalize(out.z, dim=-1) @ torch.nn.functional.normalize(model.classifier.weight, dim=-1).T
    )
    assert torch.allclose(out.logits, 1.96 * cos, atol=1e-6)
    assert out.logits.abs().max() <= 1.96 + 1e-6
    # in training the margin is applied to the target class: the loss is larger than CE on the plain logits
    model.train()
    out_train = model(**inputs, labels=labels)
    plain_ce = torch.nn.functional.cross_entropy(out_train.logits, labels)
    assert out_train.loss > plain_ce


def test_one_training_step_changes_weights(tester):
    config = tester.get_config(regularizer="w_ranksim")
    model = AsaHybridForOrdinalClassification(config).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = model(**tester.get_inputs(config), labels=torch.tensor([0, 1, 4]))
    out.loss.backward()  # the whole objective: the regulariser is in it
    torch.optim.RAdam(model.parameters(), lr=1e-2).step()
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "classifier.weight" in changed and any(k.startswith("asa.content_encoder") for k in changed)


@pytest.mark.parametrize("regularizer", ["none", "w_ranksim", "ranksim"])
def test_regularizer_component(tester, regularizer):
    config = tester.get_config(regularizer=regularizer)
    model = AsaHybridForOrdinalClassification(config)
    out = model(**tester.get_inputs(config), labels=torch.tensor([0, 1, 4]))
    assert (out.regularizer_loss is None) == (regularizer == "none")
    # `loss` is the whole objective: the main loss plus gamma times the regulariser
    expected = out.main_loss + (0 if out.regularizer_loss is None else config.ranksim_gamma * out.regularizer_loss)
    assert torch.allclose(out.loss, expected)
    assert out.main_loss.requires_grad
    no_labels = model(**tester.get_inputs(config))
    assert no_labels.loss is None and no_labels.regularizer_loss is None


def test_save_load_round_trip_and_auto_classes(tester, tmp_path, capsys, caplog):
    config = tester.get_config(aspects=["content", "delivery"])
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs = tester.get_inputs(config)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "asa_hybrid"
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_asa.AsaHybridConfig",
        "AutoModel": "modeling_asa.AsaHybridModel",
        "AutoModelForSequenceClassification": "modeling_asa.AsaHybridForOrdinalClassification",
    }
    for name in ("configuration_asa.py", "modeling_asa.py", "losses.py"):
        assert (tmp_path / name).exists()
    reloaded = AsaHybridForOrdinalClassification.from_pretrained(tmp_path).eval()
    auto = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert isinstance(auto, AsaHybridForOrdinalClassification)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), AsaHybridConfig)
    capsys.readouterr()
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(base, AsaHybridModel)
    shown = capsys.readouterr()
    # the scorer's heads are not the base model's: no load report that looks like an error
    assert "UNEXPECTED" not in shown.out + shown.err + caplog.text
    with torch.no_grad():
        expected = model(**inputs).logits
        assert torch.equal(reloaded(**inputs).logits, expected)
        assert torch.equal(auto(**inputs).logits, expected)
        assert torch.equal(reloaded(**inputs).aspect_logits, model(**inputs).aspect_logits)
        assert torch.equal(base(**inputs).pooler_output, model.asa(**inputs).pooler_output)


REMOTE_BODY = """
from transformers import AutoModel, AutoModelForSequenceClassification

folder, inputs_path = sys.argv[1], sys.argv[2]
inputs = torch.load(inputs_path)
model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
base = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
assert "modeling_asa" not in sys.modules
with torch.no_grad():
    logits = model(**inputs).logits
    pooled = base(**inputs).pooler_output
torch.save({"logits": logits, "pooled": pooled, "state": model.state_dict()}, sys.argv[3])
print(json.dumps({"class": type(model).__name__, "base": type(base).__name__}))
"""


def test_remote_code_loads_without_the_package(tester, tmp_path):
    config = tester.get_config()
    model = AsaHybridForOrdinalClassification(config).eval()
    folder = tmp_path / "checkpoint"
    model.save_pretrained(folder)
    inputs = tester.get_inputs(config)
    torch.save(inputs, tmp_path / "inputs.pt")
    out = run_without_package(
        REMOTE_BODY, [str(folder), str(tmp_path / "inputs.pt"), str(tmp_path / "out.pt")], tmp_path
    )
    assert out == {
        "class": "AsaHybridForOrdinalClassification",
        "base": "AsaHybridModel",
    }
    remote = torch.load(tmp_path / "out.pt")
    with torch.no_grad():
        assert torch.equal(remote["logits"], model(**inputs).logits)
        assert torch.equal(remote["pooled"], model.asa(**inputs).pooler_output)
    for name, value in model.state_dict().items():
        assert torch.equal(remote["state"][name], value), name


@pytest.mark.parametrize("source", ["fused", "branch"])
@pytest.mark.parametrize("loss,regularizer", [("ce", "w_ranksim"), ("lmcl", "ranksim"), ("corn", "none")])
def test_aspect_heads(tester, source, loss, regularizer):
    """One head per aspect beside the holistic one: their logits, and their losses and regularisers in the objective
    (times their weights); an unrated aspect (negative label) adds nothing."""
    aspects = ["content", "delivery"]
    config = tester.get_config(aspects=aspects, aspect_source=source, loss=loss, regularizer=regularizer,
                               aspect_loss_weights=[1.0, 0.5])  # fmt: skip
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs, labels = tester.get_inputs(config), torch.tensor([0, 1, 4])
    holistic_only = model(**inputs, labels=labels)
    assert holistic_only.aspect_logits.shape == (3, 2, config.num_labels)
    out = model(**inputs, labels=labels, aspect_labels=torch.tensor([[0, 1], [2, 3], [4, 0]]))
    assert torch.allclose(out.logits, holistic_only.logits)
    assert out.main_loss > holistic_only.main_loss
    unrated = model(**inputs, labels=labels, aspect_labels=torch.full((3, 2), -1))
    assert torch.allclose(unrated.loss, holistic_only.loss)
    # the weight: aspect 1's loss counts half
    only_second = model(**inputs, labels=labels, aspect_labels=torch.tensor([[-1, 1], [-1, 3], [-1, 0]]))
    model.config.aspect_loss_weights = [1.0, 1.0]
    doubled = model(**inputs, labels=labels, aspect_labels=torch.tensor([[-1, 1], [-1, 3], [-1, 0]]))
    extra, extra_doubled = only_second.main_loss - holistic_only.main_loss, doubled.main_loss - holistic_only.main_loss
    assert torch.allclose(2 * extra, extra_doubled, atol=1e-6)


def test_aspect_config_errors(tester):
    with pytest.raises(ValueError, match=r"aspects \['fluency'\] are not branches"):
        tester.get_config(aspects=["fluency"], aspect_source="branch")
    with pytest.raises(ValueError, match="aspect_loss_weights must be 2 numbers"):
        tester.get_config(aspects=["a", "b"], aspect_loss_weights=[1.0])
    assert tester.get_config(aspects=["a", "b"]).aspect_loss_weights == [1.0, 1.0]


def test_relevance_evidence_feeds_the_head(tester):
    """With relevance_feature_size the head reads the relevance evidence beside the branches (NaN: undefined
    evidence, read as 0), so the score can respond to it; without the evidence the model says what it needs."""
    config = tester.get_config(relevance_feature_size=4)
    model = AsaHybridForOrdinalClassification(config).eval()
    inputs = tester.get_inputs(config)
    near = model(**inputs, relevance_features=torch.tensor([[0.9, 0.8, 30.0, float("nan")]] * 3)).logits
    far = model(**inputs, relevance_features=torch.tensor([[0.1, 0.0, 2.0, float("nan")]] * 3)).logits
    assert torch.isfinite(near).all() and not torch.allclose(near, far)
    with pytest.raises(ValueError, match="this model reads relevance_features"):
        model(**inputs)

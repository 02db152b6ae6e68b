"""AsaTrainer: loss composition, gradient accumulation, component logging, W-RankSim effect on a real run."""

import logging

import numpy as np
import pytest
import torch

from modeling_asa import AsaHybridConfig, AsaHybridForOrdinalClassification
from modeling_asa.collator import AsaDataCollator
from modeling_asa.synthetic import make_synthetic_features
from modeling_asa.trainer import AsaTrainer, AsaTrainingArguments

logging.getLogger("transformers").setLevel(logging.ERROR)


def tiny_config(**overrides):
    kwargs = {
        "hidden_size": 16,
        "head_hidden_size": 8,
        "acoustic_feature_size": 32,
        "question_feature_size": 16,
        "delivery_feature_size": 16,
        "language_use_feature_size": 24,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "hidden_dropout_prob": 0.0,
        "branches": ["delivery", "language_use"],
    }
    kwargs.update(overrides)
    return AsaHybridConfig(**kwargs)


def training_args(tmp_path, **overrides):
    kwargs = {
        "output_dir": str(tmp_path / "out"),
        "per_device_train_batch_size": 8,
        "max_steps": 1,
        "report_to": [],
        "use_cpu": True,
        "save_strategy": "no",
        "remove_unused_columns": False,
        "logging_steps": 1,
        "seed": 0,
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
    }
    kwargs.update(overrides)
    return AsaTrainingArguments(**kwargs)


@pytest.fixture(scope="module")
def synthetic():
    data, questions = make_synthetic_features(num_examples=200, seed=3)
    return data, questions


def test_training_arguments_defaults_are_the_papers(tmp_path):
    args = AsaTrainingArguments(output_dir=str(tmp_path))
    assert args.learning_rate == 2e-4 and args.weight_decay == 1e-5 and args.use_radam


def test_optimizer_is_radam(tmp_path, synthetic):
    data, questions = synthetic
    model = AsaHybridForOrdinalClassification(tiny_config())
    trainer = AsaTrainer(
        model=model, args=training_args(tmp_path), train_dataset=data["train"], data_collator=AsaDataCollator(questions)
    )
    trainer.create_optimizer()
    assert isinstance(trainer.optimizer, torch.optim.RAdam)
    assert trainer.optimizer.defaults["lr"] == 2e-4
    assert trainer.optimizer.defaults["foreach"]  # the multi-tensor step (torch's CPU default is the slow loop)
    decays = sorted({group["weight_decay"] for group in trainer.optimizer.param_groups})
    assert decays == [0.0, 1e-5]


@pytest.mark.parametrize("regularizer", ["w_ranksim", "ranksim", "none"])
def test_compute_loss_adds_exactly_gamma_times_regularizer(tmp_path, synthetic, regularizer):
    data, questions = synthetic
    config = tiny_config(regularizer=regularizer, ranksim_gamma=1.5)
    model = AsaHybridForOrdinalClassification(config).train()
    collator = AsaDataCollator(questions)
    trainer = AsaTrainer(model=model, args=training_args(tmp_path), train_dataset=data["train"], data_collator=collator)
    batch = collator([data["train"][i] for i in range(8)])
    torch.manual_seed(0)
    loss, outputs = trainer.compute_loss(model, batch, return_outputs=True)
    torch.manual_seed(0)
    reference = model(**batch)
    if regularizer == "none":
        assert outputs.regularizer_loss is None
        assert torch.allclose(loss, reference.loss)
    else:
        assert torch.allclose(loss, reference.main_loss + 1.5 * reference.regularizer_loss, atol=1e-6)
        assert torch.allclose(loss, reference.loss, atol=1e-6)  # the model's loss is the whole objective
        assert outputs.regularizer_loss.item() > 0


@pytest.mark.parametrize("regularizer", ["w_ranksim", "ranksim"])
def test_plain_trainer_trains_the_same_model(tmp_path, synthetic, regularizer):
    """The model's `loss` is the whole objective: without gradient accumulation a plain `transformers.Trainer`
    gives the same losses and the same weights as AsaTrainer (same optimiser, seed and batches)."""
    from transformers import Trainer

    data, questions = synthetic
    subset = data["train"].select(range(24))
    runs = {}
    for name, trainer_class in (("plain", Trainer), ("asa", AsaTrainer)):
        torch.manual_seed(0)
        model = AsaHybridForOrdinalClassification(tiny_config(regularizer=regularizer))
        args = training_args(tmp_path / name, max_steps=3, use_radam=False, learning_rate=1e-2)
        trainer = trainer_class(model=model, args=args, train_dataset=subset, data_collator=AsaDataCollator(questions))
        trainer.train()
        runs[name] = (model, [entry["loss"] for entry in trainer.state.log_history if "loss" in entry])
    (plain, plain_losses), (asa, asa_losses) = runs["plain"], runs["asa"]
    assert len(plain_losses) == 3 and plain_losses == pytest.approx(asa_losses, rel=1e-5)
    for (name, a), (_, b) in zip(plain.named_parameters(), asa.named_parameters()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_trainer_requires_labels(tmp_path, synthetic):
    data, questions = synthetic
    model = AsaHybridForOrdinalClassification(tiny_config())
    trainer = AsaTrainer(model=model, args=training_args(tmp_path), train_dataset=data["train"])
    batch = AsaDataCollator(questions)([data["train"][0]])
    batch.pop("labels")
    with pytest.raises(ValueError, match=r"AsaTrainer needs `labels` in the batch; got keys"):
        trainer.compute_loss(model, batch)


def _train_one_step(tmp_path, dataset, questions, batch_size, accumulation, regularizer="w_ranksim"):
    torch.manual_seed(0)
    model = AsaHybridForOrdinalClassification(tiny_config(regularizer=regularizer))
    args = training_args(
        tmp_path / f"b{batch_size}a{accumulation}",
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation,
        learning_rate=1e-2,
    )
    trainer = AsaTrainer(model=model, args=args, train_dataset=dataset, data_collator=AsaDataCollator(questions))
    trainer.train()
    return model, trainer


@pytest.mark.parametrize("batch_size,accumulation", [(4, 2), (2, 4)])
def test_gradient_accumulation_gives_the_same_update(tmp_path, synthetic, batch_size, accumulation):
    data, questions = synthetic
    subset = data["train"].select(range(8))
    full, full_trainer = _train_one_step(tmp_path, subset, questions, 8, 1)
    accumulated, acc_trainer = _train_one_step(tmp_path, subset, questions, batch_size, accumulation)
    for (name, a), (_, b) in zip(full.named_parameters(), accumulated.named_parameters()):
        assert torch.allclose(a, b, atol=1e-6), name
    # the logged total loss agrees too
    assert full_trainer.state.log_history[0]["loss"] == pytest.approx(
        acc_trainer.state.log_history[0]["loss"], rel=1e-4
    )


def test_loss_components_are_logged(tmp_path, synthetic):
    data, questions = synthetic
    _, trainer = _train_one_step(tmp_path, data["train"], questions, 8, 1)
    record = trainer.state.log_history[0]
    assert {"loss", "loss_main", "loss_regularizer"} <= set(record)
    assert record["loss"] == pytest.approx(record["loss_main"] + 1.5 * record["loss_regularizer"], rel=1e-3)


def _pairwise_cosine(weight):
    w = torch.nn.functional.normalize(weight.detach(), dim=-1)
    return (w @ w.T).numpy()


def _order_violations(similarity):
    """Count (i, j, k) with j, k on the same side of i, |i-j| > |i-k| but S[i,j] >= S[i,k]."""
    n = len(similarity)
    violations = 0
    for i in range(n):
        for j in range(n):
            for k in range(n):
                same_side = (j - i) * (k - i) > 0
                if same_side and abs(i - j) > abs(i - k) and similarity[i, j] >= similarity[i, k]:
                    violations += 1
    return violations


@pytest.mark.slow
def test_w_ranksim_orders_class_weights_on_imbalanced_problem(tmp_path):
    data, questions = make_synthetic_features(num_examples=400, seed=11)
    counts = np.bincount(np.asarray(data["train"]["label"]), minlength=5)
    assert counts.max() > 3 * counts.min()  # imbalanced
    torch.manual_seed(0)
    model = AsaHybridForOrdinalClassification(tiny_config(regularizer="w_ranksim", head_hidden_size=16))
    before = _order_violations(_pairwise_cosine(model.classifier.weight))
    args = training_args(tmp_path, max_steps=-1, num_train_epochs=6, learning_rate=3e-3, logging_steps=20)
    trainer = AsaTrainer(model=model, args=args, train_dataset=data["train"], data_collator=AsaDataCollator(questions))
    trainer.train()
    similarity = _pairwise_cosine(model.classifier.weight)
    assert before > 0  # random initial vectors are not ordered
    assert _order_violations(similarity) == 0, similarity
    # and the regulariser actually went down during training
    regs = [r["loss_regularizer"] for r in trainer.state.log_history if "loss_regularizer" in r]
    assert regs[-1] < regs[0]

"""The objective registry: each main loss and regulariser is a file that registers itself; a new one is a class."""

import pytest
import torch
from test_modeling import AsaModelTester

from modeling_asa import AsaHybridForOrdinalClassification
from modeling_asa.objective_base import MAIN_LOSSES, MainLoss, per_item_mean, register
from modeling_asa.objectives import REGULARIZERS, main_loss, regularizer


@pytest.fixture
def tester():
    return AsaModelTester()


def test_the_built_in_objectives_are_registered():
    assert sorted(MAIN_LOSSES) == ["ce", "corn", "lmcl"] and sorted(REGULARIZERS) == ["ranksim", "w_ranksim"]
    assert regularizer("none") is None
    with pytest.raises(ValueError, match=r"loss must be one of \['ce', 'corn', 'lmcl'\], got 'x'"):
        main_loss("x")
    assert main_loss("corn").num_outputs(5) == 4 and main_loss("lmcl").bias is False


def test_a_new_objective_is_one_class(tester):
    """A squared error on the expected class index, registered in this test, trains the model like the others."""

    @register
    class ExpectedSquaredError(MainLoss):
        name = "test_expected_mse"

        def logits(self, z, classifier, config):
            return classifier(z), None

        def loss(self, z, logits, extra, labels, classifier, config, num_items_in_batch, training):
            classes = torch.arange(logits.shape[-1], device=logits.device, dtype=logits.dtype)
            expected = (logits.softmax(-1) * classes).sum(-1)
            return per_item_mean((expected - labels.to(expected)) ** 2, num_items_in_batch)

    try:
        config = tester.get_config(loss="test_expected_mse")
        model = AsaHybridForOrdinalClassification(config).train()
        out = model(**tester.get_inputs(config), labels=torch.tensor([0, 2, 4]))
        assert torch.isfinite(out.loss) and out.regularizer_loss is not None  # W-RankSim, the default, still applies
        out.loss.backward()
        assert model.classifier.weight.grad is not None
    finally:
        del MAIN_LOSSES["test_expected_mse"]
    with pytest.raises(ValueError, match="registered already"):
        register(type("Again", (MainLoss,), {"name": "ce"}))

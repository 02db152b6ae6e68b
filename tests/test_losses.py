"""Losses against plain-loop references of the paper's equations."""

import math

import pytest
import torch
import torch.nn.functional as F

from modeling_asa.losses import (
    blackbox_rank,
    cross_entropy_loss,
    lmcl_logits,
    lmcl_loss,
    ranksim_loss,
    w_ranksim_loss,
)

DTYPES = [(torch.float32, 1e-6), (torch.float64, 1e-12)]


def loop_rank(row):
    """Eq. 1 with a plain loop: rk(a)_i = 1 + |{j : a_j > a_i}|, normalised by n."""
    n = len(row)
    return [(1 + sum(1 for j in range(n) if row[j] > row[i])) / n for i in range(n)]


def loop_rank_similarity(sim, label_sim):
    """Eq. 4 with plain loops: sum_i mean_j (rk(S^c_i)_j - rk(S_i)_j)^2."""
    total = 0.0
    for i in range(len(sim)):
        a, b = loop_rank(sim[i]), loop_rank(label_sim[i])
        total += sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)
    return total


def loop_cosine(rows):
    out = []
    for u in rows:
        out.append([])
        for v in rows:
            dot = sum(x * y for x, y in zip(u, v))
            out[-1].append(dot / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v))))
    return out


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_rank_forward_matches_loop_with_ties(dtype, tol):
    values = torch.tensor([[0.3, 0.9, 0.3, -1.0, 0.9, 0.5], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]], dtype=dtype)
    ranks = blackbox_rank(values)
    assert ranks.dtype == dtype
    for row, got in zip(values.tolist(), ranks.tolist()):
        assert got == pytest.approx(loop_rank(row), abs=tol)
    # ties share the best rank: both 0.9 entries are rank 1 (1/6), all-equal rows are all rank 1
    assert ranks[0, 1] == ranks[0, 4] == pytest.approx(1 / 6)
    assert torch.allclose(ranks[1], torch.full((6,), 1 / 6, dtype=dtype))


def test_rank_random_rows_match_loop():
    g = torch.Generator().manual_seed(0)
    values = torch.randint(0, 4, (5, 9), generator=g).double()  # many ties
    for row, got in zip(values.tolist(), blackbox_rank(values).tolist()):
        assert got == pytest.approx(loop_rank(row))


@pytest.mark.parametrize("lam", [0.5, 2.0, 10.0])
def test_rank_backward_is_eq7(lam):
    g = torch.Generator().manual_seed(1)
    values = torch.randn(3, 7, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(3, 7, generator=g, dtype=torch.float64)
    blackbox_rank(values, lam).backward(upstream)
    with torch.no_grad():
        expected = [
            [-(r - rp) / lam for r, rp in zip(loop_rank(row), loop_rank(prow))]
            for row, prow in zip(values.tolist(), (values + lam * upstream).tolist())
        ]
    assert torch.allclose(values.grad, torch.tensor(expected, dtype=torch.float64))


def test_rank_rejects_bad_lambda():
    with pytest.raises(ValueError, match="interpolation_lambda must be > 0, got 0"):
        blackbox_rank(torch.randn(2, 3), 0)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_w_ranksim_matches_loop(dtype, tol):
    g = torch.Generator().manual_seed(2)
    weight = torch.randn(5, 8, generator=g, dtype=dtype)
    classes = list(range(5))
    label_sim = [[-abs(ci - cj) for cj in classes] for ci in classes]
    expected = loop_rank_similarity(loop_cosine(weight.tolist()), label_sim)
    assert w_ranksim_loss(weight).item() == pytest.approx(expected, abs=tol)


def test_w_ranksim_zero_for_ordered_weights_and_gradient_only_on_weights():
    # class vectors on an arc: cosine similarity decreases with label distance, so no ordering of the same vectors
    # has a lower loss (not exactly 0: label ties such as |c-1| = |c+1| cannot be matched by distinct cosines)
    import itertools

    angles = torch.linspace(0, 1.2, 5, dtype=torch.float64)
    ordered = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    best = w_ranksim_loss(ordered).item()
    others = [w_ranksim_loss(ordered[list(p)]).item() for p in itertools.permutations(range(5))]
    assert best == pytest.approx(min(others))
    assert best < max(others) / 4
    # two classes have no ties: ordered vectors give exactly 0
    assert w_ranksim_loss(ordered[:2]).item() == 0.0
    shuffled = ordered[[0, 3, 1, 4, 2]].clone().requires_grad_(True)
    loss = w_ranksim_loss(shuffled)
    assert loss.item() > 0
    loss.backward()
    assert shuffled.grad is not None and shuffled.grad.abs().sum() > 0


def test_w_ranksim_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"weight must be a 2-D \(num_classes, hidden\) tensor, got shape \(5,\)"):
        w_ranksim_loss(torch.randn(5))


@pytest.mark.parametrize("label_dtype", [torch.long, torch.float32, torch.int32])
def test_ranksim_unique_labels_matches_loop(label_dtype):
    g = torch.Generator().manual_seed(3)
    features = torch.randn(6, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([3, 0, 5, 1, 2, 4], dtype=label_dtype)
    y = labels.tolist()
    label_sim = [[-abs(a - b) for b in y] for a in y]
    expected = loop_rank_similarity(loop_cosine(features.tolist()), label_sim)
    assert ranksim_loss(features, labels).item() == pytest.approx(expected, abs=1e-10)


def test_ranksim_samples_one_per_label():
    g = torch.Generator().manual_seed(4)
    features = torch.randn(10, 4, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 4, 4])
    generator = torch.Generator().manual_seed(7)
    loss = ranksim_loss(features, labels, generator=generator)
    loss.backward()
    # exactly one row per distinct label receives gradient (or none if its rank error is zero)
    touched = (features.grad.abs().sum(dim=1) > 0).nonzero().flatten().tolist()
    assert len({labels[i].item() for i in touched}) == len(touched)
    # the loss equals the loop reference evaluated on some one-per-label subset
    candidates = []
    import itertools

    groups = [[i for i in range(10) if labels[i] == c] for c in range(5)]
    for pick in itertools.product(*groups):
        x = features.detach()[list(pick)].tolist()
        y = [labels[i].item() for i in pick]
        candidates.append(loop_rank_similarity(loop_cosine(x), [[-abs(a - b) for b in y] for a in y]))
    assert any(abs(loss.item() - c) < 1e-10 for c in candidates)
    # reproducible with the same generator seed
    again = ranksim_loss(features.detach(), labels, generator=torch.Generator().manual_seed(7))
    assert again.item() == pytest.approx(loss.item())


def test_ranksim_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="features has 3 rows but labels has 2 entries"):
        ranksim_loss(torch.randn(3, 2), torch.tensor([0, 1]))


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_lmcl_matches_formula(dtype, tol):
    g = torch.Generator().manual_seed(5)
    z = torch.randn(4, 6, generator=g, dtype=dtype)
    w = torch.randn(3, 6, generator=g, dtype=dtype)
    y = torch.tensor([0, 2, 1, 2])
    s, m = 1.96, 0.15
    cos = loop_cosine(z.tolist() + w.tolist())
    expected = 0.0
    for i in range(4):
        logits = [s * (cos[i][4 + j] - (m if j == y[i] else 0.0)) for j in range(3)]
        expected += -(logits[y[i]] - math.log(sum(math.exp(v) for v in logits)))
    expected /= 4
    assert lmcl_loss(z, w, y, s, m).item() == pytest.approx(expected, abs=tol)
    plain = lmcl_logits(z, w, None, s, m)
    expected_plain = torch.tensor([[s * cos[i][4 + j] for j in range(3)] for i in range(4)], dtype=dtype)
    assert torch.allclose(plain, expected_plain, atol=tol, rtol=0)


def test_cross_entropy_is_torch_cross_entropy():
    logits = torch.randn(5, 4)
    labels = torch.tensor([0, 1, 2, 3, 0])
    assert torch.allclose(cross_entropy_loss(logits, labels), F.cross_entropy(logits, labels))
    assert torch.allclose(cross_entropy_loss(logits, labels, reduction="sum"), F.cross_entropy(logits, labels) * 5)


def test_corn_log_probabilities_against_a_loop():
    from modeling_asa.losses import corn_log_probabilities

    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(0)) * 3
    probabilities = corn_log_probabilities(logits).exp()
    conditional = torch.sigmoid(logits)
    for i in range(6):
        reached = 1.0  # P(y > k - 1)
        for k in range(5):
            stop = 1.0 - conditional[i, k] if k < 4 else 1.0
            assert probabilities[i, k] == pytest.approx(float(reached * stop), abs=1e-6)
            reached = reached * (conditional[i, k] if k < 4 else 1.0)
    assert torch.allclose(probabilities.sum(-1), torch.ones(6), atol=1e-6)
    # extreme logits stay finite in log space
    assert torch.isfinite(corn_log_probabilities(torch.tensor([[80.0, -80.0, 80.0]]))).all()


def test_corn_loss_is_coral_pytorchs():
    coral = pytest.importorskip("coral_pytorch.losses")
    from modeling_asa.losses import corn_loss

    logits = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1, 2, 2, 2, 3, 4, 4])
    assert torch.equal(corn_loss(logits, labels, 5), coral.corn_loss(logits, labels, 5))
    # a perfectly confident correct model has a loss near 0
    confident = torch.tensor([[-20.0, -20.0], [20.0, -20.0], [20.0, 20.0]])
    assert float(corn_loss(confident, torch.tensor([0, 1, 2]), 3)) < 1e-6


def test_similarities_and_lmcl_logits_stay_float32_under_bf16_autocast():
    """Training with --bf16 (autocast) must not rank or margin bf16 cosines: the same values as without autocast."""
    torch.manual_seed(0)
    weight = torch.randn(5, 64, requires_grad=True)
    embeddings, labels = torch.randn(8, 64), torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])

    def losses():
        generator = torch.Generator().manual_seed(0)  # RankSim's one-per-label sampling, the same both times
        ranksim = ranksim_loss(embeddings, labels, generator=generator)
        return w_ranksim_loss(weight), ranksim, lmcl_logits(embeddings, weight, labels)

    expected = losses()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = losses()
    for a, b in zip(got, expected):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b)

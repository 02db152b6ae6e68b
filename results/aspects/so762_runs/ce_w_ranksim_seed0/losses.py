# Copyright 2026 The modeling_asa contributors. Licensed under the Apache License, Version 2.0.
"""Ordinal losses and ranking regularisers of the ASA model, as pure tensor functions.

* :func:`blackbox_rank` - the rank operator of Eq. (1) with the blackbox combinatorial-solver gradient of Eq. (7)
  (Vlastelica et al., ICLR 2020; as used by RankSim, Gong et al., ICML 2022).
* :func:`w_ranksim_loss` - W-RankSim (Wu & Chen, Interspeech 2024, Eq. 2-4) on the output-layer class weights.
* :func:`ranksim_loss` - batch-wise RankSim (Gong et al., ICML 2022) on a batch of features.
* :func:`cross_entropy_loss`, :func:`lmcl_logits`, :func:`lmcl_loss` - the main losses (LMCL = CosFace,
  Wang et al., CVPR 2018).
* :func:`corn_loss`, :func:`corn_log_probabilities` - the CORN ordinal baseline (Shi et al., 2021; the loss of the
  ``coral-pytorch`` package, imported when it is first used).

This file is copied next to the weights by ``save_pretrained`` (remote code), so it only imports ``torch``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _rank(values: torch.Tensor) -> torch.Tensor:
    """Normalised descending rank along the last dimension, ties sharing the best rank (Eq. 1).

    ``rk(a)_i = 1 + |{j : a_j > a_i}|``, divided by ``n``: the largest entry gets ``1/n``.
    """
    n = values.shape[-1]
    greater = (values.unsqueeze(-2) > values.unsqueeze(-1)).sum(dim=-1)
    return (greater + 1).to(values.dtype) / n


class _BlackboxRank(torch.autograd.Function):
    """Rank with the blackbox-solver gradient (Eq. 7)."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, interpolation_lambda: float) -> torch.Tensor:
        ranks = _rank(values)
        ctx.interpolation_lambda = interpolation_lambda
        ctx.save_for_backward(values, ranks)
        return ranks

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        values, ranks = ctx.saved_tensors
        lam = ctx.interpolation_lambda
        perturbed_ranks = _rank(values + lam * grad_output)
        return -(ranks - perturbed_ranks) / lam, None


def blackbox_rank(values: torch.Tensor, interpolation_lambda: float = 2.0) -> torch.Tensor:
    r"""Differentiable normalised rank of each row of ``values``.

    Forward (Eq. 1): :math:`rk(a)_i = 1 + |\{j : a_j > a_i\}|`, normalised by the row length ``n`` as RankSim does,
    so the most similar entry gets ``1/n`` and tied entries share the best rank. Backward (Eq. 7), the blackbox
    combinatorial-solver gradient: :math:`-(rk(a) - rk(a + \lambda \nabla)) / \lambda`.

    Args:
        values (`torch.Tensor` of shape `(..., n)`): scores to rank along the last dimension.
        interpolation_lambda (`float`, *optional*, defaults to 2.0): the interpolation strength lambda.

    Returns:
        `torch.Tensor` of shape `(..., n)`: normalised ranks in ``(0, 1]``, same dtype as ``values``.

    References:
        Wu & Chen (Interspeech 2024), Eq. 1 and 7; Vlastelica et al., "Differentiation of Blackbox Combinatorial
        Solvers" (ICLR 2020).

    Example:

    ```python
    >>> import torch
    >>> blackbox_rank(torch.tensor([[0.1, 0.9, 0.9, 0.5]]))
    tensor([[1.0000, 0.2500, 0.2500, 0.7500]])
    ```
    """
    if interpolation_lambda <= 0:
        raise ValueError(f"interpolation_lambda must be > 0, got {interpolation_lambda!r}")
    return _BlackboxRank.apply(values, interpolation_lambda)


def _label_similarity(labels: torch.Tensor) -> torch.Tensor:
    """S^c = -|c_i - c_j| (Eq. 3) as a float matrix."""
    labels = labels.to(torch.float32).reshape(-1)
    return -(labels.unsqueeze(0) - labels.unsqueeze(1)).abs()


def _full_precision(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32 when it is a half-precision tensor; float32 and float64 unchanged."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def _cosine_similarity_matrix(x: torch.Tensor) -> torch.Tensor:
    # float32 even under bf16/fp16 autocast: ranking similarities with an 8-bit mantissa makes ties of near values
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = F.normalize(_full_precision(x.reshape(x.shape[0], -1)), dim=-1)
        return x @ x.transpose(0, 1)


def _rank_similarity_loss(similarity: torch.Tensor, label_similarity: torch.Tensor, interpolation_lambda: float):
    """Sum over rows i of MSE(rk(S^label[i, :]), rk(S^feature[i, :])) (Eq. 4); label ranks carry no gradient."""
    label_ranks = _rank(label_similarity.to(similarity.dtype)).detach()
    feature_ranks = blackbox_rank(similarity, interpolation_lambda)
    return ((feature_ranks - label_ranks) ** 2).mean(dim=-1).sum()


def w_ranksim_loss(weight: torch.Tensor, interpolation_lambda: float = 2.0) -> torch.Tensor:
    r"""W-RankSim: rank-similarity regulariser on the class weight vectors of the output layer.

    ``S^w`` holds the cosine similarities of the rows of ``weight`` (Eq. 2), ``S^c_{ij} = -|c_i - c_j|`` the label
    similarities of the ordered class indices (Eq. 3), and the loss is
    :math:`\sum_i \mathrm{MSE}(rk(S^c_{i,:}), rk(S^w_{i,:}))` (Eq. 4), with :func:`blackbox_rank` gradients.

    Args:
        weight (`torch.Tensor` of shape `(num_classes, hidden)`): one weight vector per class, classes in order.
        interpolation_lambda (`float`, *optional*, defaults to 2.0): lambda of the blackbox rank gradient.

    Returns:
        `torch.Tensor`: scalar loss (0 when the similarity ranking already matches the label-distance ranking).

    References:
        Wu & Chen, "Optimizing Automatic Speech Assessment: W-RankSim Regularization and Hybrid Feature Fusion
        Strategies", Interspeech 2024, Eq. 2-4.

    Example:

    ```python
    >>> import torch
    >>> weight = torch.randn(5, 64, requires_grad=True)
    >>> loss = w_ranksim_loss(weight)
    >>> loss.backward()
    ```
    """
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (num_classes, hidden) tensor, got shape {tuple(weight.shape)}")
    classes = torch.arange(weight.shape[0], device=weight.device)
    return _rank_similarity_loss(_cosine_similarity_matrix(weight), _label_similarity(classes), interpolation_lambda)


def _one_per_label(labels: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Indices of one uniformly random sample per distinct label (RankSim's tie reduction)."""
    order = torch.randperm(labels.shape[0], generator=generator, device="cpu").to(labels.device)
    shuffled = labels[order]
    # First occurrence of each label in the shuffled order: a stable sort groups equal labels, keeping order.
    sorted_labels, sort_idx = torch.sort(shuffled, stable=True)
    is_first = torch.ones_like(sorted_labels, dtype=torch.bool)
    is_first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    return order[sort_idx[is_first]]


def ranksim_loss(
    features: torch.Tensor,
    labels: torch.Tensor,
    interpolation_lambda: float = 2.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Batch-wise RankSim regulariser (Gong et al., ICML 2022) on a batch of features.

    When labels repeat, one random sample per distinct label is kept (fewer ties, rare labels weigh more). Then the
    cosine similarities of the kept features are ranked row by row and compared with the ranks of the label
    similarities ``-|y_i - y_j|``: :math:`\sum_i \mathrm{MSE}(rk(S^y_{i,:}), rk(S^z_{i,:}))`.

    Args:
        features (`torch.Tensor` of shape `(batch, ...)`): features of the batch (flattened per sample).
        labels (`torch.Tensor` of shape `(batch,)`): targets of any numeric dtype.
        interpolation_lambda (`float`, *optional*, defaults to 2.0): lambda of the blackbox rank gradient.
        generator (`torch.Generator`, *optional*): CPU generator for the per-label sampling (reproducibility).

    Returns:
        `torch.Tensor`: scalar loss.

    References:
        Gong, Mori & Tung, "RankSim: Ranking Similarity Regularization for Deep Imbalanced Regression", ICML 2022.

    Example:

    ```python
    >>> import torch
    >>> features = torch.randn(8, 64, requires_grad=True)
    >>> loss = ranksim_loss(features, torch.tensor([0, 1, 1, 2, 3, 4, 4, 0]))
    >>> loss.backward()
    ```
    """
    labels = labels.reshape(-1)
    if features.shape[0] != labels.shape[0]:
        raise ValueError(f"features has {features.shape[0]} rows but labels has {labels.shape[0]} entries")
    if torch.unique(labels).numel() < labels.numel():
        keep = _one_per_label(labels, generator)
        features, labels = features[keep], labels[keep]
    return _rank_similarity_loss(_cosine_similarity_matrix(features), _label_similarity(labels), interpolation_lambda)


def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of ``logits`` `(batch, num_classes)` against class indices ``labels`` `(batch,)`."""
    if logits.dtype not in (torch.float32, torch.float64):
        logits = logits.float()  # half-precision logits: compute the loss in float32
    return F.cross_entropy(logits, labels.long(), reduction=reduction)


def lmcl_logits(
    embeddings: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor | None = None,
    scale: float = 1.96,
    margin: float = 0.15,
) -> torch.Tensor:
    r"""LMCL / CosFace logits: :math:`s (\cos(z, w_j) - m [j = y])`.

    Args:
        embeddings (`torch.Tensor` of shape `(batch, hidden)`): the features z.
        weight (`torch.Tensor` of shape `(num_classes, hidden)`): the class weight vectors w_j.
        labels (`torch.Tensor` of shape `(batch,)`, *optional*): targets; the margin is subtracted from the target
            class cosine only when they are given (training). Without labels: plain scaled cosines (inference).
        scale (`float`, *optional*, defaults to 1.96): the scale s.
        margin (`float`, *optional*, defaults to 0.15): the additive cosine margin m.

    Returns:
        `torch.Tensor` of shape `(batch, num_classes)`.

    References:
        Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018, Eq. 4.
    """
    # float32 even under bf16/fp16 autocast: the margin m = 0.15 is a difference of cosines near 1
    with torch.autocast(device_type=embeddings.device.type, enabled=False):
        cosine = F.normalize(_full_precision(embeddings), dim=-1) @ F.normalize(_full_precision(weight), dim=-1).T
    if labels is not None:
        cosine = cosine - margin * F.one_hot(labels.long(), num_classes=weight.shape[0]).to(cosine.dtype)
    return scale * cosine


def lmcl_loss(
    embeddings: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    scale: float = 1.96,
    margin: float = 0.15,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Large-margin cosine loss: cross-entropy on :func:`lmcl_logits` with the margin on the target class.

    Args:
        embeddings (`torch.Tensor` of shape `(batch, hidden)`): the features z.
        weight (`torch.Tensor` of shape `(num_classes, hidden)`): the class weight vectors.
        labels (`torch.Tensor` of shape `(batch,)`): class indices.
        scale (`float`, *optional*, defaults to 1.96): s.
        margin (`float`, *optional*, defaults to 0.15): m.
        reduction (`str`, *optional*, defaults to `"mean"`): ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        `torch.Tensor`: the loss.

    Example:

    ```python
    >>> import torch
    >>> loss = lmcl_loss(torch.randn(4, 64), torch.randn(5, 64), torch.tensor([0, 1, 2, 4]))
    ```
    """
    return cross_entropy_loss(lmcl_logits(embeddings, weight, labels, scale, margin), labels, reduction=reduction)


def corn_log_probabilities(logits: torch.Tensor) -> torch.Tensor:
    r"""Class log-probabilities from CORN's conditional logits.

    CORN's |C|-1 outputs are :math:`\sigma(l_k) = P(y > k \mid y > k-1)`, so
    :math:`P(y > k) = \prod_{j \le k} \sigma(l_j)` and :math:`P(y = k) = P(y > k-1)\,(1 - \sigma(l_k))` (the last
    class: :math:`P(y > |C|-2)`). Computed in log space; the rows sum to 1 after ``exp``, so a softmax of the result
    gives the class probabilities back.

    Args:
        logits (`torch.Tensor` of shape `(batch, num_classes - 1)`): the CORN layer's outputs.

    Returns:
        `torch.Tensor` of shape `(batch, num_classes)`.

    Example:

    ```python
    >>> import torch
    >>> corn_log_probabilities(torch.zeros(1, 2)).exp()
    tensor([[0.5000, 0.2500, 0.2500]])
    ```
    """
    logits = logits.float()
    zeros = logits.new_zeros(logits.shape[:-1] + (1,))
    log_greater = torch.cumsum(F.logsigmoid(logits), dim=-1)  # log P(y > k)
    log_reached = torch.cat([zeros, log_greater], dim=-1)  # log P(y > k - 1), with P(y > -1) = 1
    log_stop = torch.cat([F.logsigmoid(-logits), zeros], dim=-1)  # log P(y = k | y > k - 1)
    return log_reached + log_stop


def corn_loss(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """CORN loss (Shi, Cao and Raschka, 2021) of ``coral_pytorch.losses.corn_loss``.

    Args:
        logits (`torch.Tensor` of shape `(batch, num_classes - 1)`): the CORN layer's outputs.
        labels (`torch.Tensor` of shape `(batch,)`): class indices.
        num_classes (`int`): |C|.

    Returns:
        `torch.Tensor`: the loss, averaged over the conditional binary tasks of the batch as coral-pytorch does.

    Raises:
        ImportError: naming the package when ``coral-pytorch`` is not installed.
    """
    try:
        from coral_pytorch.losses import corn_loss as _corn_loss
    except ImportError as err:  # training needs it; loading and scoring a CORN model do not
        raise ImportError("loss='corn' needs the coral-pytorch package: pip install coral-pytorch") from err
    return _corn_loss(logits.float(), labels.long(), num_classes)


__all__ = [
    "blackbox_rank",
    "corn_log_probabilities",
    "corn_loss",
    "cross_entropy_loss",
    "lmcl_logits",
    "lmcl_loss",
    "ranksim_loss",
    "w_ranksim_loss",
]

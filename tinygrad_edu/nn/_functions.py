"""The ops nn.functional needs beyond ops.py, written as ops.py's are (forward on NumPy arrays,
backward on Tensors so create_graph works), with PyTorch's node names."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


class NllLoss(Op):
    """nll_loss of 2-D log-probabilities [M, C] with int64 targets [M] (checked by the caller).

    loss_i = -w[t_i] * logp[i, t_i] (0 where t_i == ignore_index); 'mean' divides the sum by
    sum_i w[t_i] over the kept targets (nan when none is kept, as PyTorch). The loss is linear
    in logp, so its gradient is a constant array times the upstream gradient."""
    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        m = logp.shape[0]
        kept = target != ignore_index
        safe = np.where(kept, target, 0)
        w = (weight[safe] if weight is not None else np.ones(m, logp.dtype)) * kept
        w = w.astype(logp.dtype, copy=False)
        loss = -logp[np.arange(m), safe] * w
        denom = w.sum() if reduction == "mean" else 1
        coeff = np.zeros_like(logp)
        with np.errstate(divide="ignore", invalid="ignore"):
            coeff[np.arange(m), safe] = -w / denom
            out = loss if reduction == "none" else np.asarray(loss.sum() / denom, logp.dtype)
        ctx.per_row = reduction == "none"
        ctx.save_for_backward(coeff)
        return out

    @staticmethod
    def backward(ctx, grad):
        (coeff,) = ctx.saved_tensors
        return (grad.unsqueeze(1) if ctx.per_row else grad) * coeff

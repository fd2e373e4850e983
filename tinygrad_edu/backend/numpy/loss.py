"""loss.c's NumPy twin: the fused cross-entropy (log_softmax + nll_loss), loss and gradient in one call."""
from __future__ import annotations

import numpy as np

from ..checks import check_cross_entropy, target_out_of_bounds
from .softmax import log_softmax


def cross_entropy_coefficients(target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                               label_smoothing: float, classes: int, dtype: np.dtype) -> tuple[np.ndarray, np.float64]:
    """``(a, D)``: ``loss_i = -sum_c a[i, c] logp[i, c]`` and the 'mean' denominator D.

    ``a[i] = (1 - eps) w[t_i] onehot(t_i) + eps / K w`` (zero rows where ignored), D the sum
    of ``w[t_i]`` over the rows not ignored. Targets must already be checked.
    """
    n, k = target.shape[0], classes
    w = np.ones(k, dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    a = np.zeros((n, k), dtype)
    a[np.arange(n), t] = (1 - label_smoothing) * w[t]
    if k:
        a += (label_smoothing / k) * w
    a[~keep] = 0
    return a, np.sum(w[t] * keep, dtype=np.float64)  # np.float64: 1 / 0 is inf, not an exception


def cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0,
                  need_grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Fused log_softmax + nll_loss: ``(loss, dlogits)`` with PyTorch's cross_entropy formulas.

    ``loss`` is ``[N]`` for reduction 'none', else 0-d; ``dlogits`` ``[N, C]`` is the
    gradient of ``loss.sum()`` (``None`` when ``need_grad`` is false). With ``logp =
    log_softmax(logits)``, K classes, w the weights (ones if None), eps the smoothing:
    ``loss_i = (1 - eps) w[t_i] (-logp[i, t_i]) + eps / K sum_c w[c] (-logp[i, c])``, 0 where
    ``t_i == ignore_index``; 'mean' divides the sum by the sum of ``w[t_i]`` over the rows not
    ignored (NaN if none). The gradient is ``A p - a``, p the softmax, a the smoothed
    weighted one-hot, A its row sum. Bad targets: ``IndexError`` (see ``target_out_of_bounds``).
    """
    code = check_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
    n, k = logits.shape
    keep = target != ignore_index
    bad = np.flatnonzero(keep & ((target < 0) | (target >= k)))
    if bad.size:
        raise target_out_of_bounds(target, int(bad[0]), k)
    a, denom = cross_entropy_coefficients(target, weight, ignore_index, label_smoothing, k, logits.dtype)
    logp = log_softmax(logits) if n else logits.copy()
    rows = -np.sum(a * logp, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored under 'mean': NaN, as PyTorch
        scale = 1 / denom if code == 1 else 1.0
        loss = rows if code == 0 else np.asarray(np.sum(rows, dtype=np.float64) * scale, logits.dtype)
        dlogits = None
        if need_grad:
            dlogits = ((np.exp(logp) * np.sum(a, axis=1, keepdims=True) - a) * logits.dtype.type(scale))
            dlogits[target == ignore_index] = 0  # not 0 * scale: 'mean' with all ignored has scale inf
    return loss.astype(logits.dtype, copy=False), dlogits

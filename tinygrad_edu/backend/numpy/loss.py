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
    a = np.zeros((n, k), dtype)
    if k == 0:  # no classes: every target is ignored (any other is out of bounds), D = 0
        return a, np.float64(0)
    w = np.ones(k, dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    a[np.arange(n), t] = (1 - label_smoothing) * w[t]
    a += (label_smoothing / k) * w
    a[~keep] = 0
    return a, np.sum(w[t] * keep, dtype=np.float64)  # np.float64: 1 / 0 is inf, not an exception


def _cross_entropy_rows(logp: np.ndarray, target: np.ndarray, keep: np.ndarray, weight: np.ndarray | None,
                        label_smoothing: float) -> np.ndarray:
    """``loss_i``, the target term and the smoothing term apart, as loss.c and PyTorch compute them.

    Not ``-sum_c a[i, c] logp[i, c]``: a logit of -inf has ``logp = -inf`` and ``a = 0`` when
    label_smoothing is 0, and ``0 * -inf`` is NaN where PyTorch gives a finite loss. The
    smoothing sum is accumulated in float64, as the C kernel's.
    """
    (n, k), eps = logp.shape, label_smoothing
    if k == 0:  # PyTorch: eps / 0 classes is inf, times an empty sum: NaN rows when smoothing
        return np.full(n, np.nan if eps != 0 else 0, logp.dtype)
    w = np.ones(k, logp.dtype) if weight is None else weight
    t = np.where(keep, target, 0)
    rows = (1 - eps) * w[t] * -logp[np.arange(n), t]
    if eps != 0:
        smooth = -np.sum(w * logp, axis=1, dtype=np.float64).astype(logp.dtype)
        rows = rows + logp.dtype.type(eps / k) * smooth
    rows[~keep] = 0
    return rows


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
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored under 'mean': NaN, as PyTorch
        rows = _cross_entropy_rows(logp, target, keep, weight, label_smoothing)
        scale = 1 / denom if code == 1 else 1.0
        total = np.nan if k == 0 and label_smoothing != 0 else np.sum(rows, dtype=np.float64)  # as rows
        loss = rows if code == 0 else np.asarray(total * scale, logits.dtype)
        dlogits = None
        if need_grad:
            dlogits = ((np.exp(logp) * np.sum(a, axis=1, keepdims=True) - a) * logits.dtype.type(scale))
            dlogits[target == ignore_index] = 0  # not 0 * scale: 'mean' with all ignored has scale inf
    return loss.astype(logits.dtype, copy=False), dlogits

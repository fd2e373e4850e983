"""loss.c's binding: the fused cross-entropy, loss and d(logits) in one C call (twin: backend/numpy/loss.py)."""
from __future__ import annotations

import numpy as np

from ..checks import check_cross_entropy, target_out_of_bounds
from ._ffi import INT64, NULL, TG_ERR_INDEX, dense, from_buffer, kernel_table, raise_on_error

_CROSS_ENTROPY = kernel_table("cross_entropy")
_empty, _from_buffer, _INT64_DTYPE = np.empty, from_buffer, np.dtype(np.int64)  # PERF: bound once (~0.1 us a call)
_ndarray, _MEAN = np.ndarray, 1  # tg_reduction's TG_REDUCTION_MEAN


def cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0,
                  need_grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Fused log_softmax + nll_loss in one C call: ``(loss, dlogits)``; see the twin ``numpy.loss.cross_entropy``.

    The C kernel validates every target before writing anything; a bad one comes back
    as ``TG_ERR_INDEX`` with its position, raised here as PyTorch's ``IndexError``.
    """
    # PERF: the call of every training step (dense float logits [N, C], int64 targets [N], 'mean',
    # no weight, no smoothing) checked inline in a few comparisons, as _ffi.unary does; anything
    # else goes through check_cross_entropy and dense() below. Saves ~1 us of a 64x10 call.
    entry = _CROSS_ENTROPY.get(logits.dtype) if type(logits) is _ndarray and type(target) is _ndarray else None
    if (entry is not None and weight is None and reduction == "mean" and label_smoothing == 0.0
            and target.dtype == _INT64_DTYPE and logits.ndim == 2 and target.shape == logits.shape[:1]
            and type(ignore_index) is int and -2**63 <= ignore_index < 2**63
            and logits.flags.carray and target.flags.carray):  # carray: C-contiguous, aligned (and writable)
        return _call(entry, logits, target, None, ignore_index, _MEAN, 0.0, need_grad)
    code = check_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
    if not -2**63 <= ignore_index < 2**63:
        raise OverflowError(f"cross_entropy: ignore_index {ignore_index} does not fit in int64")
    weight = None if weight is None else dense(weight)
    return _call(_CROSS_ENTROPY[logits.dtype], dense(logits), dense(target), weight, int(ignore_index), code,
                 float(label_smoothing), need_grad)


def _call(entry: tuple, logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
          code: int, label_smoothing: float, need_grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """tg_cross_entropy on checked, dense arrays (code: the C enum tg_reduction)."""
    fn, ctype = entry
    n, k = logits.shape
    dtype = logits.dtype
    loss = _empty(n if code == 0 else (), dtype)
    dlogits = _empty((n, k), dtype) if need_grad else None
    bad = _empty(1, _INT64_DTYPE)
    rc = fn(_from_buffer(ctype, logits), _from_buffer(INT64, target),
            NULL if weight is None else _from_buffer(ctype, weight),
            _from_buffer(ctype, loss), NULL if dlogits is None else _from_buffer(ctype, dlogits),
            _from_buffer(INT64, bad), n, k, ignore_index, code, label_smoothing)
    if rc == TG_ERR_INDEX:
        raise target_out_of_bounds(target, int(bad[0]), k)
    if rc != 0:
        raise_on_error(rc, fn)
    return loss, dlogits

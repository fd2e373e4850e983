"""loss.c's binding: the fused cross-entropy, loss and d(logits) in one C call (twin: backend/numpy/loss.py)."""
from __future__ import annotations

import numpy as np

from ..checks import check_cross_entropy, target_out_of_bounds
from ._ffi import INT64, NULL, TG_ERR_INDEX, dense, from_buffer, kernel_table, raise_on_error

_CROSS_ENTROPY = kernel_table("cross_entropy")
_empty, _from_buffer, _INT64_DTYPE = np.empty, from_buffer, np.dtype(np.int64)  # PERF: bound once (~0.1 us a call)


def cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0,
                  need_grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Fused log_softmax + nll_loss in one C call: ``(loss, dlogits)``; see the twin ``numpy.loss.cross_entropy``.

    The C kernel validates every target before writing anything; a bad one comes back
    as ``TG_ERR_INDEX`` with its position, raised here as PyTorch's ``IndexError``.
    """
    code = check_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
    n, k = logits.shape
    if not -2**63 <= ignore_index < 2**63:
        raise OverflowError(f"cross_entropy: ignore_index {ignore_index} does not fit in int64")
    dtype = logits.dtype
    fn, ctype = _CROSS_ENTROPY[dtype]
    target, logits = dense(target), dense(logits)
    loss = _empty(n if code == 0 else (), dtype)
    dlogits = _empty((n, k), dtype) if need_grad else None
    bad = _empty(1, _INT64_DTYPE)
    rc = fn(_from_buffer(ctype, logits), _from_buffer(INT64, target),
            NULL if weight is None else _from_buffer(ctype, dense(weight)),
            _from_buffer(ctype, loss), NULL if dlogits is None else _from_buffer(ctype, dlogits),
            _from_buffer(INT64, bad), n, k, int(ignore_index), code, float(label_smoothing))
    if rc == TG_ERR_INDEX:
        raise target_out_of_bounds(target, int(bad[0]), k)
    if rc != 0:
        raise_on_error(rc, fn)
    return loss, dlogits

"""softmax.c's NumPy twin: softmax and log_softmax over the last dimension, and their backwards."""
from __future__ import annotations

import numpy as np

from ..checks import check_same


def _row_sum(a: np.ndarray) -> np.ndarray:
    """Sums over the last dimension, kept, accumulated in float64 and rounded back to a's dtype.

    As the C kernels (csrc/tg_vmath.h folds its partial sums into a double): NumPy sums a
    float32 row in float32, and along a strided axis (a transposed array) one element after
    another, so a row of 2**25 ones would stop counting at 2**24.
    """
    return np.sum(a, axis=-1, keepdims=True, dtype=np.float64).astype(a.dtype, copy=False)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension (>= 1-D): ``exp(x - max) / sum(exp(x - max))``.

    NOTE: subtracting the row max changes nothing mathematically and keeps exp() from
    overflowing (logits of 1e4 would give inf / inf = NaN otherwise).
    """
    check_same("softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / _row_sum(e)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last dimension: ``x - max - log(sum(exp(x - max)))`` (stable, as softmax)."""
    check_same("log_softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(_row_sum(np.exp(shifted)))


def softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out * (grad - sum(grad * out))`` over the last dimension, ``out`` the softmax."""
    check_same("softmax_backward", grad, out, min_ndim=1)
    return out * (grad - _row_sum(grad * out))


def log_softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad - exp(out) * sum(grad)`` over the last dimension, ``out`` the log_softmax."""
    check_same("log_softmax_backward", grad, out, min_ndim=1)
    return grad - np.exp(out) * _row_sum(grad)

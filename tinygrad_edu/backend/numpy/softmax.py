"""softmax.c's NumPy twin: softmax and log_softmax over the last dimension, and their backwards."""
from __future__ import annotations

import numpy as np

from ..checks import check_same


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension (>= 1-D): ``exp(x - max) / sum(exp(x - max))``.

    NOTE: subtracting the row max changes nothing mathematically and keeps exp() from
    overflowing (logits of 1e4 would give inf / inf = NaN otherwise).
    """
    check_same("softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last dimension: ``x - max - log(sum(exp(x - max)))`` (stable, as softmax)."""
    check_same("log_softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out * (grad - sum(grad * out))`` over the last dimension, ``out`` the softmax."""
    check_same("softmax_backward", grad, out, min_ndim=1)
    return out * (grad - np.sum(grad * out, axis=-1, keepdims=True))


def log_softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad - exp(out) * sum(grad)`` over the last dimension, ``out`` the log_softmax."""
    check_same("log_softmax_backward", grad, out, min_ndim=1)
    return grad - np.exp(out) * np.sum(grad, axis=-1, keepdims=True)

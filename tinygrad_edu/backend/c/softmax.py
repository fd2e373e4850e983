"""softmax.c's bindings: softmax and log_softmax over the last dimension, and their backwards.

Row-wise kernels: ``[..., cols]`` is seen as ``[rows, cols]``; the NumPy twins are in
``backend/numpy/softmax.py``, the loops in ``csrc/softmax.c``.
"""
from __future__ import annotations

import numpy as np

from ._ffi import binary, kernel_table, unary

_SOFTMAX, _SOFTMAX_BACKWARD = kernel_table("softmax"), kernel_table("softmax_backward")
_LOG_SOFTMAX, _LOG_SOFTMAX_BACKWARD = kernel_table("log_softmax"), kernel_table("log_softmax_backward")


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension (>= 1-D), max-subtracted: see csrc/softmax.c's NOTE."""
    return unary(_SOFTMAX, "softmax", x, rowwise=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last dimension: ``x - max - log(sum(exp(x - max)))``."""
    return unary(_LOG_SOFTMAX, "log_softmax", x, rowwise=True)


def softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out * (grad - sum(grad * out))`` over the last dimension, ``out`` the softmax."""
    return binary(_SOFTMAX_BACKWARD, "softmax_backward", grad, out, rowwise=True)


def log_softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad - exp(out) * sum(grad)`` over the last dimension, ``out`` the log_softmax."""
    return binary(_LOG_SOFTMAX_BACKWARD, "log_softmax_backward", grad, out, rowwise=True)

"""activations.c's bindings: relu, sigmoid, tanh_backward, leaky_relu, bias_relu and their backwards; erf, gelu.

Each is a plain function calling ``tg_<name>_f32/_f64`` through ``_ffi.unary`` (one array in)
or ``_ffi.binary`` (gradient and saved array in); the NumPy twins with the same names are in
``backend/numpy/activations.py``, the loops in ``csrc/activations.c``.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_bias_relu, check_same
from ._ffi import binary, call, kernel_table, unary

_RELU, _RELU_BACKWARD = kernel_table("relu"), kernel_table("relu_backward")
_SIGMOID, _SIGMOID_BACKWARD = kernel_table("sigmoid"), kernel_table("sigmoid_backward")
_TANH_BACKWARD, _BIAS_RELU = kernel_table("tanh_backward"), kernel_table("bias_relu")
_LEAKY, _LEAKY_BACKWARD = kernel_table("leaky_relu"), kernel_table("leaky_relu_backward")
_ERF, _GELU, _GELU_BACKWARD = kernel_table("erf"), kernel_table("gelu"), kernel_table("gelu_backward")


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` elementwise, any shape; NaN stays NaN (as ``torch.relu``)."""
    return unary(_RELU, "relu", x)


def relu_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """0 where ``out <= 0``, else ``grad``; ``out`` is relu's output (PyTorch's threshold_backward)."""
    return binary(_RELU_BACKWARD, "relu_backward", grad, out)


def bias_relu(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``relu(x + b)`` for x ``[rows, cols]``, b ``[cols]`` broadcast over the rows, in one pass."""
    rows, cols = check_bias_relu(x, b)
    return call(*_BIAS_RELU[x.dtype], (x, b), (rows, cols), x.dtype, (rows, cols))


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``x`` where ``x > 0``, else ``x * negative_slope``."""
    dtype = check_same("leaky_relu", x)
    return call(*_LEAKY[dtype], (x,), x.shape, dtype, (x.size,), (float(negative_slope),))


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``grad`` where the INPUT ``x > 0``, else ``grad * negative_slope``."""
    dtype = check_same("leaky_relu_backward", grad, x)
    return call(*_LEAKY_BACKWARD[dtype], (grad, x), x.shape, dtype, (x.size,), (float(negative_slope),))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` elementwise (an inlined, vectorised exp: see csrc/tg_vmath.h)."""
    return unary(_SIGMOID, "sigmoid", x)


def sigmoid_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out) * out``, ``out`` the sigmoid's output."""
    return binary(_SIGMOID_BACKWARD, "sigmoid_backward", grad, out)


def tanh_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out**2)``, ``out`` the tanh's output."""
    return binary(_TANH_BACKWARD, "tanh_backward", grad, out)


def erf(x: np.ndarray) -> np.ndarray:
    """``erf(x)`` elementwise: polynomials inlined into the loop, so it vectorises (csrc/tg_vmath.h)."""
    return unary(_ERF, "erf", x)


def gelu(x: np.ndarray) -> np.ndarray:
    """``x * 0.5 * (1 + erf(x / sqrt 2))``, GELU with approximate="none", in one pass."""
    return unary(_GELU, "gelu", x)


def gelu_backward(grad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``grad * (Phi(x) + x * phi(x))``, ``x`` GELU's INPUT (Phi, phi: the normal CDF and density)."""
    return binary(_GELU_BACKWARD, "gelu_backward", grad, x)

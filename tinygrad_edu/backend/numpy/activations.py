"""activations.c's NumPy twin: relu, sigmoid, tanh_backward, leaky_relu and their backwards; erf, gelu."""
from __future__ import annotations

import math

import numpy as np

from ..checks import check_bias_relu, check_same


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` elementwise, any shape; NaN stays NaN (as ``torch.relu``)."""
    check_same("relu", x)
    return np.asarray(np.maximum(x, 0))


def relu_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """0 where ``out <= 0``, else ``grad``; ``out`` is relu's output (PyTorch's threshold_backward)."""
    check_same("relu_backward", grad, out)
    return np.asarray(np.where(out <= 0, grad.dtype.type(0), grad), order="C")  # NaN out passes grad, as PyTorch


def bias_relu(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``relu(x + b)`` for x ``[rows, cols]``, b ``[cols]`` broadcast over the rows."""
    check_bias_relu(x, b)
    return np.maximum(x + b, 0)


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``x`` where ``x > 0``, else ``x * negative_slope``."""
    check_same("leaky_relu", x)
    return np.asarray(np.where(x > 0, x, x * x.dtype.type(negative_slope)))


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``grad`` where the INPUT ``x > 0``, else ``grad * negative_slope``."""
    check_same("leaky_relu_backward", grad, x)
    return np.asarray(np.where(x > 0, grad, grad * grad.dtype.type(negative_slope)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, computed from ``exp(-|x|)`` so that nothing overflows."""
    check_same("sigmoid", x)
    e = np.exp(-np.abs(x))
    return np.asarray(np.where(x >= 0, 1 / (1 + e), e / (1 + e)))


def sigmoid_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out) * out``, ``out`` the sigmoid's output."""
    check_same("sigmoid_backward", grad, out)
    return np.asarray(grad * (1 - out) * out)


def tanh_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out**2)``, ``out`` the tanh's output."""
    check_same("tanh_backward", grad, out)
    return np.asarray(grad * (1 - out * out))


# NOTE: NumPy has no erf. The twin calls math.erf (libm's, within an ulp) on each element rather
# than repeating the C kernel's polynomials: it stays three lines anyone can check, and it is an
# independent reference the C kernel is tested against. The price is speed, ~60 ns an element.
_math_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """``erf(x)`` elementwise, through math.erf (see the note above)."""
    check_same("erf", x)
    return np.asarray(_math_erf(x), dtype=np.float64).astype(x.dtype, copy=False)


def gelu(x: np.ndarray) -> np.ndarray:
    """``x * 0.5 * (1 + erf(x / sqrt 2))``, GELU with approximate="none"."""
    check_same("gelu", x)
    with np.errstate(invalid="ignore"):  # gelu(-inf) = -inf * 0 = NaN, as PyTorch's
        return np.asarray(x * 0.5 * (1 + erf(x * x.dtype.type(1 / math.sqrt(2)))))


def gelu_backward(grad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``grad * (Phi(x) + x * phi(x))``, ``x`` GELU's INPUT (Phi, phi: the normal CDF and density)."""
    check_same("gelu_backward", grad, x)
    cdf = 0.5 * (1 + erf(x * x.dtype.type(1 / math.sqrt(2))))
    with np.errstate(over="ignore", invalid="ignore"):  # x = +-inf: inf * 0 = NaN, as PyTorch's
        pdf = np.exp(-0.5 * x * x) * x.dtype.type(1 / math.sqrt(2 * math.pi))
        return np.asarray(grad * (cdf + x * pdf))

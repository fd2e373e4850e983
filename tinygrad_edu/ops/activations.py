"""Activations: relu, sigmoid, tanh, leaky_relu (C kernels in csrc/activations.c), elu, silu, softplus, hardtanh, gelu.

Each backward is an op of its own (PyTorch's threshold_backward, sigmoid_backward, ...): the
plain backward is then one kernel call, and create_graph can still differentiate it. The
kernels take float32/float64; other dtypes (float16, ints for relu) use NumPy directly.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.function import Op, wrap
from ..backend.checks import FLOAT_DTYPES
from .elementwise import Clamp, _erf_array, _zeros_like


class Sigmoid(Op):
    """s = 1 / (1 + exp(-x)); ds/dx = s (1 - s). Computed without overflow for large |x|."""
    node_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        if x.dtype in FLOAT_DTYPES:
            out = backend.kernels.sigmoid(x)
        else:
            e = np.exp(-np.abs(x))  # NOTE: exp of a non-positive number never overflows
            out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return SigmoidBackward.apply(grad, out)


class SigmoidBackward(Op):
    """dx = grad * (1 - y) * y as an op of its own (PyTorch's sigmoid_backward), so the plain
    backward runs one kernel and create_graph can still differentiate it."""
    node_name = "SigmoidBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, out):
        ctx.save_for_backward(grad, out)
        if out.dtype in FLOAT_DTYPES and grad.dtype == out.dtype:
            return backend.kernels.sigmoid_backward(grad, out)
        return grad * (1 - out) * out

    @staticmethod
    def backward(ctx, gg):
        grad, out = ctx.saved_tensors
        return SigmoidBackward.apply(gg, out), gg * grad * (1 - 2 * out)


class Tanh(Op):
    node_name = "TanhBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)  # NOTE: no C kernel: np.tanh is SIMD already and beat ours (activations.c)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return TanhBackward.apply(grad, out)


class TanhBackward(Op):
    """dx = grad * (1 - y^2), PyTorch's tanh_backward as an op (see SigmoidBackward)."""
    node_name = "TanhBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, out):
        ctx.save_for_backward(grad, out)
        if out.dtype in FLOAT_DTYPES and grad.dtype == out.dtype:
            return backend.kernels.tanh_backward(grad, out)
        return grad * (1 - out * out)

    @staticmethod
    def backward(ctx, gg):
        grad, out = ctx.saved_tensors
        return TanhBackward.apply(gg, out), -2 * gg * grad * out


class Relu(Op):
    """relu(x) = max(x, 0); the gradient at 0 is 0, as PyTorch's."""
    node_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        out = backend.kernels.relu(x) if x.dtype in FLOAT_DTYPES else np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return ThresholdBackward.apply(grad, out)


class ThresholdBackward(Op):
    """dx = 0 where y <= 0 else grad: PyTorch's threshold_backward(grad, relu's output, 0).

    An op of its own, as in PyTorch, so relu's backward is one C kernel and is still
    differentiable: d/dgrad is the same mask again; y gets zeros, as PyTorch gives (`zeros_like`)."""
    node_name = "ThresholdBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, out):
        ctx.save_for_backward(out)
        if out.dtype in FLOAT_DTYPES and grad.dtype == out.dtype:
            return backend.kernels.relu_backward(grad, out)
        return np.where(out <= 0, 0, grad).astype(grad.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        (out,) = ctx.saved_tensors
        return ThresholdBackward.apply(gg, out), _zeros_like(out)


class LeakyRelu(Op):
    """x if x > 0 else negative_slope * x; the gradient follows the sign of the input."""
    node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        if x.dtype in FLOAT_DTYPES:
            return backend.kernels.leaky_relu(x, negative_slope)
        return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return LeakyReluBackward.apply(grad, x, ctx.negative_slope)


class LeakyReluBackward(Op):
    """dx = grad if x > 0 else negative_slope * grad (PyTorch's leaky_relu_backward), as an op."""
    node_name = "LeakyReluBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        if x.dtype in FLOAT_DTYPES and grad.dtype == x.dtype:
            return backend.kernels.leaky_relu_backward(grad, x, negative_slope)
        return np.where(x > 0, grad, grad * negative_slope).astype(grad.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return LeakyReluBackward.apply(gg, x, ctx.negative_slope), _zeros_like(x)


# ---------------------------------------------------------------- more activations (nn.functional's)

class Elu(Op):
    """x where x > 0, else alpha (exp(x) - 1); the gradient is 1, or alpha exp(x)."""
    node_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        ctx.save_for_backward(x)
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.clamp(max=0).exp() * ctx.alpha).masked_fill(x > 0, 1)


class Silu(Op):
    """x sigmoid(x); the gradient is s (1 + x (1 - s)) with s = sigmoid(x)."""
    node_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x / (1 + np.exp(-x))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * s * (1 + x * (1 - s))


def _softplus(x):
    """log(1 + exp(x)) on a Tensor without overflow: relu(x) + log(exp(-relu(x)) + exp(min(x, 0))).

    NOTE: relu passes no gradient at 0 and clamp(max=0) passes all of it, so at x = 0 the
    gradient is exactly sigmoid(0) = 0.5, as it should be."""
    pos = x.relu()
    return pos + ((-pos).exp() + x.clamp(max=0).exp()).log()


def _softplus_array(z):
    """log(1 + exp(z)) without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


class Softplus(Op):
    """log(1 + exp(beta x)) / beta, or x where beta x > threshold (as PyTorch, for speed and
    precision); the gradient is sigmoid(beta x), or 1 past the threshold."""
    node_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        z = beta * x
        return np.where(z > threshold, x, _softplus_array(z) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta
        return grad * z.sigmoid().masked_fill(z > ctx.threshold, 1)


class Hardtanh(Clamp):
    """clamp(x, min_val, max_val); unlike clamp, no gradient at the bounds themselves (PyTorch's).

    The backward is Clamp's (grad times the saved mask); only the mask differs."""
    node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward((x > min_val) & (x < max_val))
        return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)


class Gelu(Op):
    """GELU(x) = x * Phi(x), Phi the standard normal CDF: 0.5 (1 + erf(x / sqrt 2)); with
    approximate="tanh", 0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). As torch's gelu.
    The exact form runs fused kernels (gelu, gelu_backward) for float32/float64."""
    node_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        if x.dtype in FLOAT_DTYPES:
            return backend.kernels.gelu(x)
        return 0.5 * x * (1 + _erf_array(x * x.dtype.type(1 / math.sqrt(2))))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = (k * (x + 0.044715 * x * x * x)).tanh()
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x))
        return GeluBackward.apply(grad, x)


class GeluBackward(Op):
    """dx = grad * (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal density: one
    kernel call for float32/float64 (PyTorch's gelu_backward). Its own gradients: d/dgrad is
    GELU's derivative again, d/dx = grad * phi(x) (2 - x^2)."""
    node_name = "GeluBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, x):
        ctx.save_for_backward(grad, x)
        if x.dtype in FLOAT_DTYPES and grad.dtype == x.dtype:
            return backend.kernels.gelu_backward(grad, x)
        cdf = 0.5 * (1 + _erf_array(x * x.dtype.type(1 / math.sqrt(2))))
        pdf = np.exp(-0.5 * x * x) * x.dtype.type(1 / math.sqrt(2 * math.pi))
        return grad * (cdf + x * pdf)

    @staticmethod
    def backward(ctx, gg):
        grad, x = ctx.saved_tensors
        pdf = (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))
        return GeluBackward.apply(gg, x), gg * grad * pdf * (2 - x * x)


# PERF: ReluBackward0 runs its kernel without the ThresholdBackward op around it when no graph is
# recorded: 1 us of each ReLU layer's backward (see _elementwise_fastpath.relu_backward_apply).
from . import _elementwise_fastpath  # noqa: E402

Relu._Backward.apply = _elementwise_fastpath.relu_backward_apply

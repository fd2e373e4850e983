"""Every built-in differentiable op: forward (on NumPy arrays) and backward (on Tensors) side by side.

Names follow PyTorch's graph: `MulBackward0` is the node `a * b` records. The forwards call
the kernels of the active backend (`backend.kernels`, C or NumPy) for the hot paths. Each
backward is written with Tensor ops, so that `create_graph=True` can differentiate it again.
A gradient of a broadcast shape need not be summed back here: the engine does that in one
place (`engine._check_grad`, as PyTorch's validate_outputs).
"""
from __future__ import annotations

import warnings

import numpy as np

from . import backend
from .autograd import grad_mode
from .backend.numpy_kernels import cross_entropy_coefficients

# NOTE: inf and nan are values here, as in PyTorch (log(0) = -inf), not warnings. Filtering by
# module costs nothing per op, unlike an np.errstate block around each forward.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=__name__)
from .autograd.function import Op


def _reduced_shape(shape: tuple, dims: tuple) -> tuple:
    """`shape` with each reduced dim kept as size 1 (what keepdim=True gives)."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(grad, shape: tuple, dims: tuple, keepdim: bool):
    """Spread the gradient of a reduction over the dims it reduced."""
    if not keepdim:
        grad = grad.reshape(_reduced_shape(shape, dims))
    return grad.expand(shape)


# ---------------------------------------------------------------- elementwise, two inputs
# The Tensor methods promote both operands to one dtype before these run.

class Add(Op):
    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx, grad):
        return grad, (grad if ctx.alpha == 1 else grad * ctx.alpha)


class Sub(Op):
    node_name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.alpha == 1 else grad * -ctx.alpha)


class Rsub(Op):
    """`number - x`: PyTorch records one input, the number is a constant."""
    node_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, x, number):
        return number - x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Mul(Op):
    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Op):
    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad / b if ctx.needs_input_grad[0] else None,
                -grad * a / (b * b) if ctx.needs_input_grad[1] else None)


class Pow(Op):
    """x ** exponent, the exponent a number: d/dx = exponent * x ** (exponent - 1)."""
    node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.exponent = exponent
        ctx.save_for_backward(x)
        return x ** exponent

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.exponent == 0:
            return grad * 0
        return grad * ctx.exponent * x ** (ctx.exponent - 1)


class PowTensor(Op):
    """a ** b, both tensors: d/da = b * a ** (b - 1), d/db = a ** b * log(a)."""
    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        da = (grad * b * a ** (b - 1)).masked_fill(b == 0, 0) if ctx.needs_input_grad[0] else None
        # PyTorch's convention: where a == 0 and b >= 0, d/db is 0 (not 0 * -inf = nan)
        db = (grad * out * a.log()).masked_fill((a == 0) & (b >= 0), 0) if ctx.needs_input_grad[1] else None
        return da, db


class RPow(Op):
    """number ** x: d/dx = number ** x * log(number)."""
    node_name = "PowBackward2"

    @staticmethod
    def forward(ctx, x, base):
        out = np.asarray(base, x.dtype) ** x
        ctx.log_base = float(np.log(base)) if base > 0 else float("nan") if base < 0 else 0.0
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * ctx.log_base


class Maximum(Op):
    """Elementwise max; where a == b the gradient is split in half, as in PyTorch."""
    node_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward((a > b) + 0.5 * (a == b))
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        (share_a,) = ctx.saved_tensors
        return grad * share_a, grad * (1 - share_a)


class Minimum(Op):
    node_name = "MinimumBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward((a < b) + 0.5 * (a == b))
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        (share_a,) = ctx.saved_tensors
        return grad * share_a, grad * (1 - share_a)


class Where(Op):
    """where(condition, a, b); the condition is a constant (a bool array), not an input."""
    node_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        zero = grad.new_zeros(())
        return grad.where(condition, zero), zero.where(condition, grad)


# ---------------------------------------------------------------- elementwise, one input

class Neg(Op):
    node_name = "NegBackward0"

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Abs(Op):
    node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.sign(x))
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (sign,) = ctx.saved_tensors
        return grad * sign


class Exp(Op):
    """d/dx exp(x) = exp(x): the saved output is the gradient's factor."""
    node_name = "ExpBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Op):
    node_name = "LogBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Op):
    """d/dx sqrt(x) = 1 / (2 sqrt(x))."""
    node_name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Sin(Op):
    node_name = "SinBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Op):
    node_name = "CosBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Reciprocal(Op):
    node_name = "ReciprocalBackward0"

    @staticmethod
    def forward(ctx, x):
        out = 1 / x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -grad * out * out


# The kernels take float32/float64; other dtypes (float16, ints for relu) use NumPy directly.
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Sigmoid(Op):
    """s = 1 / (1 + exp(-x)); ds/dx = s (1 - s). Computed without overflow for large |x|."""
    node_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        if x.dtype in _KERNEL_DTYPES:
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
        if out.dtype in _KERNEL_DTYPES and grad.dtype == out.dtype:
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
        if out.dtype in _KERNEL_DTYPES and grad.dtype == out.dtype:
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
        out = backend.kernels.relu(x) if x.dtype in _KERNEL_DTYPES else np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return ThresholdBackward.apply(grad, out)


def _zeros_like(t):
    """A zero gradient, as PyTorch gives (`zeros_like(grad)`) for the input of a piecewise-linear backward."""
    return type(t)._make(np.zeros_like(t._data))


class ThresholdBackward(Op):
    """dx = grad where y > 0 else 0: PyTorch's threshold_backward(grad, relu's output, 0).

    An op of its own, as in PyTorch, so relu's backward is one C kernel and is still
    differentiable: d/dgrad is the same mask again; y gets zeros, as PyTorch gives (`zeros_like`)."""
    node_name = "ThresholdBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, out):
        ctx.save_for_backward(out)
        if out.dtype in _KERNEL_DTYPES and grad.dtype == out.dtype:
            return backend.kernels.relu_backward(grad, out)
        return np.where(out > 0, grad, 0).astype(grad.dtype, copy=False)

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
        if x.dtype in _KERNEL_DTYPES:
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
        if x.dtype in _KERNEL_DTYPES and grad.dtype == x.dtype:
            return backend.kernels.leaky_relu_backward(grad, x, negative_slope)
        return np.where(x > 0, grad, grad * negative_slope).astype(grad.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return LeakyReluBackward.apply(gg, x, ctx.negative_slope), _zeros_like(x)


class Clamp(Op):
    """Gradient 1 where min <= x <= max, else 0 (PyTorch passes it at the bounds)."""
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.save_for_backward((x >= (-np.inf if min is None else min)) & (x <= (np.inf if max is None else max)))
        return np.clip(x, min, max).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


class ClampTensor(Op):
    """clamp with tensor bounds: the gradient goes to whichever of x, low, high was picked."""
    node_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, low, high):
        below, above = x < low, x > high
        ctx.save_for_backward(below, above, ~(below | above))
        return np.minimum(np.maximum(x, low), high)

    @staticmethod
    def backward(ctx, grad):
        below, above, inside = ctx.saved_tensors
        return grad * inside, grad * (below & ~above), grad * above


# ---------------------------------------------------------------- matrix products

def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2-D product through the active backend's kernel for floats, NumPy for the rest."""
    if a.dtype.kind == "f" and a.dtype.itemsize >= 4:
        return backend.kernels.matmul(a, b)
    return a @ b


class Mm(Op):
    """C = A B; dA = dC B^T, dB = A^T dC."""
    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad.mm(b.t()) if ctx.needs_input_grad[0] else None,
                a.t().mm(grad) if ctx.needs_input_grad[1] else None)


class Addmm(Op):
    """out = beta * bias + alpha * (A B): the Linear layer's forward in one node, as PyTorch."""
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, bias, a, b, beta=1, alpha=1):
        ctx.beta, ctx.alpha = beta, alpha
        ctx.save_for_backward(a, b)
        out = _matmul(a, b)
        if alpha != 1:
            out *= alpha
        out += bias if beta == 1 else beta * bias
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        g = grad if ctx.alpha == 1 else grad * ctx.alpha
        return (grad if ctx.beta == 1 else grad * ctx.beta,
                g.mm(b.t()) if ctx.needs_input_grad[1] else None,
                a.t().mm(g) if ctx.needs_input_grad[2] else None)


class Mv(Op):
    node_name = "MvBackward0"

    @staticmethod
    def forward(ctx, a, v):
        ctx.save_for_backward(a, v)
        return a @ v

    @staticmethod
    def backward(ctx, grad):
        a, v = ctx.saved_tensors
        return grad.unsqueeze(1) * v, a.t().mv(grad)


class Dot(Op):
    node_name = "DotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.dot(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * a


class Bmm(Op):
    """Batched, broadcasting matmul of tensors with >= 3 dims (or one of them)."""
    node_name = "BmmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.transpose(-1, -2), a.transpose(-1, -2) @ grad


# ---------------------------------------------------------------- reductions
# `dims` is a tuple of non-negative ints, already checked by the Tensor method.

class Sum(Op):
    node_name = "SumBackward0"

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False, dtype=None):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, tuple(range(x.ndim)) if dims is None else dims, keepdim
        return np.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.dims, ctx.keepdim)


class SumDim(Sum):
    node_name = "SumBackward1"


class Mean(Op):
    node_name = "MeanBackward0"

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, tuple(range(x.ndim)) if dims is None else dims, keepdim
        ctx.count = int(np.prod([x.shape[d] for d in ctx.dims]))
        return np.mean(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.shape, ctx.dims, ctx.keepdim) / ctx.count


class MeanDim(Mean):
    node_name = "MeanBackward1"


class Var(Op):
    """var = sum((x - mean)^2) / (N - correction); d/dx = 2 (x - mean) / (N - correction)."""
    node_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.denominator = max(int(np.prod([x.shape[d] for d in dims])) - correction, 0)
        ctx.save_for_backward(x)
        return np.var(x, axis=dims, keepdims=keepdim, ddof=correction)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        centred = x - x.mean(ctx.dims, keepdim=True)
        scale = 2 / ctx.denominator if ctx.denominator else float("nan")
        return _expand_back(grad, x.shape, ctx.dims, ctx.keepdim) * centred * scale


class Std(Op):
    """std = sqrt(var); d/dx = (x - mean) / ((N - correction) std)."""
    node_name = "StdBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.denominator = max(int(np.prod([x.shape[d] for d in dims])) - correction, 0)
        out = np.std(x, axis=dims, keepdims=keepdim, ddof=correction)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        centred = x - x.mean(ctx.dims, keepdim=True)
        denominator = ctx.denominator if ctx.denominator else float("nan")
        per_row = (grad / (out * denominator)).masked_fill(out == 0, 0)  # PyTorch: 0 where std is 0
        return _expand_back(per_row, x.shape, ctx.dims, ctx.keepdim) * centred


class Amax(Op):
    """max over dims; the gradient is shared evenly among tied maxima (PyTorch's amax and max())."""
    node_name = "AmaxBackward0"
    reduce = staticmethod(np.max)

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False):
        dims = tuple(range(x.ndim)) if dims is None else dims
        out = ctx._fn.reduce(x, axis=dims, keepdims=True)
        hits = x == out
        ctx.save_for_backward(hits / hits.sum(axis=dims, keepdims=True))
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return _expand_back(grad, ctx.shape, ctx.dims, ctx.keepdim) * share


class Amin(Amax):
    node_name = "AminBackward0"
    reduce = staticmethod(np.min)


class MaxAll(Amax):
    node_name = "MaxBackward1"


class MinAll(Amin):
    node_name = "MinBackward1"


class MaxDim(Op):
    """max(dim) -> (values, indices); the gradient goes to the index found, as PyTorch's."""
    node_name = "MaxBackward0"
    arg = staticmethod(np.argmax)

    @staticmethod
    def forward(ctx, x, dim, keepdim=False):
        if x.shape[dim] == 0:
            raise IndexError(f"max(): Expected reduction dim {dim} to have non-zero size.")
        idx = np.expand_dims(ctx._fn.arg(x, axis=dim), dim)
        values = np.take_along_axis(x, idx, dim)
        one_hot = np.zeros(x.shape, x.dtype)
        np.put_along_axis(one_hot, idx, 1, dim)
        ctx.save_for_backward(one_hot)
        ctx.dim, ctx.keepdim = dim, keepdim
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        return values, idx.astype(np.int64)

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        (one_hot,) = ctx.saved_tensors
        return (grad if ctx.keepdim else grad.unsqueeze(ctx.dim)) * one_hot


class MinDim(MaxDim):
    node_name = "MinBackward0"
    arg = staticmethod(np.argmin)


class LogSumExp(Op):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m the max: no overflow."""
    node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim=False):
        m = np.max(x, axis=dims, keepdims=True) if x.size else np.zeros(_reduced_shape(x.shape, dims), x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
        out = out if keepdim else np.squeeze(out, dims)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out

    @staticmethod
    def backward(ctx, grad, *_):
        x, out = ctx.saved_tensors
        shape = _reduced_shape(x.shape, ctx.dims)
        return grad.reshape(shape) * (x - out.reshape(shape)).exp()


def _over_last_dim(kernel, dim: int, *arrays: np.ndarray) -> np.ndarray:
    """Apply a kernel over the last dimension to `dim`: move it last, run, move it back.

    The C wrapper copies the moved (non-contiguous) arrays; 0-d arrays are seen as [1]."""
    if arrays[0].ndim == 0:
        return kernel(*(a.reshape(1) for a in arrays)).reshape(())
    last = arrays[0].ndim - 1
    if dim == last:
        return kernel(*arrays)
    return np.moveaxis(kernel(*(np.moveaxis(a, dim, last) for a in arrays)), last, dim)


def _softmax_kernel(name: str, dim: int, *arrays: np.ndarray) -> np.ndarray:
    """`backend.kernels.<name>` over `dim`; float16 goes through float32 (the kernels take float32/64)."""
    dtype = arrays[0].dtype
    if dtype not in _KERNEL_DTYPES:
        return _softmax_kernel(name, dim, *(a.astype(np.float32) for a in arrays)).astype(dtype)
    return _over_last_dim(getattr(backend.kernels, name), dim, *arrays)


class Softmax(Op):
    """y = exp(x - max) / sum(exp(x - max)); dx = y * (dy - sum(dy * y)).

    NOTE: subtracting the max changes nothing mathematically and keeps exp() from overflowing
    (logits of 1e4 would give inf / inf = nan otherwise)."""
    node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        out = _softmax_kernel("softmax", dim, x)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return SoftmaxBackwardData.apply(grad, y, ctx.dim)


class SoftmaxBackwardData(Op):
    """dx = y * (g - sum(g * y)), PyTorch's _softmax_backward_data as an op (one kernel call).

    Its own gradients: d/dg = the same map applied to gg; d/dy = gg * (g - sum(g y)) - g * sum(gg y)."""
    node_name = "SoftmaxBackwardDataBackward0"

    @staticmethod
    def forward(ctx, grad, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(grad, y)
        return _softmax_kernel("softmax_backward", dim, grad, y)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        d = ctx.dim
        dy = gg * (grad - (grad * y).sum(d, keepdim=True)) - grad * (gg * y).sum(d, keepdim=True)
        return SoftmaxBackwardData.apply(gg, y, d), dy


class LogSoftmax(Op):
    """y = x - max - log(sum(exp(x - max))); dx = dy - exp(y) * sum(dy). Stable as Softmax."""
    node_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        out = _softmax_kernel("log_softmax", dim, x)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return LogSoftmaxBackwardData.apply(grad, y, ctx.dim)


class LogSoftmaxBackwardData(Op):
    """dx = g - exp(y) * sum(g), PyTorch's _log_softmax_backward_data as an op.

    Its own gradients: d/dg = gg - sum(gg * exp(y)); d/dy = -gg * exp(y) * sum(g)."""
    node_name = "LogSoftmaxBackwardDataBackward0"

    @staticmethod
    def forward(ctx, grad, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(grad, y)
        return _softmax_kernel("log_softmax_backward", dim, grad, y)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        d, p = ctx.dim, y.exp()
        return gg - (gg * p).sum(d, keepdim=True), -gg * p * grad.sum(d, keepdim=True)


# ---------------------------------------------------------------- shapes and views

class View(Op):
    node_name = "ViewBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        out = x.view()
        try:
            out.shape = shape  # NOTE: assigning .shape never copies: it fails where a view cannot exist
        except AttributeError:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Reshape(Op):
    """reshape where no view exists: a copy (PyTorch records CloneBackward0 + UnsafeViewBackward0)."""
    node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.reshape(x, shape, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Unsqueeze(Op):
    node_name = "UnsqueezeBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.expand_dims(x, dim)

    @staticmethod
    def backward(ctx, grad):
        return grad.squeeze(ctx.dim)


class Squeeze(Op):
    node_name = "SqueezeBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, dims=None):
        ctx.shape = x.shape
        dims = tuple(d for d in (range(x.ndim) if dims is None else dims) if x.shape[d] == 1)
        return np.squeeze(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class SqueezeDim(Squeeze):
    node_name = "SqueezeBackward1"


class SqueezeDims(Squeeze):
    node_name = "SqueezeBackward2"


class Permute(Op):
    node_name = "PermuteBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(ctx.inverse)


class Transpose(Op):
    node_name = "TransposeBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        return np.swapaxes(x, dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.dims)


class T(Op):
    node_name = "TBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x):
        return x.T

    @staticmethod
    def backward(ctx, grad):
        return grad.t()


class Expand(Op):
    """A view that repeats size-1 dims without copying (stride 0); the gradient sums them back."""
    node_name = "ExpandBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to_size(ctx.shape)


class Clone(Op):
    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx, grad):
        return grad


class ToCopy(Op):
    """A dtype conversion; the gradient goes back converted to the input's dtype."""
    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, np_dtype):
        ctx.dtype = x.dtype
        return x.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.dtype)


# ---------------------------------------------------------------- indexing

class Index(Op):
    """x[key] with integer-array or boolean indices: a copy. Backward adds into zeros, with
    repeated indices accumulating (np.add.at)."""
    node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x.shape, key
        return x[key]

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, ctx.key, ctx.shape)


class BasicIndex(Index):
    """x[ints, slices, None, ...]: a view, as in PyTorch."""
    node_name = "SliceBackward0"
    is_view = True


class Select(BasicIndex):
    node_name = "SelectBackward0"


class IndexAdd(Op):
    """zeros(shape) with `values` added at `key`: the backward of indexing, and vice versa."""
    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, values, key, shape):
        ctx.key = key
        out = np.zeros(shape, values.dtype)
        np.add.at(out, key, values)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.key]


class IndexPut(Op):
    """x[key] = values as a graph node (PyTorch's CopySlices): the overwritten part of x gets no
    gradient; values get the gradient of the part they filled."""
    node_name = "CopySlices"

    @staticmethod
    def forward(ctx, x, values, key):
        ctx.key = key
        out = x.copy()
        out[key] = values
        kept = np.ones(x.shape, x.dtype)
        kept[key] = 0
        ctx.save_for_backward(kept)
        return out

    @staticmethod
    def backward(ctx, grad):
        (kept,) = ctx.saved_tensors
        return grad * kept, grad[ctx.key]


class IndexPutAdvanced(IndexPut):
    """x[int or bool tensor] = values (PyTorch's index_put_)."""
    node_name = "IndexPutBackward0"


class MaskedFill(Op):
    node_name = "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        return np.where(mask, np.asarray(value, x.dtype), x)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad.masked_fill(mask, 0)


class Cat(Op):
    node_name = "CatBackward0"

    @staticmethod
    def forward(ctx, dim, *xs):
        ndim = max(x.ndim for x in xs)
        ctx.legacy = [x.ndim == 1 and x.size == 0 and ndim > 1 for x in xs]  # PyTorch skips these
        kept = [x for x, skip in zip(xs, ctx.legacy) if not skip]
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in kept]
        return np.concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        parts = iter(grad.split(ctx.sizes, ctx.dim))
        return (None, *(grad.new_zeros(0) if skip else next(parts) for skip in ctx.legacy))


class Stack(Op):
    node_name = "StackBackward0"

    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim = dim
        return np.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None, *grad.unbind(ctx.dim))


class Split(Op):
    """One node, several outputs (views); the gradients that come back are joined with cat."""
    node_name = "SplitBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.dim = dim
        return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=dim))

    @staticmethod
    def backward(ctx, *grads):
        from .tensor import cat
        return cat(grads, ctx.dim)


class SplitWithSizes(Split):
    node_name = "SplitWithSizesBackward0"


class Unbind(Op):
    node_name = "UnbindBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        moved = np.moveaxis(x, dim, 0)  # a view with `dim` first, so each slice is a view too
        return tuple(moved[i] for i in range(moved.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        from .tensor import stack
        return stack(grads, ctx.dim)


# ---------------------------------------------------------------- losses

class CrossEntropyLoss(Op):
    """F.cross_entropy for logits [N, C] and int64 class targets [N], fused into one node.

    loss_i = (1 - eps) w[t_i] (-logp[i, t_i]) + eps / C sum_c w[c] (-logp[i, c]), logp =
    log_softmax(logits), 0 where t_i == ignore_index; 'mean' divides the sum by the sum of
    w[t_i] over the rows not ignored (PyTorch's formulas; csrc/loss.c derives the gradient
    A softmax - a, "softmax minus the smoothed, weighted one-hot").

    PyTorch records two nodes, NllLossBackward0 <- LogSoftmaxBackward0, and materialises
    log_softmax in between. We fuse them: one kernel reads the logits once and writes the
    loss and d(logits) together, which the backward only scales by the incoming gradient.
    Hence an honest node name of our own, CrossEntropyLossBackward0, not PyTorch's pair.
    Under create_graph the backward is instead written with Tensor ops (softmax minus the
    one-hot), so double backward works. `weight` and `target` get no gradient (PyTorch
    gives one to a weight that requires grad; ours are constants).
    """
    node_name = "CrossEntropyLossBackward0"

    @classmethod
    def apply(cls, logits, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
              label_smoothing: float = 0.0):
        """logits: Tensor [N, C]; target: np.ndarray int64 [N]; weight: np.ndarray [C] or None."""
        target = getattr(target, "_data", target)  # a Tensor's array is accepted too
        weight = getattr(weight, "_data", weight)
        need_grad = logits.requires_grad and grad_mode.is_grad_enabled()
        return super().apply(logits, target, weight, int(ignore_index), reduction, float(label_smoothing),
                             need_grad)

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction, label_smoothing, need_grad):
        dtype = logits.dtype
        work = dtype if dtype in _KERNEL_DTYPES else np.dtype(np.float32)  # float16 is computed in float32
        if weight is not None:
            weight = weight.astype(work, copy=False)
        loss, dlogits = backend.kernels.cross_entropy(logits.astype(work, copy=False), target, weight,
                                                      ignore_index, reduction, label_smoothing, need_grad)
        ctx.args = (target, weight, ignore_index, reduction, label_smoothing)
        ctx.save_for_backward(logits, None if dlogits is None else dlogits.astype(dtype, copy=False))
        return loss.astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        logits, dlogits = ctx.saved_tensors
        target, weight, ignore_index, reduction, label_smoothing = ctx.args
        grad = grad.unsqueeze(1) if reduction == "none" else grad
        if not grad_mode.is_grad_enabled():  # the usual backward: the kernel's gradient, scaled
            return grad * dlogits
        # create_graph: the same gradient as a differentiable expression of the logits
        from .tensor import Tensor
        a, denom = cross_entropy_coefficients(target, weight, ignore_index, label_smoothing, logits.shape[1],
                                              logits._data.dtype)
        scale = 1 / denom if reduction == "mean" else 1.0
        row_sums = Tensor._make(a.sum(axis=1, keepdims=True) * scale)
        return grad * (logits.softmax(1) * row_sums - Tensor._make(a * scale))

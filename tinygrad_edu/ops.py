"""Every built-in differentiable op: forward (on NumPy arrays) and backward (on Tensors) side by side.

Names follow PyTorch's graph: `MulBackward0` is the node `a * b` records. The forwards call
the kernels of the active backend (`backend.kernels`, C or NumPy) for the hot paths. Each
backward is written with Tensor ops, so that `create_graph=True` can differentiate it again.
A gradient of a broadcast shape need not be summed back here: the engine does that in one
place (`engine._check_grad`, as PyTorch's validate_outputs).
"""
from __future__ import annotations

import math
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

def _save_partners(ctx, a, b, first: int = 0) -> None:
    """Save a only if b needs a gradient, and b only if a does: the gradient of a product is the
    other factor. PyTorch saves no more, so an in-place change of an operand that no backward
    reads is no error (`y[0] = y[-1] * 2`: the 2 needs no gradient, y[-1] is not saved).
    `first` is the index of a among the op's arguments."""
    need = ctx.needs_input_grad  # () when no graph is recorded: nothing is kept then
    ctx.save_for_backward(a if need and need[first + 1] else None, b if need and need[first] else None)


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
        _save_partners(ctx, a, b)
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
        need = ctx.needs_input_grad  # d/da needs b; d/db needs a and b
        ctx.save_for_backward(a if need and need[1] else None, b)
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
# The kernels take float32/float64 only; other dtypes (ints) use NumPy's matmul. Operands
# go to the kernels as they are: transposed and sliced views are read in place, not copied.

def _kernel_dtype(x: np.ndarray) -> bool:
    return x.dtype == np.float32 or x.dtype == np.float64


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2-D product through the active backend's kernel for floats, NumPy for the rest."""
    return backend.kernels.matmul(a, b) if _kernel_dtype(a) else a @ b


def _is_transposed(x: np.ndarray) -> bool:
    """A matrix stored column by column, like the ``W.t()`` a Linear layer multiplies by."""
    return x.ndim == 2 and x.strides[0] < x.strides[1]


def _mm_backward(grad, a, b, need_a: bool, need_b: bool, b_transposed: bool) -> tuple:
    """Gradients of C = A B (Tensors): dA = dC B^T, dB = A^T dC, each None unless needed
    (A is None unless dB is needed, B None unless dA is: see `_save_partners`).

    When B is a transposed view (the ``W.t()`` of ``addmm(b, x, W.t())``), dB is computed
    as (dC^T A)^T: the product then lands in W's own row-major layout, so the gradient
    reaching ``W.grad`` through TBackward0 needs no copy. PyTorch does the same (a
    gradient takes its parameter's layout). With grad mode off -- every backward except
    ``create_graph=True`` -- this calls the kernels on the arrays directly (no graph to
    record, no op overhead); otherwise it uses Tensor ops, so the result is differentiable.
    """
    if grad_mode._enabled:
        da = grad.mm(b.t()) if need_a else None
        if not need_b:
            return da, None
        return da, grad.t().mm(a).t() if b_transposed else a.t().mm(grad)
    make = type(grad)._make
    g = grad._data
    x, w = (None if a is None else a._data), (None if b is None else b._data)
    if _kernel_dtype(g) and b_transposed:  # the Linear layer: w.T is the weight itself
        if need_a and need_b:
            dx, dw, _ = backend.kernels.linear_backward(g, x, w.T, True, True, False)
            return make(dx), make(dw.T)
        if need_b:  # dW = dC^T X, as linear_backward computes it, in W's own layout
            return None, make(_matmul(g.T, x).T)
    return (make(_matmul(g, w.T)) if need_a else None), (make(_matmul(x.T, g)) if need_b else None)


class Mm(Op):
    """C = A B; dA = dC B^T, dB = A^T dC."""
    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        ctx.b_transposed = _is_transposed(b)
        return _matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _mm_backward(grad, a, b, ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.b_transposed)


class Addmm(Op):
    """out = beta * bias + alpha * (A B): the Linear layer's forward in one node, as PyTorch.

    For ``addmm(b, x, W.t())`` (F.linear's 2-D case) this is one ``linear`` kernel call:
    W is read in place and the bias is added as each tile of the output is stored.
    """
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, bias, a, b, beta=1, alpha=1):
        ctx.beta, ctx.alpha, ctx.bias_shape = beta, alpha, bias.shape
        _save_partners(ctx, a, b, first=1)
        ctx.b_transposed = _is_transposed(b)
        if (beta == 1 and alpha == 1 and bias.shape == b.shape[1:] and bias.dtype == a.dtype
                and _kernel_dtype(a) and b.dtype == a.dtype):
            return backend.kernels.linear(a, b.T, bias)
        out = _matmul(a, b)
        if alpha != 1:
            out *= alpha
        out += bias if beta == 1 else beta * bias
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        g = grad if ctx.alpha == 1 else grad * ctx.alpha
        d_bias = None
        if need[0]:
            d_bias = grad if ctx.beta == 1 else grad * ctx.beta
            if len(ctx.bias_shape) == 1 and not grad_mode._enabled:  # the engine would sum it in two ops
                d_bias = type(grad)._make(d_bias._data.sum(0))
        return (d_bias, *_mm_backward(g, a, b, need[1], need[2], ctx.b_transposed))


class Mv(Op):
    node_name = "MvBackward0"

    @staticmethod
    def forward(ctx, a, v):
        _save_partners(ctx, a, v)
        return a @ v

    @staticmethod
    def backward(ctx, grad):
        a, v = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (grad.unsqueeze(1) * v if need[0] else None), (a.t().mv(grad) if need[1] else None)


class Dot(Op):
    node_name = "DotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        return np.dot(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (grad * b if need[0] else None), (grad * a if need[1] else None)


class Bmm(Op):
    """Batched, broadcasting matmul of tensors with >= 3 dims (or one of them).

    Float32/64 run on the ``bmm`` kernel: broadcast batch dims become stride-0 views (not
    copies), and a 2-D right operand shared by the whole batch folds the batch into the
    rows of one ``matmul``.
    """
    node_name = "BmmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        if not (_kernel_dtype(a) and b.dtype == a.dtype):
            return np.matmul(a, b)
        (m, k), n = a.shape[-2:], b.shape[-1]
        if b.ndim == 2:  # sizes spelled out: reshape(-1, ...) is ambiguous with a 0 in them
            return _matmul(a.reshape(math.prod(a.shape[:-1]), k), b).reshape(a.shape[:-1] + (n,))
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        count = math.prod(batch)
        a3 = np.broadcast_to(a, batch + (m, k)).reshape(count, m, k)
        b3 = np.broadcast_to(b, batch + (k, n)).reshape(count, k, n)
        return backend.kernels.bmm(a3, b3).reshape(batch + (m, n))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (grad @ b.transpose(-1, -2) if need[0] else None), (a.transpose(-1, -2) @ grad if need[1] else None)


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


# ---------------------------------------------------------------- convolution and pooling
# A convolution is a matrix product on the unfolded windows of its input (im2col; the two
# layouts and why are explained in csrc/conv.c). `conv2d` and `max_pool2d` check the arguments
# with PyTorch's messages and build the window; the Ops below trust it.

from typing import NamedTuple

from .autograd import function as _function  # _function.Tensor: the class, set once tensor.py is loaded
from .autograd import grad_mode as _grad_mode


class _Window(NamedTuple):
    """A sliding window over the last two dims: the (height, width) pairs every conv kernel takes.

    padding is (top, left); out_size is explicit, so bottom/right padding is what it implies.
    """
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    out_size: tuple[int, int]


def _batched(a: np.ndarray) -> np.ndarray:
    """[C, H, W] -> [1, C, H, W] (a view); 4-D arrays unchanged."""
    return a if a.ndim == 4 else a[None]


class Im2col(Op):
    """The windows of x as rows [N*OH*OW, C*kh*kw]; its gradient is col2im (and col2im's is im2col).

    Used by Conv2d's backward so that create_graph can differentiate it again. PyTorch's
    F.unfold records Im2ColBackward0 too, on the per-image transposed layout [N, C*kh*kw, L].
    """
    node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, window: _Window):
        ctx.shape, ctx.window = x.shape, window
        return backend.kernels.im2col(x, *window)

    @staticmethod
    def backward(ctx, grad):
        return Col2im.apply(grad, ctx.shape, ctx.window)


class Col2im(Op):
    """Rows [N*OH*OW, C*kh*kw] added back onto their windows of a zero [N, C, H, W] (F.fold's role)."""
    node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, shape: tuple, window: _Window):
        ctx.window = window
        return backend.kernels.col2im(cols, shape, *window)

    @staticmethod
    def backward(ctx, grad):
        return Im2col.apply(grad, ctx.window)


class Conv2d(Op):
    """out[n, o] = bias[o] + sum_c weight[o, c] (cross-correlated with) x[n, c], as GEMMs on the
    unfolded windows of x (P = OH*OW output pixels, K = C*kh*kw taps, W2d = weight [O, K]):

        forward  out_t [O, N*P] = W2d @ cols_t [K, N*P]           cols_t = im2col_t(x)
        weight   dW    [O, K]   = dout_t [O, N*P] @ cols [N*P, K]  cols = im2col(x)
        input    dx             = col2im_t(W2d^T [K, O] @ dout_t)
        bias     db             = dout summed over (n, y, x)

    Each product gets the big unfolded matrix in the layout the GEMM reads row by row (the
    reduction dim first), so it is never transposed; only output-sized arrays are. The kernels
    (conv2d_forward / conv2d_backward) run the batch in chunks that keep the unfolding in L2,
    on the thread pool, and the backward recomputes the unfolding rather than keeping it, as
    PyTorch does. Under create_graph the same formulas are written with differentiable ops
    (Im2col, Col2im, mm), so double backward works; its nodes are those ops where PyTorch
    records ConvolutionBackwardBackward0.
    """
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, window: _Window):
        ctx.window = window
        ctx.save_for_backward(x, weight)
        return backend.kernels.conv2d_forward(x, weight, bias, *window)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs, window, o = ctx.needs_input_grad, ctx.window, weight.shape[0]
        needs_db = len(needs) > 2 and needs[2]
        if _grad_mode.is_grad_enabled():  # create_graph: the same formulas, differentiable
            g_t = grad.transpose(0, 1).reshape(o, -1)
            dx = Col2im.apply(g_t.t().mm(weight.reshape(o, -1)), tuple(x.shape), window) if needs[0] else None
            dw = g_t.mm(Im2col.apply(x, window)).reshape(weight.shape) if needs[1] else None
            return dx, dw, grad.sum((0, 2, 3)) if needs_db else None
        grads = backend.kernels.conv2d_backward(grad._data, x._data, weight._data, *window, needs[0], needs[1],
                                                needs_db)
        wrap = _function.Tensor._make
        return tuple(None if g is None else wrap(g) for g in grads)


class MaxPool2d(Op):
    """(values, indices): the max of each window and its flat index in the H*W plane.

    The gradient goes to the element the index names; overlapping windows add up. Takes
    [N, C, H, W] or unbatched [C, H, W], as PyTorch's node does.
    """
    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, window: _Window):
        values, indices = backend.kernels.max_pool2d_forward(_batched(x), *window)
        if x.ndim == 3:
            values, indices = values[0], indices[0]
        ctx.shape = x.shape
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        (indices,) = ctx.saved_tensors
        return MaxPool2dBackward.apply(grad, indices._data, ctx.shape)


class MaxPool2dBackward(Op):
    """Max pooling's backward as an op, a scatter-add by index, so create_graph can go through it.

    Its own gradient gathers at the same indices (PyTorch's node has the same name).
    """
    node_name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx, grad_out, indices: np.ndarray, shape: tuple):
        ctx.save_for_backward(indices)
        batched_shape = shape if len(shape) == 4 else (1, *shape)
        return backend.kernels.max_pool2d_backward(_batched(grad_out), _batched(indices), batched_shape).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return MaxPool2dGather.apply(grad, indices._data)


class MaxPool2dGather(Op):
    """out[..., q] = grad_in[..., indices[q]] over each H*W plane: the adjoint of the scatter above."""
    node_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, grad_in, indices: np.ndarray):
        ctx.shape = grad_in.shape
        ctx.save_for_backward(indices)
        planes = grad_in.reshape(grad_in.shape[:-2] + (-1,))
        flat = indices.reshape(indices.shape[:-2] + (-1,))
        return np.take_along_axis(planes, flat, -1).reshape(indices.shape)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return MaxPool2dBackward.apply(grad, indices._data, ctx.shape)


def _pair(value, name: str, message: str) -> tuple[int, int]:
    """An int or a sequence of 1 or 2 ints as an (h, w) pair; else RuntimeError(message)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return (int(value[0]),) * 2 if len(value) == 1 else (int(value[0]), int(value[1]))
    raise RuntimeError(message.format(name=name, value=list(value) if isinstance(value, tuple) else value))


def _check_float_tensor(fn: str, name: str, t) -> None:
    from .tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if t.dtype.name not in ("float32", "float64"):
        # Where we differ: PyTorch also convolves and pools integer and half tensors on CPU.
        raise RuntimeError(f"{fn}: expected a float32 or float64 {name}, got {t.dtype}")


_CONV_PAIR = ("expected {name} to be a single integer value or a list of 2 values to match the convolution "
              "dimensions, but got {name}={value}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of input [N, C, H, W] (or [C, H, W]) with weight [O, C, kh, kw], plus bias [O].

    As torch.nn.functional.conv2d: out size floor((H + 2 pad - dil (kh - 1) - 1) / stride) + 1;
    padding an int, a pair, 'valid' (0) or 'same' (output size = input size; an odd total
    padding puts the extra row/column at the bottom/right, as PyTorch; stride must be 1).
    Where we differ: groups must be 1 (NotImplementedError), and only float32/float64.
    """
    _check_float_tensor("conv2d", "input", input)
    _check_float_tensor("conv2d", "weight", weight)
    if groups != 1:
        raise NotImplementedError(f"conv2d: groups={groups} is not supported, only groups=1")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
                           f"{list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d: expected weight to be 4-D [out_channels, in_channels, kH, kW], but got weight "
                           f"of size {list(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({input.type()}) and weight type ({weight.type()}) should be the same")
    o = weight.shape[0]
    if bias is not None:
        _check_float_tensor("conv2d", "bias", bias)
        if bias.ndim != 1 or bias.shape[0] != o:
            raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                               f"{o} elements, but got bias of size {list(bias.shape)} instead")
        if bias.dtype != input.dtype:
            c_name = {"float32": "float", "float64": "double"}  # PyTorch names the C types here
            raise RuntimeError(f"Input type ({c_name[input.dtype.name]}) and bias type ({c_name[bias.dtype.name]}) "
                               "should be the same")
    stride, dilation = _pair(stride, "stride", _CONV_PAIR), _pair(dilation, "dilation", _CONV_PAIR)
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("non-positive dilation is not supported")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    kernel = weight.shape[2], weight.shape[3]
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))  # the dilated kernel's extent
    if isinstance(padding, str):
        if padding == "valid":
            total = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = (span[0] - 1, span[1] - 1)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        pad = (total[0] // 2, total[1] // 2)
    else:
        pad = _pair(padding, "padding", _CONV_PAIR)
        if min(pad) < 0:
            raise RuntimeError("negative padding is not supported")
        total = (2 * pad[0], 2 * pad[1])
    if c != weight.shape[1]:
        raise RuntimeError(f"Given groups=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
                           f"to have {weight.shape[1]} channels, but got {c} channels instead")
    padded = (h + total[0], w + total[1])
    if padded[0] < span[0] or padded[1] < span[1]:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x {padded[1]}). Kernel size: "
                           f"({span[0]} x {span[1]}). Kernel size can't be greater than actual input size")
    out = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    result = Conv2d.apply(x, weight, bias, _Window(kernel, stride, pad, dilation, out))
    return result if input.ndim == 4 else result.squeeze(0)


def _pool_out(size: int, kernel: int, pad: int, stride: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape, with its argument checks, for one dimension."""
    if stride == 0:
        raise RuntimeError("stride should not be zero")
    if pad < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
    if pad > ((kernel - 1) * dilation + 1) // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pad}, "
                           f"kernel_size={kernel} and dilation={dilation}")
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:  # the last window must start inside the input
        out -= 1
    return out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each kernel_size window of input [N, C, H, W] (or [C, H, W]), as torch's max_pool2d.

    stride defaults to kernel_size; padding is implicit -inf (at most half the dilated kernel);
    ceil_mode rounds the output size up (the last window still starts inside the input).
    With return_indices, also the int64 flat index in H*W of each max (for max_unpool2d).
    Where we differ: only float32/float64.
    """
    _check_float_tensor("max_pool2d", "input", input)
    kernel = _pair(kernel_size, "kernel_size", "max_pool2d: kernel_size must either be a single int, or a tuple "
                                               "of two ints")
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        _pair(stride, "stride", "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints")
    pad = _pair(padding, "padding", "max_pool2d: padding must either be a single int, or a tuple of two ints")
    dilation = _pair(dilation, "dilation", "max_pool2d: dilation must be either a single int, or a tuple of two ints")
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    h, w = input.shape[-2:]
    out = tuple(_pool_out(*args, ceil_mode) for args in zip((h, w), kernel, pad, stride, dilation))
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}")
    if min(stride) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} dW: {stride[1]}")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dilation[0]} "
                           f"dilationW: {dilation[1]}")
    if 0 in input.shape[-3:]:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{list(input.shape)}")
    if pad[1] > kernel[1] // 2 or pad[0] > kernel[0] // 2:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {pad[1]}, "
                           f"padH = {pad[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    if min(out) < 1:
        c = input.shape[-3]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out[0]}x{out[1]}). "
                           "Output size is too small")
    try:
        values, indices = MaxPool2d.apply(input, _Window(kernel, stride, pad, dilation, out))
    except ValueError as e:  # a dilated window that skips over the whole input
        # Where we differ: PyTorch returns -inf there, with an index outside the window.
        raise RuntimeError(f"max_pool2d: a pooling window lies entirely in the padding (input {h}x{w}, kernel_size "
                           f"{kernel}, padding {pad}, dilation {dilation}); use less padding or dilation") from e
    return (values, indices) if return_indices else values


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



class Copy(Op):
    """dst.copy_(src): src's values, broadcast to dst's shape and converted to its dtype. The old
    values are overwritten, never computed with (an inf or NaN in dst does not leak through).
    PyTorch's CopyBackwards: a zero gradient for dst, the gradient for src (the engine sums it
    back to src's shape and dtype)."""
    node_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, dst, src):
        out = np.empty_like(dst)
        np.copyto(out, src, casting="unsafe")
        return out

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), grad


class Fill(Op):
    """x.fill_(number): PyTorch's FillBackward2 (fill_.Scalar); x gets a zero gradient."""
    node_name = "FillBackward2"

    @staticmethod
    def forward(ctx, x, value):
        return np.full_like(x, value)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad)


class FillTensor(Op):
    """x.fill_(value), value a 0-dim tensor: FillBackward3; value gets the sum of the gradient."""
    node_name = "FillBackward3"

    @staticmethod
    def forward(ctx, x, value):
        return np.full_like(x, value)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), grad.sum()


class Zero(Fill):
    """x.zero_(): ZeroBackward0, x gets a zero gradient."""
    node_name = "ZeroBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.zeros_like(x)


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


# ================================================================ added for issue 12 (torchcompat)
# New ops in one block, to be moved into the ops/ package's families (activations, elementwise,
# reduce, index) by the refactor. Forward on arrays, backward as Tensor ops (create_graph works).

import math as _math  # noqa: E402

# NOTE: NumPy has no erf; math.erf element by element (about 60 ns each) is exact but slow:
# GELU(approximate="tanh") is the fast, fully vectorised alternative.
_erf = np.frompyfunc(_math.erf, 1, 1)


def _erf_array(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erf(x), dtype=np.float64).astype(x.dtype, copy=False)


class Erf(Op):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt; d/dx = 2/sqrt(pi) exp(-x^2)."""
    node_name = "ErfBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-(x * x)).exp() * (2 / _math.sqrt(_math.pi))


class Gelu(Op):
    """GELU(x) = x * Phi(x), Phi the standard normal CDF: 0.5 (1 + erf(x / sqrt 2)); with
    approximate="tanh", 0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). As torch's gelu."""
    node_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_math.sqrt(2 / _math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + _erf_array(x * x.dtype.type(1 / _math.sqrt(2))))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            k = _math.sqrt(2 / _math.pi)
            t = (k * (x + 0.044715 * x * x * x)).tanh()
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x))
        cdf = 0.5 * (1 + Erf.apply(x * (1 / _math.sqrt(2))))
        pdf = (-0.5 * x * x).exp() * (1 / _math.sqrt(2 * _math.pi))
        return grad * (cdf + x * pdf)


class Log1p(Op):
    """log(1 + x), exact for small x; d/dx = 1 / (1 + x)."""
    node_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


class Norm(Op):
    """The vector p-norm over dims (None: all): (sum |x|^p)^(1/p); p = inf/-inf the max/min of |x|,
    p = 0 the count of non-zeros. The gradient at a zero norm is 0, as PyTorch's."""
    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        a = np.abs(x)
        if p == np.inf:
            out = a.max(axis=dims, keepdims=True)
        elif p == -np.inf:
            out = a.min(axis=dims, keepdims=True)
        elif p == 0:
            out = (a != 0).sum(axis=dims, keepdims=True).astype(x.dtype)
        elif p == 1:
            out = a.sum(axis=dims, keepdims=True)
        elif p == 2:
            out = np.sqrt((a * a).sum(axis=dims, keepdims=True))
        else:
            out = (a ** p).sum(axis=dims, keepdims=True) ** (1.0 / p)
        out = np.asarray(out, dtype=x.dtype)  # NumPy gives a scalar for a 0-d input
        result = out if keepdim else np.squeeze(out, axis=dims)
        ctx.save_for_backward(x, result)  # the output itself, so that create_graph differentiates through it
        ctx.p, ctx.dims, ctx.kept_shape = p, dims, out.shape
        return result

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, dims = ctx.p, ctx.dims
        out, grad = out.reshape(ctx.kept_shape), grad.reshape(ctx.kept_shape)  # the reduced dims back, size 1
        if p == 0:
            return None  # a count: no gradient (PyTorch's is undefined, x.grad stays None)
        sign = type(x)._make(np.sign(x._data))
        if p == 1:
            return grad * sign
        if p in (np.inf, -np.inf):  # shared evenly among the entries that reach the max (min)
            hits = (x.abs() == out).to(x.dtype)
            return grad * sign * hits / hits.sum(dim=dims, keepdim=True)
        zero = out == 0
        scale = (grad / out.masked_fill(zero, 1)).masked_fill(zero, 0)
        if p == 2:
            return x * scale
        return scale * sign * x.abs() ** (p - 1) / out.masked_fill(zero, 1) ** (p - 2)


class TakeAlong(Op):
    """x's entries at `indices` along `dim` (np.take_along_axis): the values of sort and topk."""
    node_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, x, indices, dim):
        ctx.args = (x.shape, indices, dim)
        return np.take_along_axis(x, indices, dim)

    @staticmethod
    def backward(ctx, grad):
        shape, indices, dim = ctx.args
        return PutAlong.apply(grad, indices, dim, shape)


class SortValues(TakeAlong):
    node_name = "SortBackward0"


class TopkValues(TakeAlong):
    node_name = "TopkBackward0"


class PutAlong(Op):
    """zeros(shape) with `values` added at `indices` along `dim`: the backward of TakeAlong."""
    node_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx, values, indices, dim, shape):
        ctx.args = (indices, dim)
        out = np.zeros(shape, values.dtype)
        np.put_along_axis(out, indices, values, dim)  # distinct indices per line (a permutation's)
        return out

    @staticmethod
    def backward(ctx, grad):
        indices, dim = ctx.args
        return TakeAlong.apply(grad, indices, dim)


class Repeat(Op):
    """Tile x `sizes` times along each dim (leading new dims for extra sizes), as Tensor.repeat."""
    node_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, sizes):
        ctx.args = (x.shape, sizes)
        return np.tile(x.reshape((1,) * (len(sizes) - x.ndim) + x.shape), sizes)

    @staticmethod
    def backward(ctx, grad):
        shape, sizes = ctx.args
        full = (1,) * (len(sizes) - len(shape)) + tuple(shape)
        split = [n for r, s in zip(sizes, full) for n in (r, s)]  # (r0, s0, r1, s1, ...)
        summed = grad.reshape(*split).sum(dim=tuple(range(0, len(split), 2)))
        return summed.reshape(*shape)


class Prod(Op):
    """The product over dims (None: all). Backward: out / x where x has no zero, else the product of
    the other entries (exclusive cumulative products from both sides), as PyTorch's zero cases."""
    node_name = "ProdBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = np.asarray(np.prod(x, axis=dims, keepdims=True))  # a 0-d array, not a scalar, for a 0-d x
        result = out if keepdim else np.squeeze(out, axis=dims)
        ctx.save_for_backward(x, result)  # the output itself, so that create_graph differentiates through it
        ctx.dims, ctx.kept_shape = dims, out.shape
        return result

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        out, grad = out.reshape(ctx.kept_shape), grad.reshape(ctx.kept_shape)
        if not (x._data == 0).any():
            return grad * out / x
        return grad * type(x)._make(_prod_of_others(x._data, ctx.dims))


class ProdDim(Prod):
    node_name = "ProdBackward1"  # PyTorch's name for prod over one dim


def _prod_of_others(x: np.ndarray, dims) -> np.ndarray:
    """For each entry, the product of the other entries of its reduced slice (no division by zero)."""
    dims = tuple(range(x.ndim)) if dims is None else dims
    kept = [d for d in range(x.ndim) if d not in dims]
    moved = np.moveaxis(x, list(dims), list(range(x.ndim - len(dims), x.ndim)))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), list(range(x.ndim - len(dims), x.ndim)), list(dims))


class Einsum(Op):
    """np.einsum(equation, *operands); each operand's gradient is an einsum of the output's gradient
    with the other operands (indices only that operand sums over are broadcast back)."""
    node_name = "EinsumBackward0"  # PyTorch records the products einsum decomposes into

    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        return np.asarray(np.einsum(equation, *operands, optimize=len(operands) > 2))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        subs = inputs.split(",")
        grads = [None]
        for i, sub in enumerate(subs):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            if len(set(sub)) != len(sub):
                raise RuntimeError(f"einsum backward: operand {i} repeats an index ('{sub}', a diagonal); "
                                   "not supported here")
            others = [s for j, s in enumerate(subs) if j != i]
            present = set(output).union(*others)
            target = "".join(c for c in sub if c in present)
            eq = ",".join([output] + others) + "->" + target
            g = Einsum.apply(eq, grad, *[o for j, o in enumerate(operands) if j != i])
            if target != sub:  # indices only this operand had: the gradient is constant along them
                shape = [operands[i].shape[k] for k in range(len(sub))]
                view = [shape[k] if c in present else 1 for k, c in enumerate(sub)]
                g = g.reshape(*view).expand(*shape)
            grads.append(g)
        return tuple(grads)


class Scatter(Op):
    """x with src's entries (or one value) written at `index` along `dim` (Tensor.scatter). The gradient
    reaches x where nothing was written, and src from the positions it was written to."""
    node_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, x, index, dim, src):
        ctx.args = (index, dim, np.shape(src))
        out = x.copy()
        values = src if np.ndim(src) == 0 else src[tuple(slice(0, n) for n in index.shape)]  # src may be larger
        np.put_along_axis(out, index, values, dim)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, dim, src_shape = ctx.args
        written = np.zeros(grad.shape, bool)
        np.put_along_axis(written, index, True, dim)
        grad_x = grad.masked_fill(type(grad)._make(written), 0)
        if not src_shape:
            return grad_x, None, None, None
        g_src = TakeAlong.apply(grad, index, dim)
        pad = [(0, s - i) for s, i in zip(src_shape, index.shape)]
        return grad_x, None, None, (g_src if not any(p for _, p in pad) else type(grad)._make(np.pad(g_src._data, pad)))


class ScatterValue(Scatter):
    node_name = "ScatterBackward1"  # PyTorch's name for scatter with a value

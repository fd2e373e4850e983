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


class Sigmoid(Op):
    """s = 1 / (1 + exp(-x)); ds/dx = s (1 - s). Computed without overflow for large |x|."""
    node_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))  # NOTE: exp of a non-positive number never overflows
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Tanh(Op):
    node_name = "TanhBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Relu(Op):
    """relu(x) = max(x, 0); the gradient at 0 is 0, as PyTorch's."""
    node_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)


class LeakyRelu(Op):
    node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad * slope


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


def _mm_backward(grad, a, b, need_a: bool, need_b: bool) -> tuple:
    """Gradients of C = A B (Tensors): dA = dC B^T, dB = A^T dC, each None unless needed.

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
        return da, grad.t().mm(a).t() if _is_transposed(b._data) else a.t().mm(grad)
    make = type(grad)._make
    g, x, w = grad._data, a._data, b._data
    if _kernel_dtype(g) and _is_transposed(w):  # the Linear layer: w.T is the weight itself
        dx, dw, _ = backend.kernels.linear_backward(g, x, w.T, need_a, need_b, False)
        return (make(dx) if need_a else None), (make(dw.T) if need_b else None)
    return (make(_matmul(g, w.T)) if need_a else None), (make(_matmul(x.T, g)) if need_b else None)


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
        return _mm_backward(grad, a, b, ctx.needs_input_grad[0], ctx.needs_input_grad[1])


class Addmm(Op):
    """out = beta * bias + alpha * (A B): the Linear layer's forward in one node, as PyTorch.

    For ``addmm(b, x, W.t())`` (F.linear's 2-D case) this is one ``linear`` kernel call:
    W is read in place and the bias is added as each tile of the output is stored.
    """
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, bias, a, b, beta=1, alpha=1):
        ctx.beta, ctx.alpha, ctx.bias_shape = beta, alpha, bias.shape
        ctx.save_for_backward(a, b)
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
        return (d_bias, *_mm_backward(g, a, b, need[1], need[2]))


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
    """Batched, broadcasting matmul of tensors with >= 3 dims (or one of them).

    Float32/64 run on the ``bmm`` kernel: broadcast batch dims become stride-0 views (not
    copies), and a 2-D right operand shared by the whole batch folds the batch into the
    rows of one ``matmul``.
    """
    node_name = "BmmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
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


class Softmax(Op):
    """y = exp(x - max) / sum(exp(x - max)); dx = y * (dy - sum(dy * y)).

    NOTE: subtracting the max changes nothing mathematically and keeps exp() from overflowing
    (logits of 1e4 would give inf / inf = nan otherwise)."""
    node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        e = np.exp(x - np.max(x, axis=dim, keepdims=True)) if x.size else x.copy()
        out = np.asarray(e / np.sum(e, axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(ctx.dim, keepdim=True))


class LogSoftmax(Op):
    """y = x - max - log(sum(exp(x - max))); dx = dy - exp(y) * sum(dy)."""
    node_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        shifted = x - np.max(x, axis=dim, keepdims=True) if x.size else x.copy()
        out = np.asarray(shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True)))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad - y.exp() * grad.sum(ctx.dim, keepdim=True)


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

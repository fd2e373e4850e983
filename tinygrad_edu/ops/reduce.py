"""Reductions: sum, mean, var, std, amax/amin, max/min over a dim, logsumexp, norm, prod.

`dims` is a tuple of non-negative ints, already checked by the Tensor method. Each backward
spreads the gradient back over the reduced dims (`_expand_back`).
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Op, wrap


def _reduced_shape(shape: tuple, dims: tuple) -> tuple:
    """`shape` with each reduced dim kept as size 1 (what keepdim=True gives)."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(grad, shape: tuple, dims: tuple, keepdim: bool):
    """Spread the gradient of a reduction over the dims it reduced."""
    if not keepdim:
        grad = grad.reshape(_reduced_shape(shape, dims))
    return grad.expand(shape)


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
        sign = wrap(np.sign(x._data))
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


class Prod(Op):
    """The product over dims (None: all). Backward: out / x where x has no zero, else the product of
    the other entries of each reduced slice, as PyTorch's prod_backward.

    With grad mode off (a plain backward) the product of the others comes from exclusive cumulative
    products in NumPy. Under ``create_graph=True`` it is built from Tensor ops instead
    (`_prod_of_others_graph`), so that it can be differentiated again.
    """
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
        if x.ndim == 0:
            return grad  # the product of one number is that number (PyTorch returns grad as it is)
        out, grad = out.reshape(ctx.kept_shape), grad.reshape(ctx.kept_shape)
        if not (x._data == 0).any():
            return grad * (out / x)
        if grad_mode.is_grad_enabled():
            return grad * _prod_of_others_graph(x, ctx.dims)
        return grad * wrap(_prod_of_others(x._data, ctx.dims))


class ProdDim(Prod):
    node_name = "ProdBackward1"  # PyTorch's name for prod over one dim


def _prod_of_others_graph(x, dims: tuple):
    """The product of the other entries of each reduced slice, as Tensor ops (differentiable), for
    an x with zeros. With p the product of the slice's non-zero entries and c its count of zeros:
    c = 0: p / x_k; c = 1: the zero entry gets p, the others p / x_k * (the zero);
    c = 2: a zero entry gets p * (the other zero), the others p / x_k * (zero_a * zero_b);
    c >= 3: everything 0 (a product of at least two zeros), whose first derivatives are 0 too.
    Each formula is the polynomial prod_{j != k} x_j itself for c <= 2, so every order of derivative
    is exact there; for c >= 3 values and first derivatives (second-order gradients of prod) are
    exact. PyTorch (cumprod-based) is also exact beyond: a third derivative through 3+ zeros differs.
    """
    zero = x._data == 0
    count = zero.sum(axis=dims, keepdims=True)
    nonzero_x = x.masked_fill(zero, 1)
    p = Prod.apply(nonzero_x, dims, True)
    zeros_only = x.masked_fill(~zero, 0)
    s = zeros_only.sum(dim=dims, keepdim=True)  # the zero itself (c = 1), zero_a + zero_b (c = 2)
    none, one, two = (wrap((count == c).astype(x._data.dtype)) for c in (0, 1, 2))
    zeros_product = none + s * one + (s * s - (zeros_only * zeros_only).sum(dim=dims, keepdim=True)) * 0.5 * two
    other_zeros = one + (s - x) * two  # for a zero entry: the product of the slice's other zeros
    return (p * other_zeros).where(wrap(zero), p / nonzero_x * zeros_product)


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

"""Indexing, joining and splitting: x[key], x[key] = v, masked_fill, cat, stack, split, unbind, embedding,
sort/topk's values (take along a dim), scatter.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, wrap


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
        return Cat.apply(ctx.dim, *grads)


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
        return Stack.apply(ctx.dim, *grads)


# ---------------------------------------------------------------- lookup

class Embedding(Op):
    """weight[indices] (rows of the table; indices checked by the caller). The backward adds
    each output row's gradient into its table row; the padding_idx row gets none."""
    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.indices, ctx.padding_idx, ctx.shape = indices, padding_idx, weight.shape
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        indices = ctx.indices
        if ctx.padding_idx is not None:
            grad = grad.masked_fill(wrap((indices == ctx.padding_idx)[..., None]), 0)
        return IndexAdd.apply(grad, indices, ctx.shape)


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
        grad_x = grad.masked_fill(wrap(written), 0)
        if not src_shape:
            return grad_x, None, None, None
        g_src = TakeAlong.apply(grad, index, dim)
        pad = [(0, s - i) for s, i in zip(src_shape, index.shape)]
        return grad_x, None, None, (g_src if not any(p for _, p in pad) else wrap(np.pad(g_src._data, pad)))


class ScatterValue(Scatter):
    node_name = "ScatterBackward1"  # PyTorch's name for scatter with a value

"""Shapes and views: view, reshape, (un)squeeze, permute, transpose, expand, repeat, clone, dtype casts.

A view op (`is_view = True`) returns NumPy views of its input: the output shares the input's
memory and version counter, as PyTorch's views do. Each backward undoes the reshaping.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


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

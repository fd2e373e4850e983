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


# ---------------------------------------------------------------- diagonals: diagonal, diag_embed, trace

def diagonal_view(a: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    """The diagonal of a's (dim1, dim2) planes as a writable view: the other dims in order, then the
    diagonal (PyTorch's layout). NumPy's np.diagonal is read-only, so the view is made with
    as_strided: one stride, the sum of the two dims' strides, walks down the diagonal."""
    start = [slice(None)] * a.ndim
    start[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    a = a[tuple(start)]  # the diagonal now starts at a[..., 0, ..., 0, ...]
    rest = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    length = max(min(a.shape[dim1], a.shape[dim2]), 0)
    return np.lib.stride_tricks.as_strided(
        a, [a.shape[d] for d in rest] + [length], [a.strides[d] for d in rest] + [a.strides[dim1] + a.strides[dim2]],
        writeable=a.flags.writeable)


class Diagonal(Op):
    """x.diagonal(offset, dim1, dim2): a view; the gradient is written into the diagonal of zeros."""
    node_name = "DiagonalBackward0"
    is_view = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args = (x.shape, offset, dim1, dim2)
        return diagonal_view(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return DiagonalBackward.apply(grad, *ctx.args)


class DiagonalCopy(Diagonal):
    """torch.diag of a matrix: its diagonal as a new tensor, not a view."""
    node_name = "DiagonalBackward0_copy"
    is_view = False

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        return Diagonal.forward(ctx, x, offset, dim1, dim2).copy()


class DiagEmbed(Op):
    """Zeros of `shape` with x written along the diagonal (offset, dim1, dim2): diag_embed, and the
    backward of diagonal. Its gradient is that diagonal of the output's gradient."""
    node_name = "DiagEmbedBackward0"

    @staticmethod
    def forward(ctx, x, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = np.zeros(shape, x.dtype)
        diagonal_view(out, offset, dim1, dim2)[...] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad.diagonal(*ctx.args)


class DiagonalBackward(DiagEmbed):
    node_name = "DiagonalBackwardBackward0"


class Trace(Op):
    """The sum of a matrix's main diagonal; the gradient is grad on that diagonal, 0 elsewhere."""
    node_name = "TraceBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return np.asarray(np.trace(x), np.int64 if x.dtype.kind in "biu" else x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return DiagonalBackward.apply(grad.expand(min(ctx.shape)), ctx.shape, 0, 0, 1)

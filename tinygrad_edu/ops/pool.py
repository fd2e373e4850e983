"""Max pooling (C kernels in csrc/pool.c), on the sliding `Window` of ops/conv.py.

PyTorch computes `F.max_pool2d` as max_pool2d_with_indices: the max of each window and where
it was, and its backward (MaxPool2DWithIndicesBackward0) sends each output gradient to that
one input element, adding up where windows overlap. `nn.functional.max_pool2d` checks the
arguments with PyTorch's messages and builds the `Window`; the ops below trust it.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Op
from .conv import Window


def _batched(a: np.ndarray) -> np.ndarray:
    """[C, H, W] -> [1, C, H, W] (a view); 4-D arrays unchanged."""
    return a if a.ndim == 4 else a[None]


class MaxPool2d(Op):
    """(values, indices): the max of each window and its flat index in the H*W plane.

    The gradient goes to the element the index names; overlapping windows add up. Takes
    [N, C, H, W] or unbatched [C, H, W], as PyTorch's node does.
    """
    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, window: Window):
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

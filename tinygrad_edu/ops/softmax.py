"""softmax and log_softmax over one dim, and their backwards as ops (C kernels in csrc/softmax.c)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..backend.checks import FLOAT_DTYPES


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
    if dtype not in FLOAT_DTYPES:
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

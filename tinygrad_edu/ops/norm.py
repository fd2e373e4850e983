"""batch_norm and layer_norm as single nodes (PyTorch's NativeBatchNormBackward0, NativeLayerNormBackward0)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


class NativeBatchNorm(Op):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1), as PyTorch's node.

    training: mean and biased var of the batch (over every dim but 1), and the running stats
    (arrays, updated in place here) move by `momentum` towards mean and the unbiased var;
    otherwise the running stats are used. The backward recomputes the batch statistics from x
    with Tensor ops, so that create_graph differentiates them too:
        dx = invstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * weight  (training)
        dx = invstd * g  (eval);  dweight = sum(dy * xhat);  dbias = sum(dy)."""
    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        dims = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if training:
            mean, var = x.mean(axis=dims), x.var(axis=dims)
            n = x.size // x.shape[1]
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * n / (n - 1) * var).astype(running_var.dtype, copy=False)
        else:
            mean, var = running_mean.astype(x.dtype, copy=False), running_var.astype(x.dtype, copy=False)
        invstd = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        out = (x - mean.reshape(shape)) * invstd.reshape(shape)
        if weight is not None:
            out *= weight.reshape(shape)
        if bias is not None:
            out += bias.reshape(shape)
        ctx.training, ctx.eps, ctx.dims, ctx.shape = training, eps, dims, shape
        ctx.save_for_backward(x, weight, None if training else mean.reshape(shape), invstd.reshape(shape))
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_tensors
        dims = ctx.dims
        if ctx.training:
            xhat, invstd = _standardize(x, dims, ctx.eps)
        else:
            xhat = (x - mean) * invstd
        g = grad * weight.reshape(ctx.shape) if weight is not None else grad
        dx = None
        if ctx.needs_input_grad[0]:
            dx = _standardize_backward(g, xhat, invstd, dims) if ctx.training else g * invstd
        dweight = (grad * xhat).sum(dims) if ctx.needs_input_grad[1] else None
        dbias = grad.sum(dims) if ctx.needs_input_grad[2] else None
        return dx, dweight, dbias


def _standardize(x, dims: tuple, eps: float) -> tuple:
    """(x - mean) / sqrt(biased var + eps) over dims, and that 1/sqrt, with Tensor ops (so that
    a backward using them can itself be differentiated)."""
    centered = x - x.mean(dims, keepdim=True)
    invstd = ((centered ** 2).mean(dims, keepdim=True) + eps) ** -0.5
    return centered * invstd, invstd


def _standardize_backward(g, xhat, invstd, dims: tuple):
    """The gradient through xhat = standardize(x) over dims, given g = dL/dxhat:
    invstd * (g - mean(g) - xhat * mean(g * xhat)) (mean and variance depend on x too)."""
    return invstd * (g - g.mean(dims, keepdim=True) - xhat * (g * xhat).mean(dims, keepdim=True))


class NativeLayerNorm(Op):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics over the last
    `normalized_ndim` dims of each sample (weight and bias have those dims' shape)."""
    node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim, eps):
        dims = tuple(range(x.ndim - normalized_ndim, x.ndim))
        mean = x.mean(axis=dims, keepdims=True)
        out = (x - mean) / np.sqrt(x.var(axis=dims, keepdims=True) + eps)
        if weight is not None:
            out *= weight
        if bias is not None:
            out += bias
        ctx.dims, ctx.eps, ctx.batch_dims = dims, eps, tuple(range(x.ndim - normalized_ndim))
        ctx.save_for_backward(x, weight)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        xhat, invstd = _standardize(x, ctx.dims, ctx.eps)
        g = grad * weight if weight is not None else grad
        dx = _standardize_backward(g, xhat, invstd, ctx.dims) if ctx.needs_input_grad[0] else None
        dweight = (grad * xhat).sum(ctx.batch_dims) if ctx.needs_input_grad[1] else None
        dbias = grad.sum(ctx.batch_dims) if ctx.needs_input_grad[2] else None
        return dx, dweight, dbias

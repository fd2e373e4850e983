"""The ops nn.functional needs beyond ops.py, written as ops.py's are (forward on NumPy arrays,
backward on Tensors so create_graph works), with PyTorch's node names."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..ops import Clamp
from ..tensor import Tensor


class NllLoss(Op):
    """nll_loss of 2-D log-probabilities [M, C] with int64 targets [M] (checked by the caller).

    loss_i = -w[t_i] * logp[i, t_i] (0 where t_i == ignore_index); 'mean' divides the sum by
    sum_i w[t_i] over the kept targets (nan when none is kept, as PyTorch). The loss is linear
    in logp, so its gradient is a constant array times the upstream gradient."""
    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        m = logp.shape[0]
        kept = target != ignore_index
        safe = np.where(kept, target, 0)
        w = (weight[safe] if weight is not None else np.ones(m, logp.dtype)) * kept
        w = w.astype(logp.dtype, copy=False)
        loss = -logp[np.arange(m), safe] * w
        denom = w.sum() if reduction == "mean" else 1
        coeff = np.zeros_like(logp)
        rows = np.flatnonzero(kept)  # ignored rows get no gradient, even when all are (and the mean is nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            coeff[rows, safe[rows]] = -w[rows] / denom
            out = loss if reduction == "none" else np.asarray(loss.sum() / denom, logp.dtype)
        ctx.per_row = reduction == "none"
        ctx.save_for_backward(coeff)
        return out

    @staticmethod
    def backward(ctx, grad):
        (coeff,) = ctx.saved_tensors
        return (grad.unsqueeze(1) if ctx.per_row else grad) * coeff


class _PointwiseLoss(Op):
    """A loss of the form reduce(f(x, t)) as one node, as PyTorch's fused losses.

    Subclasses give `value(x, t, *consts)` on arrays and `grads(x, t, *consts)` -> (df/dx,
    df/dt) on Tensors; the upstream gradient is spread over the elements here (/ n for
    'mean'). x and t broadcast; the engine sums each gradient back to its input's shape.
    Extra arguments (class weights, pos_weight) are constants: no gradient flows into them."""

    @staticmethod
    def forward(ctx, x, t, reduction, *consts):
        loss = ctx._fn.value(x, t, *consts)
        ctx.reduction, ctx.n = reduction, loss.size
        ctx.save_for_backward(x, t, *consts)
        if reduction == "none":
            return loss
        return np.asarray(loss.mean() if reduction == "mean" else loss.sum(), loss.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, t, *consts = ctx.saved_tensors
        if ctx.reduction == "mean":
            grad = grad / ctx.n
        dx, dt = ctx._fn.grads(x, t, *consts)
        return (grad * dx if ctx.needs_input_grad[0] else None,
                grad * dt if ctx.needs_input_grad[1] else None)


class MseLoss(_PointwiseLoss):
    """(x - t)^2; d/dx = 2 (x - t) = -d/dt."""
    node_name = "MseLossBackward0"

    @staticmethod
    def value(x, t):
        return (x - t) ** 2

    @staticmethod
    def grads(x, t):
        d = (x - t) * 2
        return d, -d


def _clamped_log(x):
    """log(x) clamped at -100, PyTorch's way of keeping BCE finite at x = 0 and x = 1."""
    with np.errstate(divide="ignore"):  # log(0) = -inf is then clamped: not a fault
        return np.maximum(np.log(x), -100)


class BinaryCrossEntropy(_PointwiseLoss):
    """-w (t log x + (1-t) log(1-x)), logs clamped at -100.

    d/dx = w (x - t) / max(x (1 - x), 1e-12): PyTorch's formula, finite at x = 0 and 1;
    d/dt = w (log(1 - x) - log(x))."""
    node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def value(x, t, w=None):
        loss = -(t * _clamped_log(x) + (1 - t) * _clamped_log(1 - x))
        return (loss if w is None else loss * w).astype(x.dtype, copy=False)

    @staticmethod
    def grads(x, t, w=None):
        dx = (x - t) / (x * (1 - x)).clamp(min=1e-12)
        dt = (1 - x).log() - x.log()  # unclamped, as PyTorch's (infinite at x = 0 or 1)
        return (dx, dt) if w is None else (dx * w, dt * w)


def _softplus(x):
    """log(1 + exp(x)) on a Tensor without overflow: relu(x) + log(exp(-relu(x)) + exp(min(x, 0))).

    NOTE: relu passes no gradient at 0 and clamp(max=0) passes all of it, so at x = 0 the
    gradient is exactly sigmoid(0) = 0.5, as it should be."""
    pos = x.relu()
    return pos + ((-pos).exp() + x.clamp(max=0).exp()).log()


def _softplus_array(z):
    """log(1 + exp(z)) without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


class BinaryCrossEntropyWithLogits(_PointwiseLoss):
    """w ((1 - t) x + lw softplus(-x)) with lw = 1 + (pos_weight - 1) t.

    d/dx = w ((1 - t) - lw sigmoid(-x)); d/dt = w ((pos_weight - 1) softplus(-x) - x)."""
    node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def value(x, t, w=None, pos_weight=None):
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        loss = (1 - t) * x + lw * _softplus_array(-x)
        return (loss if w is None else loss * w).astype(x.dtype, copy=False)

    @staticmethod
    def grads(x, t, w=None, pos_weight=None):
        sig_neg = (-x).sigmoid()
        if pos_weight is None:
            dx, dt = (1 - t) - sig_neg, -x
        else:
            dx = (1 - t) - (1 + (pos_weight - 1) * t) * sig_neg
            dt = (pos_weight - 1) * _softplus(-x) - x
        return (dx, dt) if w is None else (dx * w, dt * w)


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


class MultiMarginLoss(Op):
    """Multi-class hinge loss of scores [M, C] and int64 targets [M] (checked by the caller):
    loss_m = sum over i != y of w[y] * max(0, margin - x[y] + x[i])^p / C.

    Backward (Tensor ops on x, so p = 2 has its second derivative): with h_i = d/dz of the
    term (1 or 2z where z > 0, else 0), dx_i = w[y] h_i / C for i != y, dx_y = -sum of those."""
    node_name = "MultiMarginLossBackward0"

    @staticmethod
    def forward(ctx, x, target, p, margin, weight, reduction):
        m, c = x.shape
        rows = np.arange(m)
        others = np.ones((m, c), bool)
        others[rows, target] = False
        scale = (np.ones(m, x.dtype) if weight is None else weight[target]) / c
        z = np.maximum(margin - x[rows, target][:, None] + x, 0) * others
        loss = ((z if p == 1 else z * z).sum(1) * scale).astype(x.dtype, copy=False)
        ctx.p, ctx.margin, ctx.reduction, ctx.m = p, margin, reduction, m
        ctx.save_for_backward(x, others, scale[:, None], np.eye(c, dtype=x.dtype)[target])
        if reduction == "none":
            return loss
        return np.asarray(loss.mean() if reduction == "mean" else loss.sum(), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, others, scale, onehot = ctx.saved_tensors
        picked = (x * onehot).sum(1, keepdim=True)
        z = (ctx.margin - picked + x) * others
        h = (z > 0) * others if ctx.p == 1 else z.relu() * 2
        coef = h * scale
        dx = coef - onehot * coef.sum(1, keepdim=True)
        if ctx.reduction == "none":
            return grad.unsqueeze(1) * dx
        return (grad / ctx.m if ctx.reduction == "mean" else grad) * dx


class SmoothL1Loss(_PointwiseLoss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - t); d/dx = clamp(d / beta, -1, 1)."""
    node_name = "SmoothL1LossBackward0"

    @staticmethod
    def value(x, t, beta):
        d = np.abs(x - t)
        return np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta).astype(x.dtype, copy=False)

    @staticmethod
    def grads(x, t, beta):
        d = ((x - t) / beta).clamp(-1, 1)
        return d, -d


class HuberLoss(_PointwiseLoss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); d/dx = clamp(d, -delta, delta)."""
    node_name = "HuberLossBackward0"

    @staticmethod
    def value(x, t, delta):
        d = np.abs(x - t)
        return np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)).astype(x.dtype, copy=False)

    @staticmethod
    def grads(x, t, delta):
        d = (x - t).clamp(-delta, delta)
        return d, -d


# ---------------------------------------------------------------- activations beyond ops.py

class Elu(Op):
    """x where x > 0, else alpha (exp(x) - 1); the gradient is 1, or alpha exp(x)."""
    node_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        ctx.save_for_backward(x)
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.clamp(max=0).exp() * ctx.alpha).masked_fill(x > 0, 1)


class Silu(Op):
    """x sigmoid(x); the gradient is s (1 + x (1 - s)) with s = sigmoid(x)."""
    node_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x / (1 + np.exp(-x))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * s * (1 + x * (1 - s))


class Softplus(Op):
    """log(1 + exp(beta x)) / beta, or x where beta x > threshold (as PyTorch, for speed and
    precision); the gradient is sigmoid(beta x), or 1 past the threshold."""
    node_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        z = beta * x
        return np.where(z > threshold, x, _softplus_array(z) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta
        return grad * z.sigmoid().masked_fill(z > ctx.threshold, 1)


class Hardtanh(Clamp):
    """clamp(x, min_val, max_val); unlike clamp, no gradient at the bounds themselves (PyTorch's).

    The backward is Clamp's (grad times the saved mask); only the mask differs."""
    node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward((x > min_val) & (x < max_val))
        return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)


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
        from ..ops import IndexAdd
        indices = ctx.indices
        if ctx.padding_idx is not None:
            grad = grad.masked_fill(Tensor._make((indices == ctx.padding_idx)[..., None]), 0)
        return IndexAdd.apply(grad, indices, ctx.shape)

"""Losses as single nodes: the fused cross-entropy (C kernel in csrc/loss.c), nll, mse, bce, ...

Where PyTorch records one fused node for a loss, so do we; `nn.functional` checks the
arguments and calls these.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Op, wrap
from ..backend.checks import FLOAT_DTYPES
from ..backend.numpy.loss import cross_entropy_coefficients
from .activations import _softplus, _softplus_array


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
        need_grad = logits._requires_grad and grad_mode._enabled
        return super().apply(logits, target, weight, int(ignore_index), reduction, float(label_smoothing),
                             need_grad)

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction, label_smoothing, need_grad):
        dtype = logits.dtype
        if dtype in FLOAT_DTYPES:
            weight = None if weight is None else weight.astype(dtype, copy=False)
            loss, dlogits = backend.kernels.cross_entropy(logits, target, weight, ignore_index, reduction,
                                                          label_smoothing, need_grad)
        else:  # float16 is computed in float32
            work = np.dtype(np.float32)
            weight = None if weight is None else weight.astype(work)
            loss, dlogits = backend.kernels.cross_entropy(logits.astype(work), target, weight, ignore_index,
                                                          reduction, label_smoothing, need_grad)
            loss, dlogits = loss.astype(dtype), None if dlogits is None else dlogits.astype(dtype)
        ctx.args = (target, weight, ignore_index, reduction, label_smoothing)
        ctx.save_for_backward(logits, dlogits)
        return loss

    @staticmethod
    def backward(ctx, grad):
        saved = ctx._saved  # (None once freed: ctx.saved_tensors below then raises PyTorch's error)
        if saved is not None and not grad_mode._enabled:  # the usual backward: the kernel's gradient, scaled
            # It reads the saved gradient only, not the logits: so they are neither unpacked nor
            # version-checked, and an in-place change of them after the loss is no error, as in
            # PyTorch (whose LogSoftmaxBackward0 saves its output). PERF: on arrays, ~1.4 us, not 2.
            g, dlogits = grad._data, saved[1]
            g = g[:, None] if ctx.args[3] == "none" else g
            if g.dtype == dlogits._data.dtype:
                return wrap(g * dlogits._data)
            return wrap(g) * dlogits  # a gradient of another dtype: PyTorch's type promotion
        logits, dlogits = ctx.saved_tensors
        target, weight, ignore_index, reduction, label_smoothing = ctx.args
        grad = grad.unsqueeze(1) if reduction == "none" else grad
        # create_graph: the same gradient as a differentiable expression of the logits
        a, denom = cross_entropy_coefficients(target, weight, ignore_index, label_smoothing, logits.shape[1],
                                              logits._data.dtype)
        scale = 1 / denom if reduction == "mean" else 1.0
        row_sums = wrap(a.sum(axis=1, keepdims=True) * scale)
        return grad * (logits.softmax(1) * row_sums - wrap(a * scale))


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

"""Helpers of the distributions: broadcasting parameters, probs <-> logits, and log-gamma."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..dtypes import get_default_dtype
from ..tensor import Tensor, tensor

euler_constant = 0.57721566490153286060


def broadcast_all(*values) -> tuple[Tensor, ...]:
    """Numbers become tensors (the dtype of the tensor arguments, else the default float); all are
    expanded to one broadcast shape, as torch.distributions.utils.broadcast_all."""
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)), get_default_dtype())
    ts = []
    for v in values:
        if isinstance(v, Tensor):
            ts.append(v)
        elif isinstance(v, (int, float, np.number)):
            ts.append(tensor(float(v), dtype=dtype))
        else:
            raise ValueError("Input arguments must all be instances of numbers.Number or torch.Tensor.")
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in ts])
    return tuple(t if tuple(t.shape) == shape else t.expand(*shape) for t in ts)


def clamp_probs(probs: Tensor) -> Tensor:
    eps = float(np.finfo(probs.dtype.np).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    p = clamp_probs(probs)
    return p.log() - (1 - p).log() if is_binary else p.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    return logits.sigmoid() if is_binary else logits.softmax(-1)


_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


def _digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) for x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic series
    (its first left-out term, 1 / (132 x^10), is below 1e-12 there)."""
    x = np.array(x, dtype=np.float64)
    result = np.zeros_like(x)
    while np.any(small := x < 10):
        result -= np.where(small, 1 / x, 0)
        x = np.where(small, x + 1, x)
    inv2 = 1 / (x * x)
    return result + np.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))


class Lgamma(Function):
    """log|Gamma(x)|; d/dx = digamma(x) (for x > 0; the distributions only need that)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return Tensor._make(_lgamma(x.detach().numpy()).astype(x.dtype.np))

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * Tensor._make(_digamma(x.detach().numpy()).astype(x.dtype.np))


def lgamma(x: Tensor) -> Tensor:
    return Lgamma.apply(x)

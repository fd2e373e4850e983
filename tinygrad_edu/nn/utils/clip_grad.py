"""Gradient clipping, in place on `.grad`, as `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ...tensor import Tensor


def _grads(parameters) -> list[Tensor]:
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most max_norm.

    The norm is that of the vector of every gradient's norm (norm_type inf: the largest |g|);
    gradients are multiplied by min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.array(0.0, np.float32))
    dtype = grads[0]._data.dtype
    if norm_type == math.inf:
        total = max(float(np.abs(g._data).max(initial=0.0)) for g in grads)
    else:
        norms = [np.linalg.norm(g._data.ravel().astype(np.float64), norm_type) for g in grads]
        total = float(np.linalg.norm(np.array(norms), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g._data *= g._data.dtype.type(coef)
        g._version[0] += 1
    return Tensor._make(np.array(total, dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version[0] += 1

"""Adadelta, as torch.optim.Adadelta (pytorch/examples' MNIST CNN trains with it)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .optimizer import Optimizer, ParamsT, _check_nonnegative, _next_step, _step_tensor, _zeros


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's rule (with :math:`g = \nabla + \lambda\theta`):

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2, \quad
        \Delta = \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g, \quad
        u \leftarrow \rho u + (1-\rho) \Delta^2, \quad
        \theta \leftarrow \theta - \gamma \Delta

    The state (`step`, `square_avg` v, `acc_delta` u) appears at a parameter's first step, as
    PyTorch's. NumPy in place (no C kernel: one pass of a handful of ufuncs).
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        _check_nonnegative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr, rho, eps, weight_decay = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"], st["square_avg"], st["acc_delta"] = _step_tensor(), _zeros(p), _zeros(p)
                _next_step(st)
                g = -p._grad._data if group["maximize"] else p._grad._data
                if weight_decay:
                    g = g + weight_decay * p._data
                v, u = st["square_avg"]._data, st["acc_delta"]._data
                v *= rho
                v += (1 - rho) * g * g
                delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * delta * delta
                p._data -= (lr * delta).astype(p._data.dtype, copy=False)
                p._version[0] += 1
        return loss

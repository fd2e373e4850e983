"""SGD with momentum, dampening, Nesterov, weight decay and maximize, as torch.optim.SGD."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from .optimizer import Optimizer, ParamsT, _check_nonnegative, _zeros


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's rule:

    .. math::
        g \leftarrow \nabla + \lambda\theta, \quad
        b \leftarrow \mu b + (1-\tau) g \ (b = g \text{ on the first step}), \quad
        g \leftarrow g + \mu b \text{ (nesterov) or } b, \quad \theta \leftarrow \theta - \gamma g

    (with the gradient negated first if `maximize`). lr defaults to 1e-3, as in PyTorch 2.x.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        _check_nonnegative(momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._eval_closure(closure)
        kernel = backend.kernels.sgd_step  # read at call time: backend.use() switches it
        state = self.state
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            # PyTorch reads every buffer before updating any: a parameter listed twice in a group
            # (it warns) starts a new buffer at each listing on its first step; the last one is kept
            fresh = () if momentum == 0 else {id(p) for p in group["params"]
                                              if p._grad is not None and state[p].get("momentum_buffer") is None}
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                buf, first = None, False
                if momentum != 0:
                    st = state[p]
                    if id(p) in fresh:  # PyTorch: the buffer starts as a copy of the first gradient
                        st["momentum_buffer"] = _zeros(p)
                        first = True
                    buf = st["momentum_buffer"]._data
                kernel(p._data, g._data, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first)
                p._version[0] += 1  # an in-place change: a graph that saved p must notice
        return loss

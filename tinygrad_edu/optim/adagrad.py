"""Adagrad, as torch.optim.Adagrad."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from .optimizer import Optimizer, ParamsT, _check_nonnegative, _next_step, _step_tensor, _zeros


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's rule at step :math:`t`:

    .. math::
        \tilde\gamma = \frac{\gamma}{1 + (t-1)\eta}, \quad S \leftarrow S + g^2, \quad
        \theta \leftarrow \theta - \tilde\gamma\, \frac{g}{\sqrt{S} + \epsilon}

    with :math:`g = \nabla + \lambda\theta` and :math:`\eta` = `lr_decay`. As in PyTorch the
    state (`step` = 0, `sum` = `initial_accumulator_value`) exists from construction on.
    Sparse gradients do not exist here.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        _check_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group: dict[str, Any]) -> dict[str, Any]:
        st = self.state[p]
        st["step"], st["sum"] = _step_tensor(), _zeros(p, group["initial_accumulator_value"])
        return st

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._eval_closure(closure)
        kernel = backend.kernels.adagrad_step
        state = self.state
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                st = state[p] or self._init_state(p, group)  # a group added later
                clr = lr / (1 + (_next_step(st) - 1) * lr_decay)
                kernel(p._data, g._data, st["sum"]._data, clr, weight_decay, eps, maximize)
                p._version[0] += 1
        return loss

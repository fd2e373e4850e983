"""RMSprop, as torch.optim.RMSprop."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from .optimizer import Optimizer, ParamsT, _check_nonnegative, _next_step, _step_tensor, _zeros


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's rule:

    .. math::
        s \leftarrow \alpha s + (1-\alpha) g^2, \quad
        \bar g \leftarrow \alpha \bar g + (1-\alpha) g \text{ (centered)}, \quad
        d = g / (\sqrt{s - \bar g^2} + \epsilon), \quad
        b \leftarrow \mu b + d, \quad \theta \leftarrow \theta - \gamma b \text{ (or } \gamma d)

    with :math:`g = \nabla + \lambda\theta`. Note eps is added outside the square root, as in
    PyTorch (TensorFlow adds it inside). State: `step`, `square_avg`, and `momentum_buffer`
    (momentum > 0) / `grad_avg` (centered).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        _check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._eval_closure(closure)
        kernel = backend.kernels.rmsprop_step
        state = self.state
        for group in self.param_groups:
            lr, alpha, eps, weight_decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                st = state[p]
                if not st:
                    st["step"], st["square_avg"] = _step_tensor(), _zeros(p)
                    if momentum > 0:
                        st["momentum_buffer"] = _zeros(p)
                    if centered:
                        st["grad_avg"] = _zeros(p)
                _next_step(st)
                kernel(p._data, g._data, st["square_avg"]._data, st["grad_avg"]._data if centered else None,
                       st["momentum_buffer"]._data if momentum > 0 else None, lr, alpha, eps, weight_decay,
                       momentum, maximize)
                p._version[0] += 1
        return loss

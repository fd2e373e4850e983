"""Adam and AdamW, as torch.optim.Adam / torch.optim.AdamW."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from .optimizer import Optimizer, ParamsT, _check_nonnegative, _next_step, _step_tensor, _zeros


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014), PyTorch's rule at step :math:`t`:

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        \theta \leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\,
        \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    with :math:`g = \nabla + \lambda\theta` (L2 weight decay), or, if `decoupled_weight_decay`
    (AdamW), :math:`\theta \leftarrow \theta(1-\gamma\lambda)` first and :math:`g = \nabla`.
    `amsgrad` uses the running maximum of :math:`v`. State per parameter: `step` (a 0-d
    float32 tensor), `exp_avg`, `exp_avg_sq` and, with amsgrad, `max_exp_avg_sq`.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        _check_nonnegative(lr=lr, eps=eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        _check_nonnegative(weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._eval_closure(closure)
        kernel = backend.kernels.adam_step
        state = self.state
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                st = state[p]
                if not st:  # lazy initialisation on the first step, as PyTorch
                    st["step"] = _step_tensor()
                    st["exp_avg"], st["exp_avg_sq"] = _zeros(p), _zeros(p)
                    if amsgrad:
                        st["max_exp_avg_sq"] = _zeros(p)
                step = _next_step(st)
                vmax = st["max_exp_avg_sq"]._data if amsgrad else None
                kernel(p._data, g._data, st["exp_avg"]._data, st["exp_avg_sq"]._data, vmax, lr, beta1, beta2,
                       eps, weight_decay, decoupled, step, maximize)
                p._version[0] += 1
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): the parameter shrinks by
    `lr * weight_decay` directly instead of the decay entering the gradient. weight_decay
    defaults to 1e-2, as in PyTorch."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

"""optim.c's NumPy twin: one torch.optim update of one parameter, in place.

One step of a torch.optim rule on one parameter, in place: `param` and the state buffers
are overwritten, `grad` is only read. The arithmetic is PyTorch's single-tensor path, op
for op; the NumPy twin writes through `out=` into one scratch array so a step allocates at
most two temporaries whatever the rule (SGD and Adam read `grad` in place when it needs no
change: see `_effective_grad`). The C kernels fuse the same ops into one loop.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_adam, check_optim, check_sgd


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start.lerp_(end, weight)`` as PyTorch's CPU kernel: from the nearer end."""
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1.0 - weight
        np.subtract(end, tmp, out=start)


def _effective_grad(grad: np.ndarray, param: np.ndarray, weight_decay: float, maximize: bool,
                    read_only: tuple[np.ndarray | None, ...] = ()) -> np.ndarray:
    """A fresh array ``(-grad if maximize else grad) + weight_decay * param`` (PyTorch's ``grad``).

    PERFORMANCE: a caller that only reads the result passes the arrays it will write as
    ``read_only``; ``grad`` itself is then returned when it needs no change and overlaps none of
    them (the copy was a sixth of the MLP's SGD step)."""
    if (read_only and not maximize and weight_decay == 0
            and not any(a is not None and np.may_share_memory(grad, a) for a in read_only)):
        return grad
    g = np.array(grad, order="C")  # a fresh array even when 0-d (a ufunc without out= gives a scalar)
    if maximize:
        np.negative(g, out=g)
    if weight_decay != 0:
        g += weight_decay * param
    return g


def sgd_step(param: np.ndarray, grad: np.ndarray, momentum_buf: np.ndarray | None, lr: float,
             momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
             first_step: bool) -> None:
    """torch.optim.SGD on one parameter: ``d = g + wd * p``; with momentum the buffer becomes
    ``d`` on the first step, else ``momentum * buf + (1 - dampening) * d``, and ``d`` becomes
    ``d + momentum * buf`` (nesterov) or ``buf``; then ``p -= lr * d``. ``momentum_buf`` is
    ignored (may be None) when ``momentum == 0``."""
    check_sgd(param, grad, momentum_buf, momentum)
    d = _effective_grad(grad, param, weight_decay, maximize, read_only=(param, momentum_buf))  # only read
    if momentum != 0:
        if first_step:
            np.copyto(momentum_buf, d)
        else:
            momentum_buf *= momentum
            momentum_buf += (1 - dampening) * d if dampening != 0 else d
        d = d + momentum * momentum_buf if nesterov else momentum_buf
    param += np.multiply(d, -lr)


def adam_step(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
              max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, step: float, maximize: bool) -> None:
    """torch.optim.Adam (``decoupled=False``) / AdamW (``decoupled=True``) on one parameter at
    step ``step`` (>= 1, already incremented): ``m = lerp(m, g, 1 - beta1)``,
    ``v = beta2 * v + (1 - beta2) * g * g``, ``vmax = max(vmax, v)`` with amsgrad (pass
    ``max_exp_avg_sq``, else None), and ``p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)``
    with ``bc_i = 1 - beta_i ** step``."""
    check_adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    if weight_decay != 0 and decoupled:
        param *= 1 - lr * weight_decay
    g = _effective_grad(grad, param, 0 if decoupled else weight_decay, maximize,
                        read_only=(param, exp_avg, exp_avg_sq, max_exp_avg_sq))  # only read
    tmp = np.empty_like(param)
    _lerp_(exp_avg, g, 1 - beta1, tmp)
    exp_avg_sq *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    exp_avg_sq += tmp
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1 ** step)
    np.sqrt(v, out=tmp)
    tmp /= (1 - beta2 ** step) ** 0.5
    tmp += eps
    np.divide(exp_avg, tmp, out=tmp)
    tmp *= -step_size
    param += tmp


def rmsprop_step(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
                 momentum_buf: np.ndarray | None, lr: float, alpha: float, eps: float, weight_decay: float,
                 momentum: float, maximize: bool) -> None:
    """torch.optim.RMSprop on one parameter: ``s = alpha * s + (1 - alpha) * g * g``; centered
    (pass ``grad_avg``) ``a = lerp(a, g, 1 - alpha)`` and ``avg = sqrt(s - a * a) + eps``, else
    ``sqrt(s) + eps``; with momentum (pass ``momentum_buf``) ``b = momentum * b + g / avg`` and
    ``p -= lr * b``, else ``p -= lr * g / avg``."""
    check_optim("rmsprop_step", param, grad, square_avg, grad_avg, momentum_buf)
    g = _effective_grad(grad, param, weight_decay, maximize)
    avg = np.multiply(g, g, out=np.empty_like(g))
    avg *= 1 - alpha
    square_avg *= alpha
    square_avg += avg
    if grad_avg is not None:
        _lerp_(grad_avg, g, 1 - alpha, avg)
        np.multiply(grad_avg, grad_avg, out=avg)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        np.sqrt(square_avg, out=avg)
    avg += eps
    np.divide(g, avg, out=g)
    if momentum_buf is not None:
        momentum_buf *= momentum
        momentum_buf += g
        np.multiply(momentum_buf, -lr, out=g)
    else:
        g *= -lr
    param += g


def adagrad_step(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, clr: float, weight_decay: float,
                 eps: float, maximize: bool) -> None:
    """torch.optim.Adagrad on one parameter, with the decayed rate
    ``clr = lr / (1 + (step - 1) * lr_decay)`` given: ``sum += g * g``,
    ``p -= clr * g / (sqrt(sum) + eps)``."""
    check_optim("adagrad_step", param, grad, state_sum)
    g = _effective_grad(grad, param, weight_decay, maximize)
    std = np.multiply(g, g, out=np.empty_like(g))
    state_sum += std
    np.sqrt(state_sum, out=std)
    std += eps
    np.divide(g, std, out=g)
    g *= -clr
    param += g

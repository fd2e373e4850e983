"""optim.c's bindings: one torch.optim update of one parameter in one pass (twin: backend/numpy/optim.py).

Each wrapper validates with checks.check_optim (same errors as the twin), then
hands raw pointers to the one-pass kernel. The kernels want dense arrays: a non-contiguous
grad is copied; a non-contiguous param or state buffer is updated through a dense copy that
is written back afterwards (never the case for the optimizers' own buffers, so the fast
path is a flags check per array). Per-call cost is ~3 us; ``sgd_step`` checks its usual
arguments (the optimizer's own dense arrays) inline in ~1.5 us, since the notes' MLP calls it
10 times a step.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_adam, check_optim, check_sgd
from ._ffi import NULL, dense, from_buffer, kernel_table, raise_on_error

_SGD, _ADAM = kernel_table("sgd_step"), kernel_table("adam_step")
_RMSPROP, _ADAGRAD = kernel_table("rmsprop_step"), kernel_table("adagrad_step")


def _run_optim(table: dict, grad: np.ndarray, inout: tuple, scalars: tuple) -> None:
    """Call ``fn(grad, *inout, n, *scalars)``; ``None`` in ``inout`` becomes NULL.

    Written for the per-call cost (a plain loop, no comprehensions: ~1.5 us for Adam's five
    arrays, most of it ``ffi.from_buffer``)."""
    param = inout[0]
    fn, ctype = table[param.dtype]
    grad = dense(grad)
    ptrs = [from_buffer(ctype, grad)]
    write_back = None
    for a in inout:
        if a is None:
            ptrs.append(NULL)
            continue
        flags = a.flags
        if not (flags.c_contiguous and flags.aligned):  # update a dense, aligned copy, copied back below
            write_back = write_back or []
            write_back.append((a, dense(a)))
            a = write_back[-1][1]
        ptrs.append(from_buffer(ctype, a))
    rc = fn(*ptrs, param.size, *scalars)
    if rc != 0:
        raise_on_error(rc, fn)
    if write_back:
        for orig, copy in write_back:
            np.copyto(orig, copy)


_from_buffer, _NULL = from_buffer, NULL


def _dense_like(param, grad, *state) -> bool:
    """Whether ``param``, ``grad`` and each state buffer (or None) pass ``check_optim`` and need no
    copies: ndarrays of one float dtype and shape, C-contiguous and aligned, param and state writable.

    PERF: the optimizers' own arrays always do; checked inline, an update costs ~1.5 us less.
    Anything else goes through ``check_optim`` and ``_run_optim`` (their errors, their copies)."""
    if type(param) is not np.ndarray or type(grad) is not np.ndarray:
        return False
    dtype, shape, flags = param.dtype, param.shape, param.flags
    if not (dtype in _SGD and flags.c_contiguous and flags.aligned and flags.writeable
            and grad.dtype == dtype and grad.shape == shape):
        return False
    flags = grad.flags
    if not (flags.c_contiguous and flags.aligned):
        return False
    for buf in state:
        if buf is None:
            continue
        if type(buf) is not np.ndarray or buf.dtype != dtype or buf.shape != shape:
            return False
        flags = buf.flags
        if not (flags.c_contiguous and flags.aligned and flags.writeable):
            return False
    return True


def _pointer(ctype, a):
    return _NULL if a is None else _from_buffer(ctype, a)


def sgd_step(param: np.ndarray, grad: np.ndarray, momentum_buf: np.ndarray | None, lr: float,
             momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
             first_step: bool) -> None:
    """torch.optim.SGD's update of one parameter in one pass (``tg_sgd_step_*``); see the twin."""
    buf = momentum_buf if momentum != 0 else None
    if (buf is not None or momentum == 0) and _dense_like(param, grad, buf):  # PERF: see _dense_like
        fn, ctype = _SGD[param.dtype]
        rc = fn(_from_buffer(ctype, grad), _from_buffer(ctype, param), _pointer(ctype, buf), param.size, lr,
                momentum, dampening, weight_decay, bool(nesterov), bool(maximize), bool(first_step))
        if rc != 0:
            raise_on_error(rc, fn)
        return
    check_sgd(param, grad, momentum_buf, momentum)
    _run_optim(_SGD, grad, (param, momentum_buf if momentum != 0 else None),
               (lr, momentum, dampening, weight_decay, bool(nesterov), bool(maximize), bool(first_step)))


def adam_step(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
              max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, step: float, maximize: bool) -> None:
    """torch.optim.Adam / AdamW's update of one parameter in one pass (``tg_adam_step_*``)."""
    if step >= 1 and exp_avg is not None and exp_avg_sq is not None and \
            _dense_like(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):  # PERF: see _dense_like
        fn, ctype = _ADAM[param.dtype]
        rc = fn(_from_buffer(ctype, grad), _from_buffer(ctype, param), _from_buffer(ctype, exp_avg),
                _from_buffer(ctype, exp_avg_sq), _pointer(ctype, max_exp_avg_sq), param.size, lr, beta1, beta2,
                eps, weight_decay, bool(decoupled), step, bool(maximize))
        if rc != 0:
            raise_on_error(rc, fn)
        return
    check_adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    _run_optim(_ADAM, grad, (param, exp_avg, exp_avg_sq, max_exp_avg_sq),
               (lr, beta1, beta2, eps, weight_decay, bool(decoupled), step, bool(maximize)))


def rmsprop_step(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
                 momentum_buf: np.ndarray | None, lr: float, alpha: float, eps: float, weight_decay: float,
                 momentum: float, maximize: bool) -> None:
    """torch.optim.RMSprop's update of one parameter in one pass (``tg_rmsprop_step_*``)."""
    check_optim("rmsprop_step", param, grad, square_avg, grad_avg, momentum_buf)
    _run_optim(_RMSPROP, grad, (param, square_avg, grad_avg, momentum_buf),
               (lr, alpha, eps, weight_decay, momentum, bool(maximize)))


def adagrad_step(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, clr: float, weight_decay: float,
                 eps: float, maximize: bool) -> None:
    """torch.optim.Adagrad's update of one parameter in one pass (``tg_adagrad_step_*``)."""
    check_optim("adagrad_step", param, grad, state_sum)
    _run_optim(_ADAGRAD, grad, (param, state_sum), (clr, weight_decay, eps, bool(maximize)))

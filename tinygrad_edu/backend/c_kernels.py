"""The C backend: the one thin, checked wrapper around the compiled ``tinygrad_edu._C``.

Nothing else in the package touches ``ffi`` or ``lib`` (the layout of pynacl's
``nacl/bindings`` and python-soundfile's ``_array_io``). Each wrapper

1. checks its arguments with the same function the NumPy twin uses, so both
   backends raise the same errors (see ``numpy_kernels.check_matmul``);
2. makes every input C-contiguous (a copy only if needed: the kernels take dense
   row-major arrays; strided kernels are future work);
3. allocates the output with ``np.empty`` and passes raw pointers;
4. turns a nonzero C return code into a ``RuntimeError`` naming the kernel.

Importing this module raises ``ImportError`` when the extension was not built;
``tinygrad_edu.backend`` catches that and falls back to NumPy.

Per-call overhead matters (the core calls ``matmul`` thousands of times an epoch).
Measured for a 1x1 float32 product: ``ffi.from_buffer`` with a pre-built ctype is
~0.2 us per pointer, against ~2 us for ``ffi.cast("float *", arr.ctypes.data)``
(``arr.ctypes`` builds a ctypes helper object on every access), so we use the former.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np

from .._C import ffi, lib
from .numpy_kernels import check_adam, check_matmul, check_optim, check_sgd

# The kernel vocabulary: exactly the names of numpy_kernels.__all__ (a test checks it).
# matmul_naive is an extra for tests and benchmarks, deliberately not listed.
__all__ = [
    "matmul",  # matmul.c

    # activations.c

    # softmax.c

    # loss.c

    "sgd_step", "adam_step", "rmsprop_step", "adagrad_step",  # optim.c

    # conv.c

]

# enum tg_status from the header: code -> name, for error messages.
_STATUS: dict[int, str] = dict(ffi.typeof("enum tg_status").elements)

# dtype -> (C function, cffi array type used to view the ndarray's buffer).
# The ctypes are built once here: parsing "float[]" on every call costs ~0.2 us.
_MATMUL = {
    np.dtype(np.float32): (lib.tg_matmul_f32, ffi.typeof("float[]")),
    np.dtype(np.float64): (lib.tg_matmul_f64, ffi.typeof("double[]")),
}
_MATMUL_NAIVE = {
    np.dtype(np.float32): (lib.tg_matmul_naive_f32, ffi.typeof("float[]")),
    np.dtype(np.float64): (lib.tg_matmul_naive_f64, ffi.typeof("double[]")),
}


def _raise_on_error(rc: int, fn: object) -> NoReturn:
    # cffi's built-in functions are named after the C symbol, e.g. "tg_matmul_f32".
    name = getattr(fn, "__name__", "C kernel")
    raise RuntimeError(f"{name} failed with code {rc} ({_STATUS.get(rc, 'unknown code')})")


def _matmul_with(table: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    m, k, n = check_matmul(a, b)
    dtype = a.dtype
    fn, ctype = table[dtype]
    # The kernel reads dense row-major data. Transposed or sliced views are copied
    # here; F-contiguous ones too (a transposed-operand kernel is future work).
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    if not b.flags.c_contiguous:
        b = np.ascontiguousarray(b)
    out = np.empty((m, n), dtype)
    rc = fn(ffi.from_buffer(ctype, a), ffi.from_buffer(ctype, b), ffi.from_buffer(ctype, out), m, k, n)
    if rc != 0:
        _raise_on_error(rc, fn)
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A @ B for 2-D float32/float64 arrays: ``C[i, j] = sum_p A[i, p] * B[p, j]``.

    ``a`` is ``[m, k]``, ``b`` is ``[k, n]``; returns a new C-contiguous ``[m, n]`` array
    of the same dtype, computed by the blocked kernel ``tg_matmul_f32/_f64``. Results
    match NumPy up to floating-point summation order (like PyTorch, which also
    promises no particular order). Errors: see ``numpy_kernels.check_matmul``.
    """
    return _matmul_with(_MATMUL, a, b)


def matmul_naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same product through the textbook triple loop ``tg_matmul_naive_*``.

    Not a backend kernel (not in ``__all__``; the NumPy twin has no such name): for tests and the
    benchmark, as the reference the blocked kernel is checked and timed against.
    """
    return _matmul_with(_MATMUL_NAIVE, a, b)


# ---------------------------------------------------------------- optim (optim.c)
#
# Each wrapper validates with numpy_kernels.check_optim (same errors as the twin), then
# hands raw pointers to the one-pass kernel. The kernels want dense arrays: a non-contiguous
# grad is copied; a non-contiguous param or state buffer is updated through a dense copy that
# is written back afterwards (never the case for the optimizers' own buffers, so the fast
# path is a flags check per array). Per-call cost is ~3 us, negligible next to the MLP's
# parameters (the smallest is 10 elements, the step loop calls these 10 times per step).

def _optim_table(prefix: str) -> dict:
    return {
        np.dtype(np.float32): (getattr(lib, f"{prefix}_f32"), ffi.typeof("float[]")),
        np.dtype(np.float64): (getattr(lib, f"{prefix}_f64"), ffi.typeof("double[]")),
    }


_SGD, _ADAM = _optim_table("tg_sgd_step"), _optim_table("tg_adam_step")
_RMSPROP, _ADAGRAD = _optim_table("tg_rmsprop_step"), _optim_table("tg_adagrad_step")


def _run_optim(table: dict, grad: np.ndarray, inout: tuple, scalars: tuple) -> None:
    """Call ``fn(grad, *inout, n, *scalars)``; ``None`` in ``inout`` becomes NULL.

    Written for the per-call cost (a plain loop, no comprehensions: ~1.5 us for Adam's five
    arrays, most of it ``ffi.from_buffer``)."""
    param = inout[0]
    fn, ctype = table[param.dtype]
    if not grad.flags.c_contiguous:
        grad = np.ascontiguousarray(grad)
    ptrs = [ffi.from_buffer(ctype, grad)]
    write_back = None
    for a in inout:
        if a is None:
            ptrs.append(ffi.NULL)
            continue
        if not a.flags.c_contiguous:  # update a dense copy, copied back below
            write_back = write_back or []
            write_back.append((a, np.ascontiguousarray(a)))
            a = write_back[-1][1]
        ptrs.append(ffi.from_buffer(ctype, a))
    rc = fn(*ptrs, param.size, *scalars)
    if rc != 0:
        _raise_on_error(rc, fn)
    if write_back:
        for orig, dense in write_back:
            np.copyto(orig, dense)


def sgd_step(param: np.ndarray, grad: np.ndarray, momentum_buf: np.ndarray | None, lr: float,
             momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
             first_step: bool) -> None:
    """torch.optim.SGD's update of one parameter in one pass (``tg_sgd_step_*``); see the twin."""
    check_sgd(param, grad, momentum_buf, momentum)
    _run_optim(_SGD, grad, (param, momentum_buf if momentum != 0 else None),
               (lr, momentum, dampening, weight_decay, bool(nesterov), bool(maximize), bool(first_step)))


def adam_step(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
              max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, step: float, maximize: bool) -> None:
    """torch.optim.Adam / AdamW's update of one parameter in one pass (``tg_adam_step_*``)."""
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

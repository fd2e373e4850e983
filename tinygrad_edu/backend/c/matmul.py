"""matmul.c's bindings: matmul, bmm, linear, linear_backward (and matmul_naive, the reference loop).

Each is a plain function: check the arguments (``checks.check_*``, as the NumPy twin in
``backend/numpy/matmul.py`` does), then one call of ``tg_gemm_f32/_f64``, the blocked,
threaded GEMM that takes element strides, so transposed, sliced and broadcast views are read
in place rather than copied.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_bmm, check_linear, check_linear_backward, check_matmul
from ._ffi import NULL, PTYPE, address, dense, from_buffer, kernel_table, raise_on_error

# dtype -> (C function, cffi array type used to view the ndarray's buffer, pointer type).
_GEMM = {dtype: (fn, ctype, PTYPE[dtype]) for dtype, (fn, ctype) in kernel_table("gemm").items()}
_MATMUL_NAIVE = kernel_table("matmul_naive")
_LINEAR_BACKWARD = kernel_table("linear_backward")

# PERF: bound once: a module-attribute lookup per use costs ~20 ns, and _gemm runs per product.
_from_buffer, _empty, _NULL = from_buffer, np.empty, NULL


def _pointer(x: np.ndarray, ctype, ptype) -> tuple:
    """``(x, pointer)`` for the gemm kernel to read ``x`` in place -- or a copy of ``x``, and its pointer.

    Any view whose strides are non-negative whole elements is read where it lies
    (transposed, sliced, broadcast); anything else (a reversed view, a packed record
    field: NumPy's ``aligned`` flag is off when a stride is not a multiple of the
    itemsize) is copied first. The C side ignores the stride of a dimension of size
    <= 1. ``ffi.from_buffer`` (~0.1 us) only takes C-contiguous arrays, so a transposed
    matrix is handed over as its C-contiguous transpose; other views pay ~1 us for their
    address from ``__array_interface__``. The caller keeps the array referenced for the
    whole call, so its memory cannot go away under the kernel.
    """
    flags = x.flags
    if flags.aligned:
        if flags.c_contiguous:
            return x, _from_buffer(ctype, x)
        if flags.f_contiguous:  # W.t(): the common case after C-contiguous
            return x, _from_buffer(ctype, x.T)
        if min(x.strides) >= 0:
            return x, address(x, ptype)
    x = np.require(x, requirements="CA")  # C-contiguous and aligned: a fresh copy
    return x, _from_buffer(ctype, x)


def _gemm(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None, batch: int, m: int, k: int, n: int) -> np.ndarray:
    """``C[q] = A[q] @ B[q] (+ bias)`` through ``tg_gemm_*``; ``a``, ``b`` both 2-D, or both 3-D (batched).

    Written flat, with no helper calls beyond ``_pointer``: the MNIST MLP's smallest products
    take ~1.5 us in C, so every 0.1 us of Python here shows.
    """
    dtype = a.dtype
    fn, ctype, ptype = _GEMM[dtype]
    flags = a.flags  # PERF: the usual C-contiguous operand without the call of _pointer
    if flags.c_contiguous and flags.aligned:
        pa = _from_buffer(ctype, a)
    else:
        a, pa = _pointer(a, ctype, ptype)
    b, pb = _pointer(b, ctype, ptype)
    item = a.itemsize
    if a.ndim == 2:
        a_rs, a_cs = a.strides
        b_rs, b_cs = b.strides
        a_bs = b_bs = 0
        out = _empty((m, n), dtype)
    else:
        (a_bs, a_rs, a_cs), (b_bs, b_rs, b_cs) = a.strides, b.strides
        out = _empty((batch, m, n), dtype)
    if bias is None:
        pbias = _NULL
    else:
        bias_flags = bias.flags
        if not (bias_flags.c_contiguous and bias_flags.aligned):  # the kernel reads a dense bias
            bias = np.require(bias, requirements="CA")
        pbias = _from_buffer(ctype, bias)
    rc = fn(pa, pb, pbias, _from_buffer(ctype, out), batch, m, k, n, a_bs // item, a_rs // item,
            a_cs // item, b_bs // item, b_rs // item, b_cs // item)
    if rc != 0:
        raise_on_error(rc, fn)
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A @ B for 2-D float32/float64 arrays: ``C[i, j] = sum_p A[i, p] * B[p, j]``.

    ``a`` is ``[m, k]``, ``b`` is ``[k, n]``, any strides (views are read in place, see
    ``_pointer``); returns a new C-contiguous ``[m, n]`` array of the same dtype, computed
    by the blocked, threaded kernel ``tg_gemm_f32/_f64``. Results match NumPy up to
    floating-point summation order (like PyTorch, which also promises no particular
    order). Errors: see ``checks.check_matmul``.
    """
    m, k, n = check_matmul(a, b)
    return _gemm(a, b, None, 1, m, k, n)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``C[q] = A[q] @ B[q]``: ``a`` ``[batch, m, k]``, ``b`` ``[batch, k, n]``, any strides.

    Returns a new C-contiguous ``[batch, m, n]`` array. Errors: see ``checks.check_bmm``.
    """
    batch, m, k, n = check_bmm(a, b)
    return _gemm(a, b, None, batch, m, k, n)


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``y = x @ w.T + bias``: ``x`` ``[batch, in]``, ``w`` ``[out, in]``, ``bias`` ``[out]`` or None.

    One kernel call: ``w`` is read transposed in place, the bias is added in registers as
    each tile of ``y`` is stored. Errors: see ``checks.check_linear``.
    """
    batch, fan_in, fan_out = check_linear(x, w, bias)
    return _gemm(x, w.T, bias, 1, batch, fan_in, fan_out)


def linear_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray, need_dx: bool, need_dw: bool,
                    need_db: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """``(dx, dw, db) = (grad @ w, grad.T @ x, grad.sum(0))`` for ``y = x @ w.T + b``, each if asked.

    ``grad`` ``[batch, out]``, ``x`` ``[batch, in]``, ``w`` ``[out, in]``. ``dw`` comes out in
    ``w``'s own C-contiguous layout, read from ``grad.T`` in place. With both ``dx`` and ``dw``
    asked, one C call computes both, the two products sharing the threads as one job. ``db`` is NumPy's
    reduction: a single pass over ``grad``, too cheap next to the two products to be worth
    fusing into the packing of ``grad.T``. Errors: see ``checks.check_linear_backward``.
    """
    batch, fan_in, fan_out = check_linear_backward(grad, x, w)
    db = grad.sum(0) if need_db else None
    if not (need_dx and need_dw):
        return (_gemm(grad, w, None, 1, batch, fan_out, fan_in) if need_dx else None,
                _gemm(grad.T, x, None, 1, fan_out, batch, fan_in) if need_dw else None, db)
    # Both: one call, tg_linear_backward_*, runs the two products as one parallel job.
    dtype = grad.dtype
    ctype, ptype = _GEMM[dtype][1:]
    fn = _LINEAR_BACKWARD[dtype][0]
    (grad, pg), (x, px), (w, pw) = (_pointer(v, ctype, ptype) for v in (grad, x, w))
    dx, dw = _empty((batch, fan_in), dtype), _empty((fan_out, fan_in), dtype)
    item = grad.itemsize
    rc = fn(pg, px, pw, _from_buffer(ctype, dx), _from_buffer(ctype, dw), batch, fan_in, fan_out,
            *(stride // item for stride in grad.strides + x.strides + w.strides))
    if rc != 0:
        raise_on_error(rc, fn)
    return dx, dw, db


def matmul_naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same product through the textbook triple loop ``tg_matmul_naive_*``.

    Not a backend kernel (not in ``__all__``; the NumPy twin has no such name): for tests and
    the benchmark, as the reference the blocked kernel is checked and timed against. It
    takes dense operands, so views are copied first.
    """
    m, k, n = check_matmul(a, b)
    fn, ctype = _MATMUL_NAIVE[a.dtype]
    a, b = dense(a), dense(b)
    out = np.empty((m, n), a.dtype)
    rc = fn(from_buffer(ctype, a), from_buffer(ctype, b), from_buffer(ctype, out), m, k, n)
    if rc != 0:
        raise_on_error(rc, fn)
    return out

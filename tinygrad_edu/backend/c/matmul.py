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
_LINEAR_BACKWARD_CALL = {dtype: (fn, _GEMM[dtype][1], _GEMM[dtype][2]) for dtype, (fn, _) in _LINEAR_BACKWARD.items()}

# PERF: bound once: a module-attribute lookup per use costs ~20 ns, and _mm runs per product.
_from_buffer, _empty, _NULL, _ndarray = from_buffer, np.empty, NULL, np.ndarray


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


def _bmm(a: np.ndarray, b: np.ndarray, batch: int, m: int, k: int, n: int) -> np.ndarray:
    """``C[q] = A[q] @ B[q]`` through ``tg_gemm_*`` for checked 3-D ``a``, ``b``, any strides."""
    dtype = a.dtype
    fn, ctype, ptype = _GEMM[dtype]
    a, pa = _pointer(a, ctype, ptype)
    b, pb = _pointer(b, ctype, ptype)
    item = a.itemsize
    (a_bs, a_rs, a_cs), (b_bs, b_rs, b_cs) = a.strides, b.strides
    out = _empty((batch, m, n), dtype)
    rc = fn(pa, pb, _NULL, _from_buffer(ctype, out), batch, m, k, n, a_bs // item, a_rs // item,
            a_cs // item, b_bs // item, b_rs // item, b_cs // item)
    if rc != 0:
        raise_on_error(rc, fn)
    return out


def _mm(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None, m: int, k: int, n: int) -> np.ndarray:
    """``C = A @ B (+ bias)`` for checked 2-D ``a`` ``[m, k]``, ``b`` ``[k, n]``: one ``tg_gemm_*`` call.

    PERF (issue 14: the 64x64x10 product takes ~1.2 us in C, so the Python around it shows):
    the usual operands take no helper call and no division. A C-contiguous one (x, a plain B)
    has strides ``(cols, 1)`` and its pointer from ``ffi.from_buffer`` (~0.2 us, against ~1.2 us
    for an address through ``.ctypes`` or ``__array_interface__``); a column-major one (the
    ``W^T`` of a Linear layer) is its C-contiguous transpose, strides ``(1, rows)``. Anything
    else goes through ``_pointer``, and its strides are read. C checks the sizes and strides
    again; they all come from the arrays' own shapes, so they fit the buffers.
    """
    fn, ctype, ptype = _GEMM[a.dtype]
    flags = a.flags
    if flags.c_contiguous and flags.aligned:
        pa, a_rs, a_cs = _from_buffer(ctype, a), k, 1
    else:
        a, pa = _pointer(a, ctype, ptype)
        a_rs, a_cs = a.strides
        a_rs, a_cs = a_rs // a.itemsize, a_cs // a.itemsize
    flags = b.flags
    if flags.c_contiguous and flags.aligned:
        pb, b_rs, b_cs = _from_buffer(ctype, b), n, 1
    elif flags.f_contiguous and flags.aligned:  # W.t()
        pb, b_rs, b_cs = _from_buffer(ctype, b.T), 1, k
    else:
        b, pb = _pointer(b, ctype, ptype)
        b_rs, b_cs = b.strides
        b_rs, b_cs = b_rs // b.itemsize, b_cs // b.itemsize
    if bias is None:
        pbias = _NULL
    else:
        flags = bias.flags
        if not (flags.c_contiguous and flags.aligned):  # the kernel reads a dense bias
            bias = np.require(bias, requirements="CA")
        pbias = _from_buffer(ctype, bias)
    out = _empty((m, n), a.dtype)
    rc = fn(pa, pb, pbias, _from_buffer(ctype, out), 1, m, k, n, 0, a_rs, a_cs, 0, b_rs, b_cs)
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
    if type(a) is _ndarray and type(b) is _ndarray and a.ndim == 2 and b.ndim == 2:  # PERF: the usual case
        (m, k), (k2, n) = a.shape, b.shape
        if k == k2 and a.dtype in _GEMM and b.dtype == a.dtype:
            return _mm(a, b, None, m, k, n)
    m, k, n = check_matmul(a, b)  # raises the error (or passes a subclass of ndarray)
    return _mm(a, b, None, m, k, n)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``C[q] = A[q] @ B[q]``: ``a`` ``[batch, m, k]``, ``b`` ``[batch, k, n]``, any strides.

    Returns a new C-contiguous ``[batch, m, n]`` array. Errors: see ``checks.check_bmm``.
    """
    batch, m, k, n = check_bmm(a, b)
    return _bmm(a, b, batch, m, k, n)


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``y = x @ w.T + bias``: ``x`` ``[batch, in]``, ``w`` ``[out, in]``, ``bias`` ``[out]`` or None.

    One kernel call: ``w`` is read transposed in place, the bias is added in registers as
    each tile of ``y`` is stored. Errors: see ``checks.check_linear``.
    """
    if (type(x) is _ndarray and type(w) is _ndarray and type(bias) is _ndarray and x.ndim == 2 and w.ndim == 2
            and bias.ndim == 1):  # PERF: the usual case (a Linear layer) in one test; anything else: check_linear
        (batch, fan_in), (fan_out, fan_in2) = x.shape, w.shape
        if (fan_in == fan_in2 and bias.shape[0] == fan_out and x.dtype in _GEMM and w.dtype == x.dtype
                and bias.dtype == x.dtype):
            return _mm(x, w.T, bias, batch, fan_in, fan_out)
    batch, fan_in, fan_out = check_linear(x, w, bias)
    return _mm(x, w.T, bias, batch, fan_in, fan_out)


def linear_backward(grad: np.ndarray, x: np.ndarray | None, w: np.ndarray | None, need_dx: bool, need_dw: bool,
                    need_db: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """``(dx, dw, db) = (grad @ w, grad.T @ x, grad.sum(0))`` for ``y = x @ w.T + b``, each if asked.

    ``grad`` ``[batch, out]``, ``x`` ``[batch, in]`` (None if ``dw`` is not asked), ``w`` ``[out, in]``
    (None if ``dx`` is not). ``dw`` comes out in ``w``'s own C-contiguous layout, read from ``grad.T``
    in place. One C call, ``tg_linear_backward_*``, computes what is asked as one parallel job (the
    two products and the column sums of ``grad`` share the threads). Errors: see
    ``checks.check_linear_backward``.
    """
    if (type(grad) is _ndarray and type(x) is _ndarray and type(w) is _ndarray and grad.ndim == 2 and x.ndim == 2
            and w.ndim == 2):  # PERF: the usual case (a hidden Linear layer) in one test; else check_linear_backward
        (batch, fan_in), (fan_out, fan_in2) = x.shape, w.shape
        if not (fan_in == fan_in2 and grad.shape == (batch, fan_out) and grad.dtype in _GEMM
                and x.dtype == grad.dtype and w.dtype == grad.dtype):
            batch, fan_in, fan_out = check_linear_backward(grad, x, w, need_dx, need_dw)
    else:
        batch, fan_in, fan_out = check_linear_backward(grad, x, w, need_dx, need_dw)
    return _linear_backward(grad, x, w, batch, fan_in, fan_out, need_dx, need_dw, need_db)


def _linear_backward(grad, x, w, batch: int, fan_in: int, fan_out: int, need_dx: bool, need_dw: bool,
                     need_db: bool) -> tuple:
    """One ``tg_linear_backward_*`` call for checked operands (``x``/``w`` may be None when not read)."""
    dtype = grad.dtype
    fn, ctype, ptype = _LINEAR_BACKWARD_CALL[dtype]
    # PERF: C-contiguous operands (every layer of an MLP) take their pointer and strides with no helper
    # call (-1 us a call at 64x64 -> 10, measured); others go through _pointer. Written out, no loops.
    if grad.flags.c_contiguous and grad.flags.aligned:
        pg, g_rs, g_cs = _from_buffer(ctype, grad), fan_out, 1
    else:
        grad, pg = _pointer(grad, ctype, ptype)
        g_rs, g_cs = (s // grad.itemsize for s in grad.strides)
    if x is None:
        px, x_rs, x_cs = _NULL, 0, 0
    elif x.flags.c_contiguous and x.flags.aligned:
        px, x_rs, x_cs = _from_buffer(ctype, x), fan_in, 1
    else:
        x, px = _pointer(x, ctype, ptype)
        x_rs, x_cs = (s // x.itemsize for s in x.strides)
    if w is None:
        pw, w_rs, w_cs = _NULL, 0, 0
    elif w.flags.c_contiguous and w.flags.aligned:
        pw, w_rs, w_cs = _from_buffer(ctype, w), fan_in, 1
    else:
        w, pw = _pointer(w, ctype, ptype)
        w_rs, w_cs = (s // w.itemsize for s in w.strides)
    dx = _empty((batch, fan_in), dtype) if need_dx else None
    dw = _empty((fan_out, fan_in), dtype) if need_dw else None
    db = _empty(fan_out, dtype) if need_db else None
    rc = fn(pg, px, pw, _NULL if dx is None else _from_buffer(ctype, dx),
            _NULL if dw is None else _from_buffer(ctype, dw), _NULL if db is None else _from_buffer(ctype, db),
            batch, fan_in, fan_out, g_rs, g_cs, x_rs, x_cs, w_rs, w_cs)
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

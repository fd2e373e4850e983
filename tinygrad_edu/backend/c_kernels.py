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
from .numpy_kernels import (_index_error, check_col2im, check_im2col, check_matmul,
                            check_max_pool2d_backward)

# The kernel vocabulary: exactly the names of numpy_kernels.__all__ (a test checks it).
# matmul_naive is an extra for tests and benchmarks, deliberately not listed.
__all__ = [
    "matmul",  # matmul.c

    # activations.c

    # softmax.c

    # loss.c

    # optim.c

    # conv.c
    "im2col",
    "col2im",
    "im2col_t",
    "col2im_t",
    "max_pool2d_forward",
    "max_pool2d_backward",
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


# ---------------------------------------------------------------- conv.c

def _conv_table(name: str) -> dict:
    """dtype -> (C function, cffi array type) for the kernel family `name` of conv.c."""
    return {np.dtype(np.float32): (getattr(lib, f"tg_{name}_f32"), ffi.typeof("float[]")),
            np.dtype(np.float64): (getattr(lib, f"tg_{name}_f64"), ffi.typeof("double[]"))}


_IM2COL, _COL2IM = _conv_table("im2col"), _conv_table("col2im")
_IM2COL_T, _COL2IM_T = _conv_table("im2col_t"), _conv_table("col2im_t")
_POOL_FORWARD, _POOL_BACKWARD = _conv_table("max_pool2d_forward"), _conv_table("max_pool2d_backward")
_INT64_ARRAY = ffi.typeof("int64_t[]")


def _window(win: tuple) -> object:
    """The checked (kernel, stride, padding, dilation, out_size) pairs as a `struct tg_window *`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    return ffi.new("struct tg_window *", (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow))


def _contiguous(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _unfold(table: dict, x: np.ndarray, window: tuple, kernel: str, transposed: bool) -> np.ndarray:
    """im2col (cols [N*oh*ow, C*kh*kw]) or, transposed, im2col_t (its transpose)."""
    win = check_im2col(x, *window, kernel=kernel)
    x = _contiguous(x)
    n, c, h, w = x.shape
    (kh, kw), (oh, ow) = win[0], win[4]
    fn, ctype = table[x.dtype]
    shape = (n * oh * ow, c * kh * kw)
    cols = np.empty(shape[::-1] if transposed else shape, x.dtype)
    rc = fn(ffi.from_buffer(ctype, x), ffi.from_buffer(ctype, cols), n, c, h, w, _window(win))
    if rc != 0:
        _raise_on_error(rc, fn)
    return cols


def _fold(table: dict, cols: np.ndarray, input_shape, window: tuple, transposed: bool) -> np.ndarray:
    """col2im, or (transposed) col2im_t: cols added back onto the windows of a zero [N, C, H, W]."""
    (n, c, h, w), win = check_col2im(cols, input_shape, *window, transposed=transposed)
    cols = _contiguous(cols)
    fn, ctype = table[cols.dtype]
    x = np.empty((n, c, h, w), cols.dtype)
    rc = fn(ffi.from_buffer(ctype, cols), ffi.from_buffer(ctype, x), n, c, h, w, _window(win))
    if rc != 0:
        _raise_on_error(rc, fn)
    return x


def im2col(x: np.ndarray, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """Unfold the windows of x [N, C, H, W] into cols [N*out_h*out_w, C*kh*kw] (``tg_im2col_*``).

    Same arguments, result and errors as ``numpy_kernels.im2col``.
    """
    return _unfold(_IM2COL, x, (kernel_size, stride, padding, dilation, out_size), "im2col", False)


def col2im(cols: np.ndarray, input_shape, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """Add each row of cols back onto its window of a zero [N, C, H, W] array (``tg_col2im_*``).

    Same arguments, result and errors as ``numpy_kernels.col2im``.
    """
    return _fold(_COL2IM, cols, input_shape, (kernel_size, stride, padding, dilation, out_size), False)


def im2col_t(x: np.ndarray, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """im2col's transpose, cols_t [C*kh*kw, N*out_h*out_w], written directly (``tg_im2col_t_*``).

    Same arguments, result and errors as ``numpy_kernels.im2col_t``.
    """
    return _unfold(_IM2COL_T, x, (kernel_size, stride, padding, dilation, out_size), "im2col_t", True)


def col2im_t(cols_t: np.ndarray, input_shape, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """The adjoint of im2col_t (``tg_col2im_t_*``).

    Same arguments, result and errors as ``numpy_kernels.col2im_t``.
    """
    return _fold(_COL2IM_T, cols_t, input_shape, (kernel_size, stride, padding, dilation, out_size), True)


def max_pool2d_forward(x: np.ndarray, kernel_size, stride, padding, dilation,
                       out_size) -> tuple[np.ndarray, np.ndarray]:
    """(values, int64 indices) of the max of each window, one pass (``tg_max_pool2d_forward_*``).

    Same arguments, results and errors as ``numpy_kernels.max_pool2d_forward``.
    """
    win = check_im2col(x, kernel_size, stride, padding, dilation, out_size, kernel="max_pool2d_forward")
    x = _contiguous(x)
    n, c, h, w = x.shape
    oh, ow = win[4]
    fn, ctype = _POOL_FORWARD[x.dtype]
    values = np.empty((n, c, oh, ow), x.dtype)
    indices = np.empty((n, c, oh, ow), np.int64)
    rc = fn(ffi.from_buffer(ctype, x), ffi.from_buffer(ctype, values), ffi.from_buffer(_INT64_ARRAY, indices),
            n, c, h, w, _window(win))
    if rc == lib.TG_ERR_SIZE:  # the checks above passed, so only an all-padding window is left
        raise ValueError("max_pool2d_forward: a window lies entirely in the padding")
    if rc != 0:
        _raise_on_error(rc, fn)
    return values, indices


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray, input_shape) -> np.ndarray:
    """Scatter-add grad_out [N, C, oh, ow] at indices into a zero [N, C, H, W] (``tg_max_pool2d_backward_*``).

    Same arguments, result and errors as ``numpy_kernels.max_pool2d_backward``.
    """
    n, c, h, w = check_max_pool2d_backward(grad_out, indices, input_shape)
    grad_out, indices = _contiguous(grad_out), _contiguous(indices)
    fn, ctype = _POOL_BACKWARD[grad_out.dtype]
    grad_in = np.empty((n, c, h, w), grad_out.dtype)
    oh, ow = grad_out.shape[2:]
    rc = fn(ffi.from_buffer(ctype, grad_out), ffi.from_buffer(_INT64_ARRAY, indices),
            ffi.from_buffer(ctype, grad_in), n, c, h, w, oh, ow)
    if rc == lib.TG_ERR_INDEX:
        raise _index_error(h * w)
    if rc != 0:
        _raise_on_error(rc, fn)
    return grad_in

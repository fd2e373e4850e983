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
from .numpy_kernels import (
    check_bias_relu,
    check_cross_entropy,
    check_matmul,
    check_same,
    target_out_of_bounds,
)

# The kernel vocabulary: exactly the names of numpy_kernels.__all__ (a test checks it).
# matmul_naive is an extra for tests and benchmarks, deliberately not listed.
__all__ = [
    "matmul",  # matmul.c

    # activations.c
    "relu", "relu_backward", "bias_relu", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh_backward",
    # softmax.c
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    # loss.c
    "cross_entropy",

    # optim.c

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


# ---------------------------------------------------------------- activations.c, softmax.c

# cffi array types of the two float dtypes, to view an ndarray's buffer as a C pointer.
_CTYPE = {np.dtype(np.float32): ffi.typeof("float[]"), np.dtype(np.float64): ffi.typeof("double[]")}


def _table(name: str) -> dict:
    """dtype -> ``(C function tg_<name>_f32 / _f64, its cffi array type, dtype)``."""
    return {dtype: (getattr(lib, f"tg_{name}_{'f32' if dtype == np.float32 else 'f64'}"), ctype, dtype)
            for dtype, ctype in _CTYPE.items()}


def _dense(a: np.ndarray) -> np.ndarray:
    """``a`` itself if C-contiguous, else a C-contiguous copy: the kernels read dense rows."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _call(fn, ctype, dtype: np.dtype, inputs: tuple, shape: tuple, sizes: tuple, extra: tuple = ()) -> np.ndarray:
    """Run ``fn(*inputs, out, *sizes, *extra)`` on dense inputs into a new ``out`` of ``shape``."""
    out = np.empty(shape, dtype)
    rc = fn(*[ffi.from_buffer(ctype, _dense(a)) for a in inputs], ffi.from_buffer(ctype, out), *sizes, *extra)
    if rc != 0:
        _raise_on_error(rc, fn)
    return out


def _rows_cols(shape: tuple, size: int) -> tuple:
    """``[..., cols]`` seen as ``(rows, cols)``."""
    cols = shape[-1]
    return (size // cols if cols else 0, cols)


def _wrapper(name: str, rowwise: bool):
    """The wrapper of kernel ``tg_<name>`` taking one array (forward) or two (grad, saved array).

    Elementwise kernels see any shape as ``n = size`` elements, row-wise ones ``[..., cols]`` as
    ``[rows, cols]``. The common case (right types, same shape) is checked inline with one dict
    lookup: these run once per layer per step, and at batch 64 the Python around the call
    (~1.5 us) is most of the time; anything unusual goes through ``check_same`` for its error.
    """
    entries = _table(name)
    min_ndim = 1 if rowwise else 0
    from_buffer = ffi.from_buffer

    def unary(x: np.ndarray) -> np.ndarray:
        entry = entries.get(x.dtype) if type(x) is np.ndarray else None
        if entry is None or x.ndim < min_ndim:
            check_same(name, x, min_ndim=min_ndim)  # raises the error
        return _call(*entry, (x,), x.shape, _rows_cols(x.shape, x.size) if rowwise else (x.size,))

    def binary(grad: np.ndarray, saved: np.ndarray) -> np.ndarray:
        # _call written out: this is relu's backward, where every 0.1 us shows at batch 64
        entry = None
        if type(grad) is np.ndarray and type(saved) is np.ndarray and grad.shape == saved.shape:
            entry = entries.get(grad.dtype) if saved.dtype == grad.dtype else None
        if entry is None or grad.ndim < min_ndim:
            check_same(name, grad, saved, min_ndim=min_ndim)
        fn, ctype, dtype = entry
        shape = grad.shape
        out = np.empty(shape, dtype)
        if not grad.flags.c_contiguous:
            grad = np.ascontiguousarray(grad)
        if not saved.flags.c_contiguous:
            saved = np.ascontiguousarray(saved)
        sizes = _rows_cols(shape, grad.size) if rowwise else (grad.size,)
        rc = fn(from_buffer(ctype, grad), from_buffer(ctype, saved), from_buffer(ctype, out), *sizes)
        if rc != 0:
            _raise_on_error(rc, fn)
        return out

    return binary if name.endswith("_backward") else unary


_relu, _relu_backward = _wrapper("relu", False), _wrapper("relu_backward", False)
_sigmoid, _sigmoid_backward = _wrapper("sigmoid", False), _wrapper("sigmoid_backward", False)
_tanh_backward = _wrapper("tanh_backward", False)
_softmax, _softmax_backward = _wrapper("softmax", True), _wrapper("softmax_backward", True)
_log_softmax, _log_softmax_backward = _wrapper("log_softmax", True), _wrapper("log_softmax_backward", True)
_LEAKY, _LEAKY_BACKWARD, _BIAS_RELU = _table("leaky_relu"), _table("leaky_relu_backward"), _table("bias_relu")


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` elementwise, any shape; NaN stays NaN (as ``torch.relu``)."""
    return _relu(x)


def relu_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad`` where ``out > 0``, else 0; ``out`` is relu's output (PyTorch's threshold_backward)."""
    return _relu_backward(grad, out)


def bias_relu(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``relu(x + b)`` for x ``[rows, cols]``, b ``[cols]`` broadcast over the rows, in one pass."""
    rows, cols = check_bias_relu(x, b)
    return _call(*_BIAS_RELU[x.dtype], (x, b), (rows, cols), (rows, cols))


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``x`` where ``x > 0``, else ``x * negative_slope``."""
    dtype = check_same("leaky_relu", x)
    return _call(*_LEAKY[dtype], (x,), x.shape, (x.size,), (float(negative_slope),))


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``grad`` where the INPUT ``x > 0``, else ``grad * negative_slope``."""
    dtype = check_same("leaky_relu_backward", grad, x)
    return _call(*_LEAKY_BACKWARD[dtype], (grad, x), x.shape, (x.size,), (float(negative_slope),))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` elementwise (an inlined, vectorised exp: see csrc/tg_vmath.h)."""
    return _sigmoid(x)


def sigmoid_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out) * out``, ``out`` the sigmoid's output."""
    return _sigmoid_backward(grad, out)


def tanh_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out**2)``, ``out`` the tanh's output."""
    return _tanh_backward(grad, out)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension (>= 1-D), max-subtracted: see csrc/softmax.c's NOTE."""
    return _softmax(x)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last dimension: ``x - max - log(sum(exp(x - max)))``."""
    return _log_softmax(x)


def softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out * (grad - sum(grad * out))`` over the last dimension, ``out`` the softmax."""
    return _softmax_backward(grad, out)


def log_softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad - exp(out) * sum(grad)`` over the last dimension, ``out`` the log_softmax."""
    return _log_softmax_backward(grad, out)


# ---------------------------------------------------------------- loss.c

_CROSS_ENTROPY = _table("cross_entropy")
_INT64 = ffi.typeof("int64_t[]")


def cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0,
                  need_grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Fused log_softmax + nll_loss in one C call: ``(loss, dlogits)``; see ``numpy_kernels.cross_entropy``.

    The C kernel validates every target before writing anything; a bad one comes back
    as ``TG_ERR_INDEX`` with its position, raised here as PyTorch's ``IndexError``.
    """
    code = check_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
    n, k = logits.shape
    if not -2**63 <= ignore_index < 2**63:
        raise OverflowError(f"cross_entropy: ignore_index {ignore_index} does not fit in int64")
    fn, ctype, dtype = _CROSS_ENTROPY[logits.dtype]
    target = _dense(target)
    loss = np.empty(n if code == 0 else (), dtype)
    dlogits = np.empty((n, k), dtype) if need_grad else None
    bad = np.empty(1, np.int64)
    rc = fn(ffi.from_buffer(ctype, _dense(logits)), ffi.from_buffer(_INT64, target),
            ffi.NULL if weight is None else ffi.from_buffer(ctype, _dense(weight)),
            ffi.from_buffer(ctype, loss), ffi.NULL if dlogits is None else ffi.from_buffer(ctype, dlogits),
            ffi.from_buffer(_INT64, bad), n, k, int(ignore_index), code, float(label_smoothing))
    if rc == lib.TG_ERR_INDEX:
        raise target_out_of_bounds(target, int(bad[0]), k)
    if rc != 0:
        _raise_on_error(rc, fn)
    return loss, dlogits

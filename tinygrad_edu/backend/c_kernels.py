"""The C backend: the one thin, checked wrapper around the compiled ``tinygrad_edu._C``.

Nothing else in the package touches ``ffi`` or ``lib`` (the layout of pynacl's
``nacl/bindings`` and python-soundfile's ``_array_io``). Each wrapper

1. checks its arguments with the same function the NumPy twin uses, so both
   backends raise the same errors (see ``numpy_kernels.check_matmul``);
2. passes inputs as they are where the kernel can read them in place (the matmul
   family takes element strides, so transposed, sliced and broadcast views are not
   copied), and makes a copy only for layouts it cannot take;
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

import os
from typing import NoReturn

import numpy as np

from .._C import ffi, lib
from . import numpy_kernels as _numpy_kernels
from .numpy_kernels import (
    _index_error,
    check_adam,
    check_bias_relu,
    check_bmm,
    check_col2im,
    check_conv2d,
    check_cross_entropy,
    check_im2col,
    check_linear,
    check_linear_backward,
    check_matmul,
    check_max_pool2d_backward,
    check_max_pool2d_forward,
    check_optim,
    check_same,
    check_sgd,
    target_out_of_bounds,
)

# The kernel vocabulary is numpy_kernels.__all__, one list with a section per C file; a test
# checks that each name is a callable here. matmul_naive is an extra for tests and
# benchmarks, deliberately not listed.
__all__ = list(_numpy_kernels.__all__)

# enum tg_status from the header: code -> name, for error messages.
_STATUS: dict[int, str] = dict(ffi.typeof("enum tg_status").elements)

# dtype -> (C function, cffi array type used to view the ndarray's buffer, pointer type).
# The ctypes are built once here: parsing "float[]" on every call costs ~0.2 us.
_GEMM = {
    np.dtype(np.float32): (lib.tg_gemm_f32, ffi.typeof("float[]"), ffi.typeof("float *")),
    np.dtype(np.float64): (lib.tg_gemm_f64, ffi.typeof("double[]"), ffi.typeof("double *")),
}
_MATMUL_NAIVE = {
    np.dtype(np.float32): (lib.tg_matmul_naive_f32, ffi.typeof("float[]")),
    np.dtype(np.float64): (lib.tg_matmul_naive_f64, ffi.typeof("double[]")),
}


# Bound once: a module-attribute lookup per use costs ~20 ns, and _gemm runs per product.
_from_buffer, _empty, _NULL = ffi.from_buffer, np.empty, ffi.NULL


def _raise_on_error(rc: int, fn: object) -> NoReturn:
    # cffi's built-in functions are named after the C symbol, e.g. "tg_matmul_f32".
    name = getattr(fn, "__name__", "C kernel")
    raise RuntimeError(f"{name} failed with code {rc} ({_STATUS.get(rc, 'unknown code')})")


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
            return x, ffi.cast(ptype, x.__array_interface__["data"][0])
    x = np.require(x, requirements="CA")  # C-contiguous and aligned: a fresh copy
    return x, ffi.from_buffer(ctype, x)


def _gemm(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None, batch: int, m: int, k: int, n: int) -> np.ndarray:
    """``C[q] = A[q] @ B[q] (+ bias)`` through ``tg_gemm_*``; ``a``, ``b`` both 2-D, or both 3-D (batched).

    Written flat, with no helper calls beyond ``_pointer``: the MNIST MLP's smallest products
    take ~1.5 us in C, so every 0.1 us of Python here shows.
    """
    dtype = a.dtype
    fn, ctype, ptype = _GEMM[dtype]
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
        _raise_on_error(rc, fn)
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A @ B for 2-D float32/float64 arrays: ``C[i, j] = sum_p A[i, p] * B[p, j]``.

    ``a`` is ``[m, k]``, ``b`` is ``[k, n]``, any strides (views are read in place, see
    ``_pointer``); returns a new C-contiguous ``[m, n]`` array of the same dtype, computed
    by the blocked, threaded kernel ``tg_gemm_f32/_f64``. Results match NumPy up to
    floating-point summation order (like PyTorch, which also promises no particular
    order). Errors: see ``numpy_kernels.check_matmul``.
    """
    m, k, n = check_matmul(a, b)
    return _gemm(a, b, None, 1, m, k, n)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``C[q] = A[q] @ B[q]``: ``a`` ``[batch, m, k]``, ``b`` ``[batch, k, n]``, any strides.

    Returns a new C-contiguous ``[batch, m, n]`` array. Errors: see ``numpy_kernels.check_bmm``.
    """
    batch, m, k, n = check_bmm(a, b)
    return _gemm(a, b, None, batch, m, k, n)


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``y = x @ w.T + bias``: ``x`` ``[batch, in]``, ``w`` ``[out, in]``, ``bias`` ``[out]`` or None.

    One kernel call: ``w`` is read transposed in place, the bias is added in registers as
    each tile of ``y`` is stored. Errors: see ``numpy_kernels.check_linear``.
    """
    batch, fan_in, fan_out = check_linear(x, w, bias)
    return _gemm(x, w.T, bias, 1, batch, fan_in, fan_out)


def linear_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray, need_dx: bool, need_dw: bool,
                    need_db: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """``(dx, dw, db) = (grad @ w, grad.T @ x, grad.sum(0))`` for ``y = x @ w.T + b``, each if asked.

    ``grad`` ``[batch, out]``, ``x`` ``[batch, in]``, ``w`` ``[out, in]``. ``dw`` comes out in
    ``w``'s own C-contiguous layout, read from ``grad.T`` in place. ``db`` is NumPy's
    reduction: a single pass over ``grad``, too cheap next to the two products to be worth
    fusing into the packing of ``grad.T``. Errors: see ``numpy_kernels.check_linear_backward``.
    """
    batch, fan_in, fan_out = check_linear_backward(grad, x, w)
    return (_gemm(grad, w, None, 1, batch, fan_out, fan_in) if need_dx else None,
            _gemm(grad.T, x, None, 1, fan_out, batch, fan_in) if need_dw else None,
            grad.sum(0) if need_db else None)


def set_num_threads(n: int) -> None:
    """Let the C kernels use up to ``n`` threads (``tinygrad_edu.set_num_threads`` calls this)."""
    rc = lib.tg_set_num_threads(n)
    if rc != 0:
        _raise_on_error(rc, lib.tg_set_num_threads)


def get_num_threads() -> int:
    return int(lib.tg_get_num_threads())


# Freed arrays stay in the heap for the next step instead of being unmapped and faulted in
# again (a third of the notes' CNN step at batch 64; see tg_keep_freed_memory). Process-wide,
# as PyTorch's advice to preload a caching malloc is; peak RSS grows a little (CNN bench: 224 ->
# 231 MB). TINYGRAD_EDU_KEEP_FREED_MEMORY=0 leaves glibc's malloc settings alone.
if os.environ.get("TINYGRAD_EDU_KEEP_FREED_MEMORY", "1") != "0":
    _rc = lib.tg_keep_freed_memory()
    if _rc != 0:
        _raise_on_error(_rc, lib.tg_keep_freed_memory)


def matmul_naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same product through the textbook triple loop ``tg_matmul_naive_*``.

    Not a backend kernel (not in ``__all__``; the NumPy twin has no such name): for tests and
    the benchmark, as the reference the blocked kernel is checked and timed against. It
    takes dense operands, so views are copied first.
    """
    m, k, n = check_matmul(a, b)
    fn, ctype = _MATMUL_NAIVE[a.dtype]
    a, b = _dense(a), _dense(b)
    out = np.empty((m, n), a.dtype)
    rc = fn(ffi.from_buffer(ctype, a), ffi.from_buffer(ctype, b), ffi.from_buffer(ctype, out), m, k, n)
    if rc != 0:
        _raise_on_error(rc, fn)
    return out


# ---------------------------------------------------------------- activations.c, softmax.c

# cffi array types of the two float dtypes, to view an ndarray's buffer as a C pointer.
_CTYPE = {np.dtype(np.float32): ffi.typeof("float[]"), np.dtype(np.float64): ffi.typeof("double[]")}


def _table(name: str) -> dict:
    """dtype -> ``(C function tg_<name>_f32 / _f64, its cffi array type, dtype)``."""
    return {dtype: (getattr(lib, f"tg_{name}_{'f32' if dtype == np.float32 else 'f64'}"), ctype, dtype)
            for dtype, ctype in _CTYPE.items()}


def _dense(a: np.ndarray) -> np.ndarray:
    """``a`` itself if C-contiguous and aligned, else such a copy: the kernels read dense rows.

    The one place every kernel's array passes through on its way to C. Aligned matters too: a
    float32 array viewed from a byte buffer at an odd address is C-contiguous, and reading it as
    ``float *`` is undefined behaviour in C (UBSan: "load of misaligned address").
    ``np.ascontiguousarray`` would hand such an array back as it is; ``np.require`` copies it.
    """
    flags = a.flags
    return a if flags.c_contiguous and flags.aligned else np.require(a, requirements="CA")


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
        flags = grad.flags
        if not (flags.c_contiguous and flags.aligned):
            grad = _dense(grad)
        flags = saved.flags
        if not (flags.c_contiguous and flags.aligned):
            saved = _dense(saved)
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
    grad = _dense(grad)
    ptrs = [ffi.from_buffer(ctype, grad)]
    write_back = None
    for a in inout:
        if a is None:
            ptrs.append(ffi.NULL)
            continue
        flags = a.flags
        if not (flags.c_contiguous and flags.aligned):  # update a dense, aligned copy, copied back below
            write_back = write_back or []
            write_back.append((a, _dense(a)))
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


# ---------------------------------------------------------------- conv.c

def _conv_table(name: str) -> dict:
    """dtype -> (C function, cffi array type) for the kernel family `name` of conv.c."""
    return {np.dtype(np.float32): (getattr(lib, f"tg_{name}_f32"), ffi.typeof("float[]")),
            np.dtype(np.float64): (getattr(lib, f"tg_{name}_f64"), ffi.typeof("double[]"))}


_IM2COL, _COL2IM = _conv_table("im2col"), _conv_table("col2im")
_IM2COL_T, _COL2IM_T = _conv_table("im2col_t"), _conv_table("col2im_t")
_POOL_FORWARD, _POOL_BACKWARD = _conv_table("max_pool2d_forward"), _conv_table("max_pool2d_backward")
_CONV_FORWARD, _CONV_BACKWARD = _conv_table("conv2d_forward"), _conv_table("conv2d_backward")
_INT64_ARRAY = ffi.typeof("int64_t[]")


def _window(win: tuple) -> object:
    """The checked (kernel, stride, padding, dilation, out_size) pairs as a `struct tg_window *`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    return ffi.new("struct tg_window *", (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow))


_contiguous = _dense  # conv.c's kernels read dense, aligned arrays too


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


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, kernel_size, stride, padding,
                   dilation, out_size) -> np.ndarray:
    """conv2d of x [N, C, H, W] with weight [O, C, kh, kw] plus bias [O] or None (``tg_conv2d_forward_*``).

    Same arguments, result and errors as ``numpy_kernels.conv2d_forward``.
    """
    win = check_conv2d("conv2d_forward", x, weight, bias, kernel_size, stride, padding, dilation, out_size)
    x, weight = _contiguous(x), _contiguous(weight)
    fn, ctype = _CONV_FORWARD[x.dtype]
    n, c, h, w = x.shape
    out = np.empty((n, weight.shape[0]) + win[4], x.dtype)
    rc = fn(ffi.from_buffer(ctype, x), ffi.from_buffer(ctype, weight),
            ffi.NULL if bias is None else ffi.from_buffer(ctype, _contiguous(bias)), ffi.from_buffer(ctype, out),
            n, c, h, w, weight.shape[0], _window(win))
    if rc != 0:
        _raise_on_error(rc, fn)
    return out


def conv2d_backward(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, kernel_size, stride, padding, dilation,
                    out_size, input_grad: bool, weight_grad: bool,
                    bias_grad: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dweight, dbias) of conv2d_forward, None where not asked (``tg_conv2d_backward_*``).

    Same arguments, results and errors as ``numpy_kernels.conv2d_backward``.
    """
    win = check_conv2d("conv2d_backward", x, weight, grad_out, kernel_size, stride, padding, dilation, out_size,
                       grad=True)
    x, weight, grad_out = _contiguous(x), _contiguous(weight), _contiguous(grad_out)
    fn, ctype = _CONV_BACKWARD[x.dtype]
    grads = [np.empty(shape, x.dtype) if wanted else None for shape, wanted in
             ((x.shape, input_grad), (weight.shape, weight_grad), (weight.shape[:1], bias_grad))]
    n, c, h, w = x.shape
    rc = fn(ffi.from_buffer(ctype, x), ffi.from_buffer(ctype, weight), ffi.from_buffer(ctype, grad_out),
            *(ffi.NULL if g is None else ffi.from_buffer(ctype, g) for g in grads),
            n, c, h, w, weight.shape[0], _window(win))
    if rc != 0:
        _raise_on_error(rc, fn)
    return grads[0], grads[1], grads[2]


def max_pool2d_forward(x: np.ndarray, kernel_size, stride, padding, dilation,
                       out_size) -> tuple[np.ndarray, np.ndarray]:
    """(values, int64 indices) of the max of each window, one pass (``tg_max_pool2d_forward_*``).

    Same arguments, results and errors as ``numpy_kernels.max_pool2d_forward``.
    """
    win = check_max_pool2d_forward(x, kernel_size, stride, padding, dilation, out_size)
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

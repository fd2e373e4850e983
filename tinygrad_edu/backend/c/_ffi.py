"""The only code that touches cffi: the compiled library, its pointers, its status codes.

The bindings (`backend/c/<family>.py`, one per `csrc/<family>.c`) are plain functions that
check their arguments, allocate the output, and call `lib.tg_<name>_f32/_f64` through the
helpers here. Importing this module raises ``ImportError`` when the extension was not built;
``tinygrad_edu.backend`` catches that and falls back to NumPy.

Per-call overhead matters (the core calls ``matmul`` thousands of times an epoch). Measured
for a 1x1 float32 product: ``ffi.from_buffer`` with a pre-built ctype is ~0.2 us per
pointer, against ~2 us for ``ffi.cast("float *", arr.ctypes.data)`` (``arr.ctypes`` builds a
ctypes helper object on every access), so we use the former.
"""
from __future__ import annotations

from typing import NoReturn

import numpy as np

from ..._C import ffi, lib
from ..checks import check_same

# enum tg_status from the header: code -> name, for error messages.
_STATUS: dict[int, str] = dict(ffi.typeof("enum tg_status").elements)

# cffi array types of the two float dtypes, to view an ndarray's buffer as a C pointer. They are
# built once here: parsing "float[]" on every call costs ~0.2 us.
CTYPE = {np.dtype(np.float32): ffi.typeof("float[]"), np.dtype(np.float64): ffi.typeof("double[]")}
PTYPE = {np.dtype(np.float32): ffi.typeof("float *"), np.dtype(np.float64): ffi.typeof("double *")}
INT64 = ffi.typeof("int64_t[]")
NULL = ffi.NULL
TG_ERR_SIZE, TG_ERR_INDEX = lib.TG_ERR_SIZE, lib.TG_ERR_INDEX  # the statuses a binding turns into its own error
from_buffer = ffi.from_buffer  # from_buffer(ctype, array): a pointer to a C-contiguous array's memory


def kernel_table(name: str) -> dict:
    """dtype -> ``(C function tg_<name>_f32 / _f64, its cffi array type)``."""
    return {dtype: (getattr(lib, f"tg_{name}_{'f32' if dtype == np.float32 else 'f64'}"), ctype)
            for dtype, ctype in CTYPE.items()}


def raise_on_error(rc: int, fn: object) -> NoReturn:
    """A nonzero status as ``RuntimeError("tg_matmul_f32 failed with code 3 (TG_ERR_NOMEM)")``."""
    # cffi's built-in functions are named after the C symbol, e.g. "tg_matmul_f32".
    name = getattr(fn, "__name__", "C kernel")
    raise RuntimeError(f"{name} failed with code {rc} ({_STATUS.get(rc, 'unknown code')})")


def address(x: np.ndarray, ptype) -> object:
    """A pointer to any view whose strides are non-negative (not only C-contiguous arrays).

    ~1 us for the address from ``__array_interface__``; the caller keeps ``x`` referenced."""
    return ffi.cast(ptype, x.__array_interface__["data"][0])


def dense(a: np.ndarray) -> np.ndarray:
    """``a`` itself if C-contiguous and aligned, else such a copy: the kernels read dense rows.

    The one place every kernel's array passes through on its way to C. Aligned matters too: a
    float32 array viewed from a byte buffer at an odd address is C-contiguous, and reading it as
    ``float *`` is undefined behaviour in C (UBSan: "load of misaligned address").
    ``np.ascontiguousarray`` would hand such an array back as it is; ``np.require`` copies it.
    """
    flags = a.flags
    return a if flags.c_contiguous and flags.aligned else np.require(a, requirements="CA")


def window_struct(win: tuple) -> object:
    """The checked (kernel, stride, padding, dilation, out_size) pairs as a `struct tg_window *`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    return ffi.new("struct tg_window *", (kh, kw, sh, sw, ph, pw, dh, dw, oh, ow))


def call(fn, ctype, inputs: tuple, shape: tuple, dtype: np.dtype, sizes: tuple, extra: tuple = ()) -> np.ndarray:
    """Run ``fn(*inputs, out, *sizes, *extra)`` on dense inputs into a new ``out`` of ``shape``."""
    out = np.empty(shape, dtype)
    rc = fn(*[from_buffer(ctype, dense(a)) for a in inputs], from_buffer(ctype, out), *sizes, *extra)
    if rc != 0:
        raise_on_error(rc, fn)
    return out


def _sizes(shape: tuple, size: int, rowwise: bool) -> tuple:
    """``(n,)`` for an elementwise kernel; ``[..., cols]`` seen as ``(rows, cols)`` for a row-wise one."""
    if not rowwise:
        return (size,)
    cols = shape[-1]
    return (size // cols if cols else 0, cols)


# The two calling conventions of activations.c and softmax.c: one array in (a forward), or two
# (a backward: the gradient and the saved array). Elementwise kernels see any shape as n = size
# elements, row-wise ones [..., cols] as [rows, cols]. PERF: the common case (right types, same
# shape) is checked inline with one dict lookup: these run once per layer per step, and at
# batch 64 the Python around the call (~1.5 us) is most of the time; anything unusual goes
# through ``check_same`` for its error.

def unary(table: dict, name: str, x: np.ndarray, rowwise: bool = False) -> np.ndarray:
    """``tg_<name>(x, out, sizes)`` for the kernel table of ``name``."""
    entry = table.get(x.dtype) if type(x) is np.ndarray else None
    if entry is None or x.ndim < rowwise:
        check_same(name, x, min_ndim=int(rowwise))  # raises the error
    return call(*entry, (x,), x.shape, x.dtype, _sizes(x.shape, x.size, rowwise))


def binary(table: dict, name: str, grad: np.ndarray, saved: np.ndarray, rowwise: bool = False) -> np.ndarray:
    """``tg_<name>(grad, saved, out, sizes)``; written out, not through `call`: this is relu's
    backward, where every 0.1 us shows at batch 64."""
    entry = None
    if type(grad) is np.ndarray and type(saved) is np.ndarray and grad.shape == saved.shape:
        entry = table.get(grad.dtype) if saved.dtype == grad.dtype else None
    if entry is None or grad.ndim < rowwise:
        check_same(name, grad, saved, min_ndim=int(rowwise))
    fn, ctype = entry
    shape = grad.shape
    out = np.empty(shape, grad.dtype)
    flags = grad.flags
    if not (flags.c_contiguous and flags.aligned):
        grad = dense(grad)
    flags = saved.flags
    if not (flags.c_contiguous and flags.aligned):
        saved = dense(saved)
    rc = fn(from_buffer(ctype, grad), from_buffer(ctype, saved), from_buffer(ctype, out),
            *_sizes(shape, grad.size, rowwise))
    if rc != 0:
        raise_on_error(rc, fn)
    return out


# ---------------------------------------------------------------- the library's own settings

def set_num_threads(n: int) -> None:
    """Let the C kernels use up to ``n`` threads (``tinygrad_edu.set_num_threads`` calls this)."""
    rc = lib.tg_set_num_threads(n)
    if rc != 0:
        raise_on_error(rc, lib.tg_set_num_threads)


def get_num_threads() -> int:
    return int(lib.tg_get_num_threads())


def keep_freed_memory() -> None:
    """Make glibc's malloc keep freed arrays in the heap for the next step (``tg_keep_freed_memory``).

    Otherwise each training step unmaps its MiB-sized activations and page-faults them in
    again: a third of the notes' CNN step at batch 64 (2 threads: 13.1 -> 9.5 ms/step). It is
    process-wide, as PyTorch's advice to preload a caching malloc is; peak RSS grows a little
    (CNN bench: 224 -> 231 MB). `tinygrad_edu.backend` calls this once when it loads the C
    backend, unless ``TINYGRAD_EDU_KEEP_FREED_MEMORY=0``. A malloc that refuses the settings
    (ASan's, jemalloc) is not an error.
    """
    rc = lib.tg_keep_freed_memory()
    if rc != 0:
        raise_on_error(rc, lib.tg_keep_freed_memory)

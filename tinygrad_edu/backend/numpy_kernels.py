"""The NumPy backend: the reference twin of ``c_kernels``.

Every kernel here has exactly the name and signature of its C counterpart (needle's
``ndarray_backend_numpy.py`` next to ``ndarray_backend_cpu.cc``), takes and returns
plain ``np.ndarray``s, and raises the same errors, so the core can call
``backend.kernels.<name>(...)`` without knowing which backend is active and the test
suite can run once per backend.

The argument checks live here, not in ``c_kernels``, so that both backends fail with
identical messages; ``c_kernels`` imports them.
"""

from __future__ import annotations

import numpy as np

# The kernel vocabulary, identical in c_kernels (a test checks it).
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

# dtypes the kernels accept; the C library has one function per entry.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_matmul(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """Validate the operands of ``matmul`` and return ``(m, k, n)``.

    Errors follow ``torch.mm``: a shape mismatch is a ``RuntimeError`` with PyTorch's
    exact text (``mat1 and mat2 shapes cannot be multiplied (64x784 and 512x256)``), a
    non-matrix is a ``RuntimeError`` too. Where we differ: PyTorch raises
    ``RuntimeError`` for mixed dtypes and supports integer matmul; we raise
    ``TypeError`` for anything but two arrays of the same float32/float64 dtype.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(
            f"matmul: expected two numpy.ndarray, got {type(a).__name__} and {type(b).__name__}"
        )
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(
            f"matmul: expected 2-D arrays (matrices), got {a.ndim}-D and {b.ndim}-D "
            f"(shapes {a.shape} and {b.shape})"
        )
    # Runs on every call (~0.5 us in all): each attribute read counts, hence `dtype`.
    dtype = a.dtype
    if b.dtype != dtype or dtype not in FLOAT_DTYPES:
        raise TypeError(
            "matmul: expected two float32 or two float64 arrays, "
            f"got {a.dtype} and {b.dtype}"
        )
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})")
    return m, k, n


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A @ B for 2-D float arrays: ``C[i, j] = sum_p A[i, p] * B[p, j]``.

    ``a`` is ``[m, k]``, ``b`` is ``[k, n]``, the result a new C-contiguous ``[m, n]``
    array of the same dtype (any strides accepted). ``k == 0`` gives zeros, as in
    PyTorch. Errors: see ``check_matmul``.
    """
    check_matmul(a, b)
    return np.matmul(a, b)


# ---------------------------------------------------------------- conv.c
# A sliding window over the last two dims of an [N, C, H, W] array is described by five
# (height, width) pairs: kernel_size, stride, padding (top, left), dilation and out_size.
# The output size is an argument, not recomputed, so that callers may pad asymmetrically
# (padding="same" with an even kernel, ceil_mode): the bottom/right padding is whatever
# out_size needs. Positions outside the input read as 0 (im2col) or are skipped (pooling).

Pair = tuple[int, int]


def _pair_arg(kernel: str, name: str, value, minimum: int) -> Pair:
    """`value` as a (height, width) pair of Python ints, each >= minimum, else ValueError."""
    # NOTE: runs five times per kernel call, a few dozen calls per conv layer: no generators here.
    try:
        a, b = value
    except (TypeError, ValueError):
        a = b = None
    if type(a) is not int or type(b) is not int:  # bools are rejected too: type(True) is bool
        if not (isinstance(a, np.integer) and isinstance(b, np.integer)):
            raise ValueError(f"{kernel}: {name} must be a pair of ints, got {value!r}")
        a, b = int(a), int(b)
    if a < minimum or b < minimum:
        raise ValueError(f"{kernel}: {name} must be >= {minimum}, got {(a, b)}")
    return a, b


def _float_array(kernel: str, name: str, a, ndim: int) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{kernel}: expected {name} to be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{kernel}: expected {name} to be float32 or float64, got {a.dtype}")
    if a.ndim != ndim:
        raise RuntimeError(f"{kernel}: expected {name} to be {ndim}-D, got shape {a.shape}")
    return a


def check_window(kernel: str, kernel_size, stride, padding, dilation, out_size) -> tuple[Pair, ...]:
    """Validate the window pairs shared by every conv.c kernel; return them as int pairs."""
    return (_pair_arg(kernel, "kernel_size", kernel_size, 1), _pair_arg(kernel, "stride", stride, 1),
            _pair_arg(kernel, "padding", padding, 0), _pair_arg(kernel, "dilation", dilation, 1),
            _pair_arg(kernel, "out_size", out_size, 0))


def check_input_shape(kernel: str, input_shape) -> tuple[int, int, int, int]:
    if not (isinstance(input_shape, (tuple, list)) and len(input_shape) == 4
            and all(isinstance(v, (int, np.integer)) and v >= 0 for v in input_shape)):
        raise ValueError(f"{kernel}: input_shape must be 4 non-negative ints (N, C, H, W), got {input_shape!r}")
    return tuple(int(v) for v in input_shape)  # type: ignore[return-value]


def check_im2col(x: np.ndarray, *window, kernel: str = "im2col") -> tuple[Pair, ...]:
    """`x` is a float32/float64 [N, C, H, W] array; returns the checked window."""
    _float_array(kernel, "x", x, 4)
    return check_window(kernel, *window)


def check_col2im(cols: np.ndarray, input_shape, *window,
                 transposed: bool = False) -> tuple[tuple[int, int, int, int], tuple[Pair, ...]]:
    """`cols` must be [N*out_h*out_w, C*kh*kw] (transposed: [C*kh*kw, N*out_h*out_w]) for
    `input_shape` (N, C, H, W) and the window."""
    kernel = "col2im_t" if transposed else "col2im"
    _float_array(kernel, "cols", cols, 2)
    shape = check_input_shape(kernel, input_shape)
    win = check_window(kernel, *window)
    (kh, kw), (oh, ow) = win[0], win[4]
    expected = (shape[0] * oh * ow, shape[1] * kh * kw)
    expected = expected[::-1] if transposed else expected
    if cols.shape != expected:
        raise RuntimeError(f"{kernel}: expected cols of shape {expected} for input {shape}, kernel {win[0]} and "
                           f"output size {win[4]}, got {cols.shape}")
    return shape, win


def check_max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray, input_shape) -> tuple[int, int, int, int]:
    """`grad_out` float [N, C, oh, ow], `indices` int64 of the same shape, input (N, C, H, W)."""
    _float_array("max_pool2d_backward", "grad_out", grad_out, 4)
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64:
        what = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise TypeError(f"max_pool2d_backward: expected indices to be an int64 numpy.ndarray, got {what}")
    shape = check_input_shape("max_pool2d_backward", input_shape)
    if indices.shape != grad_out.shape or grad_out.shape[:2] != shape[:2]:
        raise RuntimeError(f"max_pool2d_backward: grad_out {grad_out.shape} and indices {indices.shape} must have "
                           f"the same shape, with the batch and channels of the input {shape}")
    return shape


def _index_error(plane: int) -> IndexError:
    """The error of both backends for an index outside the H*W input plane."""
    return IndexError(f"max_pool2d_backward: an index is outside the input plane of {plane} elements")


def _windows(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair, out_size: Pair,
             fill: float) -> np.ndarray:
    """The [N, C, out_h, out_w, kh, kw] view of every window of `x`, padded with `fill`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel_size, stride, padding, dilation, out_size
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1  # the dilated kernel's extent
    # Pad so that every window of the out_size grid fits; crop rows the grid never reaches.
    need_h, need_w = (oh - 1) * sh + span_h, (ow - 1) * sw + span_w
    h, w = x.shape[2], x.shape[3]
    padded = np.full(x.shape[:2] + (max(need_h, ph + h), max(need_w, pw + w)), fill, x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    if oh == 0 or ow == 0:
        return np.zeros(x.shape[:2] + (oh, ow, kh, kw), x.dtype)
    win = np.lib.stride_tricks.sliding_window_view(padded[:, :, :need_h, :need_w], (span_h, span_w), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def im2col(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
           out_size: Pair) -> np.ndarray:
    """Unfold the windows of `x` [N, C, H, W] into rows: returns cols [N*out_h*out_w, C*kh*kw].

    Row (n, oy, ox) holds the window under output pixel (oy, ox) of image n, in the order
    (c, i, j) of `weight.reshape(O, C*kh*kw)`, so a convolution is one matrix product
    `cols @ weight2d.T`; zeros stand for the padding. PyTorch's `F.unfold` returns the
    transpose per image ([N, C*kh*kw, L]); rows = positions feeds our GEMM without copies.
    """
    win = check_im2col(x, kernel_size, stride, padding, dilation, out_size)
    (kh, kw), (oh, ow) = win[0], win[4]
    n, c = x.shape[:2]
    windows = _windows(x, *win, fill=0)  # [N, C, oh, ow, kh, kw]
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * kh * kw)


def col2im(cols: np.ndarray, input_shape, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
           out_size: Pair) -> np.ndarray:
    """The adjoint of im2col: add every row of `cols` back onto its window; returns [N, C, H, W].

    Overlapping windows accumulate; entries that fell on the padding are dropped. This is
    the input gradient of a convolution (PyTorch's `F.fold`, up to im2col's layout).
    """
    shape, win = check_col2im(cols, input_shape, kernel_size, stride, padding, dilation, out_size)
    (n, c, _, _), (kh, kw), (oh, ow) = shape, win[0], win[4]
    return _fold(cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2), shape, win)


def im2col_t(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
             out_size: Pair) -> np.ndarray:
    """im2col's transpose, cols_t [C*kh*kw, N*out_h*out_w]: one row per kernel tap.

    The layout a GEMM wants when the window is the reduction: the forward is `W2d @ cols_t`.
    """
    win = check_im2col(x, kernel_size, stride, padding, dilation, out_size, kernel="im2col_t")
    (kh, kw), (oh, ow) = win[0], win[4]
    n, c = x.shape[:2]
    windows = _windows(x, *win, fill=0)  # [N, C, oh, ow, kh, kw]
    return np.ascontiguousarray(windows.transpose(1, 4, 5, 0, 2, 3)).reshape(c * kh * kw, n * oh * ow)


def col2im_t(cols_t: np.ndarray, input_shape, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
             out_size: Pair) -> np.ndarray:
    """The adjoint of im2col_t: col2im of cols_t's transpose; returns [N, C, H, W]."""
    shape, win = check_col2im(cols_t, input_shape, kernel_size, stride, padding, dilation, out_size,
                              transposed=True)
    (n, c, _, _), (kh, kw), (oh, ow) = shape, win[0], win[4]
    return _fold(cols_t.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5), shape, win)


def _fold(per_tap: np.ndarray, shape: tuple[int, int, int, int], win: tuple[Pair, ...]) -> np.ndarray:
    """Add per_tap [N, C, kh, kw, out_h, out_w] onto the windows of a zero [N, C, H, W]."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    need_h, need_w = (oh - 1) * sh + dh * (kh - 1) + 1, (ow - 1) * sw + dw * (kw - 1) + 1
    padded = np.zeros((n, c, max(need_h, ph + h), max(need_w, pw + w)), per_tap.dtype)
    for i in range(kh):  # one strided slice per kernel tap: kh*kw vectorised adds
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += \
                per_tap[:, :, i, j]
    return np.ascontiguousarray(padded[:, :, ph:ph + h, pw:pw + w])


def max_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                       out_size: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window of `x` [N, C, H, W]: (values, indices), both [N, C, out_h, out_w].

    indices are int64 positions in the flattened H*W plane (PyTorch's `return_indices`).
    As PyTorch's CPU kernel: the padding is never chosen (at least one input element lies in
    every window), ties go to the first element in row-major window order, and NaN wins
    (the last NaN of a window). Every window must overlap the input, else ValueError.
    """
    win = check_im2col(x, kernel_size, stride, padding, dilation, out_size, kernel="max_pool2d_forward")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    h, w = x.shape[2], x.shape[3]
    windows = _windows(x, *win, fill=-np.inf).reshape(x.shape[:2] + (oh, ow, kh * kw))
    # Where each tap of each window lands in the input (row, col), to map taps to plane indices.
    rows = (np.arange(oh) * sh - ph)[:, None] + np.arange(kh) * dh  # [oh, kh]
    cols = (np.arange(ow) * sw - pw)[:, None] + np.arange(kw) * dw  # [ow, kw]
    inside = (((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[None, :, None, :])
    inside = inside.reshape(oh, ow, kh * kw)
    if oh and ow and not inside.any(-1).all():
        raise ValueError("max_pool2d_forward: a window lies entirely in the padding")
    values = windows.max(-1)
    tap = np.argmax((windows == values[..., None]) & inside, axis=-1)
    nan = np.isnan(windows)
    tap = np.where(nan.any(-1), kh * kw - 1 - np.argmax(nan[..., ::-1], axis=-1), tap)
    i, j = np.divmod(tap, kw)
    oy, ox = np.arange(oh)[:, None], np.arange(ow)
    indices = (oy * sh - ph + i * dh) * w + (ox * sw - pw + j * dw)
    return np.ascontiguousarray(values), indices.astype(np.int64)


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray, input_shape) -> np.ndarray:
    """Scatter-add `grad_out` [N, C, oh, ow] to the input positions `indices` chose: [N, C, H, W].

    Windows that overlap (stride < kernel) may pick the same element: their gradients add.
    An index outside [0, H*W) raises IndexError.
    """
    n, c, h, w = check_max_pool2d_backward(grad_out, indices, input_shape)
    if indices.size and (indices.min() < 0 or indices.max() >= h * w):
        raise _index_error(h * w)
    planes = np.arange(n * c, dtype=np.int64)[:, None] * (h * w)
    flat = (indices.reshape(n * c, indices.shape[2] * indices.shape[3]) + planes).ravel()
    # bincount sums in float64; the C kernel sums in the array's dtype (only overlapping windows differ).
    summed = np.bincount(flat, weights=grad_out.ravel(), minlength=n * c * h * w)
    return summed.astype(grad_out.dtype).reshape(n, c, h, w)

"""pool.c's NumPy twin: max_pool2d forward (values and indices) and backward.

The window is described as in backend/numpy/conv.py (five (height, width) pairs: kernel_size,
stride, padding, dilation, out_size) and taken from the same `_windows` view, padded with
-inf so the padding never wins.
"""
from __future__ import annotations

import numpy as np

from ..checks import Pair, check_max_pool2d_backward, check_max_pool2d_forward, pool_index_error
from .conv import _windows


def max_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                       out_size: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window of `x` [N, C, H, W]: (values, indices), both [N, C, out_h, out_w].

    indices are int64 positions in the flattened H*W plane (PyTorch's `return_indices`).
    As PyTorch's CPU kernel: the padding is never chosen (at least one input element lies in
    every window), ties go to the first element in row-major window order, and NaN wins
    (the last NaN of a window). Every window must overlap the input, else ValueError.
    """
    win = check_max_pool2d_forward(x, kernel_size, stride, padding, dilation, out_size)
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
        raise pool_index_error(h * w)
    planes = np.arange(n * c, dtype=np.int64)[:, None] * (h * w)
    flat = (indices.reshape(n * c, indices.shape[2] * indices.shape[3]) + planes).ravel()
    # bincount sums in float64; the C kernel sums in the array's dtype (only overlapping windows differ).
    summed = np.bincount(flat, weights=grad_out.ravel(), minlength=n * c * h * w)
    return summed.astype(grad_out.dtype).reshape(n, c, h, w)

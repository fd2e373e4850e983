"""conv.c's NumPy twin: im2col / col2im (and their transposed layouts), conv2d.

A sliding window over the last two dims of an [N, C, H, W] array is described by five
(height, width) pairs: kernel_size, stride, padding (top, left), dilation and out_size.
The output size is an argument, not recomputed, so that callers may pad asymmetrically
(padding="same" with an even kernel, ceil_mode): the bottom/right padding is whatever
out_size needs. Positions outside the input read as 0 (im2col) or are skipped (pooling,
backend/numpy/pool.py, which shares `_windows`).
"""
from __future__ import annotations

import numpy as np

from ..checks import Pair, check_col2im, check_conv2d, check_im2col


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
    return _add_onto_windows(cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2), shape, win)


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
    return _add_onto_windows(cols_t.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5), shape, win)


def _add_onto_windows(per_tap: np.ndarray, shape: tuple[int, int, int, int], win: tuple[Pair, ...]) -> np.ndarray:
    """Add per_tap [N, C, kh, kw, out_h, out_w] onto the windows of a zero [N, C, H, W]."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    if oh == 0 or ow == 0:  # no window: nothing to add (and the slices below would not be empty)
        return np.zeros(shape, per_tap.dtype)
    need_h, need_w = (oh - 1) * sh + dh * (kh - 1) + 1, (ow - 1) * sw + dw * (kw - 1) + 1
    padded = np.zeros((n, c, max(need_h, ph + h), max(need_w, pw + w)), per_tap.dtype)
    for i in range(kh):  # one strided slice per kernel tap: kh*kw vectorised adds
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += \
                per_tap[:, :, i, j]
    return np.ascontiguousarray(padded[:, :, ph:ph + h, pw:pw + w])


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, kernel_size: Pair, stride: Pair,
                   padding: Pair, dilation: Pair, out_size: Pair) -> np.ndarray:
    """PyTorch's conv2d (groups 1) of x [N, C, H, W] with weight [O, C, kh, kw] plus bias [O] (or
    None): out [N, O, out_h, out_w] = W2d [O, C*kh*kw] @ im2col_t(x), images first."""
    win = check_conv2d("conv2d_forward", x, weight, bias, kernel_size, stride, padding, dilation, out_size)
    n, o, (oh, ow) = x.shape[0], weight.shape[0], win[4]
    out_t = weight.reshape(o, x.shape[1] * win[0][0] * win[0][1]) @ im2col_t(x, *win)  # [O, N*P]
    out = np.ascontiguousarray(out_t.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))
    return out if bias is None else out + bias[:, None, None]


def conv2d_backward(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, kernel_size: Pair, stride: Pair,
                    padding: Pair, dilation: Pair, out_size: Pair, input_grad: bool, weight_grad: bool,
                    bias_grad: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dweight, dbias) of conv2d_forward for grad_out [N, O, out_h, out_w]; None where not asked:

        dx = col2im_t(W2d^T @ g_t),  dweight = g_t @ im2col(x),  dbias = g_t summed over its rows
    with g_t = grad_out as [O, N*out_h*out_w].
    """
    win = check_conv2d("conv2d_backward", x, weight, grad_out, kernel_size, stride, padding, dilation, out_size,
                       grad=True)
    (n, c), o, (kh, kw), (oh, ow) = x.shape[:2], weight.shape[0], win[0], win[4]
    g_t = grad_out.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)  # explicit sizes: any of them may be 0
    w2d = weight.reshape(o, c * kh * kw)
    dx = col2im_t(w2d.T @ g_t, x.shape, *win) if input_grad else None
    dw = (g_t @ im2col(x, *win)).reshape(weight.shape) if weight_grad else None
    db = g_t.sum(1) if bias_grad else None
    return dx, dw, db

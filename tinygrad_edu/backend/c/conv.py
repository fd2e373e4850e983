"""conv.c's bindings: im2col / col2im (both layouts), conv2d forward and backward.

Each checks its arguments with the twin's checks (backend/numpy/conv.py raises the same
errors), makes its inputs dense and passes the window as a `struct tg_window`.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_col2im, check_conv2d, check_im2col
from ._ffi import NULL, dense, from_buffer, kernel_table, raise_on_error, window_struct

_IM2COL, _COL2IM = kernel_table("im2col"), kernel_table("col2im")
_IM2COL_T, _COL2IM_T = kernel_table("im2col_t"), kernel_table("col2im_t")
_CONV_FORWARD, _CONV_BACKWARD = kernel_table("conv2d_forward"), kernel_table("conv2d_backward")


def _im2col_call(table: dict, x: np.ndarray, window: tuple, kernel: str, transposed: bool) -> np.ndarray:
    """im2col (cols [N*oh*ow, C*kh*kw]) or, transposed, im2col_t (its transpose)."""
    win = check_im2col(x, *window, kernel=kernel)
    x = dense(x)
    n, c, h, w = x.shape
    (kh, kw), (oh, ow) = win[0], win[4]
    fn, ctype = table[x.dtype]
    shape = (n * oh * ow, c * kh * kw)
    cols = np.empty(shape[::-1] if transposed else shape, x.dtype)
    rc = fn(from_buffer(ctype, x), from_buffer(ctype, cols), n, c, h, w, window_struct(win))
    if rc != 0:
        raise_on_error(rc, fn)
    return cols


def _col2im_call(table: dict, cols: np.ndarray, input_shape, window: tuple, transposed: bool) -> np.ndarray:
    """col2im, or (transposed) col2im_t: cols added back onto the windows of a zero [N, C, H, W]."""
    (n, c, h, w), win = check_col2im(cols, input_shape, *window, transposed=transposed)
    cols = dense(cols)
    fn, ctype = table[cols.dtype]
    x = np.empty((n, c, h, w), cols.dtype)
    rc = fn(from_buffer(ctype, cols), from_buffer(ctype, x), n, c, h, w, window_struct(win))
    if rc != 0:
        raise_on_error(rc, fn)
    return x


def im2col(x: np.ndarray, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """Unfold the windows of x [N, C, H, W] into cols [N*out_h*out_w, C*kh*kw] (``tg_im2col_*``).

    Same arguments, result and errors as the twin ``numpy.conv.im2col``.
    """
    return _im2col_call(_IM2COL, x, (kernel_size, stride, padding, dilation, out_size), "im2col", False)


def col2im(cols: np.ndarray, input_shape, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """Add each row of cols back onto its window of a zero [N, C, H, W] array (``tg_col2im_*``).

    Same arguments, result and errors as the twin ``numpy.conv.col2im``.
    """
    return _col2im_call(_COL2IM, cols, input_shape, (kernel_size, stride, padding, dilation, out_size), False)


def im2col_t(x: np.ndarray, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """im2col's transpose, cols_t [C*kh*kw, N*out_h*out_w], written directly (``tg_im2col_t_*``).

    Same arguments, result and errors as the twin ``numpy.conv.im2col_t``.
    """
    return _im2col_call(_IM2COL_T, x, (kernel_size, stride, padding, dilation, out_size), "im2col_t", True)


def col2im_t(cols_t: np.ndarray, input_shape, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """The adjoint of im2col_t (``tg_col2im_t_*``).

    Same arguments, result and errors as the twin ``numpy.conv.col2im_t``.
    """
    return _col2im_call(_COL2IM_T, cols_t, input_shape, (kernel_size, stride, padding, dilation, out_size), True)


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, kernel_size, stride, padding,
                   dilation, out_size) -> np.ndarray:
    """conv2d of x [N, C, H, W] with weight [O, C, kh, kw] plus bias [O] or None (``tg_conv2d_forward_*``).

    Same arguments, result and errors as the twin ``numpy.conv.conv2d_forward``.
    """
    win = check_conv2d("conv2d_forward", x, weight, bias, kernel_size, stride, padding, dilation, out_size)
    x, weight = dense(x), dense(weight)
    fn, ctype = _CONV_FORWARD[x.dtype]
    n, c, h, w = x.shape
    out = np.empty((n, weight.shape[0]) + win[4], x.dtype)
    rc = fn(from_buffer(ctype, x), from_buffer(ctype, weight),
            NULL if bias is None else from_buffer(ctype, dense(bias)), from_buffer(ctype, out),
            n, c, h, w, weight.shape[0], window_struct(win))
    if rc != 0:
        raise_on_error(rc, fn)
    return out


def conv2d_backward(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, kernel_size, stride, padding, dilation,
                    out_size, input_grad: bool, weight_grad: bool,
                    bias_grad: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dweight, dbias) of conv2d_forward, None where not asked (``tg_conv2d_backward_*``).

    Same arguments, results and errors as the twin ``numpy.conv.conv2d_backward``.
    """
    win = check_conv2d("conv2d_backward", x, weight, grad_out, kernel_size, stride, padding, dilation, out_size,
                       grad=True)
    x, weight, grad_out = dense(x), dense(weight), dense(grad_out)
    fn, ctype = _CONV_BACKWARD[x.dtype]
    grads = [np.empty(shape, x.dtype) if wanted else None for shape, wanted in
             ((x.shape, input_grad), (weight.shape, weight_grad), (weight.shape[:1], bias_grad))]
    n, c, h, w = x.shape
    rc = fn(from_buffer(ctype, x), from_buffer(ctype, weight), from_buffer(ctype, grad_out),
            *(NULL if g is None else from_buffer(ctype, g) for g in grads),
            n, c, h, w, weight.shape[0], window_struct(win))
    if rc != 0:
        raise_on_error(rc, fn)
    return grads[0], grads[1], grads[2]

"""pool.c's bindings: max_pool2d forward (values and indices) and backward.

Each checks its arguments with the twin's checks (backend/numpy/pool.py raises the same
errors), makes its inputs dense and passes the window as a `struct tg_window`.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_max_pool2d_backward, check_max_pool2d_forward, pool_index_error
from ._ffi import INT64, TG_ERR_INDEX, TG_ERR_SIZE, dense, from_buffer, kernel_table, raise_on_error, window_struct

_POOL_FORWARD, _POOL_BACKWARD = kernel_table("max_pool2d_forward"), kernel_table("max_pool2d_backward")


def max_pool2d_forward(x: np.ndarray, kernel_size, stride, padding, dilation,
                       out_size) -> tuple[np.ndarray, np.ndarray]:
    """(values, int64 indices) of the max of each window, one pass (``tg_max_pool2d_forward_*``).

    Same arguments, results and errors as the twin ``numpy.pool.max_pool2d_forward``.
    """
    win = check_max_pool2d_forward(x, kernel_size, stride, padding, dilation, out_size)
    x = dense(x)
    n, c, h, w = x.shape
    oh, ow = win[4]
    fn, ctype = _POOL_FORWARD[x.dtype]
    values = np.empty((n, c, oh, ow), x.dtype)
    indices = np.empty((n, c, oh, ow), np.int64)
    rc = fn(from_buffer(ctype, x), from_buffer(ctype, values), from_buffer(INT64, indices),
            n, c, h, w, window_struct(win))
    if rc == TG_ERR_SIZE:  # the checks above passed, so only an all-padding window is left
        raise ValueError("max_pool2d_forward: a window lies entirely in the padding")
    if rc != 0:
        raise_on_error(rc, fn)
    return values, indices


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray, input_shape) -> np.ndarray:
    """Scatter-add grad_out [N, C, oh, ow] at indices into a zero [N, C, H, W] (``tg_max_pool2d_backward_*``).

    Same arguments, result and errors as the twin ``numpy.pool.max_pool2d_backward``.
    """
    n, c, h, w = check_max_pool2d_backward(grad_out, indices, input_shape)
    grad_out, indices = dense(grad_out), dense(indices)
    fn, ctype = _POOL_BACKWARD[grad_out.dtype]
    grad_in = np.empty((n, c, h, w), grad_out.dtype)
    oh, ow = grad_out.shape[2:]
    rc = fn(from_buffer(ctype, grad_out), from_buffer(INT64, indices),
            from_buffer(ctype, grad_in), n, c, h, w, oh, ow)
    if rc == TG_ERR_INDEX:
        raise pool_index_error(h * w)
    if rc != 0:
        raise_on_error(rc, fn)
    return grad_in

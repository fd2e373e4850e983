"""Convolution (C kernels in csrc/conv.c; max pooling, on the same `Window`, is in ops/pool.py).

A convolution is a matrix product on the unfolded windows of its input (im2col; the two
layouts and why are explained in csrc/conv.c). `nn.functional.conv2d` checks the arguments
with PyTorch's messages and builds the `Window`; the ops below trust it.
"""
from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Op, wrap


class Window(NamedTuple):
    """A sliding window over the last two dims: the (height, width) pairs every conv kernel takes.

    padding is (top, left); out_size is explicit, so bottom/right padding is what it implies.
    """
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    out_size: tuple[int, int]


class Im2col(Op):
    """The windows of x as rows [N*OH*OW, C*kh*kw]; its gradient is col2im (and col2im's is im2col).

    Used by Conv2d's backward so that create_graph can differentiate it again. PyTorch's
    F.unfold records Im2ColBackward0 too, on the per-image transposed layout [N, C*kh*kw, L].
    """
    node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, window: Window):
        ctx.shape, ctx.window = x.shape, window
        return backend.kernels.im2col(x, *window)

    @staticmethod
    def backward(ctx, grad):
        return Col2im.apply(grad, ctx.shape, ctx.window)


class Col2im(Op):
    """Rows [N*OH*OW, C*kh*kw] added back onto their windows of a zero [N, C, H, W] (F.fold's role)."""
    node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, shape: tuple, window: Window):
        ctx.window = window
        return backend.kernels.col2im(cols, shape, *window)

    @staticmethod
    def backward(ctx, grad):
        return Im2col.apply(grad, ctx.window)


class Conv2d(Op):
    """out[n, o] = bias[o] + sum_c weight[o, c] (cross-correlated with) x[n, c], as GEMMs on the
    unfolded windows of x (P = OH*OW output pixels, K = C*kh*kw taps, W2d = weight [O, K]):

        forward  out_t [O, N*P] = W2d @ cols_t [K, N*P]           cols_t = im2col_t(x)
        weight   dW    [O, K]   = dout_t [O, N*P] @ cols [N*P, K]  cols = im2col(x)
        input    dx             = col2im_t(W2d^T [K, O] @ dout_t)
        bias     db             = dout summed over (n, y, x)

    The kernels (conv2d_forward / conv2d_backward) compute these with the big unfolded matrix
    in the layout the GEMM reads best -- with many taps per channel, the pixels as rows and the
    taps channels last (csrc/conv.c explains both ways round) -- in chunks of the batch that
    keep the unfolding in L2, on the thread pool, and the backward recomputes the unfolding
    rather than keeping it, as PyTorch does. Under create_graph the same formulas are written
    with differentiable ops (Im2col, Col2im, mm), so double backward works; its nodes are those
    ops where PyTorch records ConvolutionBackwardBackward0.
    """
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, window: Window):
        ctx.window = window
        ctx.save_for_backward(x, weight)
        return backend.kernels.conv2d_forward(x, weight, bias, *window)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs, window, o = ctx.needs_input_grad, ctx.window, weight.shape[0]
        needs_db = len(needs) > 2 and needs[2]
        if grad_mode.is_grad_enabled():  # create_graph: the same formulas, differentiable
            g_t = grad.transpose(0, 1).reshape(o, -1)
            dx = Col2im.apply(g_t.t().mm(weight.reshape(o, -1)), tuple(x.shape), window) if needs[0] else None
            dw = g_t.mm(Im2col.apply(x, window)).reshape(weight.shape) if needs[1] else None
            return dx, dw, grad.sum((0, 2, 3)) if needs_db else None
        grads = backend.kernels.conv2d_backward(grad._data, x._data, weight._data, *window, needs[0], needs[1],
                                                needs_db)
        return tuple(None if g is None else wrap(g) for g in grads)

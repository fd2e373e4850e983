"""The time loop of nn.RNN / LSTM / GRU: the reference steps as Tensor ops, and the same loop
as one op per layer and direction whose forward and backward (backpropagation through time)
are written out by hand on the kernels of csrc/rnn.c (LSTM, GRU) and csrc/matmul.c.

    LSTM   i, f, g, o = chunks of  x W_ih^T + b_ih + h W_hh^T + b_hh      (sigmoid; g: tanh)
           c' = f * c + i * g        h' = o * tanh(c')
    GRU    r, z = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr), same for z
           n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))      h' = (1 - z) * n + z * h
    RNN    h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)    (or relu)

Every op here takes x_proj = x W_ih^T + b_ih of all L steps at once, [L, N, gates * H] (the
caller computes it with one matrix product before the loop, as PyTorch's CPU kernels do).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Op, wrap


# ---------------------------------------------------------------- the reference: one step as Tensor ops
# autograd runs back through time by itself; nn/modules/rnn.py uses these for the cells, for
# proj_size and for dtypes without kernels, and the fused ops below for create_graph.

def _linear(x, w, b):
    from .. import addmm  # (lazily: the package imports ops first)
    return x.matmul(w.t()) if b is None else addmm(b, x, w.t())


def rnn_step(x_proj, h, w_hh, b_hh, relu: bool):
    pre = x_proj + _linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def lstm_step(x_proj, h, c, w_hh, b_hh, w_hr=None) -> tuple:
    gates = x_proj + _linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else _linear(h, w_hr, None)), c


def gru_step(x_proj, h, w_hh, b_hh):
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = _linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)  # = (1 - z) * n + z * h


def reference_sequence(mode: str, x_proj, state: list, w_hh, b_hh, w_hr=None, reverse: bool = False):
    """Run `mode`'s step over x_proj [L, N, gates * H] from `state` ([h0] or [h0, c0], each [N, size]):
    (outputs [L, N, size], final state list)."""
    x_proj = x_proj.unbind(0)  # one unbind: its backward stacks the steps' gradients once
    outputs = [None] * len(x_proj)
    for t in _order(len(x_proj), reverse):
        if mode == "LSTM":
            state = list(lstm_step(x_proj[t], state[0], state[1], w_hh, b_hh, w_hr))
        elif mode == "GRU":
            state = [gru_step(x_proj[t], state[0], w_hh, b_hh)]
        else:
            state = [rnn_step(x_proj[t], state[0], w_hh, b_hh, mode == "RNN_RELU")]
        outputs[t] = state[0]
    from ..tensor import stack
    return stack(outputs, dim=0), state


def _order(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


# ---------------------------------------------------------------- PERF: a layer's whole loop as one op
# The reference makes ~20 ops per LSTM step, forward and backward: at batch 64, hidden 128,
# Python's share of the step exceeded the matrix products'. Here a step is one matmul and one
# fused kernel each way, and the weight gradients of all L steps are one matrix product
# (dW_hh = sum over t of dgates_t^T h_{t-1}) instead of L. Same results as the reference.

def _previous(out: np.ndarray, first: np.ndarray, reverse: bool) -> np.ndarray:
    """[L, N, H]: the state each step started from (`first` for the first step run)."""
    if reverse:
        return np.concatenate([out[1:], first[None]])
    return np.concatenate([first[None], out[:-1]])


def _weight_grads(needs: tuple, d_hh: np.ndarray, h_prev: np.ndarray, w_hh: np.ndarray) -> tuple:
    """dL/dW_hh and dL/db_hh (as `needs` says) from every step's dL/d(h W_hh^T + b_hh)
    ([L, N, gates * H]) and the states they started from ([L, N, H]), in one product."""
    need_w, need_b = needs
    if not (need_w or need_b):
        return None, None
    grad = d_hh.reshape(-1, w_hh.shape[0])
    _, dw, db = backend.kernels.linear_backward(grad, h_prev.reshape(-1, w_hh.shape[1]), w_hh, False, need_w,
                                                need_b)
    return (wrap(dw) if need_w else None), (wrap(db) if need_b else None)


def _create_graph_grads(ctx, mode: str, inputs: list, grads: list) -> tuple:
    """Under create_graph the gradient must itself be differentiable: differentiate the reference
    steps, re-run on the same inputs (x_proj, states..., w_hh, b_hh), instead."""
    from ..autograd.engine import grad
    x_proj, *state, w_hh, b_hh = inputs
    out, final = reference_sequence(mode, x_proj, state, w_hh, b_hh, None, ctx.reverse)
    wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
    found = iter(grad([out, *final], wanted, grads, create_graph=True, allow_unused=True))
    return tuple(next(found) if need else None for need in ctx.needs_input_grad[:len(inputs)])


class LSTMSequence(Op):
    """One LSTM layer in one direction: (x_proj [L, N, 4H], h0, c0 [N, H], W_hh, b_hh or None,
    reverse) -> (output [L, N, H], h_n, c_n). PyTorch records one node for a layer as well."""
    node_name = "LstmSequenceBackward0"

    @staticmethod
    def forward(ctx, x_proj, h0, c0, w_hh, b_hh, reverse):
        kernels, steps = backend.kernels, len(x_proj)
        gates, cells, outs = [None] * steps, [None] * steps, [None] * steps
        h, c = h0, c0
        for t in _order(steps, reverse):
            gates[t], cells[t], outs[t] = kernels.lstm_cell(x_proj[t], kernels.linear(h, w_hh, b_hh), c)
            h, c = outs[t], cells[t]
        out = np.stack(outs)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x_proj, h0, c0, w_hh, b_hh, out)
            ctx.gates, ctx.cells, ctx.reverse = gates, cells, reverse
        return out, h, c.copy()  # (a copy: c_n changed in place must not change what backward reads)

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):
        x_proj, h0, c0, w_hh, b_hh, out = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            return _create_graph_grads(ctx, "LSTM", [x_proj, h0, c0, w_hh, b_hh], [grad_out, grad_h, grad_c])
        kernels, w, steps = backend.kernels, w_hh._data, len(ctx.gates)
        dh, dc, d_gates = grad_h._data, grad_c._data, [None] * steps
        order = _order(steps, ctx.reverse)
        for k in reversed(range(steps)):  # the steps in the opposite order to the forward's
            t, before = order[k], order[k - 1] if k else None
            c_prev = c0._data if before is None else ctx.cells[before]
            d_gates[t], dc = kernels.lstm_cell_backward(ctx.gates[t], c_prev, ctx.cells[t], dh + grad_out._data[t], dc)
            dh = kernels.matmul(d_gates[t], w)  # d(h W_hh^T)/dh
        d_gates = np.stack(d_gates)  # dL/dx_proj, and dL/d(h W_hh^T + b_hh) of every step
        dw, db = _weight_grads(ctx.needs_input_grad[3:5], d_gates, _previous(out._data, h0._data, ctx.reverse), w)
        return wrap(d_gates), wrap(dh), wrap(dc), dw, db


class GRUSequence(Op):
    """One GRU layer in one direction: (x_proj [L, N, 3H], h0 [N, H], W_hh, b_hh or None, reverse)
    -> (output [L, N, H], h_n)."""
    node_name = "GruSequenceBackward0"

    @staticmethod
    def forward(ctx, x_proj, h0, w_hh, b_hh, reverse):
        kernels, steps = backend.kernels, len(x_proj)
        gates, hhs, outs = [None] * steps, [None] * steps, [None] * steps
        h = h0
        for t in _order(steps, reverse):
            hhs[t] = kernels.linear(h, w_hh, b_hh)
            gates[t], outs[t] = kernels.gru_cell(x_proj[t], hhs[t], h)
            h = outs[t]
        out = np.stack(outs)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x_proj, h0, w_hh, b_hh, out)
            ctx.gates, ctx.hhs, ctx.reverse = gates, hhs, reverse
        return out, h.copy()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        x_proj, h0, w_hh, b_hh, out = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            return _create_graph_grads(ctx, "GRU", [x_proj, h0, w_hh, b_hh], [grad_out, grad_h])
        kernels, w, steps = backend.kernels, w_hh._data, len(ctx.gates)
        h_prev = _previous(out._data, h0._data, ctx.reverse)
        dh, d_xp, d_hh = grad_h._data, [None] * steps, [None] * steps
        for t in reversed(_order(steps, ctx.reverse)):
            d_xp[t], d_hh[t], direct = kernels.gru_cell_backward(ctx.gates[t], ctx.hhs[t], h_prev[t],
                                                                 dh + grad_out._data[t])
            dh = direct + kernels.matmul(d_hh[t], w)
        dw, db = _weight_grads(ctx.needs_input_grad[2:4], np.stack(d_hh), h_prev, w)
        return wrap(np.stack(d_xp)), wrap(dh), dw, db


class RNNSequence(Op):
    """One Elman RNN layer in one direction: (x_proj [L, N, H], h0, W_hh, b_hh or None, reverse,
    relu) -> (output [L, N, H], h_n). Its step needs no kernel of its own: tanh / relu and their
    backwards are activations.c's."""
    node_name = "RnnSequenceBackward0"

    @staticmethod
    def forward(ctx, x_proj, h0, w_hh, b_hh, reverse, relu):
        kernels, steps = backend.kernels, len(x_proj)
        outs, h = [None] * steps, h0
        for t in _order(steps, reverse):
            pre = x_proj[t] + kernels.linear(h, w_hh, b_hh)
            outs[t] = h = kernels.relu(pre) if relu else np.tanh(pre)
        out = np.stack(outs)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x_proj, h0, w_hh, b_hh, out)
            ctx.reverse, ctx.relu = reverse, relu
        return out, h.copy()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        x_proj, h0, w_hh, b_hh, out = ctx.saved_tensors
        if grad_mode.is_grad_enabled():
            mode = "RNN_RELU" if ctx.relu else "RNN_TANH"
            return _create_graph_grads(ctx, mode, [x_proj, h0, w_hh, b_hh], [grad_out, grad_h])
        kernels, w, outs = backend.kernels, w_hh._data, out._data
        dh, d_pre = grad_h._data, [None] * len(outs)
        for t in reversed(_order(len(outs), ctx.reverse)):
            grad = dh + grad_out._data[t]
            d_pre[t] = kernels.relu_backward(grad, outs[t]) if ctx.relu else kernels.tanh_backward(grad, outs[t])
            dh = kernels.matmul(d_pre[t], w)
        d_pre = np.stack(d_pre)
        dw, db = _weight_grads(ctx.needs_input_grad[2:4], d_pre, _previous(outs, h0._data, ctx.reverse), w)
        return wrap(d_pre), wrap(dh), dw, db

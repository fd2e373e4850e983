"""rnn.c's NumPy twin: one LSTM or GRU time step after its matrix products, and its backward.

``xp = x W_ih^T + b_ih`` and ``hh = h_prev W_hh^T + b_hh`` are given; the gates are PyTorch's,
in its order (LSTM i, f, g, o; GRU r, z, n). The formulas are written out in csrc/rnn.c.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_rnn_cell
from .activations import sigmoid


def lstm_cell(xp: np.ndarray, hh: np.ndarray, c_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gates, c, h)``: gates [n, 4 hidden] = i, f, g, o activated; c = f c_prev + i g; h = o tanh(c)."""
    check_rnn_cell("lstm_cell", xp, hh, c_prev)
    gates = xp + hh
    i, f, g, o = np.split(gates, 4, axis=1)  # views: activated in place
    i[...], f[...], g[...], o[...] = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = f * c_prev + i * g
    return gates, c, o * np.tanh(c)


def lstm_cell_backward(gates: np.ndarray, c_prev: np.ndarray, c: np.ndarray, grad_h: np.ndarray,
                       grad_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(grad_gates, grad_c_prev)``: dL/d(xp + hh) [n, 4 hidden] and dL/dc_prev, from dL/dh and dL/dc."""
    check_rnn_cell("lstm_cell_backward", gates, c_prev, c, grad_h, grad_c)
    i, f, g, o = np.split(gates, 4, axis=1)
    tc = np.tanh(c)
    dc = grad_c + grad_h * o * (1 - tc * tc)
    grad_gates = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                                 grad_h * tc * o * (1 - o)], axis=1)
    return grad_gates, dc * f


def gru_cell(xp: np.ndarray, hh: np.ndarray, h_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(gates, h)``: gates [n, 3 hidden] = r, z, n activated; h = n + z (h_prev - n)."""
    check_rnn_cell("gru_cell", xp, hh, h_prev)
    hidden = h_prev.shape[1]
    rz = sigmoid(xp[:, :2 * hidden] + hh[:, :2 * hidden])
    r, z = rz[:, :hidden], rz[:, hidden:]
    n = np.tanh(xp[:, 2 * hidden:] + r * hh[:, 2 * hidden:])
    return np.concatenate([rz, n], axis=1), n + z * (h_prev - n)


def gru_cell_backward(gates: np.ndarray, hh: np.ndarray, h_prev: np.ndarray,
                      grad_h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grad_xp, grad_hh, grad_h_prev)``; grad_h_prev is only the direct part, dL/dh * z."""
    check_rnn_cell("gru_cell_backward", gates, hh, h_prev, grad_h)
    r, z, n = np.split(gates, 3, axis=1)
    dn = grad_h * (1 - z) * (1 - n * n)
    dr = dn * hh[:, 2 * r.shape[1]:] * r * (1 - r)
    dz = grad_h * (h_prev - n) * z * (1 - z)
    return np.concatenate([dr, dz, dn], axis=1), np.concatenate([dr, dz, dn * r], axis=1), grad_h * z

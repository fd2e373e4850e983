"""rnn.c's bindings: one LSTM or GRU time step after its matrix products, and its backward.

Same names, signatures and errors as the NumPy twins in ``backend/numpy/rnn.py``; the loops
are in ``csrc/rnn.c``.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_rnn_cell
from ._ffi import dense, from_buffer, kernel_table, raise_on_error

_LSTM, _LSTM_BACKWARD = kernel_table("lstm_cell"), kernel_table("lstm_cell_backward")
_GRU, _GRU_BACKWARD = kernel_table("gru_cell"), kernel_table("gru_cell_backward")


def _run(table: dict, inputs: tuple, out_shapes: tuple, n: int, hidden: int) -> tuple:
    """``tg_<name>(*inputs, *outputs, n, hidden)`` into new arrays of ``out_shapes``."""
    dtype = inputs[0].dtype
    fn, ctype = table[dtype]
    outs = tuple(np.empty(shape, dtype) for shape in out_shapes)
    rc = fn(*[from_buffer(ctype, dense(a)) for a in inputs], *[from_buffer(ctype, o) for o in outs], n, hidden)
    if rc != 0:
        raise_on_error(rc, fn)
    return outs


def lstm_cell(xp: np.ndarray, hh: np.ndarray, c_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(gates, c, h)``: gates [n, 4 hidden] = i, f, g, o activated; c = f c_prev + i g; h = o tanh(c)."""
    n, hidden = check_rnn_cell("lstm_cell", xp, hh, c_prev)
    return _run(_LSTM, (xp, hh, c_prev), ((n, 4 * hidden), (n, hidden), (n, hidden)), n, hidden)


def lstm_cell_backward(gates: np.ndarray, c_prev: np.ndarray, c: np.ndarray, grad_h: np.ndarray,
                       grad_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(grad_gates, grad_c_prev)``: dL/d(xp + hh) [n, 4 hidden] and dL/dc_prev, from dL/dh and dL/dc."""
    n, hidden = check_rnn_cell("lstm_cell_backward", gates, c_prev, c, grad_h, grad_c)
    return _run(_LSTM_BACKWARD, (gates, c_prev, c, grad_h, grad_c), ((n, 4 * hidden), (n, hidden)), n, hidden)


def gru_cell(xp: np.ndarray, hh: np.ndarray, h_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(gates, h)``: gates [n, 3 hidden] = r, z, n activated; h = n + z (h_prev - n)."""
    n, hidden = check_rnn_cell("gru_cell", xp, hh, h_prev)
    return _run(_GRU, (xp, hh, h_prev), ((n, 3 * hidden), (n, hidden)), n, hidden)


def gru_cell_backward(gates: np.ndarray, hh: np.ndarray, h_prev: np.ndarray,
                      grad_h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grad_xp, grad_hh, grad_h_prev)``; grad_h_prev is only the direct part, dL/dh * z."""
    n, hidden = check_rnn_cell("gru_cell_backward", gates, hh, h_prev, grad_h)
    return _run(_GRU_BACKWARD, (gates, hh, h_prev, grad_h), ((n, 3 * hidden), (n, 3 * hidden), (n, hidden)),
                n, hidden)

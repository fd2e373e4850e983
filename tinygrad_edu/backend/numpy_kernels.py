"""The NumPy backend as one namespace: what ``backend.kernels`` is while ``"numpy"`` is active.

The twins themselves live in ``backend/numpy/<family>.py``, one module per ``csrc/<family>.c``,
each with exactly the name, signature and errors of its C binding (``backend/c/<family>.py``),
so the core can call ``backend.kernels.<name>(...)`` without knowing which backend is active
and the test suite can run once per backend. The argument checks both share are in
``backend/checks.py``.
"""
from __future__ import annotations

from .checks import FLOAT_DTYPES  # noqa: F401  (old import path)
from .numpy.activations import (bias_relu, erf, gelu, gelu_backward, leaky_relu, leaky_relu_backward, relu,
                                relu_backward, sigmoid, sigmoid_backward, tanh_backward)
from .numpy.conv import col2im, col2im_t, conv2d_backward, conv2d_forward, im2col, im2col_t
from .numpy.elementwise import uint8_to_float32
from .numpy.loss import cross_entropy, cross_entropy_coefficients  # noqa: F401
from .numpy.matmul import bmm, linear, linear_backward, matmul
from .numpy.optim import adagrad_step, adam_step, rmsprop_step, sgd_step
from .numpy.pool import max_pool2d_backward, max_pool2d_forward
from .numpy.rnn import gru_cell, gru_cell_backward, lstm_cell, lstm_cell_backward
from .numpy.softmax import log_softmax, log_softmax_backward, softmax, softmax_backward

# The kernel vocabulary, one section per C file; c_kernels.__all__ is this list, and a test
# checks that every name is a callable in both modules.
__all__ = [
    "matmul", "bmm", "linear", "linear_backward",  # matmul.c
    "relu", "relu_backward", "bias_relu", "leaky_relu", "leaky_relu_backward",  # activations.c
    "sigmoid", "sigmoid_backward", "tanh_backward", "erf", "gelu", "gelu_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",  # softmax.c
    "cross_entropy",  # loss.c
    "sgd_step", "adam_step", "rmsprop_step", "adagrad_step",  # optim.c
    "im2col", "col2im", "im2col_t", "col2im_t",  # conv.c
    "conv2d_forward", "conv2d_backward",
    "max_pool2d_forward", "max_pool2d_backward",  # pool.c
    "lstm_cell", "lstm_cell_backward", "gru_cell", "gru_cell_backward",  # rnn.c
    "uint8_to_float32",  # elementwise.c
]

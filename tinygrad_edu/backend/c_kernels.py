"""The C backend as one namespace: what ``backend.kernels`` is while ``"c"`` is active.

The bindings themselves live in ``backend/c/<family>.py``, one module per ``csrc/<family>.c``,
each a plain function with its NumPy twin's name, signature and errors; ``backend/c/_ffi.py``
is the only code that touches cffi. Importing this module raises ``ImportError`` when the
extension was not built; ``tinygrad_edu.backend`` catches that and falls back to NumPy.
"""
from __future__ import annotations

from . import numpy_kernels as _numpy_kernels
from .c._ffi import ffi, get_num_threads, keep_freed_memory, lib, set_num_threads  # noqa: F401
from .c._ffi import raise_on_error as _raise_on_error  # noqa: F401  (old name, used by tests)
from .c.activations import (bias_relu, erf, gelu, gelu_backward, leaky_relu, leaky_relu_backward,  # noqa: F401
                            relu, relu_backward, sigmoid, sigmoid_backward, tanh_backward)
from .c.conv import col2im, col2im_t, conv2d_backward, conv2d_forward, im2col, im2col_t  # noqa: F401
from .c.elementwise import uint8_to_float32  # noqa: F401
from .c.loss import cross_entropy  # noqa: F401
from .c.matmul import bmm, linear, linear_backward, matmul, matmul_naive  # noqa: F401
from .c.optim import adagrad_step, adam_step, rmsprop_step, sgd_step  # noqa: F401
from .c.pool import max_pool2d_backward, max_pool2d_forward  # noqa: F401
from .c.rnn import gru_cell, gru_cell_backward, lstm_cell, lstm_cell_backward  # noqa: F401
from .c.softmax import log_softmax, log_softmax_backward, softmax, softmax_backward  # noqa: F401

# The same vocabulary as the NumPy twin (a test checks it). matmul_naive is an extra for tests
# and benchmarks, deliberately not listed.
__all__ = list(_numpy_kernels.__all__)

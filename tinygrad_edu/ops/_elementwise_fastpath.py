"""Measured shortcuts of tensor-number arithmetic and dtype conversion, kept out of the code a student reads first.

The readable path of `x / 255.0` is `Tensor._binary` -> `_operand` (the number as a 0-d tensor,
a uint8 `x` converted by a `ToCopy` op) -> `ops.Div.apply` -> `Op.apply`: a node object, the
argument loop, two or three Tensors. When no graph is recorded (no input requires grad, or
grad mode is off) none of that is needed: the result is one NumPy ufunc call on `x`'s array
and the number as a scalar of the result dtype -- exactly what `Div.forward` computes on the
0-d array -- wrapped in one Tensor. `.to(dtype)` likewise is one `astype` (`ToCopy.forward`).
Anything else (a graph to record, a dtype other than float32/float64, keyword arguments)
returns None and the caller takes the readable path. tests/test_elementwise_fastpath.py checks
both paths bit for bit against each other and against torch.

The ufunc calls live in this package so that inf/NaN stay values, not RuntimeWarnings (the
filter in ops/__init__.py is by module).

PERF: measured (best of 7 x 300 calls, one thread, [64, 784], the MNIST batch of the notes'
MLP, loaded 2-core machine, A/B against main in one session): `x - 0.1307` 7.8 -> 5.6 us (0.8 us
of it `_check_not_bool_sub`'s all() over a generator), `x / 0.3081` 8.4 -> 6.9 us (NumPy's own
call: 4.5 and 6.1 us), `uint8.float()` 7.0 -> 4.8 us (with csrc/elementwise.c; NumPy 5.3 us,
torch 4.2 us), the whole normalisation `(u.float() / 255.0 - mean) / std` 31.8 -> 25.2 us (NumPy
22.0 us, torch 29.3 us); inside the training step (cold caches) 43 -> 35 us.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import wrap
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from .elementwise import Add, Div, Mul, Sub

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT32, _UINT8 = np.dtype(np.float32), np.dtype(np.uint8)
_UFUNC = {Add: np.add, Sub: np.subtract, Mul: np.multiply, Div: np.true_divide}


def number_without_graph(x, number, op, reverse: bool, floating: bool):
    """``op(x, number)`` (``op(number, x)`` if reverse) for a Python float/int ``number`` when no graph
    is recorded and the result is float32/float64, with `Tensor._binary`'s promotion: a float ``x``
    keeps its dtype; an integer or bool ``x`` under true division (``floating``) gives the default
    float dtype. Anything else: None."""
    ufunc = _UFUNC.get(op)
    if ufunc is None or grad_mode._enabled and x._requires_grad:
        return None
    data = x._data
    dt = data.dtype
    if dt not in _FLOATS:
        if not floating or dt.kind not in "biu":
            return None
        dt = get_default_dtype().np
        if dt not in _FLOATS:
            return None
    scalar = dt.type(number)
    if data.dtype != dt:  # e.g. uint8 / 255.0: convert (a new array), then compute in place in it
        data = _astype(data, dt)
        return wrap(ufunc(scalar, data, out=data) if reverse else ufunc(data, scalar, out=data))
    return wrap(ufunc(scalar, data) if reverse else ufunc(data, scalar))


def to_without_graph(x, np_dtype: np.dtype):
    """``x.to(np_dtype)`` (a different dtype) when no graph is recorded, else None."""
    if grad_mode._enabled and x._requires_grad:
        return None
    return wrap(_astype(x._data, np_dtype))


def _astype(data: np.ndarray, dt: np.dtype) -> np.ndarray:
    """``data.astype(dt)``; uint8 -> float32 (an image batch) by the backend's kernel: 2x NumPy's cast in C."""
    if dt == _FLOAT32 and data.dtype == _UINT8:
        return backend.kernels.uint8_to_float32(data)
    return data.astype(dt)


# ---------------------------------------------------------------- relu's node and relu without a graph
# PERF: measured (best of 9 x 3000 calls, [64, 256] float32, loaded machine): running a recorded
# ReluBackward0 6.1 -> 5.1 us (the kernel call alone: 3.7 us); `x.relu()` without a graph
# 3.5 -> 2.7 us at [64, 64] (kernel 2.3 us).

def relu_backward_apply(ctx, grad):
    """`ReluBackward0.apply(grad)`: what `Relu.backward` computes -- `ThresholdBackward.apply(grad, out)`
    -- when no graph is recorded (the usual `loss.backward()`): the same kernel on the same arrays,
    without the op around it. With create_graph, or unusual dtypes, `Relu.backward` itself runs."""
    if not grad_mode._enabled and type(grad) is Tensor:
        (out,) = ctx.saved_tensors  # (checks the version: an in-place change of the output raises)
        g, o = grad._data, out._data
        if o.dtype in _FLOATS and g.dtype == o.dtype:
            return wrap(backend.kernels.relu_backward(g, o))
    return ctx._fn.backward(ctx, grad)


def relu_without_graph(x):
    """``x.relu()`` for float32/float64 ``x`` when no graph is recorded, else None."""
    data = x._data
    if data.dtype not in _FLOATS or grad_mode._enabled and x._requires_grad:
        return None
    return wrap(backend.kernels.relu(data))

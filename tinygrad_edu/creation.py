"""Functions that make new tensors: zeros, ones, full, arange, rand, ... (PyTorch's signatures)."""
from __future__ import annotations

import math

import numpy as np

from .dtypes import get_default_dtype, to_dtype
from .random import Generator, _generator
from ._device import check_device
from .tensor import Tensor, _shape_arg


def _new(data: np.ndarray, requires_grad: bool, device=None) -> Tensor:
    if device is not None:
        check_device(device)
    t = Tensor._make(data)
    t.requires_grad = requires_grad
    return t


def _np_dtype(dtype, default=None) -> np.dtype:
    return to_dtype(dtype).np if dtype is not None else (default or get_default_dtype().np)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(np.zeros(_shape_arg(size), _np_dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(np.ones(_shape_arg(size), _np_dtype(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uninitialised in PyTorch; zero-filled here, so that a forgotten fill is never garbage."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if dtype is None:  # PyTorch infers the dtype from the fill value
        dtype = bool if isinstance(fill_value, bool) else (np.int64 if isinstance(fill_value, int) else None)
    return _new(np.full(_shape_arg((size,)), fill_value, _np_dtype(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """[start, end) by step; integers give int64, any float the default float (as PyTorch)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    n = max(math.ceil((end - start) / step), 0)
    data = (start + step * np.arange(n, dtype=np.float64)) if not is_int else np.arange(start, end, step, np.int64)
    return _new(data.astype(_np_dtype(dtype, np.dtype(np.int64) if is_int else None)), requires_grad, device)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _new(np.linspace(start, end, steps).astype(_np_dtype(dtype)), requires_grad, device)


def rand(*size, generator: Generator | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1)."""
    dt = _np_dtype(dtype)
    data = _generator(generator).random(_shape_arg(size), dtype=dt if dt.itemsize >= 4 else np.float32)
    data = np.minimum(data.astype(dt, copy=False), np.nextafter(dt.type(1), dt.type(0)))  # float16 rounds up to 1
    return _new(data, requires_grad, device)


def randn(*size, generator: Generator | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal."""
    dt = _np_dtype(dtype)
    data = _generator(generator).standard_normal(_shape_arg(size), dtype=dt if dt.itemsize >= 4 else np.float32)
    return _new(data.astype(dt, copy=False), requires_grad, device)


def randint(low=None, high=None, size=None, generator: Generator | None = None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers uniform in [low, high); randint(high, size) as PyTorch allows."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...): one bound is the upper one
        low, high = 0, low
    elif low is None:  # randint(high=..., size=...)
        low = 0
    if size is None:
        raise TypeError("randint() missing 1 required positional argument: 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    data = _generator(generator).integers(low, high, _shape_arg((size,)))
    return _new(data.astype(_np_dtype(dtype, np.dtype(np.int64))), requires_grad, device)


def randperm(n: int, generator: Generator | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _new(_generator(generator).permutation(n).astype(_np_dtype(dtype, np.dtype(np.int64))), requires_grad, device)


def _like(fn):
    def like(input: Tensor, dtype=None, device=None, requires_grad=False, **kwargs) -> Tensor:
        return fn(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad, **kwargs)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"`{fn.__name__}` with the shape (and by default the dtype) of `input`."
    return like


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)

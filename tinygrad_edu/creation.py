"""Functions that make new tensors: tensor, from_numpy, zeros, ones, arange, rand, cat, stack, where, ...

PyTorch's signatures and dtype rules. (tensor, from_numpy, cat, stack and where are also importable
from tinygrad_edu.tensor, their old home.)
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import dtypes, ops
from .dtypes import canonical_dim, get_default_dtype, result_type, to_dtype
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


def _array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _operand(x, dt: np.dtype) -> Tensor:
    """A Tensor of dtype dt: numbers become constants, other dtypes a (differentiable) cast."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt else ops.ToCopy.apply(x, dt)
    return Tensor._make(np.asarray(x, dt))


# ------------------------------------------------------------ tensors from data, joined, chosen

def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays or tensors).

    As PyTorch: Python floats give the default float32, ints int64, bools bool; a NumPy array
    keeps its dtype."""
    if device is not None:
        check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
        dtypes.from_numpy_dtype(arr.dtype)  # refuses dtypes we do not have
    else:  # with a dtype given, Python floats go to it directly (tensor(0.3, dtype=float64) is exact)
        arr = _from_python(data, keep_float64=dtype is not None)
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype).np, copy=False)
    t = Tensor._make(arr)
    t.requires_grad = requires_grad
    return t


def _from_python(data, keep_float64: builtins.bool = False) -> np.ndarray:
    if isinstance(data, (list, tuple)) and data and builtins.any(isinstance(x, Tensor) for x in data):
        data = [x._data if isinstance(x, Tensor) else x for x in data]
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"could not build a tensor from ragged nested sequences: {e}") from None
    if arr.dtype.kind == "f":
        return arr.astype(get_default_dtype().np, copy=False) if arr.dtype == np.float64 and not keep_float64 else arr
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind == "O":
        raise ValueError("too many dimensions or ragged nested sequences: every row must have the same length")
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dt = result_type(*tensors).np
    ref = next((t for t in tensors if t.ndim > 1 or t.numel() > 0), tensors[0])
    d = canonical_dim(dim, ref.ndim)
    parts = []
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.numel() == 0 and ref.ndim != 1:
            parts.append(_operand(t, dt))  # a legacy empty 1-D tensor: Cat skips it, as PyTorch
            continue
        if t.ndim != ref.ndim or builtins.any(s != r for j, (s, r) in enumerate(zip(t.shape, ref.shape)) if j != d):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                               f"{list(ref.shape)} but got size {list(t.shape)} for tensor number {i} in the list.")
        parts.append(_operand(t, dt))
    return ops.Cat.apply(d, *parts)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    dt = result_type(*tensors).np
    return ops.Stack.apply(canonical_dim(dim, tensors[0].ndim + 1), *[_operand(t, dt) for t in tensors])


def where(condition, input=None, other=None):
    """where(condition, input, other), elementwise; where(condition) gives the indices (nonzero)."""
    if input is None and other is None:
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(_array(condition)))
    if not isinstance(input, Tensor):
        input = tensor(input, dtype=result_type(input, other) if not isinstance(other, Tensor) else other.dtype)
    return input.where(condition, other)

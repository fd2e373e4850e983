"""Data types, as PyTorch names them, each a thin label over a NumPy dtype.

Type promotion follows PyTorch, not NumPy: float16 + int64 is float16 (NumPy says
float64), and a Python number or a 0-d tensor does not widen a tensor of its own kind
(float32 tensor * 2.5 stays float32; int64 tensor * 2.5 becomes the default float).
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """One element type. `repr` is `tinygrad_edu.float32` where PyTorch prints `torch.float32`."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank")

    def __init__(self, name: str, np_dtype: type, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._rank = rank  # order within a category: bool < ints < floats, narrow < wide

    def __repr__(self) -> str:
        return f"tinygrad_edu.{self.name}"

    def __reduce__(self):
        return "bool_" if self.name == "bool" else self.name  # pickled by reference: the module's name for it


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 2)
int32 = dtype("int32", np.int32, 3)
int64 = dtype("int64", np.int64, 4)
float16 = dtype("float16", np.float16, 5)
float32 = dtype("float32", np.float32, 6)
float64 = dtype("float64", np.float64, 7)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
ALIASES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "short": int16}
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {**{d.name: d for d in ALL}, **ALIASES}
_BY_PYTYPE = {builtins.float: float64, builtins.int: int64, builtins.bool: bool_}  # torch: dtype=float is double

_default_float = float32
_LEGACY = {f"torch.{k}Tensor": v for k, v in (("Float", float32), ("Double", float64), ("Half", float16),
           ("Long", int64), ("Int", int32), ("Short", int16), ("Char", int8), ("Byte", uint8), ("Bool", bool_))}


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """Accept a dtype, a NumPy dtype, a Python type (`float` is float64, as in PyTorch) or a name."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, type) and d in _BY_PYTYPE:
        return _BY_PYTYPE[d]
    if isinstance(d, str) and d.removeprefix("torch.").removeprefix("tinygrad_edu.") in _BY_NAME:
        return _BY_NAME[d.removeprefix("torch.").removeprefix("tinygrad_edu.")]
    if isinstance(d, str) and d in _LEGACY:
        return _LEGACY[d]
    legacy = getattr(d, "dtype", None)  # tinygrad_edu.FloatTensor and friends
    if isinstance(legacy, dtype):
        return legacy
    try:
        return _BY_NP[np.dtype(d)]
    except (TypeError, KeyError):
        known = ", ".join(x.name for x in ALL)
        raise TypeError(f"unsupported dtype {d!r}; tinygrad_edu knows: {known}") from None


def from_numpy_dtype(npd: np.dtype) -> dtype:
    try:
        return _BY_NP[npd]
    except KeyError:
        known = ", ".join(x.name for x in ALL)
        raise TypeError(f"can't convert np.ndarray of type numpy.{npd}. The only supported types are: {known}") from None


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promotion of two dtypes (`torch.promote_types`)."""
    if a is b:
        return a
    if a.is_floating_point != b.is_floating_point:  # a float wins over any int or bool
        return a if a.is_floating_point else b
    if a is bool_ or b is bool_:
        return b if a is bool_ else a
    if a.is_floating_point:
        return a if a._rank > b._rank else b
    return _BY_NP[np.promote_types(a.np, b.np)]  # ints: NumPy agrees (uint8 + int8 -> int16)


def result_type(*operands) -> dtype:
    """`torch.result_type` over tensors and Python numbers.

    Three priority groups: tensors with dimensions, 0-d tensors, then Python numbers. A lower
    group only matters when it brings a higher category (bool < integer < float); a Python
    float then gives the default float, a Python int int64.
    """
    groups: list[dtype | None] = [None, None, None]
    for x in operands:
        if isinstance(x, (builtins.bool, np.bool_)):
            g, d = 2, bool_
        elif isinstance(x, (builtins.int, np.integer)):
            g, d = 2, int64
        elif isinstance(x, (builtins.float, np.floating)):
            g, d = 2, _default_float
        else:
            g, d = (1 if x.ndim == 0 else 0), x.dtype
        groups[g] = d if groups[g] is None else promote_types(groups[g], d)
    return _combine(groups[0], _combine(groups[1], groups[2]))


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """PyTorch's `combine_categories`: a lower-priority group only adds a higher category."""
    if higher is None or lower is None:
        return higher or lower
    if higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def canonical_dim(dim: int, ndim: int) -> int:
    """Wrap a negative dim like PyTorch and check its range (0-d tensors accept dims -1 and 0)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n

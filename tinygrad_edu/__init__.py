"""tinygrad_edu: a micro autograd engine with PyTorch's semantics, for learning how it works.

`import tinygrad_edu as torch` runs PyTorch MLP tutorial code. Submodules (nn, optim, ...) load
on first use, so that importing the package stays cheap.
"""
from __future__ import annotations

import importlib

from .tensor import Size, Tensor, device  # first: tensor.py imports ops and autograd at its bottom
from . import autograd, backend, ops
from .backend import get_num_threads, set_num_threads
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._device import get_default_device, set_default_device
from .creation import (arange, cat, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones, ones_like,
                       rand, rand_like, randint, randn, randn_like, randperm, stack, tensor, where, zeros, zeros_like)
from .dtypes import (bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8, int16, int32,
                     int64, promote_types, result_type, set_default_dtype, uint8)
from ._tensor_math import _check_mm, einsum
from .random import Generator, initial_seed, manual_seed, seed
from .autograd.grad_mode import inference_mode, is_inference_mode_enabled

float, double, half, long, int, short = float32, float64, float16, int64, int32, int16
__version__ = "0.1.0"


def save(obj, f, format: str | None = None) -> None:
    """Save tensors and nested dicts/lists of them (safetensors format: loading runs no code);
    objects holding Modules or other Python classes are pickled (see serialization.py);
    format="torch" writes PyTorch's zip format, which torch.load reads."""
    from .serialization import save as _save
    _save(obj, f, format=format)


def load(f, map_location=None, weights_only: bool | None = True, **kwargs):
    """Load what `save` or PyTorch's torch.save wrote (or any safetensors file, as a dict of tensors);
    pickled objects need weights_only=False unless they hold only tensors and plain containers."""
    from .serialization import load as _load
    return _load(f, map_location=map_location, weights_only=weights_only, **kwargs)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), recorded as one AddmmBackward0 node."""
    _check_mm(mat1, mat2)
    return ops.Addmm.apply(input, mat1, mat2, beta, alpha)


def _function(name: str):
    """torch.exp(x, ...) is x.exp(...): the functional forms share the methods' code (and take out=)."""
    def fn(input, *args, out=None, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        result = getattr(input, name)(*args, **kwargs)
        return result if out is None else _write_out(name, result, out, (input, *args))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`input.{name}(...)`: see Tensor.{name}."
    return fn


def _write_out(name: str, result, out, inputs):
    """PyTorch's out=: the result written into `out` (resized if its shape differs), which is returned."""
    from ._out import write_out
    return write_out(name, result, out, inputs)


for _name in ("abs", "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "sin", "cos", "sigmoid",
              "tanh", "relu", "clamp", "clip", "maximum", "minimum", "matmul", "mm", "mv", "dot", "sum", "mean",
              "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "softmax", "log_softmax",
              "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "t", "split", "chunk", "unbind",
              "narrow", "select", "clone", "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "any", "all",
              "reciprocal", "isnan", "sign", "logical_not", "masked_fill", "detach", "swapaxes",
              "log1p", "erf", "norm", "topk", "sort", "argsort", "prod", "diagonal", "diag", "diag_embed", "trace",
              "round", "floor", "ceil", "trunc", "fix", "frac"):
    globals()[_name] = _function(_name)


class _LegacyTensorType:
    """torch.FloatTensor and friends: a constructor, and a type for `.type(...)`."""

    def __init__(self, name: str, dtype):
        self.__name__, self.dtype = name, dtype

    def __call__(self, *args) -> Tensor:
        return Tensor(*args).to(self.dtype)

    def __repr__(self) -> str:
        return f"<class 'tinygrad_edu.{self.__name__}'>"


FloatTensor = _LegacyTensorType("FloatTensor", float32)
DoubleTensor = _LegacyTensorType("DoubleTensor", float64)
HalfTensor = _LegacyTensorType("HalfTensor", float16)
LongTensor = _LegacyTensorType("LongTensor", int64)
IntTensor = _LegacyTensorType("IntTensor", int32)
ShortTensor = _LegacyTensorType("ShortTensor", int16)
ByteTensor = _LegacyTensorType("ByteTensor", uint8)
BoolTensor = _LegacyTensorType("BoolTensor", bool)

_LAZY = ("nn", "optim", "utils", "datasets", "transforms", "metrics", "viz", "serialization", "keras",
         "distributed", "cuda", "accelerator", "backends", "vision", "distributions")


_LAZY_NAMES = {"conv2d": "nn.functional", "max_pool2d": "nn.functional"}  # argument parsing lives there


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'tinygrad_edu' has no attribute '{name}'")

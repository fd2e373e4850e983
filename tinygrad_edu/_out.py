"""PyTorch's `out=` keyword (`torch.matmul(a, b, out=c)`): the result is written into `out`.

As PyTorch: `out` is returned; it is resized when its shape differs (with PyTorch's warning when
it had elements); a result that cannot be cast to out's dtype raises; and out= refuses to take
part in autograd ("out=... arguments don't support automatic differentiation").
"""
from __future__ import annotations

import warnings

import numpy as np

from .autograd import grad_mode
from .tensor import Tensor

_KIND_ORDER = "biuf"  # bool < integer < floating: a result may not be cast down this order


def write_out(name: str, result, out, inputs) -> Tensor:
    if isinstance(result, tuple):  # (values, indices) results take a tuple of outs
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} Tensors")
        for r, o in zip(result, out):
            write_out(name, r, o, inputs)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode.is_grad_enabled() and (out.requires_grad or any(isinstance(t, Tensor) and t.requires_grad
                                                                 for t in inputs)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    data, dst = result._data, out._data
    if _KIND_ORDER.index(data.dtype.kind.replace("u", "i")) > _KIND_ORDER.index(dst.dtype.kind.replace("u", "i")):
        raise RuntimeError(f"result type {_name(data.dtype)} can't be cast to the desired output type {_name(dst.dtype)}")
    if dst.shape != data.shape:
        if dst.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(dst.shape)}, "
                          "which does not match the required output shape "
                          f"{list(data.shape)}. This behavior is deprecated, and in a future PyTorch release outputs "
                          "will not be resized unless they have zero elements. You can explicitly reuse an out "
                          "tensor t by resizing it, inplace, to zero elements with t.resize_(0).", UserWarning)
        out._data = np.array(data, dtype=dst.dtype)
    else:
        dst[...] = data
    out._version[0] += 1
    return out


def _name(dt: np.dtype) -> str:
    return {"f": "Float", "i": "Long", "u": "Byte", "b": "Bool"}[dt.kind] if dt.kind != "f" or dt.itemsize == 4 \
        else {8: "Double", 2: "Half"}[dt.itemsize]

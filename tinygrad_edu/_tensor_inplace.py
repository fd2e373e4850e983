"""Tensor methods: in-place ops (add_, x[key] = v, copy_, zero_, normal_, ...).

The methods are written in the class below as they would be in `Tensor`'s own body; the
bottom of tensor.py adds them to `Tensor` (see there).
"""
from __future__ import annotations

import numpy as np

from . import ops
from .autograd import grad_mode
from ._tensor_shape import _index_key, _scatter_args
from ._tensor_math import _check_broadcast
from .random import _generator
from .tensor import Tensor


class InplaceMethods:
    """Each bumps the version counter, so a saved tensor changed in place is caught at backward."""

    # ------------------------------------------------------------ in-place ops
    def _inplace(self, compute, *others) -> Tensor:
        """Write `compute(self, *others)` into self's memory, under PyTorch's rules:

        a leaf that requires grad refuses (its `.grad` would lose meaning); otherwise self takes the
        result's `grad_fn`, and its version counter goes up so that a backward that saved the old
        value raises instead of using the new one."""
        record = grad_mode.is_grad_enabled() and (self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in others))
        if not record:
            with grad_mode.no_grad():
                out = compute(self, *others)
            _copy_into(self, out)
            return self
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if self._base is not None:
            raise RuntimeError("in-place operation on a view that is part of the autograd graph: tinygrad_edu does "
                               "not rewrite the base's history as PyTorch does; apply the op out of place (x = x + y) "
                               "or to a .clone()")
        old = Tensor._make(self._data.copy(), self._requires_grad)  # the value the op's backward may need
        old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
        out = compute(old, *others)
        _copy_into(self, out)
        if out.grad_fn is not None:
            self.grad_fn, self._output_nr, self._requires_grad = out.grad_fn, out._output_nr, True
            for s in out.grad_fn._saved or ():  # a saved result now lives in self's memory
                if getattr(s, "is_output", False):
                    s.tensor, s.version = self.detach(), self._version[0]
        return self

    def __setitem__(self, key, value) -> None:
        key, advanced = _index_key(key)
        if isinstance(value, Tensor):
            value = value if value._data.dtype == self._data.dtype else value.to(self.dtype)
        else:
            value = Tensor._make(np.asarray(value, dtype=self._data.dtype))
        target_ndim = np.empty(self._data.shape, np.bool_)[key].ndim
        while value.ndim > target_ndim and value.shape[0] == 1:  # as PyTorch, leading 1s of the value drop
            value = value.squeeze(0)
        try:
            if not (grad_mode.is_grad_enabled() and (self._requires_grad or value._requires_grad)):
                self._data[key] = value._data  # the common case: no graph to record
                self._version[0] += 1
                return
            op = ops.IndexPutAdvanced if advanced else ops.IndexPut
            self._inplace(lambda x, v: op.apply(x, v, key), value)
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None
        except ValueError as e:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                               f"indexing result: {e}") from None

    def add_(self, other, alpha=1):
        return self._inplace(lambda x, o: x.add(o, alpha=alpha), other)

    def sub_(self, other, alpha=1):
        return self._inplace(lambda x, o: x.sub(o, alpha=alpha), other)

    def mul_(self, other):
        return self._inplace(lambda x, o: x * o, other)

    def div_(self, other):
        return self._inplace(lambda x, o: x / o, other)

    def pow_(self, exponent):
        return self._inplace(lambda x, e: x ** e, exponent)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def neg_(self):
        return self._inplace(lambda x: -x)

    def relu_(self):
        return self._inplace(lambda x: x.relu())

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda x: x.clamp(min, max))

    def exp_(self):
        return self._inplace(lambda x: x.exp())

    def round_(self, decimals=0):
        return self._inplace(lambda x: x.round(decimals=decimals))

    def floor_(self):
        return self._inplace(lambda x: x.floor())

    def ceil_(self):
        return self._inplace(lambda x: x.ceil())

    def trunc_(self):
        return self._inplace(lambda x: x.trunc())

    def masked_fill_(self, mask, value):
        return self._inplace(lambda x: x.masked_fill(mask, value))

    def copy_(self, src):
        """Overwrite self with src's values, broadcast to self's shape and converted to its dtype
        (as PyTorch's, float to int truncates). Recorded as CopyBackwards; the old values are
        never computed with, so an inf or NaN in self does not survive."""
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'other' (position 1) must be Tensor, not {type(src).__name__}")
        if src._data.shape != self._data.shape:
            _check_broadcast(self.shape, src.shape)
            if np.broadcast_shapes(self._data.shape, src._data.shape) != self._data.shape:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(np.broadcast_shapes(self._data.shape, src._data.shape))}")
        if grad_mode.is_grad_enabled() and (self._requires_grad or src._requires_grad):
            return self._inplace(ops.Copy.apply, src)
        np.copyto(self._data, src._data, casting="unsafe")
        self._version[0] += 1
        return self

    def zero_(self):
        """Recorded as ZeroBackward0 (self gets a zero gradient)."""
        if grad_mode.is_grad_enabled() and self._requires_grad:
            return self._inplace(ops.Zero.apply)
        self._data[...] = 0
        self._version[0] += 1
        return self

    def fill_(self, value):
        """Recorded as FillBackward2 for a number, FillBackward3 for a 0-dim tensor (which gets the
        gradient's sum), as PyTorch's fill_.Scalar and fill_.Tensor."""
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.ndim} dimensions.")
            if grad_mode.is_grad_enabled() and (self._requires_grad or value._requires_grad):
                return self._inplace(ops.FillTensor.apply, value)
            value = value.item()
        elif grad_mode.is_grad_enabled() and self._requires_grad:
            return self._inplace(lambda x: ops.Fill.apply(x, value))
        self._data[...] = value
        self._version[0] += 1
        return self

    def _fill_random(self, sample) -> Tensor:
        """In-place random fill (normal_, uniform_, random_): outside autograd, as PyTorch's."""
        if grad_mode.is_grad_enabled() and self._requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._data[...] = sample(self._data.shape)
        self._version[0] += 1
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self._fill_random(lambda shape: _generator(generator).normal(mean, std, shape))

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self._fill_random(lambda shape: _generator(generator).uniform(a, b, shape))

    def random_(self, low=0, high=None, generator=None):
        """Integers uniform in [low, high) (PyTorch's random_(to) when only one bound is given)."""
        low, high = (0, low) if high is None else (low, high)
        return self._fill_random(lambda shape: _generator(generator).integers(low, high, shape))

    def bernoulli_(self, p=0.5, generator=None):
        return self._fill_random(lambda shape: _generator(generator).random(shape) < p)


    def scatter_(self, dim, index, src=None, value=None):
        dim, idx, source = _scatter_args(self, dim, index, src, value, "scatter_")
        return self._inplace(lambda x, *s: (ops.Scatter.apply(x, idx, dim, s[0]) if s else
                                            ops.ScatterValue.apply(x, idx, dim, source)),
                             *((source,) if isinstance(source, Tensor) else ()))

def _copy_into(dst: Tensor, src: Tensor) -> None:
    if src._data.shape != dst._data.shape:
        try:
            np.broadcast_to(src._data, dst._data.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{list(src.shape)}") from None
    if not np.can_cast(src._data.dtype, dst._data.dtype, "same_kind"):
        raise RuntimeError(f"result type {src.dtype} can't be cast to the desired output type {dst.dtype}")
    np.copyto(dst._data, src._data, casting="same_kind")
    dst._version[0] += 1

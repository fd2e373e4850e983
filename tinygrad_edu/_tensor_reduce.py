"""Tensor methods: reductions (sum, mean, var, std, max, min, argmax, logsumexp) and softmax.

The methods are written in the class below as they would be in `Tensor`'s own body; the
bottom of tensor.py adds them to `Tensor` (see there).
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from . import dtypes, ops
from .dtypes import canonical_dim, get_default_dtype
from .tensor import _LEGACY_NAMES, Tensor, _dims, _shape_arg


class ReduceMethods:
    """Reductions over `dim` (None: all dims), with PyTorch's keepdim and dtype arguments."""

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None, axis=None):
        dims = _dims(axis if dim is None else dim, self.ndim)
        if dtype is not None:
            return self.to(dtype).sum(dims, keepdim)
        if dims is None:
            return ops.Sum.apply(self, None, False, None)
        return ops.SumDim.apply(self, dims, keepdim, None)

    def sum_to_size(self, *size) -> Tensor:
        """Sum the dims that broadcasting expanded, so the result has `size` (for gradients)."""
        shape = _shape_arg(size)
        if self.shape == shape:
            return self
        lead = self.ndim - len(shape)
        dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1)
        return self.sum(dims, keepdim=True).reshape(shape) if dims else self.reshape(shape)

    def mean(self, dim=None, keepdim=False, dtype=None, axis=None):
        if dtype is not None:
            return self.to(dtype).mean(dim, keepdim, axis=axis)
        if self._data.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {_LEGACY_NAMES[self.dtype.name][6:-6]}")
        dims = _dims(axis if dim is None else dim, self.ndim)
        if dims is None:
            return ops.Mean.apply(self, None, False)
        return ops.MeanDim.apply(self, dims, keepdim)

    def _var_args(self, dim, unbiased, keepdim, correction):
        if isinstance(dim, builtins.bool):  # var(True): the old positional `unbiased`
            dim, unbiased = None, dim
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"std and var only support floating point and complex dtypes (got {self.dtype})")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        dims = _dims(dim, self.ndim)
        return (tuple(range(self.ndim)) if dims is None else dims), keepdim, correction

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.Var.apply(self, *self._var_args(dim, unbiased, keepdim, correction))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.Std.apply(self, *self._var_args(dim, unbiased, keepdim, correction))

    def _extreme(self, dim, keepdim, other, all_op, dim_op, result, name):
        if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
            other, dim = dim, None
        if other is not None:
            return self.maximum(other) if name == "max" else self.minimum(other)
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            return all_op.apply(self, None, False)
        x = self if self.ndim else self.reshape(1)  # a 0-d tensor is its own max along dim 0
        values, indices = dim_op.apply(x, canonical_dim(dim, self.ndim), keepdim and self.ndim > 0)
        return result(values, indices)

    def max(self, dim=None, keepdim=False, other=None):
        """max() -> the largest value; max(dim) -> (values, indices); max(other) -> elementwise."""
        return self._extreme(dim, keepdim, other, ops.MaxAll, ops.MaxDim, _max_result, "max")

    def min(self, dim=None, keepdim=False, other=None):
        return self._extreme(dim, keepdim, other, ops.MinAll, ops.MinDim, _min_result, "min")

    def amax(self, dim=(), keepdim=False):
        return ops.Amax.apply(self, _dims(dim, self.ndim) or None, keepdim)

    def amin(self, dim=(), keepdim=False):
        return ops.Amin.apply(self, _dims(dim, self.ndim) or None, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn, dim, keepdim):
        if (self._data.size == 0 if dim is None else self.ndim and self.shape[canonical_dim(dim, self.ndim)] == 0):
            raise IndexError(f"{fn.__name__}(): Expected reduction dim to be specified for input.numel() == 0.")
        if dim is None:
            out = np.asarray(fn(self._data))
            return Tensor._make(out.reshape((1,) * self.ndim) if keepdim else out.astype(np.int64))
        return Tensor._make(fn(self._data, axis=canonical_dim(dim, self.ndim), keepdims=keepdim).astype(np.int64))

    def logsumexp(self, dim, keepdim=False):
        return self._float_unary_dim(ops.LogSumExp, _dims(dim, self.ndim), keepdim)

    def _float_unary_dim(self, op, *args):
        x = self if self._data.dtype.kind == "f" else self.to(get_default_dtype())
        return op.apply(x, *args)

    def softmax(self, dim, dtype=None):
        return self._softmax(ops.Softmax, dim, dtype, "softmax")

    def log_softmax(self, dim, dtype=None):
        return self._softmax(ops.LogSoftmax, dim, dtype, "log_softmax")

    def _softmax(self, op, dim, dtype, name):
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise NotImplementedError(f'"{name}" not implemented for \'{_LEGACY_NAMES[x.dtype.name][6:-6]}\': '
                                      "pass a floating point tensor")
        return op.apply(x, canonical_dim(dim, x.ndim))



    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm (p = "fro" or 2 by default, any number, inf, -inf) over dim (None: all)."""
        if not self.is_floating_point():
            raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                               f"{str(self.dtype).split('.')[-1].capitalize()}")
        if p == "fro" or p is None:
            p = 2
        if isinstance(p, str):
            raise RuntimeError(f"norm: p = '{p}' (a matrix norm) is not supported; use a number, inf or 'fro'")
        x = self if dtype is None else self.to(dtype)
        dims = tuple(range(x.dim())) if dim is None else _dims(dim, x.dim())
        return ops.Norm.apply(x, builtins.float(p), dims, keepdim)


    def prod(self, dim=None, keepdim=False, dtype=None):
        """The product of all entries, or over one dim; integer and bool inputs give int64, as PyTorch."""
        x = self if dtype is None else self.to(dtype)
        if dtype is None and x._data.dtype.kind in "biu":
            x = x.to(dtypes.int64)
        dims = tuple(range(x.dim())) if dim is None else _dims(dim, x.dim())
        if dim is None:
            return ops.Prod.apply(x, dims, False)
        return ops.ProdDim.apply(x, dims, keepdim)


    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along dim; ties keep their order (PyTorch's stable=True order)."""
        dim = canonical_dim(dim, self.dim()) if self.dim() else 0
        idx = _sort_indices(self, dim, descending)
        if self.dim() == 0:
            return _sort_result(self.clone(), Tensor._make(idx))
        return _sort_result(ops.SortValues.apply(self, idx, dim), Tensor._make(idx))


    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending, stable).indices


    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The k largest (smallest) entries along dim and their indices, in order."""
        dim = canonical_dim(dim, self.dim()) if self.dim() else 0
        size = self.shape[dim] if self.dim() else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        idx = np.take(_sort_indices(self, dim, largest), np.arange(k), axis=dim) if self.dim() else \
            np.zeros((), np.int64)
        if self.dim() == 0:
            return _topk_result(self.clone(), Tensor._make(idx))
        return _topk_result(ops.TopkValues.apply(self, np.ascontiguousarray(idx), dim), Tensor._make(idx))

_max_result = namedtuple("max", ["values", "indices"])
_min_result = namedtuple("min", ["values", "indices"])
_sort_result = namedtuple("sort", ["values", "indices"])
_topk_result = namedtuple("topk", ["values", "indices"])


def _sort_indices(self, dim: int, descending: bool) -> np.ndarray:
    a = self._data
    if a.ndim == 0:
        return np.zeros((), np.int64)
    # stable sort; descending as the stable ascending order of the negated key, so ties keep their order
    key = -a if descending and a.dtype.kind in "fi" else a
    idx = np.argsort(key, axis=dim, kind="stable")
    if descending and a.dtype.kind not in "fi":
        idx = np.flip(np.argsort(a, axis=dim, kind="stable"), axis=dim)
    return idx.astype(np.int64)

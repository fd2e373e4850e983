"""Tensor methods: shapes and views (view, reshape, permute, expand, split, ...) and indexing (x[key]).

The methods are written in the class below as they would be in `Tensor`'s own body; the
bottom of tensor.py adds them to `Tensor` (see there).
"""
from __future__ import annotations

import builtins

import numpy as np

from . import ops
from .creation import _operand
from .dtypes import canonical_dim
from .tensor import Tensor, _dims, _shape_arg


class ShapeMethods:
    """Views share memory and the version counter with their base, as PyTorch's do."""

    # ------------------------------------------------------------ shapes and views
    def _resolve_shape(self, shape) -> tuple:
        shape = list(_shape_arg(shape))
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            if known == 0 or self._data.size % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {self._data.size}")
            shape[shape.index(-1)] = self._data.size // known
        if int(np.prod(shape)) != self._data.size or any(s < 0 for s in shape):
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {self._data.size}")
        return tuple(shape)

    def view(self, *shape) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (builtins.int, tuple, list, np.integer)):
            return self.to(shape[0])  # view(dtype)
        return ops.View.apply(self, self._resolve_shape(shape))

    def reshape(self, *shape) -> Tensor:
        """A view when the memory layout allows one, else a copy (as PyTorch)."""
        shape = self._resolve_shape(shape)
        if shape == self._data.shape:
            return ops.View.apply(self, shape)
        try:
            return ops.View.apply(self, shape)
        except RuntimeError:
            return ops.Reshape.apply(self, shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = canonical_dim(start_dim, self.ndim), canonical_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:]) if s != e else self

    def unflatten(self, dim: int, sizes) -> Tensor:
        d = canonical_dim(dim, self.ndim)
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.Unsqueeze.apply(self, canonical_dim(dim, self.ndim + 1))

    def squeeze(self, dim=None) -> Tensor:
        if dim is None:
            return ops.Squeeze.apply(self, None)
        op = ops.SqueezeDims if isinstance(dim, (tuple, list)) else ops.SqueezeDim
        return op.apply(self, _dims(dim, self.ndim))

    def permute(self, *dims) -> Tensor:
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(dims)}")
        return ops.Permute.apply(self, tuple(canonical_dim(d, self.ndim) for d in dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.Transpose.apply(self, canonical_dim(dim0, self.ndim), canonical_dim(dim1, self.ndim))

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return ops.T.apply(self)

    def expand(self, *sizes) -> Tensor:
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(torch.FloatTensor{{{list(self.shape)}}}, size={list(sizes)}): the number of "
                               f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
                               f"in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        for i in range(self.ndim):
            if self.shape[i] != 1 and self.shape[i] != shape[lead + i]:
                raise RuntimeError(f"The expanded size of the tensor ({shape[lead + i]}) must match the existing size "
                                   f"({self.shape[i]}) at non-singleton dimension {lead + i}.  Target sizes: "
                                   f"{list(sizes)}.  Tensor sizes: {list(self.shape)}")
        if shape == self._data.shape:
            return self
        return ops.Expand.apply(self, shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else ops.Clone.apply(self)

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = canonical_dim(dim, self.ndim)
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        d = canonical_dim(dim, self.ndim)
        try:
            return ops.Select.apply(self, (slice(None),) * d + (index,))
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        d = canonical_dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (builtins.int, np.integer)):
            step = builtins.int(split_size_or_sections)
            if step <= 0:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
            sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if builtins.sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {d}), but got split_sizes={sizes}")
        op = ops.Split if isinstance(split_size_or_sections, (builtins.int, np.integer)) else ops.SplitWithSizes
        return op.apply(self, sizes, d)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: %d" % chunks)
        n = self.shape[canonical_dim(dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple:
        return ops.Unbind.apply(self, canonical_dim(dim, self.ndim))

    def repeat(self, *sizes) -> Tensor:
        sizes = _shape_arg(sizes)
        if len(sizes) < self.dim():
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                               "tensor")
        if builtins.any(s < 0 for s in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
        return ops.Repeat.apply(self, sizes)

    # ------------------------------------------------------------ diagonals
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal of each (dim1, dim2) plane, a view, in the last dim (offset > 0: above the main one)."""
        d1, d2 = canonical_dim(dim1, self.ndim), canonical_dim(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return ops.Diagonal.apply(self, builtins.int(offset), d1, d2)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """Each vector of the last dim written on the diagonal of a new (dim1, dim2) plane of zeros."""
        ndim = self.ndim + 1
        d1, d2 = canonical_dim(dim1, ndim), canonical_dim(dim2, ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        n, rest = self.shape[-1] + abs(offset), iter(self.shape[:-1])
        shape = tuple(n if d in (d1, d2) else next(rest) for d in range(ndim))
        return ops.DiagEmbed.apply(self, shape, builtins.int(offset), d1, d2)

    def diag(self, diagonal: int = 0) -> Tensor:
        """A vector: the square matrix with it on the given diagonal; a matrix: that diagonal, copied."""
        if self.ndim == 1:
            n = self.shape[0] + abs(diagonal)
            return ops.DiagEmbed.apply(self, (n, n), builtins.int(diagonal), 0, 1)
        if self.ndim == 2:
            return ops.DiagonalCopy.apply(self, builtins.int(diagonal), 0, 1)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def trace(self) -> Tensor:
        """The sum of a matrix's main diagonal (int64 for integer matrices, as PyTorch)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return ops.Trace.apply(self)


    def scatter(self, dim, index, src=None, value=None) -> Tensor:
        """A copy of self with src's entries (or value) written at index along dim (torch.scatter)."""
        dim, idx, source = _scatter_args(self, dim, index, src, value, "scatter")
        return (ops.Scatter if isinstance(source, Tensor) else ops.ScatterValue).apply(self, idx, dim, source)

    def __getitem__(self, key) -> Tensor:
        key, advanced = _index_key(key)
        try:
            if advanced:
                return ops.Index.apply(self, key)
            if key is None:
                return self.unsqueeze(0)
            op = ops.Select if isinstance(key, (builtins.int, np.integer)) else ops.BasicIndex
            return op.apply(self, key)
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None


def _index_key(key):
    """Check an index and turn Tensors in it into arrays. Returns (key, is_advanced)."""
    parts = key if isinstance(key, tuple) else (key,)
    out, advanced = [], False
    for k in parts:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, range):  # x[range(n), y], as PyTorch: a sequence index
            k = np.arange(k.start, k.stop, k.step)
        if isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.size and k.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            k = k.astype(np.intp) if k.size == 0 else k
            advanced = True
        elif isinstance(k, (builtins.bool, np.bool_)):
            advanced = True
        elif isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
        elif not (k is None or k is Ellipsis or isinstance(k, (builtins.int, np.integer))):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Tensors "
                             f"are valid indices (got {type(k).__name__})")
        out.append(k)
    return (tuple(out) if isinstance(key, tuple) else out[0]), advanced


def _scatter_args(self, dim, index, src, value, name):
    """scatter's checks (PyTorch's messages): (dim, index array, the source Tensor or number)."""
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.dim() == 0 and self.dim() == 1:  # a 0-d index on a vector, as PyTorch allows
        index = index.reshape(1)
    if index.dim() != self.dim():
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    dim = canonical_dim(dim, self.dim())
    idx = index._data
    if idx.size and (idx.min() < 0 or idx.max() >= self.shape[dim]):
        raise RuntimeError(f"index {int(idx.max() if idx.max() >= self.shape[dim] else idx.min())} is out of bounds "
                           f"for dimension {dim} with size {self.shape[dim]}")
    if src is None and value is None:
        raise TypeError(f"{name}() missing 1 required argument: 'src' or 'value'")
    source = value if value is not None else src
    if not isinstance(source, Tensor):  # a number: the value form
        return dim, idx, self._data.dtype.type(source)
    return dim, idx, _operand(source, self._data.dtype)

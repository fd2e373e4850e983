"""Map-style datasets (`torch.utils.data.dataset`): Dataset, TensorDataset, Subset, ConcatDataset,
random_split, and `SampleBatch`, what our `__getitems__` returns.

PyTorch 2's DataLoader asks a dataset for a whole batch with `dataset.__getitems__(indices)`
when the dataset has it, and hands the result (a sequence of samples) to `collate_fn`. Ours
returns a `SampleBatch`: still a sequence of samples for any collate_fn, but `default_collate`
takes the stacked batch from it in one vectorised step instead of visiting 64 samples.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import random as _random
from ...tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and (for samplers) `__len__`.

    `a + b` is `ConcatDataset([a, b])`, as PyTorch."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define `__iter__`. The DataLoader batches what it yields, in
    order (no sampler, no shuffling). `a + b` is `ChainDataset([a, b])`."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class SampleBatch(Sequence):
    """The samples `dataset[i] for i in indices`, fetched by one `__getitems__` call.

    As a Sequence it follows PyTorch's `__getitems__` protocol: item k is `dataset[indices[k]]`,
    built on demand (so a custom collate_fn sees ordinary samples). `default_collate` calls
    `collated()` instead, which builds the whole stacked batch at once -- the same value
    default_collate would make from the samples one by one, minus the Python loop.
    (Own class: PyTorch's __getitems__ returns a plain list.)
    """

    __slots__ = ("dataset", "indices", "_collate")

    def __init__(self, dataset, indices: Sequence[int], collate: Callable[[], Any]):
        self.dataset, self.indices, self._collate = dataset, indices, collate

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self.dataset[i] for i in self.indices[k]]
        return self.dataset[self.indices[k]]

    def collated(self):
        """The batch as default_collate would stack it from the samples."""
        return self._collate()

    def __repr__(self) -> str:
        return f"SampleBatch({type(self.dataset).__name__}, {len(self)} samples)"


def index_array(indices) -> np.ndarray:
    """A batch's indices as an int64 array (what a gather along dim 0 needs)."""
    idx = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise IndexError(f"__getitems__ expects a 1-D sequence of integer indices, got {idx.dtype} of shape "
                         f"{idx.shape}")
    return idx.astype(np.int64, copy=False)


class TensorDataset(Dataset):
    """Samples are `tuple(t[i] for t in tensors)`; every tensor must have the same size in dim 0."""

    def __init__(self, *tensors: Tensor):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset expects Tensors, got {type(t).__name__} at position {i}")
        if any(t.size(0) != tensors[0].size(0) for t in tensors):
            # PyTorch raises AssertionError("Size mismatch between tensors") here: same type, sizes added
            raise AssertionError(f"Size mismatch between tensors: sizes in dim 0 are {[t.size(0) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)

    def __getitems__(self, indices) -> SampleBatch:
        # default_collate turns tuple samples into a list of stacked fields: one gather per tensor
        def collated() -> list[Tensor]:
            idx = index_array(indices)
            return [t[idx] for t in self.tensors]
        return SampleBatch(self, indices, collated)


class Subset(Dataset):
    """The samples of `dataset` at `indices` (in that order)."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        mapped = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(mapped)
        return [self.dataset[i] for i in mapped]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other; `cumulative_sizes[k]` is the end of the k-th."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:  # PyTorch's asserts, raised as errors (asserts vanish under python -O)
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        if k == len(self.datasets):
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length {len(self)}")
        return self.datasets[k][idx - (self.cumulative_sizes[k - 1] if k else 0)]


def _split_lengths(n: int, lengths: Sequence[int | float]) -> list[int]:
    """PyTorch's rule: fractions summing to 1 become floor(n * f), the remainder dealt round-robin."""
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
        return sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    return [int(x) for x in lengths]


def random_split(dataset, lengths: Sequence[int | float], generator: _random.Generator | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random Subsets of the given lengths (ints, or fractions
    summing to 1). The permutation comes from `generator` (default: the global one, which
    `manual_seed` seeds) -- the same seed gives the same split, though not PyTorch's split."""
    sizes = _split_lengths(len(dataset), lengths)
    perm = _random._generator(generator or _random.default_generator).permutation(sum(sizes)).tolist()
    return [Subset(dataset, perm[end - size:end]) for end, size in zip(itertools.accumulate(sizes), sizes)]

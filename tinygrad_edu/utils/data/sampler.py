"""Samplers (`torch.utils.data.sampler`): which indices a DataLoader visits, in which order.

Randomness comes from tinygrad_edu's generators: `manual_seed(s)` (or a `Generator` passed as
`generator=`) makes the order repeatable. The orders differ from PyTorch's for the same seed
(NumPy's PCG64 stream, not PyTorch's Mersenne Twister).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ... import random as _random
from ...tensor import Tensor


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


class Sampler:
    """Base class: subclasses define `__iter__` (indices) and usually `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def _index_array(self) -> np.ndarray | None:
        """All indices of one pass as an array, when known up front (lets BatchSampler slice it)."""
        return None


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source))


class _RandomOrder(Sampler):
    """A sampler whose pass is one array drawn up front (by `_index_array`)."""

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())


class RandomSampler(_RandomOrder):
    """A random permutation of the indices each pass (or `num_samples` draws with replacement).

    Without `generator`, each pass draws from the global generator (`manual_seed`)."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: _random.Generator | None = None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source, self.replacement, self._num_samples, self.generator = (
            data_source, replacement, num_samples, generator)
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    def _index_array(self) -> np.ndarray:
        rng, n, k = _random._generator(self.generator), len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=k)
        # as PyTorch: whole permutations, then part of one more when num_samples > n
        perms = [rng.permutation(n) for _ in range(k // n)] + [rng.permutation(n)[:k % n]]
        return np.concatenate(perms)



class SubsetRandomSampler(_RandomOrder):
    """The given indices, in a random order each pass."""

    def __init__(self, indices: Sequence[int], generator: _random.Generator | None = None):
        self.indices, self.generator = indices, generator

    def __len__(self) -> int:
        return len(self.indices)

    def _index_array(self) -> np.ndarray:
        return np.asarray(self.indices)[_random._generator(self.generator).permutation(len(self.indices))]



class WeightedRandomSampler(_RandomOrder):
    """`num_samples` indices drawn with probabilities proportional to `weights`."""

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator: _random.Generator | None = None):
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (weights must be finite, non-negative, sum > 0)")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        self.weights, self.num_samples, self.replacement, self.generator = w, num_samples, replacement, generator

    def __len__(self) -> int:
        return self.num_samples

    def _index_array(self) -> np.ndarray:
        rng = _random._generator(self.generator)
        return rng.choice(len(self.weights), self.num_samples, replace=self.replacement, p=self.weights / self.weights.sum())



class BatchSampler(Sampler):
    """Groups the sampler's indices into lists of `batch_size` (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        # our samplers (not subclasses with their own __iter__): slice one array, not index by index
        order = self.sampler._index_array() if getattr(type(self.sampler), "__iter__", None) in _ARRAY_ITERS else None
        if order is not None:
            stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
            for start in range(0, stop, self.batch_size):
                yield order[start:start + self.batch_size].tolist()
            return
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


_ARRAY_ITERS = {SequentialSampler.__iter__, _RandomOrder.__iter__}

"""`torch.utils.data.DataLoader`: iterate a dataset in (shuffled) batches.

Differences from PyTorch, on purpose:
- `num_workers > 0` is accepted (tutorials pass `num_workers=2`) but batches are made in this
  process: batching is vectorised (see `SampleBatch`), so worker processes would mostly add
  the cost of shipping arrays between processes. `worker_init_fn`, `prefetch_factor`,
  `persistent_workers`, `timeout` and `multiprocessing_context` are checked as PyTorch checks
  them, then have nothing to act on; `get_worker_info()` is always None.
- `pin_memory` is accepted and does nothing (there is only the CPU).
- Shuffling uses tinygrad_edu's generator (`manual_seed` or `generator=`): repeatable, but not
  PyTorch's order for the same seed.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from ... import random as _random
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def get_worker_info():
    """Always None: every batch is made in the main process (see the module docstring)."""
    return None


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset's loader, as PyTorch's: None forever (the stream has no keys)."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class DataLoader:
    """Batches of `dataset`: `for x, y in DataLoader(ds, batch_size=64, shuffle=True): ...`.

    The samplers pick indices; each batch is fetched with `dataset.__getitems__(indices)` when the
    dataset has it (PyTorch 2's protocol; one vectorised gather for TensorDataset, MNIST, Subset),
    else `[dataset[i] for i in indices]`, then passed to `collate_fn` (default: default_collate).
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator: _random.Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:  # a stream: no indices to sample or shuffle
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but "
                                     f"got {name}={value}")
            sampler = _InfiniteConstantSampler()
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks batch_size >= 1
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:  # as PyTorch: from the dataset's own __len__, if it has one
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def _fetch(self, indices):
        get_batch = getattr(self.dataset, "__getitems__", None)
        data = get_batch(indices) if callable(get_batch) else [self.dataset[i] for i in indices]
        return self.collate_fn(data)

    def _iter_stream(self) -> Iterator:
        stream = iter(self.dataset)
        if not self._auto_collation:
            yield from map(self.collate_fn, stream)
            return
        while batch := list(itertools.islice(stream, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def __iter__(self) -> Iterator:
        if self._iterable:
            return self._iter_stream()
        if not self._auto_collation:  # batch_size=None: one converted sample at a time
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self._fetch(indices) for indices in self.batch_sampler)

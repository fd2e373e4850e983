"""`DistributedSampler`: each rank's share of the dataset, as `torch.utils.data.DistributedSampler`.

The same seed on every rank gives every rank the same permutation; rank r then takes the
indices r, r + num_replicas, r + 2 num_replicas, ... of it, so the shares never overlap. To
make all shares equally long the permutation is padded with its own first indices (or, with
`drop_last=True`, its tail is dropped). `set_epoch(e)` reseeds with `seed + e` -- call it before
each epoch, or every epoch sees the same order.

Differs from PyTorch: the permutation comes from tinygrad_edu's generator (NumPy's PCG64), so
`seed=0` gives another order than PyTorch's; given the same permutation, the indices are PyTorch's.
"""
from __future__ import annotations

import math

import numpy as np

from ...creation import randperm
from ...random import Generator
from .sampler import _RandomOrder


class DistributedSampler(_RandomOrder):
    """Restricts loading to this rank's share of `dataset` (pass it as the DataLoader's `sampler`)."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist  # needs init_process_group, as PyTorch's
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _index_array(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:  # the same seed on every rank: the same permutation
            indices = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch)).numpy()
        else:
            indices = np.arange(n)
        if self.drop_last:
            indices = indices[:self.total_size]
        elif n:  # pad with the first indices (repeated as often as needed) to a multiple of num_replicas
            indices = np.resize(indices, self.total_size)
        return indices[self.rank:self.total_size:self.num_replicas]

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Shuffle differently this epoch (the seed becomes seed + epoch), the same way on every rank."""
        self.epoch = epoch

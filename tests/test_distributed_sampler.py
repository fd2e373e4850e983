"""utils.data.DistributedSampler against torch's, index list by index list (no MPI needed).

The two libraries' generators differ (NumPy's PCG64, torch's Mersenne Twister), so for the
shuffled cases torch's sampler is handed our permutation for its seed: torch.randperm is
replaced, for the test, by tinygrad_edu.randperm with the seed torch's generator carries. All
that follows the permutation -- padding, drop_last, the rank's stride, set_epoch -- must then
give exactly torch's indices.
"""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.utils.data.distributed as torch_distributed

import tinygrad_edu as tg
from tinygrad_edu.utils.data import DataLoader, DistributedSampler, TensorDataset


@pytest.fixture
def torch_uses_our_permutation(monkeypatch):
    real = torch.randperm

    def randperm(n, generator=None, **kwargs):
        if generator is None:
            return real(n, **kwargs)
        ours = tg.randperm(n, generator=tg.Generator().manual_seed(generator.initial_seed()))
        return torch.tensor(ours.tolist(), dtype=torch.int64)
    monkeypatch.setattr(torch, "randperm", randperm)


@pytest.mark.parametrize("n,replicas", [(10, 1), (10, 3), (11, 4), (2, 5), (0, 2), (12, 4), (7, 7), (1, 3)])
def test_index_lists_equal_torchs(torch_uses_our_permutation, n, replicas):
    data = list(range(n))
    for shuffle, drop_last, seed, epoch in itertools.product((False, True), (False, True), (0, 5), (0, 3)):
        for rank in range(replicas):
            ours = DistributedSampler(data, replicas, rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
            theirs = torch_distributed.DistributedSampler(data, replicas, rank, shuffle=shuffle, seed=seed,
                                                          drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            case = (shuffle, drop_last, seed, epoch, rank)
            assert list(ours) == list(theirs), case
            assert len(ours) == len(theirs) and ours.num_samples == theirs.num_samples, case
            assert ours.total_size == theirs.total_size, case


def test_shares_cover_the_dataset_and_epochs_differ():
    data = list(range(103))
    shares = [list(DistributedSampler(data, 4, r, seed=1)) for r in range(4)]
    everything = sum(shares, [])
    assert len(everything) == 104 and set(everything) == set(data)  # one index repeated as padding: 103 -> 104
    assert len({len(s) for s in shares}) == 1
    sampler = DistributedSampler(data, 4, 0, seed=1)
    first = list(sampler)
    assert list(sampler) == first  # no set_epoch: the same order again, as torch
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(DistributedSampler(data, 4, 0, seed=1)) == first  # the shared seed: every rank agrees


def test_errors_as_torch():
    for rank in (-1, 3):
        with pytest.raises(ValueError, match=r"Invalid rank .*, rank should be in the interval \[0, 2\]"):
            DistributedSampler(range(5), num_replicas=3, rank=rank)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(5))  # rank and world size come from the process group


def test_in_a_data_loader():
    ds = TensorDataset(tg.arange(10.0))
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert [b[0].tolist() for b in loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    torch_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(10.0)), batch_size=2,
                                               sampler=torch_distributed.DistributedSampler(range(10), 2, 1, False))
    assert [b[0].tolist() for b in torch_loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]

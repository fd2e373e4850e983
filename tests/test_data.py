"""utils.data against torch.utils.data: datasets, samplers, collation, DataLoader, random_split."""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, SampleBatch,
                                     SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                     WeightedRandomSampler, default_collate, default_convert, random_split)


def as_numpy(x):
    return x.detach().numpy() if isinstance(x, (tg.Tensor, torch.Tensor)) else np.asarray(x)


def assert_same_batch(ours, ref):
    """Same structure (list/dict/tensor), dtype names and values, ours against torch's."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, tg.Tensor), type(ours)
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        np.testing.assert_array_equal(as_numpy(ours), as_numpy(ref))
    elif isinstance(ref, dict):
        assert type(ours) is type(ref) and ours.keys() == ref.keys()
        for k in ref:
            assert_same_batch(ours[k], ref[k])
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            assert_same_batch(a, b)
    else:
        assert ours == ref


def pair(n=10, d=3):
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    y = np.arange(n) % 3
    return (TensorDataset(tg.tensor(x), tg.tensor(y)), tud.TensorDataset(torch.tensor(x), torch.tensor(y)))


class ListDataset(Dataset):
    """A dataset without __getitems__ (the per-sample path)."""

    def __init__(self, items):
        self.items = items

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


# ------------------------------------------------------------ collation

Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("make", [
    lambda lib: [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
    lambda lib: [lib.tensor([1]), lib.tensor([1.5])],  # mixed dtypes: stack promotes
    lambda lib: [1, 2, 3],
    lambda lib: [1.5, 2.5],
    lambda lib: [True, False],
    lambda lib: [np.array([1, 2], dtype=np.uint8), np.array([3, 4], dtype=np.uint8)],
    lambda lib: [np.float32(1.5), np.float32(2.0)],
    lambda lib: [np.int32(1), np.int32(2)],
    lambda lib: ["a", "b"],
    lambda lib: [(lib.tensor([1.0]), 1), (lib.tensor([2.0]), 2)],
    lambda lib: [[lib.tensor(1.0), 1.0], [lib.tensor(2.0), 2.0]],
    lambda lib: [{"x": lib.tensor([1, 2]), "y": 0.5, "n": {"k": 1}}, {"x": lib.tensor([3, 4]), "y": 1.5, "n": {"k": 2}}],
    lambda lib: [Point(1, 2.0), Point(3, 4.0)],
])
def test_default_collate_matches_torch(make):
    ours, ref = default_collate(make(tg)), tud.default_collate(make(torch))
    if isinstance(ref, Point):
        assert isinstance(ours, Point)
        ours, ref = list(ours), list(ref)
    assert_same_batch(ours, ref)


def test_default_collate_keeps_autograd():
    xs = [tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0])]
    out = default_collate(xs)
    assert type(out.grad_fn).__name__ == type(tud.default_collate([torch.tensor([1.0], requires_grad=True)]).grad_fn).__name__
    out.sum().backward()
    np.testing.assert_array_equal(xs[0].grad.numpy(), [1.0, 1.0])
    assert default_collate([tg.zeros(2), tg.zeros(2)]).grad_fn is None


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([tg.zeros(2), tg.zeros(3)])


def test_default_convert_matches_torch():
    sample = (np.array([1.0, 2.0]), {"a": np.int64(3)}, "s", 4)
    ours, ref = default_convert(sample), tud.default_convert(sample)
    assert isinstance(ours, list) and isinstance(ref, list)
    assert_same_batch(ours[0], ref[0])
    assert_same_batch(ours[1], ref[1])
    assert ours[2:] == ref[2:]


# ------------------------------------------------------------ datasets

def test_tensor_dataset_items_and_errors():
    ds, ref = pair()
    assert len(ds) == len(ref) == 10
    for i in (0, 4, -1):
        for a, b in zip(ds[i], ref[i]):
            assert_same_batch(a, b)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(tg.zeros(3), tg.zeros(4))
    with pytest.raises(TypeError, match="expects Tensors"):
        TensorDataset(np.zeros(3))


def test_getitems_is_a_sequence_of_samples_and_collates_in_one_step():
    ds, _ = pair()
    batch = ds.__getitems__([3, 1, 7])
    assert isinstance(batch, SampleBatch) and len(batch) == 3
    for k, i in enumerate([3, 1, 7]):  # PyTorch's protocol: item k is dataset[indices[k]]
        for a, b in zip(batch[k], ds[i]):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    slow = default_collate(list(batch))  # the per-sample route
    fast = default_collate(batch)
    assert_same_batch(fast, [torch.tensor(s.numpy()) for s in slow])


def test_concat_dataset_and_add():
    a, b = ListDataset([0, 1, 2]), ListDataset([10, 11])
    ours, ref = a + b, tud.ConcatDataset([tud.TensorDataset(torch.arange(3)), tud.TensorDataset(torch.arange(2))])
    assert isinstance(ours, ConcatDataset)
    assert ours.cumulative_sizes == ref.cumulative_sizes == [3, 5]
    assert [ours[i] for i in range(5)] == [0, 1, 2, 10, 11]
    assert ours[-1] == 11 and ours[-5] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ours[-6]
    with pytest.raises(IndexError):
        ours[5]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])


def test_subset():
    ds, _ = pair()
    sub = Subset(ds, [9, 2, 5])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub[0][0].numpy(), ds[9][0].numpy())
    x, y = next(iter(DataLoader(sub, batch_size=3)))
    np.testing.assert_array_equal(x.numpy(), ds.tensors[0].numpy()[[9, 2, 5]])
    plain = Subset(ListDataset(list("abcdef")), [5, 0])
    assert plain.__getitems__([1, 0]) == ["a", "f"]  # the dataset has no __getitems__: sample by sample


def test_base_dataset_needs_getitem():
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]


# ------------------------------------------------------------ random_split

@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (10, [0.1, 0.2, 0.7]),
                                        (7, [1 / 3, 1 / 3, 1 / 3]), (5, [5, 0])])
def test_random_split_sizes_match_torch_and_are_disjoint(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = random_split(ListDataset(list(range(n))), lengths, generator=tg.Generator().manual_seed(0))
        ref = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in ref]
    everything = [i for s in ours for i in s.indices]
    assert sorted(everything) == list(range(n))  # disjoint and covering
    assert [s[0] for s in ours if len(s)] == [s.indices[0] for s in ours if len(s)]


def test_random_split_repeatable_and_errors():
    ds = ListDataset(list(range(20)))
    a = [s.indices for s in random_split(ds, [5, 15], generator=tg.Generator().manual_seed(3))]
    b = [s.indices for s in random_split(ds, [5, 15], generator=tg.Generator().manual_seed(3))]
    assert a == b
    tg.manual_seed(1)
    c = [s.indices for s in random_split(ds, [0.5, 0.5])]
    tg.manual_seed(1)
    assert c == [s.indices for s in random_split(ds, [0.5, 0.5])]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(ds, [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(ListDataset([1, 2]), [0.9, 0.1])


# ------------------------------------------------------------ samplers

def test_samplers_match_torch_lengths_and_contents():
    data = list(range(10))
    assert list(SequentialSampler(data)) == list(tud.SequentialSampler(data))
    assert sorted(RandomSampler(data)) == data
    assert len(RandomSampler(data, num_samples=25)) == 25
    drawn = list(RandomSampler(data, num_samples=25, generator=tg.Generator().manual_seed(0)))
    assert sorted(drawn[:10]) == data and sorted(drawn[10:20]) == data and len(set(drawn[20:])) == 5
    assert all(0 <= i < 10 for i in RandomSampler(data, replacement=True, num_samples=50))
    assert sorted(SubsetRandomSampler([3, 5, 7])) == [3, 5, 7]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 2.0], 30))
    assert len(w) == 30 and set(w) <= {1, 3}
    for bs, drop in ((3, False), (3, True), (5, True), (20, False)):
        ours = list(BatchSampler(SequentialSampler(data), bs, drop))
        ref = list(tud.BatchSampler(tud.SequentialSampler(data), bs, drop))
        assert ours == ref and len(BatchSampler(data, bs, drop)) == len(ref)
        assert list(BatchSampler(iter_only(data), bs, drop)) == ref  # a plain iterable sampler


class iter_only:
    def __init__(self, data):
        self.data = data

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


def test_sampler_subclass_with_own_iter_is_respected():
    class Reversed(SequentialSampler):
        def __iter__(self):
            return iter(range(len(self.data_source) - 1, -1, -1))

    assert list(BatchSampler(Reversed(range(5)), 2, False)) == [[4, 3], [2, 1], [0]]


def test_sampler_argument_errors_match_torch():
    for ours, ref in ((lambda: BatchSampler(range(3), 0, False), lambda: tud.BatchSampler(range(3), 0, False)),
                      (lambda: BatchSampler(range(3), 2, 1), lambda: tud.BatchSampler(range(3), 2, 1)),
                      (lambda: RandomSampler(range(3), num_samples=0), lambda: tud.RandomSampler(range(3), num_samples=0))):
        with pytest.raises(ValueError) as ref_err:
            ref()
        with pytest.raises(ValueError, match=str(ref_err.value)):
            ours()
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)


# ------------------------------------------------------------ DataLoader

@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (4, True), (10, False),
                                                   (32, False), (32, True)])
def test_dataloader_sequential_matches_torch(batch_size, drop_last):
    ds, ref = pair()
    ours = list(DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    theirs = list(tud.DataLoader(ref, batch_size=batch_size, drop_last=drop_last))
    assert len(DataLoader(ds, batch_size=batch_size, drop_last=drop_last)) == len(theirs) == len(ours)
    for a, b in zip(ours, theirs):
        assert_same_batch(a, b)


def test_dataloader_per_sample_path_with_dicts_matches_torch():
    items = [{"x": np.full(2, i, np.float32), "label": i, "name": f"s{i}"} for i in range(7)]
    ours = list(DataLoader(ListDataset(items), batch_size=3))
    theirs = list(tud.DataLoader(ListDataset(items), batch_size=3))
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert_same_batch(a, b)


def test_fast_path_equals_slow_path():
    ds, _ = pair(50, 4)
    ds.tensors[0].mul_(0.5)
    plain = ListDataset([ds[i] for i in range(len(ds))])  # no __getitems__: collated sample by sample
    for kwargs in ({"batch_size": 7}, {"batch_size": 8, "drop_last": True}):
        fast = list(DataLoader(ds, shuffle=True, generator=tg.Generator().manual_seed(5), **kwargs))
        slow = list(DataLoader(plain, shuffle=True, generator=tg.Generator().manual_seed(5), **kwargs))
        assert len(fast) == len(slow)
        for (xf, yf), (xs, ys) in zip(fast, slow):
            assert xf.dtype == xs.dtype and yf.dtype == ys.dtype
            np.testing.assert_array_equal(xf.numpy(), xs.numpy())
            np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_custom_collate_fn_sees_samples():
    ds, _ = pair(6)
    seen = []

    def collate(batch):
        seen.append(len(batch))
        return [int(y) for _, y in batch]

    out = list(DataLoader(ds, batch_size=4, collate_fn=collate))
    assert out == [[0, 1, 2, 0], [1, 2]] and seen == [4, 2]


def test_shuffle_is_a_permutation_and_repeatable():
    ds, _ = pair(100, 1)

    def order(**kwargs):
        return np.concatenate([x.numpy()[:, 0] for x, _ in DataLoader(ds, batch_size=16, shuffle=True, **kwargs)])
    first = order(generator=tg.Generator().manual_seed(42))
    assert sorted(first.tolist()) == sorted(ds.tensors[0].numpy()[:, 0].tolist())
    assert not np.array_equal(first, ds.tensors[0].numpy()[:, 0])  # actually shuffled
    np.testing.assert_array_equal(first, order(generator=tg.Generator().manual_seed(42)))
    assert not np.array_equal(first, order(generator=tg.Generator().manual_seed(43)))
    tg.manual_seed(7)
    a, b = order(), order()  # two epochs differ ...
    assert not np.array_equal(a, b)
    tg.manual_seed(7)
    np.testing.assert_array_equal(a, order())  # ... and the global seed repeats them
    np.testing.assert_array_equal(b, order())


def test_batch_size_none_and_batch_sampler():
    ds, ref = pair(5)
    ours, theirs = list(DataLoader(ds, batch_size=None)), list(tud.DataLoader(ref, batch_size=None))
    assert len(ours) == len(theirs) == 5
    for a, b in zip(ours, theirs):
        assert_same_batch(a, b)
    bs = [[4, 0], [1, 2, 3]]
    ours, theirs = list(DataLoader(ds, batch_sampler=bs)), list(tud.DataLoader(ref, batch_sampler=bs))
    assert len(DataLoader(ds, batch_sampler=bs)) == 2
    for a, b in zip(ours, theirs):
        assert_same_batch(a, b)


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 0}, {"batch_size": -3}, {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
    {"persistent_workers": True}, {"sampler": [0, 1], "shuffle": True}, {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "drop_last": True}, {"batch_size": None, "drop_last": True},
])
def test_dataloader_argument_errors_match_torch(kwargs):
    ds, ref = pair()
    with pytest.raises(ValueError) as ref_err:
        tud.DataLoader(ref, **kwargs)
    with pytest.raises(ValueError) as our_err:
        DataLoader(ds, **kwargs)
    assert str(our_err.value) == str(ref_err.value)


def test_num_workers_runs_in_process():
    ds, ref = pair(9)
    loader = DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, persistent_workers=True, prefetch_factor=2)
    for a, b in zip(loader, tud.DataLoader(ref, batch_size=4)):
        assert_same_batch(a, b)
    from tinygrad_edu.utils.data import get_worker_info
    assert get_worker_info() is None


def test_dataloader_over_a_sampler_and_lazy_import():
    ds, _ = pair(6)
    loader = tg.utils.data.DataLoader(ds, sampler=[5, 3, 1], batch_size=2)
    assert [y.tolist() for _, y in loader] == [[2, 0], [1]]


class Stream(tud.IterableDataset):
    """A torch IterableDataset; OurStream is the same stream for tinygrad_edu."""

    def __init__(self, n, lib=torch):
        self.n, self.lib = n, lib

    def __iter__(self):
        return iter([(self.lib.tensor([float(i)]), i) for i in range(self.n)])

    def __len__(self):
        return self.n


class OurStream(tg.utils.data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([(tg.tensor([float(i)]), i) for i in range(self.n)])

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (5, False), (None, False)])
def test_iterable_dataset_matches_torch(batch_size, drop_last):
    ours = DataLoader(OurStream(7), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(Stream(7), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, ref = list(ours), list(theirs)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert_same_batch(a, b)


def test_iterable_dataset_rules():
    for kwargs in ({"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError) as ref_err:
            tud.DataLoader(Stream(3), **kwargs)
        with pytest.raises(ValueError) as our_err:
            DataLoader(OurStream(3), **kwargs)
        assert str(our_err.value) == str(ref_err.value)
    chained = OurStream(2) + OurStream(3)
    assert isinstance(chained, tg.utils.data.ChainDataset) and len(chained) == 5
    assert [int(y) for _, y in chained] == [0, 1, 0, 1, 2]
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([OurStream(2)])


def test_dataloader_signature_matches_torch():
    import inspect
    ours = inspect.signature(DataLoader.__init__).parameters
    theirs = inspect.signature(tud.DataLoader.__init__).parameters
    assert list(ours) == list(theirs)
    assert [(p.default, p.kind) for p in ours.values()] == [(p.default, p.kind) for p in theirs.values()]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans())
def test_dataloader_batches_property(n, batch_size, drop_last, shuffle):
    """Any size: torch's number of batches and batch sizes; sequential order equal to torch's;
    shuffled, the batches together are a permutation (minus the dropped tail)."""
    x = np.arange(n, dtype=np.float32)
    ours = DataLoader(TensorDataset(tg.tensor(x)), batch_size=batch_size, drop_last=drop_last, shuffle=False)
    theirs = tud.DataLoader(tud.TensorDataset(torch.tensor(x)), batch_size=batch_size, drop_last=drop_last)
    got, ref = [b[0].numpy() for b in ours], [b[0].numpy() for b in theirs]
    assert len(ours) == len(theirs) == len(got) == len(ref)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)
    if shuffle and n:
        shuffled = [b[0].numpy() for b in DataLoader(TensorDataset(tg.tensor(x)), batch_size=batch_size,
                                                        drop_last=drop_last, shuffle=True)]
        assert [len(b) for b in shuffled] == [len(b) for b in ref]
        seen = np.concatenate(shuffled) if shuffled else np.array([])
        assert len(set(seen.tolist())) == len(seen) and set(seen.tolist()) <= set(x.tolist())

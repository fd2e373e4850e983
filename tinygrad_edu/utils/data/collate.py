"""Turning a list of samples into a batch (`torch.utils.data._utils.collate`).

PyTorch's rules, which `default_collate` follows:
  tensors -> stacked along a new dim 0;  NumPy arrays -> tensors, stacked (dtype kept);
  NumPy scalars -> a 1-D tensor of their dtype;  Python floats -> float64;  ints -> int64;
  bools -> bool;  str/bytes -> left as a list;  dicts -> a dict of collated values per key;
  namedtuples -> the same namedtuple of collated fields;  tuples -> a *list* of collated
  fields (PyTorch keeps this for backwards compatibility);  lists -> a list of collated fields.
"""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ...dtypes import float64
from ...tensor import Tensor, from_numpy, stack, tensor
from .dataset import SampleBatch

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _numeric_array(x: np.ndarray | np.generic) -> np.ndarray:
    if x.dtype.kind in "OSUV":  # strings and objects cannot become tensors
        raise TypeError(_ERR.format(x.dtype))
    return np.asarray(x)


def _stack_tensors(batch) -> Tensor:
    """stack(batch); with nothing to differentiate and one dtype and shape, straight through NumPy
    (the same values, without building an autograd node per batch)."""
    first = batch[0]._data
    if all(isinstance(t, Tensor) and not t.requires_grad and t._data.dtype == first.dtype
           and t._data.shape == first.shape for t in batch):
        return Tensor._make(np.stack([t._data for t in batch]))
    return stack(batch, 0)  # promotes dtypes, records StackBackward0, or raises PyTorch's size error


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the rules).

    A `SampleBatch` (what TensorDataset/MNIST/Subset `__getitems__` return) is already
    stackable in one step: its `collated()` gives the same value without a per-sample loop."""
    if isinstance(batch, SampleBatch):
        return batch.collated()
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        return _stack_tensors([from_numpy(_numeric_array(b)) for b in batch])
    if isinstance(elem, np.generic):  # NumPy scalars keep their dtype
        return from_numpy(_numeric_array(np.array(batch)))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):  # bool is an int: tensor() gives bool for bools, int64 for ints
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            return type(elem)(collated)
        except TypeError:  # a mapping type that cannot be rebuilt this way
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # PyTorch: a tuple sample collates to a list (backwards compatibility)
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, f in enumerate(fields):
                    clone[i] = f
                return clone
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Without automatic batching (`batch_size=None`): NumPy arrays become tensors, containers
    are converted recursively, everything else is returned as it is (PyTorch's default_convert)."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return from_numpy(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "OSUV":
        return from_numpy(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # as PyTorch
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data

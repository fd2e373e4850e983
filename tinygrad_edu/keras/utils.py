"""keras.utils: to_categorical (one-hot labels) and set_random_seed."""
from __future__ import annotations

import random

import numpy as np


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """Integer class labels -> one-hot rows, as Keras: [0, 2, 1] -> [[1, 0, 0], [0, 0, 1], [0, 1, 0]].

    A trailing axis of size 1 ([N, 1] labels) is dropped first; num_classes defaults to
    max(x) + 1. Returns float64, as Keras does for NumPy input (fit casts to float32)."""
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    x = np.asarray(x)
    if x.size and not np.all(np.equal(np.mod(x, 1), 0)):
        raise ValueError(f"to_categorical expects integer class labels, got values such as {x.flat[0]!r}")
    x = x.astype(np.int64)
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    num_classes = int(num_classes) if num_classes else (int(x.max()) + 1 if x.size else 0)
    bad = x[(x < 0) | (x >= num_classes)]
    if bad.size:
        raise ValueError(f"to_categorical: label {int(bad[0])} is not a class index in 0..{num_classes - 1} "
                         f"(num_classes={num_classes})")
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(shape + (num_classes,))


def set_random_seed(seed: int) -> None:
    """Seeds Python's, NumPy's and our random generators (weights, dropout, shuffling)."""
    from .. import manual_seed
    random.seed(seed)
    np.random.seed(seed)
    manual_seed(seed)

"""keras.datasets.mnist.load_data(): the MNIST digits as NumPy arrays.

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    # uint8 [60000, 28, 28] and [60000]; uint8 [10000, 28, 28] and [10000]

Keras downloads ~/.keras/datasets/mnist.npz. We read, in this order: `path` if it is such an
.npz file (keys x_train, y_train, x_test, y_test) or a folder; else the folder named by the
environment variable TINYGRAD_EDU_MNIST; else the examples' default folder
(~/.cache/tinygrad_edu/mnist on Linux). A folder is read by our
`datasets.MNIST` (the four IDX files, gzip or raw, or torchvision's MNIST/raw layout), with
its error messages. Where we differ: nothing is downloaded (Keras fetches mnist.npz); the
error says where to put the files, and `datasets.MNIST(root, download=True)` fetches them.
"""
from __future__ import annotations

import os

import numpy as np

from ...datasets import MNIST
from ...datasets.utils import default_cache_dir


def _from_npz(path: str):
    with np.load(path, allow_pickle=False) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise ValueError(f"{path}: not a Keras MNIST file, missing arrays {sorted(missing)}")
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def load_data(path: str = "mnist.npz"):
    """((x_train, y_train), (x_test, y_test)): uint8 images [N, 28, 28] and uint8 labels [N]."""
    if os.path.isfile(path) and path.endswith(".npz"):
        return _from_npz(path)
    root = path if os.path.isdir(path) else os.environ.get("TINYGRAD_EDU_MNIST") or default_cache_dir("mnist")
    splits = []
    for train in (True, False):
        ds = MNIST(root, train=train)
        splits.append((ds.data.numpy().copy(), ds.targets.numpy().astype(np.uint8)))
    return tuple(splits)

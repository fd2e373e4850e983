"""MNIST and FashionMNIST, as `torchvision.datasets` has them (same arguments, attributes, layout).

Differences from torchvision:
- A sample is `(image, target)` where image is a uint8 NumPy array of shape [28, 28] (torchvision
  gives a PIL image; there is no PIL dependency here). `transforms.ToTensor()` turns it into a
  float32 [1, 28, 28] tensor in [0, 1], as it would the PIL image.
- The IDX files are read directly, gzip-compressed or not (nothing is written to
  `processed/`), from `root/<ClassName>/raw` (torchvision's layout) or from `root` itself.
- `__getitems__(indices)` (PyTorch 2's batch protocol) gathers a whole batch at once and, when
  the transform is batchable (a Compose of ToTensor/Normalize), transforms it in one step.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...tensor import from_numpy
from ..transforms.transforms import is_batchable
from ...utils.data.collate import default_collate
from ...utils.data.dataset import Dataset, SampleBatch, index_array
from .utils import DatasetFileError, download_url, read_idx


class MNIST(Dataset):
    """The MNIST digits: 60,000 training and 10,000 test images, 28x28, labels 0-9.

    `data` is a uint8 tensor [N, 28, 28], `targets` an int64 tensor [N]. With `download=True`,
    missing files are fetched from `mirrors` into `root/<ClassName>/raw` and checked against the
    MD5s in `resources`.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.train, self.transform, self.target_transform = train, transform, target_transform
        if download:
            self.download()
        split = "train" if train else "t10k"
        images_path, labels_path = self._find(f"{split}-images-idx3-ubyte"), self._find(f"{split}-labels-idx1-ubyte")
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DatasetFileError(images_path, f"expected uint8 images of 3 dims [N, H, W], got {images.dtype} "
                                                f"of shape {list(images.shape)}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise DatasetFileError(labels_path, f"expected uint8 labels of 1 dim [N], got {labels.dtype} of shape "
                                                f"{list(labels.shape)}")
        if len(labels) != len(images):
            raise DatasetFileError(labels_path, f"label count {len(labels)} != image count {len(images)} in "
                                                f"{images_path}")
        if len(labels) and labels.max() >= len(self.classes):
            raise DatasetFileError(labels_path, f"label {labels.max()} is not a class index in 0..{len(self.classes) - 1}")
        self.data, self.targets = from_numpy(images), from_numpy(labels.astype(np.int64))

    # ------------------------------------------------------------ files
    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _folders(self) -> list[Path]:
        return [Path(self.raw_folder), Path(self.root)]

    def _locate(self, name: str) -> Path | None:
        """The file `name` (uncompressed) or `name.gz`, from the first folder that has it."""
        for folder in self._folders():
            for path in (folder / name, folder / f"{name}.gz"):
                if path.is_file():
                    return path
        return None

    def _find(self, name: str) -> Path:
        path = self._locate(name)
        if path is None:
            raise RuntimeError(f"Dataset not found: no {name}[.gz]. You can use download=True to download it.\n"
                               + self._where_to_put_files())
        return path

    def _where_to_put_files(self) -> str:
        names = "".join(f"  {name}  (MD5 {md5})\n" for name, md5 in self.resources)
        return (f"Put these files (gzip-compressed as below, or uncompressed without .gz) into "
                f"{os.path.abspath(self.raw_folder)} (or directly into {os.path.abspath(self.root)}):\n{names}"
                f"They are on the mirrors {', '.join(self.mirrors)}.")

    def _check_exists(self) -> bool:
        return all(self._locate(name.removesuffix(".gz")) is not None for name, _ in self.resources)

    def download(self) -> None:
        """Fetch the missing files into raw_folder, trying each mirror in turn; MD5-checked, atomic."""
        for filename, md5 in self.resources:
            if self._locate(filename.removesuffix(".gz")) is not None:
                continue
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                print(f"Downloading {url}")
                try:
                    download_url(url, self.raw_folder, filename, md5)
                    break
                except Exception as e:  # network errors, HTTP errors, MD5 mismatch: try the next mirror
                    errors.append(f"  {url}: {e}")  # all of them in the error below, if every mirror fails
            else:
                raise RuntimeError(f"Error downloading {filename}: every mirror failed\n" + "\n".join(errors)
                                   + "\nWithout internet access: " + self._where_to_put_files())

    # ------------------------------------------------------------ samples
    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        """(image, target): image a uint8 [28, 28] array (torchvision: a PIL image), target an int."""
        index = int(index)
        img, target = self.data._data[index].copy(), int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        """The samples at `indices`. With a batchable transform (or none) a SampleBatch that stacks the
        whole batch in one step; otherwise the list of samples, transformed one by one."""
        if self.transform is not None and not is_batchable(self.transform):
            return [self[i] for i in indices]
        return SampleBatch(self, indices, lambda: self._collated(index_array(indices)))

    def _collated(self, idx: np.ndarray) -> list:
        images = self.data._data[idx]
        images = from_numpy(images) if self.transform is None else self.transform.apply_batch(images)
        if self.target_transform is None:
            targets = from_numpy(self.targets._data[idx])
        else:
            targets = default_collate([self.target_transform(int(t)) for t in self.targets._data[idx]])
        return [images, targets]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                body = repr(getattr(self, name)).replace("\n", "\n" + " " * 4)
                lines.append(f"    {'Transform' if name == 'transform' else 'Target transform'}: {body}")
        return "\n".join(lines)


def _renamed(old: str, new: str) -> property:
    """torchvision's deprecated aliases (train_data, test_labels, ...): warn, then give the new name
    (whatever the split, as torchvision)."""
    def get(self):
        warnings.warn(f"{old} has been renamed {new}", UserWarning, stacklevel=2)
        return getattr(self, new)
    return property(get, doc=f"Deprecated alias of `{new}` (as torchvision).")


for _split in ("train", "test"):
    setattr(MNIST, f"{_split}_data", _renamed(f"{_split}_data", "data"))
    setattr(MNIST, f"{_split}_labels", _renamed(f"{_split}_labels", "targets"))


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: same format and sizes as MNIST, ten kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]

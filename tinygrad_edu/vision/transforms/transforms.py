"""`torchvision.transforms`: Compose, ToTensor, Normalize, Lambda.

Differences from torchvision: there are no PIL images here, so `ToTensor` takes a uint8 (or
other dtype) NumPy array or Tensor of shape HxW or HxWxC (anything NumPy can view as an array,
so a PIL image works too if PIL is installed); torchvision refuses tensors.

Batches (own addition): a transform with `batchable = True` also has `apply_batch(batch)`,
which transforms N samples stacked along a new dim 0 at once and gives exactly
`stack([t(x) for x in batch])`. ToTensor and Normalize are batchable, and so is a Compose of
batchable transforms; `Lambda` and unknown transforms are not, and datasets then fall back
to transforming sample by sample.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...dtypes import get_default_dtype
from ...tensor import Tensor, from_numpy, tensor

__all__ = ["Compose", "Lambda", "Normalize", "ToTensor", "is_batchable"]


def is_batchable(transform) -> bool:
    """True when `transform.apply_batch` transforms a stacked batch like a loop over samples would."""
    return bool(getattr(transform, "batchable", False))


class Compose:
    """Apply the transforms one after the other."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    @property
    def batchable(self) -> bool:
        return all(is_batchable(t) for t in self.transforms)

    def apply_batch(self, batch):
        if not self.batchable:
            raise TypeError(f"not every transform in {self!r} is batchable")
        for t in self.transforms:
            batch = t.apply_batch(batch)
        return batch

    def __repr__(self) -> str:
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"


def _image_array(pic) -> np.ndarray:
    if isinstance(pic, Tensor):
        return pic.detach().numpy()
    if isinstance(pic, np.ndarray) or hasattr(pic, "__array_interface__"):  # arrays, PIL images
        return np.asarray(pic)
    raise TypeError(f"pic should be an ndarray, a Tensor or a PIL Image. Got {type(pic)}")


def _scaled(chw: np.ndarray) -> Tensor:
    """torchvision's rule: uint8 becomes the default float dtype divided by 255; other dtypes are kept."""
    if chw.dtype == np.uint8:  # order="C": contiguous like torchvision's output, so .view() works on it
        return from_numpy(np.divide(chw.astype(get_default_dtype().np, order="C"), get_default_dtype().np.type(255)))
    return tensor(np.ascontiguousarray(chw))


class ToTensor:
    """HxW or HxWxC image -> CxHxW tensor; uint8 values are scaled to [0, 1] floats (default dtype)."""

    batchable = True

    def __call__(self, pic) -> Tensor:
        img = _image_array(pic)
        if img.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {img.ndim} dimensions.")
        if img.ndim == 2:
            img = img[:, :, None]
        return _scaled(img.transpose(2, 0, 1))

    def apply_batch(self, batch) -> Tensor:
        """NxHxW or NxHxWxC images -> NxCxHxW, the same values as ToTensor on each image."""
        imgs = _image_array(batch)
        if imgs.ndim not in (3, 4):
            raise ValueError(f"a batch of images should be 3/4 dimensional (NxHxW or NxHxWxC). Got {imgs.ndim} "
                             "dimensions.")
        if imgs.ndim == 3:
            imgs = imgs[:, :, :, None]
        return _scaled(imgs.transpose(0, 3, 1, 2))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] for each channel c of a float tensor (..., C, H, W)."""

    batchable = True

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(x)}")
        if not x.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {x.dtype}.")
        if x.ndim < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                             f"{tuple(x.shape)}")
        mean = tensor(np.asarray(self.mean, dtype=x.dtype.np)).reshape(-1, 1, 1)
        std = tensor(np.asarray(self.std, dtype=x.dtype.np)).reshape(-1, 1, 1)
        if (std._data == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {x.dtype}, leading to division by zero.")
        if mean.shape[0] not in (1, x.shape[-3]) or std.shape[0] not in (1, x.shape[-3]):
            raise ValueError(f"Normalize: mean has {mean.shape[0]} and std {std.shape[0]} values, but the image "
                             f"has {x.shape[-3]} channels (shape {tuple(x.shape)})")
        return x.sub_(mean).div_(std) if self.inplace else (x - mean) / std

    def apply_batch(self, batch: Tensor) -> Tensor:
        """Normalize works on (..., C, H, W): a batch N x C x H x W is already its input."""
        return self(batch)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """A user function as a transform (not batchable: it may not treat a stacked batch like a sample)."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"

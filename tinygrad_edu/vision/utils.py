"""`torchvision.utils`: make_grid (a batch of images tiled into one) and save_image (that grid as a PNG)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, stack, tensor


def _as_batch(images) -> np.ndarray:
    """torchvision's reshaping: a list is stacked; HxW and 1xHxW become one 3-channel image;
    Nx1xHxW becomes Nx3xHxW."""
    if isinstance(images, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in images):
            raise TypeError(f"tensor or list of tensors expected, got a list of {[type(t).__name__ for t in images]}")
        images = stack(list(images), dim=0)
    if not isinstance(images, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(images)}")
    a = images.detach().numpy()
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = np.concatenate([a, a, a], 0) if a.shape[0] == 1 else a
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected a 2D, 3D or 4D tensor (or a list of them), got {a.ndim}D")
    if a.shape[1] == 1:
        a = np.concatenate([a, a, a], 1)
    return a


def _normalize(a: np.ndarray, value_range) -> np.ndarray:
    low, high = (float(a.min()), float(a.max())) if value_range is None else value_range
    return (np.clip(a, low, high) - low) / max(high - low, 1e-5)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False, value_range=None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile a batch B x C x H x W into one image C x (rows*(H+p)+p) x (nrow*(W+p)+p), as torchvision's
    (nrow images a row, `padding` pixels of `pad_value` around each; `normalize` maps value_range
    (default: the min and max) to [0, 1], per image with scale_each). One image comes back alone."""
    a = _as_batch(tensor).copy()
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
    if normalize:
        a = np.stack([_normalize(x, value_range) for x in a]) if scale_each else _normalize(a, value_range)
    if a.shape[0] == 1:
        return tensor_of(a[0])
    n, c, h, w = a.shape
    cols = min(nrow, n)
    rows = int(math.ceil(float(n) / cols))
    cell_h, cell_w = h + padding, w + padding
    grid = np.full((c, cell_h * rows + padding, cell_w * cols + padding), pad_value, dtype=a.dtype)
    for k in range(n):
        y, x = divmod(k, cols)
        grid[:, y * cell_h + padding:(y + 1) * cell_h, x * cell_w + padding:(x + 1) * cell_w] = a[k]
    return tensor_of(grid)


def tensor_of(a: np.ndarray) -> Tensor:
    return tensor(np.ascontiguousarray(a))


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """make_grid(tensor, **kwargs) written as an image file (PNG by the name's extension): values in
    [0, 1] become bytes as torchvision's `mul(255).add_(0.5).clamp_(0, 255)`. Uses Pillow, else matplotlib."""
    grid = make_grid(tensor, **kwargs).numpy()
    image = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    try:
        from PIL import Image
    except ImportError:  # matplotlib alone (it writes PNG itself)
        import matplotlib.image
        matplotlib.image.imsave(fp, image, format=format)
        return
    Image.fromarray(image).save(fp, format=format)

"""`torchvision.transforms.functional`: resize, crop, center_crop, pad, hflip, to_pil_image.

Each takes a Tensor image [..., H, W] or a PIL image (when Pillow is installed), as torchvision's.
On tensors, `resize` is two matrix products (rows, then columns) with PyTorch's interpolation
weights, so it is differentiable; crops and flips are indexing, also differentiable; `pad`
copies into a new tensor (not differentiable, a data-pipeline step).
"""
from __future__ import annotations

from enum import Enum

import numpy as np

from ...tensor import Tensor, tensor


class InterpolationMode(Enum):
    """torchvision's interpolation modes; NEAREST and BILINEAR are implemented here."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.")


def get_dimensions(img) -> list[int]:
    """[channels, height, width], as torchvision's."""
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")
    if img.dim() < 2:
        raise TypeError(f"Tensor is not a torch image: expected at least 2 dimensions, got {img.dim()}")
    return [1 if img.dim() == 2 else img.shape[-3], img.shape[-2], img.shape[-1]]


def _output_size(h: int, w: int, size, max_size) -> tuple[int, int]:
    """torchvision's rule: an int (or 1-sequence) is the smaller edge, the other keeps the aspect ratio."""
    if isinstance(size, int) or len(size) == 1:
        short_req = size if isinstance(size, int) else size[0]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = short_req, int(short_req * long / short)
        if max_size is not None:
            if max_size <= short_req:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                                 f"smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError("max_size should only be passed if size specifies the length of the smaller edge")
    return int(size[0]), int(size[1])


def _weights(in_size: int, out_size: int, mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """(out, in) matrix of PyTorch's interpolation weights (align_corners=False).

    bilinear: a triangle filter centred on each output pixel's source position (i + 0.5) * in/out;
    with antialias and downscaling it is widened by in/out (PIL's and torch's antialias), so every
    input pixel contributes. nearest: the pixel floor(i * in / out)."""
    scale = in_size / out_size
    w = np.zeros((out_size, in_size))
    if mode is InterpolationMode.NEAREST:
        w[np.arange(out_size), np.minimum(np.floor(np.arange(out_size) * scale).astype(int), in_size - 1)] = 1
        return w
    support = max(scale, 1.0) if antialias else 1.0
    centers = (np.arange(out_size) + 0.5) * scale
    w = np.clip(1 - np.abs((np.arange(in_size)[None, :] + 0.5 - centers[:, None]) / support), 0, None)
    return w / w.sum(axis=1, keepdims=True)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias: bool = True):
    """Resize to size (h, w), or the smaller edge to size keeping the aspect ratio."""
    interpolation = InterpolationMode(interpolation.value if isinstance(interpolation, InterpolationMode)
                                      else interpolation)
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise NotImplementedError(f"resize: interpolation {interpolation} is not implemented here "
                                  "(NEAREST and BILINEAR are)")
    _, h, w = get_dimensions(img)
    out_h, out_w = _output_size(h, w, size, max_size)
    if _is_pil(img):
        from PIL import Image
        mode = Image.Resampling.NEAREST if interpolation is InterpolationMode.NEAREST else Image.Resampling.BILINEAR
        return img.resize((out_w, out_h), mode)
    if (out_h, out_w) == (h, w):
        return img
    x = img if img.is_floating_point() else img.float()
    rows = tensor(_weights(h, out_h, interpolation, antialias).astype(x.dtype.np))
    cols = tensor(_weights(w, out_w, interpolation, antialias).T.astype(x.dtype.np))
    out = rows @ x @ cols
    if img.is_floating_point():
        return out
    info = np.iinfo(img.dtype.np) if img.dtype.np.kind in "iu" else None
    rounded = np.round(out.detach().numpy()) if info is None else np.clip(np.round(out.detach().numpy()), info.min,
                                                                          info.max)
    return tensor(rounded.astype(img.dtype.np))


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: padding int (all four), (left/right, top/bottom) or (left, top, right, bottom)."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if isinstance(padding, int):
        left = top = right = bottom = padding
    elif len(padding) == 1:
        left = top = right = bottom = padding[0]
    elif len(padding) == 2:
        left = right = padding[0]
        top = bottom = padding[1]
    elif len(padding) == 4:
        left, top, right, bottom = padding
    else:
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if _is_pil(img):
        from PIL import Image
        return Image.fromarray(_pad_array(np.asarray(img), top, bottom, left, right, fill, padding_mode,
                                          channels_last=True))
    arr = _pad_array(img.detach().numpy(), top, bottom, left, right, fill, padding_mode, channels_last=False)
    return tensor(arr)


def _pad_array(a: np.ndarray, top, bottom, left, right, fill, mode: str, channels_last: bool) -> np.ndarray:
    h_axis = a.ndim - 3 if channels_last and a.ndim == 3 else a.ndim - 2
    widths = [(0, 0)] * a.ndim
    widths[h_axis], widths[h_axis + 1] = (top, bottom), (left, right)
    if min(top, bottom, left, right) < 0:  # negative padding crops, as torchvision's
        crop = tuple(slice(max(-p0, 0), a.shape[i] - max(-p1, 0)) if i in (h_axis, h_axis + 1) else slice(None)
                     for i, (p0, p1) in enumerate(widths))
        a, widths = a[crop], [(max(p0, 0), max(p1, 0)) for p0, p1 in widths]
    if mode == "constant":
        return np.pad(a, widths, mode="constant", constant_values=fill)
    return np.pad(a, widths, mode=mode)


def crop(img, top: int, left: int, height: int, width: int):
    """The region [top, top + height) x [left, left + width); outside the image is zero-padded."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padded = pad(img[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)],
                     [max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0)])
        return padded
    return img[..., top:bottom, left:right]


def center_crop(img, output_size):
    """The centred crop of output_size (int or (h, w)); a crop larger than the image pads it with zeros."""
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    elif len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    crop_h, crop_w = output_size
    _, h, w = get_dimensions(img)
    if crop_w > w or crop_h > h:
        img = pad(img, [(crop_w - w) // 2 if crop_w > w else 0, (crop_h - h) // 2 if crop_h > h else 0,
                        (crop_w - w + 1) // 2 if crop_w > w else 0, (crop_h - h + 1) // 2 if crop_h > h else 0])
        _, h, w = get_dimensions(img)
        if crop_w == w and crop_h == h:
            return img
    return crop(img, int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0)), crop_h, crop_w)


def hflip(img):
    """Mirror left-right."""
    if _is_pil(img):
        from PIL import Image
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img[..., list(range(img.shape[-1] - 1, -1, -1))]


def to_pil_image(pic, mode=None):
    """A Tensor CxHxW (floats in [0, 1] become bytes as torchvision's `mul(255).byte()`) or an ndarray
    HxWxC as a PIL image; 1 channel gives mode "L", 3 "RGB", 4 "RGBA"."""
    from PIL import Image
    if isinstance(pic, Tensor):
        if pic.dim() not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.dim()} dimensions.")
        arr = pic.detach().numpy()
        arr = arr[None] if arr.ndim == 2 else arr
        if arr.dtype.kind == "f" and mode != "F":
            arr = (arr * 255).astype(np.uint8)
        arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")
    image = Image.fromarray(np.ascontiguousarray(arr[:, :, 0] if arr.shape[-1] == 1 else arr))
    return image.convert(mode) if mode and mode != image.mode else image

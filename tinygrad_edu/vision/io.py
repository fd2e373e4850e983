"""`torchvision.io`'s image functions: read_image, decode_image, read_file, write_png, ImageReadMode.

An image is a uint8 tensor [C, H, W] (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), as torchvision
gives it. torchvision decodes with libjpeg/libpng; we decode with Pillow (any format it reads:
PNG, JPEG, GIF (first frame), BMP, WEBP...), else matplotlib (PNG only). Differences: 16-bit
images are refused (no uint16 tensors here); a palette image reads as RGB (RGBA with transparency).
"""
from __future__ import annotations

import enum
import io
import os

import numpy as np

from ..creation import from_numpy
from ..tensor import Tensor


class ImageReadMode(enum.Enum):
    """torchvision.io.ImageReadMode: the channels to decode to."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
              ImageReadMode.RGB_ALPHA: "RGBA"}


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        if mode.upper() not in ImageReadMode.__members__:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(ImageReadMode.__members__)}")
        return ImageReadMode[mode.upper()]
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"mode must be an ImageReadMode or its name, got {type(mode).__name__}")
    return mode


def _decode_pil(data: bytes, mode: ImageReadMode, where: str, exif: bool) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        if exif:
            img = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise RuntimeError(f"{where}: not an image Pillow can decode ({e})") from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise RuntimeError(f"{where}: a {img.mode} image (16/32-bit): only 8-bit images are supported "
                           "(tinygrad_edu has no uint16 tensors)")
    if mode is ImageReadMode.UNCHANGED:
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode not in ("L", "LA", "RGB", "RGBA"):
            img = img.convert("L" if img.mode == "1" else "RGB")  # 1-bit, CMYK, YCbCr...
    else:
        img = img.convert(_PIL_MODES[mode])
    a = np.asarray(img, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) -> Tensor:
    """The image in `input` (a 1-d uint8 tensor of the file's bytes, or a path, as torchvision) as
    a uint8 tensor [C, H, W]; `mode` picks the channels."""
    if isinstance(input, (str, os.PathLike)):
        return read_image(input, mode, apply_exif_orientation)
    if not isinstance(input, Tensor) or input.dtype.name != "uint8" or input.dim() != 1:
        raise RuntimeError("decode_image: expected a 1-d uint8 tensor of the file's bytes")
    return _decode(input.numpy().tobytes(), _mode(mode), "decode_image", apply_exif_orientation)


def _decode(data: bytes, mode: ImageReadMode, where: str, exif: bool) -> Tensor:
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ImportError(f"{where}: decoding images needs Pillow (pip install pillow)") from None
    return from_numpy(np.ascontiguousarray(_decode_pil(data, mode, where, exif).transpose(2, 0, 1)))


def read_file(path) -> Tensor:
    """The bytes of the file at `path` as a 1-d uint8 tensor."""
    with open(os.fspath(path), "rb") as f:
        return from_numpy(np.frombuffer(f.read(), np.uint8).copy())


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) -> Tensor:
    """torchvision.io.read_image: the image file at `path` as a uint8 tensor [C, H, W]."""
    path = os.fspath(path)
    with open(path, "rb") as f:  # FileNotFoundError names the path
        data = f.read()
    return _decode(data, _mode(mode), path, apply_exif_orientation)


def write_png(input: Tensor, filename, compression_level: int = 6) -> None:
    """torchvision.io.write_png: a uint8 tensor [C, H, W] (C = 1, 2, 3 or 4) written as a PNG file."""
    if not isinstance(input, Tensor) or input.dtype.name != "uint8" or input.dim() != 3 or input.shape[0] not in (1, 2, 3, 4):
        raise RuntimeError("write_png: expected a uint8 tensor of shape [C, H, W] with C in 1, 2, 3, 4, got "
                           f"{getattr(input, 'dtype', type(input).__name__)} of shape {list(getattr(input, 'shape', []))}")
    a = input.numpy().transpose(1, 2, 0)
    from PIL import Image
    Image.fromarray(np.ascontiguousarray(a[:, :, 0] if a.shape[2] == 1 else a)).save(os.fspath(filename), format="PNG", compress_level=compression_level)

"""elementwise.c's NumPy twin: uint8_to_float32, the conversion of `images.float()`."""
from __future__ import annotations

import numpy as np


def check_uint8(name: str, x: np.ndarray) -> None:
    """``x`` must be a uint8 ``np.ndarray`` (``TypeError`` naming what it was otherwise)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != np.uint8:
        raise TypeError(f"{name}: expected a uint8 array, got {x.dtype}")


def uint8_to_float32(x: np.ndarray) -> np.ndarray:
    """``x`` as float32, any shape and strides: a new C-contiguous array (every uint8 is exact)."""
    check_uint8("uint8_to_float32", x)
    return x.astype(np.float32, order="C")

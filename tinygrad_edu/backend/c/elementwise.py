"""elementwise.c's binding: uint8_to_float32 through ``tg_u8_to_f32`` (the NumPy twin: backend/numpy/elementwise.py)."""
from __future__ import annotations

import numpy as np

from ..numpy.elementwise import check_uint8
from ._ffi import CTYPE, dense, ffi, from_buffer, lib, raise_on_error

_U8, _F32 = ffi.typeof("uint8_t[]"), CTYPE[np.dtype(np.float32)]


def uint8_to_float32(x: np.ndarray) -> np.ndarray:
    """``x`` as float32, any shape and strides: a new C-contiguous array (every uint8 is exact).

    PERF: 2x NumPy's ``astype`` for an MNIST batch (see csrc/elementwise.c)."""
    if type(x) is not np.ndarray or x.dtype != np.uint8:
        check_uint8("uint8_to_float32", x)  # raises the error
    out = np.empty(x.shape, np.float32)
    rc = lib.tg_u8_to_f32(from_buffer(_U8, dense(x)), from_buffer(_F32, out), x.size)
    if rc != 0:
        raise_on_error(rc, lib.tg_u8_to_f32)
    return out

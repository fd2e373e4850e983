"""The NumPy backend: the reference twin of ``c_kernels``.

Every kernel here has exactly the name and signature of its C counterpart (needle's
``ndarray_backend_numpy.py`` next to ``ndarray_backend_cpu.cc``), takes and returns
plain ``np.ndarray``s, and raises the same errors, so the core can call
``backend.kernels.<name>(...)`` without knowing which backend is active and the test
suite can run once per backend.

The argument checks live here, not in ``c_kernels``, so that both backends fail with
identical messages; ``c_kernels`` imports them.
"""

from __future__ import annotations

import numpy as np

# The kernel vocabulary, identical in c_kernels (a test checks it).
__all__ = [
    "matmul",  # matmul.c

    # activations.c

    # softmax.c

    # loss.c

    # optim.c

    # conv.c

]

# dtypes the kernels accept; the C library has one function per entry.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_matmul(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """Validate the operands of ``matmul`` and return ``(m, k, n)``.

    Errors follow ``torch.mm``: a shape mismatch is a ``RuntimeError`` with PyTorch's
    exact text (``mat1 and mat2 shapes cannot be multiplied (64x784 and 512x256)``), a
    non-matrix is a ``RuntimeError`` too. Where we differ: PyTorch raises
    ``RuntimeError`` for mixed dtypes and supports integer matmul; we raise
    ``TypeError`` for anything but two arrays of the same float32/float64 dtype.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(
            f"matmul: expected two numpy.ndarray, got {type(a).__name__} and {type(b).__name__}"
        )
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(
            f"matmul: expected 2-D arrays (matrices), got {a.ndim}-D and {b.ndim}-D "
            f"(shapes {a.shape} and {b.shape})"
        )
    # Runs on every call (~0.5 us in all): each attribute read counts, hence `dtype`.
    dtype = a.dtype
    if b.dtype != dtype or dtype not in FLOAT_DTYPES:
        raise TypeError(
            "matmul: expected two float32 or two float64 arrays, "
            f"got {a.dtype} and {b.dtype}"
        )
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})")
    return m, k, n


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A @ B for 2-D float arrays: ``C[i, j] = sum_p A[i, p] * B[p, j]``.

    ``a`` is ``[m, k]``, ``b`` is ``[k, n]``, the result a new C-contiguous ``[m, n]``
    array of the same dtype (any strides accepted). ``k == 0`` gives zeros, as in
    PyTorch. Errors: see ``check_matmul``.
    """
    check_matmul(a, b)
    return np.matmul(a, b)

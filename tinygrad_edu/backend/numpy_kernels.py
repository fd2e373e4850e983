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
    "bmm",
    "linear",
    "linear_backward",

    # activations.c

    # softmax.c

    # loss.c

    # optim.c

    # conv.c

]

# dtypes the kernels accept; the C library has one function per entry.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_arrays(name: str, a, b, c=None) -> None:
    """Two or three ndarrays of one float32/float64 dtype (``c`` may be None), else ``TypeError``.

    Runs on every kernel call, so it is written out rather than looped (~0.2 us).
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and (c is None or isinstance(c, np.ndarray))):
        got = ", ".join(type(x).__name__ for x in (a, b, c) if x is not None)
        raise TypeError(f"{name}: expected numpy.ndarray arguments, got {got}")
    dtype = a.dtype
    if dtype not in FLOAT_DTYPES or b.dtype != dtype or (c is not None and c.dtype != dtype):
        got = " and ".join(str(x.dtype) for x in (a, b, c) if x is not None)
        raise TypeError(f"{name}: expected float32 or float64 arrays of one dtype, got {got}")


def _check_ndim(name: str, ndim: int, arrays: dict) -> None:
    if any(x.ndim != ndim for x in arrays.values()):
        raise RuntimeError(f"{name}: expected {ndim}-D arrays, got "
                           + ", ".join(f"{key} of shape {x.shape}" for key, x in arrays.items()))


def check_matmul(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """Validate the operands of ``matmul`` and return ``(m, k, n)``.

    Errors follow ``torch.mm``: a shape mismatch is a ``RuntimeError`` with PyTorch's
    exact text (``mat1 and mat2 shapes cannot be multiplied (64x784 and 512x256)``), a
    non-matrix is a ``RuntimeError`` too. Where we differ: PyTorch raises
    ``RuntimeError`` for mixed dtypes and supports integer matmul; we raise
    ``TypeError`` for anything but arrays of one float32/float64 dtype (the same
    for every kernel of this section).
    """
    _check_arrays("matmul", a, b)
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(
            f"matmul: expected 2-D arrays (matrices), got {a.ndim}-D and {b.ndim}-D "
            f"(shapes {a.shape} and {b.shape})"
        )
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})")
    return m, k, n


def check_bmm(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int]:
    """Validate the operands of ``bmm`` and return ``(batch, m, k, n)``; errors as ``torch.bmm``'s."""
    _check_arrays("bmm", a, b)
    for name, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    batch, m, k = a.shape
    if b.shape[:2] != (batch, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {k}] but got: [{b.shape[0]}, {b.shape[1]}].")
    return batch, m, k, b.shape[2]


def check_linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> tuple[int, int, int]:
    """Validate ``linear``'s operands and return ``(batch, in_features, out_features)``.

    Shape errors are ``F.linear``'s texts. Where we differ: the kernel takes a 2-D
    ``x`` and a 1-D ``bias`` only (``nn.functional.linear`` reshapes other inputs first).
    """
    _check_arrays("linear", x, w, bias)
    _check_ndim("linear", 2, {"x": x, "w": w})
    (batch, fan_in), (fan_out, fan_in2) = x.shape, w.shape
    if fan_in != fan_in2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({batch}x{fan_in} and {fan_in2}x{fan_out})")
    if bias is not None and bias.shape != (fan_out,):
        if bias.ndim != 1:
            raise RuntimeError(f"linear: expected a 1-D bias of shape ({fan_out},), got shape {bias.shape}")
        raise RuntimeError(f"The expanded size of the tensor ({fan_out}) must match the existing size "
                           f"({bias.shape[0]}) at non-singleton dimension 1.  Target sizes: [{batch}, {fan_out}].  "
                           f"Tensor sizes: [{bias.shape[0]}]")
    return batch, fan_in, fan_out


def check_linear_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[int, int, int]:
    """Validate ``linear_backward``'s operands and return ``(batch, in_features, out_features)``."""
    _check_arrays("linear_backward", grad, x, w)
    _check_ndim("linear_backward", 2, {"grad": grad, "x": x, "w": w})
    (batch, fan_in), (fan_out, fan_in2) = x.shape, w.shape
    if fan_in != fan_in2 or grad.shape != (batch, fan_out):
        raise RuntimeError(f"linear_backward: shapes do not fit y = x @ w.T: grad {grad.shape}, x {x.shape}, "
                           f"w {w.shape} (expected grad of shape ({batch}, {fan_out}) and w of shape "
                           f"({fan_out}, {fan_in}))")
    return batch, fan_in, fan_out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A @ B for 2-D float arrays: ``C[i, j] = sum_p A[i, p] * B[p, j]``.

    ``a`` is ``[m, k]``, ``b`` is ``[k, n]`` (any strides: transposed and sliced views
    are fine), the result a new C-contiguous ``[m, n]`` array of the same dtype.
    ``k == 0`` gives zeros, as in PyTorch. Errors: see ``check_matmul``.
    """
    check_matmul(a, b)
    return np.matmul(a, b)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched product ``C[q] = A[q] @ B[q]``, as ``torch.bmm`` (no broadcasting).

    ``a`` is ``[batch, m, k]``, ``b`` is ``[batch, k, n]``, any strides (a stride-0
    ``np.broadcast_to`` batch dim is read in place); returns a new C-contiguous
    ``[batch, m, n]`` array. Errors: see ``check_bmm``.
    """
    check_bmm(a, b)
    return np.matmul(a, b)


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """The Linear layer's forward ``y = x @ w.T + bias`` (``F.linear``), one pass over y.

    ``x`` is ``[batch, in]``, ``w`` is ``[out, in]`` (PyTorch's weight layout), ``bias``
    is ``[out]`` or None; returns a new C-contiguous ``[batch, out]`` array. The C
    kernel reads ``w`` transposed in place and adds the bias as it stores each tile.
    """
    check_linear(x, w, bias)
    y = np.matmul(x, w.T)
    if bias is not None:
        y += bias
    return y


def linear_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray, need_dx: bool, need_dw: bool,
                    need_db: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of ``y = x @ w.T + b`` given ``grad = dL/dy``: ``(dx, dw, db)``.

    ``grad`` is ``[batch, out]``, ``x`` is ``[batch, in]``, ``w`` is ``[out, in]``;
    returns ``dx = grad @ w`` (``[batch, in]``), ``dw = grad.T @ x`` (``[out, in]``, the
    weight's own layout) and ``db = grad.sum(0)`` (``[out]``), each None unless asked for.
    No operand is copied: the transposes are views the kernel reads in place.
    """
    check_linear_backward(grad, x, w)
    return (np.matmul(grad, w) if need_dx else None,
            np.matmul(grad.T, x) if need_dw else None,
            grad.sum(0) if need_db else None)

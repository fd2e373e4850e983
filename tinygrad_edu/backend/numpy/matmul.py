"""matmul.c's NumPy twin: matmul, bmm, linear, linear_backward (same names, arguments and errors)."""
from __future__ import annotations

import numpy as np

from ..checks import check_bmm, check_linear, check_linear_backward, check_matmul


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


def linear_backward(grad: np.ndarray, x: np.ndarray | None, w: np.ndarray | None, need_dx: bool, need_dw: bool,
                    need_db: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of ``y = x @ w.T + b`` given ``grad = dL/dy``: ``(dx, dw, db)``.

    ``grad`` is ``[batch, out]``, ``x`` is ``[batch, in]``, ``w`` is ``[out, in]``;
    returns ``dx = grad @ w`` (``[batch, in]``), ``dw = grad.T @ x`` (``[out, in]``, the
    weight's own layout) and ``db = grad.sum(0)`` (``[out]``), each None unless asked for.
    No operand is copied: the transposes are views the kernel reads in place. ``x`` may be None
    when ``dw`` is not asked for, ``w`` when ``dx`` is not (only that gradient reads it).
    """
    check_linear_backward(grad, x, w, need_dx, need_dw)
    return (np.matmul(grad, w) if need_dx else None,
            np.matmul(grad.T, x) if need_dw else None,
            grad.sum(0) if need_db else None)

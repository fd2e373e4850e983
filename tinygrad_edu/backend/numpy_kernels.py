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
    "relu", "relu_backward", "bias_relu", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh_backward",
    # softmax.c
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    # loss.c
    "cross_entropy",

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


# ---------------------------------------------------------------- activations.c

def check_same(name: str, *arrays: np.ndarray, min_ndim: int = 0) -> np.dtype:
    """Validate the operands of an elementwise or row-wise kernel; return their dtype.

    All must be ``np.ndarray``s of one dtype, float32 or float64 (``TypeError`` naming the
    dtypes otherwise), of one shape (``RuntimeError`` naming the shapes), with at least
    ``min_ndim`` dimensions. Any strides are accepted.
    """
    for a in arrays:
        if not isinstance(a, np.ndarray):
            got = ", ".join(type(x).__name__ for x in arrays)
            raise TypeError(f"{name}: expected numpy.ndarray arguments, got {got}")
    dtype = arrays[0].dtype
    if dtype not in FLOAT_DTYPES or any(a.dtype != dtype for a in arrays):
        got = ", ".join(str(a.dtype) for a in arrays)
        raise TypeError(f"{name}: expected float32 or float64 arrays of one dtype, got {got}")
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        got = " and ".join(str(a.shape) for a in arrays)
        raise RuntimeError(f"{name}: expected arrays of the same shape, got {got}")
    if len(shape) < min_ndim:
        raise RuntimeError(f"{name}: expected at least {min_ndim}-D arrays, got shape {shape}")
    return dtype


def check_bias_relu(x: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Validate ``bias_relu``'s operands (x ``[rows, cols]``, b ``[cols]``); return ``(rows, cols)``."""
    for a in (x, b):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"bias_relu: expected numpy.ndarray arguments, got {type(x).__name__}, {type(b).__name__}")
    if x.dtype not in FLOAT_DTYPES or b.dtype != x.dtype:
        raise TypeError(f"bias_relu: expected float32 or float64 arrays of one dtype, got {x.dtype}, {b.dtype}")
    if x.ndim != 2 or b.shape != x.shape[1:]:
        raise RuntimeError(f"bias_relu: expected x [rows, cols] and b [cols], got shapes {x.shape} and {b.shape}")
    return x.shape


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` elementwise, any shape; NaN stays NaN (as ``torch.relu``)."""
    check_same("relu", x)
    return np.asarray(np.maximum(x, 0))


def relu_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad`` where ``out > 0``, else 0; ``out`` is relu's output (PyTorch's threshold_backward)."""
    check_same("relu_backward", grad, out)
    return np.asarray(np.where(out > 0, grad, grad.dtype.type(0)))


def bias_relu(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``relu(x + b)`` for x ``[rows, cols]``, b ``[cols]`` broadcast over the rows."""
    check_bias_relu(x, b)
    return np.maximum(x + b, 0)


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``x`` where ``x > 0``, else ``x * negative_slope``."""
    check_same("leaky_relu", x)
    return np.asarray(np.where(x > 0, x, x * x.dtype.type(negative_slope)))


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, negative_slope: float) -> np.ndarray:
    """``grad`` where the INPUT ``x > 0``, else ``grad * negative_slope``."""
    check_same("leaky_relu_backward", grad, x)
    return np.asarray(np.where(x > 0, grad, grad * grad.dtype.type(negative_slope)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, computed from ``exp(-|x|)`` so that nothing overflows."""
    check_same("sigmoid", x)
    e = np.exp(-np.abs(x))
    return np.asarray(np.where(x >= 0, 1 / (1 + e), e / (1 + e)))


def sigmoid_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out) * out``, ``out`` the sigmoid's output."""
    check_same("sigmoid_backward", grad, out)
    return np.asarray(grad * (1 - out) * out)


def tanh_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad * (1 - out**2)``, ``out`` the tanh's output."""
    check_same("tanh_backward", grad, out)
    return np.asarray(grad * (1 - out * out))


# ---------------------------------------------------------------- softmax.c

def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension (>= 1-D): ``exp(x - max) / sum(exp(x - max))``.

    NOTE: subtracting the row max changes nothing mathematically and keeps exp() from
    overflowing (logits of 1e4 would give inf / inf = NaN otherwise).
    """
    check_same("softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last dimension: ``x - max - log(sum(exp(x - max)))`` (stable, as softmax)."""
    check_same("log_softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out * (grad - sum(grad * out))`` over the last dimension, ``out`` the softmax."""
    check_same("softmax_backward", grad, out, min_ndim=1)
    return out * (grad - np.sum(grad * out, axis=-1, keepdims=True))


def log_softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad - exp(out) * sum(grad)`` over the last dimension, ``out`` the log_softmax."""
    check_same("log_softmax_backward", grad, out, min_ndim=1)
    return grad - np.exp(out) * np.sum(grad, axis=-1, keepdims=True)


# ---------------------------------------------------------------- loss.c

REDUCTIONS = ("none", "mean", "sum")  # the index is the C enum tg_reduction


def check_cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                        reduction: str, label_smoothing: float) -> int:
    """Validate ``cross_entropy``'s arguments (not the target values); return the reduction's code.

    Follows PyTorch's messages: a reduction other than 'none'|'mean'|'sum' is a
    ``ValueError`` (``"max is not a valid value for reduction"``), label_smoothing outside
    [0, 1] a ``RuntimeError``, a target that is not int64 a ``RuntimeError`` ("expected
    scalar type Long"). Shapes: logits ``[N, C]``, target ``[N]``, weight ``[C]``.
    """
    if not isinstance(logits, np.ndarray) or not isinstance(target, np.ndarray):
        raise TypeError("cross_entropy: expected numpy.ndarray logits and target, "
                        f"got {type(logits).__name__} and {type(target).__name__}")
    if logits.dtype not in FLOAT_DTYPES:
        raise TypeError(f"cross_entropy: expected float32 or float64 logits, got {logits.dtype}")
    if target.dtype != np.int64:
        raise RuntimeError(f"cross_entropy: expected scalar type Long for target but found {target.dtype}")
    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise RuntimeError(f"cross_entropy: expected logits [N, C] and target [N], "
                           f"got shapes {logits.shape} and {target.shape}")
    if weight is not None:
        if not isinstance(weight, np.ndarray) or weight.dtype != logits.dtype:
            got = weight.dtype if isinstance(weight, np.ndarray) else type(weight).__name__
            raise TypeError(f"cross_entropy: expected weight of the logits' dtype {logits.dtype}, got {got}")
        if weight.shape != logits.shape[1:]:
            raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all {logits.shape[1]} "
                               f"classes or no classes but got weight tensor of shape: {list(weight.shape)}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    return REDUCTIONS.index(reduction)


def target_out_of_bounds(target: np.ndarray, position: int, classes: int) -> IndexError:
    """The error both backends raise for a bad target: PyTorch's text plus where it is."""
    return IndexError(f"Target {int(target[position])} is out of bounds. "
                      f"(target[{position}], with {classes} classes)")


def cross_entropy_coefficients(target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                               label_smoothing: float, classes: int, dtype: np.dtype) -> tuple[np.ndarray, np.float64]:
    """``(a, D)``: ``loss_i = -sum_c a[i, c] logp[i, c]`` and the 'mean' denominator D.

    ``a[i] = (1 - eps) w[t_i] onehot(t_i) + eps / K w`` (zero rows where ignored), D the sum
    of ``w[t_i]`` over the rows not ignored. Targets must already be checked.
    """
    n, k = target.shape[0], classes
    w = np.ones(k, dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    a = np.zeros((n, k), dtype)
    a[np.arange(n), t] = (1 - label_smoothing) * w[t]
    if k:
        a += (label_smoothing / k) * w
    a[~keep] = 0
    return a, np.sum(w[t] * keep, dtype=np.float64)  # np.float64: 1 / 0 is inf, not an exception


def cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0,
                  need_grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Fused log_softmax + nll_loss: ``(loss, dlogits)`` with PyTorch's cross_entropy formulas.

    ``loss`` is ``[N]`` for reduction 'none', else 0-d; ``dlogits`` ``[N, C]`` is the
    gradient of ``loss.sum()`` (``None`` when ``need_grad`` is false). With ``logp =
    log_softmax(logits)``, K classes, w the weights (ones if None), eps the smoothing:
    ``loss_i = (1 - eps) w[t_i] (-logp[i, t_i]) + eps / K sum_c w[c] (-logp[i, c])``, 0 where
    ``t_i == ignore_index``; 'mean' divides the sum by the sum of ``w[t_i]`` over the rows not
    ignored (NaN if none). The gradient is ``A p - a``, p the softmax, a the smoothed
    weighted one-hot, A its row sum. Bad targets: ``IndexError`` (see ``target_out_of_bounds``).
    """
    code = check_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
    n, k = logits.shape
    keep = target != ignore_index
    bad = np.flatnonzero(keep & ((target < 0) | (target >= k)))
    if bad.size:
        raise target_out_of_bounds(target, int(bad[0]), k)
    a, denom = cross_entropy_coefficients(target, weight, ignore_index, label_smoothing, k, logits.dtype)
    logp = log_softmax(logits) if n else logits.copy()
    rows = -np.sum(a * logp, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored under 'mean': NaN, as PyTorch
        scale = 1 / denom if code == 1 else 1.0
        loss = rows if code == 0 else np.asarray(np.sum(rows, dtype=np.float64) * scale, logits.dtype)
        dlogits = None
        if need_grad:
            dlogits = ((np.exp(logp) * np.sum(a, axis=1, keepdims=True) - a) * logits.dtype.type(scale))
            dlogits[target == ignore_index] = 0  # not 0 * scale: 'mean' with all ignored has scale inf
    return loss.astype(logits.dtype, copy=False), dlogits

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

# The kernel vocabulary, one section per C file; c_kernels.__all__ is this list, and a test
# checks that every name is a callable in both modules.
__all__ = [
    "matmul",  # matmul.c
    "bmm",
    "linear",
    "linear_backward",

    # activations.c
    "relu", "relu_backward", "bias_relu", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh_backward",
    # softmax.c
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    # loss.c
    "cross_entropy",

    "sgd_step", "adam_step", "rmsprop_step", "adagrad_step",  # optim.c

    # conv.c
    "im2col",
    "col2im",
    "im2col_t",
    "col2im_t",
    "conv2d_forward",
    "conv2d_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
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

def _row_sum(a: np.ndarray) -> np.ndarray:
    """Sums over the last dimension, kept, accumulated in float64 and rounded back to a's dtype.

    As the C kernels (csrc/tg_vmath.h folds its partial sums into a double): NumPy sums a
    float32 row in float32, and along a strided axis (a transposed array) one element after
    another, so a row of 2**25 ones would stop counting at 2**24.
    """
    return np.sum(a, axis=-1, keepdims=True, dtype=np.float64).astype(a.dtype, copy=False)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last dimension (>= 1-D): ``exp(x - max) / sum(exp(x - max))``.

    NOTE: subtracting the row max changes nothing mathematically and keeps exp() from
    overflowing (logits of 1e4 would give inf / inf = NaN otherwise).
    """
    check_same("softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / _row_sum(e)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last dimension: ``x - max - log(sum(exp(x - max)))`` (stable, as softmax)."""
    check_same("log_softmax", x, min_ndim=1)
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(_row_sum(np.exp(shifted)))


def softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out * (grad - sum(grad * out))`` over the last dimension, ``out`` the softmax."""
    check_same("softmax_backward", grad, out, min_ndim=1)
    return out * (grad - _row_sum(grad * out))


def log_softmax_backward(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``grad - exp(out) * sum(grad)`` over the last dimension, ``out`` the log_softmax."""
    check_same("log_softmax_backward", grad, out, min_ndim=1)
    return grad - np.exp(out) * _row_sum(grad)


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
    a = np.zeros((n, k), dtype)
    if k == 0:  # no classes: every target is ignored (any other is out of bounds), D = 0
        return a, np.float64(0)
    w = np.ones(k, dtype) if weight is None else weight
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    a[np.arange(n), t] = (1 - label_smoothing) * w[t]
    a += (label_smoothing / k) * w
    a[~keep] = 0
    return a, np.sum(w[t] * keep, dtype=np.float64)  # np.float64: 1 / 0 is inf, not an exception


def _cross_entropy_rows(logp: np.ndarray, target: np.ndarray, keep: np.ndarray, weight: np.ndarray | None,
                        label_smoothing: float) -> np.ndarray:
    """``loss_i``, the target term and the smoothing term apart, as loss.c and PyTorch compute them.

    Not ``-sum_c a[i, c] logp[i, c]``: a logit of -inf has ``logp = -inf`` and ``a = 0`` when
    label_smoothing is 0, and ``0 * -inf`` is NaN where PyTorch gives a finite loss. The
    smoothing sum is accumulated in float64, as the C kernel's.
    """
    (n, k), eps = logp.shape, label_smoothing
    if k == 0:  # PyTorch: eps / 0 classes is inf, times an empty sum: NaN rows when smoothing
        return np.full(n, np.nan if eps != 0 else 0, logp.dtype)
    w = np.ones(k, logp.dtype) if weight is None else weight
    t = np.where(keep, target, 0)
    rows = (1 - eps) * w[t] * -logp[np.arange(n), t]
    if eps != 0:
        smooth = -np.sum(w * logp, axis=1, dtype=np.float64).astype(logp.dtype)
        rows = rows + logp.dtype.type(eps / k) * smooth
    rows[~keep] = 0
    return rows


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
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored under 'mean': NaN, as PyTorch
        rows = _cross_entropy_rows(logp, target, keep, weight, label_smoothing)
        scale = 1 / denom if code == 1 else 1.0
        total = np.nan if k == 0 and label_smoothing != 0 else np.sum(rows, dtype=np.float64)  # as rows
        loss = rows if code == 0 else np.asarray(total * scale, logits.dtype)
        dlogits = None
        if need_grad:
            dlogits = ((np.exp(logp) * np.sum(a, axis=1, keepdims=True) - a) * logits.dtype.type(scale))
            dlogits[target == ignore_index] = 0  # not 0 * scale: 'mean' with all ignored has scale inf
    return loss.astype(logits.dtype, copy=False), dlogits
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
# ---------------------------------------------------------------- optim (optim.c)
#
# One step of a torch.optim rule on one parameter, in place: `param` and the state buffers
# are overwritten, `grad` is only read. The arithmetic is PyTorch's single-tensor path, op
# for op; the NumPy twin writes through `out=` into one scratch array so a step allocates at
# most two temporaries whatever the rule. The C kernels fuse the same ops into one loop.


def check_optim(name: str, param: np.ndarray, grad: np.ndarray, *state: np.ndarray | None) -> None:
    """Validate the arrays of an optimizer kernel (``None`` state entries are skipped).

    ``param`` must be a writable float32/float64 ndarray; ``grad`` and every state buffer an
    ndarray of the same shape and dtype, the state buffers writable too. Errors: ``TypeError``
    for a non-array or a dtype mismatch, ``ValueError`` for a shape mismatch or a read-only
    array. (Non-contiguous arrays are accepted; the C wrapper copies them around the call.)
    """
    if not isinstance(param, np.ndarray) or not isinstance(grad, np.ndarray):
        raise TypeError(f"{name}: param and grad must be numpy.ndarray, got {type(param).__name__} "
                        f"and {type(grad).__name__}")
    dtype, shape = param.dtype, param.shape
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: param must be float32 or float64, got {dtype}")
    if not param.flags.writeable:
        raise ValueError(f"{name}: param is read-only; the update is written into it")
    if grad.dtype != dtype or grad.shape != shape:
        raise _optim_mismatch(name, "grad", grad, dtype, shape)
    for i, buf in enumerate(state):
        if buf is None:
            continue
        if not isinstance(buf, np.ndarray):
            raise TypeError(f"{name}: state buffer {i} must be numpy.ndarray or None, got {type(buf).__name__}")
        if buf.dtype != dtype or buf.shape != shape:
            raise _optim_mismatch(name, f"state buffer {i}", buf, dtype, shape)
        if not buf.flags.writeable:
            raise ValueError(f"{name}: state buffer {i} is read-only; it is updated in place")


def check_sgd(param: np.ndarray, grad: np.ndarray, momentum_buf: np.ndarray | None, momentum: float) -> None:
    """``check_optim`` for ``sgd_step``: the buffer is needed (and checked) only with momentum."""
    use_momentum = momentum != 0
    check_optim("sgd_step", param, grad, momentum_buf if use_momentum else None)
    if use_momentum and momentum_buf is None:
        raise ValueError("sgd_step: momentum != 0 needs a momentum_buf")


def check_adam(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
               max_exp_avg_sq: np.ndarray | None, step: float) -> None:
    """``check_optim`` for ``adam_step``, plus ``step >= 1`` (the bias corrections divide by 1 - beta**step)."""
    check_optim("adam_step", param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    if not step >= 1:
        raise ValueError(f"adam_step: step must be >= 1 (it counts this step too), got {step}")


def _optim_mismatch(name: str, what: str, arr: np.ndarray, dtype: np.dtype, shape: tuple) -> Exception:
    if arr.dtype != dtype:
        return TypeError(f"{name}: {what} has dtype {arr.dtype} but param has dtype {dtype}")
    return ValueError(f"{name}: {what} has shape {list(arr.shape)} but param has shape {list(shape)}")


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start.lerp_(end, weight)`` as PyTorch's CPU kernel: from the nearer end."""
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1.0 - weight
        np.subtract(end, tmp, out=start)


def _effective_grad(grad: np.ndarray, param: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """A fresh array ``(-grad if maximize else grad) + weight_decay * param`` (PyTorch's ``grad``)."""
    g = np.array(grad, order="C")  # a fresh array even when 0-d (a ufunc without out= gives a scalar)
    if maximize:
        np.negative(g, out=g)
    if weight_decay != 0:
        g += weight_decay * param
    return g


def sgd_step(param: np.ndarray, grad: np.ndarray, momentum_buf: np.ndarray | None, lr: float,
             momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
             first_step: bool) -> None:
    """torch.optim.SGD on one parameter: ``d = g + wd * p``; with momentum the buffer becomes
    ``d`` on the first step, else ``momentum * buf + (1 - dampening) * d``, and ``d`` becomes
    ``d + momentum * buf`` (nesterov) or ``buf``; then ``p -= lr * d``. ``momentum_buf`` is
    ignored (may be None) when ``momentum == 0``."""
    check_sgd(param, grad, momentum_buf, momentum)
    d = _effective_grad(grad, param, weight_decay, maximize)
    if momentum != 0:
        if first_step:
            np.copyto(momentum_buf, d)
        else:
            momentum_buf *= momentum
            momentum_buf += (1 - dampening) * d if dampening != 0 else d
        if nesterov:
            d += momentum * momentum_buf
        else:
            np.copyto(d, momentum_buf)
    d *= -lr
    param += d


def adam_step(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
              max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
              weight_decay: float, decoupled: bool, step: float, maximize: bool) -> None:
    """torch.optim.Adam (``decoupled=False``) / AdamW (``decoupled=True``) on one parameter at
    step ``step`` (>= 1, already incremented): ``m = lerp(m, g, 1 - beta1)``,
    ``v = beta2 * v + (1 - beta2) * g * g``, ``vmax = max(vmax, v)`` with amsgrad (pass
    ``max_exp_avg_sq``, else None), and ``p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)``
    with ``bc_i = 1 - beta_i ** step``."""
    check_adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step)
    if weight_decay != 0 and decoupled:
        param *= 1 - lr * weight_decay
    g = _effective_grad(grad, param, 0 if decoupled else weight_decay, maximize)
    tmp = np.empty_like(param)
    _lerp_(exp_avg, g, 1 - beta1, tmp)
    exp_avg_sq *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - beta2
    exp_avg_sq += tmp
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1 ** step)
    np.sqrt(v, out=tmp)
    tmp /= (1 - beta2 ** step) ** 0.5
    tmp += eps
    np.divide(exp_avg, tmp, out=tmp)
    tmp *= -step_size
    param += tmp


def rmsprop_step(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
                 momentum_buf: np.ndarray | None, lr: float, alpha: float, eps: float, weight_decay: float,
                 momentum: float, maximize: bool) -> None:
    """torch.optim.RMSprop on one parameter: ``s = alpha * s + (1 - alpha) * g * g``; centered
    (pass ``grad_avg``) ``a = lerp(a, g, 1 - alpha)`` and ``avg = sqrt(s - a * a) + eps``, else
    ``sqrt(s) + eps``; with momentum (pass ``momentum_buf``) ``b = momentum * b + g / avg`` and
    ``p -= lr * b``, else ``p -= lr * g / avg``."""
    check_optim("rmsprop_step", param, grad, square_avg, grad_avg, momentum_buf)
    g = _effective_grad(grad, param, weight_decay, maximize)
    avg = np.multiply(g, g, out=np.empty_like(g))
    avg *= 1 - alpha
    square_avg *= alpha
    square_avg += avg
    if grad_avg is not None:
        _lerp_(grad_avg, g, 1 - alpha, avg)
        np.multiply(grad_avg, grad_avg, out=avg)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        np.sqrt(square_avg, out=avg)
    avg += eps
    np.divide(g, avg, out=g)
    if momentum_buf is not None:
        momentum_buf *= momentum
        momentum_buf += g
        np.multiply(momentum_buf, -lr, out=g)
    else:
        g *= -lr
    param += g


def adagrad_step(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, clr: float, weight_decay: float,
                 eps: float, maximize: bool) -> None:
    """torch.optim.Adagrad on one parameter, with the decayed rate
    ``clr = lr / (1 + (step - 1) * lr_decay)`` given: ``sum += g * g``,
    ``p -= clr * g / (sqrt(sum) + eps)``."""
    check_optim("adagrad_step", param, grad, state_sum)
    g = _effective_grad(grad, param, weight_decay, maximize)
    std = np.multiply(g, g, out=np.empty_like(g))
    state_sum += std
    np.sqrt(state_sum, out=std)
    std += eps
    np.divide(g, std, out=g)
    g *= -clr
    param += g
# ---------------------------------------------------------------- conv.c
# A sliding window over the last two dims of an [N, C, H, W] array is described by five
# (height, width) pairs: kernel_size, stride, padding (top, left), dilation and out_size.
# The output size is an argument, not recomputed, so that callers may pad asymmetrically
# (padding="same" with an even kernel, ceil_mode): the bottom/right padding is whatever
# out_size needs. Positions outside the input read as 0 (im2col) or are skipped (pooling).

Pair = tuple[int, int]


def _pair_arg(kernel: str, name: str, value, minimum: int) -> Pair:
    """`value` as a (height, width) pair of Python ints, each >= minimum, else ValueError."""
    # NOTE: runs five times per kernel call, a few dozen calls per conv layer: no generators here.
    try:
        a, b = value
    except (TypeError, ValueError):
        a = b = None
    if type(a) is not int or type(b) is not int:  # bools are rejected too: type(True) is bool
        if not (isinstance(a, np.integer) and isinstance(b, np.integer)):
            raise ValueError(f"{kernel}: {name} must be a pair of ints, got {value!r}")
        a, b = int(a), int(b)
    if a < minimum or b < minimum:
        raise ValueError(f"{kernel}: {name} must be >= {minimum}, got {(a, b)}")
    return a, b


def _float_array(kernel: str, name: str, a, ndim: int) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{kernel}: expected {name} to be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{kernel}: expected {name} to be float32 or float64, got {a.dtype}")
    if a.ndim != ndim:
        raise RuntimeError(f"{kernel}: expected {name} to be {ndim}-D, got shape {a.shape}")
    return a


def check_window(kernel: str, kernel_size, stride, padding, dilation, out_size) -> tuple[Pair, ...]:
    """Validate the window pairs shared by every conv.c kernel; return them as int pairs."""
    return (_pair_arg(kernel, "kernel_size", kernel_size, 1), _pair_arg(kernel, "stride", stride, 1),
            _pair_arg(kernel, "padding", padding, 0), _pair_arg(kernel, "dilation", dilation, 1),
            _pair_arg(kernel, "out_size", out_size, 0))


def check_input_shape(kernel: str, input_shape) -> tuple[int, int, int, int]:
    if not (isinstance(input_shape, (tuple, list)) and len(input_shape) == 4
            and all(isinstance(v, (int, np.integer)) and v >= 0 for v in input_shape)):
        raise ValueError(f"{kernel}: input_shape must be 4 non-negative ints (N, C, H, W), got {input_shape!r}")
    return tuple(int(v) for v in input_shape)  # type: ignore[return-value]


def check_im2col(x: np.ndarray, *window, kernel: str = "im2col") -> tuple[Pair, ...]:
    """`x` is a float32/float64 [N, C, H, W] array; returns the checked window."""
    _float_array(kernel, "x", x, 4)
    return check_window(kernel, *window)


def check_max_pool2d_forward(x: np.ndarray, *window) -> tuple[Pair, ...]:
    """check_im2col, plus PyTorch's rule that only the batch may be empty (no window of an empty
    plane has a max); every window must also overlap the input, which the kernels check."""
    win = check_im2col(x, *window, kernel="max_pool2d_forward")
    if 0 in x.shape[1:]:
        raise RuntimeError("max_pool2d_forward: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{list(x.shape)}")
    return win


def check_col2im(cols: np.ndarray, input_shape, *window,
                 transposed: bool = False) -> tuple[tuple[int, int, int, int], tuple[Pair, ...]]:
    """`cols` must be [N*out_h*out_w, C*kh*kw] (transposed: [C*kh*kw, N*out_h*out_w]) for
    `input_shape` (N, C, H, W) and the window."""
    kernel = "col2im_t" if transposed else "col2im"
    _float_array(kernel, "cols", cols, 2)
    shape = check_input_shape(kernel, input_shape)
    win = check_window(kernel, *window)
    (kh, kw), (oh, ow) = win[0], win[4]
    expected = (shape[0] * oh * ow, shape[1] * kh * kw)
    expected = expected[::-1] if transposed else expected
    if cols.shape != expected:
        raise RuntimeError(f"{kernel}: expected cols of shape {expected} for input {shape}, kernel {win[0]} and "
                           f"output size {win[4]}, got {cols.shape}")
    return shape, win


def check_conv2d(kernel: str, x: np.ndarray, weight: np.ndarray, other: np.ndarray | None, *window,
                 grad: bool = False) -> tuple[Pair, ...]:
    """x [N, C, H, W] and weight [O, C, kh, kw] of one float dtype, and `other`: the bias [O] (or
    None) of the forward, or (grad=True) the output gradient [N, O, out_h, out_w]."""
    _float_array(kernel, "x", x, 4)
    _float_array(kernel, "weight", weight, 4)
    win = check_window(kernel, *window)
    name = "grad_out" if grad else "bias"
    if other is not None or grad:
        _float_array(kernel, name, other, 4 if grad else 1)
    if weight.dtype != x.dtype or (other is not None and other.dtype != x.dtype):
        raise TypeError(f"{kernel}: x, weight and {name} must have one dtype, got {x.dtype}, {weight.dtype}"
                        + ("" if other is None else f" and {other.dtype}"))
    o = weight.shape[0]
    expected = (x.shape[0], o) + win[4] if grad else (o,)
    if weight.shape[1:] != (x.shape[1],) + win[0] or (other is not None and other.shape != expected):
        raise RuntimeError(f"{kernel}: expected weight [O, {x.shape[1]}, {win[0][0]}, {win[0][1]}]"
                           + ("" if other is None else f" and {name} {expected}")
                           + f" for x {x.shape}, got weight {weight.shape}"
                           + ("" if other is None else f" and {name} {other.shape}"))
    return win


def check_max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray, input_shape) -> tuple[int, int, int, int]:
    """`grad_out` float [N, C, oh, ow], `indices` int64 of the same shape, input (N, C, H, W)."""
    _float_array("max_pool2d_backward", "grad_out", grad_out, 4)
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64:
        what = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise TypeError(f"max_pool2d_backward: expected indices to be an int64 numpy.ndarray, got {what}")
    shape = check_input_shape("max_pool2d_backward", input_shape)
    if indices.shape != grad_out.shape or grad_out.shape[:2] != shape[:2]:
        raise RuntimeError(f"max_pool2d_backward: grad_out {grad_out.shape} and indices {indices.shape} must have "
                           f"the same shape, with the batch and channels of the input {shape}")
    return shape


def _index_error(plane: int) -> IndexError:
    """The error of both backends for an index outside the H*W input plane."""
    return IndexError(f"max_pool2d_backward: an index is outside the input plane of {plane} elements")


def _windows(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair, out_size: Pair,
             fill: float) -> np.ndarray:
    """The [N, C, out_h, out_w, kh, kw] view of every window of `x`, padded with `fill`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel_size, stride, padding, dilation, out_size
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1  # the dilated kernel's extent
    # Pad so that every window of the out_size grid fits; crop rows the grid never reaches.
    need_h, need_w = (oh - 1) * sh + span_h, (ow - 1) * sw + span_w
    h, w = x.shape[2], x.shape[3]
    padded = np.full(x.shape[:2] + (max(need_h, ph + h), max(need_w, pw + w)), fill, x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    if oh == 0 or ow == 0:
        return np.zeros(x.shape[:2] + (oh, ow, kh, kw), x.dtype)
    win = np.lib.stride_tricks.sliding_window_view(padded[:, :, :need_h, :need_w], (span_h, span_w), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def im2col(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
           out_size: Pair) -> np.ndarray:
    """Unfold the windows of `x` [N, C, H, W] into rows: returns cols [N*out_h*out_w, C*kh*kw].

    Row (n, oy, ox) holds the window under output pixel (oy, ox) of image n, in the order
    (c, i, j) of `weight.reshape(O, C*kh*kw)`, so a convolution is one matrix product
    `cols @ weight2d.T`; zeros stand for the padding. PyTorch's `F.unfold` returns the
    transpose per image ([N, C*kh*kw, L]); rows = positions feeds our GEMM without copies.
    """
    win = check_im2col(x, kernel_size, stride, padding, dilation, out_size)
    (kh, kw), (oh, ow) = win[0], win[4]
    n, c = x.shape[:2]
    windows = _windows(x, *win, fill=0)  # [N, C, oh, ow, kh, kw]
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * kh * kw)


def col2im(cols: np.ndarray, input_shape, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
           out_size: Pair) -> np.ndarray:
    """The adjoint of im2col: add every row of `cols` back onto its window; returns [N, C, H, W].

    Overlapping windows accumulate; entries that fell on the padding are dropped. This is
    the input gradient of a convolution (PyTorch's `F.fold`, up to im2col's layout).
    """
    shape, win = check_col2im(cols, input_shape, kernel_size, stride, padding, dilation, out_size)
    (n, c, _, _), (kh, kw), (oh, ow) = shape, win[0], win[4]
    return _fold(cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2), shape, win)


def im2col_t(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
             out_size: Pair) -> np.ndarray:
    """im2col's transpose, cols_t [C*kh*kw, N*out_h*out_w]: one row per kernel tap.

    The layout a GEMM wants when the window is the reduction: the forward is `W2d @ cols_t`.
    """
    win = check_im2col(x, kernel_size, stride, padding, dilation, out_size, kernel="im2col_t")
    (kh, kw), (oh, ow) = win[0], win[4]
    n, c = x.shape[:2]
    windows = _windows(x, *win, fill=0)  # [N, C, oh, ow, kh, kw]
    return np.ascontiguousarray(windows.transpose(1, 4, 5, 0, 2, 3)).reshape(c * kh * kw, n * oh * ow)


def col2im_t(cols_t: np.ndarray, input_shape, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
             out_size: Pair) -> np.ndarray:
    """The adjoint of im2col_t: col2im of cols_t's transpose; returns [N, C, H, W]."""
    shape, win = check_col2im(cols_t, input_shape, kernel_size, stride, padding, dilation, out_size,
                              transposed=True)
    (n, c, _, _), (kh, kw), (oh, ow) = shape, win[0], win[4]
    return _fold(cols_t.reshape(c, kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5), shape, win)


def _fold(per_tap: np.ndarray, shape: tuple[int, int, int, int], win: tuple[Pair, ...]) -> np.ndarray:
    """Add per_tap [N, C, kh, kw, out_h, out_w] onto the windows of a zero [N, C, H, W]."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    if oh == 0 or ow == 0:  # no window: nothing to add (and the slices below would not be empty)
        return np.zeros(shape, per_tap.dtype)
    need_h, need_w = (oh - 1) * sh + dh * (kh - 1) + 1, (ow - 1) * sw + dw * (kw - 1) + 1
    padded = np.zeros((n, c, max(need_h, ph + h), max(need_w, pw + w)), per_tap.dtype)
    for i in range(kh):  # one strided slice per kernel tap: kh*kw vectorised adds
        for j in range(kw):
            padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += \
                per_tap[:, :, i, j]
    return np.ascontiguousarray(padded[:, :, ph:ph + h, pw:pw + w])


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, kernel_size: Pair, stride: Pair,
                   padding: Pair, dilation: Pair, out_size: Pair) -> np.ndarray:
    """PyTorch's conv2d (groups 1) of x [N, C, H, W] with weight [O, C, kh, kw] plus bias [O] (or
    None): out [N, O, out_h, out_w] = W2d [O, C*kh*kw] @ im2col_t(x), images first."""
    win = check_conv2d("conv2d_forward", x, weight, bias, kernel_size, stride, padding, dilation, out_size)
    n, o, (oh, ow) = x.shape[0], weight.shape[0], win[4]
    out_t = weight.reshape(o, x.shape[1] * win[0][0] * win[0][1]) @ im2col_t(x, *win)  # [O, N*P]
    out = np.ascontiguousarray(out_t.reshape(o, n, oh, ow).transpose(1, 0, 2, 3))
    return out if bias is None else out + bias[:, None, None]


def conv2d_backward(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray, kernel_size: Pair, stride: Pair,
                    padding: Pair, dilation: Pair, out_size: Pair, input_grad: bool, weight_grad: bool,
                    bias_grad: bool) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dweight, dbias) of conv2d_forward for grad_out [N, O, out_h, out_w]; None where not asked:

        dx = col2im_t(W2d^T @ g_t),  dweight = g_t @ im2col(x),  dbias = g_t summed over its rows
    with g_t = grad_out as [O, N*out_h*out_w].
    """
    win = check_conv2d("conv2d_backward", x, weight, grad_out, kernel_size, stride, padding, dilation, out_size,
                       grad=True)
    (n, c), o, (kh, kw), (oh, ow) = x.shape[:2], weight.shape[0], win[0], win[4]
    g_t = grad_out.transpose(1, 0, 2, 3).reshape(o, n * oh * ow)  # explicit sizes: any of them may be 0
    w2d = weight.reshape(o, c * kh * kw)
    dx = col2im_t(w2d.T @ g_t, x.shape, *win) if input_grad else None
    dw = (g_t @ im2col(x, *win)).reshape(weight.shape) if weight_grad else None
    db = g_t.sum(1) if bias_grad else None
    return dx, dw, db


def max_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                       out_size: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window of `x` [N, C, H, W]: (values, indices), both [N, C, out_h, out_w].

    indices are int64 positions in the flattened H*W plane (PyTorch's `return_indices`).
    As PyTorch's CPU kernel: the padding is never chosen (at least one input element lies in
    every window), ties go to the first element in row-major window order, and NaN wins
    (the last NaN of a window). Every window must overlap the input, else ValueError.
    """
    win = check_max_pool2d_forward(x, kernel_size, stride, padding, dilation, out_size)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = win
    h, w = x.shape[2], x.shape[3]
    windows = _windows(x, *win, fill=-np.inf).reshape(x.shape[:2] + (oh, ow, kh * kw))
    # Where each tap of each window lands in the input (row, col), to map taps to plane indices.
    rows = (np.arange(oh) * sh - ph)[:, None] + np.arange(kh) * dh  # [oh, kh]
    cols = (np.arange(ow) * sw - pw)[:, None] + np.arange(kw) * dw  # [ow, kw]
    inside = (((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[None, :, None, :])
    inside = inside.reshape(oh, ow, kh * kw)
    if oh and ow and not inside.any(-1).all():
        raise ValueError("max_pool2d_forward: a window lies entirely in the padding")
    values = windows.max(-1)
    tap = np.argmax((windows == values[..., None]) & inside, axis=-1)
    nan = np.isnan(windows)
    tap = np.where(nan.any(-1), kh * kw - 1 - np.argmax(nan[..., ::-1], axis=-1), tap)
    i, j = np.divmod(tap, kw)
    oy, ox = np.arange(oh)[:, None], np.arange(ow)
    indices = (oy * sh - ph + i * dh) * w + (ox * sw - pw + j * dw)
    return np.ascontiguousarray(values), indices.astype(np.int64)


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray, input_shape) -> np.ndarray:
    """Scatter-add `grad_out` [N, C, oh, ow] to the input positions `indices` chose: [N, C, H, W].

    Windows that overlap (stride < kernel) may pick the same element: their gradients add.
    An index outside [0, H*W) raises IndexError.
    """
    n, c, h, w = check_max_pool2d_backward(grad_out, indices, input_shape)
    if indices.size and (indices.min() < 0 or indices.max() >= h * w):
        raise _index_error(h * w)
    planes = np.arange(n * c, dtype=np.int64)[:, None] * (h * w)
    flat = (indices.reshape(n * c, indices.shape[2] * indices.shape[3]) + planes).ravel()
    # bincount sums in float64; the C kernel sums in the array's dtype (only overlapping windows differ).
    summed = np.bincount(flat, weights=grad_out.ravel(), minlength=n * c * h * w)
    return summed.astype(grad_out.dtype).reshape(n, c, h, w)

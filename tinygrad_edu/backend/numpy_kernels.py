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

    "sgd_step", "adam_step", "rmsprop_step", "adagrad_step",  # optim.c

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

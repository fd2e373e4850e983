"""The argument checks both backends share: same checks, same error texts, whichever kernel runs.

Every kernel of the NumPy twin (`backend/numpy/`) and every C binding (`backend/c/`) starts by
calling the `check_*` function of its name, so that the two backends fail with identical
messages; the C side never trusts its caller either (csrc/ checks sizes and NULLs again).
One section per C file, in the order of csrc/tinygrad_edu.h.
"""
from __future__ import annotations

import numpy as np

# dtypes the kernels accept; the C library has one function per entry.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------- matmul.c

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
    if x.ndim != 2 or w.ndim != 2:  # (tested first: _check_ndim's dict costs ~0.5 us a call)
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


def check_linear_backward(grad: np.ndarray, x: np.ndarray | None, w: np.ndarray | None, need_dx: bool = True,
                          need_dw: bool = True) -> tuple[int, int, int]:
    """Validate ``linear_backward``'s operands and return ``(batch, in_features, out_features)``.

    ``x`` may be None when ``dw`` is not wanted and ``w`` when ``dx`` is not: only that gradient reads it
    (Addmm keeps ``x`` only for ``dW``, PyTorch's choice). With both None, ``in_features`` is 0."""
    if (x is None and need_dw) or (w is None and need_dx):
        raise TypeError(f"linear_backward: dw needs x and dx needs w; got x {'None' if x is None else 'given'}, "
                        f"w {'None' if w is None else 'given'}, need_dx={need_dx}, need_dw={need_dw}")
    _check_arrays("linear_backward", grad, *([arr for arr in (x, w) if arr is not None] or [grad]))
    given = {name: arr for name, arr in (("grad", grad), ("x", x), ("w", w)) if arr is not None}
    if any(arr.ndim != 2 for arr in given.values()):
        _check_ndim("linear_backward", 2, given)
    batch, fan_out = grad.shape
    fan_in = x.shape[1] if x is not None else w.shape[1] if w is not None else 0
    if (x is not None and x.shape != (batch, fan_in)) or (w is not None and w.shape != (fan_out, fan_in)):
        got = ", ".join(f"{name} {arr.shape}" for name, arr in given.items())
        raise RuntimeError(f"linear_backward: shapes do not fit y = x @ w.T: {got} (expected x of shape "
                           f"({batch}, {fan_in}) and w of shape ({fan_out}, {fan_in}))")
    return batch, fan_in, fan_out


# ---------------------------------------------------------------- activations.c, softmax.c

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



# ---------------------------------------------------------------- optim.c

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


def pool_index_error(plane: int) -> IndexError:
    """The error of both backends for an index outside the H*W input plane."""
    return IndexError(f"max_pool2d_backward: an index is outside the input plane of {plane} elements")


# ---------------------------------------------------------------- rnn.c

# each rnn.c kernel's array arguments: how many are [n, gates * hidden] (the first ones), and
# their names (for the errors); the others are [n, hidden]
RNN_CELL_ARGS = {"lstm_cell": (4, 2, ("xp", "hh", "c_prev")),
                 "lstm_cell_backward": (4, 1, ("gates", "c_prev", "c", "grad_h", "grad_c")),
                 "gru_cell": (3, 2, ("xp", "hh", "h_prev")),
                 "gru_cell_backward": (3, 2, ("gates", "hh", "h_prev", "grad_h"))}


def check_rnn_cell(name: str, *arrays: np.ndarray) -> tuple[int, int]:
    """The arrays of one LSTM/GRU step (see ``RNN_CELL_ARGS``): 2-D ndarrays of one float32/float64
    dtype, ``[n, gates * hidden]`` or ``[n, hidden]``; returns ``(n, hidden)``.

    PERF: runs 2 x 28 times a step of the MNIST LSTM: the common case is one pass, no dicts."""
    gates, wide, names = RNN_CELL_ARGS[name]
    last = arrays[-1]
    if type(last) is np.ndarray and last.ndim == 2 and last.dtype in FLOAT_DTYPES:
        narrow = last.shape
        wide_shape, dtype = (narrow[0], gates * narrow[1]), last.dtype
        for k, a in enumerate(arrays):
            if type(a) is not np.ndarray or a.dtype != dtype or a.shape != (wide_shape if k < wide else narrow):
                break
        else:
            return narrow
    return _check_rnn_cell_slowly(name, gates, wide, dict(zip(names, arrays)))


def _check_rnn_cell_slowly(name: str, gates: int, wide: int, arrays: dict) -> tuple[int, int]:
    """``check_rnn_cell`` for anything unusual (ndarray subclasses too): the error, or ``(n, hidden)``."""
    if not all(isinstance(a, np.ndarray) for a in arrays.values()):
        raise TypeError(f"{name}: expected numpy.ndarray arguments, got "
                        + ", ".join(type(a).__name__ for a in arrays.values()))
    dtype = arrays[next(iter(arrays))].dtype
    if dtype not in FLOAT_DTYPES or any(a.dtype != dtype for a in arrays.values()):
        raise TypeError(f"{name}: expected float32 or float64 arrays of one dtype, got "
                        + " and ".join(str(a.dtype) for a in arrays.values()))
    _check_ndim(name, 2, arrays)
    keys = list(arrays)
    n, hidden = arrays[keys[-1]].shape
    if all(a.shape == ((n, gates * hidden) if k < wide else (n, hidden)) for k, a in enumerate(arrays.values())):
        return n, hidden
    raise RuntimeError(f"{name}: expected " + ", ".join(keys[:wide]) + f" of shape [n, {gates} * hidden] and "
                       + ", ".join(keys[wide:]) + " of shape [n, hidden], got "
                       + ", ".join(f"{key} {a.shape}" for key, a in arrays.items()))

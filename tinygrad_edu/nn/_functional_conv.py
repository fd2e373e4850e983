"""nn.functional's conv2d and max_pool2d: PyTorch's argument checks and messages, then one op.

The checks build a `Window` (kernel, stride, padding, dilation, output size) that the ops in
ops/conv.py and ops/pool.py trust. (A file apart from functional.py only for its size.)
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..ops.conv import Window
from ..tensor import Tensor


def _pair(value, name: str, message: str) -> tuple[int, int]:
    """An int or a sequence of 1 or 2 ints as an (h, w) pair; else RuntimeError(message)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return (int(value[0]),) * 2 if len(value) == 1 else (int(value[0]), int(value[1]))
    raise RuntimeError(message.format(name=name, value=list(value) if isinstance(value, tuple) else value))


def _check_float_tensor(fn: str, name: str, t) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if t.dtype.name not in ("float32", "float64"):
        # Where we differ: PyTorch also convolves and pools integer and half tensors on CPU.
        raise RuntimeError(f"{fn}: expected a float32 or float64 {name}, got {t.dtype}")


_CONV_PAIR = ("expected {name} to be a single integer value or a list of 2 values to match the convolution "
              "dimensions, but got {name}={value}")


def _conv_padding(padding, stride: tuple, span: tuple) -> tuple[tuple[int, int], tuple[int, int]]:
    """(top/left padding, total padding per dim) from an int, a pair, 'valid' or 'same'."""
    if not isinstance(padding, str):
        pad = _pair(padding, "padding", _CONV_PAIR)
        if min(pad) < 0:
            raise RuntimeError("negative padding is not supported")
        return pad, (2 * pad[0], 2 * pad[1])
    if padding == "valid":
        total = (0, 0)
    elif padding == "same":
        if stride != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = (span[0] - 1, span[1] - 1)
    else:
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    return (total[0] // 2, total[1] // 2), total


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of input [N, C, H, W] (or [C, H, W]) with weight [O, C, kh, kw], plus bias [O].

    As torch.nn.functional.conv2d: out size floor((H + 2 pad - dil (kh - 1) - 1) / stride) + 1;
    padding an int, a pair, 'valid' (0) or 'same' (output size = input size; an odd total
    padding puts the extra row/column at the bottom/right, as PyTorch; stride must be 1).
    Where we differ: groups must be 1 (NotImplementedError), and only float32/float64.
    """
    _check_float_tensor("conv2d", "input", input)
    _check_float_tensor("conv2d", "weight", weight)
    if groups != 1:
        raise NotImplementedError(f"conv2d: groups={groups} is not supported, only groups=1")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
                           f"{list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d: expected weight to be 4-D [out_channels, in_channels, kH, kW], but got weight "
                           f"of size {list(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({input.type()}) and weight type ({weight.type()}) should be the same")
    o = weight.shape[0]
    if bias is not None:
        _check_float_tensor("conv2d", "bias", bias)
        if bias.ndim != 1 or bias.shape[0] != o:
            raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                               f"{o} elements, but got bias of size {list(bias.shape)} instead")
        if bias.dtype != input.dtype:
            c_name = {"float32": "float", "float64": "double"}  # PyTorch names the C types here
            raise RuntimeError(f"Input type ({c_name[input.dtype.name]}) and bias type ({c_name[bias.dtype.name]}) "
                               "should be the same")
    stride, dilation = _pair(stride, "stride", _CONV_PAIR), _pair(dilation, "dilation", _CONV_PAIR)
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("non-positive dilation is not supported")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    kernel = weight.shape[2], weight.shape[3]
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))  # the dilated kernel's extent
    pad, total = _conv_padding(padding, stride, span)
    if c != weight.shape[1]:
        raise RuntimeError(f"Given groups=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
                           f"to have {weight.shape[1]} channels, but got {c} channels instead")
    padded = (h + total[0], w + total[1])
    if padded[0] < span[0] or padded[1] < span[1]:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x {padded[1]}). Kernel size: "
                           f"({span[0]} x {span[1]}). Kernel size can't be greater than actual input size")
    out = tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))
    result = ops.Conv2d.apply(x, weight, bias, Window(kernel, stride, pad, dilation, out))
    return result if input.ndim == 4 else result.squeeze(0)


def _pool_out(size: int, kernel: int, pad: int, stride: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape, with its argument checks, for one dimension."""
    if stride == 0:
        raise RuntimeError("stride should not be zero")
    if pad < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
    if pad > ((kernel - 1) * dilation + 1) // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pad}, "
                           f"kernel_size={kernel} and dilation={dilation}")
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:  # the last window must start inside the input
        out -= 1
    return out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each kernel_size window of input [N, C, H, W] (or [C, H, W]), as torch's max_pool2d.

    stride defaults to kernel_size; padding is implicit -inf (at most half the dilated kernel);
    ceil_mode rounds the output size up (the last window still starts inside the input).
    With return_indices, also the int64 flat index in H*W of each max (for max_unpool2d).
    Where we differ: only float32/float64.
    """
    _check_float_tensor("max_pool2d", "input", input)
    kernel = _pair(kernel_size, "kernel_size", "max_pool2d: kernel_size must either be a single int, or a tuple "
                                               "of two ints")
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        _pair(stride, "stride", "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints")
    pad = _pair(padding, "padding", "max_pool2d: padding must either be a single int, or a tuple of two ints")
    dilation = _pair(dilation, "dilation", "max_pool2d: dilation must be either a single int, or a tuple of two ints")
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    h, w = input.shape[-2:]
    out = tuple(_pool_out(*args, ceil_mode) for args in zip((h, w), kernel, pad, stride, dilation))
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}")
    if min(stride) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} dW: {stride[1]}")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dilation[0]} "
                           f"dilationW: {dilation[1]}")
    if 0 in input.shape[-3:]:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{list(input.shape)}")
    if pad[1] > kernel[1] // 2 or pad[0] > kernel[0] // 2:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {pad[1]}, "
                           f"padH = {pad[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    if min(out) < 1:
        c = input.shape[-3]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out[0]}x{out[1]}). "
                           "Output size is too small")
    try:
        values, indices = ops.MaxPool2d.apply(input, Window(kernel, stride, pad, dilation, out))
    except ValueError as e:  # a dilated window that skips over the whole input
        # Where we differ: PyTorch returns -inf there, with an index outside the window.
        raise RuntimeError(f"max_pool2d: a pooling window lies entirely in the padding (input {h}x{w}, kernel_size "
                           f"{kernel}, padding {pad}, dilation {dilation}); use less padding or dilation") from e
    return (values, indices) if return_indices else values

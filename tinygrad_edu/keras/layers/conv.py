"""Conv2D and MaxPooling2D on channels-last shapes, run as our NCHW conv2d / max_pool2d."""
from __future__ import annotations

import math

import numpy as np

from ... import nn
from ... import creation
from ...tensor import Tensor, cat
from .. import activations, initializers
from .base import Layer

# Keras's Conv2D kernel is [kh, kw, in, out]; our nn.Conv2d weight is [out, in, kh, kw].
_KERNEL_TO_KERAS = dict(to_keras=lambda w: w.transpose(2, 3, 1, 0), from_keras=lambda w: w.transpose(3, 2, 0, 1))


def _pair(value, what: str) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f"The `{what}` argument must be a tuple of 2 positive integers. Received: {what}={value}")
    return int(pair[0]), int(pair[1])


def _check_padding(padding: str) -> str:
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={padding}")
    return padding


def output_length(size, kernel: int, stride: int, padding: str, dilation: int = 1):
    """Keras's conv_output_length: 'valid' floor((n - d(k-1) - 1)/s) + 1, 'same' ceil(n / s)."""
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis: (before, after), the odd pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _zeros_along(x: Tensor, dim: int, size: int) -> Tensor:
    shape = list(x.shape)
    shape[dim] = size
    return creation.zeros(*shape, dtype=x.dtype)


def zero_pad(x: Tensor, pads: list[tuple[int, int]]) -> Tensor:
    """NCHW x with (before, after) zero rows, then columns, added by concatenation (differentiable)."""
    for dim, (before, after) in zip((2, 3), pads):
        parts = ([_zeros_along(x, dim, before)] if before else []) + [x] + \
                ([_zeros_along(x, dim, after)] if after else [])
        x = cat(parts, dim) if len(parts) > 1 else x
    return x


class Conv2D(Layer):
    """2-D convolution on [N, H, W, C] images: activation(conv(x, kernel) + bias), an nn.Conv2d inside.

    Keras's defaults: strides 1, padding 'valid', kernel glorot_uniform, bias zeros.
    padding='same' pads as TensorFlow, the odd row or column after: where that is uneven
    (strides > 1), the zeros are concatenated before an unpadded convolution.
    Where we differ: data_format must be channels_last and groups 1.
    """

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid", data_format=None,
                 dilation_rate=(1, 1), groups: int = 1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last") or groups != 1:
            raise NotImplementedError("Conv2D: only data_format='channels_last' and groups=1 are supported")
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        self.filters, self.use_bias = int(filters), use_bias
        self.kernel_size, self.strides = _pair(kernel_size, "kernel_size"), _pair(strides, "strides")
        self.uneven_pads = None
        self.dilation_rate, self.padding = _pair(dilation_rate, "dilation_rate"), _check_padding(padding)
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def _torch_padding(self, input_shape: tuple):
        """Our conv2d's padding argument; sets self.uneven_pads where zeros must be added first."""
        self.uneven_pads = None
        if self.padding == "valid":
            return 0
        if self.strides == (1, 1):
            return "same"  # our conv2d pads as TensorFlow does (the odd pixel after) at stride 1
        pads = [same_padding(n, k, s, d) for n, k, s, d in
                zip(input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate)]
        if any(before != after for before, after in pads):
            self.uneven_pads = pads
            return 0
        return tuple(before for before, _ in pads)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 4:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=4, '
                             f"found ndim={len(input_shape)}. Full shape received: {tuple(input_shape)}")
        if input_shape[-1] is None:
            raise ValueError(f"Conv2D '{self.name}': the channel axis of the input must be known, got {input_shape}")
        self.module = nn.Conv2d(input_shape[-1], self.filters, self.kernel_size, stride=self.strides,
                                padding=self._torch_padding(input_shape), dilation=self.dilation_rate,
                                bias=self.use_bias)
        self.kernel_initializer(self.module.weight)
        self.add_weight("kernel", self.module.weight, **_KERNEL_TO_KERAS)
        if self.use_bias:
            self.bias_initializer(self.module.bias)
            self.add_weight("bias", self.module.bias)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        h, w = (output_length(n, k, s, self.padding, d) for n, k, s, d in
                zip(input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate))
        if (h is not None and h <= 0) or (w is not None and w <= 0):
            raise ValueError(f"Computed output size would be negative. Received `inputs shape={input_shape}`, "
                             f"`kernel shape={(*self.kernel_size, input_shape[-1], self.filters)}`, "
                             f"`dilation_rate={self.dilation_rate}`.")
        return (input_shape[0], h, w, self.filters)

    def pre_activation(self, x: Tensor) -> Tensor:
        return self.module(x if self.uneven_pads is None else zero_pad(x, self.uneven_pads))

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return self.activation(self.pre_activation(x))

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "dilation_rate": self.dilation_rate,
                "activation": activations.name_of(self.activation), "use_bias": self.use_bias}


class MaxPooling2D(Layer):
    """The max over each pool_size window of [N, H, W, C]; strides default to pool_size.

    padding='same' pads as TensorFlow (the odd pixel after): we run it as ceil_mode, which is the
    same wherever nothing is padded before (pool_size == strides, the usual case); other cases
    raise NotImplementedError."""

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("MaxPooling2D: only data_format='channels_last' is supported")
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        self.padding = _check_padding(padding)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 4:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected ndim=4, '
                             f"found ndim={len(input_shape)}. Full shape received: {tuple(input_shape)}")
        if self.padding == "same":
            for n, k, s in zip(input_shape[1:3], self.pool_size, self.strides):
                before, _ = same_padding(n, k, s)
                if before or (n - k + s - 1) // s + 1 != math.ceil(n / s):
                    raise NotImplementedError(f"MaxPooling2D '{self.name}': padding='same' with pool_size "
                                              f"{self.pool_size}, strides {self.strides} on {input_shape}")
        self.module = nn.MaxPool2d(self.pool_size, self.strides, ceil_mode=self.padding == "same")
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        h, w = (output_length(n, k, s, self.padding) for n, k, s in
                zip(input_shape[1:3], self.pool_size, self.strides))
        return (input_shape[0], h, w, input_shape[3])

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return self.module(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}

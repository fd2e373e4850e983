"""The core layers: Input, Dense, Activation, Dropout, Flatten (keras.layers)."""
from __future__ import annotations

import numpy as np

from ... import nn
from ...tensor import Tensor
from .. import activations, initializers
from .base import Layer


class KerasTensor:
    """What `keras.Input(shape=(8,))` returns: a symbolic input, shape (None, 8). Passed first to
    `Sequential([...])` it fixes the model's input shape, so the model is built at once."""

    def __init__(self, shape: tuple, name: str | None = None):
        self.shape, self.dtype, self.name = tuple(shape), "float32", name

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype=float32, sparse=False, name={self.name}>"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None):
    """keras.Input: the input of a model, `shape` without the batch axis."""
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if shape is None:
        raise ValueError("You must pass a `shape` argument.")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype not in (None, "float32") or sparse or tensor is not None:
        raise NotImplementedError("keras.Input: only dense float32 inputs are supported (dtype, sparse, tensor)")
    return KerasTensor((batch_size, *shape), name=name or "keras_tensor")


class InputLayer(Layer):
    """keras.layers.InputLayer(shape=...): the same as `Input(shape)` as the first layer."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, **kwargs):
        super().__init__(name=name, input_shape=shape, dtype=dtype, **kwargs)


class Dense(Layer):
    """output = activation(x @ kernel + bias), kernel [in, units]: an nn.Linear inside.

    Keras's defaults: kernel glorot_uniform, bias zeros (PyTorch's Linear: kaiming_uniform(a=sqrt 5)
    for both). `input_shape=(n,)` or `input_dim=n` on the first layer gives the model its input.
    Our nn.Linear stores the kernel transposed, [units, in]: get_weights shows Keras's [in, units].
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_dim: int | None = None, **kwargs):
        if input_dim is not None:
            kwargs.setdefault("input_shape", (input_dim,))
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive integer. Received: "
                             f"units={units}")
        self.units, self.use_bias = int(units), use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense layer '{self.name}' needs a known last axis; got input shape {input_shape}")
        if len(input_shape) == 4:
            raise NotImplementedError(f"Dense layer '{self.name}' on a 4-D input {input_shape}: add Flatten() first")
        self.module = nn.Linear(input_shape[-1], self.units, bias=self.use_bias)
        self.kernel_initializer(self.module.weight)
        self.add_weight("kernel", self.module.weight, to_keras=np.transpose, from_keras=np.transpose)
        if self.use_bias:
            self.bias_initializer(self.module.bias)
            self.add_weight("bias", self.module.bias)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def pre_activation(self, x: Tensor) -> Tensor:
        return self.module(x)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return self.activation(self.module(x))

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "activation": activations.name_of(self.activation),
                "use_bias": self.use_bias}


class Activation(Layer):
    """Applies an activation by name ('relu', 'softmax', ...) or a function of a Tensor."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def pre_activation(self, x: Tensor) -> Tensor:
        return x

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return self.activation(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.name_of(self.activation)}


class Dropout(Layer):
    """Zeroes each input with probability `rate` in training (scaling the rest by 1/(1-rate))."""

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(noise_shape=noise_shape, **kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.seed = float(rate), seed
        self.module = nn.Dropout(self.rate)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return nn.functional.dropout(x, self.rate, training) if training and self.rate > 0 else x

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


class Flatten(Layer):
    """[N, d1, d2, ...] -> [N, d1 * d2 * ...], in Keras's channels-last order.

    Our 4-D activations are NCHW, so they are put back in NHWC order first: then a Dense after
    Flatten has the kernel rows Keras has, and weights move between the two (one small copy)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("Flatten: only data_format='channels_last' is supported")

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else int(np.prod(rest, dtype=np.int64)))

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)

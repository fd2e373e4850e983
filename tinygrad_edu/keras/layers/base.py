"""`Layer`: what every Keras layer shares, built on one of our nn modules.

A Keras layer is created without knowing its input size (`Dense(5)`) and builds its weights on
first sight of an input shape (`build`). Our layers do the same, then hold an ordinary
`tinygrad_edu.nn` module (`self.module`, e.g. an `nn.Linear`) whose Parameters are what the
optimizer updates. `Variable` shows each Parameter in Keras's layout (Dense kernel [in, out],
Conv2D kernel [kh, kw, in, out]) for `weights`, `get_weights` and `set_weights`.

Layout: Keras images are channels-last [N, H, W, C]; our convolutions are NCHW. A Sequential
model converts its 4-D input to NCHW once, every layer works in NCHW (`call`), and 4-D results
are converted back; shapes shown to the user (`compute_output_shape`, summary) are Keras's.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Callable

import numpy as np

from ... import autograd
from ...tensor import Tensor, from_numpy

_KERAS_ARGS_NOT_SUPPORTED = {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                             "bias_constraint", "lora_rank", "beta_regularizer", "gamma_regularizer",
                             "beta_constraint", "gamma_constraint", "noise_shape", "synchronized", "batch_size"}
_NAME_COUNTS: Counter = Counter()  # Keras names layers dense, dense_1, dense_2... per session


def unique_name(base: str) -> str:
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def snake_case(name: str) -> str:
    """Keras's to_snake_case: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def to_internal(x: Tensor) -> Tensor:
    """Keras's channels-last [N, H, W, C] as our NCHW (other ranks are the same in both)."""
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


def to_keras(x: Tensor) -> Tensor:
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x


def as_float_tensor(x, what: str = "x") -> Tensor:
    """NumPy arrays, lists and our Tensors, as a float32 Tensor (Keras casts inputs to float32)."""
    if isinstance(x, Tensor):
        return x.detach().float()
    try:
        array = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be a NumPy array, a list of numbers or a Tensor, got "
                        f"{type(x).__name__} ({e})") from None
    return from_numpy(np.ascontiguousarray(array))


class Variable:
    """A layer weight as Keras shows it (keras.Variable): `path` "dense/kernel", `shape` in
    Keras's layout, `numpy()` and `assign(value)`. `value` is our Parameter (or buffer)."""

    def __init__(self, layer: Layer, name: str, value: Tensor, trainable: bool = True,
                 to_keras: Callable[[np.ndarray], np.ndarray] = lambda a: a,
                 from_keras: Callable[[np.ndarray], np.ndarray] = lambda a: a):
        self.layer, self.name, self.value, self._trainable = layer, name, value, trainable
        self._to_keras, self._from_keras = to_keras, from_keras

    @property
    def trainable(self) -> bool:
        """False for statistics (BatchNormalization's moving mean) and in a frozen layer."""
        return self._trainable and self.layer.trainable

    @property
    def path(self) -> str:
        return f"{self.layer.name}/{self.name}"

    @property
    def shape(self) -> tuple:
        return tuple(self._to_keras(np.empty(tuple(self.value.shape), np.float32)).shape)

    @property
    def dtype(self) -> str:
        return "float32"

    def numpy(self) -> np.ndarray:
        return np.array(self._to_keras(self.value.detach().numpy()), dtype=np.float32)

    def assign(self, value) -> None:
        array = np.asarray(value.detach().numpy() if isinstance(value, Tensor) else value, dtype=np.float32)
        if array.shape != self.shape:
            raise ValueError(f"Layer {self.layer.name} weight shape {self.shape} is not compatible with provided "
                             f"weight shape {array.shape}.")
        with autograd.no_grad():  # written in place, so the optimizer keeps updating the same Parameter
            np.copyto(self.value.detach().numpy(), self._from_keras(array))

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype=float32>"


class Layer:
    """The base of every layer: name, build-on-first-shape, weights in Keras's layout.

    Subclasses define `build(input_shape)` (create `self.module` and its Variables with
    `add_weight`), `compute_output_shape(input_shape)` and `call(x, training)` on our layout.
    Shapes include the batch axis as None, as Keras prints them: (None, 28, 28, 1).
    """

    def __init__(self, *, name: str | None = None, input_shape=None, trainable: bool = True, dtype=None,
                 **kwargs):
        unsupported = sorted(k for k in kwargs if k in _KERAS_ARGS_NOT_SUPPORTED and kwargs[k] is not None)
        if unsupported:
            raise NotImplementedError(f"{type(self).__name__}: {', '.join(unsupported)} is a Keras argument that "
                                      "tinygrad_edu.keras does not support")
        kwargs = {k: v for k, v in kwargs.items() if k not in _KERAS_ARGS_NOT_SUPPORTED}
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if dtype not in (None, "float32"):
            raise NotImplementedError(f"{type(self).__name__}: dtype={dtype!r}: only float32 layers are supported")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.declared_input_shape = None if input_shape is None else (None, *tuple(input_shape))
        self.trainable, self.built, self.module = trainable, False, None
        self.input_shape = self.output_shape = None
        self._variables: list[Variable] = []

    # ------------------------------------------------------------ to define in subclasses
    def build(self, input_shape: tuple) -> None:
        self.input_shape, self.built = tuple(input_shape), True
        self.output_shape = self.compute_output_shape(self.input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    # ------------------------------------------------------------ shared
    def check_input_shape(self, shape: tuple, index: int = 0) -> None:
        """Keras's InputSpec check: rank, and every non-batch axis the layer was built for."""
        expected = self.input_shape
        if expected is None:
            return
        if len(shape) != len(expected):
            hint = ""
            if len(shape) == 3 and len(expected) == 4:  # images without their channel axis
                hint = f" (add the channel axis: x.reshape(-1, {shape[1]}, {shape[2]}, {expected[3]}))"
            raise ValueError(f'Input {index} of layer "{self.name}" is incompatible with the layer: expected '
                             f"ndim={len(expected)}, found ndim={len(shape)}. Full shape received: "
                             f"{tuple(shape)}{hint}")
        for axis in range(1, len(shape)):
            if expected[axis] is not None and shape[axis] != expected[axis]:
                raise ValueError(f'Input {index} of layer "{self.name}" is incompatible with the layer: expected '
                                 f"axis {axis - len(shape)} of input shape to have value {expected[axis]}, "
                                 f"but received input with shape {tuple(shape)} (the layer takes {expected})")

    def add_weight(self, name: str, value: Tensor, trainable: bool = True, **layout) -> Variable:
        variable = Variable(self, name, value, trainable, **layout)
        self._variables.append(variable)
        return variable

    @property
    def weights(self) -> list[Variable]:
        return list(self._variables)

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if not v.trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights) -> None:
        if len(weights) != len(self._variables):
            raise ValueError(f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of "
                             f"length {len(weights)}, but the layer was expecting {len(self._variables)} weights.")
        for variable, value in zip(self._variables, weights):
            variable.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                             "You can build it manually via: `layer.build(batch_input_shape)`.")
        return int(sum(np.prod(v.shape, dtype=np.int64) for v in self._variables))

    def train(self, mode: bool = True) -> None:
        """Our modules' train/eval switch (Keras passes `training=` instead; we pass both)."""
        if self.module is not None:
            self.module.train(mode)

    def __call__(self, x, training: bool = False) -> Tensor:
        """Apply the layer alone, Keras-style: a NumPy array or Tensor in Keras's layout in and out."""
        x = as_float_tensor(x)
        if not self.built:
            self.build((None, *tuple(x.shape)[1:]))
        self.check_input_shape(tuple(x.shape))
        return to_keras(self.call(to_internal(x), training))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

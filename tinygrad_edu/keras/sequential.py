"""`Sequential`: a stack of layers, each feeding the next (keras.Sequential).

The structure lives here (add, build, call, weights, summary, save); the training methods
(compile, fit, evaluate, predict) in training.py, which `Sequential` inherits.
"""
from __future__ import annotations

import numpy as np

from .. import serialization
from ..tensor import Tensor, from_numpy
from . import activations, layers as layers_module
from .layers.base import Layer, Variable, as_float_tensor, to_internal, to_keras, unique_name
from .layers.core import InputLayer, KerasTensor
from .summary import summary_lines
from .training import Trainer

_FUSABLE = {activations.ACTIVATIONS["softmax"]: "softmax", activations.ACTIVATIONS["sigmoid"]: "sigmoid"}


class Sequential(Trainer):
    """`Sequential([Input(shape=(8,)), Dense(5, activation="relu"), Dense(1)])`, or `add` layer by layer.

    The model is built (every layer's weights created) as soon as the input shape is known:
    from `Input(shape=...)`, from the first layer's `input_shape=`/`input_dim=`, or else from the
    first data given to fit/predict/evaluate.
    """

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        super().__init__()
        self.name, self.trainable = name or unique_name("sequential"), trainable
        self._layers: list[Layer] = []
        self.input_shape, self.built = None, False
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------ structure
    def add(self, layer) -> None:
        if isinstance(layer, (KerasTensor, InputLayer)):
            if self._layers:
                raise ValueError("An Input can only be the first layer of a Sequential model.")
            self.input_shape = layer.shape if isinstance(layer, KerasTensor) else layer.declared_input_shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Only instances of `keras.Layer` can be added to a Sequential model. Received: {layer!r} "
                            f"(of type {type(layer)})")
        if any(other.name == layer.name for other in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name '{layer.name}' "
                             "is already the name of a layer in this model. Update the `name` argument to pass a "
                             "unique name.")
        if not self._layers and self.input_shape is None:
            self.input_shape = layer.declared_input_shape
        self._layers.append(layer)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def pop(self) -> Layer:
        layer = self._layers.pop()
        self.build(self.input_shape) if self.input_shape is not None else None
        return layer

    def build(self, input_shape) -> None:
        """Create each layer's weights, passing the shapes down the stack: (None, 28, 28, 1) -> ..."""
        shape = (None, *tuple(input_shape)[1:])
        self.input_shape = shape
        for layer in self._layers:
            if layer.built:
                layer.check_input_shape(shape)
            else:
                layer.build(shape)
            shape = layer.output_shape
        self.built = bool(self._layers)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def output_shape(self):
        return self._layers[-1].output_shape if self.built else None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self._layers]}.")

    # ------------------------------------------------------------ running it
    def call(self, x: Tensor, training: bool = False, logits: bool = False) -> Tensor:
        """The forward pass in our layout (NCHW images). logits=True stops before the last
        layer's activation (for the fused losses: see losses.py)."""
        last = len(self._layers) - 1
        for i, layer in enumerate(self._layers):
            x = layer.pre_activation(x) if logits and i == last else layer.call(x, training)
        return x

    def __call__(self, x, training: bool = False) -> Tensor:
        """`model(x)`: a NumPy array or Tensor in Keras's layout in, a Tensor out."""
        x = as_float_tensor(x)
        self.check_input(tuple(x.shape))
        return to_keras(self.call(to_internal(x), training))

    def check_input(self, shape: tuple) -> None:
        """Build from the first data seen, else check it against the first layer (Keras's message)."""
        if not self._layers:
            raise ValueError("The model has no layers: add some with model.add(...) first.")
        if not self.built:
            self.build((None, *shape[1:]))
        self._layers[0].check_input_shape(shape)

    def fused_activation(self) -> str | None:
        """'softmax' or 'sigmoid' if the last layer ends with it (its logits can go to the loss)."""
        last = self._layers[-1] if self._layers else None
        return _FUSABLE.get(getattr(last, "activation", None)) if hasattr(last, "pre_activation") else None

    def set_training(self, mode: bool) -> None:
        for layer in self._layers:
            layer.train(mode)

    # ------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Variable]:
        return [v for layer in self._layers for v in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if v.trainable and self.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [v for v in self.weights if not (v.trainable and self.trainable)]

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        variables = self.weights
        if len(weights) != len(variables):
            raise ValueError(f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                             f"{len(weights)}, but the layer was expecting {len(variables)} weights.")
        for variable, value in zip(variables, weights):
            variable.assign(value)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._layers)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:
        """Print the table of layers (see summary.py); print_fn is called with each line."""
        for line in summary_lines(self):
            (print_fn or print)(line)

    # ------------------------------------------------------------ saving (our safetensors format)
    def save_weights(self, filepath) -> None:
        """All weights in Keras's layout, in order (and their paths, for reading)."""
        variables = self.weights
        serialization.save({"paths": [v.path for v in variables],
                            "weights": [from_numpy(v.numpy()) for v in variables]}, filepath)

    def load_weights(self, filepath) -> None:
        """Weights saved by save_weights (or save) of a model with the same layers, matched in order."""
        self.set_weights([w.numpy() for w in serialization.load(filepath)["weights"]])

    def get_config(self) -> dict:
        return {"name": self.name, "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers]}

    def save(self, filepath) -> None:
        """The layers' configuration and the weights in one file; `keras.models.load_model` reads it."""
        variables = self.weights
        serialization.save({"config": self.get_config(), "paths": [v.path for v in variables],
                            "weights": [from_numpy(v.numpy()) for v in variables]}, filepath)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name}, built={self.built}>"


def load_model(filepath) -> Sequential:
    """A Sequential model written by `model.save(filepath)`, rebuilt with its weights (not compiled)."""
    saved = serialization.load(filepath)
    if "config" not in saved:
        raise ValueError(f"{filepath} holds weights only (save_weights); build the model and call load_weights")
    config = saved["config"]
    model = Sequential(name=config["name"])
    for entry in config["layers"]:
        cls = getattr(layers_module, entry["class_name"], None)
        if cls is None:
            raise ValueError(f"{filepath}: unknown layer class {entry['class_name']!r}")
        model.add(cls(**entry["config"]))
    if config["input_shape"] is not None:
        model.build(tuple(config["input_shape"]))
    model.set_weights([w.numpy() for w in saved["weights"]])
    return model

"""Keras's activation names (`Dense(5, activation="relu")`) mapped to our ops.

`get("relu")` returns a function of a Tensor. Keras applies softmax over the last axis; our 4-D
activations are NCHW (see layers/base.py), so there "last" is the channel axis, dim 1.
"""
from __future__ import annotations

from typing import Callable

from .. import nn
from ..tensor import Tensor

F = nn.functional


def channel_dim(x: Tensor) -> int:
    """Keras's last axis in our internal layout: the channels (dim 1) of an NCHW tensor."""
    return 1 if x.dim() == 4 else -1


def linear(x: Tensor) -> Tensor:
    return x


def softmax(x: Tensor) -> Tensor:
    return x.softmax(channel_dim(x))


def log_softmax(x: Tensor) -> Tensor:
    return x.log_softmax(channel_dim(x))


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """Keras's default slope is 0.2 (PyTorch's 0.01)."""
    return F.leaky_relu(x, negative_slope)


relu, sigmoid, tanh, elu, softplus, silu, relu6 = F.relu, F.sigmoid, F.tanh, F.elu, F.softplus, F.silu, F.relu6
swish = silu

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "elu": elu, "softplus": softplus, "silu": silu, "swish": swish,
    "leaky_relu": leaky_relu, "relu6": relu6,
}


def get(identifier) -> Callable[[Tensor], Tensor]:
    """None -> linear, a name -> its function, a callable -> itself (as keras.activations.get)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in ACTIVATIONS:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}. "
                             f"Known names: {', '.join(sorted(ACTIVATIONS))}")
        return ACTIVATIONS[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def name_of(fn: Callable) -> str:
    """The Keras name of an activation function (for get_config), or its __name__."""
    for name, f in ACTIVATIONS.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", repr(fn))

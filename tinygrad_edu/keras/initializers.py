"""Keras's initializer names, done by our nn.init (Keras: kernels glorot_uniform, biases zeros).

The fans are those of Keras's layouts, which for Dense and Conv2D equal PyTorch's for the same
weight: fan_in = inputs x receptive field, fan_out = outputs x receptive field.
"""
from __future__ import annotations

import math

import numpy as np

from .. import autograd, creation
from ..nn import init
from ..tensor import Tensor


def glorot_uniform(t: Tensor) -> None:
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)): PyTorch's xavier_uniform_."""
    init.xavier_uniform_(t)


def he_uniform(t: Tensor) -> None:
    """U(-limit, limit), limit = sqrt(6 / fan_in): PyTorch's kaiming_uniform_(nonlinearity='relu')."""
    init.kaiming_uniform_(t, nonlinearity="relu")


def lecun_uniform(t: Tensor) -> None:
    """U(-limit, limit), limit = sqrt(3 / fan_in)."""
    fan_in, _ = init._calculate_fan_in_and_fan_out(t)
    limit = math.sqrt(3.0 / fan_in)
    init.uniform_(t, -limit, limit)


def _truncated_normal(t: Tensor, scale: float, fan: str) -> None:
    """Keras's VarianceScaling(distribution='truncated_normal'): N(0, std^2) redrawn outside
    2 std, std = sqrt(scale / fan) / 0.8796 (the truncation's loss of variance put back)."""
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(t)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[fan]
    std = math.sqrt(scale / n) / 0.87962566103423978
    values = creation.randn(*t.shape).numpy()
    outside = np.abs(values) > 2
    while outside.any():  # redraw from our generator, so manual_seed makes it reproducible
        values[outside] = creation.randn(int(outside.sum())).numpy()
        outside = np.abs(values) > 2
    with autograd.no_grad():
        np.copyto(t.detach().numpy(), values * std)


def glorot_normal(t: Tensor) -> None:
    _truncated_normal(t, 1.0, "fan_avg")


def he_normal(t: Tensor) -> None:
    _truncated_normal(t, 2.0, "fan_in")


def lecun_normal(t: Tensor) -> None:
    _truncated_normal(t, 1.0, "fan_in")


def random_uniform(t: Tensor) -> None:
    """Keras's RandomUniform() defaults: U(-0.05, 0.05)."""
    init.uniform_(t, -0.05, 0.05)


def random_normal(t: Tensor) -> None:
    """Keras's RandomNormal() defaults: N(0, 0.05^2)."""
    init.normal_(t, 0.0, 0.05)


INITIALIZERS = {"glorot_uniform": glorot_uniform, "he_uniform": he_uniform, "lecun_uniform": lecun_uniform,
                "glorot_normal": glorot_normal, "he_normal": he_normal, "lecun_normal": lecun_normal,
                "random_uniform": random_uniform, "random_normal": random_normal,
                "zeros": init.zeros_, "ones": init.ones_}


def get(identifier):
    """A name from INITIALIZERS or a callable that fills a Tensor in place (our layout)."""
    if callable(identifier):
        return identifier
    if identifier not in INITIALIZERS:
        raise ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                         f"Known names: {', '.join(sorted(INITIALIZERS))}")
    return INITIALIZERS[identifier]

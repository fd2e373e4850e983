"""Keras's metrics for compile(metrics=[...]): per-sample values, averaged over the epoch.

`get("accuracy", loss)` resolves 'accuracy' as Keras does, from the loss and the output:
one output unit -> binary accuracy (threshold 0.5); integer labels -> sparse categorical
accuracy; one-hot labels -> categorical accuracy (argmax equality). Values are computed in
NumPy on the detached predictions (a [batch, classes] array: cheap beside the step).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def _class_axis(a: np.ndarray) -> int:
    return 1 if a.ndim == 4 else -1  # our 4-D outputs are NCHW


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    y_true = y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true
    return ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32).reshape(len(y_pred), -1).mean(-1)


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    axis = _class_axis(y_pred)
    return (y_true.argmax(axis) == y_pred.argmax(axis)).astype(np.float32).reshape(len(y_pred), -1).mean(-1)


def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    labels = y_true.reshape(y_pred.shape[:-1]) if y_true.size == np.prod(y_pred.shape[:-1]) else y_true
    hits = labels.astype(np.int64) == y_pred.argmax(-1)
    return hits.astype(np.float32).reshape(len(y_pred), -1).mean(-1)


def _same_shape(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return np.abs(_same_shape(y_true, y_pred) - y_pred).reshape(len(y_pred), -1).mean(-1)


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return np.square(_same_shape(y_true, y_pred) - y_pred).reshape(len(y_pred), -1).mean(-1)


_BY_NAME: dict[str, Callable] = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy, "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error, "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
}


def resolve_accuracy(loss_name: str, output_units) -> Callable:
    """Keras's choice for metrics=['accuracy']."""
    if output_units == 1 or loss_name == "binary_crossentropy":
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy":
        return sparse_categorical_accuracy
    return categorical_accuracy


class Mean:
    """A running mean of per-sample values (Keras's metric state: total and count)."""

    def __init__(self, name: str, fn: Callable | None = None):
        self.name, self.fn = name, fn
        self.reset_state()

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0

    def update_state(self, values, weight: int = 1) -> None:
        """Add per-sample values (an array) or one value counted `weight` times (a batch loss)."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 0:
            self.total += float(values) * weight
            self.count += weight
        else:
            self.total += float(values.sum())
            self.count += values.size

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def get(identifier, loss_name: str, output_units) -> Mean:
    """A metric's running mean, named as the user named it (history keys: 'accuracy', 'mae', ...)."""
    if callable(identifier):
        return Mean(getattr(identifier, "__name__", "metric"), identifier)
    if not isinstance(identifier, str):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    if identifier in ("accuracy", "acc"):
        return Mean(identifier, resolve_accuracy(loss_name, output_units))
    if identifier not in _BY_NAME:
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Known names: accuracy, "
                         f"{', '.join(sorted(_BY_NAME))}")
    return Mean(identifier, _BY_NAME[identifier])

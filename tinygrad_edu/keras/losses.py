"""Keras's losses, `loss(y_true, y_pred)` (note the order: PyTorch's is `loss(input, target)`).

Each is the mean over the batch of a per-sample loss, done by our nn.functional. Keras's
probability losses clip the predictions to [1e-7, 1 - 1e-7] before the log, as here.

Performance and stability trick (what Keras's TensorFlow backend also does): when the model's
last layer ends in softmax (sigmoid) and the loss is a categorical (binary) cross-entropy, the
model passes the logits to `from_logits_loss` instead, which runs our fused log-softmax +
NLL kernel (or BCE-with-logits): no exp/log round trip, no clipping. Keras clips, so a
confidently wrong prediction costs at most -log(1e-7) = 16.1 there and can cost more here.
"""
from __future__ import annotations

from typing import Callable

from .. import nn
from ..dtypes import int64
from ..tensor import Tensor

F = nn.functional
EPSILON = 1e-7  # keras.config.epsilon()


def _same_rank(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Keras's squeeze_or_expand_to_same_rank: targets [N] against predictions [N, 1] become [N, 1]
    (without this, [N] - [N, 1] would broadcast to [N, N] and the loss be silently wrong)."""
    if y_true.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1)
    if y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        return y_true.squeeze(-1)
    return y_true


def _check_same_shape(y_true: Tensor, y_pred: Tensor, hint: str = "") -> None:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}{hint}")


class Loss:
    """A Keras loss object: `loss(y_true, y_pred)` -> a scalar Tensor, the batch mean.
    `fuses_with` names the output activation whose logits `from_logits_loss` takes instead."""
    name = "loss"
    fuses_with: str | None = None
    from_logits = False

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        y_true = _same_rank(y_true, y_pred)
        _check_same_shape(y_true, y_pred)
        return F.mse_loss(y_pred, y_true)


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        y_true = _same_rank(y_true, y_pred)
        _check_same_shape(y_true, y_pred)
        return F.l1_loss(y_pred, y_true)


class BinaryCrossentropy(Loss):
    """-mean(y log p + (1 - y) log(1 - p)), p clipped to [1e-7, 1 - 1e-7] (or sigmoid(logits))."""
    name, fuses_with = "binary_crossentropy", "sigmoid"

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if self.from_logits:
            return self.from_logits_loss(y_true, y_pred)
        y_true = _same_rank(y_true, y_pred)
        _check_same_shape(y_true, y_pred)
        return F.binary_cross_entropy(y_pred.clamp(EPSILON, 1 - EPSILON), y_true)

    def from_logits_loss(self, y_true: Tensor, logits: Tensor) -> Tensor:
        y_true = _same_rank(y_true, logits)
        _check_same_shape(y_true, logits)
        return F.binary_cross_entropy_with_logits(logits, y_true)


class CategoricalCrossentropy(Loss):
    """-mean over samples of sum_c y_c log p_c, for one-hot (or soft) targets: see to_categorical."""
    name, fuses_with = "categorical_crossentropy", "softmax"
    _hint = " (for integer class labels use loss='sparse_categorical_crossentropy', or keras.utils.to_categorical)"

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if self.from_logits:
            return self.from_logits_loss(y_true, y_pred)
        _check_same_shape(y_true, y_pred, self._hint)
        dim = 1 if y_pred.dim() == 4 else -1
        p = (y_pred / y_pred.sum(dim, keepdim=True)).clamp(EPSILON, 1 - EPSILON)
        return -(y_true * p.log()).sum(dim).mean()

    def from_logits_loss(self, y_true: Tensor, logits: Tensor) -> Tensor:
        _check_same_shape(y_true, logits, self._hint)
        return F.cross_entropy(logits, y_true)  # soft targets: log_softmax and a weighted sum


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels [N] (or [N, 1]) as targets."""
    name, fuses_with = "sparse_categorical_crossentropy", "softmax"

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits

    def _labels(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
            raise ValueError(f"Arguments `target` and `output` must have the same shape up until the last "
                             f"dimension: target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
                             + (" (for one-hot targets use loss='categorical_crossentropy')"
                                if tuple(y_true.shape) == tuple(y_pred.shape) else ""))
        return y_true if y_true.dtype == int64 else y_true.long()

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        if self.from_logits:
            return self.from_logits_loss(y_true, y_pred)
        labels = self._labels(y_true, y_pred)
        return F.nll_loss(y_pred.clamp(EPSILON, 1 - EPSILON).log(), labels)

    def from_logits_loss(self, y_true: Tensor, logits: Tensor) -> Tensor:
        return F.cross_entropy(logits, self._labels(y_true, logits))  # the fused C kernel


class FunctionLoss(Loss):
    """A user's function `fn(y_true, y_pred)` -> per-sample losses or a scalar; the mean is taken."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]):
        self.fn, self.name = fn, getattr(fn, "__name__", "loss")

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        out = self.fn(y_true, y_pred)
        if not isinstance(out, Tensor):
            raise TypeError(f"the loss function {self.name} must return a Tensor, got {type(out).__name__}")
        return out.mean() if out.dim() else out


_BY_NAME = {"mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError, "binary_crossentropy": BinaryCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy,
            "sparse_categorical_crossentropy": SparseCategoricalCrossentropy}


def get(identifier) -> Loss:
    """A name ('mse', 'categorical_crossentropy', ...), a Loss object or a function(y_true, y_pred)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Known names: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[identifier]()
    if callable(identifier):
        return FunctionLoss(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


# keras.losses' functions, y_true first
def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return MeanSquaredError()(y_true, y_pred)


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    return CategoricalCrossentropy(from_logits)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    return BinaryCrossentropy(from_logits)(y_true, y_pred)


mse = mean_squared_error

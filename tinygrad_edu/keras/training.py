"""compile, fit, evaluate, predict: the training loop you wrote by hand, behind Keras's names.

`fit` is exactly the PyTorch loop of examples/train_mnist.py, run on our own pieces:

    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)   # utils.data
    for epoch in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()            # train_step below
            loss = loss_fn(yb, model(xb))    # (Keras's argument order: y_true first)
            loss.backward()
            optimizer.step()
        ...mean loss and metrics of the epoch, validation, callbacks, history

plus the bookkeeping Keras adds: running means of the loss and metrics for the progress bar,
a validation pass after each epoch, callbacks, and the History that fit returns.
"""
from __future__ import annotations

import math

import numpy as np

from .. import autograd
from ..tensor import Tensor, from_numpy
from ..utils.data import DataLoader, TensorDataset
from . import losses as losses_module, metrics as metrics_module, optimizers
from .callbacks import CallbackList, History, ProgbarLogger
from .layers.base import as_float_tensor
from .progbar import Progbar


def _not_supported(**arguments) -> None:
    for name, value in arguments.items():
        if value is not None:
            raise NotImplementedError(f"{name}= is not supported by tinygrad_edu.keras")


def _verbosity(verbose) -> int:
    return 1 if verbose == "auto" else int(verbose)


def _internal_copy(t: Tensor) -> Tensor:
    """A 4-D array [N, H, W, C] as one contiguous NCHW copy, made once per fit (not per batch)."""
    if t.dim() != 4:
        return t
    return from_numpy(np.ascontiguousarray(t.numpy().transpose(0, 3, 1, 2)))


class Trainer:
    """The training half of a Keras model; `Sequential` supplies call, check_input, weights."""

    def __init__(self):
        self.optimizer = self.loss = None
        self.compiled, self.stop_training = False, False
        self._metric_ids: list = []
        self.history = History()

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True) -> None:
        """Choose the optimizer ('adam', 'sgd', 'rmsprop' or keras.optimizers.X(...)), the loss
        (a name, a keras.losses object or fn(y_true, y_pred)) and the metrics to report."""
        _not_supported(loss_weights=loss_weights, weighted_metrics=weighted_metrics)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Expected `metrics` argument to be a list, tuple, or dict. Received instead: "
                             f"metrics={metrics} of type {type(metrics)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = None if loss is None else losses_module.get(loss)
        self._metric_ids = list(metrics or [])
        self.compiled = True

    def _check_compiled(self) -> None:
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")
        if self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")

    # ------------------------------------------------------------ data
    def _tensors(self, x, y, what: str = "") -> tuple[Tensor, Tensor]:
        """x as float32, y as float32 (int64 for sparse labels), checked; both in our layout."""
        if x is None or y is None:
            raise ValueError(f"{what}: both x and y are needed (NumPy arrays or Tensors)")
        x = as_float_tensor(x, "x")
        if isinstance(self.loss, losses_module.SparseCategoricalCrossentropy):
            y = y.long() if isinstance(y, Tensor) else from_numpy(np.ascontiguousarray(np.asarray(y), np.int64))
        else:
            y = as_float_tensor(y, "y")
        if len(x) != len(y):
            raise ValueError(f"Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                             f"samples.\n'x' sizes: {len(x)}\n'y' sizes: {len(y)}")
        self.check_input(tuple(x.shape))
        return _internal_copy(x), _internal_copy(y)

    def _new_trackers(self) -> list:
        name = getattr(self.loss, "name", "")
        units = self.output_shape[-1]
        return [metrics_module.Mean("loss")] + [metrics_module.get(m, name, units) for m in self._metric_ids]

    # ------------------------------------------------------------ one step
    def compute_loss(self, x: Tensor, y: Tensor, training: bool) -> tuple[Tensor, Tensor]:
        """(loss, predictions). With a softmax/sigmoid last layer and the matching cross-entropy,
        the loss takes the logits (fused, see losses.py); the predictions are then computed
        from them outside the graph, for the metrics."""
        fused = self.fused_activation()
        if fused is not None and fused == getattr(self.loss, "fuses_with", None) and not self.loss.from_logits:
            logits = self.call(x, training, logits=True)
            loss = self.loss.from_logits_loss(y, logits)
            with autograd.no_grad():
                y_pred = self._layers[-1].activation(logits.detach())
            return loss, y_pred
        y_pred = self.call(x, training)
        return self.loss(y, y_pred), y_pred

    def train_step(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """The four lines of the hand-written loop."""
        self.optimizer.zero_grad()
        loss, y_pred = self.compute_loss(x, y, training=True)
        loss.backward()
        self.optimizer.step()
        return loss, y_pred

    @staticmethod
    def _update(trackers: list, loss: Tensor, y_pred: Tensor, y: Tensor) -> dict:
        trackers[0].update_state(loss.item(), weight=len(y))
        if len(trackers) > 1:
            y_true, y_hat = y.numpy(), y_pred.detach().numpy()
            for tracker in trackers[1:]:
                tracker.update_state(tracker.fn(y_true, y_hat))
        return {t.name: t.result() for t in trackers}

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1) -> History:
        """Train for `epochs` epochs of mini-batches; returns the History (loss and metrics per epoch).

        This is the hand-written PyTorch loop (this module's docstring, examples/train_mnist.py):
        a DataLoader over TensorDataset(x, y), and per batch `train_step` (zero_grad, forward,
        loss, backward, step); then the epoch's means, validation and callbacks.

        validation_split takes the last fraction of x, y (before shuffling) as validation data;
        validation_data=(x_val, y_val) gives it explicitly: both add "val_..." entries."""
        self._check_compiled()
        _not_supported(class_weight=class_weight, sample_weight=sample_weight, steps_per_epoch=steps_per_epoch,
                       validation_steps=validation_steps)
        x, y = self._tensors(x, y, "fit")
        if validation_data is None and validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}")
            split_at = int(math.floor(len(x) * (1.0 - validation_split)))
            x, y, validation_data = x[:split_at], y[:split_at], (x[split_at:], y[split_at:])
        elif validation_data is not None:
            if len(validation_data) != 2:
                raise NotImplementedError("validation_data must be (x_val, y_val) (no sample weights)")
            validation_data = self._tensors(*validation_data, "validation_data")
        batch_size = batch_size or 32
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)
        if not self.optimizer.built:
            self.optimizer.build([v.value for v in self.trainable_weights])
        verbose = _verbosity(verbose)
        self.history = History()
        extra = [ProgbarLogger(verbose)] if verbose else []
        cbs = CallbackList([*(callbacks or []), self.history, *extra], self,
                           {"verbose": verbose, "epochs": epochs, "steps": len(loader)})
        self.stop_training, logs = False, {}
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            logs = self._train_epoch(loader, cbs)
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate(*validation_data, validation_batch_size or batch_size)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        return self.history

    def _train_epoch(self, loader: DataLoader, cbs: CallbackList) -> dict:
        self.set_training(True)
        trackers, logs = self._new_trackers(), {}
        for step, (xb, yb) in enumerate(loader):
            cbs.on_train_batch_begin(step)
            loss, y_pred = self.train_step(xb, yb)
            logs = self._update(trackers, loss, y_pred, yb)
            cbs.on_train_batch_end(step, logs)
        return dict(logs)

    # ------------------------------------------------------------ evaluate, predict
    def _evaluate(self, x: Tensor, y: Tensor, batch_size: int, progbar: Progbar | None = None) -> dict:
        """Mean loss and metrics over (x, y) in inference mode, without a graph."""
        self.set_training(False)
        trackers, logs = self._new_trackers(), {}
        with autograd.no_grad():
            for step, (xb, yb) in enumerate(DataLoader(TensorDataset(x, y), batch_size=batch_size)):
                loss, y_pred = self.compute_loss(xb, yb, training=False)
                logs = self._update(trackers, loss, y_pred, yb)
                if progbar is not None:
                    progbar.update(step + 1, logs)
        if progbar is not None:
            progbar.finish(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss (and metrics, as a list [loss, *metrics]) on x, y."""
        self._check_compiled()
        _not_supported(sample_weight=sample_weight, steps=steps, callbacks=callbacks)
        x, y = self._tensors(x, y, "evaluate")
        batch_size, verbose = batch_size or 32, _verbosity(verbose)
        progbar = Progbar(-(-len(x) // batch_size), verbose) if verbose else None
        logs = self._evaluate(x, y, batch_size, progbar)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """The model's outputs for x, batch by batch in inference mode, as one NumPy array."""
        _not_supported(steps=steps, callbacks=callbacks)
        x = as_float_tensor(x)
        self.check_input(tuple(x.shape))
        x = _internal_copy(x)
        batch_size, verbose = batch_size or 32, _verbosity(verbose)
        progbar = Progbar(-(-len(x) // batch_size), verbose) if verbose else None
        self.set_training(False)
        outputs = []
        with autograd.no_grad():
            for step, (xb,) in enumerate(DataLoader(TensorDataset(x), batch_size=batch_size)):
                outputs.append(self.call(xb, training=False).numpy())
                if progbar is not None:
                    progbar.update(step + 1, {})
        if progbar is not None:
            progbar.finish({})
        out = np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape[1:]), np.float32)
        return np.ascontiguousarray(out.transpose(0, 2, 3, 1)) if out.ndim == 4 else out

"""Keras's callbacks: hooks that fit calls at the start and end of training, epochs and batches.

`fit` always adds a `History` (which it returns) and a `ProgbarLogger` (verbose > 0). Yours
come first, so EarlyStopping's decision and LearningRateScheduler's rate are in place when
the history is recorded. `logs` are dicts such as {"loss": 0.31, "accuracy": 0.9,
"val_loss": 0.28, "val_accuracy": 0.92}.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Callable

from .progbar import Progbar


class Callback:
    """Subclass and override any of the on_* methods; `self.model` and `self.params` are set by fit."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch: int, logs=None): ...
    def on_epoch_end(self, epoch: int, logs=None): ...
    def on_train_batch_begin(self, batch: int, logs=None): ...
    def on_train_batch_end(self, batch: int, logs=None): ...


class CallbackList:
    """Calls each hook of each callback in order."""

    def __init__(self, callbacks: list[Callback], model, params: dict):
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback objects, got {type(c).__name__}")
            c.set_model(model)
            c.set_params(params)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda *args: [getattr(c, hook)(*args) for c in self.callbacks]


class History(Callback):
    """Records the logs of each epoch: `history.history["loss"]`, `history.epoch` (0-based)."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []  # as Keras: a new fit starts a new record...

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))  # ...but appends to the same history dict
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints "Epoch i/n" and the progress bar (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, verbose: int = 1):
        super().__init__()
        self.verbose, self.bar = verbose, None

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.params['epochs']}", flush=True)
        self.bar = Progbar(self.params["steps"], self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.bar.finish(logs or {})


class _Monitor(Callback):
    """What EarlyStopping and ModelCheckpoint share: watch logs[monitor], min or max is better."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__} mode {mode!r} is unknown: use 'auto', 'min' or 'max'")
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)

    def _direction(self) -> str:
        """'min' or 'max': Keras's 'auto' is max for accuracies, min for losses and errors."""
        if self.mode != "auto":
            return self.mode
        name = self.monitor.removeprefix("val_")
        if name == "loss" or name in ("mae", "mse", "mean_absolute_error", "mean_squared_error"):
            return "min"
        if "acc" in name:
            return "max"
        raise ValueError(f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able to "
                         "automatically determine whether that metric should be maximized or minimized. Pass "
                         "`mode='max'` in order to monitor based on the highest metric value, or pass "
                         "`mode='min'` in order to use the lowest value.")

    def _is_improvement(self, value: float, reference) -> bool:
        if reference is None:
            return True
        if self._direction() == "min":
            return value - (-self.min_delta) < reference
        return value - self.min_delta > reference

    def _current(self, logs) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__} conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(list((logs or {}).keys()))}", stacklevel=3)
        return value


class EarlyStopping(_Monitor):
    """Stop when `monitor` has not improved for `patience` epochs; optionally restore the best
    epoch's weights at the end (Keras 3's rules, e.g. restored even if training ran to the end)."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model (or only its weights) after each epoch, or only when `monitor` improved.

    `filepath` may hold fields of the epoch and logs: "ckpt/{epoch:02d}-{val_loss:.2f}.safetensors".
    Where we differ: files are our safetensors format (model.save / save_weights), not .keras/.h5.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch",
                 initial_value_threshold: float | None = None):
        super().__init__(monitor, mode)
        if save_freq != "epoch":
            raise NotImplementedError("ModelCheckpoint: only save_freq='epoch' is supported")
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self._is_improvement(current, self.best):
                if self.verbose > 0 and current is not None:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                previous = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {previous} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


class LearningRateScheduler(Callback):
    """Before each epoch sets the optimizer's learning rate to `schedule(epoch, lr)` (epoch from 0);
    the rate used is logged as logs["learning_rate"] (so it appears in the history)."""

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        out = self.schedule(epoch, float(self.model.optimizer.learning_rate))
        try:
            lr = float(out)
        except (TypeError, ValueError):
            lr = math.nan
        if not math.isfinite(lr):
            raise ValueError(f'The output of the "schedule" function should be a float. Got: {out!r}')
        self.model.optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)

"""Keras's progress output for fit/evaluate/predict, drawn with tqdm.

verbose=1: "Epoch 1/5", then a bar per epoch
    1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - accuracy: 0.9412 - loss: 0.1987 - val_accuracy: ...
verbose=2: one line per epoch, "1875/1875 - 3s - 2ms/step - accuracy: 0.9412 - loss: 0.1987 - ...".
Without tqdm installed, verbose=1 prints the verbose=2 line.
"""
from __future__ import annotations

import sys
import time


def format_value(value: float) -> str:
    """Keras's Progbar: 4 decimals, or scientific notation below 1e-3."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_logs(logs: dict) -> str:
    return "".join(f" - {k}: {format_value(float(v))}" for k, v in sorted(logs.items()))


def format_time_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class Progbar:
    """One bar (or line) over `steps` steps; `update(step, logs)`, then `finish(logs)`."""

    def __init__(self, steps: int, verbose: int = 1):
        self.steps, self.verbose, self.start = steps, verbose, time.perf_counter()
        self.bar = None
        if verbose == 1:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is an optional extra: fall back to one line per epoch
                self.verbose = 2
            else:
                self.bar = tqdm(total=steps, file=sys.stdout, ascii=" ━", dynamic_ncols=False, leave=True,
                                bar_format=self._format(0, {}))

    def _timing(self, step: int) -> str:
        return format_time_per_step((time.perf_counter() - self.start) / max(step, 1))

    def _format(self, step: int, logs: dict) -> str:
        """tqdm draws "n/total" and the bar; the rest, Keras's way, is our text (no braces in it)."""
        seconds = time.perf_counter() - self.start
        timing = f" {self._timing(step)}" if step else ""
        return "{n_fmt}/{total_fmt} {bar:20} " + f"{seconds:.0f}s{timing}{format_logs(logs)}"

    def update(self, step: int, logs: dict) -> None:
        """`step` steps are done (1-based); the postfix is refreshed every few steps (it costs)."""
        if self.bar is not None:
            if step == 1 or step % 10 == 0:  # the text is redrawn every few steps (formatting costs)
                self.bar.bar_format = self._format(step, logs)
            self.bar.update(step - self.bar.n)

    def finish(self, logs: dict) -> None:
        if self.bar is not None:
            self.bar.bar_format = self._format(self.steps, logs)
            self.bar.update(self.steps - self.bar.n)
            self.bar.refresh()
            self.bar.close()
        elif self.verbose == 2:
            seconds = time.perf_counter() - self.start
            print(f"{self.steps}/{self.steps} - {seconds:.0f}s - {self._timing(self.steps)}{format_logs(logs)}",
                  flush=True)

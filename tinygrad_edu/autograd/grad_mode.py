"""Whether operations record the graph: `no_grad`, `enable_grad`, `set_grad_enabled`.

As in PyTorch each works as a context manager and as a decorator. Differs from PyTorch:
the flag is global, not per thread (tinygrad_edu runs in one thread).
"""
from __future__ import annotations

import functools

_enabled = True


def is_grad_enabled() -> bool:
    return _enabled


class set_grad_enabled:
    """Set grad mode to `mode` now; as a context manager, restore the old mode on exit."""

    def __init__(self, mode: bool):
        global _enabled
        self.prev, _enabled = _enabled, bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        global _enabled
        _enabled = self.prev


class _GradMode:
    mode = True

    def __enter__(self) -> None:
        global _enabled
        self.prev, _enabled = _enabled, self.mode

    def __exit__(self, *exc) -> None:
        global _enabled
        _enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph: results have requires_grad=False."""
    mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a `no_grad` block."""
    mode = True


_inference = False


class inference_mode(_GradMode):
    """`torch.inference_mode(mode=True)`: no graph is recorded inside, as `no_grad` (context manager
    or decorator, with or without parentheses). Differs from PyTorch: tensors made inside are
    ordinary tensors, not "inference tensors" that refuse to enter autograd later."""

    def __new__(cls, mode=True):
        if callable(mode):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.inference = bool(mode)
        self.mode = not self.inference

    def __enter__(self) -> None:
        global _inference
        self.prev_inference, _inference = _inference, self.inference
        super().__enter__()

    def __exit__(self, *exc) -> None:
        global _inference
        _inference = self.prev_inference
        super().__exit__(*exc)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self.inference):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    return _inference

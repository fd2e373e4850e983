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

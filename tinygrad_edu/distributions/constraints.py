"""The constraints a distribution's parameters and values must satisfy, as torch.distributions.constraints
(`check(value)` gives a bool tensor; the repr is PyTorch's, as its error messages show it)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _fmt(bound) -> str:
    """A bound as PyTorch prints it in a constraint: a number, or the tensor."""
    if isinstance(bound, Tensor):
        return str(bound.item()) if bound.numel() == 1 else str(bound)
    return str(bound)


def _array(value) -> np.ndarray:
    return value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value) -> Tensor:
        return Tensor._make(np.asarray(self._check(_array(value))))

    def _check(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def _check(self, v):
        return v == v  # False only for NaN


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, v):
        return (v == 0) | (v == 1)


class _Bound(Constraint):
    def __init__(self, bound):
        self.bound = bound

    def _value(self):
        return _array(self.bound)


class _GreaterThan(_Bound):
    def _check(self, v):
        return v > self._value()

    def __repr__(self):
        return f"GreaterThan(lower_bound={_fmt(self.bound)})"


class _GreaterThanEq(_Bound):
    def _check(self, v):
        return v >= self._value()

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={_fmt(self.bound)})"


class _LessThan(_Bound):
    def _check(self, v):
        return v < self._value()

    def __repr__(self):
        return f"LessThan(upper_bound={_fmt(self.bound)})"


class _IntegerGreaterThan(_Bound):
    is_discrete = True

    def _check(self, v):
        return (v % 1 == 0) & (v >= self._value())

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={_fmt(self.bound)})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, v):
        return (_array(self.lower_bound) <= v) & (v <= _array(self.upper_bound))

    def __repr__(self):
        return f"Interval(lower_bound={_fmt(self.lower_bound)}, upper_bound={_fmt(self.upper_bound)})"


class _IntegerInterval(_Interval):
    is_discrete = True

    def _check(self, v):
        return (v % 1 == 0) & super()._check(v)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={_fmt(self.lower_bound)}, upper_bound={_fmt(self.upper_bound)})"


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, v):
        return np.all(v >= 0, axis=-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


real = _Real()
boolean = _Boolean()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
nonnegative_integer = _IntegerGreaterThan(0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
greater_than, greater_than_eq, less_than = _GreaterThan, _GreaterThanEq, _LessThan
interval, integer_interval = _Interval, _IntegerInterval

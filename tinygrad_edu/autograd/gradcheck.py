"""`gradcheck`: compare the gradients backward computes with finite differences.

For f: R^n -> R^m the Jacobian J[i, j] = d out_i / d in_j is estimated column by column with
central differences (f(x + eps e_j) - f(x - eps e_j)) / (2 eps), and computed row by row with
backward: grad(out_i) with a one-hot starting gradient. Use float64: float32 has too few
digits for eps = 1e-6.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..tensor import Tensor
from .engine import grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn, inputs, i, eps):
    x = inputs[i]._data
    outs = [o._data for o in _as_tuple(fn(*inputs))]
    cols = []
    flat = x.reshape(-1)  # a view of x's memory (inputs are made contiguous first)
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        plus = [o._data.copy() for o in _as_tuple(fn(*inputs))]
        flat[j] = orig - eps
        minus = [o._data.copy() for o in _as_tuple(fn(*inputs))]
        flat[j] = orig
        cols.append([((p - m) / (2 * eps)).reshape(-1) for p, m in zip(plus, minus)])
    return [np.stack([c[k] for c in cols], axis=1) if cols else np.zeros((o.size, 0)) for k, o in enumerate(outs)]


def _analytical_jacobian(fn, inputs, i):
    outs = _as_tuple(fn(*inputs))
    jacobians = []
    for o in outs:
        rows = np.zeros((o.numel(), inputs[i].numel()))
        if o.requires_grad:
            for r in range(o.numel()):
                seed = np.zeros(o._data.size, o._data.dtype)
                seed[r] = 1
                (g,) = grad(o, inputs[i], Tensor._make(seed.reshape(o._data.shape)), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    rows[r] = g._data.reshape(-1)
        jacobians.append(rows)
    return jacobians


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """True if backward's Jacobian matches finite differences for every input that requires grad."""
    inputs = tuple(t.detach().contiguous().clone().requires_grad_(t.requires_grad) if isinstance(t, Tensor) else t
                   for t in _as_tuple(inputs))
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if t._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision floating point.")
        numerical = _numerical_jacobian(func, inputs, i, eps)
        analytical = _analytical_jacobian(func, inputs, i)
        for k, (n, a) in enumerate(zip(numerical, analytical)):
            if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
                msg = (f"Jacobian mismatch for output {k} with respect to input {i},\n"
                       f"numerical:{n}\nanalytical:{a}\n")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, **kwargs) -> bool:
    """gradcheck of the first derivatives themselves (they are computed with create_graph=True)."""
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_derivatives(*xs):
        outs = _as_tuple(func(*xs))
        seeds = grad_outputs or tuple(Tensor._make(np.ones(o._data.shape, o._data.dtype)) for o in outs)
        gs = grad(outs, [xs[i] for i in diff], seeds, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivatives, inputs, **kwargs)

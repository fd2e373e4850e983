"""Elementwise ops, one input or two: +, -, *, /, **, max/min, where, exp, log, log1p, erf, sin, clamp, round, ...

NumPy computes these forwards directly (its ufuncs are already vectorised C); the Tensor
methods promote both operands to one dtype before these run. Broadcast gradients are summed
back to each input's shape by the engine, in one place (`engine._check_grad`).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd.function import Op, wrap
from ..backend.checks import FLOAT_DTYPES


# ---------------------------------------------------------------- two inputs

def _save_partners(ctx, a, b, first: int = 0) -> None:
    """Save a only if b needs a gradient, and b only if a does: the gradient of a product is the
    other factor. PyTorch saves no more, so an in-place change of an operand that no backward
    reads is no error (`y[0] = y[-1] * 2`: the 2 needs no gradient, y[-1] is not saved).
    `first` is the index of a among the op's arguments."""
    need = ctx.needs_input_grad  # () when no graph is recorded: nothing is kept then
    ctx.save_for_backward(a if need and need[first + 1] else None, b if need and need[first] else None)


class Add(Op):
    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx, grad):
        return grad, (grad if ctx.alpha == 1 else grad * ctx.alpha)


class Sub(Op):
    node_name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.alpha == 1 else grad * -ctx.alpha)


class Rsub(Op):
    """`number - x`: PyTorch records one input, the number is a constant."""
    node_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, x, number):
        return number - x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Mul(Op):
    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Op):
    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad  # d/da needs b; d/db needs a and b
        ctx.save_for_backward(a if need and need[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad / b if ctx.needs_input_grad[0] else None,
                -grad * a / (b * b) if ctx.needs_input_grad[1] else None)


class Pow(Op):
    """x ** exponent, the exponent a number: d/dx = exponent * x ** (exponent - 1)."""
    node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.exponent = exponent
        ctx.save_for_backward(x)
        return x ** exponent

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.exponent == 0:
            return grad * 0
        return grad * ctx.exponent * x ** (ctx.exponent - 1)


class PowTensor(Op):
    """a ** b, both tensors: d/da = b * a ** (b - 1), d/db = a ** b * log(a)."""
    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        da = (grad * b * a ** (b - 1)).masked_fill(b == 0, 0) if ctx.needs_input_grad[0] else None
        # PyTorch's convention: where a == 0 and b >= 0, d/db is 0 (not 0 * -inf = nan)
        db = (grad * out * a.log()).masked_fill((a == 0) & (b >= 0), 0) if ctx.needs_input_grad[1] else None
        return da, db


class RPow(Op):
    """number ** x: d/dx = number ** x * log(number)."""
    node_name = "PowBackward2"

    @staticmethod
    def forward(ctx, x, base):
        out = np.asarray(base, x.dtype) ** x
        ctx.log_base = float(np.log(base)) if base > 0 else float("nan") if base < 0 else 0.0
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * ctx.log_base


class Maximum(Op):
    """Elementwise max; where a == b the gradient is split in half, as in PyTorch."""
    node_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward((a > b) + 0.5 * (a == b))
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        (share_a,) = ctx.saved_tensors
        return grad * share_a, grad * (1 - share_a)


class Minimum(Op):
    node_name = "MinimumBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward((a < b) + 0.5 * (a == b))
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        (share_a,) = ctx.saved_tensors
        return grad * share_a, grad * (1 - share_a)


class Where(Op):
    """where(condition, a, b); the condition is a constant (a bool array), not an input."""
    node_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        zero = grad.new_zeros(())
        return grad.where(condition, zero), zero.where(condition, grad)


# ---------------------------------------------------------------- one input

class Neg(Op):
    node_name = "NegBackward0"

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Abs(Op):
    node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.sign(x))
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (sign,) = ctx.saved_tensors
        return grad * sign


class Exp(Op):
    """d/dx exp(x) = exp(x): the saved output is the gradient's factor."""
    node_name = "ExpBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Op):
    node_name = "LogBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Op):
    """d/dx sqrt(x) = 1 / (2 sqrt(x))."""
    node_name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Sin(Op):
    node_name = "SinBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Op):
    node_name = "CosBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Reciprocal(Op):
    node_name = "ReciprocalBackward0"

    @staticmethod
    def forward(ctx, x):
        out = 1 / x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -grad * out * out


class Log1p(Op):
    """log(1 + x), exact for small x; d/dx = 1 / (1 + x)."""
    node_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


# NOTE: NumPy has no erf. float32/float64 use the kernel (backend.kernels.erf: activations.c, as
# GELU is its user); other floats (float16) call math.erf element by element, ~60 ns each.
_erf = np.frompyfunc(math.erf, 1, 1)


def _erf_array(x: np.ndarray) -> np.ndarray:
    if x.dtype in FLOAT_DTYPES:
        return backend.kernels.erf(x)
    return np.asarray(_erf(x), dtype=np.float64).astype(x.dtype, copy=False)


class Erf(Op):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt; d/dx = 2/sqrt(pi) exp(-x^2)."""
    node_name = "ErfBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-(x * x)).exp() * (2 / math.sqrt(math.pi))


# ---------------------------------------------------------------- clamping

class Clamp(Op):
    """Gradient 1 where min <= x <= max, else 0 (PyTorch passes it at the bounds)."""
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.save_for_backward((x >= (-np.inf if min is None else min)) & (x <= (np.inf if max is None else max)))
        return np.clip(x, min, max).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


class ClampTensor(Op):
    """clamp with tensor bounds: the gradient goes to whichever of x, low, high was picked."""
    node_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, low, high):
        below, above = x < low, x > high
        ctx.save_for_backward(below, above, ~(below | above))
        return np.minimum(np.maximum(x, low), high)

    @staticmethod
    def backward(ctx, grad):
        below, above, inside = ctx.saved_tensors
        return grad * inside, grad * (below & ~above), grad * above


# ---------------------------------------------------------------- steps: sign, round, floor, ceil, trunc

class Sign(Op):
    """A step function: its derivative is 0 wherever it exists, and PyTorch's backward gives
    `zeros_like(grad)` (a NaN in grad does not leak through). Round, Floor, Ceil and Trunc below
    are the same idea with another forward."""
    node_name = "SignBackward0"

    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            return x.copy()
        out = np.sign(x)
        return np.where(np.isnan(out), 0, out) if out.dtype.kind == "f" else out  # PyTorch: sign(nan) = 0

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad)


class Round(Sign):
    """torch.round(x, decimals=0): half to even, as np.round (`round(2.5) == 2`); with decimals,
    round(x * 10**d) / 10**d (PyTorch's RoundBackward1)."""
    node_name = "RoundBackward0"

    @staticmethod
    def forward(ctx, x, decimals=0):
        return np.round(x, decimals)


class Floor(Sign):
    node_name = "FloorBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.floor(x)


class Ceil(Sign):
    node_name = "CeilBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.ceil(x)


class Trunc(Sign):
    node_name = "TruncBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.trunc(x)


# ---------------------------------------------------------------- copies and fills (copy_, fill_, zero_)

def _zeros_like(t):
    """A zero gradient, as PyTorch gives (`zeros_like(grad)`) for an input whose value a backward does not use."""
    return wrap(np.zeros_like(t._data))


class Copy(Op):
    """dst.copy_(src): src's values, broadcast to dst's shape and converted to its dtype. The old
    values are overwritten, never computed with (an inf or NaN in dst does not leak through).
    PyTorch's CopyBackwards: a zero gradient for dst, the gradient for src (the engine sums it
    back to src's shape and dtype)."""
    node_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, dst, src):
        out = np.empty_like(dst)
        np.copyto(out, src, casting="unsafe")
        return out

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), grad


class Fill(Op):
    """x.fill_(number): PyTorch's FillBackward2 (fill_.Scalar); x gets a zero gradient."""
    node_name = "FillBackward2"

    @staticmethod
    def forward(ctx, x, value):
        return np.full_like(x, value)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad)


class FillTensor(Op):
    """x.fill_(value), value a 0-dim tensor: FillBackward3; value gets the sum of the gradient."""
    node_name = "FillBackward3"

    @staticmethod
    def forward(ctx, x, value):
        return np.full_like(x, value)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), grad.sum()


class Zero(Fill):
    """x.zero_(): ZeroBackward0, x gets a zero gradient."""
    node_name = "ZeroBackward0"

    @staticmethod
    def forward(ctx, x):
        return np.zeros_like(x)

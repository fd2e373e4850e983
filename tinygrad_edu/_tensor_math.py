"""Tensor methods: arithmetic and its operators, comparisons and logic, elementwise math, matrix products.

The methods are written in the class below as they would be in `Tensor`'s own body; the
bottom of tensor.py adds them to `Tensor` (see there).
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import dtypes, ops
from .ops import _elementwise_fastpath
from .creation import _array, _operand, tensor
from .dtypes import get_default_dtype, result_type
from .tensor import _LEGACY_NAMES, Tensor, _dims

_PY_NUMBERS = (builtins.float, builtins.int)  # exactly these: a bool is no number here


class MathMethods:
    """+ - * / ** @, comparisons, exp, log, relu, clamp, matmul: operands checked and promoted, one op called."""

    # ------------------------------------------------------------ arithmetic
    def _binary(self, other, op, reverse: builtins.bool = False, floating: builtins.bool = False, **kwargs):
        """Promote self and other to one dtype (PyTorch's rules), then apply op."""
        if type(other) in _PY_NUMBERS and not kwargs:  # PERF: no graph to record: one ufunc (see there)
            out = _elementwise_fastpath.number_without_graph(self, other, op, reverse, floating)
            if out is not None:
                return out
        a, b = (other, self) if reverse else (self, other)
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            dt = self._data.dtype
        elif isinstance(other, builtins.float) and self._data.dtype.kind == "f" or \
                isinstance(other, builtins.int) and self._data.dtype.kind in "fi":
            dt = self._data.dtype  # a Python number never widens a tensor of its own kind
        elif isinstance(other, (Tensor, builtins.int, builtins.float, np.number, np.bool_)):
            dt = result_type(a, b).np
        else:
            return NotImplemented
        if floating and dt.kind != "f":
            dt = get_default_dtype().np
        if isinstance(other, Tensor) and other._data.shape != self._data.shape:
            _check_broadcast(a.shape, b.shape)
        return op.apply(_operand(a, dt), _operand(b, dt), *kwargs.values())

    def __add__(self, other):
        return self._binary(other, ops.Add)

    def __radd__(self, other):
        return self._binary(other, ops.Add, reverse=True)

    def __sub__(self, other):
        _check_not_bool_sub(self, other)
        return self._binary(other, ops.Sub)

    def __rsub__(self, other):
        if isinstance(other, (builtins.int, builtins.float)):
            dt = result_type(self, other).np
            return ops.Rsub.apply(_operand(self, dt), other)
        return self._binary(other, ops.Sub, reverse=True)

    def __mul__(self, other):
        return self._binary(other, ops.Mul)

    def __rmul__(self, other):
        return self._binary(other, ops.Mul, reverse=True)

    def __truediv__(self, other):
        return self._binary(other, ops.Div, floating=True)

    def __rtruediv__(self, other):
        if isinstance(other, (builtins.int, builtins.float)):  # PyTorch: other * reciprocal(self)
            return self.reciprocal() * other
        return self._binary(other, ops.Div, reverse=True, floating=True)

    def __floordiv__(self, other):
        return _divide(self, other, np.floor_divide)

    def __mod__(self, other):
        return _divide(self, other, np.mod)

    def __pow__(self, exponent):
        if isinstance(exponent, (builtins.int, builtins.float)):
            x = self if self.is_floating_point() or isinstance(exponent, builtins.int) else self.float()
            return ops.Pow.apply(x, exponent)
        return self._binary(exponent, ops.PowTensor)

    def __rpow__(self, base):
        if isinstance(base, (builtins.int, builtins.float)):
            return ops.RPow.apply(_operand(self, result_type(self, base).np), base)
        return self._binary(base, ops.PowTensor, reverse=True)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return tensor(other).matmul(self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def add(self, other, alpha=1):
        return self._binary(other, ops.Add, alpha=alpha) if alpha != 1 else self + other

    def sub(self, other, alpha=1):
        return self._binary(other, ops.Sub, alpha=alpha) if alpha != 1 else self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def pow(self, exponent):
        return self ** exponent

    def neg(self):
        return -self

    # comparisons and logic: never differentiable
    def _compare(self, other, fn):
        if isinstance(other, Tensor):
            other = other._data
        elif not isinstance(other, (builtins.int, builtins.float, builtins.bool, np.number, np.bool_)):
            return NotImplemented
        with np.errstate(invalid="ignore"):
            return Tensor._make(fn(self._data, other))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def equal(self, other: Tensor) -> builtins.bool:
        return self.shape == other.shape and builtins.bool(np.array_equal(self._data, other._data))

    def __and__(self, other):
        return self._compare(other, np.logical_and if self._data.dtype == np.bool_ else np.bitwise_and)

    def __or__(self, other):
        return self._compare(other, np.logical_or if self._data.dtype == np.bool_ else np.bitwise_or)

    def __xor__(self, other):
        return self._compare(other, np.logical_xor if self._data.dtype == np.bool_ else np.bitwise_xor)

    def __invert__(self):
        return Tensor._make(np.logical_not(self._data) if self._data.dtype == np.bool_ else ~self._data)

    def logical_not(self):
        return Tensor._make(np.logical_not(self._data))

    def isnan(self):
        return Tensor._make(np.isnan(self._data))

    def any(self, dim=None, keepdim=False):
        return Tensor._make(np.any(self._data, axis=_dims(dim, self.ndim), keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor._make(np.all(self._data, axis=_dims(dim, self.ndim), keepdims=keepdim))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> builtins.bool:
        return builtins.bool(np.allclose(self._data, _array(other), rtol, atol, equal_nan))

    # ------------------------------------------------------------ steps (zero gradient, as PyTorch's)
    def sign(self):
        return ops.Sign.apply(self)

    def round(self, decimals=0):
        if decimals and self._data.dtype.kind != "f":
            raise RuntimeError(f'"round_cpu" not implemented for \'{_LEGACY_NAMES[self.dtype.name][6:-6]}\'')
        return ops.Round.apply(self, decimals) if decimals else ops.Round.apply(self)

    def floor(self):
        return ops.Floor.apply(self)

    def ceil(self):
        return ops.Ceil.apply(self)

    def trunc(self):
        return ops.Trunc.apply(self)

    fix = trunc

    def frac(self):
        """x - trunc(x): the gradient passes through (PyTorch's FracBackward0 is grad)."""
        if self._data.dtype.kind != "f":
            raise RuntimeError(f'"frac_cpu" not implemented for \'{_LEGACY_NAMES[self.dtype.name][6:-6]}\'')
        return self - self.trunc()

    # ------------------------------------------------------------ elementwise math
    def _float_unary(self, op):
        return op.apply(self if self._data.dtype.kind == "f" else self.to(get_default_dtype()))

    def exp(self):
        return self._float_unary(ops.Exp)

    def log(self):
        return self._float_unary(ops.Log)

    def sqrt(self):
        return self._float_unary(ops.Sqrt)

    def sin(self):
        return self._float_unary(ops.Sin)

    def cos(self):
        return self._float_unary(ops.Cos)

    def sigmoid(self):
        return self._float_unary(ops.Sigmoid)

    def tanh(self):
        return self._float_unary(ops.Tanh)

    def reciprocal(self):
        return self._float_unary(ops.Reciprocal)

    def log1p(self):
        return self._float_unary(ops.Log1p)

    def erf(self):
        return self._float_unary(ops.Erf)

    def abs(self):
        return ops.Abs.apply(self)

    def relu(self):
        if self._data.dtype == np.bool_:
            raise RuntimeError('"clamp_min_cpu" not implemented for \'Bool\'')
        out = _elementwise_fastpath.relu_without_graph(self)  # PERF: no graph to record (see there)
        return out if out is not None else ops.Relu.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):  # elementwise bounds
            low = min if isinstance(min, Tensor) else _scalar_like(self, -np.inf if min is None else min)
            high = max if isinstance(max, Tensor) else _scalar_like(self, np.inf if max is None else max)
            return ops.ClampTensor.apply(self, low.to(self.dtype), high.to(self.dtype))
        return ops.Clamp.apply(self, min, max)

    clip = clamp

    def maximum(self, other):
        return self._binary(other, ops.Maximum)

    def minimum(self, other):
        return self._binary(other, ops.Minimum)

    def where(self, condition, other):
        """`self` where condition is true, else `other` (Tensor.where's argument order)."""
        cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
        if cond.dtype != np.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{dtypes.from_numpy_dtype(cond.dtype)}")
        return self._binary(other, ops.Where, condition=cond)

    def masked_fill(self, mask, value):
        mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{dtypes.from_numpy_dtype(mask.dtype)}")
        return ops.MaskedFill.apply(self, mask, value.item() if isinstance(value, Tensor) else value)

    # ------------------------------------------------------------ matrix products
    def matmul(self, other: Tensor) -> Tensor:
        """PyTorch's matmul: dot, matrix-vector, matrix-matrix or batched, by the inputs' dims."""
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
        if self._data.ndim == 2 and other._data.ndim == 2:  # the usual case first: mm checks the rest
            return self.mm(other)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
        if a._data.dtype != b._data.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
        if a.ndim == 2 and b.ndim == 2:
            return a.mm(b)
        if a.ndim == 1 and b.ndim == 1:
            return a.dot(b)
        if a.ndim == 2 and b.ndim == 1:
            return a.mv(b)
        if a.ndim == 1 and b.ndim == 2:
            return a.unsqueeze(0).mm(b).squeeze(0)
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else -1]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{list(a.shape)}] but got: [{list(b.shape)}].")
        if b.ndim == 1:
            return ops.Bmm.apply(a, b.unsqueeze(-1)).squeeze(-1)
        if a.ndim == 1:
            return ops.Bmm.apply(a.unsqueeze(0), b).squeeze(-2)
        return ops.Bmm.apply(a, b)

    def mm(self, other: Tensor) -> Tensor:
        _check_mm(self, other)
        out = ops.matmul.mm_without_graph(self, other)  # PERF: None when a graph is recorded
        return out if out is not None else ops.Mm.apply(self, other)

    def mv(self, vec: Tensor) -> Tensor:
        if self.ndim != 2 or vec.ndim != 1 or self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0] if self.ndim else 0}), mat "
                               f"({'x'.join(map(str, self.shape))}), vec ({'x'.join(map(str, vec.shape))})")
        return ops.Mv.apply(self, vec)

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError("inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number "
                               "of elements, but got %d and %d elements respectively"
                               % (self.shape[0], other.shape[0], self.shape[0], other.shape[0]))
        return ops.Dot.apply(self, other)


def _scalar_like(x: Tensor, value) -> Tensor:
    """A 0-d tensor holding `value` in x's dtype (a bound for clamp, broadcast by the op)."""
    return Tensor._make(np.full((), value, x._data.dtype))


def _is_bool(x) -> builtins.bool:
    return isinstance(x, (builtins.bool, np.bool_)) or isinstance(x, Tensor) and x._data.dtype == np.bool_


def _check_not_bool_sub(a, b) -> None:
    if _is_bool(a) and _is_bool(b):  # (no all() over a generator: 0.8 us of every `x - y`)
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")


def _check_broadcast(a: tuple, b: tuple) -> None:
    """PyTorch's message for shapes that do not broadcast (aligned from the last dim)."""
    n = max(len(a), len(b))
    for i in range(n - 1, -1, -1):
        sa, sb = (s[i - n + len(s)] if i - n + len(s) >= 0 else 1 for s in (a, b))
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                               f"non-singleton dimension {i}")


def _check_mm(a: Tensor, b: Tensor) -> None:
    sa, sb = a._data.shape, b._data.shape
    if len(sa) != 2 or len(sb) != 2:
        raise RuntimeError(f"{'self' if len(sa) != 2 else 'mat2'} must be a matrix")
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")


def _divide(x: Tensor, other, fn) -> Tensor:
    """`x // other` or `x % other` (not differentiable) in PyTorch's result dtype. An integer
    division by zero is refused as PyTorch does (NumPy would return 0 with a warning); floats
    give inf and nan."""
    if not isinstance(other, (Tensor, builtins.int, builtins.float, builtins.bool, np.number, np.bool_)):
        return NotImplemented
    dt = result_type(x, other).np
    d = np.asarray(_array(other), dt)
    if dt.kind in "iu" and not np.all(d):
        raise RuntimeError("ZeroDivisionError")
    return Tensor._make(fn(x._data.astype(dt, copy=False), d))


# ---------------------------------------------------------------- einsum (torch.einsum, a function)

def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as torch.einsum (operands given one by one or as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum(): operands must be Tensors")
    n_subs = len(equation.split("->")[0].split(","))
    if n_subs != len(operands):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if n_subs < len(operands) else "einsum(): fewer operands were provided than specified in "
                         "the equation")
    eq = _explicit_einsum(equation.replace(" ", ""), [t.dim() for t in operands])
    dt = result_type(*operands).np if len(operands) > 1 else operands[0]._data.dtype
    subs, output = eq.split("->")
    for c in output:
        if output.count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    pairs = [_einsum_diagonals(sub, _operand(t, dt), i) for i, (sub, t) in enumerate(zip(subs.split(","), operands))]
    if len(pairs) == 2 and dt in (np.float32, np.float64) and _same_sizes(*pairs):
        return _einsum_as_bmm(*pairs, output)
    return ops.Einsum.apply(",".join(sub for sub, _ in pairs) + "->" + output, *[t for _, t in pairs])


def _same_sizes(a: tuple, b: tuple) -> bool:
    """Whether each index the two operands share has one size in both (no size-1 broadcasting)."""
    (sa, ta), (sb, tb) = a, b
    return all(ta.shape[sa.index(c)] == tb.shape[sb.index(c)] for c in set(sa) & set(sb))


def _einsum_as_bmm(a: tuple, b: tuple, output: str) -> Tensor:
    """A two-operand einsum as one batched matrix product on the matmul kernel (PERF: NumPy's
    einsum does not use BLAS; 9x slower for 'bij,bjk->bik' at 8x128x128), as PyTorch computes it:
    indices in one operand only are summed first; then batch indices (in both and the output),
    left (A's and the output's), contracted (in both, not the output), right (B's and the
    output's) are each flattened into one dim: (batch, left, contracted) @ (batch, contracted,
    right). Made of Tensor ops (sum, permute, reshape, matmul), so the backward comes with them."""
    (sa, ta), (sb, tb) = a, b
    ta, sa = _sum_out(ta, sa, set(sb) | set(output))
    tb, sb = _sum_out(tb, sb, set(sa) | set(output))
    batch = [c for c in output if c in sa and c in sb]
    left = [c for c in output if c in sa and c not in sb]
    right = [c for c in output if c in sb and c not in sa]
    contracted = [c for c in sa if c in sb and c not in output]
    size = {**{c: n for c, n in zip(sa, ta.shape)}, **{c: n for c, n in zip(sb, tb.shape)}}
    count = lambda letters: math.prod(size[c] for c in letters)  # noqa: E731
    a3 = ta.permute([sa.index(c) for c in batch + left + contracted]).reshape(count(batch), count(left),
                                                                              count(contracted))
    b3 = tb.permute([sb.index(c) for c in batch + contracted + right]).reshape(count(batch), count(contracted),
                                                                               count(right))
    order = batch + left + right
    out = (a3 @ b3).reshape([size[c] for c in order])
    return out.permute([order.index(c) for c in output])


def _sum_out(t: Tensor, sub: str, keep: set) -> tuple:
    """Sum t over the indices not in `keep` (those only this operand has)."""
    dims = [i for i, c in enumerate(sub) if c not in keep]
    if not dims:
        return t, sub
    return t.sum(dim=tuple(dims)), "".join(c for c in sub if c in keep)


def _einsum_diagonals(sub: str, t: Tensor, i: int) -> tuple:
    """An operand whose subscript repeats an index ('ii', 'bii', 'iij') replaced by its diagonal
    over the repeated dims, as PyTorch does: a view, whose backward writes the gradient into
    the diagonal. Returns (subscript without repeats, tensor)."""
    while len(set(sub)) < len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        d1, d2 = sub.index(c), sub.index(c, sub.index(c) + 1)
        if t.shape[d1] != t.shape[d2]:
            raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the sizes don't match, "
                               f"{t.shape[d2]} != {t.shape[d1]}")
        t = t.diagonal(0, d1, d2)  # the diagonal goes last
        sub = sub[:d1] + sub[d1 + 1:d2] + sub[d2 + 1:] + c
    return sub, t


def _explicit_einsum(equation: str, ndims: list) -> str:
    """The equation with '...' spelt out as letters and the output written after '->' (NumPy's implicit rule)."""
    lhs, arrow, rhs = equation.partition("->")
    subs = lhs.split(",")
    used = set(equation) - set(".,->")
    pool = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = builtins.max([nd - (len(s) - 3) for s, nd in zip(subs, ndims) if "..." in s], default=0)
    ell = "".join(pool[:n_ell])
    subs = [s.replace("...", ell[n_ell - (nd - (len(s) - 3)):]) if "..." in s else s for s, nd in zip(subs, ndims)]
    if not arrow:
        letters = "".join(subs)
        rhs = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    return ",".join(subs) + "->" + rhs

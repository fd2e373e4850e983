"""Matrix products: mm, addmm (the Linear layer), mv, dot, bmm/matmul (C kernels in csrc/matmul.c); einsum.

The kernels take float32/float64 only; other dtypes (ints) use NumPy's matmul. Operands go to
the kernels as they are: transposed and sliced views are read in place, not copied.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Op, Tensor, wrap
from ..backend.checks import FLOAT_DTYPES
from .elementwise import _save_partners


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2-D product through the active backend's kernel for floats, NumPy for the rest."""
    return backend.kernels.matmul(a, b) if a.dtype in FLOAT_DTYPES else a @ b


def _is_transposed(x: np.ndarray) -> bool:
    """A matrix stored column by column, like the ``W.t()`` a Linear layer multiplies by."""
    return x.ndim == 2 and x.strides[0] < x.strides[1]


def _mm_backward(grad, a, b, need_a: bool, need_b: bool, b_transposed: bool) -> tuple:
    """Gradients of C = A B (Tensors): dA = dC B^T, dB = A^T dC, each None unless needed
    (A is None unless dB is needed, B None unless dA is: see `_save_partners`).

    When B is a transposed view (the ``W.t()`` of ``addmm(b, x, W.t())``), dB is computed
    as (dC^T A)^T: the product then lands in W's own row-major layout, so the gradient
    reaching ``W.grad`` through TBackward0 needs no copy. PyTorch does the same (a
    gradient takes its parameter's layout). With grad mode off -- every backward except
    ``create_graph=True`` -- this calls the kernels on the arrays directly (no graph to
    record, no op overhead); otherwise it uses Tensor ops, so the result is differentiable.
    """
    if grad_mode.is_grad_enabled():
        da = grad.mm(b.t()) if need_a else None
        if not need_b:
            return da, None
        return da, grad.t().mm(a).t() if b_transposed else a.t().mm(grad)
    g = grad._data
    x, w = (None if a is None else a._data), (None if b is None else b._data)
    if g.dtype in FLOAT_DTYPES and b_transposed:  # the Linear layer: w.T is the weight itself, one call
        dx, dw, _ = backend.kernels.linear_backward(g, x, None if w is None else w.T, need_a, need_b, False)
        return (None if dx is None else wrap(dx)), (None if dw is None else wrap(dw.T))
    return (wrap(_matmul(g, w.T)) if need_a else None), (wrap(_matmul(x.T, g)) if need_b else None)


class Mm(Op):
    """C = A B; dA = dC B^T, dB = A^T dC."""
    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        ctx.b_transposed = _is_transposed(b)
        return _matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _mm_backward(grad, a, b, ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.b_transposed)


class Addmm(Op):
    """out = beta * bias + alpha * (A B): the Linear layer's forward in one node, as PyTorch.

    For ``addmm(b, x, W.t())`` (F.linear's 2-D case) this is one ``linear`` kernel call:
    W is read in place and the bias is added as each tile of the output is stored. Its
    backward is one ``linear_backward`` call too: dx, dW and db (the bias gradient, summed
    over the batch) together, whichever of them are needed.
    """
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, bias, a, b, beta=1, alpha=1):
        plain = (beta == 1 and alpha == 1 and bias.shape == b.shape[1:] and a.dtype in FLOAT_DTYPES
                 and b.dtype == a.dtype and bias.dtype == a.dtype)  # one linear kernel call
        if ctx.needs_input_grad:  # PERF: nothing to keep when no graph is recorded
            ctx.beta, ctx.alpha, ctx.bias_shape = beta, alpha, bias.shape
            _save_partners(ctx, a, b, first=1)
            ctx.b_transposed = _is_transposed(b)
            # the Linear layer (F.linear's 2-D case): its backward is one linear_backward call
            ctx.linear = plain and ctx.b_transposed
        if plain:
            return backend.kernels.linear(a, b.T, bias)
        out = _matmul(a, b)
        if alpha != 1:
            out *= alpha
        out += bias if beta == 1 else beta * bias
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        # PERF (issue 14): dx, dW and db in one kernel call, with no Tensor op around it: ~3 us a layer
        # less than the general path below (which is the reference; tests/test_matmul.py checks both on torch)
        if ctx.linear and not grad_mode._enabled:
            dx, dw, db = backend.kernels.linear_backward(
                grad._data, None if a is None else a._data, None if b is None else b._data.T, need[1], need[2],
                need[0])
            return (None if db is None else wrap(db), None if dx is None else wrap(dx),
                    None if dw is None else wrap(dw.T))
        g = grad if ctx.alpha == 1 else grad * ctx.alpha
        d_bias = None
        if need[0]:
            d_bias = grad if ctx.beta == 1 else grad * ctx.beta
            if len(ctx.bias_shape) == 1 and not grad_mode.is_grad_enabled():  # the engine would sum it in two ops
                d_bias = wrap(d_bias._data.sum(0))
        return (d_bias, *_mm_backward(g, a, b, need[1], need[2], ctx.b_transposed))


# ---------------------------------------------------------------- PERF: products without a graph
# Measured on the 64x64x10 product of the notes' MLP (issue 14), where the C call takes ~1.2 us:
# with no graph to record, Mm/Addmm.apply's node, argument loops and saved-tensor bookkeeping
# cost ~1.3 us, and F.linear's `weight.t()` view another ~1 us. These two do the same with one
# kernel call and one Tensor; None means "not the plain case": the caller takes the op. Tested
# against the ops (tests/test_matmul_small.py).
_FLOATS = frozenset(FLOAT_DTYPES)  # `dtype in` hashes once instead of comparing with each


def mm_without_graph(a: Tensor, b: Tensor):
    """``a.mm(b)`` for checked 2-D ``a``, ``b`` of one float dtype when no graph is recorded, else None."""
    x = a._data
    if x.dtype in _FLOATS and not (grad_mode._enabled and (a._requires_grad or b._requires_grad)):
        return wrap(backend.kernels.matmul(x, b._data))
    return None


def linear_without_graph(x: Tensor, weight: Tensor, bias: Tensor):
    """``F.linear(x, weight, bias)`` for a 2-D ``x`` when no graph is recorded and the arguments are the
    plain case (2-D weight, 1-D bias, one float dtype, fitting shapes), else None."""
    if not (isinstance(weight, Tensor) and isinstance(bias, Tensor)):
        return None
    if grad_mode._enabled and (x._requires_grad or weight._requires_grad or bias._requires_grad):
        return None
    a, w, b = x._data, weight._data, bias._data
    if (a.dtype in _FLOATS and w.dtype == a.dtype and b.dtype == a.dtype and w.ndim == 2 and b.ndim == 1
            and a.shape[1] == w.shape[1] and b.shape[0] == w.shape[0]):
        return wrap(backend.kernels.linear(a, w, b))
    return None


class Mv(Op):
    node_name = "MvBackward0"

    @staticmethod
    def forward(ctx, a, v):
        _save_partners(ctx, a, v)
        return a @ v

    @staticmethod
    def backward(ctx, grad):
        a, v = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (grad.unsqueeze(1) * v if need[0] else None), (a.t().mv(grad) if need[1] else None)


class Dot(Op):
    node_name = "DotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        return np.dot(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (grad * b if need[0] else None), (grad * a if need[1] else None)


class Bmm(Op):
    """Batched, broadcasting matmul of tensors with >= 3 dims (or one of them).

    Float32/64 run on the ``bmm`` kernel: broadcast batch dims become stride-0 views (not
    copies), and a 2-D right operand shared by the whole batch folds the batch into the
    rows of one ``matmul``.
    """
    node_name = "BmmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_partners(ctx, a, b)
        if not (a.dtype in FLOAT_DTYPES and b.dtype == a.dtype):
            return np.matmul(a, b)
        (m, k), n = a.shape[-2:], b.shape[-1]
        if b.ndim == 2:  # sizes spelled out: reshape(-1, ...) is ambiguous with a 0 in them
            return _matmul(a.reshape(math.prod(a.shape[:-1]), k), b).reshape(a.shape[:-1] + (n,))
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        count = math.prod(batch)
        a3 = np.broadcast_to(a, batch + (m, k)).reshape(count, m, k)
        b3 = np.broadcast_to(b, batch + (k, n)).reshape(count, k, n)
        return backend.kernels.bmm(a3, b3).reshape(batch + (m, n))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (grad @ b.transpose(-1, -2) if need[0] else None), (a.transpose(-1, -2) @ grad if need[1] else None)


class Einsum(Op):
    """np.einsum(equation, *operands); each operand's gradient is an einsum of the output's gradient
    with the other operands (indices only that operand sums over are broadcast back)."""
    node_name = "EinsumBackward0"  # PyTorch records the products einsum decomposes into

    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        return np.asarray(np.einsum(equation, *operands, optimize=len(operands) > 2))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        subs = inputs.split(",")
        grads = [None]
        for i, sub in enumerate(subs):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            if len(set(sub)) != len(sub):
                raise RuntimeError(f"einsum backward: operand {i} repeats an index ('{sub}', a diagonal); "
                                   "not supported here")
            others = [s for j, s in enumerate(subs) if j != i]
            present = set(output).union(*others)
            target = "".join(c for c in sub if c in present)
            eq = ",".join([output] + others) + "->" + target
            g = Einsum.apply(eq, grad, *[o for j, o in enumerate(operands) if j != i])
            if target != sub:  # indices only this operand had: the gradient is constant along them
                shape = [operands[i].shape[k] for k in range(len(sub))]
                view = [shape[k] if c in present else 1 for k, c in enumerate(sub)]
                g = g.reshape(*view).expand(*shape)
            grads.append(g)
        return tuple(grads)

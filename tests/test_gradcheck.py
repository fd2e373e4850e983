"""Every differentiable op through `autograd.gradcheck` (central differences, float64): the suite
proves gradients without torch too. Random inputs away from kinks; broadcast shapes, size-1 and
size-0 dims, and non-contiguous views as inputs. `gradgradcheck` proves second derivatives
through `create_graph=True`. Last, gradcheck must catch a deliberately wrong backward.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def inputs(*specs, low=-2.0, high=2.0, seed=0):
    """float64 leaves requiring grad: shapes are random uniform in [low, high), arrays used as given."""
    rng = np.random.default_rng(seed)
    out = []
    for s in specs:
        arr = s.astype(np.float64) if isinstance(s, np.ndarray) else rng.uniform(low, high, s)
        out.append(tg.tensor(arr, requires_grad=True))
    return tuple(out)


def away_from_zero(shape, seed=1):
    """Magnitudes in [0.5, 2) with random signs: no kink of abs/relu/div nearby."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def case(name, fn, *specs, **kw):
    return pytest.param(fn, specs, kw, id=name)


def inplace_add(x, y):
    z = x * 1
    z += y
    return z


def inplace_mul_div(x, y):
    z = x * 1
    z.mul_(y)
    z.div_(y * y + 1)
    return z


def setitem_nonleaf(x, v):
    y = x * 2
    y[1:3] = v
    return y


def setitem_advanced(x, v):
    y = x.exp()
    z = y * 1
    z[tg.tensor([0, 2])] = v
    return z


POS = {"low": 0.3, "high": 2.0}

CASES = [
    # elementwise, two inputs (and broadcasting)
    case("add", lambda x, y: x + y, (3, 4), (3, 4)),
    case("add_broadcast", lambda x, y: x + y, (3, 1), (1, 4)),
    case("add_alpha", lambda x, y: x.add(y, alpha=-2.5), (3, 4), (4,)),
    case("sub", lambda x, y: x - y, (2, 1, 3), (4, 1)),
    case("sub_alpha", lambda x, y: x.sub(y, alpha=3), (3,), (2, 3)),
    case("mul", lambda x, y: x * y, (3, 4), (3, 4)),
    case("mul_broadcast", lambda x, y: x * y, (4,), (3, 4)),
    case("mul_scalar_tensor", lambda x, y: x * y, (), (2, 3)),
    case("div", lambda x, y: x / y, (3, 4), away_from_zero((3, 4))),
    case("div_broadcast", lambda x, y: x / y, (2, 1, 3), away_from_zero((4, 1))),
    case("pow_scalar", lambda x: x ** 3, (3, 4)),
    case("pow_fractional", lambda x: x ** 1.5, (3, 4), **POS),
    case("pow_negative", lambda x: x ** -2, (3, 4), **POS),
    case("pow_tensor", lambda x, y: x ** y, (3, 4), (3, 4), **POS),
    case("pow_tensor_broadcast", lambda x, y: x ** y, (3, 1), (4,), **POS),
    case("rpow", lambda x: 1.7 ** x, (3, 4)),
    case("radd_rsub_rmul", lambda x: 3.0 - 2.0 * (1.5 + x), (3, 4)),
    case("rdiv", lambda x: 2.0 / x, away_from_zero((3, 4))),
    case("maximum", lambda x, y: tg.maximum(x, y), (3, 4), (3, 4)),
    case("maximum_broadcast", lambda x, y: tg.maximum(x, y), (3, 1), (1, 4)),
    case("minimum", lambda x, y: tg.minimum(x, y), (3, 4), (4,)),
    case("where", lambda x, y: tg.where(x > 0, x, y), (3, 4), (3, 4)),
    case("where_broadcast", lambda x, y: tg.where(x > 0, x, y), (3, 1), (1, 4)),
    case("where_scalar", lambda x: tg.where(x > 0, x * x, 0.5), (3, 4)),
    # elementwise, one input
    case("neg", lambda x: -x, (3, 4)),
    case("abs", lambda x: x.abs(), away_from_zero((3, 4))),
    case("exp", lambda x: x.exp(), (3, 4)),
    case("log", lambda x: x.log(), (3, 4), **POS),
    case("sqrt", lambda x: x.sqrt(), (3, 4), **POS),
    case("sin", lambda x: x.sin(), (3, 4)),
    case("cos", lambda x: x.cos(), (3, 4)),
    case("sigmoid", lambda x: x.sigmoid(), (3, 4), low=-5, high=5),
    case("tanh", lambda x: x.tanh(), (3, 4)),
    case("relu", lambda x: x.relu(), away_from_zero((3, 4))),
    case("clamp_both", lambda x: x.clamp(-0.25, 0.25), np.array([[-1.0, -0.1, 0.0, 0.2], [0.6, -0.6, 0.1, 2.0]])),
    case("clamp_min", lambda x: x.clamp(min=0.1), np.array([[-1.0, -0.1, 0.0, 0.2], [0.6, -0.6, 0.15, 2.0]])),
    case("clamp_max", lambda x: x.clamp(max=0.1), np.array([[-1.0, -0.1, 0.0, 0.2], [0.6, -0.6, 0.15, 2.0]])),
    # in place, on non-leaf tensors
    case("iadd", inplace_add, (3, 4), (4,)),
    case("mul_div_inplace", inplace_mul_div, (3, 4), (3, 4)),
    # matrix products
    case("matmul_1d_1d", lambda x, y: x @ y, (4,), (4,)),
    case("matmul_2d_1d", lambda x, y: x @ y, (3, 4), (4,)),
    case("matmul_1d_2d", lambda x, y: x @ y, (4,), (4, 3)),
    case("matmul_2d_2d", lambda x, y: x @ y, (3, 4), (4, 2)),
    case("matmul_3d_3d", lambda x, y: x @ y, (2, 3, 4), (2, 4, 2)),
    case("matmul_3d_2d", lambda x, y: x @ y, (2, 3, 4), (4, 2)),
    case("matmul_3d_1d", lambda x, y: x @ y, (2, 3, 4), (4,)),
    case("matmul_broadcast_batch", lambda x, y: x @ y, (2, 1, 2, 3), (3, 3, 2)),
    case("mm", lambda x, y: tg.mm(x, y), (3, 4), (4, 2)),
    case("dot", lambda x, y: tg.dot(x, y), (5,), (5,)),
    case("addmm", lambda b, x, y: tg.addmm(b, x, y), (2,), (3, 4), (4, 2)),
    case("addmm_beta_alpha", lambda b, x, y: tg.addmm(b, x, y, beta=0.5, alpha=-2.0), (3, 2), (3, 4), (4, 2)),
    # reductions
    case("sum", lambda x: x.sum(), (3, 4)),
    case("sum_dim", lambda x: x.sum(1), (2, 3, 4)),
    case("sum_tuple_keepdim", lambda x: x.sum((0, -1), keepdim=True), (2, 3, 4)),
    case("mean", lambda x: x.mean(), (3, 4)),
    case("mean_dim", lambda x: x.mean(-1), (2, 3, 4)),
    case("mean_tuple_keepdim", lambda x: x.mean((0, 2), keepdim=True), (2, 3, 4)),
    case("var", lambda x: x.var(), (3, 4)),
    case("var_dim", lambda x: x.var(1, keepdim=True), (3, 4)),
    case("var_correction0", lambda x: x.var(0, correction=0), (3, 4)),
    case("std", lambda x: x.std(), (3, 4)),
    case("std_dim", lambda x: x.std(-1), (3, 4)),
    case("std_unbiased_false", lambda x: x.std((0, 1), unbiased=False), (2, 3, 2)),
    case("max_all", lambda x: x.max(), (3, 4)),
    case("min_all", lambda x: x.min(), (3, 4)),
    case("max_dim", lambda x: x.max(1).values, (3, 4)),
    case("min_dim_keepdim", lambda x: x.min(0, keepdim=True).values, (3, 4)),
    case("amax_dim", lambda x: x.amax(1), (3, 4)),
    case("softmax", lambda x: x.softmax(-1), (3, 4)),
    case("softmax_dim0", lambda x: x.softmax(0), (3, 4)),
    case("log_softmax", lambda x: x.log_softmax(1), (3, 4)),
    case("logsumexp", lambda x: x.logsumexp(1), (3, 4)),
    case("logsumexp_tuple", lambda x: x.logsumexp((0, 1)), (3, 4)),
    case("softmax_big_logits", lambda x: x.softmax(-1), np.array([[1e4, 1e4 + 0.5, 1e4 - 1.0]])),
    # shapes and views
    case("view", lambda x: x.view(2, 6), (3, 4)),
    case("reshape_copy", lambda x: x.t().reshape(-1), (3, 4)),
    case("flatten", lambda x: x.flatten(1), (2, 3, 2)),
    case("unsqueeze", lambda x: x.unsqueeze(1), (3, 4)),
    case("squeeze", lambda x: x.squeeze(), (3, 1, 4)),
    case("squeeze_dim", lambda x: x.squeeze(1), (3, 1, 4)),
    case("transpose", lambda x: x.transpose(0, 2), (2, 3, 2)),
    case("permute", lambda x: x.permute(1, 2, 0), (2, 3, 2)),
    case("T", lambda x: x.T * tg.arange(3.0, dtype=tg.float64), (3, 4)),
    case("t", lambda x: x.t(), (3, 4)),
    case("expand", lambda x: x.expand(3, 4) * tg.arange(12.0, dtype=tg.float64).view(3, 4), (3, 1)),
    case("contiguous", lambda x: x.t().contiguous(), (3, 4)),
    # indexing
    case("index_int", lambda x: x[1], (3, 4)),
    case("index_slices", lambda x: x[::2, 1:3], (5, 4)),
    case("index_none_ellipsis", lambda x: x[None, ..., 1], (3, 4)),
    case("index_repeated", lambda x: x[tg.tensor([0, 2, 0, 0])], (3, 4)),
    case("index_two_arrays", lambda x: x[tg.tensor([0, 1, 1]), tg.tensor([3, 0, 0])], (3, 4)),
    case("index_mask", lambda x: x[x > 0], (3, 4)),
    case("index_mixed", lambda x: x[1:, tg.tensor([2, 2, 0])], (3, 4)),
    case("setitem_slice", setitem_nonleaf, (4, 3), (2, 3)),
    case("setitem_advanced", setitem_advanced, (4, 3), (3,)),
    # joining and splitting
    case("cat", lambda x, y: tg.cat([x, y], 1), (3, 2), (3, 4)),
    case("stack", lambda x, y: tg.stack([x, y], -1), (3, 4), (3, 4)),
    case("split", lambda x: x.split(2)[1] * x.split(2)[0], (4, 3)),
    case("split_all", lambda x: x.split([1, 2], dim=1), (3, 3)),
    case("chunk", lambda x: x.chunk(3, 1), (2, 6)),
    case("unbind", lambda x: x.unbind(1), (3, 2)),
    # size-1 and size-0 dims
    case("size1_mul", lambda x, y: x * y, (1, 4), (3, 1)),
    case("size1_softmax", lambda x: x.softmax(-1), (3, 1)),
    case("size1_matmul", lambda x, y: x @ y, (1, 1), (1, 3)),
    case("size1_sum", lambda x: x.sum(0), (1, 5)),
    case("size0_sum", lambda x: x.sum(), (0, 3)),
    case("size0_add_broadcast", lambda x, y: x + y, (0, 3), (3,)),
    case("size0_matmul", lambda x, y: x @ y, (0, 3), (3, 2)),
    case("size0_inner_matmul", lambda x, y: x @ y, (2, 0), (0, 3)),
    case("size0_cat", lambda x, y: tg.cat([x, y]), (0, 3), (2, 3)),
    # non-contiguous views as inputs
    case("noncontig_exp", lambda x: x.t().exp(), (3, 4)),
    case("noncontig_mul", lambda x, y: x.t() * y[::2], (4, 3), (6, 4)),
    case("noncontig_div", lambda x, y: x[:, ::2] / y.t(), (3, 8), away_from_zero((4, 3))),
    case("noncontig_matmul", lambda x, y: x.t() @ y.t(), (4, 3), (2, 4)),
    case("noncontig_bmm", lambda x, y: x.transpose(1, 2) @ y, (2, 4, 3), (2, 4, 2)),
    case("noncontig_sum", lambda x: x.permute(2, 0, 1).sum((0, 2)), (2, 3, 4)),
    case("noncontig_var", lambda x: x[:, ::2].var(0), (4, 6)),
    case("noncontig_softmax", lambda x: x.t().log_softmax(0), (3, 4)),
    case("noncontig_max", lambda x: x.t().max(1).values, (3, 4)),
    # a whole expression
    case("mlp", lambda x, w, b: (x @ w + b).tanh().logsumexp(1).mean(), (5, 4), (4, 3), (3,)),
]


@pytest.mark.parametrize("fn,specs,kw", CASES)
def test_gradcheck(fn, specs, kw):
    assert gradcheck(fn, inputs(*specs, **kw))


GRADGRAD = [
    case("mul", lambda x, y: x * y, (3, 4), (3, 4)),
    case("mul_broadcast", lambda x, y: x * y * x, (3, 1), (4,)),
    case("div", lambda x, y: x / y, (3, 4), away_from_zero((3, 4))),
    case("exp", lambda x: x.exp(), (3, 4)),
    case("sigmoid", lambda x: x.sigmoid(), (3, 4)),
    case("tanh", lambda x: x.tanh(), (3, 4)),
    case("pow_scalar", lambda x: x ** 3, (3, 4)),
    case("pow_tensor", lambda x, y: x ** y, (3, 4), (3, 4), **POS),
    case("rpow", lambda x: 2.0 ** x, (3, 4)),
    case("matmul", lambda x, y: x @ y, (3, 4), (4, 2)),
    case("matmul_batched", lambda x, y: x @ y, (2, 3, 4), (4, 2)),
    case("softmax", lambda x: x.softmax(-1), (3, 4)),
    case("log_softmax", lambda x: x.log_softmax(1), (3, 4)),
    case("sum", lambda x: x.sum(1), (3, 4)),
    case("sum_squared", lambda x: x.sum(1) ** 2, (3, 4)),
    case("mean", lambda x: x.mean(0), (3, 4)),
    case("mean_times_x", lambda x: x.mean(0, keepdim=True) * x, (3, 4)),
    case("logsumexp", lambda x: x.logsumexp(1), (3, 4)),
    case("logsumexp_keepdim", lambda x: x.logsumexp(1, keepdim=True), (3, 4)),
    case("var", lambda x: x.var(1), (3, 4)),
    case("std", lambda x: x.std(0), (3, 4)),
    case("sin_cos", lambda x: x.sin() * x.cos(), (3, 4)),
    case("addmm", lambda b, x, y: tg.addmm(b, x, y) ** 2, (2,), (3, 4), (4, 2)),
    case("mlp", lambda x, w, b: (x @ w + b).tanh().logsumexp(1).mean(), (5, 4), (4, 3), (3,)),
    case("sqrt_log", lambda x: x.sqrt() + x.log(), (3, 4), **POS),
]


@pytest.mark.parametrize("fn,specs,kw", GRADGRAD)
def test_gradgradcheck(fn, specs, kw):
    assert gradgradcheck(fn, inputs(*specs, **kw))


# ---------------------------------------------------------------- gradcheck itself can fail

class GoodSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class BadSquare(Function):
    """d(x^2)/dx is 2x; this backward forgets the 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return x * grad


class BadSecondInput(Function):
    """x * y whose gradient for y is wrong (uses y instead of x): only input 1 is off."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, grad * y


def test_gradcheck_passes_a_correct_custom_function():
    assert gradcheck(GoodSquare.apply, inputs((3, 4)))
    assert gradgradcheck(GoodSquare.apply, inputs((3, 4)))


def test_gradcheck_fails_a_wrong_custom_backward():
    (x,) = inputs((3, 4))
    with pytest.raises(GradcheckError):
        gradcheck(BadSquare.apply, (x,))
    assert gradcheck(BadSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_fails_when_only_the_second_input_is_wrong():
    x, y = inputs((3,), (3,))
    assert gradcheck(BadSecondInput.apply, (x, y), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(BadSecondInput.apply, (x, y))


def test_gradgradcheck_fails_a_wrong_backward():
    """Alone, BadSquare's wrong first derivative (x) is self-consistent to differentiate again; in
    t * BadSquare(t) the first derivative computed is g = s + t*t with s = BadSquare(t) = t^2, so
    g = 2t^2 numerically (derivative 4t) but backward through BadSquare gives t + 2t = 3t."""
    (x,) = inputs((4,))
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda t: BadSquare.apply(t) * t, (x,))


def test_gradcheck_accepts_non_differentiable_inputs():
    (x,) = inputs((3,))
    const = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)
    assert gradcheck(lambda a, b: a * b, (x, const))

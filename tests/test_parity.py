"""Parity with torch for every op of API.md's "Tensor" section: values, dtypes, shapes, node
names and every gradient, one line per op through `helpers.check_op`, in float32 and float64, on
both kernel backends (C and NumPy).

Documented differences (node_name=False below): a whole basic index such as `x[..., None]` or
`x[None, 1]` is one SliceBackward0 node here where torch chains Unsqueeze/Select/Alias nodes;
batched matmul records BmmBackward0 where torch records UnsafeViewBackward0 (it folds the batch
into an mm and views the result back).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from helpers import check_op, dtype_name, node_name_of

DTYPES = ["float32", "float64"]
# Every test runs on both kernel backends (tests/conftest.py's backend_name): the C-vs-NumPy self-check.
# torch warns where var/std have no degrees of freedom; both libraries then give nan, as compared.
# The edge cases (0 ** -1, the mean of nothing, var of one element) make NumPy warn inside our ops, where
# torch is silent; both libraries give inf/nan, as compared.
NUMPY_EDGE_WARNINGS = [pytest.mark.filterwarnings(f"ignore:{m}:RuntimeWarning") for m in (
    "divide by zero encountered", "invalid value encountered", "Mean of empty slice", "Degrees of freedom <= 0")]
pytestmark = [pytest.mark.usefixtures("backend_name"),
              pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning"), *NUMPY_EDGE_WARNINGS]
F32_REDUCE = {"rtol": 1e-5, "atol": 1e-5}  # float32 sums over many elements: torch adds in another order


def case(name, fn, *inputs, **kw):
    return pytest.param(fn, inputs, kw, id=name)


def run(fn, inputs, kw, dtype, **extra):
    kw = dict(kw)
    loose = kw.pop("f32", None)
    if dtype == "float32" and loose:
        kw.update(loose)
    check_op(fn, *inputs, dtype=dtype, **kw, **extra)


def inplace_iadd(lib, x, y):
    z = x * 1
    z += y
    return z


def inplace_isub(lib, x, y):
    z = x * 1
    z -= y
    return z


def inplace_imul(lib, x, y):
    z = x * 1
    z *= y
    return z


def inplace_idiv(lib, x, y):
    z = x * 1
    z /= y
    return z


def inplace_scalar(lib, x):
    z = x * 1
    z += 2
    z *= 3.0
    return z


POSITIVE = {"low": 0.2, "high": 3.0}
AWAY_FROM_ZERO = np.array([[-2.0, -1.5, -0.7, 0.6], [0.9, 1.3, -1.1, 1.9], [-0.5, 0.8, 1.7, -1.8]])

# ---------------------------------------------------------------- elementwise (also run on non-contiguous leaves)

BINARY = [
    case("add", lambda lib, x, y: x + y, (3, 4), (3, 4)),
    case("sub", lambda lib, x, y: x - y, (3, 4), (3, 4)),
    case("mul", lambda lib, x, y: x * y, (3, 4), (3, 4)),
    case("div", lambda lib, x, y: x / y, (3, 4), AWAY_FROM_ZERO),
    case("add_fn", lambda lib, x, y: lib.add(x, y), (3, 4), (3, 4)),
    case("add_alpha", lambda lib, x, y: x.add(y, alpha=2.5), (3, 4), (3, 4)),
    case("sub_alpha", lambda lib, x, y: lib.sub(x, y, alpha=-3), (3, 4), (3, 4)),
    case("mul_fn", lambda lib, x, y: lib.mul(x, y), (3, 4), (3, 4)),
    case("div_fn", lambda lib, x, y: lib.div(x, y), (3, 4), AWAY_FROM_ZERO),
    case("pow_tensor", lambda lib, x, y: x ** y, (3, 4), (3, 4), **POSITIVE),
    case("pow_fn_tensor", lambda lib, x, y: lib.pow(x, y), (3, 4), (3, 4), **POSITIVE),
    case("maximum", lambda lib, x, y: lib.maximum(x, y), (3, 4), (3, 4)),
    case("minimum", lambda lib, x, y: lib.minimum(x, y), (3, 4), (3, 4)),
    case("maximum_method", lambda lib, x, y: x.maximum(y), (3, 4), (3, 4)),
    case("max_elementwise", lambda lib, x, y: lib.max(x, y), (3, 4), (3, 4)),
    case("min_elementwise", lambda lib, x, y: lib.min(x, y), (3, 4), (3, 4)),
    case("where", lambda lib, x, y: lib.where(x > 0, x, y), (3, 4), (3, 4)),
    case("where_method", lambda lib, x, y: x.where(y < 0, y), (3, 4), (3, 4)),
    case("where_scalar_other", lambda lib, x: lib.where(x > 0, x, 0.5), (3, 4)),
    case("where_scalar_input", lambda lib, x: lib.where(x > 0, -1.5, x), (3, 4)),
    case("unused_input_grad_is_none", lambda lib, x, y: x * 2, (3, 4), (3, 4)),
    case("int_input_grad_is_none", lambda lib, x, i: x * i, (3, 4), np.array([1, -2, 3, 0])),
    # reflected forms: the number is a constant, the tensor the only input
    case("radd", lambda lib, x: 2.5 + x, (3, 4)),
    case("rsub", lambda lib, x: 2.5 - x, (3, 4)),
    case("rsub_int", lambda lib, x: 3 - x, (3, 4)),
    case("rmul", lambda lib, x: 2.5 * x, (3, 4)),
    case("rdiv", lambda lib, x: 2.5 / x, AWAY_FROM_ZERO),
    case("rpow", lambda lib, x: 2.5 ** x, (3, 4)),
    case("add_scalar", lambda lib, x: x + 2, (3, 4)),
    case("sub_scalar", lambda lib, x: x - 0.5, (3, 4)),
    case("mul_scalar", lambda lib, x: x * -3, (3, 4)),
    case("div_scalar", lambda lib, x: x / 4, (3, 4)),
    case("pow_2", lambda lib, x: x ** 2, (3, 4)),
    case("pow_3", lambda lib, x: x.pow(3), (3, 4)),
    case("pow_half", lambda lib, x: x ** 0.5, (3, 4), **POSITIVE),
    case("pow_neg", lambda lib, x: x ** -1.5, (3, 4), **POSITIVE),
    case("pow_0", lambda lib, x: x ** 0, (3, 4)),
    # in-place forms, on non-leaf tensors
    case("iadd", inplace_iadd, (3, 4), (3, 4)),
    case("isub", inplace_isub, (3, 4), (3, 4)),
    case("imul", inplace_imul, (3, 4), (3, 4)),
    case("idiv", inplace_idiv, (3, 4), AWAY_FROM_ZERO),
    case("iadd_broadcast", inplace_iadd, (3, 4), (4,)),
    case("iops_scalar", inplace_scalar, (3, 4)),
    case("add_", lambda lib, x, y: (x * 1).add_(y), (3, 4), (3, 4)),
    case("add_alpha_", lambda lib, x, y: (x * 1).add_(y, alpha=2), (3, 4), (3, 4)),
    case("sub_", lambda lib, x, y: (x * 1).sub_(y), (3, 4), (3, 4)),
    case("mul_", lambda lib, x, y: (x * 1).mul_(y), (3, 4), (3, 4)),
    case("div_", lambda lib, x, y: (x * 1).div_(y), (3, 4), AWAY_FROM_ZERO),
    case("mul_scalar_", lambda lib, x: (x + 1).mul_(2.0), (3, 4)),
    case("exp_chain_after_", lambda lib, x, y: (x * 1).mul_(y).exp(), (3, 4), (3, 4)),
]

UNARY = [
    case("neg", lambda lib, x: -x, (3, 4)),
    case("neg_method", lambda lib, x: x.neg(), (3, 4)),
    case("neg_fn", lambda lib, x: lib.neg(x), (3, 4)),
    case("abs", lambda lib, x: x.abs(), (3, 4)),
    case("abs_builtin", lambda lib, x: abs(x), (3, 4)),
    case("abs_fn", lambda lib, x: lib.abs(x), (3, 4)),
    case("exp", lambda lib, x: x.exp(), (3, 4)),
    case("exp_fn", lambda lib, x: lib.exp(x), (3, 4)),
    case("log", lambda lib, x: x.log(), (3, 4), **POSITIVE),
    case("log_fn", lambda lib, x: lib.log(x), (3, 4), **POSITIVE),
    case("sqrt", lambda lib, x: x.sqrt(), (3, 4), **POSITIVE),
    case("sqrt_fn", lambda lib, x: lib.sqrt(x), (3, 4), **POSITIVE),
    case("sin", lambda lib, x: x.sin(), (3, 4), low=-4, high=4),
    case("cos", lambda lib, x: lib.cos(x), (3, 4), low=-4, high=4),
    case("sigmoid", lambda lib, x: x.sigmoid(), (3, 4), low=-6, high=6),
    case("sigmoid_fn", lambda lib, x: lib.sigmoid(x), (3, 4)),
    case("tanh", lambda lib, x: x.tanh(), (3, 4), low=-3, high=3),
    case("tanh_fn", lambda lib, x: lib.tanh(x), (3, 4)),
    case("relu", lambda lib, x: x.relu(), (3, 4)),
    case("relu_fn", lambda lib, x: lib.relu(x), (3, 4)),
    case("clamp_min", lambda lib, x: x.clamp(min=-0.5), (3, 4)),
    case("clamp_max", lambda lib, x: x.clamp(max=0.5), (3, 4)),
    case("clamp_both", lambda lib, x: x.clamp(-0.5, 0.5), (3, 4)),
    case("clamp_fn", lambda lib, x: lib.clamp(x, min=-1.0, max=1.0), (3, 4)),
    case("clip", lambda lib, x: x.clip(-0.5, 0.5), (3, 4)),
    case("clamp_0d_tensor_bound", lambda lib, x: x.clamp(min=lib.tensor(0.25, dtype=x.dtype)), (3, 4), grad=False),
    case("clamp_tensor_bounds", lambda lib, x, lo, hi: x.clamp(lo, hi), (3, 4), (4,), (3, 1)),
    case("sigmoid_large", lambda lib, x: x.sigmoid(), np.array([[-800.0, -50.0, 0.0, 50.0, 800.0]])),
    case("tanh_large", lambda lib, x: x.tanh(), np.array([[-800.0, -20.0, 0.0, 20.0, 800.0]])),
    # kinks, given explicitly: PyTorch's choices at the points where no derivative exists
    case("relu_at_0", lambda lib, x: x.relu(), np.array([-1.0, 0.0, 1.0])),
    case("abs_at_0", lambda lib, x: x.abs(), np.array([-1.0, 0.0, 1.0])),
    case("clamp_at_bounds", lambda lib, x: x.clamp(0.0, 1.0), np.array([-1.0, 0.0, 0.5, 1.0, 2.0])),
    case("clamp_min_at_bound", lambda lib, x: x.clamp(min=0.0), np.array([-1.0, 0.0, 1.0])),
    case("clamp_max_at_bound", lambda lib, x: x.clamp(max=0.0), np.array([-1.0, 0.0, 1.0])),
    case("sqrt_at_0", lambda lib, x: x.sqrt(), np.array([0.0, 1.0, 4.0])),
    case("log_at_0", lambda lib, x: x.log(), np.array([0.0, 1.0, 4.0])),
    case("maximum_ties", lambda lib, x, y: lib.maximum(x, y), np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])),
    case("minimum_ties", lambda lib, x, y: lib.minimum(x, y), np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])),
    case("pow_base_0", lambda lib, x, y: x ** y, np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 3.0])),
]

REDUCTIONS = [
    case("sum", lambda lib, x: x.sum(), (3, 4, 5), f32=F32_REDUCE),
    case("sum_fn", lambda lib, x: lib.sum(x), (3, 4, 5), f32=F32_REDUCE),
    case("sum_dim", lambda lib, x: x.sum(1), (3, 4, 5), f32=F32_REDUCE),
    case("sum_negdim", lambda lib, x: x.sum(-1), (3, 4, 5), f32=F32_REDUCE),
    case("sum_tuple", lambda lib, x: x.sum((0, 2)), (3, 4, 5), f32=F32_REDUCE),
    case("sum_tuple_neg", lambda lib, x: x.sum((-1, 0)), (3, 4, 5), f32=F32_REDUCE),
    case("sum_keepdim", lambda lib, x: x.sum(1, keepdim=True), (3, 4, 5), f32=F32_REDUCE),
    case("sum_tuple_keepdim", lambda lib, x: x.sum((0, 2), keepdim=True), (3, 4, 5), f32=F32_REDUCE),
    case("sum_dim_kw", lambda lib, x: x.sum(dim=0), (3, 4, 5), f32=F32_REDUCE),
    case("mean", lambda lib, x: x.mean(), (3, 4, 5), f32=F32_REDUCE),
    case("mean_fn", lambda lib, x: lib.mean(x, 0), (3, 4, 5), f32=F32_REDUCE),
    case("mean_dim", lambda lib, x: x.mean(1), (3, 4, 5), f32=F32_REDUCE),
    case("mean_negdim", lambda lib, x: x.mean(-2), (3, 4, 5), f32=F32_REDUCE),
    case("mean_tuple", lambda lib, x: x.mean((0, 2)), (3, 4, 5), f32=F32_REDUCE),
    case("mean_keepdim", lambda lib, x: x.mean(-1, keepdim=True), (3, 4, 5), f32=F32_REDUCE),
    case("var", lambda lib, x: x.var(), (3, 4, 5), f32=F32_REDUCE),
    case("var_dim", lambda lib, x: x.var(1), (3, 4, 5), f32=F32_REDUCE),
    case("var_negdim_keepdim", lambda lib, x: x.var(-1, keepdim=True), (3, 4, 5), f32=F32_REDUCE),
    case("var_tuple", lambda lib, x: x.var((0, 2)), (3, 4, 5), f32=F32_REDUCE),
    case("var_unbiased_false", lambda lib, x: x.var(unbiased=False), (3, 4, 5), f32=F32_REDUCE),
    case("var_correction0", lambda lib, x: x.var(1, correction=0), (3, 4, 5), f32=F32_REDUCE),
    case("var_correction2", lambda lib, x: x.var(0, correction=2), (5, 4), f32=F32_REDUCE),
    case("var_fn", lambda lib, x: lib.var(x, 0), (3, 4, 5), f32=F32_REDUCE),
    case("std", lambda lib, x: x.std(), (3, 4, 5), f32=F32_REDUCE),
    case("std_dim", lambda lib, x: x.std(1), (3, 4, 5), f32=F32_REDUCE),
    case("std_unbiased_false", lambda lib, x: x.std(unbiased=False), (3, 4, 5), f32=F32_REDUCE),
    case("std_correction0_dim", lambda lib, x: x.std(-1, correction=0), (3, 4, 5), f32=F32_REDUCE),
    case("std_keepdim", lambda lib, x: lib.std(x, 0, keepdim=True), (3, 4, 5), f32=F32_REDUCE),
    case("std_where_zero", lambda lib, x: x.std(1), np.array([[1.5, 1.5, 1.5], [1.0, 2.0, 4.0]])),
    case("std_correction0_where_zero", lambda lib, x: x.std(0, correction=0), np.array([[2.0, 1.0], [2.0, 3.0]])),
    case("max_all", lambda lib, x: x.max(), (3, 4, 5)),
    case("min_all", lambda lib, x: x.min(), (3, 4, 5)),
    case("max_fn", lambda lib, x: lib.max(x), (3, 4, 5)),
    case("max_dim", lambda lib, x: x.max(1), (3, 4, 5)),
    case("max_dim_values", lambda lib, x: x.max(dim=-1).values, (3, 4, 5)),
    case("max_dim_indices", lambda lib, x: x.max(dim=0).indices, (3, 4, 5)),
    case("max_dim_keepdim", lambda lib, x: x.max(0, keepdim=True), (3, 4, 5)),
    case("min_dim", lambda lib, x: x.min(2), (3, 4, 5)),
    case("min_dim_keepdim", lambda lib, x: lib.min(x, -1, keepdim=True), (3, 4, 5)),
    case("max_all_ties", lambda lib, x: x.max(), np.array([[1.0, 3.0], [3.0, 2.0]])),
    case("min_all_ties", lambda lib, x: x.min(), np.array([[1.0, 3.0], [1.0, 2.0]])),
    case("max_dim_ties", lambda lib, x: x.max(1), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])),
    case("min_dim_ties", lambda lib, x: x.min(0), np.array([[1.0, 3.0, 3.0], [1.0, 2.0, 3.0]])),
    case("argmax", lambda lib, x: x.argmax(), (3, 4, 5)),
    case("argmax_dim", lambda lib, x: x.argmax(1), (3, 4, 5)),
    case("argmax_keepdim", lambda lib, x: x.argmax(-1, keepdim=True), (3, 4, 5)),
    case("argmax_all_keepdim", lambda lib, x: x.argmax(keepdim=True), (3, 4, 5)),
    case("argmin", lambda lib, x: lib.argmin(x), (3, 4, 5)),
    case("argmin_dim", lambda lib, x: x.argmin(dim=0), (3, 4, 5)),
    case("argmax_ties", lambda lib, x: x.argmax(1), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])),
    case("softmax", lambda lib, x: x.softmax(-1), (3, 4, 5)),
    case("softmax_dim0", lambda lib, x: lib.softmax(x, 0), (3, 4, 5)),
    case("log_softmax", lambda lib, x: x.log_softmax(1), (3, 4, 5)),
    case("log_softmax_neg", lambda lib, x: lib.log_softmax(x, dim=-1), (3, 4, 5)),
    case("logsumexp", lambda lib, x: x.logsumexp(1), (3, 4, 5)),
    case("logsumexp_tuple", lambda lib, x: x.logsumexp((0, 2)), (3, 4, 5)),
    case("logsumexp_keepdim", lambda lib, x: lib.logsumexp(x, -1, keepdim=True), (3, 4, 5)),
    case("softmax_big_logits", lambda lib, x: x.softmax(-1), np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]])),
    case("log_softmax_big_logits", lambda lib, x: x.log_softmax(-1),
         np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]])),
    case("logsumexp_big_logits", lambda lib, x: x.logsumexp(-1), np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]])),
    case("logsumexp_neg_inf", lambda lib, x: x.logsumexp(-1), np.array([[-np.inf, -np.inf], [0.0, -np.inf]]),
         grad=False),
]

COMPARISONS = [
    case(name, fn, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([[1.0, 0.0, 3.0], [5.0, 5.0, 5.0]]))
    for name, fn in [
        ("eq", lambda lib, x, y: x.eq(y)), ("ne", lambda lib, x, y: x.ne(y)), ("lt", lambda lib, x, y: x.lt(y)),
        ("le", lambda lib, x, y: x.le(y)), ("gt", lambda lib, x, y: x.gt(y)), ("ge", lambda lib, x, y: x.ge(y)),
        ("eq_op", lambda lib, x, y: x == y), ("ne_op", lambda lib, x, y: x != y), ("lt_op", lambda lib, x, y: x < y),
        ("le_op", lambda lib, x, y: x <= y), ("gt_op", lambda lib, x, y: x > y), ("ge_op", lambda lib, x, y: x >= y),
        ("eq_fn", lambda lib, x, y: lib.eq(x, y)), ("lt_fn", lambda lib, x, y: lib.lt(x, y)),
        ("ge_fn", lambda lib, x, y: lib.ge(x, y)), ("gt_scalar", lambda lib, x, y: x > 3),
        ("le_scalar", lambda lib, x, y: x <= 3.0), ("eq_scalar", lambda lib, x, y: x == 5),
        ("rlt_scalar", lambda lib, x, y: 3 < x), ("broadcast", lambda lib, x, y: x[:, :1] < y),
        ("ne_broadcast", lambda lib, x, y: x != y[0]),
    ]
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", BINARY + UNARY)
def test_elementwise(fn, inputs, kw, dtype):
    run(fn, inputs, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", REDUCTIONS)
def test_reduction(fn, inputs, kw, dtype):
    run(fn, inputs, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", COMPARISONS)
def test_comparison(fn, inputs, kw, dtype):
    ours, _ = check_op(fn, *inputs, dtype=dtype, **kw)
    assert dtype_name(ours) == "bool" and not ours.requires_grad


NONCONTIGUOUS_VIEWS = [
    case("exp_of_t", lambda lib, x: x.t().exp(), (3, 4)),
    case("mul_of_transposed", lambda lib, x, y: x.t() * y[::2], (4, 3), (6, 4)),
    case("add_of_sliced", lambda lib, x, y: x[:, ::2] + y[1:], (3, 8), (4, 4)),
    case("div_of_permuted", lambda lib, x, y: x.permute(2, 0, 1) / y, (2, 3, 4), (4, 2, 3), low=0.5),
    case("maximum_of_t", lambda lib, x, y: lib.maximum(x.t(), y), (3, 4), (4, 3)),
    case("sigmoid_of_sliced", lambda lib, x: x[::2, 1::2].sigmoid(), (5, 6)),
    case("relu_of_expanded", lambda lib, x: x.expand(4, 3).relu(), (1, 3)),
    case("sum_of_t", lambda lib, x: x.t().sum(0), (3, 4)),
    case("mean_of_permuted", lambda lib, x: x.permute(2, 0, 1).mean((0, 2)), (2, 3, 4)),
    case("var_of_sliced", lambda lib, x: x[:, ::2].var(0), (5, 6)),
    case("std_of_t", lambda lib, x: x.t().std(1), (5, 6)),
    case("max_dim_of_t", lambda lib, x: x.t().max(1), (3, 4)),
    case("max_of_sliced", lambda lib, x: x[::2].max(), (5, 4)),
    case("softmax_of_t", lambda lib, x: x.t().softmax(-1), (3, 4)),
    case("log_softmax_of_permuted", lambda lib, x: x.permute(1, 0, 2).log_softmax(0), (2, 3, 4)),
    case("logsumexp_of_t", lambda lib, x: x.t().logsumexp(1), (3, 4)),
    case("matmul_of_t", lambda lib, x, y: x.t() @ y.t(), (4, 3), (5, 4)),
    case("matmul_of_sliced", lambda lib, x, y: x[::2] @ y[:, 1::2], (6, 4), (4, 6)),
    case("mm_of_t", lambda lib, x, y: lib.mm(x.t(), y), (4, 3), (4, 5)),
    case("bmm_of_transposed", lambda lib, x, y: x.transpose(1, 2) @ y, (2, 4, 3), (2, 4, 5), node_name=False),
    case("where_of_t", lambda lib, x, y: lib.where(x.t() > 0, x.t(), y), (3, 4), (4, 3)),
    case("clamp_of_sliced", lambda lib, x: x[1:, ::2].clamp(-0.5, 0.5), (4, 6)),
    case("argmax_of_t", lambda lib, x: x.t().argmax(1), (3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", NONCONTIGUOUS_VIEWS)
def test_noncontiguous_view(fn, inputs, kw, dtype):
    run(fn, inputs, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_big_logits_stay_finite(op, dtype):
    x = tg.tensor(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]]), dtype=getattr(tg, dtype),
                  requires_grad=True)
    out = getattr(x, op)(-1)
    out.backward(tg.ones_like(out))
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()


INTS = np.array([[-3, 0, 2], [5, -1, 4]])
INT_OPS = [
    case("int_add", lambda lib, x: x + x, INTS),
    case("int_mul_scalar", lambda lib, x: x * 3, INTS),
    case("int_times_float", lambda lib, x: x * 2.5, INTS),
    case("int_div", lambda lib, x: x / 2, INTS),
    case("int_pow", lambda lib, x: x ** 2, INTS),
    case("int_pow_float", lambda lib, x: x.abs() ** 2.5, INTS),
    case("int_rpow", lambda lib, x: 2 ** x.abs(), INTS),
    case("int_neg", lambda lib, x: -x, INTS),
    case("int_abs", lambda lib, x: x.abs(), INTS),
    case("int_relu", lambda lib, x: x.relu(), INTS),
    case("int_clamp", lambda lib, x: x.clamp(-1, 3), INTS),
    case("int_exp", lambda lib, x: x.exp(), INTS),
    case("int_sqrt", lambda lib, x: x.abs().sqrt(), INTS),
    case("int_sigmoid", lambda lib, x: x.sigmoid(), INTS),
    case("int_sum", lambda lib, x: x.sum(), INTS),
    case("int_sum_dim", lambda lib, x: x.sum(1), INTS),
    case("int_sum_dtype", lambda lib, x: x.sum(dtype=lib.float64), INTS),
    case("int_mean_dtype", lambda lib, x: x.mean(0, dtype=lib.float32), INTS),
    case("int_max", lambda lib, x: x.max(), INTS),
    case("int_max_dim", lambda lib, x: x.max(1), INTS),
    case("int_argmin", lambda lib, x: x.argmin(0), INTS),
    case("int_maximum", lambda lib, x: lib.maximum(x, x.t().reshape(2, 3)), INTS),
    case("int_gt_float", lambda lib, x: x > 1.5, INTS),
    case("int_matmul", lambda lib, x: x @ x.t(), INTS),
    case("int_logsumexp", lambda lib, x: x.logsumexp(1), INTS),
    case("int_softmax_dtype", lambda lib, x: x.softmax(1, dtype=lib.float64), INTS),
    case("bool_sum", lambda lib, x: (x > 0).sum(), INTS),
    case("bool_and_or", lambda lib, x: ((x > 0) & (x < 4)) | (x == -1), INTS),
]


@pytest.mark.parametrize("fn,inputs,kw", INT_OPS)
def test_integer_op(fn, inputs, kw):
    check_op(fn, *inputs, **kw)


def test_where_with_condition_only_gives_indices():
    cond = np.array([[True, False, True], [False, False, True]])
    ours, theirs = tg.where(tg.tensor(cond)), torch.where(torch.tensor(cond))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert dtype_name(o) == dtype_name(t) and o.tolist() == t.tolist()


def test_shape_queries():
    for shape in [(), (0,), (3,), (2, 3, 4)]:
        ours, theirs = tg.zeros(shape), torch.zeros(shape)
        assert tuple(ours.shape) == tuple(theirs.shape) == tuple(ours.size())
        assert ours.dim() == theirs.dim() == ours.ndim == theirs.ndim
        assert ours.numel() == theirs.numel()
        for d in range(-len(shape), len(shape)):
            assert ours.size(d) == theirs.size(d) and ours.shape[d] == theirs.shape[d]


# ---------------------------------------------------------------- matrix products

MATMUL = [
    case("1d_1d", lambda lib, x, y: x @ y, (4,), (4,)),
    case("2d_1d", lambda lib, x, y: x @ y, (3, 4), (4,)),
    case("1d_2d", lambda lib, x, y: x @ y, (4,), (4, 5), node_name=False),
    case("2d_2d", lambda lib, x, y: x @ y, (3, 4), (4, 5)),
    case("3d_3d", lambda lib, x, y: x @ y, (2, 3, 4), (2, 4, 5), node_name=False),
    case("3d_2d", lambda lib, x, y: x @ y, (2, 3, 4), (4, 5), node_name=False),
    case("2d_3d", lambda lib, x, y: x @ y, (3, 4), (2, 4, 5), node_name=False),
    case("3d_1d", lambda lib, x, y: x @ y, (2, 3, 4), (4,), node_name=False),
    case("1d_3d", lambda lib, x, y: x @ y, (4,), (2, 4, 5), node_name=False),
    case("4d_3d_broadcast", lambda lib, x, y: x @ y, (2, 1, 3, 4), (3, 4, 2), node_name=False),
    case("matmul_fn", lambda lib, x, y: lib.matmul(x, y), (3, 4), (4, 5)),
    case("matmul_method", lambda lib, x, y: x.matmul(y), (3, 4), (4,)),
    case("mm", lambda lib, x, y: lib.mm(x, y), (3, 4), (4, 5)),
    case("mm_method", lambda lib, x, y: x.mm(y), (5, 1), (1, 6)),
    case("dot", lambda lib, x, y: lib.dot(x, y), (7,), (7,)),
    case("dot_method", lambda lib, x, y: x.dot(y), (7,), (7,)),
    case("addmm", lambda lib, b, x, y: lib.addmm(b, x, y), (5,), (3, 4), (4, 5)),
    case("addmm_2d_bias", lambda lib, b, x, y: lib.addmm(b, x, y), (3, 5), (3, 4), (4, 5)),
    case("addmm_beta_alpha", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0.5, alpha=2.0), (1, 5), (3, 4), (4, 5)),
    case("linear_layer", lambda lib, x, w, b: (x @ w.t() + b).relu().sum(), (8, 6), (5, 6), (5,)),
    case("rmatmul_chain", lambda lib, x, y, z: (x @ y) @ z, (2, 3), (3, 4), (4, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", MATMUL)
def test_matmul(fn, inputs, kw, dtype):
    run(fn, inputs, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_larger_than_a_tile(dtype):
    """Big enough that a tiled C kernel runs several tiles and a remainder."""
    check_op(lambda lib, x, y: x @ y, (67, 45), (45, 71), dtype=dtype, rtol=1e-4 if dtype == "float32" else 1e-10,
             atol=1e-4 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", BINARY + UNARY + REDUCTIONS + MATMUL)
def test_noncontiguous_leaf(fn, inputs, kw, dtype):
    """The same ops on leaves with strided memory (transposed, or every other element): what views
    give the kernels."""
    run(fn, inputs, kw, dtype, noncontig=True)


# ---------------------------------------------------------------- shapes and views

def setitem_slice(lib, x, v):
    y = x * 1
    y[1:3] = v
    return y


def setitem_int(lib, x, v):
    y = x * 1
    y[-1] = v
    return y


def setitem_index(lib, x, v):
    y = x * 1
    y[lib.tensor([0, 2])] = v
    return y


def setitem_mask(lib, x):
    y = x * 1
    y[x > 0] = 0.5
    return y


def setitem_column_then_use(lib, x, v):
    y = x * 2  # (not exp: torch refuses to backward through an overwritten saved output)
    y[:, 1] = v
    return (y * y).sum(0)


SHAPES = [
    case("view", lambda lib, x: x.view(12), (3, 4)),
    case("view_tuple", lambda lib, x: x.view((2, 6)), (3, 4)),
    case("view_minus1", lambda lib, x: x.view(-1, 2), (3, 4)),
    case("reshape", lambda lib, x: x.reshape(4, 3), (3, 4)),
    case("reshape_minus1", lambda lib, x: x.reshape(-1), (3, 4)),
    case("reshape_fn", lambda lib, x: lib.reshape(x, (2, -1)), (3, 4)),
    case("reshape_noncontiguous", lambda lib, x: x.t().reshape(-1), (3, 4)),
    case("reshape_noncontiguous_2d", lambda lib, x: x.permute(2, 1, 0).reshape(4, 6), (2, 3, 4)),
    case("flatten", lambda lib, x: x.flatten(), (2, 3, 4)),
    case("flatten_start", lambda lib, x: x.flatten(1), (2, 3, 4)),
    case("flatten_range", lambda lib, x: lib.flatten(x, 0, 1), (2, 3, 4)),
    case("flatten_noncontiguous", lambda lib, x: x.transpose(0, 2).flatten(), (2, 3, 4)),
    case("unsqueeze0", lambda lib, x: x.unsqueeze(0), (3, 4)),
    case("unsqueeze_neg", lambda lib, x: x.unsqueeze(-1), (3, 4)),
    case("unsqueeze_fn", lambda lib, x: lib.unsqueeze(x, 1), (3, 4)),
    case("squeeze_all", lambda lib, x: x.squeeze(), (1, 3, 1, 4)),
    case("squeeze_dim", lambda lib, x: x.squeeze(2), (1, 3, 1, 4)),
    case("squeeze_negdim", lambda lib, x: x.squeeze(-4), (1, 3, 1, 4)),
    case("squeeze_not_one", lambda lib, x: x.squeeze(1), (1, 3, 1, 4)),
    case("squeeze_tuple", lambda lib, x: x.squeeze((0, 2)), (1, 3, 1, 4)),
    case("transpose", lambda lib, x: x.transpose(0, 2), (2, 3, 4)),
    case("transpose_neg", lambda lib, x: lib.transpose(x, -1, -2), (2, 3, 4)),
    case("permute", lambda lib, x: x.permute(2, 0, 1), (2, 3, 4)),
    case("permute_tuple", lambda lib, x: x.permute((1, 2, 0)), (2, 3, 4)),
    case("permute_neg", lambda lib, x: lib.permute(x, (-1, 0, 1)), (2, 3, 4)),
    case("T", lambda lib, x: x.T, (3, 4)),
    case("t", lambda lib, x: x.t(), (3, 4)),
    case("t_1d", lambda lib, x: x.t(), (4,)),
    case("t_fn", lambda lib, x: lib.t(x), (3, 4)),
    case("expand", lambda lib, x: x.expand(3, 4), (1, 4)),
    case("expand_minus1", lambda lib, x: x.expand(2, -1, 4), (3, 1)),
    case("expand_tuple", lambda lib, x: x.expand((5, 3)), (3,)),
    case("expand_as", lambda lib, x, y: x.expand_as(y), (3, 1), (3, 4)),
    case("contiguous_t", lambda lib, x: x.t().contiguous(), (3, 4)),
    case("contiguous_already", lambda lib, x: (x * 2).contiguous(), (3, 4)),
    case("clone", lambda lib, x: x.clone(), (3, 4)),
    case("view_then_mul", lambda lib, x: x.view(2, 6) * lib.arange(6, dtype=x.dtype), (3, 4)),
    # indexing
    case("index_int", lambda lib, x: x[1], (3, 4)),
    case("index_negative_int", lambda lib, x: x[-1], (3, 4)),
    case("index_two_ints", lambda lib, x: x[1, -2], (3, 4), node_name=False),
    case("index_slice", lambda lib, x: x[1:], (5, 4)),
    case("index_slice_step", lambda lib, x: x[::2], (5, 4)),
    case("index_slices_steps", lambda lib, x: x[1:4:2, ::3], (5, 7)),
    case("index_slice_negative", lambda lib, x: x[-3:-1], (5, 4)),
    case("index_slice_all", lambda lib, x: x[:], (5, 4)),
    case("index_none", lambda lib, x: x[None], (3, 4)),
    case("index_ellipsis_none", lambda lib, x: x[..., None], (3, 4), node_name=False),
    case("index_ellipsis", lambda lib, x: x[...], (3, 4), node_name=False),
    case("index_ellipsis_int", lambda lib, x: x[..., 1], (2, 3, 4), node_name=False),
    case("index_none_int", lambda lib, x: x[None, 1], (3, 4), node_name=False),
    case("index_int_none", lambda lib, x: x[1, None], (3, 4), node_name=False),
    case("index_int_slice", lambda lib, x: x[1, 1:3], (3, 4)),
    case("index_array", lambda lib, x: x[lib.tensor([2, 0])], (3, 4)),
    case("index_list", lambda lib, x: x[[2, 0, 1]], (3, 4)),
    case("index_repeated", lambda lib, x: x[lib.tensor([0, 2, 0, 0])], (3, 4)),
    case("index_repeated_2d", lambda lib, x: x[lib.tensor([[0, 1], [1, 1]])], (3, 4)),
    case("index_negative_array", lambda lib, x: x[lib.tensor([-1, -3, -1])], (3, 4)),
    case("index_two_arrays", lambda lib, x: x[lib.tensor([0, 1, 1]), lib.tensor([1, 3, 3])], (3, 4)),
    case("index_mask", lambda lib, x: x[x > 0], (3, 4)),
    case("index_mask_rows", lambda lib, x: x[lib.tensor([True, False, True])], (3, 4)),
    case("index_mixed_int_array", lambda lib, x: x[1, lib.tensor([0, 2, 2])], (3, 4)),
    case("index_mixed_slice_array", lambda lib, x: x[1:, lib.tensor([0, 1, 0])], (3, 4)),
    case("index_mixed_array_slice", lambda lib, x: x[lib.tensor([2, 2]), ::2], (3, 4)),
    case("index_mixed_ellipsis_array", lambda lib, x: x[..., lib.tensor([3, 0])], (2, 3, 4)),
    case("index_mixed_mask_slice", lambda lib, x: x[lib.tensor([True, False, True]), 1:3], (3, 4)),
    case("index_select_fn", lambda lib, x: x.select(1, 2), (3, 4)),
    case("narrow", lambda lib, x: x.narrow(1, 1, 2), (3, 4)),
    # __setitem__ on a non-leaf: gradients flow to the base and to the value
    case("setitem_slice", setitem_slice, (4, 3), (2, 3)),
    case("setitem_slice_broadcast", setitem_slice, (4, 3), (3,)),
    case("setitem_int", setitem_int, (4, 3), (3,)),
    case("setitem_index", setitem_index, (4, 3), (2, 3)),
    case("setitem_mask", setitem_mask, (4, 3)),
    case("setitem_column_then_use", setitem_column_then_use, (4, 3), (4,)),
    # joining and splitting
    case("cat", lambda lib, x, y: lib.cat([x, y]), (2, 4), (3, 4)),
    case("cat_dim1", lambda lib, x, y: lib.cat((x, y), dim=1), (3, 2), (3, 4)),
    case("cat_negdim", lambda lib, x, y, z: lib.cat([x, y, z], -1), (2, 1), (2, 3), (2, 2)),
    case("stack", lambda lib, x, y: lib.stack([x, y]), (3, 4), (3, 4)),
    case("stack_dim1", lambda lib, x, y: lib.stack((x, y), 1), (3, 4), (3, 4)),
    case("stack_negdim", lambda lib, x, y: lib.stack([x, y], dim=-1), (3, 4), (3, 4)),
    case("split_int", lambda lib, x: x.split(2), (5, 3)),
    case("split_sizes", lambda lib, x: x.split([1, 3, 1]), (5, 3)),
    case("split_dim", lambda lib, x: lib.split(x, 2, dim=1), (3, 5)),
    case("split_one_used", lambda lib, x: x.split(2)[1] * 2, (5, 3)),
    case("chunk", lambda lib, x: x.chunk(3), (7, 2)),
    case("chunk_dim", lambda lib, x: lib.chunk(x, 2, dim=-1), (2, 5)),
    case("chunk_more_than_size", lambda lib, x: x.chunk(3), (2, 3)),
    case("chunk_one_used", lambda lib, x: x.chunk(2)[0].exp(), (4, 2)),
    case("unbind", lambda lib, x: x.unbind(), (3, 4)),
    case("unbind_dim", lambda lib, x: lib.unbind(x, 1), (3, 4)),
    case("unbind_one_used", lambda lib, x: x.unbind(1)[2] * 3, (3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", SHAPES)
def test_shape_op(fn, inputs, kw, dtype):
    run(fn, inputs, kw, dtype)


def test_inplace_on_view_in_graph_raises():
    """A documented difference: torch rewrites the base's history (CopySlices) after an in-place op on
    a view of a tensor in the graph; tinygrad_edu refuses with a RuntimeError that says what to do."""
    x = tg.ones(3, 4, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="view"):
        y[0].mul_(3)
    z = torch.ones(3, 4, requires_grad=True) * 2
    z[0].mul_(3)  # torch allows it
    assert type(z.grad_fn).__name__ == "CopySlices"


def test_view_of_noncontiguous_raises_like_torch():
    for lib in (tg, torch):
        x = lib.ones(3, 4).t()
        with pytest.raises(RuntimeError):
            x.view(-1)


def test_setitem_on_plain_tensor():
    for key, value in [(1, 5.0), ((slice(None), 0), np.array([7.0, 8.0, 9.0])), ((0, 2), -1.0),
                       (np.array([True, False, True]), 0.0), (np.array([2, 0]), np.array([1.0, 2.0, 3.0, 4.0])),
                       ((Ellipsis, 1), 3.0), (slice(None, None, 2), np.array([[1.0, 1.0, 1.0, 1.0]]))]:
        results = []
        for lib in (tg, torch):
            x = lib.tensor(np.arange(12.0).reshape(3, 4))
            k = tuple(lib.tensor(p) if isinstance(p, np.ndarray) else p for p in key) if isinstance(key, tuple) \
                else (lib.tensor(key) if isinstance(key, np.ndarray) else key)
            x[k] = lib.tensor(value) if isinstance(value, np.ndarray) else value
            results.append(x.numpy())
        np.testing.assert_array_equal(results[0], results[1], err_msg=str(key))


def test_setitem_int_tensor_casts_value():
    for lib in (tg, torch):
        x = lib.zeros(4, dtype=lib.int64)
        x[1] = 2.7
        x[2:] = lib.tensor([1.9, -1.9])
        assert x.tolist() == [0, 2, 1, -1]


def test_setitem_on_leaf_requiring_grad_raises_like_torch():
    for lib in (tg, torch):
        x = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x[0] = 1.0


def test_inplace_on_plain_tensors():
    for op in ("add_", "sub_", "mul_", "div_"):
        results = []
        for lib in (tg, torch):
            x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
            getattr(x, op)(lib.tensor([2.0, 4.0]))
            results.append(x.numpy())
        np.testing.assert_allclose(results[0], results[1], err_msg=op)
    for lib in (tg, torch):
        x = lib.tensor([1, 2, 3])
        x += 2
        x *= 3
        assert x.tolist() == [9, 12, 15] and dtype_name(x) == "int64"


def test_inplace_keeps_identity_and_dtype():
    """`x += y` returns the same tensor object, and a float result cannot go into an int tensor."""
    for lib in (tg, torch):
        x = lib.ones(3)
        y = x
        y += 1
        assert y is x and x.tolist() == [2.0, 2.0, 2.0]
        i = lib.ones(3, dtype=lib.int64)
        with pytest.raises(RuntimeError):
            i += 1.5


def test_inplace_on_leaf_requiring_grad_raises_like_torch():
    for lib in (tg, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.add_(1)


def test_cat_promotes_like_torch():
    ours = tg.cat([tg.tensor([1, 2]), tg.tensor([0.5])])
    theirs = torch.cat([torch.tensor([1, 2]), torch.tensor([0.5])])
    assert dtype_name(ours) == dtype_name(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---------------------------------------------------------------- broadcasting

BROADCAST_PAIRS = [((3, 1), (1, 4)), ((4,), (3, 4)), ((), (2, 3)), ((2, 1, 3), (4, 1)), ((3, 4), (3, 4)),
                   ((1,), (3, 4)), ((5, 1, 1), (1, 1)), ((2, 3), ()), ((1, 1, 4), (3, 1)), ((2, 3, 1), (1, 3, 5))]
BROADCAST_OPS = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: x - y,
    "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / (y * y + 0.5),
    "pow": lambda lib, x, y: x.abs() ** y,
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "minimum": lambda lib, x, y: lib.minimum(x, y),
    "where": lambda lib, x, y: lib.where(x > y, x, y),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", list(BROADCAST_OPS))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_broadcast_gradients_sum_back(shapes, op, dtype):
    fn = BROADCAST_OPS[op]
    for a, b in (shapes, shapes[::-1]):
        ours, _ = check_op(fn, a, b, dtype=dtype, low=0.2 if op == "pow" else -2.0)
    x, y = tg.rand(*shapes[0], dtype=tg.float64, requires_grad=True), tg.randn(*shapes[1], requires_grad=True)
    fn(tg, x, y).sum().backward()
    assert x.grad.shape == x.shape and y.grad.shape == y.shape
    assert x.grad.dtype == x.dtype and y.grad.dtype == y.dtype


def test_broadcast_shape_mismatch_raises_like_torch():
    for lib in (tg, torch):
        with pytest.raises(RuntimeError):
            lib.ones(3, 4) + lib.ones(3)


# ---------------------------------------------------------------- type promotion

def _make(lib, spec):
    """('t', dtype) a 1-d tensor, ('0d', dtype) a 0-d tensor, or a Python number."""
    if not isinstance(spec, tuple):
        return spec
    kind, dt = spec
    arr = np.array([1, 2, 3]) if kind == "t" else np.array(2)
    return lib.tensor(arr.astype(dt))


PROMOTIONS = [
    (("t", "float32"), ("t", "float64")),
    (("t", "int64"), ("t", "float32")),
    (("t", "int32"), 2.5),
    (("t", "int32"), 2),
    (("t", "int64"), 3.0),
    (("t", "float16"), ("t", "int64")),
    (("t", "float16"), 2.5),
    (("t", "bool"), 2),
    (("t", "bool"), 1.5),
    (("t", "bool"), True),
    (("t", "bool"), ("t", "int64")),
    (("t", "bool"), ("t", "bool")),
    (("0d", "float64"), ("t", "float32")),
    (("0d", "int64"), ("t", "float16")),
    (("0d", "float32"), ("t", "int32")),
    (("0d", "float64"), ("0d", "float32")),
    (("0d", "int64"), ("t", "int8")),
    (("t", "uint8"), ("t", "int8")),
    (("t", "uint8"), 5),
    (("t", "int8"), ("t", "int16")),
    (("t", "int32"), ("t", "int64")),
    (("t", "uint8"), ("t", "bool")),
    (("t", "float32"), ("t", "float16")),
    (("t", "int16"), ("0d", "float64")),
]


PROMOTION_OPS = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "div": lambda x, y: x / y,
                 "radd": lambda x, y: y + x, "rmul": lambda x, y: y * x, "sub": lambda x, y: x - y}


@pytest.mark.parametrize("op,a,b", [(op, a, b) for op in PROMOTION_OPS for a, b in PROMOTIONS
                                    if not (op == "sub" and "bool" in str((a, b)))], ids=str)  # bool - x: an error
def test_type_promotion(op, a, b):
    fns = PROMOTION_OPS
    results = []
    for lib in (tg, torch):
        x, y = _make(lib, a), _make(lib, b)
        results.append(fns[op](x, y))
        rt = lib.result_type(x, y)
        results.append(rt)
    ours, our_rt, theirs, their_rt = results
    assert str(our_rt).split(".")[-1] == str(their_rt).split(".")[-1], "result_type"
    assert dtype_name(ours) == dtype_name(theirs)
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-3)


def test_bool_subtraction_raises_like_torch():
    for lib in (tg, torch):
        with pytest.raises(RuntimeError):
            lib.tensor([True, False]) - lib.tensor([True, True])


@pytest.mark.parametrize("a,b", [("float32", "float64"), ("int64", "float32"), ("float16", "int64"),
                                 ("uint8", "int8"), ("bool", "int32"), ("int16", "uint8"), ("bool", "float16")])
def test_promote_types(a, b):
    ours = tg.promote_types(getattr(tg, a), getattr(tg, b))
    theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert str(ours).split(".")[-1] == str(theirs).split(".")[-1]


def test_promotion_gradient_flows_back_in_input_dtype():
    for lib in (tg, torch):
        x = lib.ones(3, dtype=lib.float32, requires_grad=True)
        y = lib.ones(3, dtype=lib.float64, requires_grad=True)
        out = x * y * 2
        assert dtype_name(out) == "float64"
        out.sum().backward()
        assert dtype_name(x.grad) == "float32" and dtype_name(y.grad) == "float64"
        assert x.grad.tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------- creation functions

def _same(ours, theirs, exact=True):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert dtype_name(ours) == dtype_name(theirs)
    if exact:
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    else:
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert ours.requires_grad == theirs.requires_grad


CREATION = {
    "zeros": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_list_dtype": lambda lib: lib.zeros([4], dtype=lib.int32),
    "zeros_0d": lambda lib: lib.zeros(()),
    "zeros_empty": lambda lib: lib.zeros(0, 3),
    "ones": lambda lib: lib.ones(3),
    "ones_dtype": lambda lib: lib.ones(2, 2, dtype=lib.float64),
    "ones_bool": lambda lib: lib.ones(2, dtype=lib.bool),
    "ones_requires_grad": lambda lib: lib.ones(2, requires_grad=True),
    "full_float": lambda lib: lib.full((2, 3), 1.5),
    "full_int": lambda lib: lib.full((2,), 7),
    "full_bool": lambda lib: lib.full((2,), True),
    "full_dtype": lambda lib: lib.full([3], 2, dtype=lib.float16),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 4),
    "eye_dtype": lambda lib: lib.eye(3, dtype=lib.int64),
    "arange": lambda lib: lib.arange(5),
    "arange_start_end_step": lambda lib: lib.arange(1, 10, 3),
    "arange_negative_step": lambda lib: lib.arange(5, 0, -1),
    "arange_negative_float_step": lambda lib: lib.arange(1.0, -1.0, -0.25),
    "arange_float": lambda lib: lib.arange(0, 1, 0.25),
    "arange_float_end": lambda lib: lib.arange(2.5),
    "arange_dtype": lambda lib: lib.arange(0, 4, dtype=lib.float32),
    "arange_empty": lambda lib: lib.arange(3, 3),
    "linspace": lambda lib: lib.linspace(0, 1, 5),
    "linspace_one": lambda lib: lib.linspace(-1, 1, 1),
    "linspace_zero": lambda lib: lib.linspace(0, 1, 0),
    "linspace_dtype": lambda lib: lib.linspace(-2, 2, 9, dtype=lib.float64),
    "linspace_descending": lambda lib: lib.linspace(3, -3, 4),
    "zeros_like": lambda lib: lib.zeros_like(lib.tensor([[1, 2]])),
    "ones_like": lambda lib: lib.ones_like(lib.tensor([1.0, 2.0], dtype=lib.float64)),
    "ones_like_dtype": lambda lib: lib.ones_like(lib.tensor([1, 2]), dtype=lib.float32),
    "full_like": lambda lib: lib.full_like(lib.zeros(2, 2), 3.5),
    "empty_like_shape": lambda lib: lib.empty_like(lib.zeros(2, 5, dtype=lib.int16)).shape,
}


@pytest.mark.parametrize("name", list(CREATION))
def test_creation(name):
    ours, theirs = CREATION[name](tg), CREATION[name](torch)
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs)
        return
    _same(ours, theirs, exact=not name.startswith("linspace"))


@pytest.mark.parametrize("args,kwargs", [((2, 3), {}), (((4,),), {}), ((0,), {}), ((2, 2), {"dtype": "float64"}),
                                         ((3,), {"dtype": "int64"}), (((),), {})], ids=str)
def test_empty_shape_and_dtype(args, kwargs):
    results = []
    for lib in (tg, torch):
        kw = {k: getattr(lib, v) for k, v in kwargs.items()}
        results.append(lib.empty(*args, **kw))
    assert tuple(results[0].shape) == tuple(results[1].shape)
    assert dtype_name(results[0]) == dtype_name(results[1])


@pytest.mark.parametrize("fn", ["rand", "randn"])
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "float16"])
def test_rand_randn_shape_dtype_statistics(fn, dtype):
    tg.manual_seed(0)
    kw = {} if dtype is None else {"dtype": getattr(tg, dtype)}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    ours, theirs = getattr(tg, fn)(200, 50, **kw), getattr(torch, fn)(200, 50, **tkw)
    assert tuple(ours.shape) == (200, 50) and dtype_name(ours) == dtype_name(theirs)
    data = ours.numpy().astype(np.float64)
    if fn == "rand":
        assert data.min() >= 0 and data.max() < 1
        assert abs(data.mean() - 0.5) < 0.02 and abs(data.var() - 1 / 12) < 0.01
    else:
        assert abs(data.mean()) < 0.03 and abs(data.std() - 1) < 0.03
    assert getattr(tg, fn)((3, 2)).shape == (3, 2) and getattr(tg, fn)(()).shape == ()
    assert getattr(tg, fn)(4, requires_grad=True).requires_grad


def test_rand_float16_stays_below_one():
    """rand is uniform on [0, 1) in every dtype: rounding a float32 sample to float16 can give 1.0."""
    tg.manual_seed(0)
    x = tg.rand(100_000, dtype=tg.float16)
    assert x.dtype == tg.float16 and x.max().item() < 1.0


def test_randint_ranges_and_dtype():
    x = tg.randint(3, 10, (2000,))
    assert dtype_name(x) == dtype_name(torch.randint(3, 10, (5,))) == "int64"
    assert x.shape == (2000,) and set(x.tolist()) == set(range(3, 10))
    y = tg.randint(5, (4, 500))
    assert y.shape == (4, 500) and set(y.numpy().ravel().tolist()) == set(range(5))
    z = tg.randint(-2, 2, (100,), dtype=tg.int32)
    assert dtype_name(z) == "int32" and z.numpy().min() >= -2 and z.numpy().max() < 2
    w = tg.randint(0, 2, size=(10,), dtype=tg.float32)
    assert dtype_name(w) == "float32"
    for lib in (tg, torch):
        with pytest.raises(RuntimeError):
            lib.randint(5, 5, (3,))


def test_randperm_is_a_permutation():
    for n in (0, 1, 10, 257):
        p = tg.randperm(n)
        assert dtype_name(p) == dtype_name(torch.randperm(n)) == "int64"
        assert sorted(p.tolist()) == list(range(n))
    assert dtype_name(tg.randperm(5, dtype=tg.int32)) == "int32"
    assert tg.randperm(100).tolist() != list(range(100))


def test_rand_like_randn_like():
    base = tg.zeros(3, 4, dtype=tg.float64)
    for fn in (tg.rand_like, tg.randn_like):
        r = fn(base)
        assert r.shape == (3, 4) and r.dtype == tg.float64
        assert fn(base, dtype=tg.float32).dtype == tg.float32


def test_manual_seed_repeatability():
    out = []
    for _ in range(2):
        tg.manual_seed(1234)
        out.append((tg.rand(5).tolist(), tg.randn(3, 2).tolist(), tg.randint(0, 100, (6,)).tolist(),
                    tg.randperm(8).tolist()))
    assert out[0] == out[1]
    tg.manual_seed(1235)
    assert tg.rand(5).tolist() != out[0][0]
    g1, g2 = tg.Generator().manual_seed(7), tg.Generator().manual_seed(7)
    assert tg.rand(4, generator=g1).tolist() == tg.rand(4, generator=g2).tolist()


# ---------------------------------------------------------------- dtype conversions and Python values

CONVERSIONS = {
    "float": lambda lib, x: x.float(),
    "double": lambda lib, x: x.double(),
    "half": lambda lib, x: x.half(),
    "long": lambda lib, x: x.long(),
    "int": lambda lib, x: x.int(),
    "bool": lambda lib, x: x.bool(),
    "to_float64": lambda lib, x: x.to(lib.float64),
    "to_int16": lambda lib, x: x.to(lib.int16),
    "to_uint8": lambda lib, x: (x * x).to(lib.uint8),
    "to_int8": lambda lib, x: x.to(lib.int8),
    "to_dtype_kw": lambda lib, x: x.to(dtype=lib.float16),
    "to_cpu": lambda lib, x: x.to("cpu"),
    "to_tensor": lambda lib, x: x.to(lib.zeros(1, dtype=lib.float64)),
    "type_FloatTensor": lambda lib, x: x.type(lib.FloatTensor),
    "type_DoubleTensor": lambda lib, x: x.type(lib.DoubleTensor),
    "type_LongTensor": lambda lib, x: x.type(lib.LongTensor),
    "type_string": lambda lib, x: x.type("torch.DoubleTensor"),
    "type_dtype": lambda lib, x: x.type(lib.int32),
}
CONVERSION_SOURCES = {"float32": np.array([[-1.7, 0.0, 2.5], [3.99, -0.2, 7.0]], np.float32),
                      "float64": np.array([-1.7, 0.0, 2.5, 1e-3], np.float64),
                      "int64": np.array([-3, 0, 5, 10], np.int64),
                      "bool": np.array([True, False, True])}


@pytest.mark.parametrize("source", list(CONVERSION_SOURCES))
@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_dtype_conversion(name, source):
    check_op(CONVERSIONS[name], CONVERSION_SOURCES[source], dtype=source if source.startswith("float") else "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_type_string(dtype):
    ours, theirs = tg.zeros(2, dtype=getattr(tg, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
    assert ours.type() == theirs.type()
    assert ours.type(tg.float64).dtype == tg.float64


def test_conversion_returns_self_when_nothing_changes():
    for lib in (tg, torch):
        x = lib.ones(3)
        assert x.float() is x and x.to(lib.float32) is x and x.to("cpu") is x


@pytest.mark.parametrize("data", [[[1.5, -2.0], [3.0, 4.25]], [1, 2, 3], [True, False], 3.5, 7, True, [[]], []],
                         ids=str)
def test_item_tolist_numpy(data):
    ours, theirs = tg.tensor(data), torch.tensor(data)
    assert dtype_name(ours) == dtype_name(theirs)
    assert ours.tolist() == theirs.tolist()
    assert type(ours.tolist()) is type(theirs.tolist())
    assert ours.numpy().dtype == theirs.numpy().dtype and ours.numpy().shape == theirs.numpy().shape
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    if theirs.numel() == 1:
        assert ours.item() == theirs.item() and type(ours.item()) is type(theirs.item())


def test_item_of_float32_is_a_python_float():
    for lib in (tg, torch):
        x = lib.tensor([0.1])
        assert type(x.item()) is float and x.item() == np.float32(0.1).item()


def test_item_of_many_elements_raises_like_torch():
    for lib in (tg, torch):
        with pytest.raises((ValueError, RuntimeError)):
            lib.tensor([1.0, 2.0]).item()


def test_numpy_shares_memory_and_refuses_requires_grad_like_torch():
    for lib in (tg, torch):
        x = lib.zeros(3)
        x.numpy()[1] = 5.0
        assert x.tolist() == [0.0, 5.0, 0.0]
        with pytest.raises(RuntimeError):
            lib.zeros(3, requires_grad=True).numpy()
        assert lib.zeros(3, requires_grad=True).detach().numpy().tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------- size-0 and size-1 dimensions

EMPTY_AND_ONES = [
    case("sum_empty", lambda lib, x: x.sum(), (0,)),
    case("sum_empty_2d", lambda lib, x: x.sum(), (0, 3)),
    case("sum_empty_dim", lambda lib, x: x.sum(0), (0, 3)),
    case("sum_over_nonempty_dim_of_empty", lambda lib, x: x.sum(1), (0, 3)),
    case("mean_empty", lambda lib, x: x.mean(), (0,)),
    case("mean_empty_dim", lambda lib, x: x.mean(0), (0, 3)),
    case("matmul_empty_rows", lambda lib, x, y: x @ y, (0, 3), (3, 2)),
    case("matmul_empty_inner", lambda lib, x, y: x @ y, (2, 0), (0, 3)),
    case("mm_empty_cols", lambda lib, x, y: lib.mm(x, y), (2, 3), (3, 0)),
    case("cat_with_empty", lambda lib, x, y: lib.cat([x, y]), (0, 4), (3, 4)),
    case("cat_with_legacy_empty", lambda lib, x, y: lib.cat([x, y]), (0,), (3, 4)),
    case("cat_empty_dim1", lambda lib, x, y: lib.cat([x, y], 1), (3, 0), (3, 2)),
    case("stack_empty", lambda lib, x, y: lib.stack([x, y]), (0, 2), (0, 2)),
    case("exp_empty", lambda lib, x: x.exp(), (0, 3)),
    case("add_empty_broadcast", lambda lib, x, y: x + y, (0, 3), (3,)),
    case("mul_empty_broadcast", lambda lib, x, y: x * y, (0, 1), (1, 4)),
    case("softmax_empty", lambda lib, x: x.softmax(-1), (0, 3)),
    case("log_softmax_empty", lambda lib, x: x.log_softmax(0), (0, 3)),
    case("logsumexp_empty_dim", lambda lib, x: x.logsumexp(0), (0, 3)),
    case("reshape_empty", lambda lib, x: x.reshape(3, 0), (0, 3)),
    case("reshape_empty_minus1", lambda lib, x: x.reshape(-1, 3), (2, 0, 3)),
    case("slice_to_empty", lambda lib, x: x[2:2], (4, 3)),
    case("index_empty_array", lambda lib, x: x[lib.tensor([], dtype=lib.int64)], (4, 3)),
    case("transpose_empty", lambda lib, x: x.t(), (0, 3)),
    case("max_dim_empty_other", lambda lib, x: x.max(1), (0, 3)),
    case("split_empty", lambda lib, x: x.split(2), (0, 3)),
    case("size1_sum", lambda lib, x: x.sum(0), (1, 4)),
    case("size1_matmul", lambda lib, x, y: x @ y, (1, 1), (1, 1)),
    case("size1_softmax", lambda lib, x: x.softmax(-1), (3, 1)),
    case("size1_var_correction0", lambda lib, x: x.var(1, correction=0), (3, 1)),
    case("size1_var_unbiased_is_nan", lambda lib, x: x.var(1), (3, 1)),
    case("single_element_var_is_nan", lambda lib, x: x.var(), (1,)),
    case("single_element_std_is_nan", lambda lib, x: x.std(), (1,)),
    case("var_empty_correction0", lambda lib, x: x.var(0, correction=0), (0,)),
    case("size1_max", lambda lib, x: x.max(0), (1, 3)),
    case("size1_expand", lambda lib, x: x.expand(1, 5), (1, 1)),
    case("scalar_ops", lambda lib, x, y: (x * y + x.exp()) / y.sigmoid(), (), ()),
    case("scalar_sum", lambda lib, x: x.sum(), ()),
    case("scalar_sum_dim0", lambda lib, x: x.sum(0), ()),
    case("scalar_unsqueeze", lambda lib, x: x.unsqueeze(0), ()),
    case("scalar_flatten", lambda lib, x: x.flatten(), ()),
    case("scalar_reshape", lambda lib, x: x.reshape(1, 1), ()),
    case("scalar_softmax", lambda lib, x: x.softmax(0), ()),
    case("scalar_log_softmax", lambda lib, x: x.log_softmax(-1), ()),
    case("scalar_mean_dim0", lambda lib, x: x.mean(0), ()),
    case("scalar_max_dim0", lambda lib, x: x.max(0), ()),
    case("scalar_logsumexp_dim0", lambda lib, x: x.logsumexp(0), ()),
    case("scalar_argmax_dim0", lambda lib, x: x.argmax(0), ()),
    case("scalar_max", lambda lib, x: x.max(), ()),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,inputs,kw", EMPTY_AND_ONES)
def test_empty_and_size1(fn, inputs, kw, dtype):
    run(fn, inputs, kw, dtype)


def test_var_of_single_element_is_nan_like_torch():
    for lib in (tg, torch):
        with np.errstate(all="ignore"):
            assert np.isnan(lib.tensor([1.0]).var().item())


def test_max_of_empty_raises_like_torch():
    for lib in (tg, torch):
        with pytest.raises((RuntimeError, IndexError)):
            lib.zeros(0).max()
        with pytest.raises((RuntimeError, IndexError)):
            lib.zeros(0, 3).max(0)


@pytest.mark.parametrize("call", [lambda x: x.argmax(), lambda x: x.argmin(), lambda x: x.argmax(0)],
                         ids=["argmax", "argmin", "argmax_dim"])
def test_argmax_of_empty_raises_index_error_like_torch(call):
    for lib in (tg, torch):
        with pytest.raises(IndexError):
            call(lib.zeros(0, 3))


# ---------------------------------------------------------------- whole expressions

def test_mlp_forward_backward():
    def mlp(lib, x, w1, b1, w2, b2):
        h = (x @ w1 + b1).relu()
        logits = h @ w2 + b2
        return (logits.logsumexp(1) - logits[lib.arange(8), lib.arange(8) % 3]).mean()

    for dtype in DTYPES:
        check_op(mlp, (8, 5), (5, 16), (16,), (16, 3), (3,), dtype=dtype, rtol=1e-5 if dtype == "float32" else 1e-10,
                 atol=1e-5 if dtype == "float32" else 1e-10)


def test_node_name_compared_by_default():
    ours, theirs = check_op(lambda lib, x, y: x * y, (2,), (2,))
    assert node_name_of(ours) == node_name_of(theirs) == "MulBackward0"

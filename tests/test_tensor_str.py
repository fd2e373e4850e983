"""tensor_repr must match torch's Tensor.__repr__ exactly (with "torch." -> "tinygrad_edu.")."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu._tensor_str import PRINT_OPTS, get_printoptions, printoptions, set_printoptions, tensor_repr

FLOATS = ["float16", "float32", "float64"]
INTS = ["int8", "int16", "int32", "int64", "uint8"]
DTYPES = FLOATS + INTS + ["bool"]


def torch_repr(arr, requires_grad=False, op=None):
    t = torch.from_numpy(arr.copy())
    if requires_grad or op is not None:
        t.requires_grad_(True)
    if op is not None:
        t = op(t)
    return repr(t).replace("torch.", "tinygrad_edu.")


def check(arr, requires_grad=False, op=None, grad_fn_name=None):
    expected = torch_repr(arr, requires_grad, op)
    got = tensor_repr(arr, arr.dtype.name, requires_grad=requires_grad, grad_fn_name=grad_fn_name)
    assert got == expected, f"\n--- torch:\n{expected}\n--- ours:\n{got}"


@pytest.fixture(autouse=True)
def _default_printoptions():
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")


def _cases():
    rng = np.random.default_rng(0)
    c = {}
    # 0-d
    for v in [4.0, 0.1919, -2.5, 0.0, -0.0, 1e-5, 1e10, 123456.789, float("nan"), float("inf"), float("-inf")]:
        for dt in FLOATS:
            with np.errstate(over="ignore"):
                c[f"0d-{dt}-{v}"] = np.array(v, dtype=dt)
    for dt in INTS:
        c[f"0d-{dt}"] = np.array(3, dtype=dt)
    c["0d-neg-int"] = np.array(-7, dtype=np.int64)
    c["0d-true"], c["0d-false"] = np.array(True), np.array(False)
    # 1-D .. 4-D of each dtype
    for dt in DTYPES:
        for shape in [(5,), (3, 4), (2, 3, 4), (2, 2, 3, 2), (1,), (1, 1), (7, 1, 1)]:
            if dt in FLOATS:
                a = rng.standard_normal(shape)
            elif dt == "bool":
                a = rng.random(shape) > 0.5
            else:
                info = np.iinfo(dt)
                a = rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True)
            c[f"{dt}-{shape}"] = a.astype(dt)
    for dt in INTS:  # extreme integers
        info = np.iinfo(dt)
        c[f"{dt}-extremes"] = np.array([info.min, 0, info.max, 1], dtype=dt)
    c["bool-all-true"] = np.ones((2, 3), dtype=bool)
    c["bool-all-false"] = np.zeros(4, dtype=bool)
    # float special cases
    f = np.float32
    c["int-valued"] = np.array([1.0, 2.0], f)
    c["int-valued-neg"] = np.array([[-1.0, 20.0], [300.0, -4000.0]], f)
    c["int-valued-sci"] = np.array([1e10, 1.0, 3.0], f)
    c["int-valued-sci-2"] = np.array([1.0, 2000.0], f)
    c["int-valued-nan"] = np.array([1.0, np.nan, -np.inf, np.inf], f)
    c["mixed-magnitudes"] = np.array([1e-8, 1.0, 1e8, -3.5], f)
    c["mixed-magnitudes-64"] = np.array([1e-300, 1.0, 1e300, -3.5e-120])
    c["small"] = np.array([1e-5, 2e-5], f)
    c["ratio-1000"] = np.array([0.001, 1.0001], f)
    c["ratio-just-over"] = np.array([0.001, 1.0011], f)
    c["negatives"] = -np.abs(rng.standard_normal(8)).astype(f)
    c["nan-inf"] = np.array([np.nan, np.inf, -np.inf, 1.5, -2.25], f)
    c["only-nonfinite"] = np.array([np.nan, np.inf, -np.inf], f)
    c["zeros"] = np.zeros((2, 3), f)
    c["neg-zero"] = np.array([-0.0, 0.5, 1.25], f)
    c["neg-zero-int-mode"] = np.array([-0.0, 1.0, 2.0], f)
    c["rounding-up"] = np.array([9.99996, 0.5], f)
    c["rounding-up-sci"] = np.array([9.99996e99, 1.0], np.float64)
    c["big-fixed"] = np.array([12345.678, -0.5], f)
    c["float16-limits"] = np.array([65504.0, -65504.0, 6e-8, 1.0], np.float16)
    c["float16-randn"] = rng.standard_normal((4, 5)).astype(np.float16)
    c["float64-randn"] = rng.standard_normal((3, 3))
    c["wide-1d"] = rng.standard_normal(40).astype(f) * 100
    c["wide-2d"] = rng.standard_normal((4, 25)).astype(f)
    c["wide-int"] = rng.integers(-10**9, 10**9, size=(3, 30))
    c["long-3d"] = rng.standard_normal((3, 2, 17)).astype(f)
    # summarized
    c["arange2000"] = np.arange(2000.0, dtype=f)
    c["arange2000-int"] = np.arange(2000)
    c["arange2000-f64"] = np.arange(2000.0)
    c["randn30x30"] = rng.standard_normal((30, 30)).astype(f)
    c["randn40x40"] = rng.standard_normal((40, 40)).astype(f)
    c["randn1100"] = rng.standard_normal(1100).astype(f)
    c["2x1000"] = rng.standard_normal((2, 1000)).astype(f)
    c["1000x2"] = rng.standard_normal((1000, 2)).astype(f)
    c["1001"] = rng.standard_normal(1001).astype(f)
    c["1000-not-summarized"] = rng.standard_normal(1000).astype(f)
    c["summ-3d"] = rng.standard_normal((10, 11, 12)).astype(f)
    c["summ-4d"] = rng.standard_normal((7, 2, 8, 10)).astype(np.float64)
    c["summ-bool"] = rng.random((20, 60)) > 0.5
    c["summ-uint8"] = rng.integers(0, 255, size=(50, 50), endpoint=True).astype(np.uint8)
    c["summ-sci"] = (rng.standard_normal((40, 40)) * 1e6).astype(f)
    c["summ-hidden-values"] = np.concatenate([np.ones(500, f), np.full(1, 1e20, f), np.ones(500, f)])
    # empty
    for dt in DTYPES:
        for shape in [(0,), (0, 3), (2, 0, 4), (3, 0)]:
            c[f"empty-{dt}-{shape}"] = np.zeros(shape, dtype=dt)
    # non-contiguous views
    c["transposed"] = rng.standard_normal((3, 5)).astype(f).T
    c["strided"] = np.arange(20, dtype=f)[::3]
    return c


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_repr_matches_torch(name):
    check(CASES[name])


SUFFIX_CASES = ["0d-float32-4.0", "float32-(5,)", "float32-(3, 4)", "wide-1d", "wide-2d", "randn40x40",
                "2x1000", "float16-randn", "float64-randn", "empty-float32-(0,)", "empty-float64-(0, 3)", "long-3d"]


@pytest.mark.parametrize("name", SUFFIX_CASES)
def test_requires_grad_suffix(name):
    check(CASES[name], requires_grad=True)


@pytest.mark.parametrize("name", SUFFIX_CASES)
@pytest.mark.parametrize("op,grad_fn", [(lambda t: t * 1, "MulBackward0"), (lambda t: t + 0, "AddBackward0")])
def test_grad_fn_suffix(name, op, grad_fn):
    check(CASES[name], op=op, grad_fn_name=grad_fn)


@pytest.mark.parametrize("n", range(1, 40))
def test_suffix_wrapping(n):
    # every possible last-line length, for suffixes of different lengths
    arr = (np.arange(n, dtype=np.float64) * 1.5).astype(np.float32)
    check(arr, requires_grad=True)
    check(arr.astype(np.float16), op=lambda t: t * 1, grad_fn_name="MulBackward0")
    check(arr.astype(np.float64), op=lambda t: t + 0, grad_fn_name="AddBackward0")
    check(arr, op=lambda t: t.unsqueeze(0).squeeze(0), grad_fn_name="SqueezeBackward1")
    check(arr.astype(np.float16), op=lambda t: t.clone(), grad_fn_name="CloneBackward0")


OPTION_SETS = [
    dict(precision=2), dict(precision=0), dict(precision=8), dict(sci_mode=False), dict(sci_mode=True),
    dict(threshold=5), dict(threshold=0), dict(edgeitems=1, threshold=10), dict(edgeitems=0), dict(edgeitems=0, threshold=3),
    dict(linewidth=40), dict(linewidth=1), dict(linewidth=200), dict(profile="short"), dict(profile="full"),
    dict(profile="short", precision=6), dict(precision=2, sci_mode=False),
]
OPTION_CASES = ["0d-float32-0.1919", "0d-float32-4.0", "0d-int64", "float32-(3, 4)", "float64-(2, 3, 4)", "int32-(2, 2, 3, 2)",
                "bool-(3, 4)", "mixed-magnitudes", "int-valued-sci", "int-valued", "zeros", "nan-inf", "small", "big-fixed",
                "arange2000", "randn40x40", "2x1000", "summ-3d", "summ-sci", "wide-int", "empty-int64-(0, 3)", "neg-zero"]


@pytest.mark.parametrize("opts", OPTION_SETS, ids=str)
@pytest.mark.parametrize("name", OPTION_CASES)
def test_printoptions(opts, name):
    torch.set_printoptions(**opts)
    set_printoptions(**opts)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    check(CASES[name])
    if CASES[name].dtype.kind == "f":
        check(CASES[name], op=lambda t: t * 1, grad_fn_name="MulBackward0")


def test_printoptions_context_manager():
    arr = np.array([1.12345], np.float32)
    with printoptions(precision=2):
        assert tensor_repr(arr, "float32") == "tensor([1.12])"
        assert PRINT_OPTS.precision == 2
    assert tensor_repr(arr, "float32") == "tensor([1.1235])"
    set_printoptions(threshold=5)
    assert tensor_repr(np.arange(10), "int64") == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="default")
    assert tensor_repr(np.arange(10), "int64") == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_accepts_non_ndarray_and_explicit_literals():
    assert tensor_repr(np.float32(0.1919), "float32") == "tensor(0.1919)"
    assert tensor_repr(np.array(True), "bool") == "tensor(True)"
    assert tensor_repr(np.array([1e10, 1.0], np.float32), "float32") == "tensor([1.0000e+10, 1.0000e+00])"
    assert tensor_repr(np.zeros((0, 3), np.float32), "float32") == "tensor([], size=(0, 3))"
    assert tensor_repr(np.zeros(0, np.int64), "int64") == "tensor([], dtype=tinygrad_edu.int64)"


# ---------------------------------------------------------------------------- hypothesis

@st.composite
def arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7))
    if dtype.kind == "f" and draw(st.booleans()):
        # "realistic" floats: randn * 10**k, sometimes rounded, sometimes with nan/inf/0 sprinkled in
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        a = rng.standard_normal(shape) * 10.0 ** draw(st.integers(-12, 12))
        if draw(st.booleans()):
            a = np.round(a)
        if a.size and draw(st.booleans()):
            a.flat[rng.integers(0, a.size, size=2)] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
        with np.errstate(over="ignore"):
            return np.asarray(a).astype(dtype)
    return draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype)))


@settings(deadline=None, max_examples=200)
@given(arr=arrays(), grad=st.sampled_from([None, "requires_grad", "MulBackward0"]))
def test_hypothesis_default_options(arr, grad):
    if grad is None or arr.dtype.kind != "f":
        check(arr)
    elif grad == "requires_grad":
        check(arr, requires_grad=True)
    else:
        check(arr, op=lambda t: t * 1, grad_fn_name=grad)


@settings(deadline=None, max_examples=200)
@given(arr=arrays(), precision=st.integers(0, 8), threshold=st.integers(0, 60), edgeitems=st.integers(0, 4),
       linewidth=st.integers(1, 120), sci_mode=st.sampled_from([None, True, False]))
def test_hypothesis_random_options(arr, precision, threshold, edgeitems, linewidth, sci_mode):
    opts = dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth, sci_mode=sci_mode)
    try:
        torch.set_printoptions(**opts)
        set_printoptions(**opts)
        check(arr)
    finally:
        torch.set_printoptions(profile="default")
        set_printoptions(profile="default")

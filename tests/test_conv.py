"""Convolution and max pooling: torch parity (values, gradients, node names) on both backends,
gradcheck / gradgradcheck in float64, the conv.c kernels against their NumPy twins (hypothesis),
the kernels' own errors and return codes, and PyTorch's argument-error texts.

Tests needing the compiled extension fail when it is missing (see tests/conftest.py), unless
TINYGRAD_EDU_ALLOW_NO_C=1.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.backend import numpy_kernels

from helpers import check_op

# float32 gradients of weights sum hundreds of products: float32 rounding, not float32 epsilon.
TOL = {"float64": {}, "float32": {"rtol": 1e-4, "atol": 1e-4}}

# (input shape, weight shape, kwargs): strides, paddings, dilations, odd and non-square sizes,
# 1x1 kernels, kernel = input size, stride > kernel, 'same' with even kernels, unbatched input.
CONV_CASES = [
    ((2, 3, 7, 9), (4, 3, 3, 3), {}),
    ((2, 3, 8, 8), (5, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((1, 2, 9, 7), (3, 2, 3, 2), {"stride": (2, 1), "padding": (1, 0), "dilation": (2, 1)}),
    ((3, 1, 5, 5), (2, 1, 5, 5), {}),
    ((2, 2, 6, 7), (3, 2, 1, 1), {"stride": 3}),
    ((2, 2, 7, 6), (3, 2, 4, 2), {"padding": "same"}),
    ((1, 3, 6, 6), (2, 3, 3, 3), {"padding": "same", "dilation": 2}),
    ((2, 2, 5, 6), (2, 2, 2, 3), {"padding": "valid", "stride": (1, 2)}),
    ((3, 5, 6), (2, 3, 3, 3), {"padding": 2, "stride": 2, "dilation": 2}),  # unbatched [C, H, W]
    ((4, 16, 14, 14), (8, 16, 5, 5), {"padding": 2}),  # the notes' second conv, smaller
]


def _case_id(case) -> str:
    return f"x{list(case[0])}-w{list(case[1])}-{case[2]}"


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own zero-padded copy
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv2d_matches_torch(backend_name, case, dtype):
    x_shape, w_shape, kwargs = case
    check_op(lambda lib, x, w, b: lib.conv2d(x, w, b, **kwargs), x_shape, w_shape, (w_shape[0],), dtype=dtype,
             **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_without_bias_and_strided_inputs(backend_name, dtype):
    check_op(lambda lib, x, w: lib.conv2d(x, w, stride=2, padding=1), (2, 3, 7, 8), (4, 3, 3, 2), dtype=dtype,
             noncontig=True, **TOL[dtype])


def test_conv2d_only_some_inputs_require_grad(backend_name):
    # The notes' first layer: the data needs no gradient. Weight frozen: only the input's.
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    check_op(lambda lib, w, b: lib.conv2d(lib.tensor(x), w, b, padding=2), (3, 1, 5, 5), (3,))
    w = np.random.default_rng(1).standard_normal((3, 1, 3, 3))
    check_op(lambda lib, x: lib.conv2d(x, lib.tensor(w)), (2, 1, 6, 6))


def test_conv2d_empty_batch(backend_name):
    check_op(lambda lib, x, w, b: lib.conv2d(x, w, b), (0, 2, 5, 5), (3, 2, 3, 3), (3,))


def _pool(lib, *args, **kwargs):
    """max_pool2d with return_indices: ours at the top level, torch's in nn.functional
    (torch.max_pool2d has no return_indices)."""
    return (F if lib is torch else lib).max_pool2d(*args, **kwargs)


# (input shape, kwargs): kernel and stride pairs, padding, dilation, ceil_mode, overlapping
# windows (stride < kernel), stride > kernel, kernel = input size, unbatched input.
POOL_CASES = [
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((2, 2, 7, 9), {"kernel_size": (2, 3), "stride": (2, 1)}),
    ((1, 3, 7, 7), {"kernel_size": 3, "stride": 1, "padding": 1}),
    ((2, 2, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2}),
    ((2, 2, 7, 7), {"kernel_size": 2, "ceil_mode": True}),
    ((1, 2, 10, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((2, 1, 8, 8), {"kernel_size": 1, "stride": 3}),
    ((2, 2, 5, 6), {"kernel_size": (5, 6)}),
    ((3, 7, 6), {"kernel_size": 2, "stride": 1}),  # unbatched
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"x{list(c[0])}-{c[1]}")
def test_max_pool2d_matches_torch(backend_name, case, dtype):
    shape, kwargs = case
    # with indices: values, int64 indices (exactly), the node name, the input gradient
    check_op(lambda lib, x: _pool(lib, x, **kwargs, return_indices=True), shape, dtype=dtype)
    check_op(lambda lib, x: lib.max_pool2d(x, **kwargs), shape, dtype=dtype, noncontig=True)


def test_max_pool2d_ties_padding_and_nan_follow_pytorch(backend_name):
    # Ties go to the first element of the window; -inf inputs still beat the implicit padding;
    # a NaN wins its window (the last NaN), as PyTorch's CPU kernel.
    x = np.zeros((1, 2, 4, 5))
    x[0, 1] = -np.inf
    x[0, 1, 1, 2] = np.nan
    x[0, 1, 3, 3] = np.nan
    x[0, 1, 3, 4] = np.nan
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        check_op(lambda lib, t: _pool(lib, t, **kwargs, return_indices=True), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_notes_cnn_forward_backward(backend_name, dtype):
    """The notes' CNN body: conv 5x5 pad 2, relu, pool 2, conv 5x5 pad 2, relu, pool 2 (smaller)."""
    def body(lib, x, w1, b1, w2, b2):
        y = lib.max_pool2d(lib.relu(lib.conv2d(x, w1, b1, padding=2)), 2)
        return lib.max_pool2d(lib.relu(lib.conv2d(y, w2, b2, stride=1, padding=2)), kernel_size=2)
    check_op(body, (3, 1, 12, 12), (4, 1, 5, 5), (4,), (6, 4, 5, 5), (6,), dtype=dtype, **TOL[dtype])


@st.composite
def conv_geometries(draw):
    """Random valid conv2d arguments: shapes, and stride / padding / dilation as ints or pairs."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel, kwargs = [], {"stride": [], "padding": [], "dilation": []}
    size = []
    for _ in range(2):
        k, d, s, p = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(0, 3))
        span = d * (k - 1) + 1
        size.append(draw(st.integers(max(1, span - 2 * p), span + 6)))  # the padded input fits the kernel
        kernel.append(k)
        for name, v in zip(("stride", "padding", "dilation"), (s, p, d)):
            kwargs[name].append(v)
    kwargs = {name: tuple(v) for name, v in kwargs.items()}
    return (n, c, *size), (o, c, *kernel), kwargs


@settings(max_examples=25, deadline=None)
@given(conv_geometries())
def test_conv2d_random_geometry_matches_torch(case):
    x_shape, w_shape, kwargs = case
    check_op(lambda lib, x, w, b: lib.conv2d(x, w, b, **kwargs), x_shape, w_shape, (w_shape[0],))


@st.composite
def pool_geometries(draw):
    """Random valid max_pool2d arguments, ceil_mode included."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kwargs = {"kernel_size": [], "stride": [], "padding": [], "dilation": []}
    size = []
    for _ in range(2):
        k, d, s = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
        span = d * (k - 1) + 1
        p = draw(st.integers(0, k // 2))  # PyTorch's limit; then every window overlaps the input
        size.append(draw(st.integers(span, span + 6)))
        for name, v in zip(("kernel_size", "stride", "padding", "dilation"), (k, s, p, d)):
            kwargs[name].append(v)
    kwargs = {name: tuple(v) for name, v in kwargs.items()}
    kwargs["ceil_mode"] = draw(st.booleans())
    return (n, c, *size), kwargs


@settings(max_examples=25, deadline=None)
@given(pool_geometries())
def test_max_pool2d_random_geometry_matches_torch(case):
    shape, kwargs = case
    check_op(lambda lib, x: _pool(lib, x, **kwargs, return_indices=True), shape)


# ---------------------------------------------------------------- finite differences, float64

def _leaves(rng, *shapes):
    return [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": (1, 2)}])
def test_conv2d_gradcheck_and_gradgradcheck(backend_name, kwargs):
    x, w, b = _leaves(np.random.default_rng(0), (2, 2, 5, 4), (3, 2, 3, 2), (3,))
    fn = lambda x, w, b: tg.conv2d(x, w, b, **kwargs)  # noqa: E731
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 2, "stride": 1, "dilation": 2, "ceil_mode": True}])
def test_max_pool2d_gradcheck_and_gradgradcheck(backend_name, kwargs):
    # distinct, well-separated values: finite differences never change which element is the max
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) / 10.0, requires_grad=True)
    fn = lambda x: tg.max_pool2d(x, **kwargs)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_double_backward_matches_torch(backend_name):
    """A gradient penalty through conv and pool: second derivatives in x and w equal torch's."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((3, 2, 3, 3))]
    results = []
    for lib in (tg, torch):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.max_pool2d(lib.conv2d(x, w, padding=1, stride=(1, 2)), 2, stride=1)
        gx, gw = lib.autograd.grad((y * y).sum(), [x, w], create_graph=True)
        ((gx * gx).sum() + (gw ** 3).sum()).backward()
        results.append([x.grad.numpy(), w.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- kernels: C against the NumPy twin

def _out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@st.composite
def windows(draw, pool: bool = False):
    """A batch shape and a valid window: 1x1 kernels, kernel = input size, stride > kernel."""
    n, c = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    pairs = []
    for _ in range(2):
        size = draw(st.integers(1, 9))
        d = draw(st.integers(1, 3))
        k = draw(st.integers(1, max(1, (size - 1) // d + 1)))  # the dilated kernel fits unpadded
        span = d * (k - 1) + 1
        p = draw(st.integers(0, span // 2 if pool else span))
        s = draw(st.integers(1, 4))
        pairs.append((size, k, s, p, d, _out(size, k, s, p, d)))
    (h, kh, sh, ph, dh, oh), (w, kw, sw, pw, dw, ow) = pairs
    return (n, c, h, w), ((kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow))


def _ints(rng, shape, dtype):
    """Small integers stored as floats: every sum is exact, so both kernels agree bit for bit."""
    return rng.integers(-4, 5, size=shape).astype(dtype)


@settings(max_examples=60, deadline=None)
@given(windows(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_im2col_col2im_c_equal_numpy(c_kernels, case, dtype, seed):
    shape, win = case
    rng = np.random.default_rng(seed)
    x = _ints(rng, shape, dtype)
    cols = c_kernels.im2col(x, *win)
    np.testing.assert_array_equal(cols, numpy_kernels.im2col(x, *win))
    (kh, kw), (oh, ow) = win[0], win[4]
    assert cols.shape == (shape[0] * oh * ow, shape[1] * kh * kw) and cols.dtype == dtype
    r = _ints(rng, cols.shape, dtype)
    folded = c_kernels.col2im(r, shape, *win)
    np.testing.assert_array_equal(folded, numpy_kernels.col2im(r, shape, *win))
    # col2im is the adjoint of im2col: <im2col(x), r> == <x, col2im(r)>
    assert np.sum(cols * r, dtype=np.float64) == np.sum(x * folded, dtype=np.float64)
    # the _t pair is the same with the unfolded matrix transposed
    cols_t = c_kernels.im2col_t(x, *win)
    np.testing.assert_array_equal(cols_t, numpy_kernels.im2col_t(x, *win))
    np.testing.assert_array_equal(cols_t, cols.T)
    r_t = np.ascontiguousarray(r.T)
    np.testing.assert_array_equal(c_kernels.col2im_t(r_t, shape, *win), folded)
    np.testing.assert_array_equal(numpy_kernels.col2im_t(r_t, shape, *win), folded)


@settings(max_examples=60, deadline=None)
@given(windows(pool=True), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_max_pool2d_kernels_c_equal_numpy(c_kernels, case, dtype, seed):
    shape, win = case
    rng = np.random.default_rng(seed)
    x = _ints(rng, shape, dtype)  # many ties: the first-index rule is exercised
    values, indices = c_kernels.max_pool2d_forward(x, *win)
    expected_values, expected_indices = numpy_kernels.max_pool2d_forward(x, *win)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(indices, expected_indices)
    g = _ints(rng, values.shape, dtype)
    np.testing.assert_array_equal(c_kernels.max_pool2d_backward(g, indices, shape),
                                  numpy_kernels.max_pool2d_backward(g, indices, shape))


@settings(max_examples=60, deadline=None)
@given(windows(), st.integers(0, 3), st.booleans(), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**16))
def test_conv2d_kernels_c_equal_numpy(c_kernels, case, o, with_bias, dtype, seed):
    shape, win = case
    rng = np.random.default_rng(seed)
    x, weight = _ints(rng, shape, dtype), _ints(rng, (o, shape[1]) + win[0], dtype)
    bias = _ints(rng, (o,), dtype) if with_bias else None
    out = c_kernels.conv2d_forward(x, weight, bias, *win)
    assert out.shape == (shape[0], o) + win[4] and out.dtype == dtype
    np.testing.assert_array_equal(out, numpy_kernels.conv2d_forward(x, weight, bias, *win))
    g = _ints(rng, out.shape, dtype)
    for needs in ((True, True, True), (False, True, False), (True, False, True)):
        got = c_kernels.conv2d_backward(g, x, weight, *win, *needs)
        expected = numpy_kernels.conv2d_backward(g, x, weight, *win, *needs)
        for a, e, shape_, wanted in zip(got, expected, (x.shape, weight.shape, (o,)), needs):
            assert (a is None) == (not wanted) and (e is None) == (not wanted)
            if wanted:
                assert a.shape == shape_ and a.dtype == dtype
                np.testing.assert_array_equal(a, e)


def test_conv2d_kernels_same_result_on_1_and_2_threads(c_kernels):
    """A batch cut into several chunks run on the thread pool: the chunked weight and bias sums
    are added in a fixed order, so the thread count does not change a bit."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((21, 3, 9, 9)).astype(np.float32)
    weight = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    win = ((3, 3), (1, 1), (1, 1), (1, 1), (9, 9))
    g = rng.standard_normal((21, 5, 9, 9)).astype(np.float32)
    before = backend.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 1, 2):
            backend.set_num_threads(threads)
            results.append((c_kernels.conv2d_forward(x, weight, bias, *win),
                            *c_kernels.conv2d_backward(g, x, weight, *win, True, True, True)))
    finally:
        backend.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
    expected = (numpy_kernels.conv2d_forward(x, weight, bias, *win),
                *numpy_kernels.conv2d_backward(g, x, weight, *win, True, True, True))
    for a, e in zip(results[0], expected):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_max_pool2d_forward_same_result_on_1_and_2_threads(c_kernels):
    """Big enough (> 256k window taps) for the planes to be split across the thread pool; a
    padded, overlapping window so that clipped windows run next to the row-wise fast path."""
    x = _ints(np.random.default_rng(0), (8, 16, 33, 31), np.float32)  # ties: the first-index rule
    x[0, 0, 5, 7] = np.nan
    win = ((3, 3), (2, 2), (1, 1), (1, 1), (17, 16))
    expected = numpy_kernels.max_pool2d_forward(x, *win)
    before = backend.get_num_threads()
    try:
        for threads in (1, 2, 2):
            backend.set_num_threads(threads)
            for got, e in zip(c_kernels.max_pool2d_forward(x, *win), expected):
                np.testing.assert_array_equal(got, e)
    finally:
        backend.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding, size, out", [((0, 0), (8, 10), (4, 5)), ((1, 0), (7, 9), (4, 4)),
                                                ((1, 1), (6, 7), (4, 4))])
def test_max_pool2d_2x2_fast_path_equals_numpy(c_kernels, dtype, padding, size, out):
    """kernel 2 stride 2 (the notes' pools) has its own one-pass row in C: ties keep the first
    index, a NaN wins over everything and the last NaN of a window over an earlier one, and
    clipped windows at padded or odd edges still take the general path."""
    rng = np.random.default_rng(1)
    x = _ints(rng, (3, 4) + size, dtype)
    x[0, 0, 2, 2] = x[0, 0, 3, 3] = x[1, 2, 0, 1] = np.nan
    x[2, 3, 4, 4] = np.inf
    win = ((2, 2), (2, 2), padding, (1, 1), out)
    for got, expected in zip(c_kernels.max_pool2d_forward(x, *win), numpy_kernels.max_pool2d_forward(x, *win)):
        np.testing.assert_array_equal(got, expected)


def test_kernels_accept_strided_inputs(kernels):
    x = np.arange(2 * 3 * 6 * 5, dtype=np.float64).reshape(2, 3, 5, 6).transpose(0, 1, 3, 2)
    win = ((3, 2), (1, 2), (1, 0), (1, 1), (6, 2))
    np.testing.assert_array_equal(kernels.im2col(x, *win), numpy_kernels.im2col(np.ascontiguousarray(x), *win))
    np.testing.assert_array_equal(kernels.im2col_t(x, *win), numpy_kernels.im2col(x.copy(), *win).T)
    r = np.arange(24 * 18, dtype=np.float64).reshape(24, 18)  # cols: [2*6*2, 3*3*2]
    np.testing.assert_array_equal(kernels.col2im_t(r.T, x.shape, *win), numpy_kernels.col2im(r, x.shape, *win))
    values, indices = kernels.max_pool2d_forward(x, *win)
    np.testing.assert_array_equal(values, numpy_kernels.max_pool2d_forward(x.copy(), *win)[0])


# ---------------------------------------------------------------- kernels: errors

WIN = ((2, 2), (1, 1), (0, 0), (1, 1), (3, 3))


def test_kernel_argument_errors_are_the_same_on_both_backends(kernels):
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        kernels.im2col(x.astype(np.int64), *WIN)
    with pytest.raises(RuntimeError, match=r"expected x to be 4-D, got shape \(4, 4\)"):
        kernels.im2col(x[0, 0], *WIN)
    with pytest.raises(ValueError, match=r"stride must be >= 1, got \(0, 1\)"):
        kernels.im2col(x, (2, 2), (0, 1), (0, 0), (1, 1), (3, 3))
    with pytest.raises(ValueError, match="kernel_size must be a pair of ints"):
        kernels.max_pool2d_forward(x, 2, (1, 1), (0, 0), (1, 1), (3, 3))
    with pytest.raises(RuntimeError, match=r"col2im: expected cols of shape \(9, 4\)"):
        kernels.col2im(np.zeros((9, 5), np.float32), (1, 1, 4, 4), *WIN)
    with pytest.raises(RuntimeError, match=r"col2im_t: expected cols of shape \(4, 9\)"):
        kernels.col2im_t(np.zeros((9, 4), np.float32), (1, 1, 4, 4), *WIN)
    with pytest.raises(TypeError, match="im2col_t: expected x to be float32 or float64, got float16"):
        kernels.im2col_t(x.astype(np.float16), *WIN)
    with pytest.raises(ValueError, match="a window lies entirely in the padding"):
        kernels.max_pool2d_forward(x, (1, 1), (1, 1), (1, 1), (1, 1), (6, 6))
    w = np.zeros((2, 1, 2, 2), np.float32)
    with pytest.raises(RuntimeError, match=r"conv2d_forward: expected weight \[O, 1, 2, 2\] for x \(1, 1, 4, 4\), "
                                           r"got weight \(2, 1, 3, 3\)"):
        kernels.conv2d_forward(x, np.zeros((2, 1, 3, 3), np.float32), None, *WIN)
    with pytest.raises(RuntimeError, match=r"and bias \(2,\) .* got weight \(2, 1, 2, 2\) and bias \(3,\)"):
        kernels.conv2d_forward(x, w, np.zeros(3, np.float32), *WIN)
    with pytest.raises(TypeError, match="conv2d_forward: x, weight and bias must have one dtype, got float32, "
                                        "float32 and float64"):
        kernels.conv2d_forward(x, w, np.zeros(2), *WIN)
    with pytest.raises(RuntimeError, match=r"conv2d_backward: expected weight \[O, 1, 2, 2\] and grad_out "
                                           r"\(1, 2, 3, 3\)"):
        kernels.conv2d_backward(np.zeros((1, 2, 4, 4), np.float32), x, w, *WIN, True, True, True)
    with pytest.raises(RuntimeError, match=r"conv2d_backward: expected grad_out to be 4-D"):
        kernels.conv2d_backward(np.zeros((2, 3, 3), np.float32), x, w, *WIN, True, True, True)
    g = np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(TypeError, match="indices to be an int64"):
        kernels.max_pool2d_backward(g, np.zeros((1, 1, 3, 3), np.int32), (1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="must have the same shape"):
        kernels.max_pool2d_backward(g, np.zeros((1, 1, 3, 2), np.int64), (1, 1, 4, 4))
    for bad in (-1, 16):
        with pytest.raises(IndexError, match="outside the input plane of 16 elements"):
            kernels.max_pool2d_backward(g, np.full((1, 1, 3, 3), bad, np.int64), (1, 1, 4, 4))


def test_c_kernels_return_codes_never_abort(c_kernels):
    """Called directly, bypassing the wrapper's checks: bad sizes and NULLs give error codes."""
    ffi, lib = c_kernels.ffi, c_kernels.lib
    good = ffi.new("struct tg_window *", (2, 2, 1, 1, 0, 0, 1, 1, 3, 3))
    x, out = ffi.new("float[16]"), ffi.new("float[36]")
    idx = ffi.new("int64_t[9]")
    assert lib.tg_im2col_f32(x, out, 1, 1, 4, 4, good) == lib.TG_OK
    assert lib.tg_im2col_f32(x, out, -1, 1, 4, 4, good) == lib.TG_ERR_SIZE
    assert lib.tg_im2col_f32(x, out, 1, 1, 4, 4, ffi.NULL) == lib.TG_ERR_NULL
    assert lib.tg_im2col_f32(ffi.NULL, out, 1, 1, 4, 4, good) == lib.TG_ERR_NULL
    assert lib.tg_col2im_f32(out, ffi.NULL, 1, 1, 4, 4, good) == lib.TG_ERR_NULL
    assert lib.tg_im2col_t_f32(x, out, 1, 1, 4, 4, good) == lib.TG_OK
    assert lib.tg_im2col_t_f32(x, ffi.NULL, 1, 1, 4, 4, good) == lib.TG_ERR_NULL
    assert lib.tg_col2im_t_f32(out, x, 1, -1, 4, 4, good) == lib.TG_ERR_SIZE
    for field, value in (("stride_h", 0), ("dilation_w", 0), ("kernel_h", 0), ("pad_w", -1), ("out_h", -2),
                         ("kernel_w", 2**62)):
        bad = ffi.new("struct tg_window *", (2, 2, 1, 1, 0, 0, 1, 1, 3, 3))
        setattr(bad, field, value)
        assert lib.tg_im2col_f32(x, out, 1, 1, 4, 4, bad) == lib.TG_ERR_SIZE, field
        assert lib.tg_col2im_t_f32(out, x, 1, 1, 4, 4, bad) == lib.TG_ERR_SIZE, field
        assert lib.tg_max_pool2d_forward_f32(x, out, idx, 1, 1, 4, 4, bad) == lib.TG_ERR_SIZE, field
    wt, b = ffi.new("float[8]"), ffi.new("float[2]")
    assert lib.tg_conv2d_forward_f32(x, wt, b, out, 1, 1, 4, 4, 2, good) == lib.TG_OK
    assert lib.tg_conv2d_forward_f32(x, wt, b, ffi.NULL, 1, 1, 4, 4, 2, good) == lib.TG_ERR_NULL
    assert lib.tg_conv2d_forward_f32(x, ffi.NULL, b, out, 1, 1, 4, 4, 2, good) == lib.TG_ERR_NULL
    assert lib.tg_conv2d_forward_f32(x, wt, b, out, 1, 1, 4, 4, -2, good) == lib.TG_ERR_SIZE
    assert lib.tg_conv2d_forward_f32(x, wt, b, out, 1, 1, 4, 4, 2**62, good) == lib.TG_ERR_SIZE
    assert lib.tg_conv2d_backward_f32(x, wt, out, x, wt, b, 1, 1, 4, 4, 2, good) == lib.TG_OK
    assert lib.tg_conv2d_backward_f32(x, wt, ffi.NULL, x, wt, b, 1, 1, 4, 4, 2, good) == lib.TG_ERR_NULL
    assert lib.tg_conv2d_backward_f32(x, wt, out, x, wt, b, 1, 1, 4, 4, 2, ffi.NULL) == lib.TG_ERR_NULL
    assert lib.tg_conv2d_backward_f32(x, wt, out, x, wt, b, 1, -1, 4, 4, 2, good) == lib.TG_ERR_SIZE
    all_padding = ffi.new("struct tg_window *", (1, 1, 1, 1, 1, 1, 1, 1, 6, 6))
    assert lib.tg_max_pool2d_forward_f32(x, out, idx, 1, 1, 4, 4, all_padding) == lib.TG_ERR_SIZE
    idx[4] = 16
    assert lib.tg_max_pool2d_backward_f32(out, idx, x, 1, 1, 4, 4, 3, 3) == lib.TG_ERR_INDEX
    assert lib.tg_max_pool2d_backward_f32(out, idx, x, 1, 1, 0, 4, 3, 3) == lib.TG_ERR_INDEX
    assert lib.tg_max_pool2d_backward_f32(out, idx, x, 1, 1, 4, -4, 3, 3) == lib.TG_ERR_SIZE
    assert lib.tg_max_pool2d_backward_f32(out, idx, ffi.NULL, 1, 1, 4, 4, 3, 3) == lib.TG_ERR_NULL


# ---------------------------------------------------------------- argument errors: PyTorch's texts

def _error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 -- we compare whatever was raised
        return type(e), str(e)
    return None, None


def _t(lib, shape, dtype="float32"):
    return lib.zeros(shape, dtype=getattr(lib, dtype))


CONV_ERRORS = [
    lambda lib: lib.conv2d(_t(lib, (64, 3, 28, 28)), _t(lib, (16, 1, 5, 5))),
    lambda lib: lib.conv2d(_t(lib, (2, 3)), _t(lib, (16, 1, 5, 5))),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 3, 3)), _t(lib, (16, 1, 5, 5))),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 3, 3)), _t(lib, (1, 1, 3, 3)), dilation=2),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), _t(lib, (3,))),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), _t(lib, (16, 1))),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), stride=0),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), padding=-1),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), dilation=0),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), stride=2, padding="same"),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), padding="foo"),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (16, 1, 5, 5)), stride=(1, 2, 3)),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 4, 4)), _t(lib, (1, 1, 2, 2)), padding=(1, 2, 3)),
    lambda lib: lib.conv2d(_t(lib, (1, 1, 8, 8)), _t(lib, (1, 1, 3, 3)), _t(lib, (1,), "float64")),
]

POOL_ERRORS = [
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 2, padding=2),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 10),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 0),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 0, stride=1),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 2, stride=0),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 2, stride=-1),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 2, dilation=0),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), 2, padding=-1),
    lambda lib: lib.max_pool2d(_t(lib, (8, 8)), 2),
    lambda lib: lib.max_pool2d(_t(lib, (2, 1, 1, 8, 8)), 2),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 0, 8)), 2),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 1, 1)), (2, 1)),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), (2, 2, 2)),
    lambda lib: lib.max_pool2d(_t(lib, (1, 1, 8, 8)), (1, 3), padding=(0, 2), dilation=(1, 2)),
]


@pytest.mark.parametrize("call", CONV_ERRORS + POOL_ERRORS, ids=range(len(CONV_ERRORS + POOL_ERRORS)))
def test_argument_errors_match_torch(call):
    ours, theirs = _error_of(lambda: call(tg)), _error_of(lambda: call(torch))
    assert theirs[0] is not None, "torch accepted it: the case is wrong"
    assert ours == theirs


def test_documented_differences_raise_clear_errors():
    x = tg.zeros((1, 2, 4, 4))
    with pytest.raises(NotImplementedError, match="groups=2 is not supported"):
        tg.conv2d(x, tg.zeros((2, 1, 3, 3)), groups=2)
    with pytest.raises(RuntimeError, match="expected a float32 or float64 input, got tinygrad_edu.int64"):
        tg.max_pool2d(tg.zeros((1, 2, 4, 4), dtype=tg.int64), 2)
    with pytest.raises(TypeError, match="argument 'weight' must be Tensor, not list"):
        tg.conv2d(x, [1.0])
    with pytest.raises(RuntimeError, match=r"expected weight to be 4-D .* size \[2, 2, 3\]"):
        tg.conv2d(x, tg.zeros((2, 2, 3)))
    with pytest.raises(RuntimeError, match=r"Input type \(torch.FloatTensor\) and weight type "
                                           r"\(torch.DoubleTensor\) should be the same"):
        tg.conv2d(x, tg.zeros((2, 2, 3, 3), dtype=tg.float64))


def test_window_entirely_in_padding_is_an_error():
    # PyTorch returns -inf and an index outside the window (its gradient then lands on the wrong
    # element, or nowhere); we refuse.
    with pytest.raises(RuntimeError, match=r"a pooling window lies entirely in the padding \(input 3x1"):
        tg.max_pool2d(tg.zeros((1, 1, 3, 1)), (1, 2), stride=1, padding=(0, 1), dilation=(1, 2))


def test_public_names():
    assert tg.conv2d.__name__ == "conv2d" and tg.max_pool2d.__name__ == "max_pool2d"
    y = tg.conv2d(tg.ones((1, 1, 3, 3), requires_grad=True), tg.ones((1, 1, 2, 2)))
    assert type(y.grad_fn).__name__ == "ConvolutionBackward0"
    values, indices = tg.max_pool2d(y, 2, stride=1, return_indices=True)
    assert type(values.grad_fn).__name__ == "MaxPool2DWithIndicesBackward0" and indices.dtype == tg.int64
    assert not indices.requires_grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [14, 28, 34, 64])
def test_max_pool2d_2x2_ties_signed_zeros_and_nans_on_long_rows_match_torch(c_kernels, dtype, width):
    """The 2x2 fast path takes the first tap with the max's bits: with ties (0.0 against -0.0,
    equal integers, inf) the first in raster order, as torch; rows long enough for its vector
    loop plus a remainder, and a NaN anywhere in a row sends that row down the general path."""
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, (2, 3, 6, width)).astype(dtype)
    x[x == 0] = rng.choice(np.array([0.0, -0.0], dtype), int((x == 0).sum()))
    x[0, 1, 2:4, 4:6] = np.inf
    x[1, 2, 3, 7] = np.nan
    x[1, 2, 2, 9] = x[1, 2, 3, 8] = np.nan
    win = ((2, 2), (2, 2), (0, 0), (1, 1), (3, width // 2))
    values, indices = c_kernels.max_pool2d_forward(x, *win)
    t_values, t_indices = F.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(indices, t_indices.numpy())
    np.testing.assert_array_equal(np.signbit(values), np.signbit(t_values.numpy()))
    np.testing.assert_array_equal(values, t_values.numpy())


# (torch's kwargs, the same window as kernels take it) for a [*, 6, 10, 9] input and 4x3 kernel
CHANNELS_LAST_CASES = [
    ({"padding": 2}, ((4, 3), (1, 1), (2, 2), (1, 1), (11, 11))),
    ({"stride": 2, "padding": (1, 2), "dilation": (1, 2)}, ((4, 3), (2, 2), (1, 2), (1, 2), (5, 5))),
    ({"padding": "same", "dilation": (2, 1)}, ((4, 3), (1, 1), (3, 1), (2, 1), (10, 9))),  # 3 top, 3 bottom
    ({"padding": (0, 1), "stride": (1, 3)}, ((4, 3), (1, 3), (0, 1), (1, 1), (7, 3))),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs, win", CHANNELS_LAST_CASES, ids=lambda c: str(c))
def test_conv2d_channels_last_path_matches_torch_over_many_chunks(c_kernels, dtype, kwargs, win):
    """Many taps per output channel (k = c*kh*kw >= 4*o) go through the channels-last unfolding
    (conv.c: pixels as rows): forward and each gradient alone or together, dilated runs, strides
    that skip columns, and a batch cut into several chunks."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((11, 6, 10, 9)).astype(dtype), rng.standard_normal((3, 6, 4, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = F.conv2d(tx, tw, tb, **kwargs)
    g = rng.standard_normal(tuple(t_out.shape)).astype(dtype)
    t_out.backward(torch.tensor(g))
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}
    np.testing.assert_allclose(c_kernels.conv2d_forward(x, w, b, *win), t_out.detach().numpy(), **tol)
    expected = (tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    for needs in ((True, True, True), (True, False, False), (False, True, False), (False, False, True)):
        for got, e, wanted in zip(c_kernels.conv2d_backward(g, x, w, *win, *needs), expected, needs):
            assert (got is None) == (not wanted)
            if wanted:
                np.testing.assert_allclose(got, e, **{k: v * 10 for k, v in tol.items()})


@pytest.mark.parametrize("shape, o", [((3, 20, 19, 17), 5), ((2, 33, 5, 35), 7), ((1, 16, 14, 14), 32)])
def test_conv2d_channels_last_transposes_over_ragged_tiles_match_numpy(c_kernels, shape, o):
    """conv.c's pixels-as-rows path transposes images and gradients in 16 x 16 tiles (AVX-512,
    float32): more channels, pixels and output channels than one tile and ragged edges in every
    direction give the NumPy twin's forward and gradients."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(np.float32)
    w, b = rng.standard_normal((o, shape[1], 3, 3)).astype(np.float32), rng.standard_normal(o).astype(np.float32)
    win = ((3, 3), (1, 1), (1, 1), (1, 1), shape[2:])
    out = c_kernels.conv2d_forward(x, w, b, *win)
    np.testing.assert_allclose(out, numpy_kernels.conv2d_forward(x, w, b, *win), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(out.shape).astype(np.float32)
    for got, expected in zip(c_kernels.conv2d_backward(g, x, w, *win, True, True, True),
                             numpy_kernels.conv2d_backward(g, x, w, *win, True, True, True)):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)


# (x shape, out channels, torch's kwargs, the window): few taps per output channel, stride_w 1
@pytest.mark.parametrize("x_shape, o, kwargs, win", [
    ((3, 1, 28, 28), 16, {"padding": 2}, ((5, 5), (1, 1), (2, 2), (1, 1), (28, 28))),  # the notes' first conv
    ((2, 2, 9, 40), 13, {"padding": (1, 0)}, ((3, 3), (1, 1), (1, 0), (1, 1), (9, 38))),  # ragged 8s, 32s
    ((1, 1, 11, 5), 9, {"stride": (2, 1), "dilation": (2, 1), "padding": 1},
     ((3, 2), (2, 1), (1, 1), (2, 1), (5, 6))),
    ((2, 3, 6, 33), 30, {}, ((2, 2), (1, 1), (0, 0), (1, 1), (5, 32))),
])
def test_conv2d_forward_direct_path_matches_numpy_and_torch(c_kernels, x_shape, o, kwargs, win):
    """float32 with few taps per output channel and stride_w 1 convolves directly, without the
    unfolding (conv.c, tg_conv_direct.h): the twin's and torch's results, bias or none."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((o, x_shape[1]) + win[0]).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    for bias in (b, None):
        got = c_kernels.conv2d_forward(x, w, bias, *win)
        np.testing.assert_allclose(got, numpy_kernels.conv2d_forward(x, w, bias, *win), rtol=1e-5, atol=1e-5)
        expected = F.conv2d(torch.tensor(x), torch.tensor(w), None if bias is None else torch.tensor(bias), **kwargs)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-5)

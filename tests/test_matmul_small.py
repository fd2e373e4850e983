"""The unpacked small-product path of the C gemm (csrc/tg_matmul_small.h, included by matmul.c), called directly
(``tg_gemm_small_*``) and through ``tg_gemm``'s dispatch (the MLP's last-layer shapes).

Inputs are small integers stored as floats, so every partial sum is exact and the result
must equal NumPy's bit for bit whatever the summation order. Sizes straddle the register
tile: 6 rows, one and two vectors of 16 (float32) / 8 (float64) lanes, masked edges.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

DTYPES = [np.float32, np.float64]
SIZES = [0, 1, 2, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 64]


@pytest.fixture(scope="module")
def clib():
    from tinygrad_edu._C import ffi, lib
    return ffi, lib


def _ints(rng, shape, dtype):
    return rng.integers(-3, 4, size=shape).astype(dtype)


def _operand(rng, rows, cols, transposed, dtype, offset):
    """(buffer, rs, cs): a rows x cols matrix stored row-major, or column-major if transposed,
    starting `offset` elements into an exactly sized buffer (offset 1: not vector-aligned)."""
    store = _ints(rng, (cols, rows) if transposed else (rows, cols), dtype)
    buf = np.empty(offset + store.size, dtype)
    buf[offset:] = store.ravel()
    value = store.T if transposed else store
    rs, cs = (1, rows) if transposed else (cols, 1)
    return buf, value, rs, cs


def _small(clib, a, b, bias, c, m, k, n, ldc, a_rs, a_cs, b_rs, b_cs, dtype, offsets=(0, 0, 0)):
    ffi, lib = clib
    ctype = "float *" if dtype == np.float32 else "double *"
    fn = lib.tg_gemm_small_f32 if dtype == np.float32 else lib.tg_gemm_small_f64

    def ptr(x, off):
        return ffi.NULL if x is None else ffi.cast(ctype, x.ctypes.data) + off

    return fn(ptr(a, offsets[0]), ptr(b, offsets[1]), ptr(bias, 0), ptr(c, offsets[2]), m, k, n, ldc,
              a_rs, a_cs, b_rs, b_cs)


def _check_direct(clib, m, k, n, a_t, b_t, with_bias, pad, dtype, seed):
    rng = np.random.default_rng(seed)
    a_buf, a, a_rs, a_cs = _operand(rng, m, k, a_t, dtype, offset=seed % 2)
    b_buf, b, b_rs, b_cs = _operand(rng, k, n, b_t, dtype, offset=(seed >> 1) % 2)
    bias = _ints(rng, (n,), dtype) if with_bias else None
    ldc = n + pad
    c = np.full(1 + m * ldc, 99, dtype)  # element 0 and the padding columns must stay 99
    rc = _small(clib, a_buf, b_buf, bias, c, m, k, n, ldc, a_rs, a_cs, b_rs, b_cs, dtype,
                offsets=(seed % 2, (seed >> 1) % 2, 1))
    assert rc == clib[1].TG_OK
    out = c[1:].reshape(m, ldc) if m else np.empty((0, ldc), dtype)
    want = a.astype(np.float64) @ b.astype(np.float64) + (bias if with_bias else 0)
    np.testing.assert_array_equal(out[:, :n], want.astype(dtype))
    assert c[0] == 99 and (out[:, n:] == 99).all(), "wrote outside C"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(64, 64, 10), (64, 10, 64), (10, 64, 64), (64, 64, 128), (7, 3, 33),
                                   (1, 1, 1), (6, 1, 16), (13, 257, 17), (0, 5, 5), (5, 0, 5), (5, 5, 0)])
@pytest.mark.parametrize("a_t,b_t", [(False, False), (True, False), (False, True), (True, True)])
def test_small_direct_layouts(clib, m, k, n, a_t, b_t, dtype):
    for seed, (with_bias, pad) in enumerate([(False, 0), (True, 3)]):
        _check_direct(clib, m, k, n, a_t, b_t, with_bias, pad, dtype, seed + 2 * m)


@settings(max_examples=150, deadline=None)
@given(m=st.sampled_from(SIZES), k=st.sampled_from(SIZES), n=st.sampled_from(SIZES),
       a_t=st.booleans(), b_t=st.booleans(), with_bias=st.booleans(), pad=st.sampled_from([0, 1, 16]),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**31))
def test_small_direct_property(clib, m, k, n, a_t, b_t, with_bias, pad, dtype, seed):
    _check_direct(clib, m, k, n, a_t, b_t, with_bias, pad, dtype, seed)


def test_small_special_values(clib):
    # inf and NaN propagate as in NumPy; masked-off lanes never turn into NaN in C
    ffi, lib = clib
    a = np.array([[np.inf, 1.0], [np.nan, 0.0], [1.0, 2.0]], np.float32)
    b = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], np.float32)
    c = np.zeros((3, 3), np.float32)
    assert _small(clib, a, b, None, c, 3, 2, 3, 3, 2, 1, 3, 1, np.float32) == lib.TG_OK
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(c, a @ b)


def test_small_return_codes(clib):
    ffi, lib = clib
    buf, NULL = np.zeros(64, np.float32), None
    args = [buf, buf, NULL, buf, 2, 2, 2, 2, 2, 1, 2, 1]
    assert _small(clib, *args, np.float32) == lib.TG_OK
    for position in range(4, 12):  # every size, ldc and stride
        bad = list(args)
        bad[position] = -1
        assert _small(clib, *bad, np.float32) == lib.TG_ERR_SIZE, position
    assert _small(clib, buf, buf, NULL, buf, 2, 2, 3, 2, 2, 1, 3, 1, np.float32) == lib.TG_ERR_SIZE  # ldc < n
    assert _small(clib, buf, buf, NULL, buf, 2**40, 2**40, 2**40, 2**40, 1, 1, 1, 1, np.float32) == lib.TG_ERR_SIZE
    assert _small(clib, NULL, buf, NULL, buf, 2, 2, 2, 2, 2, 1, 2, 1, np.float32) == lib.TG_ERR_NULL
    assert _small(clib, buf, buf, NULL, NULL, 2, 2, 2, 2, 2, 1, 2, 1, np.float32) == lib.TG_ERR_NULL
    assert _small(clib, NULL, NULL, NULL, NULL, 0, 2, 2, 2, 2, 1, 2, 1, np.float32) == lib.TG_OK  # empty
    assert _small(clib, NULL, NULL, NULL, buf, 2, 0, 2, 2, 0, 1, 2, 1, np.float32) == lib.TG_OK  # k = 0
    assert (buf[:4] == 0).all()
    # strides of size-1 dimensions are ignored, whatever their value
    dbuf = np.ones(4, np.float64)
    assert _small(clib, dbuf, dbuf, NULL, dbuf[2:], 1, 1, 1, -5, -7, -7, -7, -7, np.float64) == lib.TG_OK
    assert dbuf[2] == 1.0


def test_small_suits_says_no_where_it_cannot(clib):
    _, lib = clib
    assert lib.tg_gemm_small_suits(64, 64, 10, 64, 4) == 0  # B's columns not contiguous
    assert lib.tg_gemm_small_suits(0, 64, 10, 1, 4) == 0
    assert lib.tg_gemm_small_suits(64, 10, 64, 1, 4) == 0  # short k: the packed path is faster
    assert lib.tg_gemm_small_suits(512, 512, 512, 1, 4) == 0  # big: packing pays
    assert lib.tg_gemm_small_suits(64, 64, 10, 1, 2) == 0  # no such element type
    assert lib.tg_gemm_small_suits(64, 64, 10, 1, 4) in (0, 1)  # 1 where AVX-512 is there


# ---------------------------------------------------------------- through tg_gemm's dispatch

# The notes' MLP at batch 64, the products under the threshold: each layer's forward
# x @ W^T, dX = G @ W, dW = G^T @ X (128->64 and 64->10), and the dense bench shapes.
MLP_SHAPES = [(64, 64, 10), (64, 10, 64), (10, 64, 64), (64, 128, 64), (64, 64, 128), (128, 64, 64)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", MLP_SHAPES + [(3, 700, 5), (61, 9, 47)])
def test_dispatch_matmul_equals_numpy(c_kernels, m, k, n, dtype):
    rng = np.random.default_rng(m * k + n)
    a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
    for a_view in (a, np.ascontiguousarray(a.T).T):
        np.testing.assert_array_equal(c_kernels.matmul(a_view, b), a @ b)
    x = rng.standard_normal((m, k)).astype(dtype)  # real values: NumPy's tolerance
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c_kernels.matmul(x, b), x @ b, rtol=tol, atol=tol * k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fan_in,fan_out", [(64, 10), (128, 64), (17, 3)])
@pytest.mark.parametrize("threads", [1, 2])
def test_dispatch_linear_layer_products(c_kernels, fan_in, fan_out, dtype, threads):
    import tinygrad_edu as tg
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        rng = np.random.default_rng(fan_in)
        x, w, bias = _ints(rng, (64, fan_in), dtype), _ints(rng, (fan_out, fan_in), dtype), _ints(rng, (fan_out,), dtype)
        g = _ints(rng, (64, fan_out), dtype)
        np.testing.assert_array_equal(c_kernels.linear(x, w, bias), x @ w.T + bias)
        dx, dw, db = c_kernels.linear_backward(g, x, w, True, True, True)
        np.testing.assert_array_equal(dx, g @ w)
        np.testing.assert_array_equal(dw, g.T @ x)
        np.testing.assert_array_equal(db, g.sum(0))
    finally:
        tg.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dispatch_batched_items(c_kernels, dtype):
    rng = np.random.default_rng(5)
    a, b = _ints(rng, (5, 13, 21), dtype), _ints(rng, (5, 21, 19), dtype)
    np.testing.assert_array_equal(c_kernels.bmm(a, b), a @ b)

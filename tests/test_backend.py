"""Tests for the kernel backends: the C kernels against the NumPy twin, their errors,
and backend selection (``use``, ``current``, ``available``, ``TINYGRAD_EDU_BACKEND``).

The fixtures (``c_kernels``, ``kernels``, ``backend_name``) are tests/conftest.py's: tests that
need the compiled extension FAIL when it is missing unless ``TINYGRAD_EDU_ALLOW_NO_C=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu.backend as backend
from tinygrad_edu.backend import numpy_kernels

DTYPES = [np.float32, np.float64]


# ---------------------------------------------------------------- helpers

def _ints(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Small integers stored as floats: every product and partial sum is exact, so any
    summation order gives the same bits and C and NumPy must agree exactly."""
    return rng.integers(-3, 4, size=shape).astype(dtype)


def _assert_matmul_close(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Compare with a float64 reference; the tolerance grows like sqrt(k) (random-walk
    rounding error of a length-k sum of terms in [-1, 1])."""
    ref = a.astype(np.float64) @ b.astype(np.float64)
    r = 1e-5 if a.dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, ref, rtol=r, atol=r * np.sqrt(max(a.shape[1], 1)))


# 0, 1, primes, exact micro-tiles (6 x 32), and sizes past each block
# (KC = 256 along k, MC = 120 along m, NC = 4096 along n).
SHAPES = [
    (0, 0, 0), (0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (1, 7, 1), (7, 1, 5),
    (2, 3, 5), (7, 11, 13), (6, 16, 32), (12, 64, 64), (5, 31, 33), (1, 300, 1),
    (13, 257, 37), (121, 3, 65), (127, 513, 97), (64, 784, 512), (3, 5, 4099),
]


# ---------------------------------------------------------------- matmul results

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_matmul_c_equals_numpy_exactly(c_kernels, m, k, n, dtype):
    rng = np.random.default_rng(m * 10_000 + k * 100 + n)
    a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
    out = c_kernels.matmul(a, b)
    assert out.shape == (m, n) and out.dtype == dtype and out.flags.c_contiguous
    np.testing.assert_array_equal(out, numpy_kernels.matmul(a, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_matmul_random_values(kernels, m, k, n, dtype):
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (k, n)).astype(dtype)
    _assert_matmul_close(kernels.matmul(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(0, 2, 3), (1, 1, 1), (7, 11, 13), (13, 257, 37)])
def test_naive_reference_equals_blocked(c_kernels, m, k, n, dtype):
    rng = np.random.default_rng(1)
    a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
    np.testing.assert_array_equal(c_kernels.matmul_naive(a, b), c_kernels.matmul(a, b))


def test_k_zero_gives_zeros(kernels):
    # An empty sum is 0, as in torch.mm; the C kernel must not leave np.empty garbage.
    out = kernels.matmul(np.ones((3, 0), np.float32), np.ones((0, 4), np.float32))
    np.testing.assert_array_equal(out, np.zeros((3, 4), np.float32))


def _views(x: np.ndarray) -> dict[str, np.ndarray]:
    """Non-contiguous and otherwise unusual layouts holding the same values as x."""
    ro = x.copy()
    ro.flags.writeable = False
    big = np.zeros((x.shape[0] * 2, x.shape[1] * 3), x.dtype)
    big[::2, 1::3] = x
    return {
        "fortran": np.asfortranarray(x),
        "transposed": np.ascontiguousarray(x.T).T,
        "sliced": big[::2, 1::3],
        "reversed": np.ascontiguousarray(x[::-1])[::-1],
        "readonly": ro,
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["fortran", "transposed", "sliced", "reversed", "readonly"])
def test_matmul_non_contiguous_inputs(kernels, layout, dtype):
    rng = np.random.default_rng(2)
    a, b = _ints(rng, (37, 41), dtype), _ints(rng, (41, 29), dtype)
    a_view, b_view = _views(a)[layout], _views(b)[layout]
    assert not (layout != "readonly" and a_view.flags.c_contiguous)
    a_before = a_view.copy()
    np.testing.assert_array_equal(kernels.matmul(a_view, b_view), a @ b)
    np.testing.assert_array_equal(kernels.matmul(a_view, b), a @ b)
    np.testing.assert_array_equal(a_view, a_before)  # inputs untouched


def test_matmul_broadcast_view(kernels):
    # Stride-0 rows (np.broadcast_to): read-only and not contiguous.
    row = np.arange(5, dtype=np.float64)
    a = np.broadcast_to(row, (4, 5))
    b = np.eye(5)[:, :3]
    np.testing.assert_array_equal(kernels.matmul(a, b), np.asarray(a) @ b)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(0, 40), k=st.integers(0, 300), n=st.integers(0, 70),
    dtype=st.sampled_from(DTYPES), transpose_a=st.booleans(), transpose_b=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul_property(c_kernels, m, k, n, dtype, transpose_a, transpose_b, seed):
    rng = np.random.default_rng(seed)
    a = _ints(rng, (k, m), dtype).T if transpose_a else _ints(rng, (m, k), dtype)
    b = _ints(rng, (n, k), dtype).T if transpose_b else _ints(rng, (k, n), dtype)
    np.testing.assert_array_equal(c_kernels.matmul(a, b), a @ b)


# ---------------------------------------------------------------- matmul errors

def test_shape_mismatch_message_is_pytorchs(kernels):
    a, b = np.zeros((64, 784), np.float32), np.zeros((512, 256), np.float32)
    expected = "mat1 and mat2 shapes cannot be multiplied (64x784 and 512x256)"
    with pytest.raises(RuntimeError) as info:
        kernels.matmul(a, b)
    assert str(info.value) == expected


def test_shape_mismatch_message_matches_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as torch_info:
        torch.mm(torch.zeros(3, 4), torch.zeros(5, 6))
    with pytest.raises(RuntimeError) as our_info:
        numpy_kernels.matmul(np.zeros((3, 4)), np.zeros((5, 6)))
    assert str(our_info.value) == str(torch_info.value)


@pytest.mark.parametrize("dtype_a,dtype_b", [
    (np.int64, np.int64), (np.float16, np.float16), (np.complex64, np.complex64),
    (np.float32, np.float64), (np.float64, np.float32), (np.dtype(">f4"), np.dtype(">f4")),
])
def test_wrong_dtype_raises_type_error_naming_dtypes(kernels, dtype_a, dtype_b):
    a, b = np.zeros((2, 3), dtype_a), np.zeros((3, 4), dtype_b)
    with pytest.raises(TypeError) as info:
        kernels.matmul(a, b)
    assert str(a.dtype) in str(info.value) and str(b.dtype) in str(info.value)


@pytest.mark.parametrize("shape_a,shape_b", [((3,), (3, 4)), ((2, 3), (3,)), ((2, 2, 3), (3, 4)), ((), ())])
def test_wrong_ndim_raises(kernels, shape_a, shape_b):
    with pytest.raises(RuntimeError, match="expected 2-D"):
        kernels.matmul(np.zeros(shape_a, np.float32), np.zeros(shape_b, np.float32))


def test_non_array_raises_type_error(kernels):
    with pytest.raises(TypeError, match="numpy.ndarray"):
        kernels.matmul([[1.0]], np.ones((1, 1)))


def test_c_return_codes(c_kernels):
    # Sizes and NULLs are checked in C too, for callers other than our wrapper.
    from tinygrad_edu._C import ffi, lib

    buf = ffi.new("float[4]")
    for fn in (lib.tg_matmul_f32, lib.tg_matmul_naive_f32):
        assert fn(buf, buf, buf, 2, 2, 2) == lib.TG_OK
        assert fn(buf, buf, buf, -1, 2, 2) == lib.TG_ERR_SIZE
        assert fn(buf, buf, buf, 2, 2, -5) == lib.TG_ERR_SIZE
        assert fn(buf, buf, buf, 2**62, 2**62, 1) == lib.TG_ERR_SIZE  # m*k overflows
        assert fn(ffi.NULL, buf, buf, 2, 2, 2) == lib.TG_ERR_NULL
        assert fn(buf, buf, ffi.NULL, 2, 2, 2) == lib.TG_ERR_NULL
        assert fn(ffi.NULL, ffi.NULL, ffi.NULL, 0, 0, 0) == lib.TG_OK  # nothing to touch
        assert fn(ffi.NULL, ffi.NULL, buf, 2, 0, 2) == lib.TG_OK  # k = 0: C = 0
    dbuf = ffi.new("double[4]")
    for fn in (lib.tg_matmul_f64, lib.tg_matmul_naive_f64):
        assert fn(dbuf, dbuf, dbuf, 2, 2, 2) == lib.TG_OK
        assert fn(dbuf, ffi.NULL, dbuf, 2, 2, 2) == lib.TG_ERR_NULL


def test_c_error_code_becomes_runtime_error(c_kernels):
    from tinygrad_edu._C import lib

    with pytest.raises(RuntimeError, match=r"tg_matmul_f64 failed with code 3 \(TG_ERR_NOMEM\)"):
        c_kernels._raise_on_error(lib.TG_ERR_NOMEM, lib.tg_matmul_f64)


def test_backends_share_one_vocabulary(c_kernels):
    # needle's rule: the NumPy twin has exactly the C module's names.
    assert c_kernels.__all__ == numpy_kernels.__all__
    for name in numpy_kernels.__all__:
        assert callable(getattr(c_kernels, name)) and callable(getattr(numpy_kernels, name))


# ---------------------------------------------------------------- backend selection

def test_available_lists_c_when_built(c_kernels):
    assert backend.available() == ["c", "numpy"]


def test_use_switches_kernels_module(c_kernels):
    backend.use("numpy")
    assert backend.current() == "numpy" and backend.kernels is numpy_kernels
    backend.use("c")
    assert backend.current() == "c" and backend.kernels is c_kernels
    backend.use(" NumPy ")  # names are case- and space-insensitive, like the env var
    assert backend.current() == "numpy"


@pytest.mark.parametrize("name", ["cuda", "", "cpu", None])
def test_use_unknown_name_lists_known_ones(name):
    before = backend.current()
    with pytest.raises(ValueError) as info:
        backend.use(name)
    assert "'c'" in str(info.value) and "'numpy'" in str(info.value)
    assert backend.current() == before  # a failed use() changes nothing


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (backend selection happens once, at import)."""
    full_env = {k: v for k, v in os.environ.items() if k != backend.ENV_VAR}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env, capture_output=True, text=True, timeout=120,
    )


# Prints the backend and every warning raised while importing it.
_REPORT = """
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import tinygrad_edu.backend as backend
    print(backend.current())
    for w in caught:
        if "tinygrad_edu" in str(w.message):
            print(w.category.__name__, w.message)
"""

# Same, but with the extension made unimportable, as if no compiler was there at install.
_REPORT_WITHOUT_C = "import sys; sys.modules['tinygrad_edu._C'] = None\n" + textwrap.dedent(_REPORT)


def test_env_var_numpy():
    result = _run_python(_REPORT, TINYGRAD_EDU_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "numpy"
    assert "Warning" not in result.stdout


def test_env_var_c_and_default(c_kernels):
    for env in ({"TINYGRAD_EDU_BACKEND": "c"}, {}):
        result = _run_python(_REPORT, **env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "c", (env, result.stdout)


def test_env_var_unknown_warns_and_uses_default():
    result = _run_python(_REPORT, TINYGRAD_EDU_BACKEND="cuda")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert lines[0] in backend.KNOWN
    assert any(line.startswith("RuntimeWarning") and "'cuda'" in line for line in lines)


def test_missing_extension_falls_back_with_one_warning():
    result = _run_python(_REPORT_WITHOUT_C + textwrap.dedent("""
        print(backend.available())
        try:
            backend.use("c")
        except RuntimeError as e:
            print("use-c:", e)
    """))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert lines[0] == "numpy"
    warnings_ = [line for line in lines if line.startswith("RuntimeWarning")]
    assert len(warnings_) == 1 and "C kernels are unavailable" in warnings_[0]
    assert "tinygrad_edu._C" in warnings_[0]  # the ImportError text says why
    assert "['numpy']" in lines
    assert any(line.startswith("use-c:") and "unavailable" in line for line in lines)


def test_missing_extension_silent_when_numpy_requested():
    result = _run_python(_REPORT_WITHOUT_C, TINYGRAD_EDU_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "numpy"


def test_missing_extension_when_c_requested_warns_not_crashes():
    result = _run_python(_REPORT_WITHOUT_C, TINYGRAD_EDU_BACKEND="c")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert lines[0] == "numpy" and lines[1].startswith("RuntimeWarning")

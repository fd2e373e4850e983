"""The matmul family: ``matmul``, ``bmm``, ``linear``, ``linear_backward`` on both backends,
the C gemm's strided / batched / threaded paths, thread-count control, and the Linear
layer's autograd pattern ``addmm(b, x, w.t())`` against torch.

C results are compared with the NumPy twin exactly where the inputs are small integers
stored as floats (every partial sum is exact, so summation order cannot matter).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.backend as backend
from tinygrad_edu.backend import numpy_kernels
from helpers import check_op, node_name_of

DTYPES = [np.float32, np.float64]
# Sizes around the kernel's blocks: micro-tile MR = 6 rows, NR = 32 / 16 columns (AVX-512
# f32 / f64), KC = 256 along k, MC = 120 along m; plus 0, 1 and primes.
SIZES = [0, 1, 2, 5, 6, 7, 13, 31, 33, 121, 257]


@pytest.fixture(params=[1, 2])
def threads(request):
    """Run the test with 1, then 2 threads allowed; restore the count afterwards."""
    before = tg.get_num_threads()
    tg.set_num_threads(request.param)
    yield request.param
    tg.set_num_threads(before)


def _ints(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    return rng.integers(-3, 4, size=shape).astype(dtype)


def _layout(x: np.ndarray, how: str) -> np.ndarray:
    """A view of a copy of x (same values) with the given memory layout."""
    if how == "contiguous":
        return x.copy()
    if how == "transposed":  # column-major: what W.t() is
        return np.ascontiguousarray(x.T).T
    if how == "sliced":  # every other row and column of a bigger array
        big = np.zeros((2 * x.shape[0] + 1, 2 * x.shape[1] + 1), x.dtype)
        big[1::2, ::2][:, : x.shape[1]] = x
        return big[1::2, ::2][:, : x.shape[1]]
    if how == "reversed":  # negative strides: the wrapper must copy
        return np.ascontiguousarray(x[::-1, ::-1])[::-1, ::-1]
    raise ValueError(how)


LAYOUTS = ["contiguous", "transposed", "sliced", "reversed"]


# ---------------------------------------------------------------- matmul: layouts, sizes, threads

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("layout_b", LAYOUTS)
def test_matmul_any_layout_equals_twin(c_kernels, threads, layout_a, layout_b, dtype):
    rng = np.random.default_rng(3)
    a, b = _ints(rng, (37, 300), dtype), _ints(rng, (300, 45), dtype)
    out = c_kernels.matmul(_layout(a, layout_a), _layout(b, layout_b))
    assert out.flags.c_contiguous and out.dtype == dtype
    np.testing.assert_array_equal(out, a @ b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(300, 200, 250), (7, 400, 5000), (5000, 400, 7), (250, 520, 130)])
def test_matmul_threaded_sizes(c_kernels, threads, m, k, n, dtype):
    # Above the parallel threshold (12M multiply-adds): split by rows, or by columns.
    rng = np.random.default_rng(m + n)
    a, b = _ints(rng, (m, k), dtype), _ints(rng, (n, k), dtype).T
    np.testing.assert_array_equal(c_kernels.matmul(a, b), a @ b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("layout_b", ["contiguous", "transposed"])
@pytest.mark.parametrize("m,k,n", [(67, 530, 131), (131, 70, 97), (6, 1000, 200)])
def test_matmul_packed_path_any_layout_of_a(c_kernels, threads, m, k, n, layout_a, layout_b, dtype):
    # Above the unpacked small path, with ragged tiles and k cut into blocks: A with a unit
    # stride (contiguous, transposed) is read in place by the micro-kernel, A strided both
    # ways (sliced) is packed; 2 threads cut C into column strips.
    rng = np.random.default_rng(m * k + n)
    a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
    np.testing.assert_array_equal(c_kernels.matmul(_layout(a, layout_a), _layout(b, layout_b)), a @ b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_a", ["contiguous", "transposed"])
@pytest.mark.parametrize("m", [1, 17, 64])
def test_matmul_few_rows_big_product_reads_b_in_place(c_kernels, threads, m, layout_a, dtype):
    # At most 64 rows and B's rows contiguous: no packing at any size (B's rows read with
    # masked loads, a ragged 1001 = 62 * 16 + 9 columns); B also a view with spaced rows.
    rng = np.random.default_rng(m)
    a, b = _ints(rng, (m, 333), dtype), _ints(rng, (333, 1001), dtype)
    spaced = np.zeros((666, 1001), dtype)
    spaced[::2] = b
    for b_view in (b, spaced[::2]):
        np.testing.assert_array_equal(c_kernels.matmul(_layout(a, layout_a), b_view), a @ b)


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from(SIZES), k=st.sampled_from(SIZES), n=st.sampled_from(SIZES + [64, 70]),
       layout_a=st.sampled_from(LAYOUTS), layout_b=st.sampled_from(LAYOUTS),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**31))
def test_matmul_property(c_kernels, m, k, n, layout_a, layout_b, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
    np.testing.assert_array_equal(c_kernels.matmul(_layout(a, layout_a), _layout(b, layout_b)), a @ b)


def test_matmul_random_values_tolerance(c_kernels):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((130, 700)).astype(np.float32), rng.standard_normal((90, 700)).astype(np.float32).T
    ref = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(c_kernels.matmul(a, b), ref, rtol=1e-4, atol=1e-4 * np.sqrt(700))


def test_matmul_special_values(c_kernels):
    # NaN and inf propagate as in NumPy (padding must not invent or hide them).
    a = np.array([[1.0, np.nan], [np.inf, 1.0], [0.0, 0.0]], np.float32)
    b = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(c_kernels.matmul(a, b), a @ b)


# ---------------------------------------------------------------- bmm

@pytest.mark.parametrize("dtype", DTYPES)
# The last two are above the parallel threshold: whole items per task, then strips of items.
@pytest.mark.parametrize("batch,m,k,n", [(0, 2, 3, 4), (1, 1, 1, 1), (3, 7, 13, 5), (5, 33, 257, 40),
                                         (9, 120, 130, 100), (3, 100, 300, 200)])
def test_bmm_equals_twin(kernels, threads, batch, m, k, n, dtype):
    rng = np.random.default_rng(batch * 100 + m)
    a, b = _ints(rng, (batch, m, k), dtype), _ints(rng, (batch, k, n), dtype)
    out = kernels.bmm(a, b)
    assert out.shape == (batch, m, n) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.matmul(a, b))
    # Transposed items (the layout of a.transpose(-1, -2)) are read in place.
    at = np.ascontiguousarray(a.transpose(0, 2, 1)).transpose(0, 2, 1)
    np.testing.assert_array_equal(kernels.bmm(at, b), np.matmul(a, b))


def test_bmm_stride_zero_batch(kernels, threads):
    # One B shared by the whole batch (np.broadcast_to: batch stride 0), read in place.
    rng = np.random.default_rng(4)
    a, b = _ints(rng, (6, 70, 300), np.float32), _ints(rng, (300, 90), np.float32)
    b3 = np.broadcast_to(b, (6, 300, 90))
    np.testing.assert_array_equal(kernels.bmm(a, b3), a @ b)


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(0, 4), m=st.sampled_from(SIZES[:8]), k=st.sampled_from(SIZES[:9]),
       n=st.sampled_from(SIZES[:8]), dtype=st.sampled_from(DTYPES), transpose_b=st.booleans(),
       seed=st.integers(0, 2**31))
def test_bmm_property(c_kernels, batch, m, k, n, dtype, transpose_b, seed):
    rng = np.random.default_rng(seed)
    a = _ints(rng, (batch, m, k), dtype)
    b = _ints(rng, (batch, n, k), dtype).transpose(0, 2, 1) if transpose_b else _ints(rng, (batch, k, n), dtype)
    np.testing.assert_array_equal(c_kernels.bmm(a, b), np.matmul(a, b))


# ---------------------------------------------------------------- linear and its backward

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", [(0, 3, 4), (1, 1, 1), (64, 784, 512), (7, 13, 10), (65, 64, 33)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_equals_twin(kernels, threads, batch, fan_in, fan_out, with_bias, dtype):
    rng = np.random.default_rng(5)
    x, w = _ints(rng, (batch, fan_in), dtype), _ints(rng, (fan_out, fan_in), dtype)
    b = _ints(rng, (fan_out,), dtype) if with_bias else None
    out = kernels.linear(x, w, b)
    assert out.shape == (batch, fan_out) and out.flags.c_contiguous and out.dtype == dtype
    np.testing.assert_array_equal(out, x @ w.T + (0 if b is None else b))


def test_linear_k_zero_gives_bias(kernels):
    out = kernels.linear(np.ones((3, 0), np.float32), np.ones((4, 0), np.float32), np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(out, np.tile(np.arange(4, dtype=np.float32), (3, 1)))


def test_misaligned_inputs_are_copied(kernels):
    # A float32 array starting one byte into a buffer: not even element-aligned.
    raw = np.zeros(4 * 12 + 1, np.uint8)
    a = raw[1:].view(np.float32).reshape(3, 4)
    a[...] = np.arange(12).reshape(3, 4)
    assert not a.flags.aligned
    b = np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(kernels.matmul(a, b), np.asarray(a) @ b)
    np.testing.assert_array_equal(kernels.linear(b.T, a, a[:, 0].copy()), b.T @ a.T + a[:, 0])


def test_linear_strided_bias_and_inputs(kernels):
    rng = np.random.default_rng(6)
    x, w = _ints(rng, (20, 30), np.float64), _ints(rng, (11, 30), np.float64)
    bias = _ints(rng, (22,), np.float64)[::2]
    out = kernels.linear(_layout(x, "sliced"), _layout(w, "transposed"), bias)
    np.testing.assert_array_equal(out, x @ w.T + bias)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", [(0, 3, 4), (1, 1, 1), (64, 784, 512), (7, 13, 10), (130, 257, 33)])
def test_linear_backward_equals_twin(kernels, threads, batch, fan_in, fan_out, dtype):
    rng = np.random.default_rng(7)
    g, x, w = _ints(rng, (batch, fan_out), dtype), _ints(rng, (batch, fan_in), dtype), _ints(rng, (fan_out, fan_in), dtype)
    dx, dw, db = kernels.linear_backward(g, x, w, True, True, True)
    np.testing.assert_array_equal(dx, g @ w)
    np.testing.assert_array_equal(dw, g.T @ x)
    np.testing.assert_array_equal(db, g.sum(0))
    assert dw.flags.c_contiguous  # the weight's own layout, no copy when accumulated into .grad
    assert kernels.linear_backward(g, x, w, False, True, False)[::2] == (None, None)
    assert kernels.linear_backward(g, x, w, True, False, False)[1:] == (None, None)


# ---------------------------------------------------------------- errors: same text on both backends

def _error(fn, *args):
    with pytest.raises(Exception) as info:
        fn(*args)
    return type(info.value), str(info.value)


F32 = np.float32


@pytest.mark.parametrize("name,args", [
    ("matmul", (np.zeros((2, 3), F32), np.zeros((4, 5), F32))),
    ("matmul", (np.zeros((2, 3), F32), np.zeros((3, 5), np.float64))),
    ("matmul", ([[1.0]], np.zeros((1, 1), F32))),
    ("bmm", (np.zeros((2, 3, 4), F32), np.zeros((3, 4, 5), F32))),
    ("bmm", (np.zeros((2, 3, 4), F32), np.zeros((2, 5, 5), F32))),
    ("bmm", (np.zeros((3, 4), F32), np.zeros((2, 4, 5), F32))),
    ("bmm", (np.zeros((2, 3, 4), np.int64), np.zeros((2, 4, 5), np.int64))),
    ("linear", (np.zeros((2, 3), F32), np.zeros((4, 5), F32), None)),
    ("linear", (np.zeros((2, 3), F32), np.zeros((4, 3), F32), np.zeros(5, F32))),
    ("linear", (np.zeros((2, 3), F32), np.zeros((4, 3), F32), np.zeros((1, 4), F32))),
    ("linear", (np.zeros((2, 3), F32), np.zeros((4, 3), F32), np.zeros(4, np.float64))),
    ("linear", (np.zeros(3, F32), np.zeros((4, 3), F32), None)),
    ("linear_backward", (np.zeros((2, 4), F32), np.zeros((2, 3), F32), np.zeros((4, 5), F32), True, True, True)),
    ("linear_backward", (np.zeros((2, 5), F32), np.zeros((2, 3), F32), np.zeros((4, 3), F32), True, True, True)),
])
def test_errors_identical_on_both_backends(c_kernels, name, args):
    ours = _error(getattr(c_kernels, name), *args)
    assert ours == _error(getattr(numpy_kernels, name), *args)
    assert ours[0] in (TypeError, RuntimeError) and ours[1]


@pytest.mark.parametrize("ours,theirs", [
    (lambda: numpy_kernels.bmm(np.zeros((2, 3, 4), F32), np.zeros((3, 4, 5), F32)),
     lambda: torch.bmm(torch.zeros(2, 3, 4), torch.zeros(3, 4, 5))),
    (lambda: numpy_kernels.bmm(np.zeros((3, 4), F32), np.zeros((2, 4, 5), F32)),
     lambda: torch.bmm(torch.zeros(3, 4), torch.zeros(2, 4, 5))),
    (lambda: numpy_kernels.linear(np.zeros((2, 3), F32), np.zeros((4, 5), F32), None),
     lambda: torch.nn.functional.linear(torch.zeros(2, 3), torch.zeros(4, 5))),
    (lambda: numpy_kernels.linear(np.zeros((2, 3), F32), np.zeros((4, 3), F32), np.zeros(5, F32)),
     lambda: torch.nn.functional.linear(torch.zeros(2, 3), torch.zeros(4, 3), torch.zeros(5))),
])
def test_error_texts_are_torchs(ours, theirs):
    with pytest.raises(RuntimeError) as their_info:
        theirs()
    with pytest.raises(RuntimeError) as our_info:
        ours()
    assert str(our_info.value) == str(their_info.value)


def test_gemm_return_codes(c_kernels):
    from tinygrad_edu._C import ffi, lib

    buf, NULL = ffi.new("float[64]"), ffi.NULL
    ok = (buf, buf, NULL, buf, 1, 2, 2, 2, 0, 2, 1, 0, 2, 1)
    assert lib.tg_gemm_f32(*ok) == lib.TG_OK
    assert lib.tg_gemm_f32(buf, buf, buf, buf, 1, 2, 2, 2, 0, 2, 1, 0, 2, 1) == lib.TG_OK  # with bias
    for position, value in [(5, -1), (6, -1), (4, -1), (9, -2), (10, -1), (12, -3), (13, -1), (11, -1), (8, -1)]:
        args = list(ok)
        args[position] = value
        if position in (8, 11):  # a batch stride: only used with batch > 1
            args[4] = 2
        assert lib.tg_gemm_f32(*args) == lib.TG_ERR_SIZE, position
    assert lib.tg_gemm_f32(buf, buf, NULL, buf, 1, 2**40, 2**40, 2**40, 0, 1, 1, 0, 1, 1) == lib.TG_ERR_SIZE
    assert lib.tg_gemm_f32(NULL, buf, NULL, buf, 1, 2, 2, 2, 0, 2, 1, 0, 2, 1) == lib.TG_ERR_NULL
    assert lib.tg_gemm_f32(buf, buf, NULL, NULL, 1, 2, 2, 2, 0, 2, 1, 0, 2, 1) == lib.TG_ERR_NULL
    assert lib.tg_gemm_f32(NULL, NULL, NULL, NULL, 0, 2, 2, 2, 0, 2, 1, 0, 2, 1) == lib.TG_OK  # empty batch
    # Size-1 dims: their stride is ignored, even a negative one.
    assert lib.tg_gemm_f32(buf, buf, NULL, buf, 1, 1, 1, 1, -7, -7, -7, -7, -7, -7) == lib.TG_OK
    dbuf = ffi.new("double[8]")
    assert lib.tg_gemm_f64(dbuf, dbuf, NULL, dbuf, 1, 2, 2, 2, 0, 2, 1, 0, 2, 1) == lib.TG_OK


def test_concurrent_calls_from_python_threads(c_kernels, threads):
    # cffi releases the GIL: two threads in tg_gemm at once share one pool (one runs serially).
    rng = np.random.default_rng(8)
    a, b = _ints(rng, (400, 300), np.float32), _ints(rng, (300, 200), np.float32)
    expected, results = a @ b, []

    def work():
        results.extend(np.array_equal(c_kernels.matmul(a, b), expected) for _ in range(5))

    workers = [threading.Thread(target=work) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [True] * 15


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_threaded_matmul_in_forked_child(c_kernels):
    # The pool's workers do not survive fork(): a child must run its own, not wait on ghosts.
    code = (
        "import os, sys, numpy as np\n"
        "from tinygrad_edu.backend import c_kernels as ck\n"
        "import tinygrad_edu as tg\n"
        "tg.set_num_threads(2)\n"
        "a, b = np.ones((400, 300), np.float32), np.ones((300, 200), np.float32)\n"
        "ck.matmul(a, b)  # the parent's pool is up\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = all(np.array_equal(ck.matmul(a, b), np.full((400, 200), 300.0)) for _ in range(3))\n"
        "    os._exit(0 if ok else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- threads: set / get, as torch's

def test_set_get_num_threads_roundtrip(threads):
    assert tg.get_num_threads() == threads
    if "c" in backend.available():
        from tinygrad_edu.backend import c_kernels
        assert c_kernels.get_num_threads() == threads


@pytest.mark.parametrize("value", [0, -2, 1.5, "2", True])
def test_set_num_threads_errors_match_torch(value):
    before = tg.get_num_threads()
    with pytest.raises(RuntimeError) as torch_info:
        torch.set_num_threads(value)
    with pytest.raises(RuntimeError) as our_info:
        tg.set_num_threads(value)
    assert str(our_info.value) == str(torch_info.value)
    assert tg.get_num_threads() == before


def _threads_in_fresh_python(value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != backend.NUM_THREADS_ENV_VAR}
    if value is not None:
        env[backend.NUM_THREADS_ENV_VAR] = value
    code = ("import warnings; warnings.simplefilter('always')\n"
            "import tinygrad_edu as tg; print(tg.get_num_threads())")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() + "|" + result.stderr


def test_num_threads_from_env():
    assert _threads_in_fresh_python("1").startswith("1|")
    assert _threads_in_fresh_python(None).startswith(f"{len(os.sched_getaffinity(0))}|")
    bad = _threads_in_fresh_python("zero")
    assert bad.startswith(f"{len(os.sched_getaffinity(0))}|") and "not a positive integer" in bad


# ---------------------------------------------------------------- autograd: the Linear pattern

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 784, 512), (7, 13, 10), (1, 1, 1)])
def test_linear_pattern_matches_torch(backend_name, threads, shape, dtype):
    # F.linear's 2-D case as PyTorch builds it: addmm(b, x, w.t()).
    batch, fan_in, fan_out = shape
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else {}
    check_op(lambda lib, b, x, w: lib.addmm(b, x, w.t()), (fan_out,), (batch, fan_in), (fan_out, fan_in),
             dtype=dtype, **tol)


def test_linear_pattern_graph_and_gradient_layout(backend_name):
    rng = np.random.default_rng(10)
    w = tg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(5), requires_grad=True)
    x = tg.tensor(rng.standard_normal((4, 3)))
    y = tg.addmm(b, x, w.t())
    node = y.grad_fn
    assert node_name_of(y) == "AddmmBackward0"
    names = [type(n).__name__ if n is not None else None for n, _ in node.next_functions]
    assert names == ["AccumulateGrad", None, "TBackward0"]
    assert type(node.next_functions[2][0].next_functions[0][0]).__name__ == "AccumulateGrad"
    y.sum().backward()
    assert w.grad.is_contiguous() and w.grad._data.flags.c_contiguous
    np.testing.assert_allclose(w.grad.numpy(), np.ones((4, 5)).T @ x.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), np.full(5, 4.0), rtol=1e-12)


@pytest.mark.parametrize("transpose_w", [True, False])
def test_mm_create_graph_matches_torch(backend_name, transpose_w):
    # Double backward goes through the Tensor-op path of the backward (grad mode on).
    rng = np.random.default_rng(9)
    xs, ws, bs = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)

    def run(lib):
        x, w, b = (lib.tensor(v, requires_grad=True) for v in (xs, ws, bs))
        y = lib.addmm(b, x, w.t()) if transpose_w else lib.addmm(b, x, lib.tensor(ws.T.copy(), requires_grad=False))
        loss = (y ** 2).sum()
        gx, = lib.autograd.grad(loss, x, create_graph=True)
        (gx ** 2).sum().backward()
        return [t.grad.numpy() if t.grad is not None else None for t in (x, w, b)]

    for ours, theirs in zip(run(tg), run(torch)):
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shapes", [((3, 4, 5), (3, 5, 2)), ((2, 1, 3, 4), (5, 4, 2)), ((6, 7, 8), (8, 3)),
                                    ((0, 2, 3), (0, 3, 4)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))])
def test_batched_matmul_matches_torch(backend_name, threads, shapes):
    check_op(lambda lib, a, b: lib.matmul(a, b), *shapes, node_name=False)
    check_op(lambda lib, a, b: lib.matmul(a, b), *shapes, node_name=False, dtype="float32",
             rtol=1e-5, atol=1e-5, noncontig=True)


def test_mm_noncontiguous_parity(backend_name, threads):
    check_op(lambda lib, a, b: a.t().mm(b.t()), (130, 70), (40, 130), noncontig=True)


# ---------------------------------------------------------------- nn.Linear's backward: one linear_backward call

_NEEDS = [(True, True, True), (False, True, True), (True, False, True), (True, True, False), (False, True, False),
          (False, False, True), (True, False, False)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("with_bias,needs", [(True, n) for n in _NEEDS]  # without a bias: MmBackward0, one call too
                         + [(False, n) for n in _NEEDS if n[0] or n[1]])
@pytest.mark.parametrize("shape", [(64, 784, 512), (64, 64, 10), (3, 5, 1)])
def test_linear_layer_grads_match_torch(backend_name, threads, shape, needs, dtype, with_bias):
    """x, weight, bias each with or without requires_grad (the first layer of an MLP: x without): Addmm's
    one-call backward gives torch's gradients and leaves None where torch does; two layers deep, so dx
    (the gradient reaching the layer below) is checked too."""
    batch, fan_in, fan_out = shape
    rng = np.random.default_rng(fan_in + fan_out)
    shapes = ((batch, fan_in), (fan_out, fan_in), (fan_out,), (fan_in, fan_in))
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]

    def run(lib):
        x, w, b, w0 = (lib.tensor(a) for a in arrays)
        for t, need in zip((x, w, b), needs):
            t.requires_grad_(need)
        h = lib.nn.functional.linear(x, w0.requires_grad_(), None) if needs[0] else x  # a layer below x
        y = lib.nn.functional.linear(h, w, b if with_bias else None)
        (y.relu() * lib.tensor(arrays[2][:1])).sum().backward()
        return [None if t.grad is None else t.grad.numpy() for t in (w0, w, b)], y.grad_fn

    (ours, node), (theirs, torch_node) = run(tg), run(torch)
    tol = 2e-4 if dtype == "float32" else 1e-10
    for got, want in zip(ours, theirs):
        assert (got is None) == (want is None)
        if want is not None:
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    assert type(node).__name__ == type(torch_node).__name__ == ("AddmmBackward0" if with_bias else "MmBackward0")
    names = [None if n is None else type(n).__name__ for n, _ in node.next_functions]
    assert names == [None if n is None else type(n).__name__ for n, _ in torch_node.next_functions]


@pytest.mark.parametrize("bias_shape", [(7,), (1,), (4, 7), (1, 7), (4, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 1), (1, -2.0), (0, 3)])
def test_addmm_general_backward_matches_torch(backend_name, bias_shape, beta, alpha):
    """The cases the one-call path leaves to the general backward: broadcast bias shapes, beta, alpha."""
    rng = np.random.default_rng(len(bias_shape))
    arrays = [rng.standard_normal(s) for s in (bias_shape, (4, 5), (7, 5))]

    def run(lib):
        b, x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        (lib.addmm(b, x, w.t(), beta=beta, alpha=alpha) ** 2).sum().backward()
        return [t.grad.numpy() for t in (b, x, w)]

    for got, want in zip(run(tg), run(torch)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_linear_layer_double_backward_matches_torch(backend_name):
    """create_graph through nn.Linear (the Tensor-op path of Addmm's backward): d/dW of |dL/dx|^2."""
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal(s) for s in ((6, 4), (3, 4), (3,))]

    def run(lib):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        loss = (lib.nn.functional.linear(x, w, b).tanh() ** 2).sum()
        gx, gw = lib.autograd.grad(loss, (x, w), create_graph=True)
        ((gx ** 2).sum() + (gw ** 3).sum()).backward()
        return [t.grad.numpy() for t in (x, w, b)]

    for got, want in zip(run(tg), run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)

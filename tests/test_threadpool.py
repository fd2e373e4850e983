"""The kernels' thread pool (csrc/threadpool.c) under faults, and tg_linear_backward.

Deterministic fault injection (tg_pool_inject): a worker that stalls before it joins a job
(the OS descheduled it), one that stalls inside a task (preempted mid-task), one whose task
fails (no memory for its scratch). Each checks the result against NumPy and what the pool did
(tg_pool_stats): the caller never waits for a worker that has not joined, a stalled worker
costs at most the one task it holds, a failed task is handed back and rerun. Then a real
contention test: a busy process pinned on one core, and the products stay right.
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_edu as tg

STALL_S = 0.3


@pytest.fixture
def pool(c_kernels):
    """(lib, ffi) with 2 threads; afterwards no fault is injected and stalled workers are back."""
    from tinygrad_edu._C import ffi, lib

    before = tg.get_num_threads()
    tg.set_num_threads(2)
    lib.tg_pool_inject(lib.TG_INJECT_NONE, 0)
    yield lib, ffi
    lib.tg_pool_inject(lib.TG_INJECT_NONE, 0)
    time.sleep(STALL_S + 0.05)  # a worker still sleeping in a stall wakes up before the next test
    tg.set_num_threads(before)


def _stats(lib, ffi) -> dict:
    out = ffi.new("int64_t[4]")
    assert lib.tg_pool_stats(out, 4) == lib.TG_OK
    return dict(zip(("joined", "worker_tasks", "rerun", "parallel"), out))


def _operands(m=64, k=784, n=512, dtype=np.float32):
    rng = np.random.default_rng(3)  # small integers: every summation order gives the exact result
    return (rng.integers(-3, 4, (m, k)).astype(dtype), rng.integers(-3, 4, (k, n)).astype(dtype))


def test_caller_does_not_wait_for_a_worker_that_has_not_joined(pool, c_kernels):
    lib, ffi = pool
    a, b = _operands()
    assert lib.tg_pool_inject(lib.TG_INJECT_STALL_BEFORE_JOIN, int(STALL_S * 1e6)) == lib.TG_OK
    for _ in range(3):  # the worker sees the first job, then sleeps through all of them
        start = time.perf_counter()
        c = c_kernels.matmul(a, b)
        elapsed = time.perf_counter() - start
        np.testing.assert_array_equal(c, a @ b)
        assert elapsed < STALL_S / 2, f"the call waited {elapsed:.3f} s for a worker that never joined"
        assert _stats(lib, ffi)["joined"] == 0
    assert lib.tg_pool_inject(lib.TG_INJECT_NONE, 0) == lib.TG_OK


def test_a_worker_stalled_mid_task_costs_one_task(pool, c_kernels):
    lib, ffi = pool
    a, b = _operands()
    assert lib.tg_pool_inject(lib.TG_INJECT_STALL_IN_TASK, int(STALL_S * 1e6)) == lib.TG_OK
    start = time.perf_counter()
    c = c_kernels.matmul(a, b)
    elapsed = time.perf_counter() - start
    np.testing.assert_array_equal(c, a @ b)  # nothing lost, nothing done twice
    stats = _stats(lib, ffi)
    # The worker holds one task while it sleeps; the caller runs all the others meanwhile.
    assert stats == {"joined": 1, "worker_tasks": 1, "rerun": 0, "parallel": 1}
    assert STALL_S <= elapsed < STALL_S + 0.25  # it must wait for that task: A and B are still read


def test_serial_spell_after_a_straggler(pool, c_kernels):
    lib, ffi = pool
    a, b = _operands()
    assert lib.tg_pool_inject(lib.TG_INJECT_STALL_IN_TASK, 50_000) == lib.TG_OK
    c_kernels.matmul(a, b)
    assert _stats(lib, ffi)["parallel"] == 1
    # The hook stays set (changing it would end the spell): a parallel call would wait for a join.
    np.testing.assert_array_equal(c_kernels.matmul(a, b), a @ b)
    assert _stats(lib, ffi)["parallel"] == 0  # ran on the caller alone: no second straggler


def test_a_failed_worker_task_is_handed_back_and_rerun(pool, c_kernels):
    lib, ffi = pool
    for dtype in (np.float32, np.float64):
        a, b = _operands(dtype=dtype)
        assert lib.tg_pool_inject(lib.TG_INJECT_FAIL, 0) == lib.TG_OK
        np.testing.assert_array_equal(c_kernels.matmul(a, b), a @ b)
        # The worker failed its first task, handed it back and took no more.
        assert _stats(lib, ffi) == {"joined": 1, "worker_tasks": 1, "rerun": 1, "parallel": 1}


@pytest.mark.parametrize("mode", ["TG_INJECT_STALL_IN_TASK", "TG_INJECT_FAIL"])
def test_linear_backward_under_faults(pool, c_kernels, mode):
    lib, ffi = pool
    rng = np.random.default_rng(5)
    g, x, w = (rng.integers(-3, 4, s).astype(np.float32) for s in ((64, 512), (64, 784), (512, 784)))
    assert lib.tg_pool_inject(getattr(lib, mode), 20_000) == lib.TG_OK
    dx, dw, db = c_kernels.linear_backward(g, x, w, True, True, True)
    np.testing.assert_array_equal(dx, g @ w)
    np.testing.assert_array_equal(dw, g.T @ x)
    assert _stats(lib, ffi)["joined"] == 1


def test_inject_and_stats_check_their_arguments(pool):
    lib, ffi = pool
    assert lib.tg_pool_inject(-1, 0) == lib.TG_ERR_VALUE
    assert lib.tg_pool_inject(4, 0) == lib.TG_ERR_VALUE
    assert lib.tg_pool_inject(lib.TG_INJECT_FAIL, -1) == lib.TG_ERR_VALUE
    assert lib.tg_pool_inject(lib.TG_INJECT_FAIL, 10**8) == lib.TG_ERR_VALUE
    assert lib.tg_pool_stats(ffi.NULL, 4) == lib.TG_ERR_NULL
    assert lib.tg_pool_stats(ffi.new("int64_t[4]"), 3) == lib.TG_ERR_SIZE


# ---------------------------------------------------------------- tg_linear_backward, called directly

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch,fan_in,fan_out", [(64, 784, 512), (64, 256, 128), (64, 64, 10), (1, 1, 1),
                                                  (0, 5, 3), (7, 0, 4), (130, 257, 33)])
def test_linear_backward_any_layout(c_kernels, threads, batch, fan_in, fan_out, dtype):
    rng = np.random.default_rng(11)
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        g = rng.integers(-3, 4, (fan_out, batch)).astype(dtype).T  # column-major grad
        x = rng.integers(-3, 4, (batch, 2 * fan_in)).astype(dtype)[:, ::2]  # sliced
        w = rng.integers(-3, 4, (fan_in, fan_out)).astype(dtype).T  # W stored transposed
        dx, dw, db = c_kernels.linear_backward(g, x, w, True, True, True)
    finally:
        tg.set_num_threads(before)
    np.testing.assert_array_equal(dx, g @ w)
    np.testing.assert_array_equal(dw, g.T @ x)
    np.testing.assert_array_equal(db, g.sum(0))
    assert dx.flags.c_contiguous and dw.flags.c_contiguous


def test_linear_backward_return_codes(c_kernels):
    from tinygrad_edu._C import ffi, lib

    buf, NULL = ffi.new("float[64]"), ffi.NULL
    ok = [buf, buf, buf, buf + 16, buf + 32, buf + 48, 2, 3, 2, 2, 1, 3, 1, 3, 1]
    assert lib.tg_linear_backward_f32(*ok) == lib.TG_OK
    for position in range(6, 15):  # every size and stride
        args = list(ok)
        args[position] = -1
        assert lib.tg_linear_backward_f32(*args) == lib.TG_ERR_SIZE, position
        args[3] = args[4] = args[5] = NULL  # checked even when nothing is wanted
        assert lib.tg_linear_backward_f32(*args) == lib.TG_ERR_SIZE, position
    for position in range(3):  # every input pointer
        args = list(ok)
        args[position] = NULL
        assert lib.tg_linear_backward_f32(*args) == lib.TG_ERR_NULL, position
    # An input only an unwanted output reads may be NULL: x feeds dw, w feeds dx, grad all three.
    assert lib.tg_linear_backward_f32(buf, NULL, buf, buf + 16, NULL, buf + 48, *ok[6:]) == lib.TG_OK
    assert lib.tg_linear_backward_f32(buf, buf, NULL, NULL, buf + 32, buf + 48, *ok[6:]) == lib.TG_OK
    assert lib.tg_linear_backward_f32(buf, NULL, NULL, NULL, NULL, buf + 48, *ok[6:]) == lib.TG_OK
    assert lib.tg_linear_backward_f32(NULL, buf, buf, NULL, NULL, buf + 48, *ok[6:]) == lib.TG_ERR_NULL
    assert lib.tg_linear_backward_f32(NULL, NULL, NULL, NULL, NULL, NULL, *ok[6:]) == lib.TG_OK  # nothing wanted
    big = (2**40, 2**40, 2**40, 1, 1, 1, 1, 1, 1)
    assert lib.tg_linear_backward_f32(buf, buf, buf, buf, buf, buf, *big) == lib.TG_ERR_SIZE
    assert lib.tg_linear_backward_f32(buf, buf, buf, NULL, NULL, buf, *big) == lib.TG_ERR_SIZE  # db alone
    assert lib.tg_linear_backward_f32(buf, buf, buf, NULL, NULL, buf, 2, 1, 2**62, 1, 2**62, 0, 0, 0, 0) \
        == lib.TG_ERR_SIZE  # db alone, a column stride that overflows
    dbuf = ffi.new("double[64]")
    assert lib.tg_linear_backward_f64(dbuf, dbuf, dbuf, dbuf + 16, dbuf + 32, dbuf + 48, 2, 3, 2, 2, 1, 3, 1, 3,
                                      1) == lib.TG_OK


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("layout", ["dense", "column-major", "sliced"])
@pytest.mark.parametrize("batch,fan_in,fan_out", [(64, 784, 512), (64, 512, 256), (64, 64, 10), (1, 1, 1), (0, 5, 3),
                                                  (7, 0, 4), (5, 3, 0), (130, 257, 33), (3, 2, 17), (64, 10, 1)])
def test_linear_backward_bias_grad_and_partial_outputs(c_kernels, threads, layout, batch, fan_in, fan_out, dtype):
    """db (tg_linear_backward's column sums) against NumPy's grad.sum(0) with and without dx / dw, in
    every combination of wanted outputs; random (not integer) data, so a rounding difference shows."""
    rng = np.random.default_rng(batch * 7 + fan_out)
    g = rng.standard_normal((batch, fan_out)).astype(dtype)
    if layout == "column-major":
        g = np.asfortranarray(g)
    elif layout == "sliced":
        g = np.repeat(g, 2, axis=1)[:, ::2]
    x, w = rng.standard_normal((batch, fan_in)).astype(dtype), rng.standard_normal((fan_out, fan_in)).astype(dtype)
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        results = {need: c_kernels.linear_backward(g, x if need[1] else None, w if need[0] else None, *need)
                   for need in itertools.product([False, True], repeat=3)}
    finally:
        tg.set_num_threads(before)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for need, got in results.items():
        for wanted, value, expected in zip(need, got, (g @ w, g.T @ x, g.sum(0, dtype=np.float64))):
            if not wanted:
                assert value is None
                continue
            assert value.dtype == dtype and value.flags.c_contiguous
            np.testing.assert_allclose(value, expected, rtol=tol, atol=tol * max(1, batch))


# ---------------------------------------------------------------- real contention

@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs 2 CPUs and sched_setaffinity (Linux)")
def test_two_threads_beside_a_busy_core_stay_correct(c_kernels):
    """A process spinning on one of our cores, so the OS really preempts our workers: every 2-thread
    product still equals the 1-thread one and NumPy's. (How fast it stays is measured by
    `bench/bench_train.py --contention`, not asserted here: timings in tests fail on a loaded machine.)"""
    cpu = sorted(os.sched_getaffinity(0))[-1]
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
    spinner = subprocess.Popen([sys.executable, "-c", code])
    a, b = _operands()
    before = tg.get_num_threads()
    try:
        results = {}
        for threads in (1, 2, 1, 2):
            tg.set_num_threads(threads)
            for _ in range(20):
                out = np.asarray(c_kernels.matmul(a, b))
                assert np.array_equal(out, results.setdefault(threads, out)), threads
    finally:
        tg.set_num_threads(before)
        spinner.kill()
        spinner.wait()
    np.testing.assert_allclose(results[2], results[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results[2], a @ b, rtol=1e-4, atol=1e-4)

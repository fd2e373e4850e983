"""set_num_threads governs NumPy's BLAS too (issue 14): threadpoolctl reports the count we set.

Without it, the NumPy backend's products ran on one OpenBLAS thread per CPU whatever
set_num_threads said, and on a busy machine an epoch took 100 times longer."""
import os
import subprocess
import sys

import numpy as np
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import backend  # noqa: E402

CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def numpy_blas_threads() -> int:
    """The thread count threadpoolctl reports for the BLAS NumPy itself loaded."""
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    blas = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    own = [lib for lib in blas if lib["filepath"].startswith(numpy_dir)] or blas
    assert own, "threadpoolctl finds no BLAS library in this process"
    return own[0]["num_threads"]


@pytest.fixture
def numpy_backend():
    before_name, before_threads = backend.current(), tg.get_num_threads()
    backend.use("numpy")
    yield
    tg.set_num_threads(before_threads)
    backend.use(before_name)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_blas_follows_set_num_threads(numpy_backend, n):
    tg.set_num_threads(n)
    assert numpy_blas_threads() == min(n, CPUS)
    assert tg.get_num_threads() == n  # our own count is what was asked, as torch's


def test_blas_never_gets_more_threads_than_cpus(numpy_backend):
    tg.set_num_threads(1000)
    assert numpy_blas_threads() == CPUS
    tg.set_num_threads(1)
    assert numpy_blas_threads() == 1
    a = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
    np.testing.assert_allclose(backend.kernels.matmul(a, a), a @ a, rtol=1e-4, atol=1e-4)


def _run(code: str, **env) -> str:
    full = {k: v for k, v in os.environ.items() if k != "TINYGRAD_EDU_NUM_THREADS"}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, check=True)
    return out.stdout.strip()


def test_environment_count_reaches_blas_at_import():
    """TINYGRAD_EDU_NUM_THREADS=1 with the NumPy backend: BLAS runs one thread, even when OpenBLAS was told 2."""
    code = ("import tinygrad_edu, threadpoolctl\n"
            "print([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'][0])")
    assert _run(code, TINYGRAD_EDU_BACKEND="numpy", TINYGRAD_EDU_NUM_THREADS="1", OPENBLAS_NUM_THREADS="2") == "1"


def test_import_stays_cheap_on_the_c_backend():
    """With the C backend, importing does not load threadpoolctl (~10 ms)."""
    if "c" not in backend.available():
        pytest.skip("the C extension is not built")
    code = "import sys, tinygrad_edu; print('threadpoolctl' in sys.modules)"
    assert _run(code, TINYGRAD_EDU_BACKEND="c") == "False"


def test_switching_to_numpy_applies_the_count():
    """set_num_threads on the C backend, then use("numpy"): BLAS gets that count at the switch."""
    if "c" not in backend.available():
        pytest.skip("the C extension is not built")
    code = ("import tinygrad_edu as tg, threadpoolctl\n"
            "tg.set_num_threads(1)\n"
            "tg.backend.use('numpy')\n"
            "print([i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'][0])")
    assert _run(code, TINYGRAD_EDU_BACKEND="c", OPENBLAS_NUM_THREADS="2") == "1"

"""The kernel backends, for every test module: one way to run a test on each backend.

* `backend_name`: the test runs once with each backend active ("numpy", then "c") and the one
  before is restored afterwards. test_parity.py runs its whole op suite this way: the
  C-vs-NumPy self-check (tinygrad's TestOpsGPU(TestOps), needle's device list).
* `kernels`: each backend's kernel module in turn, for tests that call kernels directly.
* `c_kernels`: the C kernel module alone.
* every test leaves the backend as it found it (`restore_backend`, automatic).

Tests that need the compiled extension FAIL when it is missing: a silently skipped C suite would
hide a broken build. Set TINYGRAD_EDU_ALLOW_NO_C=1 to skip them instead (a machine without a C
compiler).
"""
from __future__ import annotations

import os
from types import ModuleType

import pytest

from tinygrad_edu import backend
from tinygrad_edu.backend import numpy_kernels

BACKENDS = ["numpy", "c"]


def _load_c_kernels() -> ModuleType:
    """The C kernel module; fail (or skip, if allowed) when the extension is not built."""
    try:
        from tinygrad_edu.backend import c_kernels
    except ImportError as e:
        message = f"C extension not built ({e}); run `pip install -e .` or set TINYGRAD_EDU_ALLOW_NO_C=1"
        if os.environ.get("TINYGRAD_EDU_ALLOW_NO_C") == "1":
            pytest.skip(message)
        pytest.fail(message)
    return c_kernels


@pytest.fixture(scope="session")  # session scope: hypothesis' @given tests may take it
def c_kernels() -> ModuleType:
    return _load_c_kernels()


@pytest.fixture(params=BACKENDS)  # function scope: a parametrized session fixture would reorder the tests
def kernels(request: pytest.FixtureRequest) -> ModuleType:
    """Each backend's kernel module in turn: every test using it runs on both."""
    return numpy_kernels if request.param == "numpy" else _load_c_kernels()


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest):
    """Run the test once with each kernel backend active; the previous one is restored afterwards."""
    if request.param == "c":
        _load_c_kernels()
    before = backend.current()
    backend.use(request.param)
    yield request.param
    backend.use(before)


@pytest.fixture(autouse=True)
def restore_backend():
    """A test may switch backends (backend.use); put the original one back afterwards."""
    before = backend.current()
    yield
    backend.use(before)

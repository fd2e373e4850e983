"""Kernel backends: compiled C (``"c"``) or the NumPy twin (``"numpy"``).

Both provide the same functions with the same signatures (``matmul(a, b)``, ...), on
plain ``np.ndarray``s. The active one is the module-level global ``kernels``::

    from tinygrad_edu import backend
    backend.kernels.matmul(a, b)        # read backend.kernels at call time

``use()`` rebinds ``kernels``, so callers must look it up on every call. Binding it
once (``from tinygrad_edu.backend import kernels``) keeps the old backend forever.

Choosing the backend:

* at import, from the environment variable ``TINYGRAD_EDU_BACKEND`` (``c`` or
  ``numpy``); unset means ``c`` when the extension imports, else ``numpy``;
* at run time, with ``use("numpy")`` / ``use("c")``; ``current()`` says which is
  active and ``available()`` which can be used.

Threads: ``set_num_threads(n)`` / ``get_num_threads()`` mirror ``torch.set_num_threads`` /
``torch.get_num_threads``: any count from 1 to 2**31 - 1 is accepted, as torch does; a call
runs on at most 256 threads, and on fewer when no more can be started (a process or memory
limit), never failing for that. The default comes from ``TINYGRAD_EDU_NUM_THREADS``, else
every CPU this process may run on; a value that is not such a count gets a ``RuntimeWarning``
naming the variable and the default is used, as torch does for ``OMP_NUM_THREADS``. Only the
C kernels start threads of their own; on the NumPy backend, NumPy's BLAS (OpenBLAS, MKL...) gets
the same count, capped at the usable CPUs, through ``threadpoolctl`` -- otherwise it starts one
thread per CPU whatever was asked, and on a busy machine an epoch grew 100-fold (issue 14).

Memory: loading the C backend calls ``c_kernels.keep_freed_memory()`` once (glibc's malloc
keeps freed arrays for reuse instead of page-faulting them in again every step; see its
docstring for the figures); ``TINYGRAD_EDU_KEEP_FREED_MEMORY=0`` skips the call.

Layout: ``checks.py`` (the argument checks both backends share), ``numpy/<family>.py`` (the
twins), ``c/<family>.py`` (the bindings; ``c/_ffi.py`` alone touches cffi), one module per
``csrc/<family>.c``; ``numpy_kernels`` and ``c_kernels`` gather each side into the namespace
``kernels`` points at.

Importing never fails because of the C extension: if it is missing (no compiler at
install time) or broken, we fall back to NumPy and emit one ``RuntimeWarning`` with
the reason -- unless NumPy was asked for explicitly. PyTorch has no equivalent
switch (its CPU kernels are always compiled in); this is the role of tinygrad's
``DEVICE`` environment variables.
"""

from __future__ import annotations

import os
import warnings
from types import ModuleType

from . import numpy_kernels

__all__ = ["available", "current", "kernels", "use", "ENV_VAR", "KNOWN", "NUM_THREADS_ENV_VAR",
           "get_num_threads", "set_num_threads"]

ENV_VAR = "TINYGRAD_EDU_BACKEND"
KEEP_FREED_MEMORY_ENV_VAR = "TINYGRAD_EDU_KEEP_FREED_MEMORY"  # "0": leave glibc's malloc settings alone
KNOWN = ("c", "numpy")

# The active kernel module. Rebound by use(): read it as backend.kernels at call time.
kernels: ModuleType = numpy_kernels
_current = "numpy"

# The C module once imported, and why it could not be, if it could not.
_c_module: ModuleType | None = None
_c_error: str | None = None


def _load_c() -> ModuleType | None:
    """Import the C kernels once; remember the module or the reason it failed."""
    global _c_module, _c_error
    if _c_module is None and _c_error is None:
        try:
            from . import c_kernels
        # ImportError: extension not built, or built for another Python.
        # AttributeError: a stale build that lacks a function the header now declares.
        except (ImportError, AttributeError) as e:
            _c_error = f"{type(e).__name__}: {e}"
        else:
            _c_module = c_kernels
            c_kernels.set_num_threads(_num_threads)  # loaded late (by use("c")): same threads
            if os.environ.get(KEEP_FREED_MEMORY_ENV_VAR, "1") != "0":
                c_kernels.keep_freed_memory()  # malloc keeps freed arrays for the next step: see its docstring
    return _c_module


def _check_name(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in KNOWN:
        known = ", ".join(repr(k) for k in KNOWN)
        raise ValueError(f"unknown backend {name!r}; known backends: {known}")
    return key


def available() -> list[str]:
    """Names of the backends that can be used here: always ``"numpy"``, ``"c"`` if built."""
    return [name for name in KNOWN if name != "c" or _load_c() is not None]


def current() -> str:
    """Name of the active backend, ``"c"`` or ``"numpy"``."""
    return _current


def use(name: str) -> None:
    """Make ``name`` (``"c"`` or ``"numpy"``) the active backend for all later calls.

    Raises ``ValueError`` (listing the known names) for an unknown name and
    ``RuntimeError`` (with the import error) for ``"c"`` when it is not built.
    """
    global kernels, _current
    key = _check_name(name)
    if key == "c":
        module = _load_c()
        if module is None:
            raise RuntimeError(f"the C backend is unavailable ({_c_error}); build it with `pip install -e .`")
    else:
        module = numpy_kernels
    kernels, _current = module, key
    _limit_blas_threads()  # on the NumPy backend, BLAS does the products: the same threads


def _select_at_import() -> None:
    """Pick the backend from ``TINYGRAD_EDU_BACKEND``; never raise, warn at most once."""
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if requested and requested not in KNOWN:
        known = ", ".join(KNOWN)
        warnings.warn(
            f"tinygrad_edu: unknown backend {requested!r} in ${ENV_VAR} (known: {known}); using the default",
            RuntimeWarning,
            stacklevel=2,
        )
        requested = ""
    if requested == "numpy":
        use("numpy")  # asked for explicitly: do not even try to load C, and do not warn
    elif _load_c() is not None:
        use("c")
    else:
        warnings.warn(
            f"tinygrad_edu: the C kernels are unavailable ({_c_error}); using the NumPy backend. "
            "Reinstall with a C compiler present (pip install -e .) to build them.",
            RuntimeWarning,
            stacklevel=2,
        )
        use("numpy")


# ---------------------------------------------------------------- threads (matmul.c's pool)

NUM_THREADS_ENV_VAR = "TINYGRAD_EDU_NUM_THREADS"
MAX_NUM_THREADS = 2**31 - 1  # torch takes a C int
_num_threads = 1


def set_num_threads(n: int) -> None:
    """Use up to ``n`` threads in the C kernels, as ``torch.set_num_threads`` (same errors).

    Any ``n`` in [1, 2**31 - 1] is accepted; a call runs on at most 256 threads (fewer if no
    more can be started). Small products stay on one thread whatever ``n`` is: waking a
    worker would cost more than it saves (see csrc/matmul.c). Torch raises a bare "Overflow
    when unpacking long" above 2**31 - 1; we raise the same ``ValueError``, saying what is allowed.
    """
    global _num_threads
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    if n > MAX_NUM_THREADS:
        raise ValueError(f"set_num_threads: {n} threads is more than the {MAX_NUM_THREADS} allowed")
    if _c_module is not None:
        _c_module.set_num_threads(n)
    _num_threads = n
    _limit_blas_threads()


def get_num_threads() -> int:
    """The number of threads the C kernels may use (``torch.get_num_threads``)."""
    return _num_threads


_blas_controller = None  # threadpoolctl's view of the BLAS libraries loaded (by NumPy): made once
_blas_threads = None     # what the BLAS was last limited to


def _limit_blas_threads() -> None:
    """On the NumPy backend, give NumPy's BLAS ``min(get_num_threads(), usable CPUs)`` threads.

    Through threadpoolctl; more BLAS threads than CPUs only oversubscribe them. The C backend
    leaves BLAS alone (its products run in C): setting an OpenBLAS count starts its threads,
    and importing threadpoolctl (~10 ms) would slow ``import tinygrad_edu`` down."""
    global _blas_controller, _blas_threads
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    want = min(_num_threads, cpus)
    if _current != "numpy" or want == _blas_threads:
        return
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a dependency; without it BLAS keeps its own count, as before
            return
        _blas_controller = ThreadpoolController()
    _blas_controller.limit(limits=want, user_api="blas")
    _blas_threads = want


def _default_num_threads() -> int:
    """``$TINYGRAD_EDU_NUM_THREADS`` if it is a count set_num_threads takes (else warn, as torch
    does for a bad ``OMP_NUM_THREADS``), or all usable CPUs."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    value = os.environ.get(NUM_THREADS_ENV_VAR, "").strip()
    if not value:
        return cpus
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_NUM_THREADS:
        return int(value)
    warnings.warn(f"tinygrad_edu: ${NUM_THREADS_ENV_VAR}={value!r} is not a positive integer "
                  f"(1 to {MAX_NUM_THREADS}); using the default, {cpus} threads (the usable CPUs)",
                  RuntimeWarning, stacklevel=2)
    return cpus


_num_threads = _default_num_threads()  # before the backend is chosen: loading C and use() read it
_select_at_import()

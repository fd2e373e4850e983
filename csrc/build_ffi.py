r"""cffi build script for the C kernels: produces the extension ``tinygrad_edu._C``.

setup.py hands this file to cffi through ``cffi_modules=["csrc/build_ffi.py:ffibuilder"]``
(the pyca/bcrypt 3.x layout); cffi then generates ``_C.c`` and setuptools compiles it
together with every ``csrc/*.c``. Build with ``pip install -e .`` (or ``pip install .``).

``csrc/tinygrad_edu.h`` is the single source of truth for the C API: it is read
into ``ffibuilder.cdef`` below (preprocessor lines stripped, as pynacl's
``src/bindings/build.py`` does), so a prototype is written exactly once.

Environment:
    TINYGRAD_EDU_SANITIZE=1   build with AddressSanitizer + UBSan (-O1), for tests.
    CC                        compiler to use (read by setuptools, as usual).

Sanitizer run (Python itself is not built with ASan, so the runtime must be preloaded;
libstdc++ too, or ASan's exception interceptor aborts when torch throws; and
``--capture=sys`` so pytest does not swallow a report written to fd 2 before a crash)::

    TINYGRAD_EDU_SANITIZE=1 pip install -e .
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
        ASAN_OPTIONS=detect_leaks=0 python -m pytest --capture=sys tests/test_backend.py
    pip install -e .          # back to the normal build: the ASan .so aborts without LD_PRELOAD

With ``python setup.py -q build_ext -i`` instead of pip, add ``--force`` when switching
between the two builds: setuptools rebuilds on changed sources, not on changed flags.
"""

from __future__ import annotations

import glob
import os
import sys
import tempfile

import cffi

# Paths are found from this file, so the script works from any working directory.
HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "tinygrad_edu.h")
SOURCES = sorted(glob.glob(os.path.join(HERE, "*.c")))


def _for_build(path: str) -> str:
    """``path`` relative to the working directory, which setuptools sets to setup.py's.

    setuptools rejects absolute source paths ("setup script specifies an absolute
    path") because they would end up in the sdist manifest.
    """
    return os.path.relpath(path)


def read_cdef(path: str) -> str:
    """The header minus preprocessor lines: cffi's parser does not run cpp.

    Comments stay in (cffi strips them itself). Every ``#`` directive in the
    header is kept on one line, so dropping whole lines is enough.
    """
    with open(path, encoding="utf-8") as f:
        return "".join(line for line in f if not line.lstrip().startswith("#"))


def _compiler_accepts(flag: str) -> bool:
    """Try to compile an empty C file with ``flag`` using the compiler setuptools would use.

    Any failure (unknown flag, missing compiler, CC=/bin/false) means "no": a
    probe must never be what breaks an install.
    """
    try:
        # Importing setuptools first makes `distutils` its bundled copy (the stdlib
        # one is gone in 3.12); it honours CC / CFLAGS exactly as the real build will.
        import setuptools  # noqa: F401

        from distutils.ccompiler import new_compiler
        from distutils.sysconfig import customize_compiler

        compiler = new_compiler()
        customize_compiler(compiler)
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write("int tg_probe(void) { return 0; }\n")
            compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
        return True
    except Exception:  # noqa: BLE001 -- any failure of the probe means "not supported"
        return False


def compile_args() -> tuple[list[str], list[str]]:
    """(extra_compile_args, extra_link_args) for the kernels."""
    if sys.platform == "win32":  # MSVC: none of the GCC/Clang flags below apply
        return ["/O2"], []
    args = [
        "-std=c11",
        # The micro-kernel relies on a*b+c becoming one FMA. GCC turns contraction
        # off in ISO modes (-std=c11), so ask for it. This is not -ffast-math:
        # no reassociation, and NaN/Inf/signed zeros are still respected.
        "-ffp-contract=fast",
        "-fno-math-errno",
        "-Wall",
        "-Wextra",
    ]
    # The matmul thread pool (threadpool.c) uses POSIX threads. (On Windows/MSVC it does
    # not build, and setup.py falls back to the NumPy backend with a warning.)
    args.append("-pthread")
    link: list[str] = ["-pthread"]
    if os.environ.get("TINYGRAD_EDU_SANITIZE") == "1":
        # -fno-sanitize-recover: undefined behaviour aborts (fails the test run)
        # instead of printing a line that scrolls past.
        sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
        # -O1 keeps ASan reports readable; later flags win, so it beats setuptools' -O2/-O3.
        args += ["-O1", "-g", *sanitize]
        link += sanitize
    else:
        args.append("-O3")
        # Use every SIMD extension of this machine (AVX2 / AVX-512) when the compiler
        # knows the flag. The resulting .so is for this CPU only: build on the machine
        # that runs it (pip install builds from source, so it does). Without the flag
        # the kernels are the portable path: matmul.c picks its vector width from the
        # target macros (__AVX512F__, __AVX__, else 16-byte SSE2 / NEON vectors), so
        # the same source is correct everywhere and only slower without AVX2/FMA.
        if _compiler_accepts("-march=native"):
            args.append("-march=native")
    return args, link


_compile_args, _link_args = compile_args()

ffibuilder = cffi.FFI()
ffibuilder.cdef(read_cdef(HEADER))
ffibuilder.set_source(
    "tinygrad_edu._C",
    '#include "tinygrad_edu.h"',
    sources=[_for_build(src) for src in SOURCES],
    include_dirs=[_for_build(HERE)],
    # rebuild when a header changes: the public one and the private ones (tg_vmath.h, tg_each_type.h, ...)
    depends=[_for_build(h) for h in sorted(glob.glob(os.path.join(HERE, "*.h")))],
    extra_compile_args=_compile_args,
    extra_link_args=_link_args,
)

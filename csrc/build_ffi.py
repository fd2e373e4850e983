r"""cffi build script for the C kernels: produces the extension ``tinygrad_edu._C``.

setup.py hands this file to cffi through ``cffi_modules=["csrc/build_ffi.py:ffibuilder"]``
(the pyca/bcrypt 3.x layout); cffi then generates ``_C.c`` and setuptools compiles it
together with every ``csrc/*.c``. Build with ``pip install -e .`` (or ``pip install .``).

``csrc/tinygrad_edu.h`` is the single source of truth for the C API: it is read
into ``ffibuilder.cdef`` below (preprocessor lines stripped, as pynacl's
``src/bindings/build.py`` does), so a prototype is written exactly once.

Environment:
    TINYGRAD_EDU_MARCH        the CPU the kernels are built for: "native" (this CPU, the default of
                              in-place and editable builds), "portable" (every CPU of the
                              architecture: x86-64 baseline, armv8-a; the default of wheels, so a
                              wheel from `python -m build` runs anywhere), or a -march value.
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
    # The same target in both builds, so that the sanitizers check the vector paths this CPU runs
    # (matmul.c's AVX-512 micro-kernels and masked loads), not only the portable fallback.
    args += march_flags()
    return args, link


# The portable target per machine: code that runs on every CPU of the architecture. matmul.c picks
# its vector width from the target macros (__AVX512F__, __AVX__, else 16-byte SSE2 / NEON vectors),
# so the same source is correct everywhere and only slower without AVX2/FMA.
PORTABLE = {
    "x86_64": ["-march=x86-64", "-mtune=generic"],  # SSE2: every x86-64 CPU
    "amd64": ["-march=x86-64", "-mtune=generic"],
    "aarch64": ["-march=armv8-a"],  # NEON: every 64-bit ARM CPU (Linux)
    "arm64": [],  # macOS on Apple silicon: clang's default target already is the portable one
}


def building_wheel() -> bool:
    """True when setuptools is building a wheel to ship (python -m build, pip wheel, pip install .):
    its command line then holds bdist_wheel. An editable install holds editable_wheel instead, and
    python setup.py build_ext -i neither."""
    return "bdist_wheel" in sys.argv


def march_flags() -> list[str]:
    """The -march flags. TINYGRAD_EDU_MARCH chooses: "native" (this CPU: AVX2 / AVX-512 where it
    has them; the .so then runs on this CPU only), "portable" (PORTABLE above), or any -march value
    (x86-64-v3, armv8.2-a, ...). Unset: a wheel is portable, an in-place build (pip install -e .,
    python setup.py build_ext -i) is native."""
    choice = os.environ.get("TINYGRAD_EDU_MARCH", "").strip() or ("portable" if building_wheel() else "native")
    if choice == "portable":
        import platform
        return PORTABLE.get(platform.machine().lower(), [])
    flag = f"-march={choice}"
    if _compiler_accepts(flag):
        return [flag]
    if choice != "native":  # asked for by name: say so rather than build something else silently
        raise ValueError(f"TINYGRAD_EDU_MARCH={choice}: the C compiler does not accept {flag}")
    return []


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

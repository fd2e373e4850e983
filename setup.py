"""Build script for the optional C kernels; all metadata lives in pyproject.toml.

The extension ``tinygrad_edu._C`` is declared through cffi's setuptools hook
(``cffi_modules``, as pyca/bcrypt 3.x does): cffi runs ``csrc/build_ffi.py``, takes
its ``ffibuilder`` and adds the extension to the build.

A missing or broken C compiler must never break the install (pallets/markupsafe's
``ve_build_ext``): if compiling fails we print a warning and install the pure-Python
package; ``tinygrad_edu.backend`` then falls back to the NumPy kernels and says so
once at import.

Both install modes work as plain commands, no ``--config-settings`` needed:

    pip install .       # compiled _C*.so goes into the wheel
    pip install -e .    # setuptools (>=64, PEP 660) builds in place: the .so is
                        # copied next to the sources, into tinygrad_edu/

After editing a C file in an editable install, rebuild with ``pip install -e .``
again (or ``python csrc/build_ffi.py`` for a quick in-place build).
"""

from __future__ import annotations

import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import (
    CCompilerError,
    CompileError,
    ExecError,
    LinkError,
    PlatformError,
)

# Everything a failed compile can raise: the compiler exits non-zero (CompileError,
# LinkError), cannot be run at all (ExecError), is not configured for the platform
# (PlatformError), or -- on Windows -- vcvarsall.bat is missing (ValueError/OSError).
BUILD_ERRORS = (CCompilerError, CompileError, ExecError, LinkError, PlatformError, ValueError, OSError)


class BuildFailed(Exception):
    pass


class ve_build_ext(build_ext):
    """build_ext that turns a failed C build into a warning instead of an error."""

    def run(self) -> None:
        try:
            super().run()
        except (BuildFailed, *BUILD_ERRORS) as e:
            _warn_no_c(e)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except BUILD_ERRORS as e:
            raise BuildFailed(e) from e


def _warn_no_c(error: BaseException) -> None:
    bar = "*" * 75
    print(
        f"{bar}\n"
        "WARNING: the C kernels of tinygrad_edu could not be compiled:\n"
        f"    {error!r}\n"
        "Installing without them; tinygrad_edu will use its NumPy backend.\n"
        "Install a C compiler (e.g. apt-get install gcc) and reinstall for the C backend.\n"
        f"{bar}",
        file=sys.stderr,
    )


setup(
    cffi_modules=["csrc/build_ffi.py:ffibuilder"],
    cmdclass={"build_ext": ve_build_ext},
)

"""What the tests need of examples/: `load_example(name)` imports examples/<name>.py by path, and
`mnist_dir()` is where the real MNIST files are (never part of the repository): the examples'
own lookup, `examples/_common.default_data_dir()` ($TINYGRAD_EDU_MNIST, then
../shared/data/mnist). A test that needs them FAILS when they are missing, naming where it looked."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_example(name: str):
    """examples/<name>.py as a module. examples/ is on sys.path meanwhile, as when the script
    runs: the examples import their shared helpers (_common, _training)."""
    import sys
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "examples"))
    return module


def mnist_dir() -> str:
    found = load_example("_common").default_data_dir()
    if not (Path(found) / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the MNIST files are not in {found!r}: set $TINYGRAD_EDU_MNIST or put them in "
                    f"{ROOT.parent / 'shared' / 'data' / 'mnist'}")
    return found

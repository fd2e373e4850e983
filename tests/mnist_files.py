"""What the tests need of examples/: `load_example(name)` imports examples/<name>.py by path, and
`mnist_dir()` is where the real MNIST files are (never part of the repository): the examples' own
default, `examples/train_mnist.default_data_dir()` -- $TINYGRAD_EDU_MNIST if set, else the user's
cache folder (where train_mnist.py downloads them). A test that needs them FAILS when they are
missing, naming where it looked."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def load_example(name: str):
    """examples/<name>.py as a module. examples/ is on sys.path meanwhile, as when the script
    runs: the examples import _extras.py and train_mnist.py."""
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
    found = load_example("train_mnist").default_data_dir()
    folders = (Path(found), Path(found) / "MNIST" / "raw")  # the MNIST class reads either layout
    missing = [name for name in FILES
               if not any((folder / f).is_file() for folder in folders for f in (name, f"{name}.gz"))]
    if missing:
        pytest.fail(f"the MNIST files {missing} are not in {found!r}: set TINYGRAD_EDU_MNIST to the folder "
                    f"that holds them (or run examples/train_mnist.py once with internet to download them there)")
    return found

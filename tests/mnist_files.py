"""Where the tests read the real MNIST files (never part of the repository): the examples' own
lookup, `examples/_common.default_data_dir()` ($TINYGRAD_EDU_MNIST, then ../shared/data/mnist).
A test that needs them FAILS when they are missing, naming where it looked."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _examples_common():
    spec = importlib.util.spec_from_file_location("_common", ROOT / "examples" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mnist_dir() -> str:
    found = _examples_common().default_data_dir()
    if not (Path(found) / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the MNIST files are not in {found!r}: set $TINYGRAD_EDU_MNIST or put them in "
                    f"{ROOT.parent / 'shared' / 'data' / 'mnist'}")
    return found

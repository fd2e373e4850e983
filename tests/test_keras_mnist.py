"""examples/keras_mnist.py: the notes' Keras MLP and CNN trained with fit on the real MNIST files
(from $TINYGRAD_EDU_MNIST; the test fails, saying so, when they are not there)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mnist_folder() -> str:
    folder = os.environ.get("TINYGRAD_EDU_MNIST", "")
    if not (Path(folder) / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the MNIST files are not in $TINYGRAD_EDU_MNIST={folder!r}: set it to the folder of the "
                    "four IDX files")
    return folder


def keras_mnist():
    spec = importlib.util.spec_from_file_location("keras_mnist", ROOT / "examples" / "keras_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_epoch_of_the_mlp_reaches_96_percent(capsys):
    result = keras_mnist().main(["--model", "mlp", "--epochs", "1", "--data-dir", mnist_folder(), "--verbose", "2"])
    out = capsys.readouterr().out
    assert result["mlp"]["accuracy"] >= 0.96, out
    assert " Total params: 575,050 (2.19 MB)" in out and "938/938 - " in out and "val_accuracy: " in out
    assert result["mlp"]["history"]["learning_rate"] == [0.001]


def test_the_cnn_learns_from_a_few_thousand_images(capsys):
    result = keras_mnist().main(["--model", "cnn", "--epochs", "2", "--limit-train", "3200",
                                 "--data-dir", mnist_folder(), "--verbose", "0"])
    out = capsys.readouterr().out
    assert " Total params: 171,158 (668.59 KB)" in out and "(None, 7, 7, 32)" in out
    history = result["cnn"]["history"]
    assert history["loss"][1] < history["loss"][0] and result["cnn"]["accuracy"] >= 0.9, out

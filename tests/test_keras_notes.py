"""The course notes' Keras snippets (docs/keras.md) run on tinygrad_edu.keras and print what
they say: summary() shapes and parameter counts, a loss that falls, an accuracy reached."""
from __future__ import annotations

import numpy as np
import pytest

from keras_docs import run, snippets


def table_rows(printed: str) -> list[tuple[str, str, str]]:
    """(layer (type), output shape, param #) per row of summary()'s table, wrapped cells joined."""
    rows: list[list[str]] = []
    for line in printed.splitlines():
        if line.startswith("├") or line.startswith("┡"):
            rows.append(["", "", ""])
        elif line.startswith("│") and rows:
            cells = [c.strip() for c in line.strip("│").split("│")]
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
    return [tuple(r) for r in rows]


def test_regression_snippet():
    ns, printed = run(snippets()["regression"])
    rows = table_rows(printed)
    assert [(r[1], r[2]) for r in rows] == [("(None, 50)", "450"), ("(None, 50)", "2,550"), ("(None, 1)", "51")]
    assert all(r[0].endswith("(Dense)") for r in rows)
    assert " Total params: 3,051 (11.92 KB)" in printed and " Non-trainable params: 0 (0.00 B)" in printed
    assert "(5, 1)\nTrue\n" in printed
    assert printed.count("Epoch ") == 20 and "23/23 - " in printed and "val_loss: " in printed
    losses = ns["history"].history["loss"]
    assert len(losses) == 20 and losses[-1] < losses[0] / 5
    assert ns["history"].history["val_loss"][-1] < 0.5
    assert isinstance(ns["predictions"], np.ndarray) and ns["predictions"].dtype == np.float32


def test_classification_snippet():
    ns, printed = run(snippets()["classification"])
    assert "[[0. 0. 0. 1.]\n [1. 0. 0. 0.]]" in printed
    assert "(228, 4) [1. 1. 1.]" in printed
    history = ns["history"].history
    assert set(history) == {"loss", "accuracy"} and len(history["loss"]) == 40
    assert history["loss"][-1] < history["loss"][0] and history["accuracy"][-1] > 0.85
    assert ns["accuracy"] >= 0.85, printed
    assert ns["predicted_classes"].shape == (228,)


def test_cnn_snippet():
    ns, printed = run(snippets()["cnn"])
    rows = table_rows(printed)
    assert [(r[1], r[2]) for r in rows] == [
        ("(None, 127, 127, 16)", "208"), ("(None, 63, 63, 16)", "0"), ("(None, 62, 62, 32)", "2,080"),
        ("(None, 31, 31, 32)", "0"), ("(None, 30752)", "0"), ("(None, 100)", "3,075,300"), ("(None, 2)", "202")]
    assert [r[0].split(" ")[1] for r in rows] == ["(Conv2D)", "(MaxPooling2D)", "(Conv2D)", "(MaxPooling2D)",
                                                 "(Flatten)", "(Dense)", "(Dense)"]
    assert " Total params: 3,077,790 (11.74 MB)" in printed
    history = ns["history"].history
    assert history["loss"][-1] < history["loss"][0] / 5
    assert history["accuracy"][-1] >= 0.95, printed


@pytest.mark.parametrize("name", ["regression", "classification", "cnn"])
def test_snippets_import_nothing_but_tinygrad_edu(name):
    code = snippets()[name]
    imports = [line for line in code.splitlines() if line.startswith(("import ", "from "))]
    assert all("tinygrad_edu" in line or line == "import numpy as np" for line in imports), imports

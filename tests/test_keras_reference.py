"""The notes' Keras snippets on the real Keras (3.x, PyTorch backend) against tinygrad_edu.keras:
the same summary() table, the same outputs for the same weights, the same SGD steps.

Skipped where Keras is not installed. To run it: `pip install "keras>=3"` (pure Python; its
backend is the installed torch, selected by KERAS_BACKEND=torch, which this file sets).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
real_keras = pytest.importorskip("keras")

# Keras's torch backend calls NumPy's __array__ the pre-2.0 way: its warning, not ours or the user's.
# And the notes' snippets pass input_shape=, which Keras 3 accepts with a style warning.
pytestmark = [pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`/`input_dim` argument:UserWarning")]
if real_keras.backend.backend() != "torch":
    pytest.skip(f"Keras runs on {real_keras.backend.backend()}, these tests expect the torch backend",
                allow_module_level=True)

from tinygrad_edu import keras  # noqa: E402
from keras_docs import for_real_keras, run, snippets, until_fit  # noqa: E402
from test_keras_notes import table_rows  # noqa: E402


def summary_of(model) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines).splitlines()  # Keras 3 may hand over the table in one piece


def comparable(lines: list[str]) -> tuple:
    """The table without the names (numbered per session): (type, shape, params) rows, the
    totals, and the table's width."""
    rows = [(r[0][r[0].index("("):], r[1], r[2]) for r in table_rows("\n".join(lines))]
    totals = [line for line in lines if "params:" in line and "Optimizer" not in line]
    return rows, totals, {len(line) for line in lines if line[:1] in "┏┃┡│├└"}


def both(name: str):
    """The snippet's model built by each library (the code up to its first fit)."""
    code = until_fit(snippets()[name])
    ours, _ = run(code)
    theirs, _ = run(for_real_keras(code))
    return ours, theirs


@pytest.mark.parametrize("name", ["regression", "classification", "cnn"])
def test_summary_tables_agree(name):
    ours, theirs = both(name)
    assert comparable(summary_of(ours["model"])) == comparable(summary_of(theirs["model"]))


def extra_models(k):
    L = k.layers
    return [
        k.Sequential([k.Input(shape=(28, 28, 1)), L.Conv2D(8, 5, padding="same", activation="relu"),
                      L.BatchNormalization(), L.MaxPooling2D(), L.Conv2D(4, (3, 3), strides=2, padding="same"),
                      L.Dropout(0.25), L.Flatten(), L.Dense(10, activation="softmax")]),
        k.Sequential([k.Input(shape=(20,)), L.Dense(64, activation="relu"), L.BatchNormalization(),
                      L.Activation("relu"), L.Dense(1, activation="sigmoid")]),
    ]


def test_summary_tables_agree_with_batchnorm_dropout_and_strides():
    for ours, theirs in zip(extra_models(keras), extra_models(real_keras)):
        assert comparable(summary_of(ours)) == comparable(summary_of(theirs))


def test_same_weights_give_the_same_predictions():
    """Keras's weight layouts (Dense [in, out], Conv2D [kh, kw, in, out]) and Flatten's order."""
    for name, n in (("regression", 8), ("classification", 8), ("cnn", 4)):
        ours, theirs = both(name)
        x = ours["images" if name == "cnn" else "predictors"][:n]
        theirs["model"].set_weights(ours["model"].get_weights())
        np.testing.assert_allclose(ours["model"].predict(x, verbose=0), theirs["model"].predict(x, verbose=0),
                                   rtol=1e-4, atol=1e-5)
    for ours, theirs in zip(extra_models(keras), extra_models(real_keras)):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(5, *ours.input_shape[1:])).astype(np.float32)
        weights = [w + rng.uniform(0.5, 1.0, w.shape).astype(np.float32) * (w == 1) for w in ours.get_weights()]
        ours.set_weights(weights)
        theirs.set_weights(weights)
        np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,loss", [("regression", "mean_squared_error"),
                                       ("classification", "categorical_crossentropy")])
def test_sgd_steps_of_fit_agree(name, loss):
    ours, theirs = both(name)
    theirs["model"].set_weights(ours["model"].get_weights())
    x, y = ours["predictors"][:64], ours["target"][:64]
    losses = []
    for ns, k in ((ours, keras), (theirs, real_keras)):
        ns["model"].compile(optimizer=k.optimizers.SGD(learning_rate=0.05), loss=loss)
        history = ns["model"].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        losses.append(history.history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    for a, b in zip(ours["model"].get_weights(), theirs["model"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_keras_defaults_agree():
    for name in ("adam", "rmsprop", "sgd", "adagrad"):
        ours, theirs = keras.optimizers.get(name).get_config(), real_keras.optimizers.get(name).get_config()
        for key, value in ours.items():
            if key != "name":
                assert value == pytest.approx(theirs[key], rel=1e-6), (name, key)
    ours, theirs = keras.layers.BatchNormalization(), real_keras.layers.BatchNormalization()
    assert (ours.momentum, ours.epsilon) == (theirs.momentum, theirs.epsilon)
    np.testing.assert_array_equal(keras.utils.to_categorical([[1], [0], [3]]),
                                  real_keras.utils.to_categorical([[1], [0], [3]]))


def test_summary_after_fit_counts_the_optimizer_as_keras():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 1)).astype(np.float32)
    for make in (lambda k: "sgd", lambda k: k.optimizers.SGD(momentum=0.9), lambda k: "rmsprop",
                 lambda k: k.optimizers.RMSprop(momentum=0.5, centered=True), lambda k: "adagrad",
                 lambda k: "adam", lambda k: k.optimizers.Adam(amsgrad=True)):
        tables = []
        for k in (keras, real_keras):
            model = k.Sequential([k.Input(shape=(4,)), k.layers.Dense(3), k.layers.BatchNormalization(),
                                  k.layers.Dense(1)])
            model.compile(optimizer=make(k), loss="mse")
            model.fit(x, y, verbose=0)
            tables.append([line for line in summary_of(model) if "params:" in line])
        assert tables[0] == tables[1]

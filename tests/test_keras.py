"""tinygrad_edu.keras: layers against PyTorch (same weights, Keras's layouts), Keras's defaults,
errors, the training loop, callbacks, saving, to_categorical and mnist.load_data."""
from __future__ import annotations

import gzip
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import tinygrad_edu
from tinygrad_edu import keras
from tinygrad_edu.keras import layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seeded_data(n=64, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng


def test_import_tinygrad_edu_does_not_load_keras():
    code = ("import sys, tinygrad_edu; assert 'tinygrad_edu.keras' not in sys.modules; "
            "from tinygrad_edu import keras; assert keras.Sequential and 'tinygrad_edu.keras' in sys.modules; "
            "assert 'tqdm' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ROOT})


# ------------------------------------------------------------ layers against torch, Keras's layouts
def test_dense_kernel_is_in_by_units_and_matches_torch_linear():
    x, rng = seeded_data()
    layer = layers.Dense(3, activation="relu")
    out = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (6, 3) and bias.shape == (3,) and [v.path for v in layer.weights] == \
        [f"{layer.name}/kernel", f"{layer.name}/bias"]
    kernel, bias = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    layer.set_weights([kernel, bias])
    expected = torch.relu(torch.nn.functional.linear(torch.tensor(x), torch.tensor(kernel.T), torch.tensor(bias)))
    np.testing.assert_allclose(layer(x).detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert out.shape == (64, 3)


def test_keras_default_initialisers_glorot_uniform_and_zeros():
    keras.utils.set_random_seed(0)
    layer = layers.Dense(300)
    layer.build((None, 500))
    kernel, bias = layer.get_weights()
    limit = math.sqrt(6 / (500 + 300))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    assert kernel.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    assert not bias.any()


@pytest.mark.parametrize("padding,strides,size", [("valid", (1, 1), 9), ("same", (1, 1), 9), ("valid", (2, 2), 9),
                                             ("same", (2, 2), 9), ("same", (2, 2), 10)])
def test_conv2d_channels_last_matches_torch(padding, strides, size):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, size, size, 3)).astype(np.float32)  # NHWC
    layer = layers.Conv2D(4, (3, 3), strides=strides, padding=padding)
    y = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 3, 4) and bias.shape == (4,)
    nchw = torch.tensor(x).permute(0, 3, 1, 2)
    if padding == "same":  # TensorFlow's rule: the total padding, the odd pixel after
        total = max((math.ceil(size / strides[0]) - 1) * strides[0] + 3 - size, 0)
        nchw = torch.nn.functional.pad(nchw, (total // 2, total - total // 2) * 2)
    expected = torch.nn.functional.conv2d(nchw, torch.tensor(kernel).permute(3, 2, 0, 1), torch.tensor(bias),
                                          stride=strides).permute(0, 2, 3, 1)
    assert y.shape == tuple(expected.shape) == (2, *layer.output_shape[1:])
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_maxpool_flatten_keep_keras_order():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    pooled = layers.MaxPooling2D()(x).detach().numpy()
    np.testing.assert_array_equal(pooled, x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
    model = keras.Sequential([keras.Input(shape=(4, 4, 3)), layers.MaxPooling2D(), layers.Flatten()])
    np.testing.assert_array_equal(model.predict(x, verbose=0), pooled.reshape(2, -1))  # NHWC order, as Keras


def test_batch_normalization_matches_torch_with_keras_defaults():
    rng = np.random.default_rng(2)
    x = rng.normal(2.0, 3.0, size=(8, 5, 5, 4)).astype(np.float32)
    layer = layers.BatchNormalization()
    out = layer(x, training=True).detach().numpy()
    ref = torch.nn.BatchNorm2d(4, eps=1e-3, momentum=0.01)
    expected = ref(torch.tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-4, atol=1e-4)
    gamma, beta, mean, var = layer.get_weights()
    np.testing.assert_allclose(mean, ref.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(var, ref.running_var.numpy(), rtol=1e-5)
    assert [v.trainable for v in layer.weights] == [True, True, False, False] and layer.count_params() == 16
    np.testing.assert_allclose(layer(x).detach().numpy(), ((x - mean) / np.sqrt(var + 1e-3)), rtol=1e-4, atol=1e-4)


def test_dropout_only_in_training():
    x = np.ones((200, 50), np.float32)
    layer = layers.Dropout(0.5)
    np.testing.assert_array_equal(layer(x).detach().numpy(), x)
    dropped = layer(x, training=True).detach().numpy()
    assert set(np.unique(dropped)) == {0.0, 2.0} and 0.4 < (dropped == 0).mean() < 0.6


# ------------------------------------------------------------ the model
def small_model(units=3, activation="softmax"):
    return keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                             layers.Dense(units, activation=activation)])


def test_sequential_weights_summary_and_set_weights():
    model = small_model()
    assert [w.shape for w in model.get_weights()] == [(6, 8), (8,), (8, 3), (3,)]
    assert model.count_params() == 6 * 8 + 8 + 8 * 3 + 3 and len(model.layers) == 2
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == f'Model: "{model.name}"' and " Total params: 83 (332.00 B)" in lines
    assert len({len(line) for line in lines[1:-3]}) == 1  # a rectangular table
    with pytest.raises(ValueError, match="expecting 4 weights"):
        model.set_weights(model.get_weights()[:3])
    with pytest.raises(ValueError, match=r"weight shape \(6, 8\) is not compatible with provided weight shape "
                                         r"\(8, 6\)"):
        model.set_weights([np.zeros((8, 6))] + model.get_weights()[1:])


def test_unbuilt_model_builds_on_first_data():
    model = keras.Sequential()
    model.add(layers.Dense(4))
    lines = []
    model.summary(print_fn=lines.append)
    assert any("?" in line and "0 (unbuilt)" in line for line in lines)
    out = model.predict(np.zeros((5, 7)), verbose=0)
    assert out.shape == (5, 4) and model.built and model.get_weights()[0].shape == (7, 4)


def test_errors_say_what_keras_says():
    x, _ = seeded_data()
    model = small_model()
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model"):
        model.fit(x, np.zeros((64, 3)))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r'layer "dense\w*" is incompatible with the layer: expected axis -1 of '
                                         r"input shape to have value 6, but received input with shape \(64, 5\)"):
        model.fit(x[:, :5], np.zeros((64, 3)))
    with pytest.raises(ValueError, match=r"target.shape=\(32,\), output.shape=\(32, 3\).*sparse_categorical"):
        model.fit(x, np.zeros(64), verbose=0)
    cnn = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3. Full shape received: \(3, 28, 28\) \(add the "
                                         r"channel axis: x.reshape\(-1, 28, 28, 1\)\)"):
        cnn.predict(np.zeros((3, 28, 28)), verbose=0)
    with pytest.raises(ValueError, match="'x' sizes: 64\n'y' sizes: 10"):
        model.fit(x, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 'adamm'"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        model.compile(loss="mean_square_error")
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense"):
        layers.Dense(3, activaton="relu")
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=2"):
        keras.Sequential([keras.Input(shape=(6,)), layers.Conv2D(3, 3)])


def test_compile_uses_keras_default_hyperparameters():
    expected = {"adam": ("Adam", dict(lr=0.001, eps=1e-7, betas=(0.9, 0.999))),
                "rmsprop": ("RMSprop", dict(lr=0.001, alpha=0.9, eps=1e-7, momentum=0.0)),
                "sgd": ("SGD", dict(lr=0.01, momentum=0.0, nesterov=False))}
    x, _ = seeded_data()
    for name, (cls, hyper) in expected.items():
        model = small_model()
        model.compile(optimizer=name, loss="categorical_crossentropy")
        model.fit(x, keras.utils.to_categorical(np.arange(64) % 3), epochs=1, verbose=0)
        opt = model.optimizer.torch_optimizer
        assert type(opt).__name__ == cls
        group = opt.param_groups[0]
        assert {k: group[k] for k in hyper} == hyper
    assert keras.Sequential().optimizer is None


def test_one_step_of_fit_is_one_torch_sgd_step():
    """fit = zero_grad, forward, loss, backward, step: the same numbers as PyTorch's loop."""
    x, rng = seeded_data(32, 6)
    y = rng.normal(size=32).astype(np.float32)  # 1-D targets against [N, 1] outputs: no broadcasting
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    w = model.get_weights()
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for p, value in zip(net.parameters(), (w[0].T, w[1], w[2].T, w[3])):
            p.copy_(torch.tensor(value))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(torch.tensor(x)).squeeze(1), torch.tensor(y))
        loss.backward()
        opt.step()
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    got = model.get_weights()
    for ours, theirs in zip(got, (net[0].weight.T, net[0].bias, net[2].weight.T, net[2].bias)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert history.history["loss"][-1] == pytest.approx(
        float(((model.predict(x, verbose=0)[:, 0] - y) ** 2).mean()), rel=0.2)


@pytest.mark.parametrize("activation,loss,labels", [
    ("softmax", "categorical_crossentropy", "onehot"), ("softmax", "sparse_categorical_crossentropy", "int"),
    ("sigmoid", "binary_crossentropy", "binary")])
def test_fused_and_unfused_losses_agree(activation, loss, labels):
    """The logits shortcut (softmax/sigmoid + cross-entropy) gives Keras's probability formula."""
    x, rng = seeded_data(40, 6)
    units = 1 if labels == "binary" else 3
    y = {"onehot": keras.utils.to_categorical(rng.integers(0, 3, 40), 3), "int": rng.integers(0, 3, 40),
         "binary": rng.integers(0, 2, 40).astype(np.float32)}[labels]
    model = small_model(units, activation)
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    fused_loss, accuracy = model.evaluate(x, y, verbose=0)
    model.compile(optimizer="sgd", loss=keras.losses.get(loss), metrics=["accuracy"])
    model.fused_activation = lambda: None  # force the probability path
    plain_loss, plain_accuracy = model.evaluate(x, y, verbose=0)
    assert fused_loss == pytest.approx(plain_loss, rel=1e-5) and accuracy == plain_accuracy
    p = model.predict(x, verbose=0)
    predicted = (p[:, 0] > 0.5) if labels == "binary" else p.argmax(1)
    truth = {"onehot": y.argmax(1) if labels == "onehot" else None, "int": y, "binary": y}[labels]
    assert accuracy == pytest.approx((predicted == truth).mean())


def test_history_validation_metrics_and_plot(tmp_path, capsys):
    x, rng = seeded_data(300, 6)
    y = keras.utils.to_categorical((x[:, 0] > 0).astype(int) + (x[:, 1] > 0))
    model = small_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "mae"])
    history = model.fit(x, y, epochs=3, validation_split=0.2, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 3 and "Epoch 3/3\n8/8 - " in out
    assert " - accuracy: " in out and " - val_mae: " in out
    assert sorted(history.history) == ["accuracy", "loss", "mae", "val_accuracy", "val_loss", "val_mae"]
    assert history.epoch == [0, 1, 2] and history.params == {"verbose": 2, "epochs": 3, "steps": 8}
    assert model.history is history
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4:] == [" Total params: 251 (1004.00 B)", " Trainable params: 83 (332.00 B)",
                          " Non-trainable params: 0 (0.00 B)", " Optimizer params: 168 (672.00 B)"]  # 2 + 2 x 83
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    pytest.importorskip("matplotlib")
    from tinygrad_edu.viz import plot_history
    plot_history(history.history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_tensor_inputs_and_progress_bar(capsys):
    pytest.importorskip("tqdm")
    x, rng = seeded_data(96, 6)
    y = rng.integers(0, 3, 96)
    model = small_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(tinygrad_edu.tensor(x), tinygrad_edu.tensor(y), epochs=2, batch_size=32)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "3/3 ━━━━━━━━━━━━━━━━━━━━ " in out and "ms/step - accuracy: " in out
    predictions = model.predict(tinygrad_edu.tensor(x), verbose=0)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (96, 3)
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(results) == {"loss", "accuracy"}


# ------------------------------------------------------------ callbacks and saving
class FakeModel:
    def __init__(self):
        self.weights, self.stop_training = [np.zeros(1)], False

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = weights


def test_early_stopping_follows_keras_rules():
    stopper, model = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True), FakeModel()
    stopper.set_model(model)
    stopper.on_train_begin()
    for epoch, val_loss in enumerate([1.0, 0.5, 0.6, 0.7, 0.4]):
        model.weights = [np.array([float(epoch)])]
        stopper.on_epoch_end(epoch, {"val_loss": val_loss})
        if model.stop_training:
            break
    assert epoch == 3 and stopper.stopped_epoch == 3 and stopper.best == 0.5
    stopper.on_train_end()
    assert model.weights[0][0] == 1.0  # the weights of epoch 2 (index 1), the best
    auto_max = keras.callbacks.EarlyStopping(monitor="val_accuracy")
    assert auto_max._direction() == "max"


def test_early_stopping_in_fit_restores_best_weights():
    x, rng = seeded_data(64, 6)
    y = rng.normal(size=64)
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=2.5), loss="mse")  # diverges after epoch 1
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=20, batch_size=64, callbacks=[stopper], verbose=0)
    assert len(history.history["loss"]) < 20
    best = int(np.argmin(history.history["loss"]))
    assert stopper.best_epoch == best


def test_model_checkpoint_and_load_model(tmp_path):
    x, rng = seeded_data(120, 6)
    y = keras.utils.to_categorical(rng.integers(0, 3, 120))
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"), layers.Dropout(0.1),
                              layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "ep{epoch:02d}.safetensors"), monitor="val_loss")
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.weights.safetensors"), save_best_only=True,
                                           save_weights_only=True)
    model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[every, best], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.weights.safetensors", "ep01.safetensors",
                                                         "ep02.safetensors", "ep03.safetensors"]
    loaded = keras.models.load_model(tmp_path / "ep03.safetensors")
    assert [type(l).__name__ for l in loaded.layers] == ["Dense", "Dropout", "BatchNormalization", "Dense"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    other = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"), layers.Dropout(0.1),
                              layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    other.load_weights(tmp_path / "best.weights.safetensors")
    assert best.best == pytest.approx(min(model.history.history["val_loss"]))
    with pytest.raises(ValueError, match="weights only"):
        keras.models.load_model(tmp_path / "best.weights.safetensors")


def test_learning_rate_scheduler_sets_the_optimizer_rate():
    x, rng = seeded_data(64, 6)
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5 ** epoch)
    history = model.fit(x, rng.integers(0, 3, 64), epochs=3, callbacks=[schedule], verbose=0)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.0025])
    assert model.optimizer.torch_optimizer.param_groups[0]["lr"] == pytest.approx(0.0025)


# ------------------------------------------------------------ utils and datasets
def test_to_categorical_as_keras():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    assert keras.utils.to_categorical(np.array([[1], [2]])).shape == (2, 3)
    assert keras.utils.to_categorical([1], num_classes=5).tolist() == [[0, 1, 0, 0, 0]]
    assert keras.utils.to_categorical([0, 1]).dtype == np.float64
    with pytest.raises(ValueError, match="label -1 is not a class index"):
        keras.utils.to_categorical([0, -1])
    with pytest.raises(ValueError, match="label 3 is not a class index in 0..2"):
        keras.utils.to_categorical([3], num_classes=3)


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def test_mnist_load_data_reads_our_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 5), ("t10k", 3)):
        arrays[split] = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", arrays[split][0])
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", arrays[split][1])
    monkeypatch.setenv("TINYGRAD_EDU_MNIST", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert x_train.dtype == y_train.dtype == np.uint8 and x_train.shape == (5, 28, 28) and y_test.shape == (3,)
    np.testing.assert_array_equal(x_test, arrays["t10k"][0])
    np.testing.assert_array_equal(y_train, arrays["train"][1])
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (a, b), _ = keras.datasets.mnist.load_data(str(tmp_path / "mnist.npz"))
    np.testing.assert_array_equal(a, x_train)
    monkeypatch.setenv("TINYGRAD_EDU_MNIST", str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="Dataset not found: no train-images-idx3-ubyte"):
        keras.datasets.mnist.load_data()


@pytest.mark.parametrize("name,limit_or_std", [("glorot_uniform", math.sqrt(6 / 500)), ("he_uniform", math.sqrt(6 / 200)),
                                               ("glorot_normal", math.sqrt(2 / 500)), ("he_normal", math.sqrt(2 / 200))])
def test_kernel_initializers_by_keras_name(name, limit_or_std):
    keras.utils.set_random_seed(1)
    layer = layers.Dense(300, kernel_initializer=name)
    layer.build((None, 200))
    kernel = layer.get_weights()[0]
    if name.endswith("uniform"):
        assert np.abs(kernel).max() <= limit_or_std and kernel.std() == pytest.approx(limit_or_std / math.sqrt(3),
                                                                                      rel=0.03)
    else:  # truncated at 2 std of the underlying normal, rescaled to the wanted std
        assert kernel.std() == pytest.approx(limit_or_std, rel=0.03)
        assert np.abs(kernel).max() <= 2 * limit_or_std / 0.87962566103423978 + 1e-6
    assert keras.activations.get("relu") is keras.activations.relu

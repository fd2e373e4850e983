"""The course notes' Keras MLP and CNN on MNIST, trained with `fit` (tinygrad_edu.keras).

    python examples/keras_mnist.py [--data-dir DIR] [--model mlp|cnn|both]

The same models, data and recipe as examples/train_mnist.py and train_mnist_cnn.py, written
the Keras way: `Sequential([...])`, `compile`, `fit`, `evaluate`. `fit` runs the loop those
scripts write by hand (tinygrad_edu/keras/training.py shows it), so an epoch should take
about as long. Recipe: Adam (Keras's defaults, learning rate 1e-3), batch size 64, the
learning rate annealed by a cosine per epoch (LearningRateScheduler): with seed 0 the test
accuracy after epochs 1 to 5 was 96.81, 96.06, 97.53, 98.07, 98.43% (MLP) and 98.37, 98.53,
98.71, 99.23, 99.29% (CNN). Prints the seconds per epoch (training, and with the validation
pass) and the test accuracy.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from tinygrad_edu import keras
from tinygrad_edu.keras.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D


def mlp_model() -> keras.Sequential:
    """The notes' MLP, 784-512-256-128-64-10 with ReLU, softmax out."""
    return keras.Sequential([Input(shape=(784,)), Dense(512, activation="relu"), Dense(256, activation="relu"),
                             Dense(128, activation="relu"), Dense(64, activation="relu"),
                             Dense(10, activation="softmax")])


def cnn_model() -> keras.Sequential:
    """The notes' Keras CNN: Conv2D(16), MaxPooling2D, Conv2D(32), MaxPooling2D, Flatten,
    Dense(100), Dense(10); 5x5 kernels with 'same' padding, as the notes' PyTorch CNN."""
    return keras.Sequential([Input(shape=(28, 28, 1)),
                             Conv2D(16, kernel_size=(5, 5), padding="same", activation="relu"),
                             MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
                             Conv2D(32, kernel_size=(5, 5), padding="same", activation="relu"),
                             MaxPooling2D(pool_size=(2, 2)),
                             Flatten(),
                             Dense(100, activation="relu"),
                             Dense(10, activation="softmax")])


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each epoch's training (to the last batch) and of the whole epoch (with validation)."""

    def on_train_begin(self, logs=None):
        self.train_seconds, self.epoch_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last_batch = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds.append(self.last_batch - self.start)
        self.epoch_seconds.append(time.perf_counter() - self.start)


def load_mnist(data_dir: str | None, flat: bool):
    """The Keras course's preparation: pixels / 255, one-hot labels (to_categorical)."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(data_dir or "mnist.npz")
    shape = (-1, 784) if flat else (-1, 28, 28, 1)
    x_train = x_train.reshape(shape).astype("float32") / 255
    x_test = x_test.reshape(shape).astype("float32") / 255
    return (x_train, keras.utils.to_categorical(y_train)), (x_test, keras.utils.to_categorical(y_test))


def train(name: str, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir, flat=name == "mlp")
    if args.limit_train:
        x_train, y_train = x_train[:args.limit_train], y_train[:args.limit_train]
    model = mlp_model() if name == "mlp" else cnn_model()
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    cosine = lambda epoch, lr: 1e-3 * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))
    timer = EpochTimer()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_test, y_test), validation_batch_size=100, verbose=args.verbose,
                        callbacks=[keras.callbacks.LearningRateScheduler(cosine), timer])
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=100, verbose=0)
    print(f"{name}: test accuracy {100 * accuracy:.2f}%, test loss {loss:.4f}; seconds per epoch: training "
          f"{', '.join(f'{s:.1f}' for s in timer.train_seconds)} (median {np.median(timer.train_seconds):.1f}), "
          f"with validation {', '.join(f'{s:.1f}' for s in timer.epoch_seconds)}", flush=True)
    return {"accuracy": accuracy, "history": history.history, "train_seconds": timer.train_seconds}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=("mlp", "cnn", "both"), default="both", help="which network to train")
    p.add_argument("--data-dir", default=None,
                   help="folder of the MNIST IDX files (None: $TINYGRAD_EDU_MNIST, else ~/.cache/tinygrad_edu/mnist)")
    p.add_argument("--epochs", type=int, default=5, help="epochs of fit()")
    p.add_argument("--batch-size", type=int, default=64, help="fit()'s batch_size")
    p.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="fit's verbose (2: a line per epoch)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    args = p.parse_args(argv)
    names = ("mlp", "cnn") if args.model == "both" else (args.model,)
    return {name: train(name, args) for name in names}


if __name__ == "__main__":
    main()

"""tinygrad_edu.keras: Keras 3's API over our engine (nn, optim, utils.data): no second engine.

    from tinygrad_edu import keras
    model = keras.Sequential([keras.Input(shape=(8,)),
                              keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=10)        # the hand-written loop: see training.py
    model.summary(); model.predict(x[:3])

Where things are: layers/ (Dense, Conv2D, ... each holding one of our nn modules),
sequential.py (the model's structure), training.py (compile, fit, evaluate, predict),
losses.py, metrics.py, optimizers.py, callbacks.py (+ progbar.py), summary.py, utils.py
(to_categorical), datasets/mnist.py. docs/keras.md shows the course notes' snippets.
"""
from . import activations, callbacks, datasets, initializers, layers, losses, metrics, models, optimizers, utils
from .layers import Input, Layer
from .sequential import Sequential, load_model
from .utils import set_random_seed, to_categorical

__all__ = ["activations", "callbacks", "datasets", "initializers", "layers", "losses", "metrics", "models",
           "optimizers", "utils", "Input", "Layer", "Sequential", "load_model", "set_random_seed", "to_categorical"]

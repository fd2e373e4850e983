"""Keras's optimizers (keras.optimizers.Adam(...)) with Keras's defaults, run by our optim.

A Keras optimizer is created before the model's weights exist; ours keeps the hyperparameters
and creates the matching `tinygrad_edu.optim` optimizer when `fit` first needs it (`build`).
`learning_rate` can be read and set at any time (LearningRateScheduler does).

Keras's defaults, and where the update differs from PyTorch's at equal settings:
- SGD(learning_rate=0.01, momentum=0.0, nesterov=False): the same updates.
- RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False): Keras
  divides by sqrt(v + eps), PyTorch (and we) by sqrt(v) + eps.
- Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False): Keras adds
  eps to sqrt(v) before the bias correction, PyTorch after: Keras's eps is PyTorch's
  eps / sqrt(1 - beta_2^t). The differences matter only for gradients near eps.
- Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7).
"""
from __future__ import annotations

from .. import optim


class Optimizer:
    """The hyperparameters, then (after build) the tinygrad_edu.optim optimizer doing the steps."""

    def __init__(self, learning_rate: float, name: str):
        self._learning_rate, self.name, self.torch_optimizer = float(learning_rate), name, None

    def _make(self, params: list):
        raise NotImplementedError

    def build(self, params: list) -> None:
        self.torch_optimizer = self._make(params)

    @property
    def built(self) -> bool:
        return self.torch_optimizer is not None

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = float(value)
        if self.torch_optimizer is not None:
            for group in self.torch_optimizer.param_groups:
                group["lr"] = self._learning_rate

    @property
    def iterations(self) -> int:
        """Steps taken so far (Keras's optimizer.iterations)."""
        return getattr(self, "_iterations", 0)

    def zero_grad(self) -> None:
        self.torch_optimizer.zero_grad()

    def step(self) -> None:
        self.torch_optimizer.step()
        self._iterations = self.iterations + 1

    def slots(self) -> int:
        """State tensors per weight (Adam: m and v), as Keras counts them."""
        return 0

    def count_params(self, trainable: int) -> int:
        """Keras's "Optimizer params" of summary(): iterations and learning rate, then the slots."""
        return 2 + self.slots() * trainable

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self._learning_rate}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items() if k != "name")
        return f"<{type(self).__name__} {args}>"


class SGD(Optimizer):
    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, name: str = "SGD"):
        super().__init__(learning_rate, name)
        self.momentum, self.nesterov = momentum, nesterov

    def slots(self) -> int:
        return int(self.momentum > 0)

    def _make(self, params):
        return optim.SGD(params, lr=self.learning_rate, momentum=self.momentum, nesterov=self.nesterov)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, name: str = "rmsprop"):
        super().__init__(learning_rate, name)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def slots(self) -> int:
        return 1 + int(self.momentum > 0) + int(self.centered)

    def _make(self, params):
        return optim.RMSprop(params, lr=self.learning_rate, alpha=self.rho, eps=self.epsilon, momentum=self.momentum,
                             centered=self.centered)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adam(Optimizer):
    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, name: str = "adam"):
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def slots(self) -> int:
        return 3 if self.amsgrad else 2

    def _make(self, params):
        return optim.Adam(params, lr=self.learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                          amsgrad=self.amsgrad)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class Adagrad(Optimizer):
    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 name: str = "adagrad"):
        super().__init__(learning_rate, name)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def slots(self) -> int:
        return 1

    def _make(self, params):
        return optim.Adagrad(params, lr=self.learning_rate, initial_accumulator_value=self.initial_accumulator_value,
                             eps=self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad}


def get(identifier) -> Optimizer:
    """'adam', 'sgd', 'rmsprop', 'adagrad' (Keras's defaults) or an Optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, optim.Optimizer):
        raise TypeError("compile(optimizer=...) takes a Keras optimizer ('adam' or keras.optimizers.Adam(...)), "
                        "not a tinygrad_edu.optim optimizer (that one needs the parameters, which Keras builds)")
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. Known names: "
                     f"{', '.join(_BY_NAME)}")

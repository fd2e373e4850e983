"""Poisson(rate): counts k = 0, 1, 2, ... with probability rate^k exp(-rate) / k!."""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..random import _generator
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lgamma


class Poisson(Distribution):
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return Tensor._make(np.floor(self.rate.detach().numpy()))

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=Size()) -> Tensor:
        with grad_mode.no_grad():
            shape = tuple(self._extended_shape(sample_shape))
            lam = self.rate.detach().numpy()
            return Tensor._make(_generator(None).poisson(lam, size=shape).astype(lam.dtype))

    def log_prob(self, value: Tensor) -> Tensor:
        """k log(rate) - rate - log(k!), with 0 log 0 = 0 (PyTorch's xlogy)."""
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        k_log_rate = (value * rate.log()).masked_fill(value == 0, 0.0)
        return k_log_rate - rate - lgamma(value + 1)

"""Weibull(scale, concentration): density (k/s) (x/s)^(k-1) exp(-(x/s)^k) on x > 0.

PyTorch builds it as a transformed Exponential(1); the formulas here are the same distribution."""
from __future__ import annotations

from .. import creation
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, euler_constant, lgamma


class Weibull(Distribution):
    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        super().__init__(self.scale.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.scale * lgamma(1 + self.concentration.reciprocal()).exp()

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self) -> Tensor:
        k = self.concentration
        return self.scale ** 2 * (lgamma(1 + 2 / k).exp() - (2 * lgamma(1 + k.reciprocal())).exp())

    def rsample(self, sample_shape=Size()) -> Tensor:
        u = creation.rand(*self._extended_shape(sample_shape), dtype=self.scale.dtype)
        return self.scale * (-(1 - u).log()) ** self.concentration.reciprocal()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        k, z = self.concentration, value / self.scale
        return (k / self.scale).log() + (k - 1) * z.log() - z ** k

    def entropy(self) -> Tensor:
        k = self.concentration
        return euler_constant * (1 - k.reciprocal()) + (self.scale / k).log() + 1

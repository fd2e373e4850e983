"""Bernoulli(probs=None, logits=None): 1 with probability p, else 0 (one of probs, logits)."""
from __future__ import annotations

from .. import creation
from ..autograd import grad_mode
from ..nn import functional as F
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, logits_to_probs, probs_to_logits


class Bernoulli(Distribution):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.__dict__["probs"],) = broadcast_all(probs)
            shape = self.__dict__["probs"].shape
        else:
            (self.__dict__["logits"],) = broadcast_all(logits)
            shape = self.__dict__["logits"].shape
        super().__init__(shape, validate_args=validate_args)

    @property
    def probs(self) -> Tensor:
        if "probs" not in self.__dict__:
            self.__dict__["probs"] = logits_to_probs(self.__dict__["logits"], is_binary=True)
        return self.__dict__["probs"]

    @property
    def logits(self) -> Tensor:
        if "logits" not in self.__dict__:
            self.__dict__["logits"] = probs_to_logits(self.__dict__["probs"], is_binary=True)
        return self.__dict__["logits"]

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()) -> Tensor:
        with grad_mode.no_grad():
            p = self.probs.expand(*self._extended_shape(sample_shape))
            return (creation.rand(*p.shape, dtype=p.dtype) < p).to(p.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

"""Categorical(probs=None, logits=None): one of K classes (the last dim); probs are normalised to sum to 1."""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..random import _generator
from ..tensor import Size, Tensor, tensor
from . import constraints
from .distribution import Distribution
from .utils import logits_to_probs, probs_to_logits


class Categorical(Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real}  # logits: IndependentConstraint
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        if not isinstance(given, Tensor) or given.dim() < 1:
            raise ValueError("`probs` parameter must be at least one-dimensional." if probs is not None
                             else "`logits` parameter must be at least one-dimensional.")
        if probs is not None:
            self.__dict__["probs"] = probs / probs.sum(-1, keepdim=True)
        else:
            self.__dict__["logits"] = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._num_events = given.shape[-1]
        super().__init__(given.shape[:-1], validate_args=validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def probs(self) -> Tensor:
        if "probs" not in self.__dict__:
            self.__dict__["probs"] = logits_to_probs(self.__dict__["logits"])
        return self.__dict__["probs"]

    @property
    def logits(self) -> Tensor:
        if "logits" not in self.__dict__:
            self.__dict__["logits"] = probs_to_logits(self.__dict__["probs"])
        return self.__dict__["logits"]

    @property
    def param_shape(self) -> Size:
        return self.probs.shape

    @property
    def mean(self) -> Tensor:
        return tensor(np.full(tuple(self._batch_shape), np.nan, self.probs.dtype.np))

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, sample_shape=Size()) -> Tensor:
        """Class indices (int64) of shape sample_shape + batch_shape, by inverting each row's CDF."""
        with grad_mode.no_grad():
            p = self.probs.detach().numpy().reshape(-1, self._num_events)
            n = int(np.prod(tuple(sample_shape), dtype=np.int64))
            u = _generator(None).random((n, p.shape[0], 1))
            cdf = np.cumsum(p, axis=-1)
            idx = np.minimum((u > cdf[None]).sum(-1), self._num_events - 1)
            return Tensor._make(idx.astype(np.int64).reshape(tuple(sample_shape) + tuple(self._batch_shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        """logits[..., value], with value broadcast against batch_shape."""
        if self._validate_args:
            self._validate_sample(value)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self._batch_shape))
        logits = self.logits.expand(*shape, self._num_events).reshape(-1, self._num_events)
        v = np.broadcast_to(value.detach().numpy().astype(np.int64), shape).reshape(-1)
        return logits[np.arange(len(v)), v].reshape(*shape)

    def entropy(self) -> Tensor:
        min_real = float(np.finfo(self.logits.dtype.np).min)
        return -(self.logits.clamp(min=min_real) * self.probs).sum(-1)

    def __repr__(self) -> str:
        name = "probs" if "probs" in self.__dict__ else "logits"
        return f"Categorical({name}: {self.__dict__[name].size()})"

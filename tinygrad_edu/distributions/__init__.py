"""`tinygrad_edu.distributions`, mirroring torch.distributions: Normal, Bernoulli, Categorical,
Exponential, Weibull, Poisson, Uniform (one module each, as PyTorch's, so that
`torch.distributions.exponential.Exponential` also works)."""
from . import (bernoulli, categorical, constraints, distribution, exponential, normal, poisson, uniform,
               utils, weibull)
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution, set_default_validate_args
from .exponential import Exponential
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform
from .weibull import Weibull

__all__ = ["Bernoulli", "Categorical", "Distribution", "Exponential", "Normal", "Poisson", "Uniform", "Weibull",
           "constraints", "set_default_validate_args"]

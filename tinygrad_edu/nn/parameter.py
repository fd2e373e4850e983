"""`nn.Parameter`: a Tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True by default, as `torch.nn.Parameter`.

    Assigning one to a Module attribute registers it (`module.parameters()` then yields it).
    It shares memory with `data`, as PyTorch's does. Ops on a Parameter return plain Tensors.
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = Tensor._make(np.empty((0,), np.float32))
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        Tensor._init(self, data._data, False)
        self._version = data._version  # same memory, so the same version counter
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) not in memo:
            p = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
            if self._grad is not None:
                p._grad = Tensor._make(self._grad._data.copy())
            memo[id(self)] = p
        return memo[id(self)]

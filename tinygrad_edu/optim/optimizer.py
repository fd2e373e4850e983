"""`Optimizer`: the base class of every optimizer, as torch.optim.Optimizer.

An optimizer holds `param_groups` -- a list of dicts, each with its `params` (a list of
tensors) and every option (lr, momentum, ...) filled in from the defaults -- and `state`, a
dict from parameter to that parameter's buffers (momentum, running averages, step count).
`step()` updates each parameter that has a `.grad`, in place, through one C kernel per
parameter (`backend.kernels.<rule>_step`, one pass over memory; see csrc/optim.c).

Differences from PyTorch: the options `foreach`, `fused`, `capturable` and `differentiable`
do not exist (there is one CPU implementation, and step() is never differentiable); named
parameters (`(name, tensor)` pairs) and the hook registries are not supported;
`load_state_dict` copies the loaded buffers instead of sharing them.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]

# How PyTorch words each option in "Invalid ... value" errors.
_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_nonnegative(**options: float) -> None:
    """Raise PyTorch's ValueError for the first negative (or NaN) option, in the order given."""
    for name, value in options.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_LABELS.get(name, name + ' value')}: {value}")


def _zeros(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state buffer for `p`: same shape and dtype, C-contiguous (the kernels want it dense)."""
    return Tensor._make(np.full(p._data.shape, fill, p._data.dtype))


def _step_tensor(value: float = 0.0) -> Tensor:
    """The `step` state entry: a 0-d float32 tensor, as PyTorch keeps it."""
    return Tensor._make(np.array(value, np.float32))


def _next_step(state: dict[str, Any]) -> float:
    """`state["step"] += 1` in place (the 0-d float32 tensor PyTorch keeps) and return the new count."""
    step = state["step"]._data
    step[()] = step.item() + 1.0  # ~15x cheaper than `step += 1` on a 0-d array, same float32 result
    return step.item()


class Optimizer:
    """Base class: holds `param_groups` and `state`; subclasses implement `step()`."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got tinygrad_edu.Tensor")
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the missing ones from the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if len({id(p) for p in param_group["params"]}) != len(param_group["params"]):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          UserWarning, stacklevel=3)
        ids = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in ids for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                if g._data.flags.writeable:
                    g.zero_()
                else:  # e.g. a broadcast view assigned by hand: give it its own memory
                    g._data = np.zeros_like(g._data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; `closure` re-evaluates the loss first."""
        raise NotImplementedError

    @staticmethod
    def _eval_closure(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with grad_mode.enable_grad():  # as PyTorch: the closure calls backward()
            return closure()

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}, as PyTorch.

        Parameters are numbered in the order of the groups; the buffers are the optimizer's own
        tensors (not copies), as in PyTorch: `save` it, or copy it before stepping further."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned (possibly through save/load, or from another
        optimizer of the same class over parameters of the same shapes)."""
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = id_map.get(key)
            state[param if param is not None else key] = (
                {k: self._load_buffer(param, k, v) for k, v in value.items()} if param is not None else value)
        self.state = state
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
        self.param_groups = saved_groups

    @staticmethod
    def _load_buffer(param: Tensor, key: str, value: Any) -> Any:
        """A private, dense copy of a loaded buffer in the parameter's dtype (`step` stays float32)."""
        if key == "step":
            return _step_tensor(float(value.item() if isinstance(value, Tensor) else value))
        if not isinstance(value, Tensor):
            return value
        if value.shape != param.shape:
            raise ValueError(f"loaded state {key!r} has shape {list(value.shape)} but its parameter has shape "
                             f"{list(param.shape)}")
        return Tensor._make(np.array(value._data, dtype=param._data.dtype, order="C"))

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

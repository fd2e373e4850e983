"""Tensor hooks, as PyTorch's: `register_hook` and `register_post_accumulate_grad_hook`.

* `t.register_hook(hook)`: `hook(grad)` runs when the gradient with respect to `t` has been
  computed, before it is used; a Tensor it returns replaces the gradient. On a leaf it runs
  before the gradient is added into `.grad`; on a non-leaf before `t.grad_fn` runs (and before
  `retain_grad` stores it, so `.grad` shows the replaced gradient, as PyTorch since 2.0).
* `t.register_post_accumulate_grad_hook(hook)` (leaves only): `hook(t)` runs right after the
  gradient was added into `t.grad`, during `backward()` -- the moment a parameter's gradient
  is ready, which is what `DistributedDataParallel` listens for.

The hooks of a tensor live in a dict on the tensor (a non-leaf's dict is also kept by its
`grad_fn`, so the hook runs even when the tensor itself is gone, as PyTorch's do). The backward
engine calls `run_tensor_pre_hooks` and `run_post_accumulate_grad_hooks`; nothing else here
touches the engine.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from .function import AccumulateGrad, Node


class RemovableHandle:
    """`torch.utils.hooks.RemovableHandle`: `.remove()` unregisters the hook (also as a `with` block)."""

    next_id = 0

    def __init__(self, hooks_dict: dict):
        self.hooks_dict = hooks_dict
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


tensor_hooks_registered = False  # until the first one: till then backward() may skip looking for them


def register_hook(t, hook: Callable) -> RemovableHandle:
    """`Tensor.register_hook`: `hook(grad) -> Tensor or None`, run before the gradient is used."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    global tensor_hooks_registered
    tensor_hooks_registered = True
    if t.__dict__.get("_backward_hooks") is None:
        t._backward_hooks = OrderedDict()
        if t.grad_fn is not None:  # the node keeps the dict: hooks outlive the tensor, as PyTorch's
            node = t.grad_fn
            if getattr(node, "_tensor_pre_hooks", None) is None:
                node._tensor_pre_hooks = {}
            node._tensor_pre_hooks[t._output_nr] = t._backward_hooks
    handle = RemovableHandle(t._backward_hooks)
    t._backward_hooks[handle.id] = hook
    return handle


post_accumulate_grad_hooks_registered = False  # until the first one: the engine then looks for them


def register_post_accumulate_grad_hook(t, hook: Callable) -> RemovableHandle:
    """`Tensor.register_post_accumulate_grad_hook`: `hook(tensor) -> None`, run after `.grad` was updated."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    global post_accumulate_grad_hooks_registered
    post_accumulate_grad_hooks_registered = True
    if t.__dict__.get("_post_accumulate_grad_hooks") is None:
        t._post_accumulate_grad_hooks = OrderedDict()
    handle = RemovableHandle(t._post_accumulate_grad_hooks)
    t._post_accumulate_grad_hooks[handle.id] = hook
    return handle


def any_registered() -> bool:
    """Whether a hook of either kind was ever registered (else the engine need not look for them)."""
    return tensor_hooks_registered or post_accumulate_grad_hooks_registered


def _pre_hooks_of(node: Node) -> dict | None:
    """output_nr -> the hooks dict of the tensor whose gradient arrives there (None: no hooks)."""
    if isinstance(node, AccumulateGrad):
        hooks = node.variable.__dict__.get("_backward_hooks")
        return {0: hooks} if hooks else None
    return getattr(node, "_tensor_pre_hooks", None)


def run_tensor_pre_hooks(node: Node, grads: list) -> None:
    """Pass each gradient arriving at `node` through its tensor's hooks, in registration order."""
    by_output = _pre_hooks_of(node)
    if not by_output:
        return
    for nr, hooks in by_output.items():
        for hook in list(hooks.values()):
            grad = grads[nr]
            if grad is None:
                break
            result = hook(grad)
            if result is None:
                continue
            if not isinstance(result, type(grad)):  # grad is a Tensor
                raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
            name = getattr(hook, "__name__", type(hook).__name__)
            if result.shape != grad.shape:
                raise RuntimeError(f"hook '{name}' has changed the size of value")
            if result.dtype != grad.dtype:
                raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.type()} got "
                                   f"{result.type()})")
            grads[nr] = result


def run_post_accumulate_grad_hooks(t) -> None:
    """Call `hook(t)` for each post-accumulate-grad hook of the leaf `t` (after `.grad` was updated)."""
    hooks = t.__dict__.get("_post_accumulate_grad_hooks")
    if not hooks:
        return
    for hook in list(hooks.values()):
        result = hook(t)
        if result is not None:
            raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")


def hooked_leaves_when_ready(order: list[Node]) -> list[Node]:
    """Move the AccumulateGrad of each leaf with a post-accumulate-grad hook to just after the last
    node that sends it a gradient.

    PyTorch runs a leaf's node as soon as its gradient is complete, so the hook -- which
    DistributedDataParallel uses to start averaging a gradient -- runs from the last layer
    backwards while the rest of the pass still goes on. Only such leaves move (no sum changes,
    and graphs without these hooks keep the order the trace shows).
    """
    if not post_accumulate_grad_hooks_registered:  # the usual case: nothing to look for
        return order
    last_sender = {}
    for i, node in enumerate(order):
        for child, _ in node.next_functions:
            if type(child) is AccumulateGrad and child.variable.__dict__.get("_post_accumulate_grad_hooks"):
                last_sender[child] = i
    if not last_sender:
        return order
    after: dict[int, list] = {}
    for leaf, i in last_sender.items():
        after.setdefault(i, []).append(leaf)
    moved = []
    for i, node in enumerate(order):
        if node not in last_sender:
            moved.append(node)
        moved.extend(after.get(i, ()))
    return moved

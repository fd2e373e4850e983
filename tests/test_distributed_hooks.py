"""Tensor.register_hook and register_post_accumulate_grad_hook against torch (DDP's engine hooks).

Each scenario is one function of the library, run on tinygrad_edu and on torch; the records
it returns (gradients, the order hooks fired in, error texts) must be equal.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_edu as tg


def both(scenario):
    ours, theirs = scenario(tg), scenario(torch)
    assert ours == theirs
    return ours


def values(t):
    return None if t is None else np.round(t.detach().numpy().astype(np.float64), 5).tolist()


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 -- the type and text are what is compared
        return type(e).__name__, str(e)
    return None


def test_leaf_hook_replaces_the_gradient_before_accumulation():
    def scenario(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        seen = []
        x.register_hook(lambda g: seen.append(values(g)))  # None: gradient unchanged
        x.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: seen.append(values(g)) or g + 1)  # sees the previous hook's result
        (x * x).sum().backward()
        (x * 2).sum().backward()  # accumulation adds the hooked gradient
        return seen, values(x.grad)
    both(scenario)


def test_non_leaf_hook_runs_before_retain_grad_and_the_node():
    def scenario(lib):
        a = lib.tensor([1.0, -2.0], requires_grad=True)
        b = a * 3
        b.retain_grad()
        b.register_hook(lambda g: g * 10)  # registered after retain_grad, yet .grad shows its result
        (b * b).sum().backward()
        return values(b.grad), values(a.grad)
    both(scenario)


def test_non_leaf_hook_outlives_its_tensor_and_runs_in_autograd_grad():
    def scenario(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a.exp()
        b.register_hook(lambda g: g * 0)
        c = (b * 2).sum()
        del b
        (ga,) = lib.autograd.grad(c, a)
        return values(ga)
    assert both(scenario) == [0.0, 0.0]


def test_hook_on_multi_output_and_removed_hooks():
    def scenario(lib):
        x = lib.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
        values_, indices = x.max(dim=1)
        h = values_.register_hook(lambda g: g * 100)
        h.remove()
        values_.register_hook(lambda g: g * 2)
        with x.register_hook(lambda g: g - 1):  # a handle is also a context manager
            pass
        values_.sum().backward()
        return values(x.grad)
    both(scenario)


def test_hook_errors_as_torch():
    def scenario(lib):
        out = []
        for bad in (lambda g: 5, lambda g: g[:1], lambda g: g.double()):
            x = lib.tensor([1.0, 2.0], requires_grad=True)
            x.register_hook(bad)
            out.append(error_of(lambda: (x * 2).sum().backward()))
        out.append(error_of(lambda: lib.ones(2).register_hook(lambda g: g)))
        out.append(error_of(lambda: lib.ones(2).register_post_accumulate_grad_hook(lambda t: None)))
        y = lib.ones(2, requires_grad=True) * 2
        out.append(error_of(lambda: y.register_post_accumulate_grad_hook(lambda t: None)))
        z = lib.ones(2, requires_grad=True)
        z.register_post_accumulate_grad_hook(lambda t: 1)
        out.append(error_of(lambda: (z * 2).sum().backward()))
        return out
    out = both(scenario)
    assert out[0] == ("TypeError", "expected Variable, but hook returned 'int'")
    assert out[1] == ("RuntimeError", "hook '<lambda>' has changed the size of value")


def test_post_accumulate_hook_sees_the_accumulated_grad_once_per_backward():
    def scenario(lib):
        lib.manual_seed(0)
        w = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        b = lib.tensor([0.1, 0.2], requires_grad=True)
        log = []
        for name, p in (("w", w), ("b", b)):
            p.register_post_accumulate_grad_hook(lambda t, name=name: log.append((name, values(t.grad))))
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        for _ in range(2):  # the second backward: the hook sees the sum of both
            ((x @ w + b) * (x @ w + b)).sum().backward()
        lib.autograd.grad((w * 3).sum(), w)  # autograd.grad accumulates nothing: no post hook
        (w * 3).sum().backward(inputs=[w])  # backward(inputs=...) does accumulate: the hook runs
        return sorted(log[:2]), sorted(log[2:4]), log[4:]
    both(scenario)


def test_post_accumulate_hooks_fire_from_the_last_layer_backwards():
    """DDP's buckets are filled in this order: the last layer's gradients are ready first."""
    def scenario(lib):
        lib.manual_seed(0)
        layers = [lib.nn.Linear(4, 4), lib.nn.Linear(4, 3), lib.nn.Linear(3, 2)]
        log = []
        for i, layer in enumerate(layers):
            for name, p in layer.named_parameters():
                p.register_post_accumulate_grad_hook(lambda t, key=f"{i}.{name}": log.append(key))
        h = lib.ones(5, 4)
        for layer in layers:
            h = layer(h).relu()
        h.sum().backward()
        return [key.split(".")[0] for key in log]
    order = both(scenario)
    assert order == sorted(order, reverse=True)


def test_hooks_are_kept_per_tensor():
    x = tg.ones(2, requires_grad=True)
    h = x.register_post_accumulate_grad_hook(lambda t: None)
    assert isinstance(h.id, int) and len(x._post_accumulate_grad_hooks) == 1
    h.remove()
    h.remove()  # twice is harmless, as torch's
    assert len(x._post_accumulate_grad_hooks) == 0 and tg.ones(2, requires_grad=True).__dict__ == {}


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")  # torch's, on purpose
@pytest.mark.parametrize("create_graph", [False, True])
def test_hook_gradients_with_create_graph(create_graph):
    def scenario(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * x)  # a hook may build graph when create_graph is on
        (x ** 3).sum().backward(create_graph=create_graph)
        return values(x.grad), x.grad.requires_grad
    both(scenario)

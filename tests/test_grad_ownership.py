"""`.grad` takes over a gradient's memory only when nothing else can see it (PyTorch's "steal").

accumulate_grad copies the first gradient of a leaf unless the gradient is private to the
engine; these tests pin both sides: the training step's gradients are taken over (no copy),
and every way a gradient can be shared -- two inputs of one node, a retained non-leaf grad,
a tensor or array the user holds, a view of either -- still gets its own copy.
"""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.autograd.function import _is_private


def test_is_private_follows_tensor_and_array_links():
    fresh = tg.Tensor._make(np.ones((3, 4), np.float32))
    assert _is_private(fresh)
    held = [fresh]
    assert not _is_private(fresh)  # a second holder
    del held
    view = tg.Tensor._make(np.ones((3, 4), np.float32)).t().t()  # base Tensor and array both internal
    private = _is_private(view)  # (not inside the assert: pytest's rewriting would hold view._base)
    assert private and view._base is not None
    assert not _is_private(tg.Tensor._make(np.ones((3, 4), np.float32)).t())  # not dense: a copy is
    user = tg.ones(3, 4)
    assert not _is_private(user.t().t())  # the base Tensor is the user's
    array = np.ones((3, 4), np.float32)
    wrapped = tg.from_numpy(array)
    assert not _is_private(wrapped)  # the array is the user's
    del array
    assert _is_private(wrapped)
    assert not _is_private(tg.from_numpy(np.frombuffer(bytearray(48), np.float32).reshape(3, 4)))


def test_linear_gradients_are_taken_over_and_accumulate_like_torch():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(6, 5), tg.nn.ReLU(), tg.nn.Linear(5, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for p, q in zip(ref.parameters(), model.parameters()):
            p.copy_(torch.from_numpy(q.detach().numpy().copy()))
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    y = np.array([0, 2, 1, 2])
    for _ in range(2):  # the second backward adds into the memory the first one took over
        tg.nn.functional.cross_entropy(model(tg.from_numpy(x)), tg.from_numpy(y)).backward()
        torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    weight = model[0].weight.grad._data
    assert not weight.flags.owndata  # W's own gradient (the view dW.T.T), not a copy of it
    assert weight.flags.c_contiguous and weight.flags.writeable
    for p, q in zip(ref.parameters(), model.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_one_gradient_sent_to_two_leaves_is_not_shared():
    a, b = tg.ones(3, requires_grad=True), tg.ones(3, requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad._data, b.grad._data)
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2, 2, 2])
    np.testing.assert_array_equal(b.grad.numpy(), [2, 2, 2])


def test_a_retained_gradient_is_not_shared_with_the_leaf():
    x = tg.ones(3, requires_grad=True)
    y = x + 0
    y.retain_grad()
    y.sum().backward()
    assert not np.shares_memory(x.grad._data, y.grad._data)
    y2 = x + 0
    y2.sum().backward()  # adds into x.grad in place: y.grad must not change
    np.testing.assert_array_equal(y.grad.numpy(), [1, 1, 1])
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])


@pytest.mark.parametrize("kind", ["tensor", "view", "array"])
def test_a_gradient_the_user_holds_is_copied(kind):
    held_array = np.full((2, 3), 5.0, np.float32)
    held = tg.full((3, 2), 5.0)

    class Passthrough(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            if kind == "tensor":  # a fresh Tensor that wraps the user's tensor's (transposed) memory
                return tg.Tensor._make(held._data.T)
            if kind == "view":
                return held.t()
            return tg.from_numpy(held_array)

    x = tg.zeros(2, 3, requires_grad=True)
    for _ in range(2):
        Passthrough.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 10.0))
    np.testing.assert_array_equal(held.numpy(), np.full((3, 2), 5.0))
    np.testing.assert_array_equal(held_array, np.full((2, 3), 5.0))


def test_a_user_tensor_returned_as_gradient_is_copied():
    held = tg.full((2, 3), 5.0)

    class ReturnsHeld(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            return held

    x = tg.zeros(2, 3, requires_grad=True)
    for _ in range(2):
        ReturnsHeld.apply(x).sum().backward()
    assert not np.shares_memory(x.grad._data, held._data)
    np.testing.assert_array_equal(held.numpy(), np.full((2, 3), 5.0))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 10.0))


def test_traced_backward_gives_the_same_gradients():
    x = tg.ones(2, 3, requires_grad=True)
    with tg.autograd.trace() as t:
        (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 3.0))
    assert t.steps[-1].is_leaf

"""sign, round, floor, ceil, trunc, frac: values, dtypes, errors and gradients against PyTorch.

Step functions have a zero derivative wherever it exists; PyTorch's backward returns
zeros_like(grad), so a NaN in the incoming gradient does not leak through."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg

VALUES = [-2.5, -1.5, -0.5, -0.4, -0.0, 0.0, 0.5, 1.5, 2.5, 3.7, -3.7, 1e30, np.nan, np.inf, -np.inf]
NAMES = ["sign", "round", "floor", "ceil", "trunc", "fix", "frac"]


def _both(values, dtype, requires_grad=False):
    ours = tg.tensor(values, dtype=getattr(tg, dtype), requires_grad=requires_grad)
    theirs = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_values_and_gradients_match_torch(name, dtype):
    ours, theirs = _both(VALUES, dtype, requires_grad=True)
    y_ours, y_theirs = getattr(ours, name)(), getattr(theirs, name)()
    np.testing.assert_array_equal(y_ours.detach().numpy(), y_theirs.detach().numpy())
    assert str(y_ours.dtype).split(".")[-1] == str(y_theirs.dtype).split(".")[-1]
    assert y_ours.requires_grad and y_theirs.requires_grad
    grad = np.linspace(-3, 3, len(VALUES))
    grad[3] = np.nan  # a NaN in the incoming gradient stays out of the step functions' result
    y_ours.backward(tg.tensor(grad, dtype=getattr(tg, dtype)))
    y_theirs.backward(torch.tensor(grad, dtype=getattr(torch, dtype)))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("name", ["sign", "round", "floor", "ceil", "trunc"])
def test_node_names_are_torch_names(name):
    ours, theirs = _both([1.5, -2.5], "float32", requires_grad=True)
    assert getattr(ours, name)().grad_fn.name() == getattr(theirs, name)().grad_fn.name()


@pytest.mark.parametrize("decimals", [-1, 1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_decimals(decimals, dtype):
    values = [1.2345, -2.5551, 125.0, 0.005, -0.015, 1234.5678]
    ours, theirs = _both(values, dtype, requires_grad=True)
    y_ours, y_theirs = tg.round(ours, decimals=decimals), torch.round(theirs, decimals=decimals)
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=1e-6)
    y_ours.sum().backward()
    y_theirs.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("name", ["sign", "round", "floor", "ceil", "trunc"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_inputs_keep_their_dtype(name, dtype):
    ours, theirs = _both([3, 0, 7], dtype)
    y_ours, y_theirs = getattr(ours, name)(), getattr(theirs, name)()
    np.testing.assert_array_equal(y_ours.numpy(), y_theirs.numpy())
    assert str(y_ours.dtype).split(".")[-1] == str(y_theirs.dtype).split(".")[-1]


def test_sign_of_bool_and_negative_integers():
    np.testing.assert_array_equal(tg.tensor([True, False]).sign().numpy(), [True, False])
    np.testing.assert_array_equal(tg.tensor([-4, 0, 9]).sign().numpy(), [-1, 0, 1])


@pytest.mark.parametrize("call", [lambda lib: lib.tensor([3]).frac(),
                                  lambda lib: lib.tensor([3]).round(decimals=1)])
def test_integer_errors_are_torch_errors(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError, match=str(theirs.value).replace('"', '.')):
        call(tg)


@pytest.mark.parametrize("name", ["round_", "floor_", "ceil_", "trunc_"])
def test_in_place_variants(name):
    values = [1.5, -2.5, 0.4, -0.6]
    ours, theirs = _both(values, "float64", requires_grad=True)
    a, b = ours * 3, theirs * 3
    getattr(a, name)()
    getattr(b, name)()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(tg.tensor([1.5], requires_grad=True), name)()


def test_round_decimals_in_place_matches_torch():
    a, b = tg.tensor([1.2345, 2.5]), torch.tensor([1.2345, 2.5])
    a.round_(decimals=2)
    b.round_(decimals=2)
    np.testing.assert_allclose(a.numpy(), b.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_0d_backward(name):
    ours, theirs = _both(2.5, "float32", requires_grad=True)
    getattr(ours, name)().backward()
    getattr(theirs, name)().backward()
    assert ours.grad.shape == theirs.grad.shape == ()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())

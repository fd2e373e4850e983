"""Autograd's rules, as PyTorch has them, and the worked numbers of the course notes."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, grad, gradcheck


# ---------------------------------------------------------------- the notes' worked examples

def test_square_at_two_prints_four():
    out = subprocess.run([sys.executable, "-c", "import tinygrad_edu as tg; x = tg.tensor(2.0, requires_grad=True); "
                          "(x**2).backward(); print(x.grad)"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "tensor(4.)"


def test_partials_of_uv_plus_u_squared():
    u = tg.tensor(1.0, requires_grad=True)
    v = tg.tensor(2.0, requires_grad=True)
    f = u * v + u ** 2
    f.backward()
    assert (u.grad.item(), v.grad.item()) == (4.0, 1.0)


def test_three_step_chain_gives_19_5_not_17_25():
    """y1 = 3x+2, y2 = relu(y1), y3 = -0.5 y2 + 4, l = (y3 - 2)^2 at x = 5.
    dl/dy3 = 2 (y3 - 2) = -13 (the notes wrote -11.5), so dl/dx = -13 * -0.5 * 1 * 3 = 19.5."""
    x = tg.tensor(5.0, requires_grad=True)
    y1 = 3 * x + 2
    y2 = y1.relu()
    y3 = -0.5 * y2 + 4
    for t in (y1, y2, y3):
        t.retain_grad()
    loss = (y3 - 2) ** 2
    loss.backward()
    assert loss.item() == 42.25
    assert y3.grad.item() == -13.0
    assert x.grad.item() == 19.5


def test_second_derivative_of_quadratic():
    x = tg.tensor(3.0, requires_grad=True)
    z = x ** 2 + 2 * x + 1
    (dz,) = grad(z, x, create_graph=True)
    assert dz.item() == 8.0 and dz.grad_fn is not None
    (d2z,) = grad(dz, x)
    assert d2z.item() == 2.0


def test_gradient_descent_step():
    w = tg.tensor(-10.0, requires_grad=True)
    x = tg.arange(-3, 3, 0.1).view(-1, 1)
    y = -3 * x
    loss = ((w * x - y) ** 2).mean()
    loss.backward()
    expected = (2 * (w.item() * x.numpy() - y.numpy()) * x.numpy()).mean()
    assert w.grad.item() == pytest.approx(expected, rel=1e-5)
    w.data = w.data - 1e-3 * w.grad.data
    w.grad.data.zero_()
    assert w.item() == pytest.approx(-10.0 - 1e-3 * expected, rel=1e-6)
    assert w.grad.item() == 0.0 and w.is_leaf


# ---------------------------------------------------------------- leaves, grad_fn, requires_grad

def test_leaf_and_requires_grad_propagation():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    y = x * c
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert y.requires_grad and not (c * 2).requires_grad
    assert y.grad_fn.name() == "MulBackward0"
    (acc, nr), (none, _) = (x * 2).grad_fn.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x and nr == 0 and none is None
    assert (x * 2).grad_fn.next_functions[0][0] is (x + 1).grad_fn.next_functions[0][0]


def test_requires_grad_only_for_floats_and_leaves():
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2], requires_grad=True)
    y = tg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_non_leaf_grad_is_none_with_warning_unless_retained():
    x = tg.ones(3, requires_grad=True)
    y = x * 2
    z = x * 3
    z.retain_grad()
    (y.sum() + z.sum()).backward()
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert z.grad.tolist() == [1.0, 1.0, 1.0] and z.retains_grad
    assert x.grad.tolist() == [5.0, 5.0, 5.0]


def test_two_backward_calls_accumulate():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad.tolist()
    (x * x).sum().backward()
    assert x.grad.tolist() == [2 * g for g in first]


def test_gradient_meeting_at_a_node_is_summed():
    a = tg.tensor(1.5, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_leaf_grad_is_its_own_memory():
    """Add hands one gradient object to both inputs: their .grad must not alias."""
    x, y = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    (x + y).sum().backward()
    x.grad.data.zero_()
    assert y.grad.tolist() == [1.0, 1.0]


def test_no_grad_enable_grad_and_decorator():
    x = tg.ones(2, requires_grad=True)
    with tg.no_grad():
        y = x * 2
        assert not tg.is_grad_enabled()
        with tg.enable_grad():
            assert (x * 2).requires_grad
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def f():
        return (x * 2).requires_grad
    assert f() is False
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tg.is_grad_enabled()


def test_detach_shares_memory_and_version():
    x = tg.ones(3, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d.add_(1)
    assert x.tolist() == [2.0, 2.0, 2.0] and x._version[0] == 1


def test_backward_errors():
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (tg.ones(3, requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        tg.ones(3).sum().backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (tg.ones(3, requires_grad=True) * 2).backward(tg.ones(2))


def test_backward_with_explicit_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(tg.tensor([1.0, 0.1, 0.01]))
    assert np.allclose(x.grad.numpy(), [2.0, 0.4, 0.06])


# ---------------------------------------------------------------- retain_graph and freed buffers

def test_second_backward_through_freed_graph_raises():
    x = tg.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = tg.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 4.0]


# ---------------------------------------------------------------- in-place rules

def test_inplace_on_leaf_requiring_grad_raises():
    x = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 1.0
    with tg.no_grad():  # how optimizers update parameters
        x.add_(1)
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_version_counter_catches_modified_saved_tensor():
    w = tg.ones(2, requires_grad=True)
    e = w.exp()
    e.add_(1)  # exp saved its output for backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version 1; expected version 0"):
        e.sum().backward()


def test_inplace_on_non_leaf_gives_right_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y += x * x
    y.mul_(2)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [2 * (3 + 2 * 1.0), 2 * (3 + 2 * 2.0)]


def test_setitem_into_graph():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = tg.tensor(5.0, requires_grad=True)
    y = x * 1
    y[1] = v * 2
    assert y.grad_fn.name() == "CopySlices"
    (y * tg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 100.0] and v.grad.item() == 20.0


def test_setitem_plain_tensor_like_the_notes():
    x = tg.zeros(4, 2)
    y = tg.zeros(4, 1)
    for i in range(4):
        x[i, :] = tg.Tensor([float(i), 1.0])
        y[i, 0] = tg.Tensor([float(i % 2)])
    assert x[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0] and y.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]
    a = tg.tensor([0, 1, 2, 3, 4, 5])
    a[3:5] = tg.tensor([6, 8])
    assert a.tolist() == [0, 1, 2, 6, 8, 5]


# ---------------------------------------------------------------- higher order

def test_grad_of_grad():
    x = tg.tensor(2.0, requires_grad=True)
    (g,) = grad(x ** 3, x, create_graph=True)
    (g2,) = grad(g, x)
    assert (g.item(), g2.item()) == (12.0, 12.0)


def test_backward_create_graph_makes_grad_differentiable():
    x = tg.tensor(2.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    assert x.grad.item() == 12.0 and x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0


def test_grad_leaves_dot_grad_alone_and_checks_inputs():
    x = tg.ones(2, requires_grad=True)
    y = tg.ones(2, requires_grad=True)
    (gx,) = grad((x * 2).sum(), x)
    assert gx.tolist() == [2.0, 2.0] and x.grad is None
    with pytest.raises(RuntimeError, match="not have been used"):
        grad((x * 2).sum(), y)
    assert grad((x * 2).sum(), [x, y], allow_unused=True)[1] is None


# ---------------------------------------------------------------- custom Functions

class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return grad_output * out


class WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x  # should be 2x


def test_custom_function():
    x = tg.tensor([0.0, 1.0], dtype=tg.float64, requires_grad=True)
    y = Exp.apply(x)
    assert type(y.grad_fn).__name__ == "ExpBackward" and y.grad_fn.name() == "ExpBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    assert y.grad_fn.needs_input_grad == (True,)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), np.exp([0.0, 1.0]))
    assert gradcheck(Exp.apply, (tg.randn(3, dtype=tg.float64, requires_grad=True),))


def test_gradcheck_catches_a_wrong_backward():
    x = tg.randn(4, dtype=tg.float64, requires_grad=True)
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_custom_function_wrong_gradient_count():
    class Two(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Two.apply(a, b).sum().backward()


# ---------------------------------------------------------------- depth

def test_chain_100000_deep_has_no_recursion():
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


# ---------------------------------------------------------------- Python and NumPy interop

def test_python_and_numpy_interop():
    t = tg.tensor(3.7)
    assert float(t) == pytest.approx(3.7) and int(t) == 3 and bool(tg.tensor([1]))
    assert f"{tg.tensor(3.14159):.2f}" == "3.14" and format(tg.tensor(2.0)) == "2.0"
    assert len(tg.ones(4, 2)) == 4 and [r.shape for r in tg.ones(2, 3)] == [(3,), (3,)]
    assert np.asarray(tg.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    losses = np.zeros(3)
    loss = (tg.tensor(2.0, requires_grad=True) * 3)
    losses[1] = loss
    assert losses.tolist() == [0.0, 6.0, 0.0]
    assert tg.ones(2, 3).sum(axis=1).tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tg.ones(2))
    with pytest.raises(RuntimeError, match="requires grad"):
        tg.ones(2, requires_grad=True).numpy()


def test_repr_like_pytorch():
    assert repr(tg.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(tg.tensor(4.0) * tg.tensor(1.0, requires_grad=True)) == "tensor(4., grad_fn=<MulBackward0>)"
    assert repr(tg.tensor([1, 2], dtype=tg.int32)) == "tensor([1, 2], dtype=tinygrad_edu.int32)"


# ---------------------------------------------------------------- errors that name what was wrong

def test_error_messages():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(64x784 and 512x256\)"):
        tg.ones(64, 784) @ tg.ones(512, 256)
    with pytest.raises(RuntimeError, match="same dtype"):
        tg.ones(2, 3) @ tg.ones(3, 2, dtype=tg.float64)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        tg.ones(3)[5]
    with pytest.raises(IndexError, match="out of bounds"):
        tg.ones(3)[tg.tensor([0, 7])]
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(2\)"):
        tg.ones(2, 3) + tg.ones(3, 2)
    with pytest.raises(RuntimeError, match="invalid for input of size 6"):
        tg.ones(2, 3).view(4, 2)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        tg.ones(2, 3).t().view(6)
    with pytest.raises(RuntimeError, match="mean"):
        tg.tensor([1, 2]).mean()
    with pytest.raises(NotImplementedError, match="softmax"):
        tg.tensor([1, 2]).softmax(0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        tg.ones(2, 3).sum(2)
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.zeros(2, dtype="complex64")

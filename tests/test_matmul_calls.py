"""The per-call fast paths of the matmul family (issue 14), each checked against its reference.

* the C binding's `_mm` (``backend/c/matmul.py``: pointers and strides of the usual operands
  without helper calls) against NumPy, for many small shapes (n = 1..17, k = 1..70 and the
  MLP's), both layouts of each operand (B and W^T, A and G^T), sliced and broadcast views,
  empty dimensions, and its argument checks (the same errors as `check_matmul` / `check_linear`);
* `ops.matmul.mm_without_graph` / `linear_without_graph` (Tensor.mm and F.linear with no graph
  to record) against the ops they stand in for (`Mm`, `addmm(b, x, w.t())`), and the graph
  they leave alone when one is recorded.

Inputs are small integers stored as floats: every partial sum is exact, so results must equal
NumPy's bit for bit whatever the summation order.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, ops

DTYPES = [np.float32, np.float64]


def _ints(rng, shape, dtype):
    return rng.integers(-3, 4, size=shape).astype(dtype)


def _layouts(x):
    """x as C-contiguous, column-major (a .T of a dense array), a strided slice, and reversed rows
    (a negative stride: copied by the binding) -- all with the same values."""
    out = [x, np.ascontiguousarray(x.T).T]
    if x.size:
        padded = np.zeros((x.shape[0], 2 * x.shape[1] + 1), x.dtype)
        padded[:, 1::2] = x
        out += [padded[:, 1::2], x[::-1].copy()[::-1]]
    return out


# ---------------------------------------------------------------- the binding

@pytest.mark.parametrize("dtype", DTYPES)
def test_binding_small_shapes_every_layout(c_kernels, dtype):
    rng = np.random.default_rng(0)
    shapes = [(m, k, n) for m, k, n in itertools.product([1, 6, 64], [1, 15, 16, 17, 63, 64, 70], range(1, 18))]
    shapes += [(64, 64, 10), (64, 10, 64), (10, 64, 64), (64, 128, 64), (0, 5, 3), (4, 0, 3), (4, 5, 0)]
    for m, k, n in shapes:
        a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
        want = a @ b
        for a_view, b_view in itertools.product(_layouts(a), _layouts(b)):
            got = c_kernels.matmul(a_view, b_view)
            assert got.shape == (m, n) and got.dtype == dtype and got.flags.c_contiguous
            np.testing.assert_array_equal(got, want, err_msg=f"{m}x{k}x{n}")


@pytest.mark.parametrize("dtype", DTYPES)
# the W^T panel of tg_matmul_small.h (4 KiB): (64, 16) and (256, 4) fill it exactly in float32, (65, 16) and
# (257, 4) just not; (64, 8) and (128, 4) in float64, (65, 8) and (129, 4) just not
@pytest.mark.parametrize("fan_in,fan_out", [(64, 10), (1, 1), (17, 3), (70, 17), (64, 64), (5, 0), (0, 4), (64, 16),
                                            (65, 16), (256, 4), (257, 4), (64, 8), (65, 8), (128, 4), (129, 4)])
def test_binding_linear_layouts(c_kernels, fan_in, fan_out, dtype):
    rng = np.random.default_rng(fan_in * 100 + fan_out)
    x, w, bias = _ints(rng, (64, fan_in), dtype), _ints(rng, (fan_out, fan_in), dtype), _ints(rng, (fan_out,), dtype)
    want = x @ w.T + bias
    for x_view, w_view in itertools.product(_layouts(x), _layouts(w)):
        np.testing.assert_array_equal(c_kernels.linear(x_view, w_view, bias), want)
    if fan_out:
        strided_bias = np.repeat(bias, 2)[::2]  # not contiguous: copied for the kernel
        np.testing.assert_array_equal(c_kernels.linear(x, w, strided_bias), want)
    np.testing.assert_array_equal(c_kernels.linear(x, w, None), x @ w.T)


def test_binding_broadcast_operand(c_kernels):
    # a stride-0 view (np.broadcast_to) is read in place, never written
    b = np.broadcast_to(np.arange(10, dtype=np.float32), (64, 10))
    a = np.ones((3, 64), np.float32)
    np.testing.assert_array_equal(c_kernels.matmul(a, b), a @ np.ascontiguousarray(b))


@pytest.mark.parametrize("a,b,error,text", [
    (np.ones((2, 3), np.float32), np.ones((4, 5), np.float32), RuntimeError, r"\(2x3 and 4x5\)"),
    (np.ones((2, 3), np.float32), np.ones((3, 5), np.float64), TypeError, "float32 and float64"),
    (np.ones((2, 3), np.int64), np.ones((3, 5), np.int64), TypeError, "int64"),
    (np.ones((2, 3), np.float32), np.ones(3, np.float32), RuntimeError, "2-D"),
    (np.ones((2, 3), np.float32), [[1.0]] * 3, TypeError, "numpy.ndarray"),
])
def test_binding_errors_as_the_checks(c_kernels, a, b, error, text):
    with pytest.raises(error, match=text):
        c_kernels.matmul(a, b)


def test_binding_linear_errors_as_the_checks(c_kernels):
    x, w = np.ones((4, 3), np.float32), np.ones((5, 3), np.float32)
    with pytest.raises(RuntimeError, match="expanded size"):
        c_kernels.linear(x, w, np.ones(4, np.float32))
    with pytest.raises(RuntimeError, match="1-D bias"):
        c_kernels.linear(x, w, np.ones((1, 5), np.float32))
    with pytest.raises(TypeError, match="float32 and float32 and float64"):
        c_kernels.linear(x, w, np.ones(5, np.float64))
    with pytest.raises(RuntimeError, match=r"\(4x3 and 2x5\)"):
        c_kernels.linear(x, np.ones((5, 2), np.float32), np.ones(5, np.float32))


class _Sub(np.ndarray):
    pass


def test_binding_subclass_of_ndarray(c_kernels):
    # not an ndarray by type: the checked path takes it, same result
    a, b = np.ones((3, 4), np.float32).view(_Sub), np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(np.asarray(c_kernels.matmul(a, b)), np.full((3, 2), 4, np.float32))


# ---------------------------------------------------------------- the Tensor-level shortcuts

@pytest.mark.parametrize("dtype", DTYPES)
def test_mm_without_graph_equals_the_op(dtype):
    rng = np.random.default_rng(1)
    for m, k, n in [(64, 64, 10), (3, 17, 1), (5, 0, 2), (0, 3, 2)]:
        a, b = _ints(rng, (m, k), dtype), _ints(rng, (k, n), dtype)
        for b_view in _layouts(b)[:2]:
            ta, tb = tg.tensor(a), tg.tensor(b_view)
            fast = ops.matmul.mm_without_graph(ta, tb)
            ref = ops.Mm.apply(ta, tb)
            assert fast is not None and fast.grad_fn is None and not fast.requires_grad
            np.testing.assert_array_equal(fast.numpy(), ref.numpy())
            np.testing.assert_array_equal((ta @ tb).numpy(), a @ b)


def test_mm_without_graph_leaves_the_graph_and_ints_alone():
    a = tg.ones(2, 3, requires_grad=True)
    b = tg.ones(3, 4)
    assert ops.matmul.mm_without_graph(a, b) is None
    assert (a @ b).grad_fn.name() == "MmBackward0"
    with tg.no_grad():
        out = a @ b
        assert out.grad_fn is None and out.dtype == tg.float32
    ints = tg.tensor([[1, 2], [3, 4]])
    assert ops.matmul.mm_without_graph(ints, ints) is None
    assert (ints @ ints).tolist() == [[7, 10], [15, 22]] and (ints @ ints).dtype == tg.int64


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_without_graph_equals_addmm(dtype):
    rng = np.random.default_rng(2)
    for batch, fan_in, fan_out in [(64, 64, 10), (1, 1, 1), (7, 70, 17), (0, 3, 2), (3, 0, 2)]:
        x, w, b = (tg.tensor(_ints(rng, s, dtype)) for s in ((batch, fan_in), (fan_out, fan_in), (fan_out,)))
        fast = ops.matmul.linear_without_graph(x, w, b)
        ref = tg.addmm(b, x, w.t())
        assert fast is not None and fast.grad_fn is None
        np.testing.assert_array_equal(fast.numpy(), ref.numpy())
        np.testing.assert_array_equal(F.linear(x, w, b).numpy(), ref.numpy())


def _raises_as_addmm(x, w, b):
    """F.linear fails exactly as the reference addmm(b, x, w.t()) does."""
    with pytest.raises(Exception) as ref:
        tg.addmm(b, x, w.t())
    with pytest.raises(ref.type, match=str(ref.value)[:30].replace("(", r"\(").replace(")", r"\)")):
        F.linear(x, w, b)


def test_linear_without_graph_only_the_plain_case():
    x, w, b = tg.ones(4, 3), tg.ones(5, 3), tg.ones(5)
    for bad_w, bad_b in [(w.double(), b), (tg.ones(5, 2), b), (w, tg.ones(4))]:
        assert ops.matmul.linear_without_graph(x, bad_w, bad_b) is None
        _raises_as_addmm(x, bad_w, bad_b)
    assert ops.matmul.linear_without_graph(x, w, tg.ones(1, 5)) is None  # a 2-D bias broadcasts: addmm
    np.testing.assert_array_equal(F.linear(x, w, tg.ones(1, 5)).numpy(), np.full((4, 5), 4, np.float32))


def test_linear_records_its_graph_when_asked():
    layer = nn.Linear(64, 10)
    x = tg.randn(8, 64)
    y = layer(x)
    assert y.grad_fn.name() == "AddmmBackward0"
    assert [n.name() if n else None for n, _ in y.grad_fn.next_functions] == ["AccumulateGrad", None, "TBackward0"]
    y.sum().backward()
    assert layer.weight.grad.shape == (10, 64)
    with tg.no_grad():
        z = layer(x)
    assert z.grad_fn is None and not z.requires_grad
    np.testing.assert_array_equal(z.numpy(), y.detach().numpy())


# ---------------------------------------------------------------- linear_backward: dx, dW, db in one call

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,fan_in,fan_out", [(64, 784, 512), (64, 64, 10), (5, 17, 3), (1, 1, 1), (0, 4, 3),
                                                  (6, 0, 2), (4, 3, 0)])
def test_binding_linear_backward_every_layout_and_need(kernels, batch, fan_in, fan_out, dtype):
    """Both backends, every layout of grad, x and w, every combination of wanted outputs (an operand
    only an unwanted output reads passed as None): NumPy's products and sum, bit for bit."""
    rng = np.random.default_rng(batch + fan_in)
    g, x = _ints(rng, (batch, fan_out), dtype), _ints(rng, (batch, fan_in), dtype)
    w = _ints(rng, (fan_out, fan_in), dtype)
    expected = (g @ w, g.T @ x, g.sum(0))
    for g_, x_, w_ in zip(_layouts(g), _layouts(x)[::-1], _layouts(w)):
        for need in itertools.product([False, True], repeat=3):
            got = kernels.linear_backward(g_, x_ if need[1] else None, w_ if need[0] else None, *need)
            for wanted, value, want in zip(need, got, expected):
                if not wanted:
                    assert value is None
                    continue
                assert value.dtype == dtype and value.flags.c_contiguous
                np.testing.assert_array_equal(value, want)


@pytest.mark.parametrize("args", [
    (np.zeros((2, 4), np.float32), None, np.zeros((4, 3), np.float32), True, True, True),  # dw needs x
    (np.zeros((2, 4), np.float32), np.zeros((2, 3), np.float32), None, True, True, True),  # dx needs w
    (np.zeros((2, 4), np.int64), None, None, False, False, True),
    (np.zeros((2, 4, 1), np.float32), None, None, False, False, True),
    (np.zeros((2, 4), np.float32), None, np.zeros((4, 3), np.float64), True, False, True),
    (np.zeros((2, 4), np.float32), np.zeros((3, 3), np.float32), None, False, True, False),
    (np.zeros((2, 4), np.float32), None, np.zeros((5, 3), np.float32), True, False, False),
    (np.zeros(4, np.float32), None, np.zeros((4, 3), np.float32), True, False, False),
])
def test_binding_linear_backward_errors_as_the_twin(c_kernels, args):
    from tinygrad_edu.backend import numpy_kernels
    with pytest.raises((TypeError, RuntimeError)) as ours:
        c_kernels.linear_backward(*args)
    with pytest.raises((TypeError, RuntimeError)) as twin:
        numpy_kernels.linear_backward(*args)
    assert (type(ours.value), str(ours.value)) == (type(twin.value), str(twin.value))
    assert "linear_backward" in str(ours.value)

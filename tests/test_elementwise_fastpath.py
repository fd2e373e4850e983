"""Tensor-number arithmetic and `.to(dtype)` without a graph (ops/_elementwise_fastpath.py).

Checked: (1) the shortcut is taken exactly when no graph is recorded and the result is
float32/float64; (2) its results equal the readable path's bit for bit (dtype, values, NaN/inf,
division by zero without warnings) and torch's; (3) requires_grad, grad_fn and version counters
are as PyTorch's; (4) the notes' normalisation `(u.float() / 255.0 - mean) / std` equals torch's.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
import torch
from shortcut_spy import count_answers

import tinygrad_edu as tg
from tinygrad_edu.ops import _elementwise_fastpath as fp

RNG = np.random.default_rng(14)
SPECIAL = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 1e-30, 3e38])
OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
       "radd": lambda x, n: n + x, "rmul": lambda x, n: n * x}
NUMBERS = (0.1307, 255.0, 2, 0.0, 0, float("nan"), float("inf"), -3)


@pytest.fixture
def answered(monkeypatch):
    """The calls the number shortcut answered (returned a tensor rather than None)."""
    return count_answers(monkeypatch, fp, "number_without_graph")


def _readable(monkeypatch):
    monkeypatch.setattr(fp, "number_without_graph", lambda *args: None)
    monkeypatch.setattr(fp, "to_without_graph", lambda *args: None)


def _same(ours, ref):
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_float_tensor_and_number_bitwise(name, dtype, answered, monkeypatch):
    data = np.concatenate([SPECIAL, RNG.standard_normal(23)]).astype(dtype)
    op = OPS[name]
    with warnings.catch_warnings(record=True) as caught:  # inf and NaN are values, as in PyTorch (x / 0.0 too)
        fast = [op(tg.tensor(data), n) for n in NUMBERS]
    assert caught == []
    assert len(answered) == len(NUMBERS)
    for n, ours in zip(NUMBERS, fast):
        _same(ours, op(torch.tensor(data), n))
        assert not ours.requires_grad and ours.grad_fn is None and ours._version[0] == 0
    _readable(monkeypatch)
    for n, ours in zip(NUMBERS, fast):
        _same(ours, op(tg.tensor(data), n))


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "bool"])
@pytest.mark.parametrize("number", [255.0, 2, 0.3081, 0])
def test_integer_tensor_true_division_promotes(dtype, number, answered, monkeypatch):
    data = RNG.integers(0, 256, (5, 7)).astype(dtype)
    with warnings.catch_warnings(record=True) as caught:
        ours = tg.tensor(data) / number
    assert caught == []
    assert len(answered) == 1
    _same(ours, torch.tensor(data) / number)
    _readable(monkeypatch)
    _same(ours, tg.tensor(data) / number)


def test_default_dtype_float64_is_followed(answered):
    data = RNG.integers(0, 256, (4, 4)).astype(np.uint8)
    tg.set_default_dtype(tg.float64)
    torch.set_default_dtype(torch.float64)
    try:
        _same(tg.tensor(data) / 255.0, torch.tensor(data) / 255.0)
    finally:
        tg.set_default_dtype(tg.float32)
        torch.set_default_dtype(torch.float32)
    assert len(answered) == 1


def test_other_cases_take_the_readable_path(answered):
    u = tg.tensor(np.arange(6, dtype=np.uint8))
    _same(u + 0.5, torch.arange(6, dtype=torch.uint8) + 0.5)  # not true division: _binary's promotion
    _same(u * 2, torch.arange(6, dtype=torch.uint8) * 2)  # stays uint8
    h = np.linspace(-2, 2, 5).astype(np.float16)
    _same(tg.tensor(h) / 3.0, torch.tensor(h) / 3.0)  # float16: computed as PyTorch does, elsewhere
    x = tg.tensor([1.0, 2.0])
    _same(x + True, torch.tensor([1.0, 2.0]) + True)
    _same(x.add(2.0, alpha=3), torch.tensor([1.0, 2.0]).add(2.0, alpha=3))
    assert answered == []


def test_graph_is_recorded_when_an_input_requires_grad(answered):
    data = RNG.standard_normal((3, 4)).astype(np.float32)
    x, ref = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = (x * 3.0 - 0.5) / 2.0, (ref * 3.0 - 0.5) / 2.0
    assert answered == [] and ours.grad_fn.name() == theirs.grad_fn.name() == "DivBackward0"
    ours.sum().backward(), theirs.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ref.grad.numpy())
    with tg.no_grad():
        y = x / 2.0
    assert len(answered) == 1 and not y.requires_grad and y.grad_fn is None


def test_result_owns_its_memory_and_version():
    data = RNG.standard_normal(8).astype(np.float32)
    x = tg.tensor(data)
    for y in (x + 0.0, x * 1, x.double(), tg.tensor(data.astype(np.uint8)) / 1.0):
        assert not np.shares_memory(y.numpy(), x.numpy()) and y._version[0] == 0
        y.add_(1.0)
        assert y._version[0] == 1
    np.testing.assert_array_equal(x.numpy(), data)


@pytest.mark.parametrize("src,dst", [("uint8", tg.float32), ("float32", tg.float64), ("float64", tg.float32),
                                     ("float32", tg.int64), ("int64", tg.float16)])
def test_to_without_graph(src, dst, monkeypatch):
    data = np.array([0, 1, 7, 200, 255], dtype=src)
    ours = tg.tensor(data).to(dst)
    _same(ours, torch.tensor(data).to(getattr(torch, str(dst).split(".")[-1])))
    assert ours.grad_fn is None and not ours.requires_grad
    _readable(monkeypatch)
    _same(ours, tg.tensor(data).to(dst))


def test_to_records_when_grad_is_needed():
    x = tg.tensor([1.0, -2.5], dtype=tg.float64, requires_grad=True)
    y = x.float()
    assert y.grad_fn.name() == "ToCopyBackward0" and y.dtype == tg.float32
    y.sum().backward()
    assert x.grad.dtype == tg.float64


def test_notes_normalisation_equals_torch():
    images = RNG.integers(0, 256, (64, 784)).astype(np.uint8)
    mean, std = 0.1307, 0.3081
    ours = (tg.tensor(images).float() / 255.0 - mean) / std
    _same(ours, (torch.tensor(images).float() / 255.0 - mean) / std)


# ---------------------------------------------------------------- relu: the node's backward, relu without a graph

RELU_DATA = np.array([[-1.0, 0.0, -0.0, 2.5, np.nan, np.inf, -np.inf, 1e-38]], dtype=np.float32)
RELU_GRAD = np.array([[np.inf, np.nan, 1.0, -2.0, 3.0, np.nan, np.inf, 4.0]], dtype=np.float32)


def _relu_grad(lib, data, upstream):
    x = lib.tensor(data, requires_grad=True)
    y = lib.relu(x)
    y.backward(lib.tensor(upstream))
    return y, x.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_node_backward_equals_readable_and_torch(dtype, monkeypatch):
    data, upstream = RELU_DATA.astype(dtype), RELU_GRAD.astype(dtype)
    y, fast = _relu_grad(tg, data, upstream)
    assert y.grad_fn.name() == "ReluBackward0"
    ref_y, ref = _relu_grad(torch, data, upstream)
    _same(y.detach(), ref_y.detach())
    _same(fast, ref)  # 0 where the output is <= 0 even for an inf/NaN gradient; NaN output passes it
    monkeypatch.setattr(tg.ops.Relu._Backward, "apply", lambda ctx, g: tg.ops.Relu.backward(ctx, g))
    _same(_relu_grad(tg, data, upstream)[1], fast)


def test_relu_node_backward_keeps_version_check_and_create_graph():
    x = tg.tensor(RELU_DATA[:, :4].copy(), requires_grad=True)
    y = x.relu()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x = tg.tensor([[-1.0, 2.0, 3.0]], requires_grad=True)
    y = (x * x).relu()  # create_graph: the readable backward runs, a ThresholdBackward node is recorded
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    assert g.grad_fn is not None
    g.sum().backward()
    xt = torch.tensor([[-1.0, 2.0, 3.0]], requires_grad=True)
    (gt,) = torch.autograd.grad((xt * xt).relu().sum(), xt, create_graph=True)
    gt.sum().backward()
    _same(g.detach(), gt.detach())
    _same(x.grad, xt.grad)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8"])
def test_relu_without_graph(dtype):
    data = (RNG.standard_normal((5, 6)) * 4).astype(dtype) if dtype != "uint8" else RNG.integers(0, 9, (5, 6)).astype(dtype)
    ours = tg.tensor(data).relu()
    _same(ours, torch.tensor(data).relu())
    assert ours.grad_fn is None and not np.shares_memory(ours.numpy(), data)
    with tg.no_grad():
        assert tg.tensor(data.astype(np.float32), requires_grad=True).relu().grad_fn is None


# ---------------------------------------------------------------- the uint8 -> float32 kernel, both backends

from tinygrad_edu.backend import c_kernels, numpy_kernels  # noqa: E402


@pytest.mark.parametrize("kernels", [c_kernels, numpy_kernels], ids=["c", "numpy"])
def test_uint8_to_float32_kernel(kernels):
    every = np.arange(256, dtype=np.uint8)
    for x in (every, every.reshape(16, 16).T, every[::3], np.array(7, np.uint8), every[:0],
              RNG.integers(0, 256, (64, 784)).astype(np.uint8), np.frombuffer(bytes(every), np.uint8)):
        out = kernels.uint8_to_float32(x)
        assert out.dtype == np.float32 and out.shape == x.shape and out.flags.c_contiguous
        np.testing.assert_array_equal(out, torch.tensor(x).float().numpy())
        assert not np.shares_memory(out, x)
    with pytest.raises(TypeError, match="uint8_to_float32: expected a uint8 array, got int8"):
        kernels.uint8_to_float32(np.zeros(3, np.int8))
    with pytest.raises(TypeError, match="uint8_to_float32: expected a numpy.ndarray, got list"):
        kernels.uint8_to_float32([1, 2])


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_float_of_uint8_on_each_backend(backend):
    images = RNG.integers(0, 256, (8, 28, 28)).astype(np.uint8)[:, ::2]
    before = tg.backend.current()
    tg.backend.use(backend)
    try:
        _same(tg.tensor(images).float(), torch.tensor(images).float())
        _same(tg.tensor(images) / 255.0, torch.tensor(images) / 255.0)
    finally:
        tg.backend.use(before)


def test_u8_to_f32_never_trusts_its_caller():
    from tinygrad_edu._C import ffi, lib
    x, y = np.zeros(4, np.uint8), np.zeros(4, np.float32)
    px, py = ffi.from_buffer("uint8_t[]", x), ffi.from_buffer("float[]", y)
    assert lib.tg_u8_to_f32(px, py, -1) == lib.TG_ERR_SIZE
    assert lib.tg_u8_to_f32(ffi.NULL, py, 4) == lib.TG_ERR_NULL
    assert lib.tg_u8_to_f32(px, ffi.NULL, 4) == lib.TG_ERR_NULL
    assert lib.tg_u8_to_f32(ffi.NULL, ffi.NULL, 0) == lib.TG_OK

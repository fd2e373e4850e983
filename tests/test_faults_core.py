"""Issue 10, items 1, 3, 4 and 10, each against torch: copy_/fill_/zero_ overwrite (no `dst * 0`),
integer inputs are refused where torch refuses them, a backward saves only what it reads (no
false "modified by an inplace operation"), and a parameter listed twice steps as in torch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F

LIBS = [tg, torch]


def _outcome(fn):
    """(exception type name, message) or ('ok', value as text, dtype name): comparable across libraries."""
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 -- the point is to compare whatever is raised
        return type(e).__name__, str(e)
    return "ok", repr(out.detach().numpy().tolist()), str(out.dtype).split(".")[-1]


# ---------------------------------------------------------------- item 1: copy_, fill_, zero_

def test_copy_overwrites_inf_and_nan():
    for lib in LIBS:
        t = lib.tensor([float("inf"), float("nan"), -float("inf"), 1.0])
        t.copy_(lib.tensor([5.0, 6.0, 7.0, 8.0]))
        assert t.tolist() == [5.0, 6.0, 7.0, 8.0]


def test_load_state_dict_restores_nan_weights():
    good = tg.nn.Linear(3, 2)
    state = {k: v.clone() for k, v in good.state_dict().items()}
    broken = tg.nn.Linear(3, 2)
    with tg.no_grad():
        broken.weight.fill_(float("nan"))
        broken.bias.fill_(float("inf"))
    broken.load_state_dict(state)
    np.testing.assert_array_equal(broken.weight.detach().numpy(), good.weight.detach().numpy())
    np.testing.assert_array_equal(broken.bias.detach().numpy(), good.bias.detach().numpy())


# log(0) = -inf and a gradient through 1 / x at x = 0, on purpose: NumPy warns inside our ops where torch is silent
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("method", ["zero_", "fill_"])
def test_fill_and_zero_on_a_non_leaf_overwrite(method):
    results = []
    for lib in LIBS:
        x = lib.tensor([0.0, 1.0, 2.0], requires_grad=True)
        y = x.log()  # -inf at 0
        y = y.zero_() if method == "zero_" else y.fill_(3.0)
        assert type(y.grad_fn).__name__ == ("ZeroBackward0" if method == "zero_" else "FillBackward2")
        y.sum().backward()
        assert y._version == 1 if lib is torch else y._version[0] == 1
        results.append(repr((y.tolist(), x.grad.tolist())))  # repr: nan == nan
    assert results[0] == results[1]


def test_fill_with_a_tensor_value_sends_its_gradient():
    results = []
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        v = lib.tensor(4.0, requires_grad=True)
        y = (x * 1).fill_(v)
        assert type(y.grad_fn).__name__ == "FillBackward3"
        (y * lib.tensor([2.0, 3.0])).sum().backward()
        results.append((y.tolist(), x.grad.tolist(), v.grad.item()))
        z = lib.zeros(2).fill_(v)  # self does not require grad, the value does
        assert z.requires_grad and type(z.grad_fn).__name__ == "FillBackward3"
    assert results[0] == results[1]


@pytest.mark.parametrize("dst_dtype,src_dtype,src_shape", [
    ("float32", "float64", (1,)), ("float64", "float32", (2, 3)), ("float32", "float32", (3,)),
    ("float32", "float16", (1, 3))])
def test_copy_gradient_broadcast_and_dtype(dst_dtype, src_dtype, src_shape):
    rng = np.random.default_rng(0)
    src_np = rng.standard_normal(src_shape).astype(src_dtype)
    base_np = rng.standard_normal((2, 3)).astype(dst_dtype)
    weight = rng.standard_normal((2, 3)).astype(dst_dtype)
    results = []
    for lib in LIBS:
        x = lib.tensor(base_np, requires_grad=True)
        src = lib.tensor(src_np, requires_grad=True)
        y = x * 2
        version = y._version if lib is torch else y._version[0]
        out = y.copy_(src)
        assert out is y and type(y.grad_fn).__name__ == "CopyBackwards"
        assert (y._version if lib is torch else y._version[0]) == version + 1
        (y * lib.tensor(weight)).sum().backward()
        assert str(src.grad.dtype).split(".")[-1] == src_dtype and tuple(src.grad.shape) == src_shape
        results.append((y.detach().numpy(), x.grad.numpy(), src.grad.numpy().astype(np.float64)))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-3 if "float16" in (src_dtype,) else 1e-6)


def test_copy_into_a_tensor_without_grad_records_the_source():
    results = []
    for lib in LIBS:
        src = lib.tensor([3.0], requires_grad=True)
        d = lib.zeros(2, 2)
        d.copy_(src)
        assert type(d.grad_fn).__name__ == "CopyBackwards" and d.grad_fn.next_functions[0][0] is None
        d.sum().backward()
        results.append((d.tolist(), src.grad.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("case", [
    lambda lib: lib.zeros(2, dtype=lib.int64).copy_(lib.tensor([1.7, -1.7])),
    lambda lib: lib.zeros(2, 3).copy_(lib.zeros(4)),
    lambda lib: lib.zeros(3).copy_(lib.zeros(2, 3)),
    lambda lib: lib.zeros(3).copy_(lib.zeros(1, 3)),
    lambda lib: lib.zeros(3).copy_([1, 2, 3]),
    lambda lib: lib.zeros(3).fill_(lib.zeros(2)),
    lambda lib: lib.zeros(2, requires_grad=True).copy_(lib.ones(2)),
    lambda lib: lib.zeros(2, requires_grad=True).zero_(),
    lambda lib: lib.zeros(2, requires_grad=True).fill_(1.0),
    lambda lib: lib.zeros(2).fill_(lib.tensor(2.5)),
    lambda lib: lib.zeros(2, dtype=lib.int64).fill_(2.7),
])
def test_copy_and_fill_results_and_errors(case):
    ours, theirs = _outcome(lambda: case(tg)), _outcome(lambda: case(torch))
    if theirs[0] == "TypeError":  # torch's argument parser words it its own way
        assert ours[0] == "TypeError" and "must be Tensor, not list" in ours[1]
    else:
        assert ours == theirs


# ---------------------------------------------------------------- item 3: integer inputs

L, FL = [[1, 0, 1]], [[1.0, 0.0, 1.0]]
INTEGER_CASES = {
    "cross_entropy": lambda lib: lib.nn.functional.cross_entropy(lib.tensor(L), lib.tensor([0])),
    "cross_entropy int32": lambda lib: lib.nn.functional.cross_entropy(lib.tensor(L, dtype=lib.int32), lib.tensor([0])),
    "cross_entropy bool": lambda lib: lib.nn.functional.cross_entropy(lib.tensor(L).bool(), lib.tensor([0])),
    "cross_entropy 1-d": lambda lib: lib.nn.functional.cross_entropy(lib.tensor([1, 2]), lib.tensor(0)),
    "cross_entropy 4-d": lambda lib: lib.nn.functional.cross_entropy(lib.ones(2, 3, 2, 2, dtype=lib.int64),
                                                                     lib.zeros(2, 2, 2, dtype=lib.int64)),
    "cross_entropy probabilities": lambda lib: lib.nn.functional.cross_entropy(lib.tensor(L), lib.tensor(FL)),
    "nll_loss": lambda lib: lib.nn.functional.nll_loss(lib.tensor(L, dtype=lib.int32), lib.tensor([0])),
    "nll_loss 4-d": lambda lib: lib.nn.functional.nll_loss(lib.ones(2, 3, 2, 2, dtype=lib.int64),
                                                           lib.zeros(2, 2, 2, dtype=lib.int64)),
    "mse_loss": lambda lib: lib.nn.functional.mse_loss(lib.tensor(L), lib.tensor(L)),
    "mse_loss bool": lambda lib: lib.nn.functional.mse_loss(lib.tensor(L).bool(), lib.tensor(L).bool()),
    "mse_loss mixed": lambda lib: lib.nn.functional.mse_loss(lib.tensor(L), lib.tensor([[0.5, 0.0, 2.0]])),
    "smooth_l1_loss": lambda lib: lib.nn.functional.smooth_l1_loss(lib.tensor(L), lib.tensor(L)),
    "smooth_l1_loss mixed": lambda lib: lib.nn.functional.smooth_l1_loss(lib.tensor([[0.5, 0.0, 3.0]]), lib.tensor(L)),
    "huber_loss": lambda lib: lib.nn.functional.huber_loss(lib.tensor(L), lib.tensor(L)),
    "huber_loss int input": lambda lib: lib.nn.functional.huber_loss(lib.tensor(L), lib.tensor(FL)),
    "huber_loss int target": lambda lib: lib.nn.functional.huber_loss(lib.tensor([[0.5, 0.0, 3.0]]), lib.tensor(L)),
    "binary_cross_entropy": lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor(L), lib.tensor(L)),
    "binary_cross_entropy int input": lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor(L),
                                                                                         lib.tensor(FL)),
    "binary_cross_entropy int target": lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor(FL),
                                                                                          lib.tensor(L)),
    "bce_with_logits": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(lib.tensor(L), lib.tensor(FL)),
    "bce_with_logits int target": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
        lib.tensor(FL), lib.tensor(L)),
    "bce_with_logits bool target": lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(
        lib.tensor(FL), lib.tensor(L).bool()),
    "multi_margin_loss": lambda lib: lib.nn.functional.multi_margin_loss(lib.tensor(L), lib.tensor([0])),
    "leaky_relu": lambda lib: lib.nn.functional.leaky_relu(lib.tensor(L, dtype=lib.int32)),
    "leaky_relu inplace": lambda lib: lib.nn.functional.leaky_relu(lib.tensor(L), inplace=True),
    "elu": lambda lib: lib.nn.functional.elu(lib.tensor(L)),
    "silu": lambda lib: lib.nn.functional.silu(lib.tensor(L)),
    "softplus": lambda lib: lib.nn.functional.softplus(lib.tensor(L).bool()),
    "hardtanh bool": lambda lib: lib.nn.functional.hardtanh(lib.tensor(L).bool()),
    "hardtanh int": lambda lib: lib.nn.functional.hardtanh(lib.tensor([[-3, 0, 3]])),
    "dropout": lambda lib: lib.nn.functional.dropout(lib.tensor(L), 0.5),
    "dropout int32": lambda lib: lib.nn.functional.dropout(lib.tensor(L, dtype=lib.int32), 0.5),
    "dropout p=1": lambda lib: lib.nn.functional.dropout(lib.tensor(L), 1.0),
    "dropout eval": lambda lib: lib.nn.functional.dropout(lib.tensor(L), 0.5, training=False),
    "floor_divide by 0": lambda lib: lib.tensor([5]) // 0,
    "remainder by 0": lambda lib: lib.tensor([5]) % 0,
    "floor_divide by a tensor with a 0": lambda lib: lib.tensor([5, 3]) // lib.tensor([1, 0]),
    "remainder by a tensor with a 0": lambda lib: lib.tensor([5, 3]) % lib.tensor([1, 0]),
    "floor_divide int32": lambda lib: lib.tensor([5], dtype=lib.int32) // 0,
    "remainder uint8": lambda lib: lib.tensor([5], dtype=lib.uint8) % 0,
    "floor_divide float by 0": lambda lib: lib.tensor([5.0, -1.0, 0.0]) // 0,
    "remainder float by 0": lambda lib: lib.tensor([5.0, -1.0, 0.0]) % 0,
    "floor_divide int by 0.0": lambda lib: lib.tensor([5, -1, 0]) // 0.0,
    "floor_divide by a string": lambda lib: lib.tensor([5]) // "a",
    "floor_divide and remainder": lambda lib: lib.stack([lib.tensor([5, -7, 7]) // 3, lib.tensor([5, -7, 7]) % -3]),
}


@pytest.mark.parametrize("name", list(INTEGER_CASES))
def test_integer_inputs_as_torch(name):
    case = INTEGER_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _outcome(lambda: case(tg)), _outcome(lambda: case(torch))
    assert ours == theirs  # the dtype too, when it runs (int64 with float32 gives float32, as torch)


def test_cross_entropy_of_integer_logits_does_not_truncate():
    """The issue's case: integer logits used to give an integer loss (2) silently."""
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.cross_entropy(tg.tensor([[1, 2, 3]]), tg.tensor([0]))


# ---------------------------------------------------------------- item 4: save only what backward reads

def _inplace_outcome(lib, fn, needs, mutate):
    leaves = [lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=n) for n in needs]
    xs = [leaf * 1 if leaf.requires_grad else leaf.clone() for leaf in leaves]
    out = fn(lib, *xs)
    (out if mutate == "out" else xs[mutate]).add_(1)
    try:
        out.sum().backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        return "raises"
    return [leaf.grad.tolist() if leaf.grad is not None else None for leaf in leaves]


PRODUCTS = {
    "mul": (lambda lib, a, b: a * b, 2), "div": (lambda lib, a, b: a / b, 2),
    "mul by a number": (lambda lib, a: a * 2, 1), "div by a number": (lambda lib, a: a / 2, 1),
    "number times": (lambda lib, a: 2 * a, 1), "add a number": (lambda lib, a: a + 2, 1),
    "sub a number": (lambda lib, a: a - 2, 1), "number minus": (lambda lib, a: 2 - a, 1),
    "number over": (lambda lib, a: 2 / a, 1), "pow": (lambda lib, a, b: a ** b, 2),
    "mm": (lambda lib, a, b: a.mm(b), 2), "matmul": (lambda lib, a, b: a @ b, 2),
    "addmm": (lambda lib, c, a, b: lib.addmm(c, a, b), 3), "mv": (lambda lib, a, b: a.mv(b[0]), 2),
    "dot": (lambda lib, a, b: a[0].dot(b[0]), 2), "batched matmul": (lambda lib, a, b: a.unsqueeze(0) @ b, 2),
    "linear": (lambda lib, x, w, b: lib.nn.functional.linear(x, w, b[0]), 3),
    "linear without bias": (lambda lib, x, w: lib.nn.functional.linear(x, w), 2),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_inplace_checks_as_torch(name, backend_name):
    fn, n = PRODUCTS[name]
    for needs in np.ndindex(*(2,) * n):
        needs = tuple(bool(v) for v in needs)
        if not any(needs):
            continue
        for mutate in [*range(n), "out"]:
            ours, theirs = (_inplace_outcome(lib, fn, needs, mutate) for lib in LIBS)
            assert (ours == "raises") == (theirs == "raises"), (needs, mutate, ours, theirs)
            if ours != "raises":
                for g, h in zip(ours, theirs):
                    assert (g is None) == (h is None)
                    if g is not None:
                        np.testing.assert_allclose(g, h, rtol=1e-6)


def test_issue_example_index_put_of_a_scaled_element():
    results = []
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x.clone()
        y[0] = y[-1] * 2
        y.sum().backward()
        results.append((y.tolist(), x.grad.tolist()))
    assert results[0] == results[1] == ([6.0, 2.0, 3.0], [0.0, 1.0, 3.0])


def test_an_inplace_change_of_a_needed_operand_still_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y  # both operands need a gradient: both are saved
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# ---------------------------------------------------------------- item 10: a parameter listed twice

@pytest.mark.parametrize("name,options", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)), ("SGD", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.1)), ("AdamW", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1)), ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
])
def test_duplicate_parameter_steps_as_torch(name, options, backend_name):
    results = []
    for lib in LIBS:
        w = lib.tensor([1.0, -2.0], requires_grad=True)
        v = lib.tensor([0.5], requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt = getattr(lib.optim, name)([w, v, w], **options)
        assert any("duplicate parameters" in str(c.message) for c in caught)
        for i in range(3):
            opt.zero_grad()
            ((w * w * 3).sum() + (v * w[0]).sum()).backward()
            opt.step()
            if i == 1:  # a step where w has no gradient
                w.grad = None
                opt.step()
        results.append(np.concatenate([w.detach().numpy(), v.detach().numpy()]))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_sgd_momentum_duplicate_first_steps():
    """The issue's numbers: two listings start two buffers on the first step, then share one."""
    out = []
    for lib in LIBS:
        w = lib.tensor([1.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = lib.optim.SGD([w, w], lr=0.1, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            (w * w * 3).sum().backward()
            opt.step()
        out.append(w.item())
    assert out[0] == pytest.approx(out[1], rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_passes_grad_where_the_output_is_nan(dtype, backend_name):
    """PyTorch's threshold_backward zeroes where out <= 0: a NaN output (NaN input) passes grad."""
    values, grad = [float("nan"), -1.0, 0.0, 2.0], [5.0, 6.0, 7.0, 8.0]
    got, want = [], []
    for lib, out in ((tg, got), (torch, want)):
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        y = lib.nn.functional.relu(x)
        (g,) = lib.autograd.grad(y, x, lib.tensor(grad, dtype=getattr(lib, dtype)), create_graph=True)
        out += [y.detach().numpy(), g.detach().numpy()]
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])

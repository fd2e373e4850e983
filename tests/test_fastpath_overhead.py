"""The per-call shortcuts give what the readable paths give: same gradients, graphs, errors.

Each shortcut is run against the path it stands in for, switched per test:
* `_fastpath.plain_backward` (the usual `loss.backward()`) against `engine.run_backward`, which
  runs whenever a hook was ever registered (forced here by setting that flag);
* `_fastpath._record_one` (how `op_apply` records a one-output op) against `_tensor_of` +
  `_connect`, the general recording;
* `sgd_step`'s inline argument check against `check_sgd` + `_run_optim`;
* the cross-entropy's target check left to the kernel, and its backward's NumPy product.
"""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import backend
from tinygrad_edu.autograd import _fastpath, engine, function, hooks


@pytest.fixture(params=["plain", "general"])
def walk(request, monkeypatch):
    """Run the test once through each backward walk; check which one actually ran."""
    calls = []
    if request.param == "plain":
        monkeypatch.setattr(hooks, "tensor_hooks_registered", False)
        monkeypatch.setattr(hooks, "post_accumulate_grad_hooks_registered", False)
        real = engine.plain_backward
        monkeypatch.setattr(engine, "plain_backward", lambda *a: (calls.append(1), real(*a)))
    else:
        monkeypatch.setattr(hooks, "tensor_hooks_registered", True)
        real = engine.run_backward
        monkeypatch.setattr(engine, "run_backward", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    yield request.param
    assert calls, f"the {request.param} walk did not run"


def _mlp_grads(lib, seed: int = 0, retain: str | None = None):
    """The notes' MLP (smaller) on one batch; returns (loss, parameter grads, retained grad)."""
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s).astype(np.float32) * 0.3 for s in [(16, 12), (16,), (8, 16), (8,), (5, 8), (5,)]]
    params = [lib.tensor(w, requires_grad=True) for w in ws]
    x = lib.tensor(rng.standard_normal((7, 12)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 5, 7))
    h = x
    kept = None
    for i in range(0, 6, 2):
        h = lib.nn.functional.linear(h, params[i], params[i + 1])
        if i < 4:
            h = lib.nn.functional.relu(h)
        if i == 2 and retain:
            h.retain_grad()
            kept = h
    loss = lib.nn.functional.cross_entropy(h, y)
    loss.backward()
    return loss, [p.grad for p in params], kept


def test_mlp_gradients_match_torch_on_both_walks(walk):
    loss, grads, kept = _mlp_grads(tg, retain="yes")
    ref_loss, ref_grads, ref_kept = _mlp_grads(torch, retain="yes")
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(kept.grad.numpy(), ref_kept.grad.numpy(), rtol=1e-4, atol=1e-6)


def _shared_graph(lib):
    """b = a + a; c = b * b (the engine docstring's graph), a split, a view and a double use."""
    a = lib.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]], dtype=lib.float64, requires_grad=True)
    b = a + a
    c = b * b
    top, bottom = c.split(1, dim=0)
    d = (top.t() * 3).sum() + (bottom * top).sum() + c.exp().mean()
    d.backward(retain_graph=True)
    first = a.grad.clone()
    d.backward()  # a second pass through the kept graph doubles the grad
    return first, a.grad


def test_shared_inputs_multi_output_views_and_retain_graph(walk):
    first, second = _shared_graph(tg)
    ref_first, ref_second = _shared_graph(torch)
    np.testing.assert_allclose(first.numpy(), ref_first.numpy(), rtol=1e-12)
    np.testing.assert_allclose(second.numpy(), ref_second.numpy(), rtol=1e-12)


def test_errors_are_the_same_on_both_walks(walk):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp()
    loss = y.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        loss.backward()
    z = x * 1
    w = z.sin()  # saves its input
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        tg.tensor([1.0]).backward()

    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return tg.ones(3)

    with pytest.raises(RuntimeError, match=r"returned an invalid gradient at index 0 - got \[3\] but expected shape "
                                           r"compatible with \[2\]"):
        Bad.apply(x).sum().backward()
    assert tg.is_grad_enabled()  # the walk restored grad mode after the errors


def test_backward_sums_a_broadcast_gradient_and_casts_dtype_on_both_walks(walk):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)

    class Wide(tg.autograd.Function):  # returns a gradient of a broadcast shape, in float64
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return (g * 2).double().expand(4, 3)

    Wide.apply(x).sum().backward()
    assert x.grad.dtype == tg.float32
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 8.0, 8.0])


def test_a_hook_registered_later_is_run():
    """The plain walk is only taken while no hook was ever registered: a new hook switches it off."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * 3).sum().backward()
    assert hooks.any_registered() and len(seen) == 1
    np.testing.assert_allclose(seen[0], [3.0, 3.0])


# ---------------------------------------------------------------- op_apply's one-output recording

def _general_record(ctx, inputs, out):
    """What op_apply did before `_record_one`: map the saved arrays, then the general `_connect`."""
    to_save = ctx.__dict__.get("_to_save")
    if to_save:
        ctx._to_save = tuple([_fastpath._tensor_of(x, [out], inputs) for x in to_save])
    function._connect(ctx, inputs, [out], ())


def _graph_of(make):
    """Node names, edges (by name and output_nr), saved tensors and the gradients of one graph."""
    x = tg.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], requires_grad=True)
    w = tg.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]], requires_grad=True)
    out = make(x, w)
    node = out.grad_fn
    names = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        names.append((n.name(), tuple((c.name() if c else None, nr) for c, nr in n.next_functions)))
        stack.extend(c for c, _ in n.next_functions)
    saved = [None if s is None else s.detach().numpy().copy() for s in node.saved_tensors]
    out.sum().backward()
    return names, saved, x.grad.numpy().copy(), w.grad.numpy().copy()


@pytest.mark.parametrize("make", [
    lambda x, w: (x @ w).relu() * 2,  # MmBackward0 saving inputs, ReluBackward0 saving its output
    lambda x, w: F.linear(x, w.t(), w[0]).tanh(),  # T, Addmm, a view of a leaf, an output saved
    lambda x, w: (x.exp() / (x.sum(1, keepdim=True) + 1)).log_softmax(1) @ w,
    lambda x, w: F.cross_entropy(x @ w, tg.tensor([1, 0])),
])
def test_record_one_builds_the_graph_connect_builds(make, monkeypatch):
    fast = _graph_of(make)
    monkeypatch.setattr(_fastpath, "_record_one", _general_record)
    general = _graph_of(make)
    assert fast[0] == general[0]  # the same nodes and edges
    assert len(fast[1]) == len(general[1])
    for u, v in zip(fast[1], general[1]):  # the same saved tensors
        np.testing.assert_array_equal(u, v)
    for u, v in zip(fast[2:], general[2:]):  # the same gradients
        np.testing.assert_array_equal(u, v)


def test_saved_output_is_rebuilt_with_its_node_and_inplace_change_is_caught():
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x.exp()
    (saved,) = y.grad_fn.saved_tensors
    assert saved.grad_fn is y.grad_fn and np.array_equal(saved.detach().numpy(), y.detach().numpy())
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"which is output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


# ---------------------------------------------------------------- sgd_step's inline check

def _sgd_run(kernels, shape, dense: bool, **kw):
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(shape).astype(np.float32)
    param = p0.copy() if dense else np.asfortranarray(p0)
    buf = np.zeros(shape, np.float32)
    for step in range(3):
        grad = rng.standard_normal(shape).astype(np.float32)
        kernels.sgd_step(param, grad, buf, first_step=step == 0, **kw)
    return np.ascontiguousarray(param), buf


@pytest.mark.parametrize("kw", [
    dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
    dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True, maximize=True),
    dict(lr=0.05, momentum=0.0, dampening=0.0, weight_decay=0.1, nesterov=False, maximize=False),
    dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.0, nesterov=False, maximize=False),
])
def test_sgd_step_inline_path_matches_checked_path_and_numpy(kw):
    if getattr(backend, "c_kernels", None) is None:
        pytest.skip("the C extension is not built")
    fast = _sgd_run(backend.c_kernels, (4, 6), dense=True, **kw)
    checked = _sgd_run(backend.c_kernels, (4, 6), dense=False, **kw)  # Fortran order: the copying path
    twin = _sgd_run(backend.numpy_kernels, (4, 6), dense=True, **kw)
    for a, b, c in zip(fast, checked, twin):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-7)


def test_sgd_step_errors_unchanged():
    if getattr(backend, "c_kernels", None) is None:
        pytest.skip("the C extension is not built")
    k = backend.c_kernels
    p, g = np.zeros(3, np.float32), np.ones(3, np.float32)
    args = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                first_step=True)
    with pytest.raises(ValueError, match="momentum != 0 needs a momentum_buf"):
        k.sgd_step(p, g, None, **args)
    with pytest.raises(ValueError, match="shape"):
        k.sgd_step(p, np.ones(4, np.float32), np.zeros(3, np.float32), **args)
    with pytest.raises(TypeError, match="dtype"):
        k.sgd_step(p, np.ones(3, np.float64), np.zeros(3, np.float32), **args)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        k.sgd_step(p, g, np.zeros(3, np.float32), **args)


# ---------------------------------------------------------------- cross-entropy

def test_cross_entropy_bad_target_is_still_caught_with_and_without_weight():
    logits = tg.zeros(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match=r"^Target 7 is out of bounds\."):
        F.cross_entropy(logits, tg.tensor([1, 7, 2]))
    with pytest.raises(IndexError, match=r"^Target -3 is out of bounds\."):
        F.cross_entropy(logits, tg.tensor([1, -3, 2]), ignore_index=5)
    with pytest.raises(IndexError, match=r"^Target 9 is out of bounds\.$"):  # checked first, as PyTorch
        F.cross_entropy(logits, tg.tensor([1, 9, 2]), weight=tg.ones(3))
    F.cross_entropy(logits, tg.tensor([1, -100, 2])).backward()  # ignored rows are fine
    with tg.no_grad(), pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(logits, tg.tensor([4, 0, 0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_backward_scaling_matches_torch(reduction):
    rng = np.random.default_rng(3)
    x0, t = rng.standard_normal((5, 4)).astype(np.float32), rng.integers(0, 4, 5)
    up = rng.standard_normal(5 if reduction == "none" else ()).astype(np.float32)
    ours, ref = tg.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    F.cross_entropy(ours, tg.tensor(t), reduction=reduction).backward(tg.tensor(up))
    torch.nn.functional.cross_entropy(ref, torch.tensor(t), reduction=reduction).backward(torch.tensor(up))
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert ours.grad.dtype == tg.float32


def _adam_run(kernels, dense: bool, amsgrad: bool, **kw):
    rng = np.random.default_rng(2)
    p0 = rng.standard_normal((3, 5)).astype(np.float64)
    param = p0.copy() if dense else np.asfortranarray(p0)
    m, v = np.zeros_like(p0), np.zeros_like(p0)
    vmax = np.zeros_like(p0) if amsgrad else None
    for step in range(1, 4):
        kernels.adam_step(param, rng.standard_normal((3, 5)), m, v, vmax, step=float(step), **kw)
    return [np.ascontiguousarray(a) for a in (param, m, v) + ((vmax,) if amsgrad else ())]


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("kw", [
    dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False),
    dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, decoupled=True, maximize=True),
])
def test_adam_step_inline_path_matches_checked_path_and_numpy(kw, amsgrad):
    if getattr(backend, "c_kernels", None) is None:
        pytest.skip("the C extension is not built")
    fast = _adam_run(backend.c_kernels, True, amsgrad, **kw)
    checked = _adam_run(backend.c_kernels, False, amsgrad, **kw)
    twin = _adam_run(backend.numpy_kernels, True, amsgrad, **kw)
    for a, b, c in zip(fast, checked, twin):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)


def test_adam_step_errors_unchanged():
    if getattr(backend, "c_kernels", None) is None:
        pytest.skip("the C extension is not built")
    k, z = backend.c_kernels, np.zeros(3)
    args = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False)
    with pytest.raises(ValueError, match="step must be >= 1"):
        k.adam_step(z.copy(), z, z.copy(), z.copy(), None, step=0.0, **args)
    with pytest.raises(ValueError, match="shape"):
        k.adam_step(z.copy(), z, np.zeros(4), z.copy(), None, step=1.0, **args)
    with pytest.raises(TypeError, match="dtype"):
        k.adam_step(z.copy(), z, z.copy(), z.copy().astype(np.float32), None, step=1.0, **args)

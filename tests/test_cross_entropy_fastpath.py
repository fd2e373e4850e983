"""F.cross_entropy's shortcut for the usual call (ops/_loss_fastpath.py) and the calls that fall back.

The shortcut takes 2-D float32/float64 logits, int64 targets [N], reduction 'mean', no weight, no
label smoothing. Checked here: (1) it is taken exactly then, (2) it records the same node as the
readable path (same name, edges, saved state: backward, retain_graph, create_graph, retain_grad
all behave the same), (3) both agree with torch, on both backends, (4) every other call takes the
readable path and still agrees with torch: weights, ignore_index, label smoothing, 'sum'/'none',
1-D and K-D inputs, uint8 and int32 targets, float16, strided logits; (5) errors keep their texts.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from shortcut_spy import count_answers

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.ops import _loss_fastpath

RNG = np.random.default_rng(14)
LOGITS = (RNG.standard_normal((64, 10)) * 3).astype(np.float32)
TARGET = RNG.integers(0, 10, 64)
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


@pytest.fixture
def fast_calls(monkeypatch):
    """Counts the calls the shortcut answered (returned a loss rather than None)."""
    return count_answers(monkeypatch, _loss_fastpath, "cross_entropy_mean")


def readable_path(monkeypatch):
    """Turn the shortcut off: every call takes nn.functional's readable path."""
    monkeypatch.setattr(_loss_fastpath, "cross_entropy_mean", lambda *args: None)


def _run(lib, logits, target, dtype="float32", upstream=None, **kw):
    x = lib.tensor(logits.astype(dtype), requires_grad=True)
    loss = lib.nn.functional.cross_entropy(x, lib.tensor(target), **kw)
    loss.backward(None if upstream is None else lib.tensor(np.asarray(upstream, dtype)))
    return loss, x.grad


def _against_torch(logits, target, dtype="float32", upstream=None, **kw):
    (ours, ours_grad), (ref, ref_grad) = (_run(lib, logits, target, dtype, upstream, **kw) for lib in (tg, torch))
    tol = TOL.get(dtype, dict(rtol=1e-3, atol=1e-3))
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), **tol)
    np.testing.assert_allclose(ours_grad.numpy(), ref_grad.numpy(), **tol)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert ours.shape == tuple(ref.shape)
    return ours, ours_grad


# ---------------------------------------------------------------- the shortcut itself

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_usual_call_takes_the_shortcut_and_matches_torch(backend_name, fast_calls, dtype, ignore_index):
    kw = {} if ignore_index == -100 else {"ignore_index": ignore_index}
    loss, _ = _against_torch(LOGITS, TARGET, dtype, **kw)
    assert len(fast_calls) == 1
    assert type(loss.grad_fn).__name__ == "CrossEntropyLossBackward0"


@pytest.mark.parametrize("upstream", [1.0, 2.5, 0.0])
def test_shortcut_scales_by_the_upstream_gradient(backend_name, fast_calls, upstream):
    _against_torch(LOGITS, TARGET, upstream=upstream)
    assert len(fast_calls) == 1


def test_shortcut_records_the_readable_paths_node(monkeypatch):
    x = tg.tensor(LOGITS, requires_grad=True)
    fast = F.cross_entropy(x, tg.tensor(TARGET))
    readable_path(monkeypatch)
    slow = F.cross_entropy(x, tg.tensor(TARGET))
    a, b = fast.grad_fn, slow.grad_fn
    assert type(a) is type(b)
    assert sorted(vars(a)) == sorted(vars(b))  # the shortcut sets every attribute Op.apply sets, no other
    assert a.next_functions == b.next_functions  # the same leaf's AccumulateGrad
    assert a.needs_input_grad == b.needs_input_grad and a._arg_is_tensor == b._arg_is_tensor
    assert a._input_meta == b._input_meta
    (ta, *rest_a), (tb, *rest_b) = a.args, b.args
    assert np.array_equal(ta, tb) and rest_a == rest_b
    (la, da), (lb, db) = a.saved_tensors, b.saved_tensors
    assert la is x and lb is x
    np.testing.assert_array_equal(da.numpy(), db.numpy())
    assert fast.item() == slow.item()


def test_shortcut_not_taken_without_grad_records_nothing(backend_name, fast_calls):
    x = tg.tensor(LOGITS)
    loss = F.cross_entropy(x, tg.tensor(TARGET))
    assert loss.grad_fn is None and not loss.requires_grad
    with tg.no_grad():
        leaf = tg.tensor(LOGITS, requires_grad=True)
        assert F.cross_entropy(leaf, tg.tensor(TARGET)).grad_fn is None
    ref = torch.nn.functional.cross_entropy(torch.tensor(LOGITS), torch.tensor(TARGET))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-6)
    assert len(fast_calls) == 2


def test_shortcut_on_a_non_leaf_retain_graph_and_retain_grad():
    """Logits from a matmul (the last layer), backward twice with retain_graph, retain_grad on them."""
    h = RNG.standard_normal((64, 20)).astype(np.float32)
    w = RNG.standard_normal((20, 10)).astype(np.float32)
    grads = []
    for lib in (tg, torch):
        wt = lib.tensor(w, requires_grad=True)
        logits = lib.tensor(h) @ wt
        logits.retain_grad()
        loss = lib.nn.functional.cross_entropy(logits, lib.tensor(TARGET))
        loss.backward(retain_graph=True)
        loss.backward()
        grads.append((wt.grad.numpy(), logits.grad.numpy()))
    for ours, ref in zip(*grads):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        x = tg.tensor(LOGITS, requires_grad=True)
        loss = F.cross_entropy(x, tg.tensor(TARGET))
        loss.backward()
        loss.backward()


def test_shortcut_double_backward_matches_torch():
    """create_graph: the backward is then written with Tensor ops, so the gradient's gradient exists."""
    results = []
    for lib in (tg, torch):
        x = lib.tensor(LOGITS[:8].astype(np.float64), requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(TARGET[:8]))
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (g * g).sum().backward()
        results.append((g.detach().numpy(), x.grad.numpy()))
    for ours, ref in zip(*results):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"weight": "W", "label_smoothing": 0.1}])
def test_inplace_change_of_the_logits_after_the_loss_is_fine_as_in_torch(kw):
    """The usual backward reads only the gradient the kernel kept, not the logits (PyTorch's
    LogSoftmaxBackward0 saves its output, not its input): changing the logits later is no error,
    through the shortcut or the readable path."""
    grads = []
    for lib in (tg, torch):
        kw = {**kw, "weight": lib.tensor(np.linspace(0.5, 2, 10, dtype=np.float32))} if "weight" in kw else kw
        leaf = lib.tensor(LOGITS, requires_grad=True)
        logits = leaf * 1
        loss = lib.nn.functional.cross_entropy(logits, lib.tensor(TARGET), **kw)
        logits.add_(1)
        loss.sum().backward()
        grads.append(leaf.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_gradient_of_another_dtype_is_promoted_as_torch():
    results = []
    for lib in (tg, torch):
        x = lib.tensor(LOGITS, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(TARGET), reduction="none")
        loss.backward(lib.tensor(np.linspace(-1, 1, 64)))  # float64 gradient of a float32 loss
        results.append((str(x.grad.dtype).split(".")[-1], x.grad.numpy()))
    assert results[0][0] == results[1][0] == "float32"
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


def test_shortcut_keeps_the_error_texts(backend_name):
    x = tg.tensor(LOGITS[:3], requires_grad=True)
    with pytest.raises(IndexError, match=r"^Target 12 is out of bounds\. \(target\[1\], with 10 classes\)$"):
        F.cross_entropy(x, tg.tensor([1, 12, 2]))
    with pytest.raises(IndexError, match=r"^Target -1 is out of bounds\."):
        F.cross_entropy(x, tg.tensor([1, -1, 2]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)\."):
        F.cross_entropy(x, tg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(x, tg.tensor([1, 2, 3], dtype=tg.int32))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        F.cross_entropy(x, tg.tensor([[1], [2], [3]]))
    if backend_name == "c":  # (the NumPy twin compares an int64 array with any Python int)
        with pytest.raises(OverflowError, match="ignore_index 9223372036854775808 does not fit in int64"):
            F.cross_entropy(x, tg.tensor([1, 2, 3]), ignore_index=2**63)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.cross_entropy(tg.tensor([[1, 2, 3]]), tg.tensor([0]))


def test_all_targets_ignored_is_nan_with_zero_gradient(backend_name, fast_calls):
    loss, grad = _against_torch(LOGITS[:4], np.full(4, -100))
    assert np.isnan(loss.item()) and not grad.numpy().any()
    assert len(fast_calls) == 1


# ---------------------------------------------------------------- the calls that fall back

FALLBACKS = {
    "weight": dict(weight="W"),
    "weight, ignore_index": dict(weight="W", ignore_index=2),
    "label_smoothing": dict(label_smoothing=0.2),
    "sum": dict(reduction="sum"),
    "none": dict(reduction="none"),
    "none, smoothing, weight": dict(reduction="none", label_smoothing=0.1, weight="W"),
}


@pytest.mark.parametrize("case", FALLBACKS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_options_take_the_readable_path_and_match_torch(backend_name, fast_calls, case, dtype):
    kw = dict(FALLBACKS[case])
    results = []
    for lib in (tg, torch):
        if kw.get("weight") is not None:
            kw["weight"] = lib.tensor(np.linspace(0.5, 2.0, 10).astype(dtype))
        x = lib.tensor(LOGITS.astype(dtype), requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(TARGET), **kw)
        up = np.linspace(-1, 1, loss.numel()).reshape(tuple(loss.shape)).astype(dtype)
        loss.backward(lib.tensor(up))
        results.append((loss.detach().numpy(), x.grad.numpy()))
    for ours, ref in zip(*results):
        np.testing.assert_allclose(ours, ref, **TOL[dtype])
    assert fast_calls == []


@pytest.mark.parametrize("shape,target", [((10,), np.array(3)), ((4, 10, 3), RNG.integers(0, 10, (4, 3))),
                                          ((2, 10, 3, 2), RNG.integers(0, 10, (2, 3, 2)))],
                         ids=["1-D", "3-D", "4-D"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_other_ranks_take_the_readable_path_and_match_torch(backend_name, fast_calls, shape, target, reduction):
    logits = RNG.standard_normal(shape).astype(np.float32)
    up = None if reduction != "none" else np.linspace(-1, 1, target.size).reshape(target.shape)
    _against_torch(logits, target, upstream=up, reduction=reduction)
    assert fast_calls == []


def test_other_target_and_logit_types_take_the_readable_path(backend_name, fast_calls):
    _against_torch(LOGITS, TARGET.astype(np.uint8))  # Byte targets: accepted, as PyTorch
    ours, ref = (F.cross_entropy(tg.tensor(LOGITS, dtype=tg.float16), tg.tensor(TARGET)),
                 torch.nn.functional.cross_entropy(torch.tensor(LOGITS, dtype=torch.float16), torch.tensor(TARGET)))
    np.testing.assert_allclose(ours.float().item(), ref.float().item(), rtol=1e-3)
    assert fast_calls == []


def test_strided_logits_match_torch(backend_name, fast_calls):
    """Logits that are a transposed view: the shortcut hands them on, the binding makes them dense."""
    results = []
    for lib in (tg, torch):
        leaf = lib.tensor(np.ascontiguousarray(LOGITS.T), requires_grad=True)
        loss = lib.nn.functional.cross_entropy(leaf.t(), lib.tensor(TARGET))
        loss.backward()
        results.append((loss.item(), leaf.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


def test_binding_inline_check_and_general_path_agree(c_kernels):
    """The C binding's inline check of the usual call and its general path give the same arrays."""
    fast = c_kernels.cross_entropy(LOGITS, TARGET)
    general = c_kernels.cross_entropy(np.asfortranarray(LOGITS), TARGET, None, -100, "mean", 0.0, True)
    via_weight = c_kernels.cross_entropy(LOGITS, TARGET, np.ones(10, np.float32))
    for other in (general, via_weight):
        np.testing.assert_array_equal(fast[0], other[0])
        np.testing.assert_array_equal(fast[1], other[1])
    with pytest.raises(OverflowError, match="does not fit in int64"):
        c_kernels.cross_entropy(LOGITS, TARGET, None, -2**63 - 1)
    with pytest.raises(RuntimeError, match="expected scalar type Long for target but found int32"):
        c_kernels.cross_entropy(LOGITS, TARGET.astype(np.int32))

"""tinygrad_edu.optim against torch.optim: every optimizer and option, both dtypes, both backends.

The same parameters and the same gradients go to both libraries for several steps; after each
step parameters and every state buffer must agree. The kernels are also checked C against
their NumPy twin (property tests), and the checkpoint format, errors and schedulers against
PyTorch's. Tests that need the C extension fail when it is missing (see tests/conftest.py).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.backend as backend
from tinygrad_edu import optim
from tinygrad_edu.backend import numpy_kernels
from tinygrad_edu.optim import lr_scheduler

# (rtol, atol) after a few steps: float32 rounding differs from torch's in the last bits only
# (FMA contraction, the fused loop), but divisions by small sqrt(v) + eps amplify it a little.
TOL = {np.float32: (2e-5, 2e-6), np.float64: (1e-12, 1e-13)}
SHAPES = [(5, 3), (3,), (1,), ()]


def _arrays(rng: np.random.Generator, dtype, n: int = 1) -> list[np.ndarray]:
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES for _ in range(n)]


def _pair_params(values: list[np.ndarray]) -> tuple[list, list]:
    ours = [tg.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    return ours, theirs


def _set_grads(rng: np.random.Generator, ours: list, theirs: list, skip: int | None = None) -> None:
    """The same random gradient on both sides; the scale varies so amsgrad's max matters.
    Parameter `skip` gets no gradient (it must be left alone)."""
    scale = rng.choice([0.1, 1.0, 3.0])
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if i == skip:
            a.grad, b.grad = None, None
            continue
        g = (scale * rng.standard_normal(a.shape)).astype(a.detach().numpy().dtype)
        a.grad, b.grad = tg.tensor(g.copy()), torch.tensor(g.copy())


def _assert_same(ours_opt, theirs_opt, ours: list, theirs: list, dtype, what: str) -> None:
    rtol, atol = TOL[dtype]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{what}: param {i}")
        sa, sb = ours_opt.state.get(a, {}), theirs_opt.state.get(b, {})
        assert sa.keys() == sb.keys(), f"{what}: state keys of param {i}"
        for key in sb:
            va, vb = sa[key], sb[key]
            if key == "step":
                assert va.dtype == tg.float32 and va.shape == () and va.item() == vb.item()
                continue
            assert va.dtype == a.dtype and va.shape == a.shape
            np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=rtol, atol=atol, err_msg=f"{what}: {key} {i}")


CASES = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.2, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True, "alpha": 0.9}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True, "eps": 1e-4}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"weight_decay": 0.1, "initial_accumulator_value": 0.5, "maximize": True, "eps": 1e-3}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch(backend_name, name: str, kwargs: dict, dtype) -> None:
    rng = np.random.default_rng(0)
    ours, theirs = _pair_params(_arrays(rng, dtype))
    ours_opt, theirs_opt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(6):
        _set_grads(rng, ours, theirs, skip=1 if step == 2 else None)
        ours_opt.step()
        theirs_opt.step()
        _assert_same(ours_opt, theirs_opt, ours, theirs, dtype, f"{name}{kwargs} step {step}")


def test_param_groups_match_torch(backend_name) -> None:
    """Per-group options; a group added after a few steps; a group whose lr changes."""
    rng = np.random.default_rng(1)
    ours, theirs = _pair_params(_arrays(rng, np.float64, n=2))
    groups = lambda ps: [{"params": ps[:3], "lr": 0.1}, {"params": ps[3:6], "momentum": 0.0}]
    ours_opt = optim.SGD(groups(ours), lr=0.01, momentum=0.9)
    theirs_opt = torch.optim.SGD(groups(theirs), lr=0.01, momentum=0.9)
    assert [{k: v for k, v in g.items() if k in ours_opt.defaults} for g in ours_opt.param_groups] == \
           [{k: v for k, v in g.items() if k in ours_opt.defaults} for g in theirs_opt.param_groups]
    for step in range(6):
        if step == 2:
            ours_opt.add_param_group({"params": ours[6:], "nesterov": True, "lr": 0.2})
            theirs_opt.add_param_group({"params": theirs[6:], "nesterov": True, "lr": 0.2})
        if step == 4:
            ours_opt.param_groups[0]["lr"] = theirs_opt.param_groups[0]["lr"] = 0.05
        _set_grads(rng, ours, theirs)
        ours_opt.step()
        theirs_opt.step()
        _assert_same(ours_opt, theirs_opt, ours, theirs, np.float64, f"step {step}")


def test_gradients_from_backward_match_torch(backend_name) -> None:
    """A small two-layer net trained for a few Adam steps with real backward() gradients."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    ours, theirs = _pair_params([rng.standard_normal(s) for s in [(4, 5), (5,), (5, 2), (2,)]])
    ours_opt, theirs_opt = optim.Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05)
    for lib, params, opt, xs, ys in ((tg, ours, ours_opt, tg.tensor(x), tg.tensor(y)),
                                     (torch, theirs, theirs_opt, torch.tensor(x), torch.tensor(y))):
        w1, b1, w2, b2 = params
        for _ in range(5):
            opt.zero_grad()
            loss = (((xs @ w1 + b1).relu() @ w2 + b2 - ys) ** 2).mean()
            loss.backward()
            opt.step()
    _assert_same(ours_opt, theirs_opt, ours, theirs, np.float64, "after 5 steps")


def test_non_contiguous_parameter_matches_torch(backend_name) -> None:
    """A transposed leaf: the NumPy twin updates the view in place, the C wrapper through a copy."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal((4, 3))
    ours = tg.tensor(base).t().detach().requires_grad_()
    theirs = torch.tensor(base).t().detach().requires_grad_()
    assert not ours.is_contiguous()
    ours_opt, theirs_opt = optim.RMSprop([ours], momentum=0.5), torch.optim.RMSprop([theirs], momentum=0.5)
    for step in range(3):
        _set_grads(rng, [ours], [theirs])
        ours_opt.step()
        theirs_opt.step()
        _assert_same(ours_opt, theirs_opt, [ours], [theirs], np.float64, f"step {step}")


def test_torch_only_options_are_rejected() -> None:
    """Where we differ: foreach / fused / capturable / differentiable select PyTorch
    implementations that do not exist here, so passing them is an error, not silently ignored."""
    p = tg.zeros(1, requires_grad=True)
    for option in ("foreach", "fused", "capturable", "differentiable"):
        with pytest.raises(TypeError, match=option):
            optim.Adam([p], **{option: False})


def test_duplicate_parameters_warn_like_torch() -> None:
    p = tg.zeros(1, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_zero_grad() -> None:
    p, q = tg.randn(3, requires_grad=True), tg.randn(2, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    (p.sum() * 2).backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not g.requires_grad and g.tolist() == [0.0, 0.0, 0.0] and q.grad is None
    (p.sum() * 2).backward()  # accumulates into the zeroed tensor
    assert p.grad.tolist() == [2.0, 2.0, 2.0]
    opt.zero_grad()
    assert p.grad is None and q.grad is None


def test_step_bumps_version_counter(backend_name) -> None:
    """step() changes parameters in place: a graph that saved one must refuse to backward."""
    p = tg.randn(3, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    y = (p * p).sum()  # MulBackward0 saves p
    p.grad = tg.ones(3)
    version = p._version[0]
    opt.step()
    assert p._version[0] == version + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_step_reads_backend_at_call_time(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(numpy_kernels, "sgd_step", lambda *args: calls.append(args))
    p = tg.randn(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)  # built before the switch (tests/conftest.py restores the backend)
    backend.use("numpy")
    p.grad = tg.ones(2)
    opt.step()
    assert len(calls) == 1 and calls[0][0] is p._data


def test_closure() -> None:
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # as PyTorch, the closure runs with grad enabled anyway
        loss = opt.step(closure)
    assert loss.item() == 5.0 and p.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- checkpoints

@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"amsgrad": True}),
                                         ("AdamW", {}), ("RMSprop", {"centered": True, "momentum": 0.5}),
                                         ("Adagrad", {"lr_decay": 0.01})])
def test_state_dict_format_matches_torch(name: str, kwargs: dict) -> None:
    rng = np.random.default_rng(3)
    ours, theirs = _pair_params(_arrays(rng, np.float32))
    ours_opt, theirs_opt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    _set_grads(rng, ours, theirs, skip=2)  # param 2 gets no state (except Adagrad's, made at init)
    ours_opt.step()
    theirs_opt.step()
    a, b = ours_opt.state_dict(), theirs_opt.state_dict()
    assert list(a) == ["state", "param_groups"]
    assert {k: list(v) for k, v in a["state"].items()} == {k: list(v) for k, v in b["state"].items()}
    assert repr(a["state"][0].get("step")) == repr(b["state"][0].get("step"))
    (ga,), (gb,) = a["param_groups"], b["param_groups"]
    assert ga == {k: gb[k] for k in ga}  # ours has every torch option that exists here, same values


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                                         ("Adam", {"lr": 0.01, "amsgrad": True}), ("AdamW", {"lr": 0.01}),
                                         ("RMSprop", {"centered": True, "momentum": 0.5}),
                                         ("Adagrad", {"lr_decay": 0.01})])
def test_state_dict_round_trip_through_save(tmp_path, backend_name, name: str, kwargs: dict) -> None:
    """Save after 3 steps, load into a fresh optimizer over copies of the parameters: both
    continue identically (bit for bit) and the loaded buffers are not shared with the file's."""
    rng = np.random.default_rng(4)
    values = _arrays(rng, np.float32)
    ours = [tg.tensor(v, requires_grad=True) for v in values]
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.3}], **kwargs)
    grads = [[tg.tensor(rng.standard_normal(v.shape).astype(np.float32)) for v in values] for _ in range(6)]
    for gs in grads[:3]:
        for p, g in zip(ours, gs):
            p.grad = g
        opt.step()
    tg.save({"optim": opt.state_dict(), "params": ours}, tmp_path / "ckpt.pt")
    ckpt = tg.load(tmp_path / "ckpt.pt")
    copies = [t.clone().requires_grad_() for t in ckpt["params"]]
    opt2 = getattr(optim, name)([{"params": copies[:2]}, {"params": copies[2:]}], lr=1.0)
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.param_groups[1]["lr"] == 0.3 and opt2.param_groups[0]["params"] == copies[:2]
    assert repr(opt2) == repr(opt)
    for gs in grads[3:]:
        for p, q, g in zip(ours, copies, gs):
            p.grad, q.grad = g, g.clone()
        opt.step()
        opt2.step()
    for p, q in zip(ours, copies):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    loaded = ckpt["optim"]["state"][0]
    assert all(opt2.state[copies[0]][k] is not v for k, v in loaded.items())


def test_load_state_dict_errors() -> None:
    ps = [tg.randn(2, requires_grad=True) for _ in range(3)]
    opt = optim.Adam(ps)
    sd = optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}]).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(optim.Adam(ps[:2]).state_dict())
    other = optim.Adam([tg.randn(3, requires_grad=True) for _ in range(3)])
    for p in other.param_groups[0]["params"]:
        p.grad = tg.ones(3)
    other.step()
    with pytest.raises(ValueError, match=r"loaded state 'exp_avg' has shape \[3\] but its parameter has shape \[2\]"):
        opt.load_state_dict(other.state_dict())


def test_repr_matches_torch() -> None:
    p, tp = tg.randn(2, requires_grad=True), torch.randn(2, requires_grad=True)
    ours = optim.SGD([{"params": [p]}], lr=0.1, momentum=0.9).__repr__().splitlines()
    theirs = torch.optim.SGD([{"params": [tp]}], lr=0.1, momentum=0.9).__repr__().splitlines()
    assert ours == [line for line in theirs if line.split(":")[0].strip() not in ("foreach", "differentiable", "fused")]


# ---------------------------------------------------------------- errors, as PyTorch words them

ERRORS = [
    ("SGD", {"lr": -0.1}), ("SGD", {"momentum": -1.0}), ("SGD", {"weight_decay": -1.0}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -0.1}), ("Adam", {"eps": -1.0}), ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, 1.0)}), ("Adam", {"betas": (0.9, -0.1)}), ("Adam", {"weight_decay": -0.1}),
    ("AdamW", {"lr": -1e-3}), ("RMSprop", {"alpha": -0.5}), ("RMSprop", {"momentum": -0.5}),
    ("RMSprop", {"eps": -1.0}), ("Adagrad", {"lr_decay": -1.0}), ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
]


@pytest.mark.parametrize("name,kwargs", ERRORS)
def test_invalid_options_raise_like_torch(name: str, kwargs: dict) -> None:
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([tg.zeros(1, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_invalid_learning_rate_message() -> None:
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.1$"):
        optim.SGD([tg.zeros(1, requires_grad=True)], lr=-0.1)


def test_empty_parameter_list() -> None:
    """The course notes' bug: layers kept in a plain Python list are not registered, so the
    model has no parameters."""
    for params in ([], iter([]), (p for p in [])):
        with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
            optim.SGD(params, lr=0.01)


def test_bad_params() -> None:
    p = tg.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, 3.0])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}])


# ---------------------------------------------------------------- kernels: C against the NumPy twin

def _kernel_args(name: str, rng: np.random.Generator, shape: tuple, dtype, flags: tuple[bool, bool, bool]):
    """(param, grad, state..., scalars...) for one kernel call; flags pick the optional buffers."""
    def arr(positive: bool = False, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
        x = rng.standard_normal(shape)
        return np.array((np.abs(x) if positive else x) * scale + shift, dtype)  # an array even when 0-d
    a, b, c = flags
    wd, maximize = (0.1 if a else 0.0), b
    if name == "sgd_step":
        mom = 0.9 if b else 0.0
        return (arr(), arr(), arr(), 0.1, mom, 0.2 if a else 0.0, wd, b and not a, c, c)
    if name == "adam_step":
        return (arr(), arr(), arr(), arr(True), arr(True) if c else None, 0.01, 0.9, 0.99, 1e-6, wd, b, 3.0, a)
    if name == "rmsprop_step":
        sq = arr(True, shift=1.0)  # square_avg >= grad_avg**2 keeps the centered sqrt real
        return (arr(), arr(), sq, arr(True, scale=0.1) if b else None, arr() if c else None, 0.01, 0.9, 1e-6, wd,
                0.5, a)
    return (arr(), arr(), arr(True), 0.05, wd, 1e-8, b)


KERNELS = ["sgd_step", "adam_step", "rmsprop_step", "adagrad_step"]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(KERNELS), shape=st.lists(st.integers(0, 9), max_size=3).map(tuple),
       dtype=st.sampled_from([np.float32, np.float64]), flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
       seed=st.integers(0, 2**16), transposed=st.booleans())
def test_c_kernels_match_numpy_twin(c_kernels, name, shape, dtype, flags, seed, transposed) -> None:
    args = _kernel_args(name, np.random.default_rng(seed), shape, dtype, flags)
    # Transposed (non-contiguous when 2-D+): the C wrapper works through dense copies and writes back.
    view = (lambda a: a.T) if transposed else (lambda a: a)
    copies = [tuple(view(a.copy()) if isinstance(a, np.ndarray) else a for a in args) for _ in range(2)]
    getattr(c_kernels, name)(*copies[0])
    getattr(numpy_kernels, name)(*copies[1])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for x, y in zip(*copies):
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


def test_kernel_argument_errors(kernels) -> None:
    k = kernels
    p, g = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"adagrad_step: grad has shape \[3, 2\] but param has shape \[2, 3\]"):
        k.adagrad_step(p, g.reshape(3, 2), np.zeros_like(p), 0.1, 0.0, 1e-10, False)
    with pytest.raises(TypeError, match="adam_step: state buffer 1 has dtype float64 but param has dtype float32"):
        k.adam_step(p, g, np.zeros_like(p), np.zeros((2, 3)), None, 0.1, 0.9, 0.99, 1e-8, 0, False, 1.0, False)
    with pytest.raises(TypeError, match="param must be float32 or float64, got int64"):
        k.sgd_step(np.zeros(3, np.int64), np.zeros(3, np.int64), None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(TypeError, match="param and grad must be numpy.ndarray"):
        k.sgd_step([1.0], g, None, 0.1, 0, 0, 0, False, False, False)
    ro = np.zeros((2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="rmsprop_step: param is read-only"):
        k.rmsprop_step(ro, g, np.zeros_like(p), None, None, 0.1, 0.9, 1e-8, 0, 0, False)
    with pytest.raises(ValueError, match="sgd_step: momentum != 0 needs a momentum_buf"):
        k.sgd_step(p, g, None, 0.1, 0.9, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="adam_step: step must be >= 1"):
        k.adam_step(p, g, np.zeros_like(p), np.zeros_like(p), None, 0.1, 0.9, 0.99, 1e-8, 0, False, 0.0, False)


def test_c_kernels_reject_bad_sizes_and_null(c_kernels) -> None:
    """The C functions check their own arguments too (a caller that bypasses the wrapper)."""
    from tinygrad_edu._C import ffi, lib
    x = np.zeros(4, np.float32)
    ptr = ffi.from_buffer("float[]", x)
    assert lib.tg_sgd_step_f32(ptr, ptr, ffi.NULL, -1, 0.1, 0, 0, 0, 0, 0, 0) == lib.TG_ERR_SIZE
    assert lib.tg_adagrad_step_f32(ffi.NULL, ptr, ptr, 4, 0.1, 0, 1e-10, 0) == lib.TG_ERR_NULL
    assert lib.tg_sgd_step_f32(ptr, ptr, ffi.NULL, 4, 0.1, 0.9, 0, 0, 0, 0, 1) == lib.TG_ERR_NULL
    assert lib.tg_sgd_step_f32(ptr, ptr, ffi.NULL, 4, 0.1, 0.0, 0, 0, 0, 0, 1) == lib.TG_OK
    assert lib.tg_adam_step_f32(ptr, ptr, ptr, ffi.NULL, ffi.NULL, 4, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1.0, 0) \
        == lib.TG_ERR_NULL


# ---------------------------------------------------------------- lr_scheduler

SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95 ** epoch}),
]


def _pair_optimizers() -> tuple:
    groups = lambda lib: [{"params": [lib.zeros(1, requires_grad=True)]},
                          {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.05}]
    return optim.SGD(groups(tg), lr=0.1, momentum=0.9), torch.optim.SGD(groups(torch), lr=0.1, momentum=0.9)


@pytest.mark.parametrize("name,kwargs", SCHEDULERS)
def test_scheduler_matches_torch(name: str, kwargs: dict) -> None:
    ours_opt, theirs_opt = _pair_optimizers()
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    assert ours.get_last_lr() == theirs.get_last_lr() and ours.base_lrs == theirs.base_lrs
    for _ in range(30):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()  # exactly: the same float operations
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in theirs_opt.param_groups]
        assert ours.last_epoch == theirs.last_epoch
    assert [g["initial_lr"] for g in ours_opt.param_groups] == [0.1, 0.05]


@pytest.mark.parametrize("name,kwargs", SCHEDULERS[:4])
def test_scheduler_resumes_from_saved_state(tmp_path, name: str, kwargs: dict) -> None:
    opt, _ = _pair_optimizers()
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for _ in range(9):
        opt.step()
        sched.step()
    tg.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.pt")
    ckpt = tg.load(tmp_path / "s.pt")
    opt2, _ = _pair_optimizers()
    opt2.load_state_dict(ckpt["optim"])
    sched2 = getattr(lr_scheduler, name)(opt2, **kwargs, last_epoch=8)
    sched2.load_state_dict(ckpt["sched"])
    for _ in range(12):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched2.get_last_lr() == sched.get_last_lr()


def test_scheduler_warns_when_stepped_before_optimizer() -> None:
    opt, _ = _pair_optimizers()
    sched = lr_scheduler.StepLR(opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2, _ = _pair_optimizers()
    sched2 = lr_scheduler.ExponentialLR(opt2, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
    assert math.isclose(sched2.get_last_lr()[0], 0.05)


def test_scheduler_errors() -> None:
    opt, _ = _pair_optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, 3, last_epoch=4)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])


PLATEAU = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": [0.02, 0.0]},
    {"patience": 1, "threshold": 0.05, "threshold_mode": "abs", "min_lr": 0.01},
    {"mode": "max", "patience": 0, "threshold_mode": "abs", "factor": 0.9, "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kwargs: dict) -> None:
    metrics = np.random.default_rng(6).standard_normal(60).cumsum() * 0.1  # a noisy plateau-ish curve
    ours_opt, theirs_opt = _pair_optimizers()
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
    for i, m in enumerate(metrics):
        ours.step(tg.tensor(m) if i % 2 else float(m))
        theirs.step(float(m))
        assert ours.get_last_lr() == theirs.get_last_lr(), f"epoch {i}"
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == \
               (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)


def test_reduce_lr_on_plateau_errors() -> None:
    opt, _ = _pair_optimizers()
    for kwargs, message in [({"factor": 1.0}, "Factor should be < 1.0."), ({"mode": "avg"}, "mode avg is unknown!"),
                            ({"threshold_mode": "x"}, "threshold mode x is unknown!"),
                            ({"min_lr": [0.1]}, "expected 2 min_lrs, got 1")]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            lr_scheduler.ReduceLROnPlateau(opt, **kwargs)


def test_package_layout() -> None:
    """`tinygrad_edu.optim` loads lazily and exposes torch.optim's names."""
    assert tg.optim is optim and tg.optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    assert lr_scheduler._LRScheduler is lr_scheduler.LRScheduler
    assert set(optim.__all__) >= {"Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"}


def test_reduce_lr_on_plateau_state_round_trip(tmp_path) -> None:
    """Its state holds best = inf before the first step: save/load must keep that too."""
    metrics = np.random.default_rng(7).standard_normal(30).cumsum() * 0.1
    opt, _ = _pair_optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    tg.save(sched.state_dict(), tmp_path / "fresh.pt")
    assert tg.load(tmp_path / "fresh.pt")["best"] == math.inf
    for m in metrics[:10]:
        sched.step(m)
    tg.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "p.pt")
    ckpt = tg.load(tmp_path / "p.pt")
    opt2, _ = _pair_optimizers()
    opt2.load_state_dict(ckpt["optim"])
    sched2 = lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(ckpt["sched"])
    for m in metrics[10:]:
        sched.step(m)
        sched2.step(m)
        assert sched2.get_last_lr() == sched.get_last_lr()
    assert sched.get_last_lr() != [0.1, 0.05]  # the schedule did reduce

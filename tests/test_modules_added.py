"""nn.GELU, nn.Dropout2d, optim.Adadelta and lr_scheduler.OneCycleLR against torch."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from helpers import check_op


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate, dtype):
    check_op(lambda lib, x: lib.nn.functional.gelu(x, approximate=approximate), (4, 5), dtype=dtype, low=-4, high=4)
    check_op(lambda lib, x: lib.nn.GELU(approximate)(x), np.array([0.0, -1e-3, 8.0, -8.0, 1.5]), dtype=dtype)
    x, xt = tg.tensor([0.3, -1.2, 2.0], dtype=getattr(tg, dtype), requires_grad=True), \
        torch.tensor([0.3, -1.2, 2.0], dtype=getattr(torch, dtype), requires_grad=True)
    (g,) = tg.autograd.grad(tg.nn.functional.gelu(x, approximate=approximate).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.gelu(xt, approximate=approximate).sum(), xt, create_graph=True)
    (gg,), (ggt,) = tg.autograd.grad(g.sum(), x), torch.autograd.grad(gt.sum(), xt)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=tol, atol=tol)
    assert repr(tg.nn.GELU(approximate)) == repr(torch.nn.GELU(approximate))


def test_gelu_errors():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        tg.nn.functional.gelu(tg.ones(2), approximate="fast")


def test_dropout2d_zeros_whole_channels():
    tg.manual_seed(0)
    x = tg.ones(64, 32, 3, 3)
    y = tg.nn.Dropout2d(p=0.25)(x).numpy()
    per_channel = y.reshape(64, 32, 9)
    assert np.all((per_channel == per_channel[..., :1]))  # a channel is kept or dropped whole
    kept = per_channel[..., 0] != 0
    assert abs(kept.mean() - 0.75) < 0.03 and np.allclose(per_channel[kept], 1 / 0.75)
    model = tg.nn.Dropout2d(0.5)
    model.eval()
    assert model(x) is x
    assert repr(model) == repr(torch.nn.Dropout2d(0.5))
    x = tg.ones(2, 3, 4, 4, requires_grad=True)
    out = tg.nn.functional.dropout2d(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        assert tuple(tg.nn.functional.dropout2d(tg.ones(3, 4, 5), 0.5).shape) == (3, 4, 5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        tg.nn.Dropout2d(1.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-4}, {"weight_decay": 0.1},
                                    {"maximize": True}])
def test_adadelta_matches_torch(kwargs, dtype):
    rng = np.random.default_rng(0)
    w0, grads = rng.normal(size=(4, 3)).astype(dtype), [rng.normal(size=(4, 3)).astype(dtype) for _ in range(6)]
    params = []
    for lib in (tg, torch):
        p = lib.nn.Parameter(lib.tensor(w0))
        opt = lib.optim.Adadelta([p], **kwargs)
        for g in grads:
            p.grad = lib.tensor(g)
            opt.step()
        params.append((p.detach().numpy(), opt.state[p]["square_avg"].numpy(), opt.state[p]["acc_delta"].numpy(),
                       float(opt.state[p]["step"])))
    tol = 1e-6 if dtype == "float32" else 1e-13
    for a, b in zip(*params):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_adadelta_errors_and_state_dict():
    for kwargs, message in (({"lr": -1}, "Invalid learning rate: -1"), ({"rho": 1.5}, "Invalid rho value: 1.5"),
                            ({"eps": -1}, "Invalid epsilon value: -1"),
                            ({"weight_decay": -1}, "Invalid weight_decay value: -1")):
        with pytest.raises(ValueError, match=message):
            tg.optim.Adadelta([tg.nn.Parameter(tg.ones(1))], **kwargs)
    p = tg.nn.Parameter(tg.ones(2))
    opt = tg.optim.Adadelta([p])
    assert opt.state_dict()["param_groups"][0]["rho"] == 0.9 and opt.state[p] == {}


SCHEDULES = [
    (dict(max_lr=1.0, total_steps=20), "SGD"), (dict(max_lr=0.5, total_steps=17, anneal_strategy="linear"), "SGD"),
    (dict(max_lr=0.1, epochs=3, steps_per_epoch=5, three_phase=True), "SGD"),
    (dict(max_lr=[0.1, 0.2], total_steps=12, pct_start=0.5, div_factor=10.0, final_div_factor=100.0), "SGD"),
    (dict(max_lr=0.01, total_steps=15), "Adam"), (dict(max_lr=0.01, total_steps=15, cycle_momentum=False), "Adam"),
]


@pytest.mark.parametrize("kwargs,optimizer", SCHEDULES)
def test_one_cycle_lr_matches_torch(kwargs, optimizer):
    runs = []
    for lib in (tg, torch):
        params = [lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3))]
        groups = [{"params": params[:1]}, {"params": params[1:]}] if isinstance(kwargs["max_lr"], list) \
            else [{"params": params}]
        opt = lib.optim.SGD(groups, lr=0.1, momentum=0.9) if optimizer == "SGD" else lib.optim.Adam(groups)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, **kwargs)
        total = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
        seen = [(list(sched.get_last_lr()), [g.get("momentum", g.get("betas")) for g in opt.param_groups])]
        for _ in range(total - 1):
            opt.step()
            sched.step()
            seen.append((list(sched.get_last_lr()), [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
        runs.append(seen)
    assert len(runs[0]) == len(runs[1])
    for (lr_a, m_a), (lr_b, m_b) in zip(*runs):
        np.testing.assert_allclose(lr_a, lr_b, rtol=1e-12)
        assert np.allclose(np.array(m_a, dtype=float), np.array(m_b, dtype=float), rtol=1e-12)


def test_one_cycle_lr_errors_match_torch():
    def make(lib, **kwargs):
        return lib.optim.lr_scheduler.OneCycleLR(lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1,
                                                               momentum=0.9), **kwargs)
    cases = [dict(max_lr=1.0), dict(max_lr=1.0, total_steps=0), dict(max_lr=1.0, total_steps=5, pct_start=1.5),
             dict(max_lr=1.0, total_steps=5, anneal_strategy="exp"), dict(max_lr=[1.0, 2.0], total_steps=5)]
    for kwargs in cases:
        with pytest.raises(ValueError) as theirs:
            make(torch, **kwargs)
        with pytest.raises(ValueError) as ours:
            make(tg, **kwargs)
        assert str(ours.value) == str(theirs.value)
    for lib in (tg, torch):
        sched = make(lib, max_lr=1.0, total_steps=2)
        sched.optimizer.step()
        sched.step()
        sched.step()
        with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
            sched.step()
    with pytest.raises(ValueError, match="optimizer must support momentum"):
        tg.optim.lr_scheduler.OneCycleLR(tg.optim.Adagrad([tg.nn.Parameter(tg.ones(1))]), max_lr=1.0, total_steps=3)

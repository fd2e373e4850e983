"""`check_module`: one module's forward, its input's gradient and every parameter's gradient,
tinygrad_edu against torch, with torch's weights copied into ours through load_state_dict."""
from __future__ import annotations

import numpy as np
import torch

import tinygrad_edu as tg
from helpers import TOLERANCE


def to_tg_state(module: torch.nn.Module) -> dict:
    return {k: tg.tensor(v.detach().numpy().copy()) for k, v in module.state_dict().items()}


def check_module(make, shape, dtype: str = "float32", seed: int = 0, train: bool = True, tol=None):
    """`make(lib)` builds the module in tinygrad_edu and torch; compare forward and backward.

    Returns (ours, theirs) modules so that state (running stats) can be compared after."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    theirs, ours = make(torch.nn), make(tg.nn)
    theirs.to(getattr(torch, dtype)).train(train)
    ours.to(getattr(tg, dtype)).train(train)
    ours.load_state_dict(to_tg_state(theirs))
    xt, xo = torch.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    yt, yo = theirs(xt), ours(xo)
    rtol, atol = tol or TOLERANCE[dtype]
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    assert str(yo.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    assert type(yo.grad_fn).__name__ == type(yt.grad_fn).__name__, "grad_fn"
    upstream = rng.uniform(-1, 1, tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(upstream))
    yo.backward(tg.tensor(upstream))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol, err_msg="input grad")
    named_t = dict(theirs.named_parameters())
    named_o = dict(ours.named_parameters())
    assert list(named_o) == list(named_t)
    for k, p in named_t.items():
        assert (named_o[k].grad is None) == (p.grad is None), k
        if p.grad is not None:
            np.testing.assert_allclose(named_o[k].grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol, err_msg=k)
    return ours, theirs


def assert_state_equal(ours: tg.nn.Module, theirs: torch.nn.Module, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st)
    for k in st:
        np.testing.assert_allclose(so[k].numpy(), st[k].numpy(), rtol=rtol, atol=atol, err_msg=k)
        assert str(so[k].dtype).split(".")[-1] == str(st[k].dtype).split(".")[-1], k

"""Every unary op's backward on a 0-d tensor, against torch (the scalar-tanh bug: NumPy's ufuncs
return a NumPy scalar, not a 0-d array, for a 0-d input), first and second order."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg

UNARY = {
    "neg": lambda lib, x: x.neg(), "abs": lambda lib, x: x.abs(), "exp": lambda lib, x: x.exp(),
    "log": lambda lib, x: x.log(), "sqrt": lambda lib, x: x.sqrt(), "sin": lambda lib, x: x.sin(),
    "cos": lambda lib, x: x.cos(), "sigmoid": lambda lib, x: x.sigmoid(), "tanh": lambda lib, x: x.tanh(),
    "relu": lambda lib, x: x.relu(), "reciprocal": lambda lib, x: x.reciprocal(),
    "square": lambda lib, x: x ** 2, "rsqrt_pow": lambda lib, x: x ** -0.5, "exp2": lambda lib, x: 2 ** x,
    "clamp": lambda lib, x: x.clamp(0.1, 0.4), "sum": lambda lib, x: x.sum(), "mean": lambda lib, x: x.mean(),
    "softmax": lambda lib, x: x.softmax(0), "log_softmax": lambda lib, x: x.log_softmax(0),
    "logsumexp": lambda lib, x: x.logsumexp(0), "max": lambda lib, x: x.max(), "amax": lambda lib, x: x.amax(),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.1), "elu": lambda lib, x: lib.nn.functional.elu(x),
    "silu": lambda lib, x: lib.nn.functional.silu(x), "softplus": lambda lib, x: lib.nn.functional.softplus(x),
    "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x, -0.2, 0.2),
    "log1p": lambda lib, x: x.log1p(), "erf": lambda lib, x: x.erf(), "norm": lambda lib, x: x.norm(),
    "prod": lambda lib, x: x.prod(), "gelu": lambda lib, x: lib.nn.functional.gelu(x),
    "gelu_tanh": lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"),
    "repeat": lambda lib, x: x.repeat(3).sum(), "sort": lambda lib, x: x.reshape(1).sort().values.sum(),
    "topk": lambda lib, x: x.reshape(1).topk(1).values.sum(), "einsum": lambda lib, x: lib.einsum("->", x),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_backward_on_0d(name, dtype):
    fn, tol = UNARY[name], 1e-6 if dtype == "float32" else 1e-12
    for value in (0.5, -0.3):
        if name in ("log", "sqrt", "rsqrt_pow") and value < 0:
            continue
        x, xt = tg.tensor(value, dtype=getattr(tg, dtype), requires_grad=True), \
            torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True)
        y, yt = fn(tg, x), fn(torch, xt)
        assert y.shape == yt.shape == ()
        (g,), (gt,) = tg.autograd.grad(y, x, create_graph=True), torch.autograd.grad(yt, xt, create_graph=True)
        assert isinstance(g.detach().numpy(), np.ndarray) and g.dtype == x.dtype
        np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=tol, atol=tol)
        # second order, through the saved output where the op saves it (exp, tanh, sigmoid ...)
        ggt = torch.autograd.grad(gt, xt, allow_unused=True)[0] if gt.requires_grad else None
        ggt = 0.0 if ggt is None else ggt.item()
        gg = tg.autograd.grad(g, x, allow_unused=True)[0] if g.requires_grad else None
        gg = 0.0 if gg is None else gg.item()
        assert abs(gg - ggt) <= tol * (1 + abs(ggt)), f"second derivative {gg} != torch's {ggt}"

def test_scalar_tanh_backward_from_the_issue():
    x = tg.tensor(0.5, requires_grad=True)
    x.tanh().backward()
    assert abs(x.grad.item() - (1 - np.tanh(0.5) ** 2)) < 1e-7

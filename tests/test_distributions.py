"""tinygrad_edu.distributions against torch.distributions: log_prob, entropy, mean, variance, stddev,
mode and their gradients (float32 and float64), validation errors, and samples' statistics."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import distributions as D

TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}
RNG = np.random.default_rng(0)

# name -> (parameters as arrays, a value generator for log_prob)
CASES = {
    "Normal": (lambda: {"loc": RNG.normal(size=(3, 4)), "scale": RNG.uniform(0.5, 2, (4,))},
               lambda: RNG.normal(size=(3, 4))),
    "Exponential": (lambda: {"rate": RNG.uniform(0.5, 3, (5,))}, lambda: RNG.uniform(0, 3, (2, 5))),
    "Weibull": (lambda: {"scale": RNG.uniform(0.5, 2, (4,)), "concentration": RNG.uniform(0.5, 3, (4,))},
                lambda: RNG.uniform(0.1, 3, (4,))),
    "Uniform": (lambda: {"low": RNG.uniform(-2, -1, (4,)), "high": RNG.uniform(1, 2, (4,))},
                lambda: RNG.uniform(-1, 1, (3, 4))),
    "Poisson": (lambda: {"rate": RNG.uniform(0.5, 5, (6,))}, lambda: RNG.integers(0, 8, (6,)).astype(float)),
    "Bernoulli": (lambda: {"probs": RNG.uniform(0.05, 0.95, (5,))}, lambda: RNG.integers(0, 2, (5,)).astype(float)),
    "Bernoulli_logits": (lambda: {"logits": RNG.normal(size=(5,))}, lambda: RNG.integers(0, 2, (5,)).astype(float)),
    "Categorical": (lambda: {"probs": RNG.uniform(0.1, 1, (3, 4))}, lambda: RNG.integers(0, 4, (2, 3))),
    "Categorical_logits": (lambda: {"logits": RNG.normal(size=(3, 4))}, lambda: RNG.integers(0, 4, (3,))),
}
STATS = ("mean", "variance", "stddev", "mode")


def _make(lib, name, params, dtype):
    cls = getattr(lib.distributions, name.split("_")[0])
    tensors = {k: lib.tensor(v.astype(dtype), requires_grad=True) for k, v in params.items()}
    return cls(**tensors), tensors


def _value(lib, v, dtype):
    return lib.tensor(v.astype(dtype)) if v.dtype.kind == "f" else lib.tensor(v)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype):
    make_params, make_value = CASES[name]
    params, value = make_params(), make_value()
    ours, ours_p = _make(tg, name, params, dtype)
    theirs, theirs_p = _make(torch, name, params, dtype)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert repr(ours).replace("tinygrad_edu.Size", "torch.Size") == repr(theirs)
    results = {"log_prob": (ours.log_prob(_value(tg, value, dtype)), theirs.log_prob(_value(torch, value, dtype)))}
    try:
        results["entropy"] = (ours.entropy(), theirs.entropy())
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.entropy()
    for stat in STATS:
        t = getattr(theirs, stat)
        results[stat] = (getattr(ours, stat), t)
    for what, (o, t) in results.items():
        assert tuple(o.shape) == tuple(t.shape), what
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), err_msg=what, equal_nan=True,
                                   **TOL[dtype])
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], what
        if not t.requires_grad or not t.dtype.is_floating_point or what == "mode":
            continue
        up = RNG.uniform(-1, 1, tuple(t.shape)).astype(dtype)
        og = tg.autograd.grad(o, list(ours_p.values()), tg.tensor(up), retain_graph=True, allow_unused=True)
        tg_ = torch.autograd.grad(t, list(theirs_p.values()), torch.tensor(up), retain_graph=True, allow_unused=True)
        for k, a, b in zip(ours_p, og, tg_):
            if b is None:
                assert a is None or not a.numpy().any(), (what, k)
            else:
                np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=f"d {what} / d {k}", **TOL[dtype])


INVALID = [
    ("Normal", lambda lib: lib.distributions.Normal(lib.zeros(2), lib.tensor([1.0, -1.0]))),
    ("Exponential value", lambda lib: lib.distributions.Exponential(lib.tensor([1.0, 2.0])).log_prob(
        lib.tensor([-1.0, 1.0]))),
    ("Bernoulli both", lambda lib: lib.distributions.Bernoulli(probs=0.3, logits=1.0)),
    ("Bernoulli probs", lambda lib: lib.distributions.Bernoulli(lib.tensor([0.2, 1.5]))),
    ("Bernoulli value", lambda lib: lib.distributions.Bernoulli(lib.tensor(0.3)).log_prob(lib.tensor(0.5))),
    ("Uniform order", lambda lib: lib.distributions.Uniform(1.0, 0.0)),
    ("Uniform value", lambda lib: lib.distributions.Uniform(0.0, 1.0).log_prob(lib.tensor(2.0))),
    ("Categorical", lambda lib: lib.distributions.Categorical(probs=lib.tensor([0.5, -0.1]))),
    ("Categorical value", lambda lib: lib.distributions.Categorical(lib.ones(3)).log_prob(lib.tensor(3))),
    ("Poisson value", lambda lib: lib.distributions.Poisson(lib.tensor(1.0)).log_prob(lib.tensor(0.5))),
    ("Weibull", lambda lib: lib.distributions.Weibull(lib.tensor([1.0]), lib.tensor([0.0]))),
    ("Poisson entropy", lambda lib: lib.distributions.Poisson(lib.tensor(1.0)).entropy()),
    ("Bernoulli rsample", lambda lib: lib.distributions.Bernoulli(lib.tensor(0.3)).rsample()),
]


@pytest.mark.parametrize("case", INVALID, ids=[c[0] for c in INVALID])
def test_validation_errors_match_torch(case):
    _, fn = case
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(tg)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value).replace("tinygrad_edu.Size", "torch.Size") == str(theirs.value)


def test_validation_can_be_turned_off():
    d = D.Uniform(0.0, 1.0, validate_args=False)
    assert d.log_prob(tg.tensor(2.0)).item() == float("-inf") == torch.distributions.Uniform(
        0.0, 1.0, validate_args=False).log_prob(torch.tensor(2.0)).item()
    D.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
    finally:
        D.set_default_validate_args(True)


@pytest.mark.parametrize("name,params", [
    ("Normal", {"loc": [0.5, -1.0], "scale": [1.0, 2.0]}), ("Exponential", {"rate": [0.5, 2.0]}),
    ("Weibull", {"scale": [1.0, 2.0], "concentration": [0.8, 3.0]}), ("Uniform", {"low": [-1.0, 2.0], "high": [1.0, 5.0]}),
    ("Poisson", {"rate": [0.7, 4.0]}), ("Bernoulli", {"probs": [0.2, 0.7]}),
])
def test_samples_have_the_distributions_moments(name, params):
    tg.manual_seed(0)
    d = getattr(D, name)(**{k: tg.tensor(v, dtype=tg.float64) for k, v in params.items()})
    x = d.sample((40000,))
    assert tuple(x.shape) == (40000, 2) and x.dtype == tg.float64 and not x.requires_grad
    assert bool(d.support.check(x).all())
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    assert np.all(np.abs(x.numpy().mean(0) - mean) < 5 * np.sqrt(var / 40000)), (x.numpy().mean(0), mean)
    np.testing.assert_allclose(x.numpy().var(0), var, rtol=0.05)


def test_categorical_samples_follow_probs():
    tg.manual_seed(1)
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    x = D.Categorical(probs=tg.tensor(p)).sample((30000,))
    assert tuple(x.shape) == (30000, 2) and x.dtype == tg.int64
    freq = np.stack([np.bincount(x.numpy()[:, i], minlength=3) / 30000 for i in range(2)])
    np.testing.assert_allclose(freq, p, atol=0.015)


def test_rsample_gradients_flow_through_the_parameters():
    tg.manual_seed(2)
    loc, scale = tg.tensor([0.5, -1.0], requires_grad=True), tg.tensor([1.5, 0.5], requires_grad=True)
    x = D.Normal(loc, scale).rsample((5,))
    x.sum().backward()
    eps = (x.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
    np.testing.assert_allclose(loc.grad.numpy(), [5, 5])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-5)
    rate = tg.tensor([0.5, 2.0], requires_grad=True)
    x = D.Exponential(rate).rsample((7,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), (-x.detach().numpy() / rate.detach().numpy()).sum(0), rtol=1e-5)
    low, high = tg.tensor(0.0, requires_grad=True), tg.tensor(2.0, requires_grad=True)
    x = D.Uniform(low, high).rsample((9,))
    x.sum().backward()
    u = x.detach().numpy() / 2
    np.testing.assert_allclose([low.grad.item(), high.grad.item()], [(1 - u).sum(), u.sum()], rtol=1e-5)
    with pytest.raises(NotImplementedError):
        D.Poisson(tg.tensor(1.0)).rsample()


def _notes_net(lib, out_features, weights):
    net = lib.nn.Sequential(lib.nn.Linear(3, 8), lib.nn.Tanh(), lib.nn.Linear(8, out_features), lib.nn.Softplus())
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    return net


def test_the_notes_exponential_and_weibull_nll_run_as_written():
    rng = np.random.default_rng(3)
    X0, y0 = rng.normal(size=(16, 3)).astype("float32"), rng.uniform(0.1, 3, (16,)).astype("float32")
    shapes = [(8, 3), (8,), (None,), (None,)]
    for out_features in (1, 2):
        weights = [rng.normal(size=s if s[0] else (out_features, 8) if i == 2 else (out_features,)).astype("float32")
                   * 0.5 for i, s in enumerate(shapes)]
        results = []
        for torch_ in (tg, torch):  # the notes' code, with `torch` each library in turn
            net, X = _notes_net(torch_, out_features, weights), torch_.tensor(X0)
            y = torch_.tensor(y0 if out_features == 1 else y0[:, None])
            if out_features == 1:
                p = net(X).squeeze(1)
                dist = torch_.distributions.exponential.Exponential(p)
            else:
                p = net(X)
                scale_p = torch_.clamp(p[:, 0].unsqueeze(1), min=1e-6)
                concentration_p = torch_.clamp(p[:, 1].unsqueeze(1), min=1e-6)
                dist = torch_.distributions.weibull.Weibull(scale_p, concentration_p)
            loss = -dist.log_prob(y)
            sum_loss = loss.sum()
            sum_loss.backward()
            results.append([sum_loss.item()] + [q.grad.numpy() for q in net.parameters()])
        np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
        for a, b in zip(results[0][1:], results[1][1:]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

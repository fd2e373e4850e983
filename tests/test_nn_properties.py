"""Property tests for nn: cross_entropy / nll_loss against torch on random shapes, class counts,
targets (with ignored entries), weights, reductions and smoothing; Linear on random shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg

# all targets ignored: the mean is 0/0 = nan in both libraries
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@st.composite
def classification_case(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 7))
    extra = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c, *extra)) * draw(st.sampled_from([1.0, 30.0]))
    target = rng.integers(0, c, (n, *extra))
    target[rng.random(target.shape) < draw(st.sampled_from([0.0, 0.3]))] = -100
    weight = rng.uniform(0.1, 2.0, c) if draw(st.booleans()) else None
    return logits, target, weight, draw(st.sampled_from(["mean", "sum", "none"])), \
        draw(st.sampled_from([0.0, 0.2]))


@settings(max_examples=40, deadline=None)
@given(classification_case())
def test_cross_entropy_matches_torch(case):
    logits, target, weight, reduction, smoothing = case
    results = []
    for lib in (tg, torch):
        x = lib.tensor(logits, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(target), None if weight is None else lib.tensor(weight),
                                               reduction=reduction, label_smoothing=smoothing)
        loss.sum().backward()
        results.append((loss.detach().numpy(), x.grad.numpy()))
    (ours, ours_grad), (theirs, theirs_grad) = results
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9, equal_nan=True)  # nan: all targets ignored
    np.testing.assert_allclose(ours_grad, theirs_grad, rtol=1e-9, atol=1e-9, equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 5), st.booleans(), st.integers(0, 999))
def test_linear_matches_torch(batch_shape, out_features, bias, seed):
    rng = np.random.default_rng(seed)
    in_features = batch_shape[-1]
    x = rng.standard_normal(batch_shape)
    theirs = torch.nn.Linear(in_features, out_features, bias=bias).double()
    ours = tg.nn.Linear(in_features, out_features, bias=bias).double()
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)

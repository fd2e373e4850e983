"""nn.utils against torch.nn.utils: gradient clipping by norm and value, parameters <-> vector."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tinygrad_edu as tg


def models_with_grads(seed: int = 0, scale: float = 3.0):
    rng = np.random.default_rng(seed)
    pair = []
    for lib in (tg, torch):
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2, bias=False))
        for i, p in enumerate(model.parameters()):
            with lib.no_grad():
                p.copy_(lib.tensor(np.random.default_rng(i).standard_normal(tuple(p.shape)).astype(np.float32)))
            p.grad = lib.tensor((rng.standard_normal(tuple(p.shape)) * scale).astype(np.float32))
        rng = np.random.default_rng(seed)  # same gradients for the second library
        pair.append(model)
    return pair


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = models_with_grads()
    total_o = tg.nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
    np.testing.assert_allclose(total_o.item(), total_t.item(), rtol=1e-5)
    assert total_o.dtype is tg.float32
    for po, pt in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(po.grad.numpy(), pt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_value_and_errors_match_torch():
    ours, theirs = models_with_grads()
    assert tg.nn.utils.clip_grad_value_(ours.parameters(), 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.7)
    for po, pt in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(po.grad.numpy(), pt.grad.numpy())
    ours[0].weight.grad[0, 0] = float("inf")
    with pytest.raises(RuntimeError, match="non-finite"):
        tg.nn.utils.clip_grad_norm_(ours.parameters(), 1.0, error_if_nonfinite=True)
    assert tg.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    single = tg.ones(3, requires_grad=True)
    single.grad = tg.tensor([3.0, 4.0, 0.0])
    assert tg.nn.utils.clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)


def test_parameters_to_vector_and_back():
    ours, theirs = models_with_grads()
    vo, vt = tg.nn.utils.parameters_to_vector(ours.parameters()), torch.nn.utils.parameters_to_vector(
        theirs.parameters())
    np.testing.assert_array_equal(vo.detach().numpy(), vt.detach().numpy())
    assert type(vo.grad_fn).__name__ == type(vt.grad_fn).__name__ == "CatBackward0"
    tg.nn.utils.vector_to_parameters(vo.detach() * 2, ours.parameters())
    np.testing.assert_allclose(ours[0].weight.detach().numpy(), 2 * theirs[0].weight.detach().numpy())
    with pytest.raises(RuntimeError, match="vector has 3 elements but the parameters have 24"):
        tg.nn.utils.vector_to_parameters(tg.ones(3), ours.parameters())

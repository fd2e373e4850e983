"""The NumPy twins give exactly what the plain formulas and torch give (issue 14).

sgd_step and adam_step read ``grad`` in place instead of copying it (a performance trick);
relu_backward is checked bit for bit against torch. These check the bits on the inputs where a
trick could go wrong: infinities and NaNs, signed zeros, strided views, 0-d arrays, a grad that
aliases a buffer.
"""
import numpy as np
import pytest
import torch

from tinygrad_edu.backend.numpy import activations, optim

SPECIALS = [np.inf, -np.inf, np.nan, -0.0, 0.0, 1.0, -1.0, 1e-40]  # 1e-40: a float32 subnormal


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(f"i{a.itemsize}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_bits_match_torch_on_special_values(dtype):
    g, o = np.meshgrid(np.array(SPECIALS, dtype), np.array(SPECIALS, dtype))  # every pair
    got = activations.relu_backward(g, o)
    assert got.dtype == dtype and got.shape == g.shape and got.flags.c_contiguous
    # the formula the C kernel and the twin share, NaN and the sign of zero included
    np.testing.assert_array_equal(_bits(got), _bits(np.where(o <= 0, dtype(0), g)))
    # and torch's, bit for bit: where relu's output is NaN, grad passes through
    want = torch.ops.aten.threshold_backward(torch.from_numpy(g), torch.from_numpy(o), 0).numpy()
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("layout", ["transposed", "sliced", "0-d", "empty"])
def test_relu_backward_views_match_np_where(layout):
    rng = np.random.default_rng(0)
    g, o = rng.standard_normal((2, 6, 8)).astype(np.float32)
    g[0, 0], o[1, 1] = np.nan, np.nan
    if layout == "transposed":
        g, o = g.T, o.T
    elif layout == "sliced":
        g, o = g[::2, 1::3], o[1::2, ::3]
    elif layout == "0-d":
        g, o = np.array(g[0, 1]), np.array(abs(o[0, 1]))
    else:
        g, o = g[:0], o[:0]
    got = activations.relu_backward(g, o)
    want = np.asarray(np.where(o <= 0, np.float32(0), g))
    assert type(got) is np.ndarray and got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(_bits(got), _bits(want))


def _sgd_twice(grad_is, nesterov=False):
    """Two SGD steps where grad is a copy of the momentum buffer, or the buffer itself."""
    rng = np.random.default_rng(1)
    param, buf = rng.standard_normal((2, 5, 7)).astype(np.float32)
    for first in (True, False):
        grad = buf.copy() if grad_is == "copy" else buf
        before = grad.copy()
        optim.sgd_step(param, grad, buf, 0.1, 0.9, 0.0, 0.0, nesterov, False, first)
        if grad_is == "copy":
            np.testing.assert_array_equal(grad, before)  # read only
    return param, buf


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_step_grad_aliasing_a_buffer_reads_the_old_values(nesterov):
    """grad may be the momentum buffer itself: every element is read before it is written, as
    in the fused C loop, so the result is that of a copied grad."""
    for got, want in zip(_sgd_twice("buf", nesterov), _sgd_twice("copy", nesterov)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("transposed", [False, True])
def test_adam_step_reads_grad_in_place_and_matches_torch(transposed):
    rng = np.random.default_rng(3)
    p0, g0 = rng.standard_normal((2, 6, 4)).astype(np.float32)
    grad = g0.T.copy().T if transposed else g0.copy()  # a non-contiguous grad is read in place too
    param, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    tp = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    topt = torch.optim.Adam([tp], lr=0.01)
    for step in (1, 2, 3):
        optim.adam_step(param, grad, m, v, None, 0.01, 0.9, 0.999, 1e-8, 0.0, False, float(step), False)
        tp.grad = torch.from_numpy(g0.copy())
        topt.step()
    np.testing.assert_array_equal(grad, g0)  # only read
    np.testing.assert_allclose(param, tp.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_adam_step_grad_aliasing_a_written_array():
    """grad may be an array the step writes (v is scaled before grad is squared): the result is
    that of a copied grad, as in the fused C loop."""
    rng = np.random.default_rng(4)
    p, v = rng.standard_normal((2, 8)).astype(np.float32)
    results = []
    for copy in (True, False):
        param, exp_avg, exp_avg_sq = p.copy(), np.zeros(8, np.float32), v * v
        grad = exp_avg_sq.copy() if copy else exp_avg_sq
        optim.adam_step(param, grad, exp_avg, exp_avg_sq, None, 0.01, 0.9, 0.999, 1e-8, 0.1, True, 2.0, False)
        results.append((param, exp_avg, exp_avg_sq))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)


def test_blas_thread_limit_is_set_once_not_per_call(monkeypatch):
    """threadpoolctl's limit costs tens of microseconds: it is applied when the backend or the
    thread count changes, never by a kernel call (a training step makes 30 of them)."""
    pytest.importorskip("threadpoolctl")
    import tinygrad_edu as tg
    from tinygrad_edu import backend, nn
    before = backend.current(), tg.get_num_threads()
    backend.use("numpy")
    try:
        tg.set_num_threads(1)
        calls = []
        monkeypatch.setattr(backend, "_limit_blas_threads", lambda: calls.append(1))
        model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
        loss = nn.CrossEntropyLoss()(model(tg.randn(8, 20)), tg.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
        loss.backward()
        assert calls == [] and model[0].weight.grad is not None
    finally:
        monkeypatch.undo()
        backend.use(before[0])
        tg.set_num_threads(before[1])

"""csrc/rnn.c (lstm_cell, gru_cell and their backwards) against torch and against its NumPy twin,
float32 and float64: values, every gradient, unaligned and empty inputs, argument errors, and the
C functions' own checks (C never trusts its caller). In the sanitizer stage's list in .ci/run."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tinygrad_edu.backend import numpy_kernels

TOL = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6), np.dtype(np.float64): dict(rtol=1e-13, atol=1e-14)}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


def unaligned(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` at an odd address (NumPy's ``aligned`` flag off), as tests/test_kernel_edges.py."""
    buf = np.zeros(a.nbytes + 1, np.uint8)
    out = buf[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.size == 0 or not out.flags.aligned
    return out


def _arrays(dtype, n, hidden, gates, scale=2.0, seed=0):
    rng = np.random.default_rng(seed)
    wide = lambda: (scale * rng.standard_normal((n, gates * hidden))).astype(dtype)  # noqa: E731
    narrow = lambda: rng.standard_normal((n, hidden)).astype(dtype)  # noqa: E731
    return wide, narrow


def _torch_lstm(xp, hh, c_prev):
    """torch's LSTM step on the pre-activations, in float64 with autograd (the reference)."""
    xp, hh, c_prev = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (xp, hh, c_prev))
    i, f, g, o = (xp + hh).chunk(4, 1)
    c = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
    return (xp, hh, c_prev), torch.cat([i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()], 1), c, o.sigmoid() * c.tanh()


def _torch_gru(xp, hh, h_prev):
    xp, hh, h_prev = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (xp, hh, h_prev))
    (x_r, x_z, x_n), (h_r, h_z, h_n) = xp.chunk(3, 1), hh.chunk(3, 1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (xp, hh, h_prev), torch.cat([r, z, n], 1), (1 - z) * n + z * h_prev


def test_lstm_cell_and_its_backward_match_torch(kernels, dtype):
    wide, narrow = _arrays(dtype, 5, 7, 4)
    xp, hh, c_prev, dh, dc = wide(), wide(), narrow(), narrow(), narrow()
    gates, c, h = kernels.lstm_cell(xp, hh, c_prev)
    leaves, t_gates, t_c, t_h = _torch_lstm(xp, hh, c_prev)
    for got, want in ((gates, t_gates), (c, t_c), (h, t_h)):
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_allclose(got, want.detach().numpy(), **TOL[dtype])
    grad_gates, grad_c_prev = kernels.lstm_cell_backward(gates, c_prev, c, dh, dc)
    torch.autograd.backward([t_h, t_c], [torch.tensor(dh, dtype=torch.float64), torch.tensor(dc, dtype=torch.float64)])
    np.testing.assert_allclose(grad_gates, leaves[0].grad.numpy(), **TOL[dtype])  # d(xp + hh): same for both
    np.testing.assert_allclose(grad_gates, leaves[1].grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(grad_c_prev, leaves[2].grad.numpy(), **TOL[dtype])


def test_gru_cell_and_its_backward_match_torch(kernels, dtype):
    wide, narrow = _arrays(dtype, 5, 7, 3)
    xp, hh, h_prev, dh = wide(), wide(), narrow(), narrow()
    gates, h = kernels.gru_cell(xp, hh, h_prev)
    leaves, t_gates, t_h = _torch_gru(xp, hh, h_prev)
    np.testing.assert_allclose(gates, t_gates.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(h, t_h.detach().numpy(), **TOL[dtype])
    grad_xp, grad_hh, direct = kernels.gru_cell_backward(gates, hh, h_prev, dh)
    t_h.backward(torch.tensor(dh, dtype=torch.float64))
    np.testing.assert_allclose(grad_xp, leaves[0].grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(grad_hh, leaves[1].grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(direct, leaves[2].grad.numpy(), **TOL[dtype])  # h_prev only enters h directly


def test_the_gates_saturate_and_propagate_nan_as_torch(kernels, dtype):
    """Pre-activations from 0 and tiny (tanh's polynomial branch) to +-1e4, +-inf and NaN."""
    values = np.array([0.0, 1e-30, -1e-8, 0.3, -0.62, 0.63, 5.0, -9.0, 20.0, 88.0, -100.0, 1e4, -1e4,
                       np.inf, -np.inf, np.nan], dtype)
    hidden = len(values)
    xp = np.tile(values, 4)[None].astype(dtype)
    c_prev = np.ones((1, hidden), dtype)
    gates, c, h = kernels.lstm_cell(xp, np.zeros_like(xp), c_prev)
    t = torch.tensor(values, dtype=torch.float64)
    expected = torch.cat([t.sigmoid(), t.sigmoid(), t.tanh(), t.sigmoid()]).numpy()
    # relative even near 0 (tanh's polynomial branch); sigmoid(-100) is a float32 denormal
    np.testing.assert_allclose(gates[0], expected, rtol=TOL[dtype]["rtol"], atol=np.finfo(dtype).tiny)
    want_c = t.sigmoid() + t.sigmoid() * t.tanh()
    np.testing.assert_allclose(c[0], want_c.numpy(), **TOL[dtype])
    np.testing.assert_allclose(h[0], (t.sigmoid() * want_c.tanh()).numpy(), **TOL[dtype])


def test_c_and_numpy_twins_agree_on_the_mnist_shapes(c_kernels, dtype):
    wide, narrow = _arrays(dtype, 64, 128, 4, scale=3.0, seed=1)
    xp, hh, c_prev, dh, dc = wide(), wide(), narrow(), narrow(), narrow()
    ours, twin = c_kernels.lstm_cell(xp, hh, c_prev), numpy_kernels.lstm_cell(xp, hh, c_prev)
    for got, want in zip(ours, twin):
        np.testing.assert_allclose(got, want, **TOL[dtype])
    for got, want in zip(c_kernels.lstm_cell_backward(twin[0], c_prev, twin[1], dh, dc),
                         numpy_kernels.lstm_cell_backward(twin[0], c_prev, twin[1], dh, dc)):
        np.testing.assert_allclose(got, want, **TOL[dtype])
    wide, narrow = _arrays(dtype, 64, 128, 3, scale=3.0, seed=2)
    xp, hh, h_prev, dh = wide(), wide(), narrow(), narrow()
    for got, want in zip(c_kernels.gru_cell(xp, hh, h_prev), numpy_kernels.gru_cell(xp, hh, h_prev)):
        np.testing.assert_allclose(got, want, **TOL[dtype])
    gates = numpy_kernels.gru_cell(xp, hh, h_prev)[0]
    for got, want in zip(c_kernels.gru_cell_backward(gates, hh, h_prev, dh),
                         numpy_kernels.gru_cell_backward(gates, hh, h_prev, dh)):
        np.testing.assert_allclose(got, want, **TOL[dtype])


def _calls(dtype, n, hidden):
    wide4, narrow = _arrays(dtype, n, hidden, 4)
    wide3, _ = _arrays(dtype, n, hidden, 3)
    g4, g3 = np.abs(np.tanh(wide4())).astype(dtype), np.abs(np.tanh(wide3())).astype(dtype)
    return [("lstm_cell", (wide4(), wide4(), narrow())),
            ("lstm_cell_backward", (g4, narrow(), narrow(), narrow(), narrow())),
            ("gru_cell", (wide3(), wide3(), narrow())), ("gru_cell_backward", (g3, wide3(), narrow(), narrow()))]


def test_unaligned_and_strided_inputs_give_the_dense_result(kernels, dtype):
    for name, args in _calls(dtype, 3, 5):
        expected = getattr(kernels, name)(*args)
        for moved in ([unaligned(a) for a in args], [np.asfortranarray(a) for a in args]):
            for got, want in zip(getattr(kernels, name)(*moved), expected):
                np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n, hidden", [(0, 5), (3, 0), (0, 0)])
def test_empty_sizes_give_empty_results(kernels, dtype, n, hidden):
    for name, args in _calls(dtype, n, hidden):
        for out in getattr(kernels, name)(*args):
            assert out.dtype == dtype and out.size == 0 and out.shape[0] == n


def test_bad_arguments_get_the_same_clear_error_on_both_backends(c_kernels, dtype):
    xp, hh, c = np.zeros((2, 8), dtype), np.zeros((2, 8), dtype), np.zeros((2, 2), dtype)
    cases = [((xp, hh, c.astype(np.float16)), TypeError, "float32 or float64 arrays of one dtype"),
             ((xp, hh[:, :6], c), RuntimeError, r"xp, hh of shape \[n, 4 \* hidden\] and c_prev .* hh \(2, 6\)"),
             ((xp, hh, c[0]), RuntimeError, r"2-D arrays, got .* c_prev of shape \(2,\)"),
             ((xp, hh, [[0.0, 0.0]]), TypeError, "numpy.ndarray arguments, got ndarray, ndarray, list"),
             ((xp, hh, np.zeros((3, 2), dtype)), RuntimeError, r"c_prev \(3, 2\)")]
    for args, error, text in cases:
        for kernels in (c_kernels, numpy_kernels):
            with pytest.raises(error, match="lstm_cell: expected .*" + text):
                kernels.lstm_cell(*args)
    with pytest.raises(RuntimeError, match=r"gru_cell_backward: .*grad_h \(2, 3\)"):
        c_kernels.gru_cell_backward(np.zeros((2, 6), dtype), np.zeros((2, 6), dtype), np.zeros((2, 2), dtype),
                                    np.zeros((2, 3), dtype))


def test_the_c_functions_check_their_arguments(c_kernels):
    from tinygrad_edu._C import ffi, lib
    buf, out = ffi.new("float[64]"), ffi.new("float[64]")
    fwd, bwd = lib.tg_lstm_cell_f32, lib.tg_lstm_cell_backward_f32
    assert fwd(buf, buf, buf, out, out, out, 2, 4) == lib.TG_OK
    assert fwd(buf, buf, buf, out, out, out, -1, 4) == lib.TG_ERR_SIZE
    assert fwd(buf, buf, buf, out, out, out, 2, -4) == lib.TG_ERR_SIZE
    assert fwd(buf, buf, buf, out, out, out, 2**62, 2**61) == lib.TG_ERR_SIZE  # n * 4 * hidden overflows
    assert fwd(buf, buf, buf, out, out, out, 2, 2**62) == lib.TG_ERR_SIZE  # 4 * hidden overflows
    assert fwd(buf, ffi.NULL, buf, out, out, out, 2, 4) == lib.TG_ERR_NULL
    assert fwd(ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 0, 4) == lib.TG_OK  # nothing read
    assert bwd(buf, buf, buf, buf, ffi.NULL, out, out, 2, 4) == lib.TG_ERR_NULL
    assert bwd(buf, buf, buf, buf, buf, out, out, -2, 4) == lib.TG_ERR_SIZE
    dbuf, dout = ffi.new("double[64]"), ffi.new("double[64]")
    assert lib.tg_gru_cell_f64(dbuf, dbuf, dbuf, dout, dout, 2, 4) == lib.TG_OK
    assert lib.tg_gru_cell_f64(dbuf, dbuf, ffi.NULL, dout, dout, 2, 4) == lib.TG_ERR_NULL
    assert lib.tg_gru_cell_backward_f64(dbuf, dbuf, dbuf, dbuf, dout, dout, ffi.NULL, 2, 4) == lib.TG_ERR_NULL
    assert lib.tg_gru_cell_backward_f64(dbuf, dbuf, dbuf, dbuf, dout, dout, dout, 2**62, 2**62) == lib.TG_ERR_SIZE

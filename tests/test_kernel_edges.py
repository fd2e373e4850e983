"""The kernels at their edges, on both backends and both dtypes (issue 10, items 2, 8 and 9).

- unaligned inputs: float arrays viewed from a byte buffer at an odd address (what
  ``from_numpy`` of such a buffer hands the kernels); the C kernels must never read them as
  ``float *`` (UBSan's "load of misaligned address" fails the sanitizer stage of .ci/run);
- empty sizes: zero rows, classes, batches, channels or output positions: both twins give
  PyTorch's answer, or the same clear error;
- cross-entropy with a logit of -inf, and long rows summed as the C kernels sum them (float64).

This file is in the sanitizer stage's list in .ci/run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_kernels

DTYPES = [np.float32, np.float64]


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


def unaligned(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` (C-contiguous) that lives at an odd address, NumPy's ``aligned`` flag off."""
    a = np.asarray(a)
    buf = np.zeros(a.nbytes + 1, np.uint8)
    out = buf[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.size == 0 or not out.flags.aligned
    return out


def rand(rng, dtype, *shape):
    return rng.standard_normal(shape).astype(dtype)


def assert_same(got, expected, rtol=0.0):
    """Same shapes and dtypes, and values (to ``rtol``: a copied view may be summed in another order)."""
    got, expected = (got, expected) if isinstance(got, tuple) else ((got,), (expected,))
    for g, e in zip(got, expected):
        if e is None:
            assert g is None
            continue
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=0)


# ---------------------------------------------------------------- item 8: unaligned buffers

WIN = ((2, 2), (2, 2), (0, 0), (1, 1), (2, 2))  # 2x2 pool / conv, stride 2, on 4x4 planes


def _calls(rng, dtype):
    """(name, args) of a call of every kernel family that reads float arrays."""
    x, g = rand(rng, dtype, 3, 5), rand(rng, dtype, 3, 5)
    img, w = rand(rng, dtype, 2, 3, 4, 4), rand(rng, dtype, 4, 3, 2, 2)
    values, indices = numpy_kernels.max_pool2d_forward(img, *WIN)
    target = np.array([0, 4, 2], np.int64)
    calls = [(name, (x,)) for name in ("relu", "sigmoid", "softmax", "log_softmax", "erf", "gelu")]
    calls += [(name, (g, x)) for name in ("relu_backward", "sigmoid_backward", "tanh_backward",
                                          "softmax_backward", "log_softmax_backward", "gelu_backward")]
    calls += [("leaky_relu", (x, 0.1)), ("leaky_relu_backward", (g, x, 0.1)), ("bias_relu", (x, x[0])),
              ("matmul", (x, g.T)), ("linear", (x, g, g[:, 0])), ("linear_backward", (rand(rng, dtype, 3, 3), x, g, True, True, True)),
              ("cross_entropy", (x, target, np.abs(x[0]), -100, "mean", 0.1)),
              ("im2col", (img, *WIN)), ("im2col_t", (img, *WIN)),
              ("col2im", (rand(rng, dtype, 8, 12), img.shape, *WIN)),
              ("col2im_t", (rand(rng, dtype, 12, 8), img.shape, *WIN)),
              ("conv2d_forward", (img, w, w[:, 0, 0, 0], *WIN)),
              ("conv2d_backward", (rand(rng, dtype, 2, 4, 2, 2), img, w, *WIN, True, True, True)),
              # 2 output channels for 12 taps: the pixels-as-rows, channels-last way (conv.c)
              ("conv2d_forward", (img, w[:2], w[:2, 0, 0, 0], *WIN)),
              ("conv2d_backward", (rand(rng, dtype, 2, 2, 2, 2), img, w[:2], *WIN, True, True, True)),
              ("max_pool2d_forward", (img, *WIN)), ("max_pool2d_backward", (values, indices, img.shape))]
    return calls


def test_unaligned_inputs_give_the_aligned_result(kernels, dtype):
    rng = np.random.default_rng(0)
    for name, args in _calls(rng, dtype):
        expected = getattr(kernels, name)(*args)
        moved = [unaligned(a) if isinstance(a, np.ndarray) and a.ndim else a for a in args]
        assert_same(getattr(kernels, name)(*moved), expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("name, states, scalars", [
    ("sgd_step", 1, (0.1, 0.9, 0.0, 0.01, True, False, False)),
    ("adam_step", 3, (0.1, 0.9, 0.99, 1e-8, 0.01, True, 2.0, False)),
    ("rmsprop_step", 3, (0.1, 0.9, 1e-8, 0.01, 0.5, False)),
    ("adagrad_step", 1, (0.1, 0.01, 1e-8, False)),
])
def test_unaligned_optimizer_buffers_are_updated_in_place(kernels, dtype, name, states, scalars):
    rng = np.random.default_rng(1)
    arrays = [rand(rng, dtype, 7) for _ in range(2 + states)]
    arrays[2:] = [np.abs(a) for a in arrays[2:]]
    arrays[2] += 20  # a square average well above any squared mean (RMSprop's centered sqrt)
    expected = [a.copy() for a in arrays]
    getattr(kernels, name)(*expected, *scalars)
    moved = [unaligned(a) for a in arrays]
    getattr(kernels, name)(*moved, *scalars)
    for got, want in zip(moved, expected):
        np.testing.assert_array_equal(got, want)


def test_from_numpy_of_an_unaligned_buffer_trains_as_torch(backend_name):
    rng = np.random.default_rng(2)
    data, weight = rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal((6, 5)).astype(np.float32)
    x = tg.from_numpy(unaligned(data))
    w = tg.from_numpy(unaligned(weight)).requires_grad_()
    target = tg.tensor([0, 1, 4, 2])
    loss = tg.nn.functional.cross_entropy((x @ w).relu().softmax(1), target, label_smoothing=0.1)
    loss.backward()
    pooled = tg.nn.functional.max_pool2d(x.reshape(1, 1, 4, 6), 2)
    tx, tw = torch.from_numpy(data), torch.from_numpy(weight).requires_grad_()
    tloss = F.cross_entropy((tx @ tw).relu().softmax(1), torch.tensor([0, 1, 4, 2]), label_smoothing=0.1)
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(pooled.numpy(), F.max_pool2d(tx.reshape(1, 1, 4, 6), 2).numpy())
    for opt in (tg.optim.SGD([w], lr=0.1, momentum=0.9), tg.optim.Adam([w], lr=0.1)):
        before = w.detach().numpy().copy()
        opt.step()
        assert np.all(np.isfinite(w.detach().numpy())) and not np.array_equal(before, w.detach().numpy())


# ---------------------------------------------------------------- item 2: cross-entropy, long rows

@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_with_a_logit_of_minus_inf_is_torchs(kernels, dtype, label_smoothing):
    logits = np.array([[0.0, 1.0, -np.inf], [2.0, -np.inf, 0.5]], dtype)
    target = np.array([0, 2], np.int64)
    for reduction in ("none", "mean", "sum"):
        loss, dlogits = kernels.cross_entropy(logits, target, None, 2, reduction, label_smoothing)
        tx = torch.tensor(logits, requires_grad=True)
        tloss = F.cross_entropy(tx, torch.tensor(target), ignore_index=2, reduction=reduction,
                                label_smoothing=label_smoothing)
        tloss.sum().backward()
        np.testing.assert_allclose(loss, tloss.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(dlogits, tx.grad.numpy(), rtol=1e-6, atol=1e-7)
    if label_smoothing == 0:
        assert np.isclose(kernels.cross_entropy(logits[:1], target[:1])[0], 1.3132616)


def _long_rows(dtype):
    """Two rows of 2**20: one large term then tiny ones, stored transposed (F-order), so NumPy's float32
    sum along a row adds one element after another and drops every tiny term (the sum stays 1)."""
    row = np.full(2**20, 1e-7, dtype)
    row[0] = 1.0
    return np.asfortranarray(np.stack([row, row]))


def test_long_rows_are_summed_as_the_c_kernels_sum_them(kernels, dtype):
    g = _long_rows(dtype)
    exact = 1.0 + (2**20 - 1) * float(dtype.type(1e-7))  # 1.1048...
    d = kernels.log_softmax_backward(g, np.zeros_like(g))  # g - exp(0) * sum(g)
    np.testing.assert_allclose(d[:, 0], 1.0 - exact, rtol=1e-5)
    d = kernels.softmax_backward(np.ones_like(g), g)  # out * (1 - sum(out))
    np.testing.assert_allclose(d[:, 0], 1.0 - exact, rtol=1e-5)
    logits = np.log(g)  # the exps of the row are the row itself: softmax = g / sum(g)
    np.testing.assert_allclose(kernels.softmax(logits)[:, 0], 1.0 / exact, rtol=1e-5)
    np.testing.assert_allclose(kernels.log_softmax(logits)[:, 0], -np.log(exact), rtol=1e-5)
    loss, _ = kernels.cross_entropy(logits, np.zeros(2, np.int64), need_grad=False)
    np.testing.assert_allclose(loss, np.log(exact), rtol=1e-4)


# ---------------------------------------------------------------- item 9: empty sizes

@pytest.mark.parametrize("n, k", [(3, 0), (0, 0), (0, 3)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_without_classes_or_rows_is_torchs(kernels, dtype, n, k, reduction, label_smoothing, weighted):
    logits, target = np.zeros((n, k), dtype), np.full(n, -100, np.int64)  # 0 classes: every target ignored
    weight = np.ones(k, dtype) if weighted else None
    loss, dlogits = kernels.cross_entropy(logits, target, weight, -100, reduction, label_smoothing)
    tx = torch.tensor(logits, requires_grad=True)
    tloss = F.cross_entropy(tx, torch.tensor(target), None if weight is None else torch.tensor(weight),
                            reduction=reduction, label_smoothing=label_smoothing)
    tloss.sum().backward()
    assert loss.dtype == dtype and loss.shape == tuple(tloss.shape)
    np.testing.assert_array_equal(loss, tloss.detach().numpy())
    np.testing.assert_array_equal(dlogits, tx.grad.numpy())


def test_cross_entropy_target_with_no_classes_is_out_of_bounds(kernels, dtype):
    with pytest.raises(IndexError, match=r"Target 0 is out of bounds. \(target\[1\], with 0 classes\)"):
        kernels.cross_entropy(np.zeros((2, 0), dtype), np.array([-100, 0], np.int64))


@pytest.mark.parametrize("shape", [(0, 2, 4, 4), (0, 1, 5, 3)])
def test_max_pool2d_of_an_empty_batch_is_torchs(kernels, dtype, shape):
    x = np.zeros(shape, dtype)
    out = ((shape[2] - 2) // 2 + 1, (shape[3] - 2) // 2 + 1)
    values, indices = kernels.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), out)
    tvalues, tindices = F.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert values.shape == tuple(tvalues.shape) and indices.shape == tuple(tindices.shape)
    assert values.dtype == dtype and indices.dtype == np.int64


@pytest.mark.parametrize("shape", [(0, 2, 4, 4), (0, 1, 4, 4), (1, 1, 4, 4)])
def test_max_pool2d_window_in_the_padding_is_an_error_whatever_the_batch(kernels, dtype, shape):
    with pytest.raises(ValueError, match="a window lies entirely in the padding"):
        kernels.max_pool2d_forward(np.zeros(shape, dtype), (2, 2), (2, 2), (0, 0), (1, 1), (3, 2))
    with pytest.raises(ValueError, match="a window lies entirely in the padding"):  # dilation over the input
        kernels.max_pool2d_forward(np.zeros((shape[0], shape[1], 2, 4), dtype), (2, 2), (1, 1), (1, 1), (3, 1),
                                   (2, 3))


@pytest.mark.parametrize("shape", [(2, 0, 4, 4), (1, 2, 0, 4), (1, 2, 4, 0)])
def test_max_pool2d_of_empty_planes_is_torchs_error(kernels, dtype, shape):
    with pytest.raises(RuntimeError, match="optional 0 dim batch size") as ours:
        kernels.max_pool2d_forward(np.zeros(shape, dtype), (1, 1), (1, 1), (0, 0), (1, 1), shape[2:])
    with pytest.raises(RuntimeError) as theirs:
        F.max_pool2d(torch.zeros(shape), 1)
    assert str(theirs.value) in str(ours.value)


@pytest.mark.parametrize("shape", [(0, 2, 4, 4), (2, 0, 4, 4), (2, 3, 4, 4)])
@pytest.mark.parametrize("out_size", [(0, 3), (3, 0), (0, 0)])
def test_col2im_with_no_output_positions_gives_zeros(kernels, dtype, shape, out_size):
    """im2col of such a window has no rows: its adjoint adds nothing (<im2col(x), cols> = <x, col2im(cols)>)."""
    win = ((2, 2), (2, 2), (0, 0), (1, 1), out_size)  # stride 2: NumPy once failed on these
    n, c = shape[:2]
    positions = n * out_size[0] * out_size[1]
    assert kernels.im2col(np.ones(shape, dtype), *win).shape == (positions, c * 4)
    for name, cols in (("col2im", np.zeros((positions, c * 4), dtype)), ("col2im_t", np.zeros((c * 4, positions), dtype))):
        assert_same(getattr(kernels, name)(cols, shape, *win), np.zeros(shape, dtype))
    w = np.ones((3, c, 2, 2), dtype)
    grads = kernels.conv2d_backward(np.zeros((n, 3) + out_size, dtype), np.ones(shape, dtype), w, *win,
                                    True, True, True)
    assert_same(grads, (np.zeros(shape, dtype), np.zeros(w.shape, dtype), np.zeros(3, dtype)))


def test_conv2d_of_an_empty_batch_is_torchs(kernels, dtype):
    x, w, b = np.zeros((0, 2, 5, 5), dtype), np.ones((3, 2, 3, 3), dtype), np.ones(3, dtype)
    win = ((3, 3), (2, 2), (1, 1), (1, 1), (3, 3))
    out = kernels.conv2d_forward(x, w, b, *win)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = F.conv2d(tx, tw, tb, stride=2, padding=1)
    assert out.shape == tuple(tout.shape) and out.dtype == dtype
    tout.sum().backward()
    grads = kernels.conv2d_backward(np.ones(out.shape, dtype), x, w, *win, True, True, True)
    for got, want in zip(grads, (tx.grad, tw.grad, tb.grad)):
        assert got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got, want.numpy())


def test_twins_agree_on_empty_and_edge_sizes(c_kernels, dtype):
    """A sweep over every kernel at sizes with zeros: the C kernels and the NumPy twins return the
    same arrays or raise the same error."""
    rng = np.random.default_rng(3)

    def outcome(mod, name, args):
        try:
            return getattr(mod, name)(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        except Exception as e:  # noqa: BLE001 -- the error itself is compared
            return f"{type(e).__name__}: {e}"

    def check(name, *args):
        got, want = outcome(c_kernels, name, args), outcome(numpy_kernels, name, args)
        if isinstance(want, str) or isinstance(got, str):
            assert got == want, (name, args)
            return
        for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
            assert (g is None) == (w is None), name
            if g is not None:
                assert g.shape == w.shape and g.dtype == w.dtype, name
                np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=name)

    r = lambda *s: rand(rng, dtype, *s)  # noqa: E731
    for shape in [(0,), (0, 3), (3, 0), (2, 0, 3)]:
        for name in ("relu", "sigmoid", "softmax", "log_softmax", "erf", "gelu"):
            check(name, r(*shape))
        for name in ("relu_backward", "sigmoid_backward", "tanh_backward", "softmax_backward", "log_softmax_backward",
                     "gelu_backward"):
            check(name, r(*shape), r(*shape))
    for m, k, n in [(0, 2, 2), (2, 0, 2), (2, 2, 0), (0, 0, 0)]:
        check("matmul", r(m, k), r(k, n))
        check("linear_backward", r(m, n), r(m, k), r(n, k), True, True, True)
    for shape in [(0,), (0, 2)]:
        check("adam_step", r(*shape), r(*shape), r(*shape), np.abs(r(*shape)), None, 0.1, 0.9, 0.99, 1e-8, 0.0,
              False, 1.0, False)
    for shape in [(0, 2, 4, 4), (2, 0, 4, 4), (1, 1, 0, 4), (1, 2, 5, 4)]:
        for k, s, p, d in [(1, 1, 0, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 1, 0, 2), (3, 2, 1, 1)]:
            natural = tuple(max((size + 2 * p - d * (k - 1) - 1) // s + 1, 0) for size in shape[2:])
            for out in [natural, (natural[0] + 1, natural[1]), (0, natural[1]), (natural[0], 0)]:
                win = ((k, k), (s, s), (p, p), (d, d), out)
                n, c = shape[:2]
                check("col2im", r(n * out[0] * out[1], c * k * k), shape, *win)
                check("col2im_t", r(c * k * k, n * out[0] * out[1]), shape, *win)
                check("conv2d_backward", r(n, 3, *out), r(*shape), r(3, c, k, k), *win, True, True, True)
                check("conv2d_forward", r(*shape), r(3, c, k, k), r(3), *win)  # c*k*k >= 12 taps: channels last
                check("max_pool2d_forward", r(*shape), *win)


# ---------------------------------------------------------------- erf and GELU at their edges

def test_erf_and_gelu_at_nan_inf_signed_zero_huge_and_tiny_values(kernels, dtype):
    """NaN stays NaN, erf(+-inf) = +-1, erf(-0) = -0, huge |x| saturates, subnormals keep their value;
    GELU and its backward as torch's float64 kernel (torch's float32 gelu(inf) is NaN, ours inf).
    Sizes 1 and 17 (past a SIMD width, not a multiple of it)."""
    info = np.finfo(dtype)
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, info.max, -info.max, 1e30, -7.0, 3.95, info.tiny,
                  info.smallest_subnormal, -info.smallest_subnormal, 1e-20, -0.5, 1.0, -1.0], dtype)
    g = np.linspace(-2, 2, x.size).astype(dtype)
    tx = torch.tensor(x.astype(np.float64))
    eps = float(info.eps)
    erf = kernels.erf(x)
    np.testing.assert_array_equal(erf[:10], torch.erf(tx).numpy().astype(dtype)[:10])  # NaN, +-1, +-0 exactly
    np.testing.assert_allclose(erf, torch.erf(tx).numpy().astype(dtype), rtol=eps,
                               atol=2 * float(info.smallest_subnormal), equal_nan=True)  # a subnormal's last bit
    assert np.signbit(erf[4]) and not np.signbit(erf[3])
    # gelu(-7) = -9e-12 is 1 + erf(-4.95) rounded: an ulp of 1 (times |x|) is as near as the formula gets
    np.testing.assert_allclose(kernels.gelu(x), F.gelu(tx).numpy().astype(dtype), rtol=eps, atol=8 * eps,
                               equal_nan=True)
    np.testing.assert_allclose(kernels.gelu_backward(g, x),
                               torch.ops.aten.gelu_backward(torch.tensor(g.astype(np.float64)), tx).numpy(),
                               rtol=eps, atol=8 * eps, equal_nan=True)
    for n in (1, 17):
        np.testing.assert_array_equal(kernels.erf(x[:n]), kernels.erf(x)[:n])


def test_erf_and_gelu_refuse_other_dtypes_and_shapes(kernels):
    with pytest.raises(TypeError, match="erf"):
        kernels.erf(np.array([1, 2]))
    with pytest.raises(RuntimeError, match=r"gelu_backward: expected arrays of the same shape, got \(3,\) and \(4,\)"):
        kernels.gelu_backward(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="gelu_backward"):
        kernels.gelu_backward(np.ones(3, np.float32), np.ones(3))


def test_the_c_erf_and_gelu_check_their_arguments(c_kernels):
    """C never trusts its caller: a negative size or a NULL array with elements is an error code."""
    from tinygrad_edu.backend.c_kernels import ffi, lib
    buf = ffi.new("float[4]")
    dbuf = ffi.new("double[4]")
    for fn, b in ((lib.tg_erf_f32, buf), (lib.tg_gelu_f32, buf), (lib.tg_erf_f64, dbuf), (lib.tg_gelu_f64, dbuf)):
        assert fn(b, b, -1) == lib.TG_ERR_SIZE
        assert fn(ffi.NULL, b, 4) == lib.TG_ERR_NULL
        assert fn(b, ffi.NULL, 4) == lib.TG_ERR_NULL
        assert fn(ffi.NULL, ffi.NULL, 0) == lib.TG_OK
    for fn, b in ((lib.tg_gelu_backward_f32, buf), (lib.tg_gelu_backward_f64, dbuf)):
        assert fn(b, b, b, -3) == lib.TG_ERR_SIZE
        assert fn(b, ffi.NULL, b, 4) == lib.TG_ERR_NULL
        assert fn(ffi.NULL, ffi.NULL, ffi.NULL, 0) == lib.TG_OK

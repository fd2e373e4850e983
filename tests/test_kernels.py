"""The activation, softmax and cross-entropy kernels (activations.c, softmax.c, loss.c).

* every kernel against torch's own kernel of the same name (threshold_backward,
  _softmax_backward_data, ...) on both backends, and C against its NumPy twin on random
  shapes and layouts (hypothesis: 0, 1, primes, past a cache block, transposed and sliced);
* stability: logits of +-1e4 give finite, correct results;
* errors: bad targets are PyTorch's IndexError with the position, never an out-of-bounds
  read; wrong dtypes / shapes / options are clear exceptions; C's return codes directly;
* the ops (Relu, LeakyRelu, Sigmoid, Tanh, Softmax, LogSoftmax, CrossEntropyLoss): same
  results on both backends, parity with torch (values, gradients, node names, double
  backward), gradcheck in float64.

The backend fixtures are tests/conftest.py's: tests that need the C extension fail when it is
missing unless TINYGRAD_EDU_ALLOW_NO_C=1.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.backend as backend
from tinygrad_edu import ops
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.backend import numpy_kernels

from helpers import check_op, node_name_of

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
aten = torch.ops.aten


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# ---------------------------------------------------------------- the kernel table
# name -> (make the arguments from x and a gradient-like g, torch's reference of the same kernel).
# Backward kernels get what their forward saved (relu/sigmoid/tanh/softmax: the output).

SLOPE = 0.07
ELEMENTWISE = {
    "relu": (lambda x, g: (x,), lambda x: torch.relu(x)),
    "relu_backward": (lambda x, g: (g, np.maximum(x, 0)), lambda g, y: aten.threshold_backward(g, y, 0)),
    "leaky_relu": (lambda x, g: (x, SLOPE), lambda x, s: F.leaky_relu(x, s)),
    "leaky_relu_backward": (lambda x, g: (g, x, SLOPE), lambda g, x, s: aten.leaky_relu_backward(g, x, s, False)),
    "sigmoid": (lambda x, g: (x,), lambda x: torch.sigmoid(x)),
    "sigmoid_backward": (lambda x, g: (g, numpy_kernels.sigmoid(x)), lambda g, y: aten.sigmoid_backward(g, y)),
    "tanh_backward": (lambda x, g: (g, np.tanh(x)), lambda g, y: aten.tanh_backward(g, y)),
    "erf": (lambda x, g: (x,), lambda x: torch.erf(x)),
    "gelu": (lambda x, g: (x,), lambda x: F.gelu(x)),
    "gelu_backward": (lambda x, g: (g, x), lambda g, x: aten.gelu_backward(g, x)),
}
ROWWISE = {
    "softmax": (lambda x, g: (x,), lambda x: torch.softmax(x, -1)),
    "log_softmax": (lambda x, g: (x,), lambda x: torch.log_softmax(x, -1)),
    "softmax_backward": (lambda x, g: (g, numpy_kernels.softmax(x)),
                         lambda g, y: aten._softmax_backward_data(g, y, -1, y.dtype)),
    "log_softmax_backward": (lambda x, g: (g, numpy_kernels.log_softmax(x)),
                             lambda g, y: aten._log_softmax_backward_data(g, y, -1, y.dtype)),
}
TABLE = {**ELEMENTWISE, **ROWWISE}


def _args(name: str, x: np.ndarray, g: np.ndarray) -> tuple:
    return TABLE[name][0](x, g)


def _torch_ref(name: str, args: tuple) -> np.ndarray:
    return TABLE[name][1](*(_t(a) if isinstance(a, np.ndarray) else a for a in args)).numpy()


def test_table_names_are_kernels_of_both_backends(c_kernels):
    assert set(TABLE) | {"bias_relu", "cross_entropy"} <= set(numpy_kernels.__all__) == set(c_kernels.__all__)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(TABLE))
def test_kernel_matches_torch(kernels, name, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, (13, 37)).astype(dtype)
    x[0, :4] = [0.0, -0.0, 1e-30, -1e-30]  # the kink of relu, tiny values
    g = rng.normal(size=x.shape).astype(dtype)
    args = _args(name, x, g)
    out = getattr(kernels, name)(*args)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, _torch_ref(name, args), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_based_kernels_over_the_whole_range(c_kernels, dtype):
    # our exp is inlined code, not libm's: check it where it under/overflows too
    x = np.concatenate([np.linspace(-120, 120, 4001), [-np.inf, np.inf, np.nan, 0.0, 1e-8]]).astype(dtype)
    np.testing.assert_allclose(c_kernels.sigmoid(x), torch.sigmoid(_t(x)).numpy(), equal_nan=True, **TOL[dtype])
    row = x[np.isfinite(x)].reshape(1, -1) / 10
    np.testing.assert_allclose(c_kernels.softmax(row), torch.softmax(_t(row), -1).numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_erf_is_within_its_stated_ulps_of_the_exact_value(c_kernels, dtype):
    """The C erf (csrc/tg_vmath.h) against mpmath at 30 digits: within 1.5 ulp (we state ~1.2 and ~1.05),
    over both of its formulas, their seam at 1 and the clamp."""
    import mpmath  # installed with torch (through sympy)
    mpmath.mp.dps = 30
    tiny = np.finfo(dtype).tiny
    x = np.concatenate([np.linspace(-6.5, 6.5, 2601), np.geomspace(tiny, 6, 1500), np.nextafter(dtype(1), [0, 2]),
                        [3.9, 3.92, 4.0, 5.9, 5.93, 6.0, 1e-3, 0.84375]]).astype(dtype)
    x = np.concatenate([x, -x])
    got = c_kernels.erf(x)
    exact = [mpmath.erf(mpmath.mpf(float(v))) for v in x]
    ulp = np.spacing(np.array([float(e) for e in exact], dtype)).astype(np.float64)
    err = np.array([float(abs(mpmath.mpf(float(g)) - e)) for g, e in zip(got, exact)]) / np.abs(ulp)
    assert err.max() <= 1.5, f"{err.max():.2f} ulp at x = {x[err.argmax()]!r}"


def test_erf_coefficients_are_what_fit_erf_prints():
    """csrc/tg_vmath.h's erf tables are csrc/fit_erf.py's fits, digit for digit (remade, not copied)."""
    import subprocess
    import sys
    from pathlib import Path
    csrc = Path(__file__).resolve().parents[1] / "csrc"
    printed = subprocess.run([sys.executable, str(csrc / "fit_erf.py")], capture_output=True, text=True, check=True)
    header = (csrc / "tg_vmath.h").read_text()
    assert printed.stdout.count("#define TG_ERF_") == 6
    assert printed.stdout in header, "tg_vmath.h's TG_ERF_* tables differ from what csrc/fit_erf.py prints"


def test_relu_passes_nan_and_backward_ignores_grad_where_off(kernels):
    x = np.array([np.nan, -1.0, 2.0])
    np.testing.assert_array_equal(kernels.relu(x), [np.nan, 0.0, 2.0])
    # threshold_backward is a select: an inf/NaN gradient where relu was off (out <= 0) gives 0, not
    # NaN; where relu's output is NaN the gradient passes, as PyTorch's
    grad = np.array([np.inf, np.nan, 3.0])
    want = torch.ops.aten.threshold_backward(torch.from_numpy(grad), torch.from_numpy(kernels.relu(x)), 0)
    np.testing.assert_array_equal(kernels.relu_backward(grad, kernels.relu(x)), want.numpy())
    np.testing.assert_array_equal(want.numpy(), [np.inf, 0.0, 3.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (1, 1), (7, 13), (64, 512), (3, 4099)])
def test_bias_relu(kernels, shape, dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(dtype)
    b = rng.normal(size=shape[1:]).astype(dtype)
    out = kernels.bias_relu(x, b)
    np.testing.assert_array_equal(out, np.maximum(x + b, 0))
    np.testing.assert_array_equal(kernels.bias_relu(np.asfortranarray(x), b), out)


# ---------------------------------------------------------------- C against the twin, random layouts

SIZES = st.sampled_from([0, 1, 2, 3, 7, 13, 31, 61, 127, 257, 1031, 4099])


def _layout(x: np.ndarray, how: str) -> np.ndarray:
    """The same values as x, held in a transposed or sliced (non-contiguous) array."""
    if how == "transposed":
        return np.ascontiguousarray(x.T).T
    if how == "sliced":
        big = np.zeros((x.shape[0] * 2, x.shape[1] * 3), x.dtype)
        big[::2, 1::3] = x
        return big[::2, 1::3]
    return x


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(TABLE)), rows=SIZES, cols=SIZES, dtype=st.sampled_from(DTYPES),
       layout=st.sampled_from(["contiguous", "transposed", "sliced"]), seed=st.integers(0, 2**32 - 1))
def test_c_equals_twin_property(c_kernels, name, rows, cols, dtype, layout, seed):
    c = c_kernels
    if rows * cols > 40_000:  # keep the file fast: large rows or large columns, not both
        rows = max(1, 40_000 // max(cols, 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 4, (rows, cols)).astype(dtype)
    g = rng.normal(size=(rows, cols)).astype(dtype)
    args = tuple(_layout(a, layout) if isinstance(a, np.ndarray) else a for a in _args(name, x, g))
    before = [a.copy() for a in args if isinstance(a, np.ndarray)]
    ours, twin = getattr(c, name)(*args), getattr(numpy_kernels, name)(*args)
    assert ours.shape == twin.shape == (rows, cols) and ours.dtype == dtype
    # absolute errors scale with the values: log_softmax of a wide row reaches -30, whose
    # float32 ulp is 2e-6, and the whole row shares the rounding of its log-sum-exp
    scale = max(1.0, float(np.abs(twin).max())) if twin.size else 1.0
    np.testing.assert_allclose(ours, twin, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)
    for a, b in zip([a for a in args if isinstance(a, np.ndarray)], before):
        np.testing.assert_array_equal(a, b)  # inputs untouched


@settings(max_examples=30, deadline=None)
@given(n=SIZES, k=st.sampled_from([1, 2, 3, 10, 31, 257, 1000]), dtype=st.sampled_from(DTYPES),
       reduction=st.sampled_from(["none", "mean", "sum"]), smoothing=st.sampled_from([0.0, 0.1, 1.0]),
       weighted=st.booleans(), transposed=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_c_equals_twin_property(c_kernels, n, k, dtype, reduction, smoothing, weighted, transposed,
                                              seed):
    c = c_kernels
    n = min(n, 20_000 // k)
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, k)).astype(dtype)
    logits = _layout(logits, "transposed") if transposed else logits
    target = rng.integers(0, k, n)
    target[rng.random(n) < 0.2] = -100
    weight = rng.uniform(0.1, 2, k).astype(dtype) if weighted else None
    args = (logits, target, weight, -100, reduction, smoothing)
    (loss, d), (loss_twin, d_twin) = c.cross_entropy(*args), numpy_kernels.cross_entropy(*args)
    assert loss.shape == loss_twin.shape and loss.dtype == dtype and d.dtype == dtype
    # a loss near 0 is log(1 + tiny) - the cancellation of two O(|logits|) values: its absolute error is
    # an ulp of the logits (1.2e-7 on a loss of 6e-4 at k=3), each summed row adding its own
    ulp = (1e-6 if dtype == np.float32 else 1e-14) * max(1.0, float(np.abs(logits).max()) if logits.size else 1.0)
    atol = ulp * (max(n, 1) if reduction == "sum" else 1)
    np.testing.assert_allclose(loss, loss_twin, equal_nan=True, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=atol)
    np.testing.assert_allclose(d, d_twin, **TOL[dtype])


# ---------------------------------------------------------------- cross-entropy against torch

CE_OPTIONS = [
    dict(reduction=r, label_smoothing=s, weighted=w, ignore_index=i)
    for r in ("none", "mean", "sum") for s in (0.0, 0.25) for w in (False, True) for i in (-100, 2)
]


def _ce_case(dtype, n=11, k=7, seed=0, ignore_index=-100):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k)).astype(dtype)
    target = rng.integers(0, k, n)
    target[[1, 4]] = [ignore_index, 2]  # an ignored row; a class that is ignore_index in some cases
    weight = rng.uniform(0.2, 2, k).astype(dtype)
    return logits, target, weight


def _torch_ce(logits, target, weight, ignore_index, reduction, label_smoothing):
    x = _t(logits).requires_grad_()
    loss = F.cross_entropy(x, torch.from_numpy(target), None if weight is None else _t(weight),
                           ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    loss.sum().backward()
    return loss.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt", CE_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_cross_entropy_kernel_matches_torch(kernels, opt, dtype):
    logits, target, weight = _ce_case(dtype, ignore_index=opt["ignore_index"])
    w = weight if opt["weighted"] else None
    args = (logits, target, w, opt["ignore_index"], opt["reduction"], opt["label_smoothing"])
    loss, dlogits = kernels.cross_entropy(*args)
    ref_loss, ref_grad = _torch_ce(*args)
    assert loss.shape == ref_loss.shape and loss.dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, **TOL[dtype])
    np.testing.assert_allclose(dlogits, ref_grad, **TOL[dtype])
    loss_only, none = kernels.cross_entropy(*args, need_grad=False)
    assert none is None
    np.testing.assert_array_equal(loss_only, loss)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_all_ignored_and_empty(kernels, reduction):
    # all targets ignored: 'mean' is 0 / 0 = NaN in PyTorch, gradients are 0
    logits, target = np.ones((3, 4)), np.full(3, -100)
    loss, d = kernels.cross_entropy(logits, target, None, -100, reduction, 0.0)
    np.testing.assert_allclose(loss, _torch_ce(logits, target, None, -100, reduction, 0.0)[0], equal_nan=True)
    np.testing.assert_array_equal(d, np.zeros((3, 4)))
    loss, d = kernels.cross_entropy(np.zeros((0, 5)), np.zeros(0, np.int64), None, -100, reduction, 0.1)
    np.testing.assert_allclose(loss, _torch_ce(np.zeros((0, 5)), np.zeros(0, np.int64), None, -100, reduction,
                                               0.1)[0], equal_nan=True)
    assert d.shape == (0, 5)


# ---------------------------------------------------------------- stability: logits of +-1e4

BIG = np.array([[1e4, -1e4, 0.0, 5.0], [1e4, 1e4, -1e4, 1e4 - 1], [-1e4, -1e4, -1e4, -1e4]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_big_logits(kernels, dtype):
    x = BIG.astype(dtype)
    for name in ("softmax", "log_softmax"):
        out = getattr(kernels, name)(x)
        assert np.isfinite(out).all(), name
        np.testing.assert_allclose(out, _torch_ref(name, (x,)), **TOL[dtype])
    target = np.array([1, 0, 3])
    for smoothing in (0.0, 0.1):
        loss, d = kernels.cross_entropy(x, target, None, -100, "none", smoothing)
        ref_loss, ref_grad = _torch_ce(x, target, None, -100, "none", smoothing)
        assert np.isfinite(loss).all() and np.isfinite(d).all()
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(d, ref_grad, **TOL[dtype])


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("bad", [10, -1, 2**40, -101])
def test_bad_target_is_index_error_with_position(kernels, bad):
    logits, target = np.zeros((6, 10), np.float32), np.array([0, 3, -100, 9, 1, 2])
    target[4] = bad
    with pytest.raises(IndexError, match=rf"^Target {bad} is out of bounds\. \(target\[4\], with 10 classes\)$"):
        kernels.cross_entropy(logits, target)
    with pytest.raises(IndexError, match=rf"Target {bad} is out of bounds\."):  # torch says the same
        F.cross_entropy(torch.zeros(6, 10), torch.from_numpy(target))


def test_ignore_index_may_be_any_value(kernels):
    logits, target = np.zeros((2, 3)), np.array([7, 1])
    loss, _ = kernels.cross_entropy(logits, target, None, 7, "sum", 0.0)
    np.testing.assert_allclose(loss, np.log(3))


@pytest.mark.parametrize("call,error,match", [
    (lambda k: k.relu(np.zeros(3, np.int64)), TypeError, "float32 or float64.*int64"),
    (lambda k: k.relu(np.zeros(3, np.float16)), TypeError, "float16"),
    (lambda k: k.relu([1.0]), TypeError, "numpy.ndarray"),
    (lambda k: k.relu_backward(np.zeros(3), np.zeros(4)), RuntimeError, r"same shape.*\(3,\) and \(4,\)"),
    (lambda k: k.sigmoid_backward(np.zeros(3), np.zeros(3, np.float32)), TypeError, "float64, float32"),
    (lambda k: k.softmax(np.zeros((), np.float32)), RuntimeError, "at least 1-D"),
    (lambda k: k.leaky_relu(np.zeros(2, np.dtype(">f8")), 0.1), TypeError, ">f8"),
    (lambda k: k.bias_relu(np.zeros((2, 3)), np.zeros(2)), RuntimeError, r"b \[cols\].*\(2, 3\) and \(2,\)"),
    (lambda k: k.bias_relu(np.zeros((2, 3)), np.zeros(3, np.float32)), TypeError, "float64, float32"),
    (lambda k: k.cross_entropy(np.zeros((2, 3)), np.zeros(2, np.int32)), RuntimeError, "Long.*int32"),
    (lambda k: k.cross_entropy(np.zeros((2, 3)), np.zeros(3, np.int64)), RuntimeError, r"\[N\].*\(3,\)"),
    (lambda k: k.cross_entropy(np.zeros(3), np.zeros(1, np.int64)), RuntimeError, r"logits \[N, C\]"),
    (lambda k: k.cross_entropy(np.zeros((2, 3), np.int64), np.zeros(2, np.int64)), TypeError, "int64"),
    (lambda k: k.cross_entropy(np.zeros((2, 3)), np.zeros(2, np.int64), np.ones(4)), RuntimeError,
     "all 3 classes"),
    (lambda k: k.cross_entropy(np.zeros((2, 3)), np.zeros(2, np.int64), np.ones(3, np.float32)), TypeError,
     "weight"),
    (lambda k: k.cross_entropy(np.zeros((2, 3)), np.zeros(2, np.int64), None, -100, "max"), ValueError,
     "max is not a valid value for reduction"),
    (lambda k: k.cross_entropy(np.zeros((2, 3)), np.zeros(2, np.int64), None, -100, "mean", 1.5), RuntimeError,
     "label_smoothing must be between 0.0 and 1.0"),
])
def test_bad_arguments_raise_clear_errors(kernels, call, error, match):
    with pytest.raises(error, match=match):
        call(kernels)


def test_c_return_codes(c_kernels):
    # C checks its arguments itself and reports through the return code, never aborts
    from tinygrad_edu._C import ffi, lib

    buf, out = ffi.new("float[8]"), ffi.new("float[8]")
    assert lib.tg_relu_f32(buf, out, 8) == lib.TG_OK
    assert lib.tg_relu_f32(buf, out, -1) == lib.TG_ERR_SIZE
    assert lib.tg_relu_f32(ffi.NULL, out, 8) == lib.TG_ERR_NULL
    assert lib.tg_relu_f32(ffi.NULL, ffi.NULL, 0) == lib.TG_OK
    assert lib.tg_bias_relu_f32(buf, ffi.NULL, out, 2, 4) == lib.TG_ERR_NULL
    assert lib.tg_bias_relu_f32(buf, buf, out, 2**62, 2**62) == lib.TG_ERR_SIZE
    assert lib.tg_softmax_f32(buf, out, 2, -4) == lib.TG_ERR_SIZE
    assert lib.tg_softmax_f32(buf, out, 2**62, 2**62) == lib.TG_ERR_SIZE
    assert lib.tg_softmax_backward_f32(buf, ffi.NULL, out, 2, 4) == lib.TG_ERR_NULL
    assert lib.tg_softmax_f32(buf, out, 5, 0) == lib.TG_OK  # empty rows: nothing read

    logits, loss, bad = ffi.new("double[6]"), ffi.new("double[2]"), ffi.new("int64_t[1]")
    target = ffi.new("int64_t[2]", [1, 3])
    ce = lib.tg_cross_entropy_f64
    assert ce(logits, target, ffi.NULL, loss, ffi.NULL, bad, 2, 3, -100, lib.TG_REDUCTION_NONE, 0.0) \
        == lib.TG_ERR_INDEX and bad[0] == 1
    loss[0] = loss[1] = 42.0
    target[1] = 0
    assert ce(logits, target, ffi.NULL, loss, ffi.NULL, bad, 2, 3, -100, 3, 0.0) == lib.TG_ERR_VALUE
    assert ce(logits, target, ffi.NULL, loss, ffi.NULL, bad, 2, 3, -100, 0, float("nan")) == lib.TG_ERR_VALUE
    assert ce(logits, target, ffi.NULL, loss, ffi.NULL, ffi.NULL, 2, 3, -100, 0, 0.0) == lib.TG_ERR_NULL
    assert ce(logits, target, ffi.NULL, loss, ffi.NULL, bad, -2, 3, -100, 0, 0.0) == lib.TG_ERR_SIZE
    assert loss[0] == loss[1] == 42.0  # failed calls wrote nothing
    assert ce(logits, target, ffi.NULL, loss, ffi.NULL, bad, 2, 3, -100, 0, 0.0) == lib.TG_OK and bad[0] == -1
    np.testing.assert_allclose([loss[0], loss[1]], [np.log(3)] * 2)


# ---------------------------------------------------------------- the ops: both backends, torch parity

def _leaky(lib, x, slope=0.1):
    return ops.LeakyRelu.apply(x, slope) if lib is tg else F.leaky_relu(x, slope)


OP_CASES = {
    "relu": (lambda lib, x: x.relu(), [[-1.0, 0.0, 2.0], [3.0, -0.0, 0.5]]),
    "leaky_relu": (_leaky, [[-1.0, 0.0, 2.0], [3.0, -4.0, 0.5]]),
    "sigmoid": (lambda lib, x: x.sigmoid(), (4, 5)),
    "tanh": (lambda lib, x: x.tanh(), (4, 5)),
    "softmax_last": (lambda lib, x: x.softmax(-1), (3, 4, 5)),
    "softmax_dim0": (lambda lib, x: x.softmax(0), (3, 4, 5)),
    "softmax_0d": (lambda lib, x: x.softmax(0), ()),
    "log_softmax_last": (lambda lib, x: x.log_softmax(-1), (6, 7)),
    "log_softmax_dim1": (lambda lib, x: x.log_softmax(1), (3, 4, 5)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(OP_CASES))
def test_op_parity_with_torch(case, dtype, backend_name):
    fn, spec = OP_CASES[case]
    check_op(fn, np.array(spec) if isinstance(spec, list) else spec, dtype=dtype)
    check_op(fn, np.array(spec) if isinstance(spec, list) else spec, dtype=dtype, noncontig=True)


@pytest.mark.parametrize("case", [c for c in OP_CASES if c != "softmax_0d"])
def test_op_double_backward_matches_torch(case):
    # the backward of each op is itself an op (ThresholdBackward, SigmoidBackward, ...): the same
    # node names as PyTorch's and the same second derivatives
    fn, spec = OP_CASES[case]
    rng = np.random.default_rng(3)
    x = np.array(spec) if isinstance(spec, list) else rng.normal(size=spec)
    g = rng.normal(size=x.shape)
    results = []
    for lib in (tg, torch):
        xt = lib.tensor(x, requires_grad=True)
        (gx,) = lib.autograd.grad(fn(lib, xt), xt, lib.tensor(g), create_graph=True)
        (gx * gx).sum().backward()
        results.append((node_name_of(gx), gx.detach().numpy(), xt.grad.numpy()))
    (name, gx, gxx), (t_name, t_gx, t_gxx) = results
    assert name == t_name
    np.testing.assert_allclose(gx, t_gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gxx, t_gxx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", list(OP_CASES))
def test_ops_agree_across_backends(case, c_kernels):
    fn, spec = OP_CASES[case]
    x = np.array(spec, np.float32) if isinstance(spec, list) else np.random.default_rng(4).normal(size=spec)
    results = []
    for name in ("numpy", "c"):
        backend.use(name)
        xt = tg.tensor(x.astype(np.float32), requires_grad=True)
        y = fn(tg, xt)
        y.backward(tg.ones_like(y))
        results.append((y.detach().numpy(), xt.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


def test_gradcheck_activation_ops():
    x = tg.tensor(np.random.default_rng(5).normal(size=(3, 4)), requires_grad=True)
    for f in (lambda t: t.sigmoid(), lambda t: t.tanh(), lambda t: t.softmax(1), lambda t: t.log_softmax(0),
              lambda t: ops.LeakyRelu.apply(t, 0.2)):
        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))


# ---------------------------------------------------------------- the CrossEntropyLoss op

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", CE_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_cross_entropy_op_matches_torch(opt, dtype, backend_name):
    logits, target, weight = _ce_case(dtype, seed=6, ignore_index=opt["ignore_index"])
    w = weight if opt["weighted"] else None
    kw = dict(ignore_index=opt["ignore_index"], reduction=opt["reduction"], label_smoothing=opt["label_smoothing"])

    def fn(lib, x):
        if lib is tg:
            return ops.CrossEntropyLoss.apply(x, target, w, kw["ignore_index"], kw["reduction"],
                                              kw["label_smoothing"])
        return F.cross_entropy(x, torch.from_numpy(target), None if w is None else _t(w), **kw)

    check_op(fn, logits, dtype=dtype, node_name="CrossEntropyLossBackward0")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_op_gradcheck_and_double_backward(reduction):
    logits, target, weight = _ce_case(np.float64, n=5, k=4, seed=7, ignore_index=2)

    def f(x):
        return ops.CrossEntropyLoss.apply(x, target, weight, 2, reduction, 0.2)

    x = tg.tensor(logits, requires_grad=True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    # double backward against torch
    xt = torch.tensor(logits, requires_grad=True)
    ours = f(x).sum()
    theirs = F.cross_entropy(xt, torch.from_numpy(target), _t(weight), ignore_index=2, reduction=reduction,
                             label_smoothing=0.2).sum()
    (g,) = tg.autograd.grad(ours, x, create_graph=True)
    (gt,) = torch.autograd.grad(theirs, xt, create_graph=True)
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cross_entropy_op_records_one_node_and_accepts_tensors():
    x = tg.randn(4, 3, requires_grad=True)
    target = tg.tensor(np.array([0, 2, 1, 2]))
    loss = ops.CrossEntropyLoss.apply(x, target)  # defaults: no weight, -100, 'mean', 0.0
    assert node_name_of(loss) == "CrossEntropyLossBackward0"
    assert loss.grad_fn.next_functions[0][0] is not None and len(loss.grad_fn.next_functions) == 1
    with tg.no_grad():
        assert ops.CrossEntropyLoss.apply(x, target).grad_fn is None
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        ops.CrossEntropyLoss.apply(x, np.array([0, 3, 1, 2]))

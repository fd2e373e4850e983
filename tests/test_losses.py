"""Every loss of nn (functional and module forms) against torch: values, grad_fn names, the
gradients of input (and target where torch gives one), every reduction/weight/ignore_index/
label_smoothing option, float32 and float64; PyTorch's errors for bad targets; gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from helpers import check_op
from tinygrad_edu import nn

DTYPES = ["float32", "float64"]
REDUCTIONS = ["mean", "sum", "none"]
# log(0) and 0 * inf give -inf and nan as values, in both libraries (Poisson with zero counts, BCE at 0)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
RNG = np.random.default_rng(0)
T5 = np.array([0, 3, 1, 4, 2, 3], np.int64)  # class targets for [6, 5] logits
W5 = np.array([0.5, 2.0, 1.0, 0.1, 3.0])
T5_IGNORED = np.array([0, -100, 1, 4, -100, 3], np.int64)
T_ND = RNG.integers(0, 4, (2, 3, 2)).astype(np.int64)  # for [2, 4, 3, 2] logits
T_ND[0, 1, 1] = -100


def F(lib):
    return lib.nn.functional


def const(lib, array, dtype=None):
    return lib.tensor(array if dtype is None else array.astype(dtype))


# ---------------------------------------------------------------- cross_entropy / nll_loss

# Our cross_entropy with class-index targets is one fused node (ops.CrossEntropyLoss: one C kernel
# for the loss and d(logits)); torch records NllLossBackward0 <- LogSoftmaxBackward0.
FUSED_CE = "CrossEntropyLossBackward0"

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target", ["plain", "ignored"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_class_indices(dtype, reduction, weighted, target, label_smoothing):
    t = T5 if target == "plain" else T5_IGNORED

    def fn(lib, x):
        w = const(lib, W5, dtype) if weighted else None
        return F(lib).cross_entropy(x, const(lib, t), weight=w, reduction=reduction, label_smoothing=label_smoothing)
    check_op(fn, (6, 5), dtype=dtype, low=-4, high=4, node_name=FUSED_CE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_nd_input_and_custom_ignore_index(reduction, label_smoothing):
    def fn(lib, x):
        return F(lib).cross_entropy(x, const(lib, T_ND), weight=const(lib, W5[:4]), reduction=reduction,
                                    label_smoothing=label_smoothing)
    check_op(fn, (2, 4, 3, 2), node_name=False)  # torch records NllLoss2dBackward0 for 4-D inputs
    check_op(lambda lib, x: F(lib).cross_entropy(x, const(lib, T5), ignore_index=3, reduction=reduction,
                                                 label_smoothing=label_smoothing), (6, 5), node_name=FUSED_CE)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_1d_input(reduction):
    # 'none' on a 1-D input: torch's 0-d result comes from NllLossBackward0, ours from a reshape of it
    node = False if reduction == "none" else None
    check_op(lambda lib, x: F(lib).cross_entropy(x, const(lib, np.array(2)), reduction=reduction), (5,),
             node_name=FUSED_CE if node is None else False)
    check_op(lambda lib, x: F(lib).nll_loss(x, const(lib, np.array(4)), reduction=reduction), (5,), node_name=node)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": W5}, {"label_smoothing": 0.3},
                                     {"weight": W5, "label_smoothing": 0.3}])
def test_cross_entropy_class_probabilities(dtype, reduction, options):
    probs = RNG.dirichlet(np.ones(5), size=(4, 3)).transpose(0, 2, 1)  # [4, 5, 3], summing to 1 over dim 1

    def fn(lib, x, p):
        kw = {k: (const(lib, v, dtype) if k == "weight" else v) for k, v in options.items()}
        return F(lib).cross_entropy(x, p, reduction=reduction, **kw)
    # 'mean' divides by a number: torch records DivBackward1, we record DivBackward0
    node = False if reduction == "mean" else None
    check_op(fn, (4, 5, 3), probs, dtype=dtype, node_name=node)  # gradient for the target probabilities too
    check_op(lambda lib, x, p: F(lib).cross_entropy(x, p, reduction=reduction), (4, 5), probs[:, :, 0],
             dtype=dtype, node_name=node)


def test_cross_entropy_extreme_logits_stay_finite():
    """Logits of +-1e4 (tinygrad #219-style overflow): values and gradients equal torch's."""
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [5.0, 5.0, -1e4]])
    for dtype in DTYPES:
        ours, _ = check_op(lambda lib, x: F(lib).cross_entropy(x, const(lib, np.array([1, 1, 2]))), logits,
                           dtype=dtype, node_name=FUSED_CE)
        assert np.isfinite(ours.item())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(dtype, reduction, weighted):
    def fn(lib, x, t=T5_IGNORED):
        w = const(lib, W5, dtype) if weighted else None
        return F(lib).nll_loss(x.log_softmax(1), const(lib, t), weight=w, reduction=reduction)
    check_op(fn, (6, 5), dtype=dtype)
    check_op(lambda lib, x: F(lib).nll_loss(x, const(lib, T_ND), reduction=reduction, ignore_index=-100),
             (2, 4, 3, 2), dtype=dtype, node_name=False)


def test_nll_loss_all_ignored_mean_is_nan_as_torch():
    ours, theirs = check_op(lambda lib, x: F(lib).nll_loss(x, const(lib, np.full(3, -100))), (3, 4), grad=False)
    assert np.isnan(ours.item()) and torch.isnan(theirs)


def test_cross_entropy_uint8_targets_accepted():
    check_op(lambda lib, x: F(lib).cross_entropy(x, const(lib, T5.astype(np.uint8))), (6, 5), node_name=FUSED_CE)


@pytest.mark.parametrize("bad,error,match", [
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), const(lib, np.array([1, 2, 3], np.int32))),
     RuntimeError, "expected target dtype to be Long or Byte, but got Int"),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1.0, 2.0, 3.0])),
     RuntimeError, "expected target dtype to be Long or Byte, but got Float"),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1, 2, 12])), IndexError,
     "Target 12 is out of bounds."),
    (lambda lib: F(lib).nll_loss(lib.ones(3, 4), lib.tensor([1, -1, 2])), IndexError, "Target -1 is out of bounds."),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1, 2])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(2\)."),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1, 2, 1]), weight=lib.ones(3)), RuntimeError,
     "weight tensor should be defined either for all 4 classes or no classes but got weight tensor of shape: "
     r"\[3\]"),
    (lambda lib: F(lib).cross_entropy(lib.ones(2, 4, 3), lib.tensor([[1, 2], [0, 0]])), RuntimeError,
     r"Expected target size \[2, 3\], got \[2, 2\]"),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1, 2, 1]), label_smoothing=1.5), RuntimeError,
     "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1, 2, 1]), reduction="avg"), ValueError,
     "avg is not a valid value for reduction"),
    (lambda lib: F(lib).binary_cross_entropy(lib.tensor([0.5, 1.5]), lib.tensor([0.0, 1.0])), RuntimeError,
     "all elements of input should be between 0 and 1"),
    (lambda lib: F(lib).binary_cross_entropy(lib.ones(3, 1) / 2, lib.ones(3)), ValueError,
     "different to the input size"),
    (lambda lib: F(lib).binary_cross_entropy_with_logits(lib.ones(3, 1), lib.ones(3)), ValueError,
     r"must be the same as input size"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.ones(3), lib.ones(3), -lib.ones(3)), ValueError,
     "var has negative entry"),
    (lambda lib: F(lib).gaussian_nll_loss(lib.ones(3, 2), lib.ones(3, 2), lib.ones(2, 2)), ValueError,
     "var is of incorrect size"),
    (lambda lib: F(lib).multi_margin_loss(lib.ones(3, 4), lib.tensor([1, 2, 1]), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
    (lambda lib: F(lib).cross_entropy(lib.ones(3, 4), lib.tensor([1, 2, 1]), weight=lib.ones(4, requires_grad=True)),
     RuntimeError, "'nll_loss_forward' is not differentiable with respect to argument 'weight'"),
    (lambda lib: F(lib).binary_cross_entropy_with_logits(lib.ones(3), lib.ones(3), pos_weight=lib.ones(
        3, requires_grad=True)), RuntimeError, "not differentiable with respect to argument 'pos_weight'"),
    (lambda lib: F(lib).binary_cross_entropy(lib.ones(3) / 2, lib.ones(3), weight=lib.ones(3, requires_grad=True)),
     RuntimeError, "'binary_cross_entropy' is not differentiable with respect to argument 'weight'"),
    (lambda lib: F(lib).multi_margin_loss(lib.ones(2, 4), lib.tensor([1, 7])), RuntimeError, "target out of range"),
    (lambda lib: F(lib).multi_margin_loss(lib.ones(2, 4), lib.tensor([1, 2], dtype=lib.int32)), RuntimeError,
     "expected scalar type Long but found Int"),
    (lambda lib: F(lib).multi_margin_loss(lib.ones(2, 4), lib.tensor([1, 2, 3])), RuntimeError,
     r"Expected target size \[2\], but got \[3\]. Input has shape \[2, 4\]."),
], ids=["int32", "float_target", "too_big", "negative", "batch", "weight_size", "nd_target", "smoothing",
        "reduction", "bce_range", "bce_shape", "bce_logits_shape", "gauss_var", "gauss_size", "margin_p",
        "ce_weight_grad", "bce_logits_pos_weight_grad", "bce_weight_grad", "margin_range", "margin_int32",
        "margin_size"])
def test_bad_input_raises_as_torch(bad, error, match):
    with pytest.raises(error, match=match):
        bad(torch)
    with pytest.raises(error, match=match):
        bad(tg)


# ---------------------------------------------------------------- regression losses

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_mse_l1(name, reduction, dtype):
    check_op(lambda lib, x, t: getattr(F(lib), name)(x, t, reduction=reduction), (3, 4), (3, 4), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.3}),
                                     ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}),
                                     ("huber_loss", {"delta": 0.4})])
def test_smooth_l1_huber(name, kw, reduction, dtype):
    check_op(lambda lib, x, t: getattr(F(lib), name)(x, t, reduction=reduction, **kw), (3, 4), (3, 4), dtype=dtype)


def test_mse_broadcast_warns_as_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        check_op(lambda lib, x, t: F(lib).mse_loss(x, t), (3, 4), (4,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"log_input": False}, {"full": True}, {"log_input": False, "full": True}])
def test_poisson_nll_loss(dtype, reduction, options):
    counts = RNG.poisson(2.0, (4, 3)).astype(np.float64)  # includes 0, 1 and > 1 (Stirling's term)
    check_op(lambda lib, x, t: F(lib).poisson_nll_loss(x, t, reduction=reduction, **options), (4, 3), counts,
             dtype=dtype, low=0.1, high=3.0, grad_rtol=1e-4 if dtype == "float32" else None,
             grad_atol=1e-5 if dtype == "float32" else None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1)], ids=["same", "one_short", "broadcast"])
def test_gaussian_nll_loss(dtype, reduction, full, var_shape):
    var = RNG.uniform(0.0, 2.0, var_shape)
    var.flat[0] = 1e-9  # clamped at eps, the gradient passing through as torch's
    check_op(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=full, reduction=reduction), (4, 3), (4, 3),
             var, dtype=dtype, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- binary losses

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(dtype, reduction, weighted):
    w = RNG.uniform(0.5, 2.0, (4,))

    def fn(lib, x, t):
        return F(lib).binary_cross_entropy(x, t, weight=const(lib, w, dtype) if weighted else None,
                                           reduction=reduction)
    check_op(fn, (3, 4), (3, 4), dtype=dtype, low=0.05, high=0.95)
    # at exactly 0 and 1: the logs clamp at -100 and the gradient is PyTorch's finite one
    check_op(fn, np.array([[0.0, 1.0, 0.5, 1e-3]] * 3), np.array([[1.0, 0.0, 1.0, 0.0]] * 3), dtype=dtype,
             rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(dtype, reduction, options):
    w, pw = RNG.uniform(0.5, 2.0, (4,)), RNG.uniform(0.5, 3.0, (4,))

    def fn(lib, x, t):
        return F(lib).binary_cross_entropy_with_logits(
            x, t, weight=const(lib, w, dtype) if options in ("weight", "both") else None, reduction=reduction,
            pos_weight=const(lib, pw, dtype) if options in ("pos_weight", "both") else None)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {}  # float32 sums with cancellation
    check_op(fn, (3, 4), (3, 4), dtype=dtype, low=-5, high=5, **tol)
    extreme = np.array([[1e4, -1e4, 0.0, 30.0]] * 3)
    ours, _ = check_op(lambda lib, x, t: fn(lib, x, t), extreme, np.array([[0.0, 1.0, 1.0, 0.3]] * 3),
                       dtype=dtype)
    assert np.isfinite(ours.detach().numpy()).all()


# ---------------------------------------------------------------- multi-margin

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)])
def test_multi_margin_loss(dtype, reduction, p, margin, weighted):
    def fn(lib, x):
        return F(lib).multi_margin_loss(x, const(lib, T5), p=p, margin=margin, reduction=reduction,
                                        weight=const(lib, W5, dtype) if weighted else None)
    check_op(fn, (6, 5), dtype=dtype)
    # 'none' on a 1-D input: torch's 0-d result comes from its node, ours from a reshape of it
    check_op(lambda lib, x: F(lib).multi_margin_loss(x, const(lib, np.array(1)), p=p, reduction=reduction), (5,),
             dtype=dtype, node_name=False if reduction == "none" else None)


# ---------------------------------------------------------------- modules

MODULES = {
    "CrossEntropyLoss": (lambda n, lib: n.CrossEntropyLoss(weight=lib.tensor(W5), ignore_index=3,
                                                           label_smoothing=0.1), "classes"),
    "CrossEntropyLoss_sum": (lambda n, lib: n.CrossEntropyLoss(reduction="sum"), "classes"),
    "NLLLoss": (lambda n, lib: n.NLLLoss(weight=lib.tensor(W5), reduction="none"), "classes"),
    "MultiMarginLoss": (lambda n, lib: n.MultiMarginLoss(p=2, margin=0.5, weight=lib.tensor(W5)), "classes"),
    "MSELoss": (lambda n, lib: n.MSELoss(reduction="sum"), "values"),
    "L1Loss": (lambda n, lib: n.L1Loss(), "values"),
    "BCELoss": (lambda n, lib: n.BCELoss(weight=lib.tensor(W5)), "probs"),
    "BCEWithLogitsLoss": (lambda n, lib: n.BCEWithLogitsLoss(pos_weight=lib.tensor(W5), reduction="none"), "probs"),
    "PoissonNLLLoss": (lambda n, lib: n.PoissonNLLLoss(full=True), "counts"),
    "SmoothL1Loss": (lambda n, lib: n.SmoothL1Loss(beta=0.2), "values"),
    "HuberLoss": (lambda n, lib: n.HuberLoss(delta=0.5, reduction="sum"), "values"),
    "GaussianNLLLoss": (lambda n, lib: n.GaussianNLLLoss(full=True, eps=1e-3), "gauss"),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_loss_modules_match_torch(name):
    make, kind = MODULES[name]
    x = RNG.uniform(0.05, 0.95, (6, 5))
    target = {"classes": T5, "values": RNG.standard_normal((6, 5)), "probs": RNG.uniform(0, 1, (6, 5)),
              "counts": RNG.poisson(2.0, (6, 5)).astype(np.float64), "gauss": RNG.standard_normal((6, 5))}[kind]
    extra = (RNG.uniform(0.1, 1.0, (6, 5)),) if kind == "gauss" else ()
    ours, theirs = make(nn, tg), make(torch.nn, torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # class weights are buffers, as torch
    check_op(lambda lib, xx, *rest: (ours if lib is tg else theirs)(xx, const(lib, target), *rest), x, *extra,
             node_name=FUSED_CE if name.startswith("CrossEntropy") else None)


def test_loss_module_legacy_reduce_arguments():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.CrossEntropyLoss(reduce=False).reduction == "none"


# ---------------------------------------------------------------- gradcheck and gradgradcheck in float64

@pytest.mark.parametrize("name,fn,inputs", [
    ("cross_entropy", lambda x: tg.nn.functional.cross_entropy(x, tg.tensor(T5_IGNORED), weight=tg.tensor(W5),
                                                              label_smoothing=0.2), [(6, 5)]),
    ("cross_entropy_probs", lambda x, p: tg.nn.functional.cross_entropy(x, p.softmax(1), label_smoothing=0.1),
     [(3, 4), (3, 4)]),
    ("nll_loss", lambda x: tg.nn.functional.nll_loss(x, tg.tensor(T_ND), reduction="sum"), [(2, 4, 3, 2)]),
    ("mse_loss", lambda x, t: tg.nn.functional.mse_loss(x, t), [(3, 4), (3, 4)]),
    ("l1_loss", lambda x, t: tg.nn.functional.l1_loss(x, t, reduction="sum"), [(3, 4), (3, 4)]),
    ("bce", lambda x, t: tg.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid()), [(3, 4), (3, 4)]),
    ("bce_logits", lambda x, t: tg.nn.functional.binary_cross_entropy_with_logits(
        x, t.sigmoid(), pos_weight=tg.tensor([2.0, 0.5, 1.0, 3.0], dtype=tg.float64), reduction="none"),
     [(3, 4), (3, 4)]),
    ("smooth_l1", lambda x, t: tg.nn.functional.smooth_l1_loss(x, t, beta=0.5), [(3, 4), (3, 4)]),
    ("huber", lambda x, t: tg.nn.functional.huber_loss(x, t, delta=0.7, reduction="sum"), [(3, 4), (3, 4)]),
    ("multi_margin", lambda x: tg.nn.functional.multi_margin_loss(x, tg.tensor(T5), p=2, margin=3.0), [(6, 5)]),
    ("poisson", lambda x, t: tg.nn.functional.poisson_nll_loss(x, t.exp(), full=True), [(3, 4), (3, 4)]),
    ("gaussian", lambda x, t, v: tg.nn.functional.gaussian_nll_loss(x, t, v.exp(), full=True), [(3, 4)] * 3),
])
def test_losses_gradcheck(name, fn, inputs):
    rng = np.random.default_rng(3)
    args = [tg.tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in inputs]
    assert tg.autograd.gradcheck(fn, args)
    assert tg.autograd.gradgradcheck(fn, args)  # the fused nodes' backwards are differentiable too


def test_cross_entropy_second_derivative_through_nll():
    """create_graph works through NllLossBackward0: d/dx of (dL/dx . v) matches torch's."""
    x = RNG.standard_normal((4, 5))
    v = RNG.standard_normal((4, 5))
    results = []
    for lib in (tg, torch):
        xx = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xx, const(lib, T5[:4]), label_smoothing=0.1)
        (g,) = lib.autograd.grad(loss, xx, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(v)).sum(), xx)
        results.append(h.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-12)

"""nn.Conv2d, nn.MaxPool2d (and BatchNorm2d in a CNN) against torch.nn, and the notes' CNN.

The functional ops (tg.conv2d, tg.max_pool2d: values, gradients, argument errors) are tested
in test_conv.py; here: the modules' parity with copied weights, repr, state_dict, default
initialisation, constructor and shape errors, the notes' activation-map size formula, the
notes' CNN, and examples/train_mnist_cnn.py on a subset of the real MNIST files.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from nn_helpers import assert_state_equal, check_module, to_tg_state
from mnist_files import load_example, mnist_dir

nn = tg.nn
# float32 weight gradients sum hundreds of products: float32 rounding, not float32 epsilon
TOL = {"float32": (1e-4, 1e-4), "float64": (1e-10, 1e-10)}

MODULES = {
    "conv": (lambda n: n.Conv2d(2, 3, 3), (2, 2, 7, 6)),
    "conv_pad_stride": (lambda n: n.Conv2d(1, 4, 5, stride=2, padding=2), (3, 1, 9, 9)),
    "conv_rect": (lambda n: n.Conv2d(3, 2, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)), (2, 3, 8, 7)),
    "conv_same_nobias": (lambda n: n.Conv2d(2, 2, 4, padding="same", bias=False), (1, 2, 6, 5)),
    "conv_valid": (lambda n: n.Conv2d(2, 2, 3, padding="valid"), (2, 2, 5, 5)),
    "conv_unbatched": (lambda n: n.Conv2d(2, 3, 3, padding=1), (2, 5, 5)),
    "pool": (lambda n: n.MaxPool2d(2), (2, 3, 8, 8)),
    "pool_overlap": (lambda n: n.MaxPool2d(3, stride=2, padding=1), (2, 2, 7, 9)),
    "pool_ceil_dilated": (lambda n: n.MaxPool2d((2, 3), stride=(2, 1), dilation=(1, 2), ceil_mode=True), (1, 2, 7, 8)),
    "pool_unbatched": (lambda n: n.MaxPool2d(2), (3, 6, 6)),
    "cnn_bn": (lambda n: n.Sequential(n.Conv2d(1, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
                                      n.Conv2d(4, 6, 3), n.BatchNorm2d(6, momentum=None), n.ReLU(), n.Flatten(),
                                      n.Linear(6 * 2 * 2, 3)), (5, 1, 8, 8)),
}


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own zero-padded copy
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(MODULES))
def test_module_parity_with_torch(name, dtype):
    """Forward, input gradient and every parameter gradient with torch's weights copied in."""
    make, shape = MODULES[name]
    ours, theirs = check_module(make, shape, dtype, tol=TOL[dtype])
    assert_state_equal(ours, theirs)  # BatchNorm2d's running statistics too


@pytest.mark.parametrize("name", ["conv_pad_stride", "cnn_bn"])
def test_module_parity_in_eval_mode(name):
    make, shape = MODULES[name]
    check_module(make, shape, "float64", train=False, tol=TOL["float64"])


def test_batchnorm2d_in_a_cnn_tracks_running_stats_over_steps_then_evaluates_as_torch():
    make, shape = MODULES["cnn_bn"]
    theirs, ours = make(torch.nn), make(nn)
    ours.load_state_dict(to_tg_state(theirs))
    rng = np.random.default_rng(2)
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        theirs(torch.tensor(x))
        ours(tg.tensor(x))
    assert_state_equal(ours, theirs, rtol=1e-5, atol=1e-5)
    theirs.eval()
    ours.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    # F.batch_norm on a 4-D input with given statistics, as the functional form
    stats = [rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)]
    x = rng.standard_normal((3, 4, 2, 5)).astype(np.float32)
    for training in (False, True):
        mine = [tg.tensor(s.copy()) for s in stats]
        ref = [torch.tensor(s.copy()) for s in stats]
        out = F.batch_norm(tg.tensor(x), *mine, training=training, momentum=0.3)
        want = torch.nn.functional.batch_norm(torch.tensor(x), *ref, training=training, momentum=0.3)
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
        for a, b in zip(mine, ref):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_module_return_indices_as_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    values, indices = nn.MaxPool2d(2, return_indices=True)(tg.tensor(x))
    ref_values, ref_indices = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(values.numpy(), ref_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), ref_indices.numpy())


# ---------------------------------------------------------------- repr, state_dict, initialisation

REPRS = [
    lambda n: n.Conv2d(1, 16, 5, padding=2),
    lambda n: n.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
    lambda n: n.Conv2d(1, 1, kernel_size=3, stride=2),
    lambda n: n.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 0), dilation=2, bias=False),
    lambda n: n.Conv2d(2, 2, 3, padding="same"),
    lambda n: n.Conv2d(2, 2, 3, padding="valid", padding_mode="zeros"),
    lambda n: n.Conv2d(2, 2, [3, 3], padding=[0, 0], dilation=[1, 1]),
    lambda n: n.MaxPool2d(2),
    lambda n: n.MaxPool2d(kernel_size=2),
    lambda n: n.MaxPool2d((2, 3), 1, 1, 2, True, True),
    lambda n: n.MaxPool2d(3, stride=(2, 1), padding=(1, 0), ceil_mode=True),
    lambda n: n.Sequential(n.Conv2d(1, 16, 5, padding=2), n.ReLU(), n.MaxPool2d(2), n.BatchNorm2d(16), n.Flatten(),
                           n.Linear(16 * 14 * 14, 10)),
]


@pytest.mark.parametrize("make", REPRS, ids=range(len(REPRS)))
def test_print_model_as_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


def test_attributes_as_torch():
    for make in REPRS[:-1]:
        ours, theirs = make(nn), make(torch.nn)
        names = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                 "padding_mode", "output_padding", "transposed", "return_indices", "ceil_mode")
        for name in names:
            if hasattr(theirs, name):
                assert getattr(ours, name) == getattr(theirs, name), name


def test_state_dict_keys_shapes_and_round_trip_with_torch():
    make = MODULES["cnn_bn"][0]
    ours, theirs = make(nn), make(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), k
    assert ours.load_state_dict(to_tg_state(theirs)) == ([], [])
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    assert_state_equal(ours, theirs, rtol=0, atol=0)
    assert list(dict(nn.Conv2d(1, 2, 3, bias=False).named_parameters())) == ["weight"]


@pytest.mark.parametrize("in_channels,out_channels,kernel", [(1, 16, 5), (16, 32, 5), (3, 4, (1, 7))])
def test_default_initialisation_is_torchs_uniform(in_channels, out_channels, kernel):
    """kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias the same bound."""
    tg.manual_seed(0)
    conv = nn.Conv2d(in_channels, out_channels, kernel)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    bound = 1 / math.sqrt(in_channels * kh * kw)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert w.shape == (out_channels, in_channels, kh, kw) and b.shape == (out_channels,)
    assert w.dtype == np.float32 and conv.weight.requires_grad and conv.bias.requires_grad
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # the whole interval is used: max near the bound, std of a uniform distribution
    assert np.abs(w).max() > 0.9 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.2 if w.size < 100 else 0.05)
    ref = torch.nn.Conv2d(in_channels, out_channels, kernel)  # the same bound in torch
    assert np.abs(ref.weight.detach().numpy()).max() <= bound


def test_seed_reproduces_the_initialisation():
    tg.manual_seed(3)
    a = nn.Conv2d(2, 3, 3).weight.detach().numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Conv2d(2, 3, 3).weight.detach().numpy(), a)


# ---------------------------------------------------------------- errors

def _error_of(fn):
    """(type, message) of what fn raises. A set printed in a message ("one of {'zeros', ...}") is
    normalised to sorted order: its order depends on the hash seed (and, for torch, on the one
    its .pyc files were compiled with), not on the library."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 -- the type and message are what is compared
        sorted_sets = re.sub(r"\{('[^{}]*')\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", str(e))
        return type(e), sorted_sets
    return None, None


CONSTRUCTOR_ERRORS = [
    lambda n: n.Conv2d(3, 4, 3, groups=0),
    lambda n: n.Conv2d(3, 4, 3, groups=2),
    lambda n: n.Conv2d(4, 3, 3, groups=2),
    lambda n: n.Conv2d(3, 4, 3, padding="full"),
    lambda n: n.Conv2d(3, 4, 3, stride=2, padding="same"),
    lambda n: n.Conv2d(3, 4, 3, padding_mode="mirror"),
]

FORWARD_ERRORS = [
    # the notes' MNIST CNN fed a 3-channel image
    lambda n, lib: n.Conv2d(1, 16, 5, padding=2)(lib.zeros(64, 3, 28, 28)),
    lambda n, lib: n.Conv2d(1, 16, 5)(lib.zeros(28, 28)),
    lambda n, lib: n.Conv2d(1, 16, 5)(lib.zeros(1, 1, 4, 4)),
    lambda n, lib: n.Linear(32 * 7 * 7, 10)(n.Flatten()(lib.zeros(2, 32, 8, 8))),
    lambda n, lib: n.MaxPool2d(5)(lib.zeros(1, 1, 4, 4)),
    lambda n, lib: n.MaxPool2d(2, padding=2)(lib.zeros(1, 1, 8, 8)),
    lambda n, lib: n.MaxPool2d(2)(lib.zeros(8, 8)),
    lambda n, lib: n.BatchNorm2d(16)(lib.zeros(2, 16, 8)),
]


@pytest.mark.parametrize("make", CONSTRUCTOR_ERRORS, ids=range(len(CONSTRUCTOR_ERRORS)))
def test_constructor_errors_as_torch(make):
    theirs = _error_of(lambda: make(torch.nn))
    assert theirs[0] is not None, "torch accepted it: the case is wrong"
    assert _error_of(lambda: make(nn)) == theirs


@pytest.mark.parametrize("call", FORWARD_ERRORS, ids=range(len(FORWARD_ERRORS)))
def test_shape_errors_as_torch(call):
    theirs = _error_of(lambda: call(torch.nn, torch))
    assert theirs[0] is not None, "torch accepted it: the case is wrong"
    assert _error_of(lambda: call(nn, tg)) == theirs


def test_channel_mismatch_names_expected_and_actual_sizes():
    with pytest.raises(RuntimeError, match=r"weight of size \[16, 1, 5, 5\], expected input\[64, 3, 28, 28\] to "
                                           r"have 1 channels, but got 3 channels instead"):
        nn.Conv2d(1, 16, 5, padding=2)(tg.zeros(64, 3, 28, 28))


def test_documented_differences_raise_clear_errors():
    """groups > 1 and padding modes other than zeros: PyTorch has them, we say we do not."""
    with pytest.raises(NotImplementedError, match="groups=2 is not supported"):
        nn.Conv2d(4, 4, 3, groups=2)
    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(NotImplementedError, match=f"padding_mode='{mode}' is not supported"):
            nn.Conv2d(1, 1, 3, padding=1, padding_mode=mode)


# ---------------------------------------------------------------- the notes' size formula and CNN

@pytest.mark.parametrize("h,k,p,s", [(5, 3, 0, 2), (5, 3, 0, 1), (28, 5, 2, 1), (14, 5, 2, 1), (28, 3, 1, 2),
                                     (32, 4, 0, 4), (7, 7, 3, 3), (10, 1, 0, 3)])
def test_activation_map_size_formula(h, k, p, s):
    """The notes: an activation map has (H - K + 2P)/S + 1 rows (rounded down), as torch's."""
    x = tg.zeros(1, 1, h, h + 3)
    y = nn.Conv2d(1, 2, k, stride=s, padding=p)(x)
    expected = ((h - k + 2 * p) // s + 1, (h + 3 - k + 2 * p) // s + 1)
    assert tuple(y.shape) == (1, 2, *expected)
    assert tuple(torch.nn.Conv2d(1, 2, k, stride=s, padding=p)(torch.zeros(1, 1, h, h + 3)).shape) == tuple(y.shape)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 5), st.integers(0, 3), st.integers(1, 4))
def test_activation_map_size_formula_property(h, k, p, s):
    if h + 2 * p < k:
        return  # the kernel does not fit: the error case is tested above
    y = nn.Conv2d(1, 1, k, stride=s, padding=p)(tg.zeros(1, 1, h, h))
    assert tuple(y.shape) == (1, 1, (h - k + 2 * p) // s + 1, (h - k + 2 * p) // s + 1)


def test_notes_single_convolution_examples():
    """The notes' first examples: a 3x3 kernel with stride 2 on a 5x5 image, then 3 output channels."""
    tg.manual_seed(0)
    conv = nn.Conv2d(in_channels=1, out_channels=1, kernel_size=3, stride=2)
    image = tg.zeros(1, 1, 5, 5)
    image[0, 0, :] = 1
    z = conv(image)
    assert tuple(z.shape) == (1, 1, 2, 2)
    np.testing.assert_allclose(z.detach().numpy(), np.full((1, 1, 2, 2), conv.weight.sum().item() + conv.bias.item()),
                               rtol=1e-6)
    conv1 = nn.Conv2d(in_channels=1, out_channels=3, kernel_size=3)
    image1 = tg.zeros(1, 1, 5, 5)
    image1[0, 0, :, 2] = 1
    z = conv1(image1)
    assert tuple(z.shape) == (1, 3, 3, 3)
    assert len(list(conv1.parameters())) == 2 and tuple(conv1.weight.shape) == (3, 1, 3, 3)  # in * out kernels


def _notes_cnn(nn_):
    """The notes' CNN class, as written there (16x16 images: out_2 * 4 * 4 features), with its forward."""
    class CNN(nn_.Module):
        def __init__(self, out_1=1, out_2=3):
            super(CNN, self).__init__()
            self.cnn1 = nn_.Conv2d(in_channels=1, out_channels=out_1, kernel_size=5, padding=2)
            self.maxpool1 = nn_.MaxPool2d(kernel_size=2)
            self.cnn2 = nn_.Conv2d(in_channels=out_1, out_channels=out_2, kernel_size=5, stride=1, padding=2)
            self.maxpool2 = nn_.MaxPool2d(kernel_size=2)
            self.fc1 = nn_.Linear(out_2 * 4 * 4, 10)

        def forward(self, x):
            x = self.maxpool1(self.cnn1(x).relu())
            x = self.maxpool2(self.cnn2(x).relu())
            return self.fc1(x.view(x.size(0), -1))
    return CNN


def test_notes_cnn_class_runs_and_matches_torch():
    ours, theirs = _notes_cnn(nn)(2, 4), _notes_cnn(torch.nn)(2, 4)
    ours.load_state_dict(to_tg_state(theirs))
    x = np.random.default_rng(0).standard_normal((3, 1, 16, 16)).astype(np.float32)
    y, ref = ours(tg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert repr(ours) == repr(theirs)
    assert type(y.grad_fn).__name__ == type(ref.grad_fn).__name__ == "AddmmBackward0"
    y.sum().backward()
    ref.sum().backward()
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_mnist_cnn_forward_shapes_layer_by_layer():
    """[N, 1, 28, 28] -> conv 16 (28x28) -> pool (14x14) -> conv 32 (14x14) -> pool (7x7) -> 10 logits."""
    model = load_example("train_mnist_cnn").CNN()
    x = tg.zeros(2, 1, 28, 28)
    shapes = []
    for layer in (model.cnn1, nn.ReLU(), model.maxpool1, model.cnn2, nn.ReLU(), model.maxpool2):
        x = layer(x)
        shapes.append(tuple(x.shape))
    assert shapes == [(2, 16, 28, 28)] * 2 + [(2, 16, 14, 14), (2, 32, 14, 14), (2, 32, 14, 14), (2, 32, 7, 7)]
    assert tuple(model(tg.zeros(2, 1, 28, 28)).shape) == (2, 10)
    assert model.fc1.in_features == 32 * 7 * 7
    assert sum(p.numel() for p in model.parameters()) == 16 * 25 + 16 + 32 * 16 * 25 + 32 + 1568 * 10 + 10


def test_train_mnist_cnn_on_a_subset_writes_checkpoint_and_plot(tmp_path, capsys):
    example = load_example("train_mnist_cnn")
    ckpt, plot = tmp_path / "cnn.ckpt", tmp_path / "cnn.png"
    history = example.main(["--epochs", "1", "--limit-train", "2000", "--data-dir", mnist_dir(), "--save", str(ckpt),
                            "--plot", str(plot), "--no-progress"])
    out = capsys.readouterr().out
    assert history["test_acc"][-1] >= 70.0, out  # 2,000 images, 32 steps: about 80% (an MLP gets about 85%)
    assert "(cnn1): Conv2d(1, 16, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))" in out
    assert "epoch 1: train loss" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = tg.load(str(ckpt))
    assert saved["epoch"] == 1 and list(saved["model"]) == ["cnn1.weight", "cnn1.bias", "cnn2.weight", "cnn2.bias",
                                                            "fc1.weight", "fc1.bias"]
    assert set(saved) >= {"optimizer", "scheduler", "history"}


def test_train_mnist_cnn_resume_continues_as_an_uninterrupted_run(tmp_path):
    """Conv weights and Adam's moments of 4-D parameters go through the checkpoint unchanged."""
    example = load_example("train_mnist_cnn")
    common = ["--data-dir", mnist_dir(), "--limit-train", "640", "--channels", "4,8", "--plot", "", "--no-progress",
              "--scheduler", "none", "--seed", "1", "--epochs", "2"]
    straight = example.main(common + ["--save", ""])
    example.main(common[:-1] + ["1", "--save", str(tmp_path / "c.ckpt")])
    resumed = example.main(common + ["--save", "", "--resume", str(tmp_path / "c.ckpt")])
    assert resumed["test_loss"] == pytest.approx(straight["test_loss"], rel=1e-5)
    assert resumed["test_acc"] == pytest.approx(straight["test_acc"])


def test_public_names():
    assert F.conv2d is tg.conv2d and F.max_pool2d is tg.max_pool2d
    assert {"Conv2d", "MaxPool2d"} <= set(nn.__all__)
    from tinygrad_edu.nn import Conv2d, MaxPool2d  # noqa: F401

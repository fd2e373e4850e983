"""tinygrad_edu.vision against torch (and torchvision's code, ported to torch in torchvision_ref.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_edu as tg
import tinygrad_edu.vision as torchvision
from tinygrad_edu.vision import transforms as T
from tinygrad_edu.vision.transforms import functional as VF

import torchvision_ref

from PIL import Image as PIL  # Pillow comes with matplotlib (the test and plot extras)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- names

def test_old_names_are_the_new_modules():
    import tinygrad_edu.datasets as old_datasets
    import tinygrad_edu.datasets.mnist as old_mnist
    import tinygrad_edu.transforms as old_transforms
    assert old_datasets.MNIST is torchvision.datasets.MNIST is old_mnist.MNIST
    assert old_transforms.ToTensor is torchvision.transforms.ToTensor and old_transforms.Resize is T.Resize
    assert tg.vision is torchvision and tg.datasets.FashionMNIST is torchvision.datasets.FashionMNIST


# ---------------------------------------------------------------- resize

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [(7, 5), (13, 29), (20, 20), (4, 40)])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_tensor_matches_torch_interpolate(size, antialias, dtype):
    x = _rng().standard_normal((2, 3, 16, 20)).astype(dtype)
    ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = T.Resize(size, antialias=antialias)(ours)
    ref = TF.interpolate(theirs, size=size, mode="bilinear", align_corners=False, antialias=antialias)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    g = _rng(1).standard_normal(ref.shape).astype(dtype)
    out.backward(tg.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol)


def test_resize_nearest_and_smaller_edge_rule():
    x = _rng().standard_normal((3, 30, 40)).astype("float32")
    out = T.Resize(20, interpolation=T.InterpolationMode.NEAREST)(tg.tensor(x))
    assert out.shape == (3, 20, 26)  # the smaller edge to 20, the other int(20 * 40 / 30)
    ref = TF.interpolate(torch.tensor(x)[None], size=(20, 26), mode="nearest")[0]
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert T.Resize(20)(tg.tensor(x.transpose(0, 2, 1))).shape == (3, 26, 20)
    assert T.Resize(20, max_size=24)(tg.tensor(x)).shape == (3, 18, 24)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize((20, 20), max_size=30)(tg.tensor(x))


def test_resize_uint8_rounds_like_torchvision():
    x = _rng().integers(0, 256, (3, 17, 23), dtype=np.uint8)
    out = T.Resize((9, 11))(tg.tensor(x))
    ref = TF.interpolate(torch.tensor(x)[None].float(), size=(9, 11), mode="bilinear", antialias=True)[0]
    assert out.dtype == tg.uint8
    np.testing.assert_array_equal(out.numpy(), ref.round().clamp(0, 255).to(torch.uint8).numpy())


def test_resize_pil_image_agrees_with_the_tensor_path():
    x = _rng().integers(0, 256, (24, 30, 3), dtype=np.uint8)
    pil_out = np.asarray(T.Resize((10, 13))(PIL.fromarray(x))).astype(int)
    tensor_out = T.Resize((10, 13))(tg.tensor(x.transpose(2, 0, 1))).numpy().transpose(1, 2, 0).astype(int)
    assert np.abs(pil_out - tensor_out).max() <= 1  # PIL computes in fixed point


# ---------------------------------------------------------------- crops, flips, padding

def test_center_crop_random_crop_and_flip():
    x = _rng().standard_normal((2, 3, 9, 12)).astype("float32")
    ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = T.CenterCrop((4, 7))(ours)
    top, left = int(round((9 - 4) / 2.0)), int(round((12 - 7) / 2.0))
    ref = theirs[..., top:top + 4, left:left + 7]
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    big = T.CenterCrop(14)(tg.tensor(x)).numpy()  # larger than the image: zero padding first, as torchvision
    np.testing.assert_array_equal(big, TF.pad(torch.tensor(x), (1, 1, 2, 3)).numpy())
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(tg.tensor(x)).numpy(), np.flip(x, -1))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(tg.tensor(x)).numpy(), x)
    tg.manual_seed(0)
    crops = {tuple(T.RandomCrop(5)(tg.tensor(x)).numpy()[0, 0, 0, :2]) for _ in range(30)}
    assert len(crops) > 5, "RandomCrop should pick different places"
    for _ in range(10):
        c = T.RandomCrop(5, padding=2)(tg.tensor(x)).numpy()
        padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
        assert c.shape == (2, 3, 5, 5) and any(
            np.array_equal(c, padded[..., i:i + 5, j:j + 5]) for i in range(9) for j in range(12))


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")])
def test_pad_matches_torch(mode, torch_mode):
    x = _rng().standard_normal((2, 3, 6, 7)).astype("float32")
    for padding, lrtb in ((2, (2, 2, 2, 2)), ((1, 3), (1, 1, 3, 3)), ((1, 2, 3, 4), (1, 3, 2, 4))):
        out = T.Pad(padding, padding_mode=mode)(tg.tensor(x)).numpy()
        np.testing.assert_array_equal(out, TF.pad(torch.tensor(x), lrtb, mode=torch_mode).numpy())
    assert T.Pad(1, fill=5)(tg.tensor(x)).numpy()[0, 0, 0, 0] == 5
    symmetric = T.Pad(2, padding_mode="symmetric")(tg.tensor(x)).numpy()
    np.testing.assert_array_equal(symmetric[..., 2:-2, 0], x[..., :, 1])


def test_pil_transforms_and_to_pil_image():
    x = _rng().integers(0, 256, (9, 12, 3), dtype=np.uint8)
    img = PIL.fromarray(x)
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((4, 6))(img)), x[2:6, 3:9])
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(img)), x[:, ::-1])
    np.testing.assert_array_equal(np.asarray(T.Pad((1, 2))(img)), np.pad(x, ((2, 2), (1, 1), (0, 0))))
    back = T.ToPILImage()(T.ToTensor()(img))  # float [0, 1] -> bytes as torchvision's mul(255).byte()
    assert back.mode == "RGB" and back.size == (12, 9)
    expected = (torch.tensor(x).permute(2, 0, 1).float().div(255).mul(255).byte()).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(np.asarray(back), expected)
    gray = T.ToPILImage()(tg.rand(1, 5, 4))
    assert gray.mode == "L" and gray.size == (4, 5)
    composed = T.Compose([T.Resize(8), T.CenterCrop(8), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])(img)
    assert composed.shape == (3, 8, 8)


# ---------------------------------------------------------------- utils

@pytest.mark.parametrize("kwargs", [{}, {"nrow": 3}, {"padding": 0}, {"normalize": True},
                                    {"normalize": True, "value_range": (-0.5, 0.5), "pad_value": 1.0},
                                    {"normalize": True, "scale_each": True, "nrow": 4, "padding": 3}])
@pytest.mark.parametrize("shape", [(10, 1, 5, 6), (7, 3, 4, 4), (1, 3, 4, 5), (2, 5, 5), (5, 5)])
def test_make_grid_matches_torchvision(shape, kwargs):
    x = _rng().standard_normal(shape).astype("float32")
    ours = torchvision.utils.make_grid(tg.tensor(x), **kwargs)
    ref = torchvision_ref.make_grid(torch.tensor(x), **kwargs)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)
    lst = [tg.tensor(a) for a in x] if len(shape) == 4 else None
    if lst:
        np.testing.assert_allclose(torchvision.utils.make_grid(lst, **kwargs).numpy(), ref.numpy(), rtol=1e-6,
                                   atol=1e-7)


def test_save_image_writes_the_grid_as_png(tmp_path):
    x = _rng().random((6, 1, 8, 8)).astype("float32")
    path = tmp_path / "grid.png"
    torchvision.utils.save_image(tg.tensor(x), path, nrow=3)
    grid = torchvision_ref.make_grid(torch.tensor(x), nrow=3)
    expected = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(np.asarray(PIL.open(path)), expected)


# ---------------------------------------------------------------- models

def _copy_weights(ours, theirs):
    for (name, p), (tname, tp) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert name == tname
        p.copy_(tg.tensor(tp.numpy()))


def test_resnet18_architecture_matches_torchvision():
    ours, theirs = torchvision.models.resnet18(), torchvision_ref.ResNet18()
    shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert sum(p.numel() for p in ours.parameters()) == 11_689_512
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert torchvision.models.resnet18(num_classes=10).fc.weight.shape == (10, 512)
    std = ours.conv1.weight.detach().numpy().std()  # kaiming_normal_(fan_out, relu): sqrt(2 / (64 * 49))
    assert abs(std - np.sqrt(2 / (64 * 49))) < 0.01


@pytest.mark.parametrize("train", [False, True])
def test_resnet18_forward_and_backward_match_torch(train):
    torch.manual_seed(0)
    ours, theirs = torchvision.models.resnet18(num_classes=10), torchvision_ref.ResNet18(num_classes=10)
    with torch.no_grad():
        for m in theirs.modules():  # non-trivial running statistics for eval mode
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    with tg.no_grad():
        _copy_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    x = _rng().standard_normal((2, 3, 48, 48)).astype("float32")
    out, ref = ours(tg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-3, atol=1e-4)
    out.sum().backward()
    ref.sum().backward()
    for name in ("conv1.weight", "layer1.0.bn1.weight", "layer4.1.conv2.weight", "fc.bias"):
        ours_g = dict(ours.named_parameters())[name].grad.numpy()
        np.testing.assert_allclose(ours_g, dict(theirs.named_parameters())[name].grad.numpy(), rtol=2e-3, atol=2e-4)


def test_resnet18_weights_from_safetensors_and_no_download(tmp_path, monkeypatch):
    from safetensors.torch import save_file
    theirs = torchvision_ref.ResNet18().eval()
    path = str(tmp_path / "r18.safetensors")
    save_file(theirs.state_dict(), path)
    ours = torchvision.models.resnet18(weights=path).eval()
    x = _rng().standard_normal((1, 3, 32, 32)).astype("float32")
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-3, atol=1e-4)
    monkeypatch.setenv("TINYGRAD_EDU_HOME", str(tmp_path / "home"))
    for kwargs in ({"pretrained": True}, {"weights": "DEFAULT"}, {"weights": "IMAGENET1K_V1"}):
        with pytest.raises(FileNotFoundError, match="never downloads.*home/checkpoints/resnet18-f37072fd.safetensors"):
            torchvision.models.resnet18(**kwargs)
    (tmp_path / "home" / "checkpoints").mkdir(parents=True)
    save_file(theirs.state_dict(), str(tmp_path / "home" / "checkpoints" / "resnet18-f37072fd.safetensors"))
    assert torchvision.models.resnet18(weights="DEFAULT").fc.bias.detach().numpy()[0] == theirs.fc.bias[0].item()
    with pytest.raises(FileNotFoundError, match="no such file"):
        torchvision.models.resnet18(weights=str(tmp_path / "missing.safetensors"))
    torch.save({k: v + 1 for k, v in theirs.state_dict().items()},  # torchvision's own file name and format win
               str(tmp_path / "home" / "checkpoints" / "resnet18-f37072fd.pth"))
    assert torchvision.models.resnet18(weights="DEFAULT").fc.bias.detach().numpy()[0] == theirs.fc.bias[0].item() + 1
    torch.save(theirs.state_dict(), str(tmp_path / "r18.pth"))
    ours = torchvision.models.resnet18(weights=str(tmp_path / "r18.pth")).eval()
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-3, atol=1e-4)


def test_frozen_body_new_head_as_the_notes():
    model = torchvision.models.resnet18()
    for p in model.parameters():
        p.requires_grad = False
    model.fc = tg.nn.Linear(model.fc.in_features, 2)
    loss = tg.nn.functional.cross_entropy(model(tg.randn(2, 3, 32, 32)), tg.tensor([0, 1]))
    loss.backward()
    assert model.fc.weight.grad is not None and model.conv1.weight.grad is None


# ---------------------------------------------------------------- adaptive pooling

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [1, (1, 1), (3, 4), (5, None), (9, 11), (2, 7)])
def test_adaptive_avg_pool2d_matches_torch(size, dtype):
    x = _rng().standard_normal((2, 3, 9, 11)).astype(dtype)
    ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = tg.nn.AdaptiveAvgPool2d(size)(ours), torch.nn.AdaptiveAvgPool2d(size)(theirs)
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    g = _rng(1).standard_normal(ref.shape).astype(dtype)
    out.backward(tg.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol)
    assert repr(tg.nn.AdaptiveAvgPool2d(size)) == repr(torch.nn.AdaptiveAvgPool2d(size))
    out3 = tg.nn.functional.adaptive_avg_pool2d(tg.tensor(x[0]), size)  # unbatched [C, H, W]
    np.testing.assert_allclose(out3.numpy(), TF.adaptive_avg_pool2d(torch.tensor(x[0]), size).numpy(), rtol=tol,
                               atol=tol)

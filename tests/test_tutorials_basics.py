"""PyTorch's "Learn the Basics" tutorials on tinygrad_edu: tests/basics_program.py (their steps, in
their shape) runs unchanged on tinygrad_edu and on torch, on a subset of the MNIST files standing in
for Fashion-MNIST (no Fashion-MNIST files on this machine); and the pieces the tutorials need that
have their own tests elsewhere: vision.models.vgg*, whole-Module save/load, vision.io.read_image."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import torchvision_ref
from mnist_files import mnist_dir
from tinygrad_edu.vision import datasets, models
from tinygrad_edu.vision.datasets.utils import read_idx

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def _write_idx(path: Path, a: np.ndarray) -> None:
    head = bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    path.write_bytes(head + a.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory) -> str:
    """root/FashionMNIST/raw/* as torchvision lays it out (uncompressed), holding the first 6,400 training and
    1,000 test images of MNIST (Fashion-MNIST has the same format; its files are not here)."""
    root = tmp_path_factory.mktemp("data")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n in (("train", 6400), ("t10k", 1000)):
        for kind in ("images-idx3", "labels-idx1"):
            _write_idx(raw / f"{split}-{kind}-ubyte", read_idx(Path(mnist_dir()) / f"{split}-{kind}-ubyte.gz")[:n])
    return str(root)


def _start(program_args: list, workdir: Path, on_torch: bool) -> subprocess.Popen:
    workdir.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]), OMP_NUM_THREADS="1",
               MPLBACKEND="Agg")
    cmd = [sys.executable, str(TESTS / "torch_alias.py")] + (["--torch"] if on_torch else []) + program_args
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_basics_program_runs_unchanged_and_matches_torch(fashion_root, tmp_path):
    args = lambda d: [str(TESTS / "basics_program.py"), fashion_root, str(d), "2", "0.1"]
    procs = {side: _start(args(tmp_path / side), tmp_path / side, side == "torch") for side in ("ours", "torch")}
    ours, theirs = _result(procs["ours"]), _result(procs["torch"])
    for r in (ours, theirs):
        assert r["before"][1] < 0.3 and r["same_predictions"] and r["reloaded_type"] == "NeuralNetwork"
        assert "UnpicklingError" in r["refused"] and "weights_only" in r["refused"]
        assert "__main__.NeuralNetwork" in r["refused"]  # the class that was refused, named as torch does
    assert ours["train_losses"][1] < ours["train_losses"][0] < ours["before"][0]
    (loss, acc), (t_loss, t_acc) = ours["tests"][-1], theirs["tests"][-1]
    assert acc > 0.8 and abs(acc - t_acc) < 0.05 and abs(loss - t_loss) < 0.15, (ours["tests"], theirs["tests"])


def test_fashion_mnist_as_torchvision(fashion_root, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("download=True must not touch the network when the files are there")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    ds = datasets.FashionMNIST(root=fashion_root, train=False, download=True)
    assert len(ds) == 1000 and ds.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                              "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert ds.raw_folder == os.path.join(fashion_root, "FashionMNIST", "raw")


# ---------------------------------------------------------------- VGG (saveloadrun)

_VGG_COUNTS = {"vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
               "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736, "vgg16_bn": 138_365_992, "vgg19_bn": 143_678_248}
_CLASSIFIER = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000


@pytest.mark.parametrize("arch", list(_VGG_COUNTS))
def test_vgg_features_match_torchvision(arch):
    """Each VGG's convolutional part, built by the shared make_layers, against torchvision's code; the
    classifier is the same Linear stack for all, so the totals are torchvision's published counts."""
    from tinygrad_edu.vision.models.vgg import _FILES, cfgs, make_layers
    cfg, bn = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}[arch.split("_")[0]], arch.endswith("_bn")
    ours, theirs = make_layers(cfgs[cfg], batch_norm=bn), torchvision_ref.make_layers(torchvision_ref.VGG_CFGS[cfg], bn)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert repr(ours) == repr(theirs)
    assert sum(p.numel() for p in ours.parameters()) + _CLASSIFIER == _VGG_COUNTS[arch]
    assert _FILES[arch].startswith(arch + "-")


def test_vgg16_as_the_saveloadrun_tutorial(tmp_path, monkeypatch):
    """weights='IMAGENET1K_V1' without the file: the error says where to put it; weights=None: the
    tutorial's state_dict round trip, eval(), whole-model save and load(weights_only=False)."""
    monkeypatch.setenv("TINYGRAD_EDU_HOME", str(tmp_path / "home"))
    for kwargs in ({"weights": "IMAGENET1K_V1"}, {"weights": "DEFAULT"}, {"pretrained": True}):
        with pytest.raises(FileNotFoundError, match="never downloads.*home/checkpoints/vgg16-397923af.safetensors"):
            models.vgg16(**kwargs)
    model = models.vgg16()
    assert sum(p.numel() for p in model.parameters()) == 138_357_544
    assert [n for n, _ in model.named_parameters()][-6:] == [f"classifier.{i}.{k}" for i in (0, 3, 6)
                                                             for k in ("weight", "bias")]
    w = model.classifier[0].weight.detach().numpy()  # torchvision's init: N(0, 0.01), bias 0
    assert abs(w[:256].std() - 0.01) < 5e-4 and not model.classifier[0].bias.detach().numpy().any()
    tg.save(model.state_dict(), tmp_path / "model_weights.pth")
    with tg.no_grad():
        model.features[0].weight.zero_()
    model.load_state_dict(tg.load(tmp_path / "model_weights.pth", weights_only=True))  # (a new vgg16: 5 s more)
    assert model.features[0].weight.detach().numpy().any()
    model.eval()
    tg.save(model, tmp_path / "model.pth")
    loaded = tg.load(tmp_path / "model.pth", weights_only=False)
    assert type(loaded) is models.VGG and not loaded.training
    assert np.array_equal(loaded.features[28].weight.detach().numpy(), model.features[28].weight.detach().numpy())


def test_vgg_bn_forward_matches_torch():
    """vgg11_bn in eval mode (running statistics, no dropout) with torchvision's model's weights."""
    torch.manual_seed(0)
    theirs = torchvision_ref.vgg("A", batch_norm=True, num_classes=10, init_weights=False).eval()
    with torch.no_grad():
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
        theirs.classifier[6].weight.mul_(30)  # logits of a visible size
    ours = models.vgg11_bn(num_classes=10, init_weights=False).eval()
    with tg.no_grad():
        for (name, p), (t_name, tp) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert name == t_name
            p.copy_(tg.tensor(tp.numpy()))
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with tg.no_grad():
        out = ours(tg.tensor(x)).numpy()
    ref = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())

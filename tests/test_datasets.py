"""datasets (IDX files, MNIST/FashionMNIST, downloads on loopback only) and transforms."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import datasets, transforms
from tinygrad_edu.datasets import MNIST, DatasetFileError, FashionMNIST, read_idx
from tinygrad_edu.utils.data import DataLoader, SampleBatch, Subset, default_collate
from mnist_files import mnist_dir


def idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B, np.dtype(np.int32): 0x0C,
             np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def tiny_mnist(folder: Path, n_train=7, n_test=3, gz=True, seed=0) -> dict[str, np.ndarray]:
    """Write the four IDX files of a tiny MNIST into folder; return the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{split}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}-labels-idx1-ubyte"] = rng.integers(0, 10, n, dtype=np.uint8)
    for name, a in arrays.items():
        write(folder / name, idx_bytes(a), gz)
    return arrays


# ------------------------------------------------------------ IDX files

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    out = read_idx(write(tmp_path / "x-idx3", idx_bytes(a), gz))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and out.flags.writeable
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("data, fault", [
    (b"\x00\x00", "too short for an IDX header"),
    (b"\x01\x00\x08\x01" + bytes(8), "bad magic number 0x01000801"),
    (b"\x00\x00\x07\x01" + bytes(8), "bad magic number 0x00000701"),
    (b"\x00\x00\x08\x00" + bytes(8), "bad magic number"),
    (b"\x00\x00\x08\x03" + (5).to_bytes(4, "big"), "header cut short: 3 dims need 16 bytes"),
    (b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + bytes(7), r"truncated: dims \[10\] need 10 bytes .* has 7"),
    (b"\x00\x00\x0c\x01" + (2).to_bytes(4, "big") + bytes(9), r"trailing bytes: dims \[2\] need 8 bytes"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_corrupt_files_name_file_and_fault(tmp_path, data, fault, gz):
    path = write(tmp_path / "bad-idx1-ubyte", data, gz)
    with pytest.raises(DatasetFileError, match=fault) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_read_idx_bad_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    for name, data in (("notgz-idx3-ubyte.gz", b"plain bytes, not gzip"), ("cut-idx3-ubyte.gz", good[:len(good) // 2])):
        with pytest.raises(DatasetFileError, match="not a valid gzip file or truncated") as err:
            read_idx(write(tmp_path / name, data))
        assert name in str(err.value)


# ------------------------------------------------------------ the dataset classes on tiny files

@pytest.mark.parametrize("layout", ["root", "torchvision"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_both_layouts_and_formats(tmp_path, layout, gz):
    folder = tmp_path if layout == "root" else tmp_path / "MNIST" / "raw"
    arrays = tiny_mnist(folder, gz=gz)
    for train, split, n in ((True, "train", 7), (False, "t10k", 3)):
        ds = MNIST(str(tmp_path), train=train)
        assert len(ds) == n and ds.data.dtype == tg.uint8 and ds.targets.dtype == tg.int64
        assert tuple(ds.data.shape) == (n, 28, 28)
        np.testing.assert_array_equal(ds.data.numpy(), arrays[f"{split}-images-idx3-ubyte"])
        np.testing.assert_array_equal(ds.targets.numpy(), arrays[f"{split}-labels-idx1-ubyte"])
        img, target = ds[1]
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
        assert type(target) is int and target == arrays[f"{split}-labels-idx1-ubyte"][1]


def test_fashion_mnist_uses_its_own_folder_and_classes(tmp_path):
    tiny_mnist(tmp_path / "MNIST" / "raw")
    with pytest.raises(RuntimeError, match="Dataset not found"):
        FashionMNIST(tmp_path)  # the digits in MNIST/raw are not Fashion-MNIST
    arrays = tiny_mnist(tmp_path / "FashionMNIST" / "raw", seed=1)
    ds = FashionMNIST(tmp_path, train=False)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["t10k-images-idx3-ubyte"])
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot" and len(ds.classes) == 10
    assert MNIST.classes[5] == "5 - five" and ds.class_to_idx["Bag"] == 8
    assert "fashion-mnist" in FashionMNIST.mirrors[0] and FashionMNIST.resources != MNIST.resources


def test_deprecated_aliases_warn(tmp_path):
    tiny_mnist(tmp_path)
    train, test = MNIST(tmp_path), MNIST(tmp_path, train=False)
    with pytest.warns(UserWarning, match="train_labels has been renamed targets"):
        assert train.train_labels is train.targets
    with pytest.warns(UserWarning, match="test_data has been renamed data"):
        assert test.test_data is test.data
    with pytest.warns(UserWarning, match="train_data has been renamed data"):
        assert test.train_data is test.data  # torchvision does not check the split either


def test_mnist_inconsistent_files(tmp_path):
    arrays = tiny_mnist(tmp_path, gz=False)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(arrays["train-labels-idx1-ubyte"][:5]))
    with pytest.raises(DatasetFileError, match=r"train-labels-idx1-ubyte: label count 5 != image count 7"):
        MNIST(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.full(7, 12, np.uint8)))
    with pytest.raises(DatasetFileError, match="label 12 is not a class index in 0..9"):
        MNIST(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros((7, 2), np.uint8)))
    with pytest.raises(DatasetFileError, match=r"expected uint8 labels of 1 dim \[N\], got uint8 of shape \[7, 2\]"):
        MNIST(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((7, 784), np.uint8)))
    with pytest.raises(DatasetFileError, match="train-images-idx3-ubyte: expected uint8 images of 3 dims"):
        MNIST(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03")
    with pytest.raises(DatasetFileError, match="t10k-images-idx3-ubyte: header cut short"):
        MNIST(tmp_path, train=False)


def test_missing_files_without_download_say_where_to_put_them(tmp_path):
    with pytest.raises(RuntimeError) as err:
        MNIST(tmp_path / "nowhere")
    msg = str(err.value)
    assert "Dataset not found" in msg and "download=True" in msg
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in msg
    for name, _ in MNIST.resources:
        assert name in msg


# ------------------------------------------------------------ batches: fast path == slow path

def test_getitems_batch_path_equals_per_sample_path(tmp_path):
    tiny_mnist(tmp_path, n_train=20)
    pipelines = [None, transforms.ToTensor(), transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])]
    for transform in pipelines:
        for target_transform in (None, lambda t: t * 2.0):
            ds = MNIST(tmp_path, transform=transform, target_transform=target_transform)
            idx = [3, 0, 19, 7, 7]
            batch = ds.__getitems__(idx)
            assert isinstance(batch, SampleBatch)
            fast, slow = default_collate(batch), default_collate([ds[i] for i in idx])
            for f, s in zip(fast, slow):
                assert f.dtype == s.dtype and f.shape == s.shape
                np.testing.assert_array_equal(f.numpy(), s.numpy())


def test_unbatchable_transform_goes_sample_by_sample(tmp_path):
    tiny_mnist(tmp_path)
    calls = []

    def count(x):
        calls.append(x.shape)
        return x

    ds = MNIST(tmp_path, transform=transforms.Compose([transforms.ToTensor(), transforms.Lambda(count)]))
    batch = ds.__getitems__([0, 1, 2])
    assert isinstance(batch, list) and len(calls) == 3 and calls[0] == (1, 28, 28)
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert tuple(x.shape) == (4, 1, 28, 28) and y.dtype == tg.int64


def test_subset_of_mnist_keeps_the_batch_path(tmp_path):
    tiny_mnist(tmp_path, n_train=12)
    ds = MNIST(tmp_path, transform=transforms.ToTensor())
    sub = Subset(ds, [11, 2, 5, 8])
    assert isinstance(sub.__getitems__([0, 3]), SampleBatch)
    x, y = next(iter(DataLoader(sub, batch_size=4)))
    np.testing.assert_array_equal(y.numpy(), ds.targets.numpy()[[11, 2, 5, 8]])
    np.testing.assert_array_equal(x.numpy()[:, 0], ds.data.numpy()[[11, 2, 5, 8]] / np.float32(255))


# ------------------------------------------------------------ downloads (loopback and file:// only)

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def loopback(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields (folder, base url)."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def served_resources(folder: Path) -> list[tuple[str, str]]:
    tiny_mnist(folder, gz=True)
    return [(f"{name}.gz", hashlib.md5((folder / f"{name}.gz").read_bytes()).hexdigest())
            for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte")]


def test_download_from_loopback_with_md5(tmp_path, loopback, monkeypatch):
    served, url = loopback
    resources = served_resources(served)
    # the first mirror refuses connections: the loader must go on to the next one
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:1/", url])
    monkeypatch.setattr(MNIST, "resources", resources)
    root = tmp_path / "data"
    ds = MNIST(root, download=True, transform=transforms.ToTensor())
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(name for name, _ in resources)  # no leftover temp files
    for name, _ in resources:
        assert (raw / name).read_bytes() == (served / name).read_bytes()
    assert len(ds) == 7 and len(MNIST(root, train=False, download=True)) == 3  # second time: nothing fetched


def test_download_with_bad_checksum_keeps_nothing(tmp_path, loopback, monkeypatch):
    served, url = loopback
    resources = served_resources(served)
    resources[0] = (resources[0][0], "0" * 32)
    monkeypatch.setattr(MNIST, "mirrors", [url])
    monkeypatch.setattr(MNIST, "resources", resources)
    root = tmp_path / "data"
    with pytest.raises(RuntimeError, match=f"MD5 mismatch for {url}train-images-idx3-ubyte.gz: expected 0{{32}}"):
        MNIST(root, download=True)
    assert list((root / "MNIST" / "raw").iterdir()) == []  # the bad file never appears, nor its temp file


def test_download_from_file_url(tmp_path, monkeypatch):
    served = tmp_path / "mirror"
    resources = served_resources(served)
    monkeypatch.setattr(FashionMNIST, "mirrors", [served.as_uri() + "/"])
    monkeypatch.setattr(FashionMNIST, "resources", resources)
    ds = FashionMNIST(tmp_path / "root", train=False, download=True)
    assert len(ds) == 3 and (tmp_path / "root" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()


def test_offline_download_error_lists_files_and_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:1/", "http://127.0.0.1:1/mirror2/"])
    with pytest.raises(RuntimeError) as err:
        MNIST(tmp_path, download=True)
    msg = str(err.value)
    assert "Error downloading train-images-idx3-ubyte.gz: every mirror failed" in msg
    assert "http://127.0.0.1:1/train-images-idx3-ubyte.gz" in msg and "mirror2" in msg
    assert "Without internet access" in msg and str(tmp_path / "MNIST" / "raw") in msg
    for name, _ in MNIST.resources:
        assert name in msg
    assert "Downloading http://127.0.0.1:1/train-images-idx3-ubyte.gz" in capsys.readouterr().out


# ------------------------------------------------------------ the real MNIST files

def test_notes_snippet_download_true_with_files_present_fetches_nothing(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("download=True must not fetch files that are already there")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    test_data = datasets.MNIST(mnist_dir(), train=False, download=True, transform=transforms.ToTensor())
    test_loader = tg.utils.data.DataLoader(test_data, batch_size=12)
    inputs, labels = next(iter(test_loader))
    assert tuple(inputs.shape) == (12, 1, 28, 28) and labels.tolist()[:3] == [7, 2, 1]
    assert tuple(inputs.view(-1, 28 * 28).shape) == (12, 784)


def test_real_mnist():
    train = MNIST(mnist_dir(), train=True, transform=transforms.ToTensor())
    test = MNIST(mnist_dir(), train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert tuple(train.data.shape) == (60000, 28, 28) and train.data.dtype == tg.uint8
    assert train.targets.dtype == tg.int64 and train.targets[:5].tolist() == [5, 0, 4, 1, 9]
    assert test.targets[:5].tolist() == [7, 2, 1, 0, 4]
    x = transforms.ToTensor().apply_batch(train.data.numpy())
    assert tuple(x.shape) == (60000, 1, 28, 28) and x.dtype == tg.float32
    assert abs(x.numpy().mean() - 0.1307) < 1e-4  # float32 pairwise sums: accurate to ~1e-7 here
    assert abs(x.numpy().std() - 0.3081) < 1e-4
    xb, yb = next(iter(DataLoader(train, batch_size=64)))
    assert tuple(xb.shape) == (64, 1, 28, 28) and yb[:5].tolist() == [5, 0, 4, 1, 9]
    assert "Number of datapoints: 60000" in repr(train) and "Split: Train" in repr(train)


# ------------------------------------------------------------ transforms against torch's math

def torch_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """torchvision's ToTensor on an ndarray."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    img = torch.from_numpy(arr.transpose((2, 0, 1))).contiguous()
    return img.to(torch.float32).div(255) if img.dtype == torch.uint8 else img


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3), (1, 1)])
def test_to_tensor_matches_torchvision_math(shape):
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    for inp in (arr, tg.tensor(arr)):
        out = transforms.ToTensor()(inp)
        assert out.dtype == tg.float32
        np.testing.assert_array_equal(out.numpy(), torch_to_tensor(arr).numpy())
    floats = arr.astype(np.float64)
    out = transforms.ToTensor()(floats)  # other dtypes are not scaled, as torchvision
    assert out.dtype == tg.float64
    np.testing.assert_array_equal(out.numpy(), torch_to_tensor(floats).numpy())


def test_to_tensor_output_is_contiguous_so_view_works():
    rgb = np.random.default_rng(2).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    one, batch = transforms.ToTensor()(rgb), transforms.ToTensor().apply_batch(np.stack([rgb, rgb]))
    assert one.is_contiguous() and batch.is_contiguous()
    np.testing.assert_array_equal(batch.view(2, -1).numpy()[1], torch_to_tensor(rgb).reshape(-1).numpy())


def test_to_tensor_errors():
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 1 dimensions."):
        transforms.ToTensor()(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="pic should be"):
        transforms.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match="3/4 dimensional"):
        transforms.ToTensor().apply_batch(np.zeros((2, 2), np.uint8))


@pytest.mark.parametrize("channels", [1, 3])
def test_normalize_matches_torch_and_batches(channels):
    rng = np.random.default_rng(1)
    mean, std = tuple(rng.uniform(0, 1, channels)), tuple(rng.uniform(0.5, 2, channels))
    x = rng.uniform(0, 1, (channels, 4, 5)).astype(np.float32)
    ours = transforms.Normalize(mean, std)(tg.tensor(x))
    ref = (torch.tensor(x) - torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)) / torch.tensor(
        std, dtype=torch.float32).view(-1, 1, 1)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    t = tg.tensor(x)
    assert transforms.Normalize(mean, std, inplace=True)(t) is t
    np.testing.assert_array_equal(t.numpy(), ref.numpy())
    images = rng.integers(0, 256, (6, 4, 5, channels) if channels > 1 else (6, 4, 5), dtype=np.uint8)
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    batched = pipeline.apply_batch(images)
    looped = tg.stack([pipeline(img) for img in images])
    assert batched.shape == looped.shape == (6, channels, 4, 5)
    np.testing.assert_array_equal(batched.numpy(), looped.numpy())  # identical, not merely close


def test_normalize_errors():
    norm = transforms.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to tinygrad_edu.float32"):
        norm(tg.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        transforms.Normalize((0.5,), (0.5,))(tg.zeros(1, 2, 2, dtype=tg.uint8))
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        transforms.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        transforms.Normalize((0.5,), (0.5,))(tg.zeros(2, 2))
    with pytest.raises(ValueError, match="mean has 3 and std 3 values, but the image has 2 channels"):
        transforms.Normalize((0.5,) * 3, (0.5,) * 3)(tg.zeros(2, 2, 2))


def test_compose_lambda_and_batchability():
    to_tensor, norm = transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))
    lam = transforms.Lambda(lambda x: x * 2)
    assert transforms.is_batchable(transforms.Compose([to_tensor, norm]))
    assert not transforms.is_batchable(transforms.Compose([to_tensor, lam]))
    assert not transforms.is_batchable(lam) and not transforms.is_batchable(lambda x: x)
    with pytest.raises(TypeError, match="not every transform"):
        transforms.Compose([lam]).apply_batch(np.zeros((1, 2, 2), np.uint8))
    out = transforms.Compose([to_tensor, norm, lam])(np.full((2, 2), 255, np.uint8))
    np.testing.assert_array_equal(out.numpy(), np.full((1, 2, 2), 2.0, np.float32))
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        transforms.Lambda(3)
    assert repr(transforms.Compose([to_tensor, norm])) == (
        "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)")
    assert datasets.MNIST is MNIST and tg.transforms is transforms

"""save(..., format="torch") writes PyTorch's zip format: real torch.load(weights_only=True) reads it,
PyTorch models and optimizers take what we saved, and our own load reads it back."""
import collections
import io
import math
import os
import struct
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import nn
from test_serialization import _tree, checkpoint, same
from test_torch_checkpoint import Net, TorchNet, assert_same


def to_torch(obj, tmp_path, name="ours.pt"):
    tg.save(obj, tmp_path / name, format="torch")
    return torch.load(tmp_path / name, weights_only=True)


def test_our_state_dict_goes_into_a_torch_model(tmp_path):
    tg.manual_seed(0)
    ours = Net()
    for _ in range(2):
        ours(tg.randn(4, 1, 6, 6))  # running statistics move
    ours.eval()
    sd = to_torch(ours.state_dict(), tmp_path)
    assert type(sd) is collections.OrderedDict and sd["bn.num_batches_tracked"].dtype == torch.int64
    assert_same(ours.state_dict(), sd)
    net = TorchNet().eval()
    net.load_state_dict(sd)  # strict: every name and shape as torch's
    x = np.random.default_rng(1).standard_normal((3, 1, 6, 6)).astype(np.float32)
    with torch.no_grad(), tg.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(x)).numpy(), ours(tg.from_numpy(x)).numpy(),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                   "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 0, 3), (2, 3, 4)])
def test_every_dtype_and_shape_reads_in_torch(tmp_path, dtype, shape):
    a = (np.arange(math.prod(shape)) % 7 - 3).reshape(shape).astype(dtype)
    obj = {"t": tg.tensor(a)}
    assert_same(obj, to_torch(obj, tmp_path))
    assert same(tg.load(tmp_path / "ours.pt"), obj)


def test_views_are_saved_once_and_share_memory_in_torch(tmp_path):
    w = tg.arange(24.0).reshape(4, 6)
    obj = {"w": w, "rows": w[1:3], "cols": w[:, ::2], "t": w.t(), "elem": w[2, 3], "copy": w.clone(),
           "flipped": tg.from_numpy(np.arange(6.0)[::-1])}  # NumPy allows negative strides, torch does not
    back = to_torch(obj, tmp_path)
    assert_same(obj, back)
    pointers = {k: v.untyped_storage().data_ptr() for k, v in back.items()}
    assert len({pointers[k] for k in ("w", "rows", "cols", "t")}) == 1  # one storage, as torch.save makes
    assert pointers["copy"] != pointers["w"] and back["flipped"].stride() == (1,)  # negative strides: a copy
    records = zipfile.ZipFile(tmp_path / "ours.pt").namelist()
    assert sorted(r for r in records if "/data/" in r) == [f"archive/data/{i}" for i in range(4)]  # w elem copy flip
    ours = tg.load(tmp_path / "ours.pt")
    assert same(ours, obj) and np.shares_memory(ours["t"].numpy(), ours["w"].numpy())


def test_a_view_of_a_big_array_saves_the_array_as_torch_does(tmp_path):
    big = tg.zeros(1000, 10)
    to_torch({"row": big[3]}, tmp_path)
    assert zipfile.ZipFile(tmp_path / "ours.pt").getinfo("archive/data/0").file_size == 40000


def test_checkpoint_with_containers_and_scalars(tmp_path):
    obj = checkpoint()
    obj.update({"od": collections.OrderedDict(a=tg.ones(2)), "size": tg.Size([2, 3]), "dtype": tg.float16,
                "bytes": b"\x00\xff", "set": {1, 2}, "device": tg.device("cpu")})
    assert_same(obj, to_torch(obj, tmp_path))
    assert same({k: v for k, v in tg.load(tmp_path / "ours.pt").items() if k not in ("size", "set", "device",
                                                                                        "dtype", "od")},
                {k: v for k, v in obj.items() if k not in ("size", "set", "device", "dtype", "od")})


def test_parameters_and_requires_grad(tmp_path):
    w = nn.Parameter(tg.randn(2, 3))
    frozen = nn.Parameter(tg.ones(2), requires_grad=False)
    leaf = tg.ones(3, requires_grad=True)
    back = to_torch([w, frozen, leaf, leaf * 2], tmp_path)
    assert [type(t).__name__ for t in back] == ["Parameter", "Parameter", "Tensor", "Tensor"]
    assert [t.requires_grad for t in back] == [True, False, True, True]
    np.testing.assert_array_equal(back[0].detach().numpy(), w.detach().numpy())
    ours = tg.load(tmp_path / "ours.pt")
    assert [type(t).__name__ for t in ours] == ["Parameter", "Parameter", "Tensor", "Tensor"]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_our_optimizer_state_resumes_in_torch(tmp_path, kind):
    tg.manual_seed(2)
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = tg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9) if kind == "sgd" else \
        tg.optim.Adam(ours.parameters(), lr=1e-2)
    x = np.random.default_rng(3).standard_normal((8, 3)).astype(np.float32)
    for _ in range(3):
        opt.zero_grad()
        ours(tg.from_numpy(x)).pow(2).mean().backward()
        opt.step()
    ckpt = to_torch({"model": ours.state_dict(), "optim": opt.state_dict()}, tmp_path)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    net.load_state_dict(ckpt["model"])
    their_opt = torch.optim.SGD(net.parameters(), lr=1.0) if kind == "sgd" else torch.optim.Adam(net.parameters())
    their_opt.load_state_dict(ckpt["optim"])
    for _ in range(2):
        for o, model, inp in ((opt, ours, tg.from_numpy(x)), (their_opt, net, torch.from_numpy(x))):
            o.zero_grad()
            model(inp).pow(2).mean().backward()
            o.step()
    for p, q in zip(ours.parameters(), net.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_storages_are_64_byte_aligned_and_torch_can_mmap_them(tmp_path):
    obj = {"a": tg.ones(3), "b": tg.arange(5), "c": tg.tensor([True]), "d": tg.zeros(2, 2, dtype=tg.float64)}
    tg.save(obj, tmp_path / "al.pt", format="torch")
    data = (tmp_path / "al.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "al.pt") as z:
        for info in z.infolist():
            name_length, extra_length = struct.unpack("<2H", data[info.header_offset + 26:info.header_offset + 30])
            assert (info.header_offset + 30 + name_length + extra_length) % 64 == 0, info.filename
        assert z.read("archive/version") == b"3\n" and z.read("archive/byteorder") == b"little"
    assert_same(obj, torch.load(tmp_path / "al.pt", weights_only=True, mmap=True))


def test_whole_module_in_torch_format(tmp_path):
    tg.manual_seed(0)
    model = Net().eval()
    tg.save(model, tmp_path / "m.pt", format="torch")
    with pytest.raises(Exception, match=r"GLOBAL test_torch_checkpoint\.Net was not an allowed global"):
        tg.load(tmp_path / "m.pt")
    loaded = tg.load(tmp_path / "m.pt", weights_only=False)
    x = tg.randn(2, 1, 6, 6)
    with tg.no_grad():
        assert type(loaded) is Net and np.array_equal(loaded(x).numpy(), model(x).numpy())
    assert type(loaded.fc.weight) is nn.Parameter


def test_file_objects_formats_and_failures(tmp_path):
    buf = io.BytesIO()
    tg.save({"w": tg.ones(2)}, buf, format="torch")
    assert buf.getvalue()[:4] == b"PK\x03\x04"
    buf.seek(0)
    assert torch.load(buf)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="format must be None, 'safetensors' or 'torch'"):
        tg.save({}, buf, format="zip")
    tg.save({"epoch": 1}, tmp_path / "k.pt", format="torch")
    os.chmod(tmp_path / "k.pt", 0o600)
    with pytest.raises(TypeError, match="cannot save .* in PyTorch's format"):
        tg.save({"f": lambda: 0}, tmp_path / "k.pt", format="torch")  # nothing written: the old file stays
    assert tg.load(tmp_path / "k.pt") == {"epoch": 1} and os.listdir(tmp_path) == ["k.pt"]
    tg.save({"epoch": 2}, tmp_path / "k.pt", format="torch")
    assert os.stat(tmp_path / "k.pt").st_mode & 0o777 == 0o600 and torch.load(tmp_path / "k.pt") == {"epoch": 2}
    with pytest.raises(TypeError, match="cannot save"):
        tg.save(Net(), io.BytesIO(), format="safetensors")


@settings(max_examples=100, deadline=None)
@given(_tree)
def test_roundtrip_property_in_torch_format(obj):
    buf = io.BytesIO()
    tg.save(obj, buf, format="torch")
    assert same(tg.load(io.BytesIO(buf.getvalue())), obj)


def test_save_to_a_stream_that_cannot_seek():
    class Pipe(io.RawIOBase):  # a socket or pipe: write only, no seek, no tell
        def __init__(self):
            self.chunks = []

        def writable(self):
            return True

        def write(self, b):
            self.chunks.append(bytes(b))
            return len(b)
    pipe = Pipe()
    obj = {"w": tg.arange(6.0).reshape(2, 3), "step": 4}
    tg.save(obj, pipe, format="torch")
    data = io.BytesIO(b"".join(pipe.chunks))
    assert same(tg.load(data), obj)
    data.seek(0)
    assert torch.load(data)["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]

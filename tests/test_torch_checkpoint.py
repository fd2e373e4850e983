"""Files written by real PyTorch (torch.save: the zip format, and the format before 1.6) load with
tinygrad_edu.load and go into our modules and optimizers; weights_only as torch 2.6+; map_location.
Corrupt files: tests/test_torch_checkpoint_errors.py; saving in torch's format: ..._save.py."""
import collections
import io
import math
import pickle

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.tensor import Tensor

FORMATS = ["zip", "legacy"]


def torch_save(obj, path, fmt="zip"):
    torch.save(obj, path, _use_new_zipfile_serialization=fmt == "zip")
    return path


def assert_same(ours, theirs, path="obj"):
    """Structure, types and values equal: our tensors against torch's (dtype names, shapes, bytes)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor), path
        assert type(ours).__name__ == ("Parameter" if isinstance(theirs, torch.nn.Parameter) else "Tensor"), path
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), path
        assert tuple(ours.shape) == tuple(theirs.shape), path
        assert ours.requires_grad == theirs.requires_grad, path
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy(), err_msg=path)
    elif isinstance(theirs, (dict, list, tuple)):
        assert type(ours) is type(theirs) or (isinstance(theirs, torch.Size) and type(ours) is tg.Size), path
        assert len(ours) == len(theirs), path
        if isinstance(theirs, dict):
            assert list(ours) == list(theirs), path
            for k in theirs:
                assert_same(ours[k], theirs[k], f"{path}[{k!r}]")
        else:
            for i, (a, b) in enumerate(zip(ours, theirs)):
                assert_same(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert isinstance(ours, float) and math.isnan(ours), path
    elif isinstance(theirs, torch.dtype):
        assert ours is getattr(tg, str(theirs).removeprefix("torch.")), path
    elif isinstance(theirs, torch.device):
        assert isinstance(ours, tg.device) and str(ours) == str(theirs), path
    else:
        assert type(ours) is type(theirs) and ours == theirs, path


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


class Net(nn.Module):  # the same architecture, ours
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(tg.relu(self.bn(self.conv(x))).flatten(1))


def trained_torch_net():
    torch.manual_seed(0)
    net = TorchNet()
    for _ in range(3):  # running statistics and num_batches_tracked move
        net(torch.randn(5, 1, 6, 6))
    return net.eval()

# ---------------------------------------------------------------- state dicts into our modules


@pytest.mark.parametrize("fmt", FORMATS)
def test_state_dict_loads_into_our_model_and_predicts_as_torch(tmp_path, fmt):
    net = trained_torch_net()
    sd = net.state_dict()
    loaded = tg.load(torch_save(sd, tmp_path / "model.pt", fmt))
    assert_same(loaded, sd)  # an OrderedDict with every key, dtype (num_batches_tracked: int64) and value
    assert type(loaded) is collections.OrderedDict and loaded._metadata == sd._metadata
    assert loaded["bn.num_batches_tracked"].item() == 3
    ours = Net()
    ours.load_state_dict(loaded)
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    with tg.no_grad():
        np.testing.assert_allclose(ours.eval()(tg.from_numpy(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                   "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 0, 3), (2, 3, 4)])
def test_every_dtype_and_shape(tmp_path, fmt, dtype, shape):
    t = (torch.arange(math.prod(shape)) % 7 - 3).reshape(shape).to(getattr(torch, dtype))
    assert_same(tg.load(torch_save({"t": t}, tmp_path / "t.pt", fmt)), {"t": t})


@pytest.mark.parametrize("dtype", ["bfloat16", "complex64", "uint16", "float8_e4m3fn"])
def test_unsupported_dtype_is_named(tmp_path, dtype):
    torch.save({"ok": torch.ones(2), "x": torch.zeros(2, dtype=getattr(torch, dtype))}, tmp_path / "d.pt")
    with pytest.raises(RuntimeError, match=rf"d\.pt: .*dtype torch\.{dtype}, which tinygrad_edu does not support"):
        tg.load(tmp_path / "d.pt")


@pytest.mark.parametrize("fmt", FORMATS)
def test_views_share_storage_as_in_torch(tmp_path, fmt):
    w = torch.arange(24.0).reshape(4, 6)
    obj = {"w": w, "rows": w[1:3], "cols": w[:, ::2], "t": w.t(), "elem": w[2, 3], "flat": w.view(-1)[5:17],
           "expanded": torch.ones(1, 3).expand(4, 3), "perm": torch.arange(24).reshape(2, 3, 4).permute(2, 0, 1)}
    out = tg.load(torch_save(obj, tmp_path / "v.pt", fmt))
    assert_same(out, obj)
    for k in ("rows", "cols", "t", "elem", "flat"):
        assert np.shares_memory(out[k].numpy(), out["w"].numpy()), k
    out["w"].mul_(2)  # one storage, as in torch: the views see it
    obj["w"].mul_(2)
    assert_same(out, obj)

# ---------------------------------------------------------------- optimizers, containers, scalars


def _torch_optimizer_state(kind):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9) if kind == "sgd" else \
        torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.8, 0.99))
    x = torch.randn(8, 3)
    for _ in range(3):
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
    return net, opt, x


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimizer_state_dict_loads_and_resumes_as_torch(tmp_path, kind):
    net, opt, x = _torch_optimizer_state(kind)
    torch.save({"model": net.state_dict(), "optim": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    ckpt = tg.load(tmp_path / "ckpt.pt")
    assert_same(ckpt["optim"], opt.state_dict())  # Adam's step is a float32 0-d tensor, as torch's
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    ours.load_state_dict(ckpt["model"])
    our_opt = tg.optim.SGD(ours.parameters(), lr=0.5) if kind == "sgd" else tg.optim.Adam(ours.parameters())
    our_opt.load_state_dict(ckpt["optim"])  # lr, momentum / betas and buffers come from the file
    for step in range(2):  # resume both: the same parameters after each step
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
        our_opt.zero_grad()
        ours(tg.from_numpy(x.numpy())).pow(2).mean().backward()
        our_opt.step()
        for (name, p), q in zip(net.named_parameters(), ours.parameters()):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"step {step} {name}")


def test_scalars_and_nested_containers(tmp_path):
    obj = {"epoch": 7, "lr": 0.1, "big": 2**70, "neg": -3, "name": "run", "ok": True, "none": None,
           "inf": math.inf, "nan": math.nan, "bytes": b"\x00\xff", "set": {1, 2}, "complex": 1 + 2j,
           "od": collections.OrderedDict(b=torch.ones(2), a=[1, (2, 3.5)]), "int_keys": {0: "a", 1: torch.tensor(2)},
           "nested": ([], (), {}, [[torch.zeros(1)]]), "size": torch.Size([2, 3]), "dtype": torch.float16,
           "device": torch.device("cpu"), "tuple": (torch.tensor(1.5), "x")}
    for fmt in FORMATS:
        assert_same(tg.load(torch_save(obj, tmp_path / f"{fmt}.pt", fmt)), obj)


def test_tensor_at_top_level_parameter_and_requires_grad(tmp_path):
    p = torch.nn.Parameter(torch.randn(2, 3))
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    leaf = torch.ones(3, requires_grad=True)
    obj = [p, frozen, leaf, leaf * 2]  # a non-leaf saves as a leaf that requires grad
    out = tg.load(torch_save(obj, tmp_path / "p.pt"))
    assert_same(out, [p, frozen, leaf, (leaf * 2).detach().requires_grad_()])
    assert_same(tg.load(torch_save(p.data, tmp_path / "t.pt")), p.data)


def test_file_objects_and_streams(tmp_path):
    sd = trained_torch_net().state_dict()
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    assert_same(tg.load(buf), sd)
    torch.save(sd, tmp_path / "f.pt")
    with open(tmp_path / "f.pt", "rb") as f:
        assert_same(tg.load(f), sd)

    class Stream(io.RawIOBase):  # a pipe: no seek
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.data.readinto(b)
    assert_same(tg.load(Stream((tmp_path / "f.pt").read_bytes())), sd)

# ---------------------------------------------------------------- weights_only, as torch 2.6+


class Config:  # a class of the user's, saved inside a checkpoint
    def __init__(self, depth=3):
        self.depth = depth


def test_weights_only_refuses_classes_as_torch_and_allows_safe_globals(tmp_path):
    torch.save({"config": Config(5), "w": torch.ones(2)}, tmp_path / "c.pt")
    errors = []
    for load in (tg.load, torch.load):
        with pytest.raises(pickle.UnpicklingError) as e:
            load(tmp_path / "c.pt")
        errors.append(str(e.value))
    for text in errors:
        assert f"GLOBAL {__name__}.Config was not an allowed global by default" in text
        assert f"add_safe_globals([{__name__}.Config])" in text and "`weights_only` set to `False`" in text
    assert str(tmp_path / "c.pt") in errors[0]
    with tg.serialization.safe_globals([Config]):
        assert tg.load(tmp_path / "c.pt")["config"].depth == 5
    out = tg.load(tmp_path / "c.pt", weights_only=False)
    assert type(out["config"]) is Config and out["config"].depth == 5 and isinstance(out["w"], Tensor)


class Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os
        return os.system, (f"echo pwned > {self.path}",)


def test_weights_only_never_runs_code(tmp_path):
    torch.save({"w": torch.ones(1), "x": Evil(tmp_path / "pwned")}, tmp_path / "e.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL (posix|os|nt)\.system was not an allowed global"):
        tg.load(tmp_path / "e.pt")
    assert not (tmp_path / "pwned").exists()


def test_weights_only_never_fills_a_dtype_or_tensor_slots(tmp_path):
    """BUILD on anything but an OrderedDict or an allowlisted class is refused (as torch's unpickler):
    a crafted file cannot rewrite tinygrad_edu.float32 for the whole process."""
    import zipfile
    for target in (b"ctorch\nfloat32\n", b"ctorch\nSize\n)\x85R"):
        data = b"\x80\x02" + target + b"N}X\x08\x00\x00\x00itemsizeK\x03s\x86b."
        with zipfile.ZipFile(tmp_path / "b.pt", "w") as z:
            z.writestr("archive/data.pkl", data)
            z.writestr("archive/version", "3\n")
        with pytest.raises(pickle.UnpicklingError, match="Can only build"):
            tg.load(tmp_path / "b.pt")
    assert tg.float32.itemsize == 4

# ---------------------------------------------------------------- map_location


def _with_location(tmp_path, location: str):
    """torch's file for {"w": ...}, its storage's location tag rewritten (we have no GPU to save from)."""
    import zipfile
    torch.save({"w": torch.arange(3.0)}, tmp_path / "cpu.pt")
    src = zipfile.ZipFile(tmp_path / "cpu.pt")
    tag = lambda s: b"X" + len(s).to_bytes(4, "little") + s.encode()
    with zipfile.ZipFile(tmp_path / "gpu.pt", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data.replace(tag("cpu"), tag(location)) if info.filename.endswith(
                "data.pkl") else data)
    return tmp_path / "gpu.pt"


@pytest.mark.parametrize("loc", [None, "cpu", "cuda:1", tg.device("cpu"), {"cuda:0": "cpu"}])
def test_map_location_everything_loads_on_the_cpu(tmp_path, loc):
    out = tg.load(_with_location(tmp_path, "cuda:0"), map_location=loc)
    assert out["w"].device == tg.device("cpu") and out["w"].tolist() == [0.0, 1.0, 2.0]


def test_map_location_callable_called_as_torch_calls_it(tmp_path):
    path = _with_location(tmp_path, "cuda:0")
    seen = {}
    for lib in (tg, torch):
        calls = []

        def keep(storage, location, calls=calls):
            calls.append((location, storage.nbytes(), str(storage.device)))
            return storage
        assert lib.load(path, map_location=keep)["w"].tolist() == [0.0, 1.0, 2.0]
        seen[lib.__name__] = calls
    assert tg.load(path, map_location=lambda s, loc: None)["w"].tolist() == [0.0, 1.0, 2.0]  # None: the default
    assert seen["tinygrad_edu"] == seen["torch"] == [("cuda:0", 12, "cpu")]
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        tg.load(path, map_location=lambda storage, loc: storage.cuda())
    with pytest.raises(TypeError, match="map_location"):
        tg.load(path, map_location=5)


@pytest.mark.parametrize("ops, refused", [
    (b"ctorch\nSize\n)\x85RK\x01a", "Can only APPEND for list"),  # Size([]) then APPEND 1
    (b"ctorch\nfloat32\n(K\x01K\x02u", "Can only SETITEMS for dict"),
    (b"ctorch\nfloat32\nK\x01K\x02s", "Can only SETITEM for dict"),
    (b"cbuiltins\nlen\n)R", "GLOBAL builtins.len was not an allowed global"),
])
def test_weights_only_fills_only_plain_containers(tmp_path, ops, refused):
    """As torch's unpickler: APPEND(S) only on lists, SETITEM(S) only on dicts; globals by name."""
    import zipfile
    with zipfile.ZipFile(tmp_path / "f.pt", "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02" + ops + b".")
    with pytest.raises(pickle.UnpicklingError, match=refused):
        tg.load(tmp_path / "f.pt")


def test_pytorch_objects_are_refused_even_without_weights_only(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(RuntimeError, match=r"m\.pt: holds torch\.nn\.modules\.linear\.Linear, a PyTorch object.*"
                                           r"state_dict\(\)"):
        tg.load(tmp_path / "m.pt", weights_only=False)
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL torch.nn.modules.linear.Linear was not an allowed"):
        tg.load(tmp_path / "m.pt")

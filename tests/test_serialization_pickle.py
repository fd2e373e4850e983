"""Whole-object save/load (tinygrad_edu/_pickling.py): Modules and other Python objects are pickled,
load(weights_only=True) refuses their classes as torch 2.6+ does, tensors pickle and deepcopy as
torch's. Each behaviour is checked against torch doing the same thing."""
import collections
import copy
import io
import os
import pickle

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.serialization import load, save


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.rnn = nn.LSTM(4, 5, batch_first=True)
        self.fc = nn.Linear(3 * 4 * 4, 2)
        self.note = {"epochs": 3, "classes": ("a", "b")}

    def forward(self, x):
        h = self.bn(self.conv(x)).relu()
        return self.fc(h.flatten(1)) + self.rnn(x[:, 0, :4, :4])[0][:, -1, :2]


class TorchNet(torch.nn.Module):  # the same class in torch, to compare what torch does
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)


def _trained_net():
    tg.manual_seed(0)
    model = Net()
    x = tg.randn(2, 1, 6, 6)
    model(x).sum().backward()  # grads and BN running stats: state a pickle must carry (or drop, as torch)
    return model.eval(), x


def test_whole_module_round_trip_predicts_the_same(tmp_path):
    model, x = _trained_net()
    save(model, tmp_path / "model.pth")
    assert (tmp_path / "model.pth").read_bytes()[:8] == b"TGEDUPKL"
    loaded = load(tmp_path / "model.pth", weights_only=False)
    assert type(loaded) is Net and not loaded.training and loaded.note == model.note
    with tg.no_grad():
        assert np.array_equal(loaded(x).numpy(), model(x).numpy())
    assert type(loaded.fc.weight) is nn.Parameter and loaded.fc.weight.requires_grad
    assert loaded.fc.weight.grad is None  # as torch: .grad is not saved
    assert np.array_equal(loaded.bn.running_mean.numpy(), model.bn.running_mean.numpy())
    loaded.train()(x).sum().backward()  # still trains
    assert loaded.conv.weight.grad is not None


def test_weights_only_refuses_a_module_as_torch_does(tmp_path):
    save(_trained_net()[0], tmp_path / "ours.pth")
    torch.save(TorchNet(), tmp_path / "theirs.pth")
    with pytest.raises(pickle.UnpicklingError) as ours:
        load(tmp_path / "ours.pth")  # the default, as in torch 2.6+
    with pytest.raises(pickle.UnpicklingError) as theirs:
        torch.load(tmp_path / "theirs.pth")
    for e, cls in ((ours, "Net"), (theirs, "TorchNet")):
        text = str(e.value)
        assert f"GLOBAL {__name__}.{cls} was not an allowed global" in text
        assert "`weights_only` set to `False`" in text and f"add_safe_globals([{__name__}.{cls}])" in text
    with pytest.raises(pickle.UnpicklingError):
        load(tmp_path / "ours.pth", weights_only=None)  # None means True, as torch


def test_safe_globals_allow_a_class(tmp_path):
    save(_trained_net()[0], tmp_path / "m.pth")
    allowed = [Net, nn.Conv2d, nn.BatchNorm2d, nn.LSTM, nn.Linear, set]
    with tg.serialization.safe_globals(allowed):
        assert type(load(tmp_path / "m.pth")) is Net
    with pytest.raises(pickle.UnpicklingError, match=r"\.Net was not an allowed global"):
        load(tmp_path / "m.pth")  # the context has ended
    tg.serialization.add_safe_globals(allowed)
    try:
        assert type(load(tmp_path / "m.pth")) is Net and Net in tg.serialization.get_safe_globals()
    finally:
        tg.serialization.clear_safe_globals()


def test_weights_only_loads_containers_dtypes_and_sizes_refuses_numpy(tmp_path):
    """What torch's weights_only=True allows (OrderedDict, set, dtypes, Size) loads; numpy arrays do not."""
    t = tg.ones(2, 3)
    obj = {"od": collections.OrderedDict(a=t), "set": {1, 2}, "dt": tg.float16, "b": tg.bool, "size": t.shape,
           "model": _trained_net()[0]}
    save(obj, tmp_path / "x.pth")
    with tg.serialization.safe_globals([Net, nn.Conv2d, nn.BatchNorm2d, nn.LSTM, nn.Linear]):
        back = load(tmp_path / "x.pth")
    assert type(back["od"]) is collections.OrderedDict and back["set"] == {1, 2}
    assert back["dt"] is tg.float16 and back["b"] is tg.bool and back["size"] == (2, 3)
    save({"m": Plain(), "a": np.ones(2)}, tmp_path / "np.pth")
    with tg.serialization.safe_globals([Plain]), pytest.raises(pickle.UnpicklingError, match="numpy"):
        load(tmp_path / "np.pth")
    assert np.array_equal(load(tmp_path / "np.pth", weights_only=False)["a"], np.ones(2))


class Plain:
    pass


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                                   "bool"])
def test_tensors_pickle_with_data_dtype_and_shape(dtype):
    """pickle.dumps/loads (torch.save's pickler, DataLoader workers): data, dtype, shape kept."""
    a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    for x in (tg.tensor(a), tg.tensor(a)[:, 1:, ::2], tg.tensor(a[0, 0, 0])):
        y = pickle.loads(pickle.dumps(x, protocol=5))
        z = pickle.loads(pickle.dumps(x, protocol=2))
        for out in (y, z):
            assert out.dtype == x.dtype and out.shape == x.shape and np.array_equal(out.numpy(), x.numpy())
    y.add_(1) if dtype != "bool" else None  # the loaded data is writable


def test_requires_grad_non_leaf_and_grad_as_torch(tmp_path):
    """torch: a non-leaf saves as a leaf that requires grad, .grad is dropped, a Parameter stays one."""
    def trip(save_fn, load_fn, obj):
        buf = io.BytesIO()
        save_fn(obj, buf)
        buf.seek(0)
        return load_fn(buf, weights_only=True)
    results = {}
    for lib, save_fn, load_fn, param in ((tg, save, load, nn.Parameter), (torch, torch.save, torch.load,
                                                                           torch.nn.Parameter)):
        w = lib.ones(3, requires_grad=True)
        y = w * 2
        y.sum().backward()
        p = param(lib.zeros(2))
        obj = {"w": w, "y": y, "p": p, "x": lib.ones(2), "m": Plain()} if lib is tg else \
              {"w": w, "y": y, "p": p, "x": lib.ones(2)}
        if lib is tg:
            with tg.serialization.safe_globals([Plain]):
                back = trip(save_fn, load_fn, obj)  # the object makes it a pickle
        else:
            back = trip(save_fn, load_fn, obj)
        results[lib.__name__] = {k: (back[k].requires_grad, back[k].is_leaf, back[k].grad is None,
                                     type(back[k]).__name__) for k in ("w", "y", "p", "x")}
    assert results["tinygrad_edu"] == results["torch"]


def test_deepcopy_as_torch():
    for lib in (tg, torch):
        w = lib.ones(3, requires_grad=True)
        (w * 2).sum().backward()
        c = copy.deepcopy(w)
        assert c.requires_grad and c.grad is not None and np.array_equal(c.grad.numpy(), w.grad.numpy())
        c.grad.zero_()
        assert w.grad.numpy().sum() == 6  # copied, not shared
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(w * 2)
    model, x = _trained_net()
    twin = copy.deepcopy(model)
    with tg.no_grad():
        assert np.array_equal(twin(x).numpy(), model(x).numpy())


def test_optimizer_and_its_state_dict(tmp_path):
    model, x = _trained_net()
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    opt.step()
    save(opt.state_dict(), tmp_path / "opt.pth")  # plain data: safetensors, loads with weights_only=True
    assert (tmp_path / "opt.pth").read_bytes()[:8] != b"TGEDUPKL"
    opt2 = tg.optim.Adam(model.parameters(), lr=1e-3)
    opt2.load_state_dict(load(tmp_path / "opt.pth"))
    save({"model": model, "opt": opt}, tmp_path / "all.pth")  # whole objects: pickled, shared parameters kept
    back = load(tmp_path / "all.pth", weights_only=False)
    assert back["opt"].param_groups[0]["params"][0] is back["model"].conv.weight


def test_unpicklable_module_is_a_clear_error_and_keeps_the_old_file(tmp_path):
    model = _trained_net()[0]
    save({"epoch": 1}, tmp_path / "m.pth")
    os.chmod(tmp_path / "m.pth", 0o600)
    model.register_forward_hook(lambda m, i, o: o)
    with pytest.raises(TypeError, match="cannot be pickled.*lambda.*state_dict"):
        save(model, tmp_path / "m.pth")
    assert load(tmp_path / "m.pth") == {"epoch": 1} and os.listdir(tmp_path) == ["m.pth"]
    buf = io.BytesIO()
    with pytest.raises(TypeError):
        save(model, buf)
    assert buf.getvalue() == b""  # a file object gets nothing either
    save(_trained_net()[0], tmp_path / "m.pth")  # the mode of the replaced file is kept
    assert os.stat(tmp_path / "m.pth").st_mode & 0o777 == 0o600


def test_plain_objects_still_refused_as_before(tmp_path):
    """Sets, arrays and functions without a Python-class object around them stay TypeError (safetensors)."""
    for obj in ({"s": {1, 2}}, [np.ones(2)], {"f": print}):
        with pytest.raises(TypeError, match="cannot save"):
            save(obj, io.BytesIO())


# ---------------------------------------------------------------- bad pickled files

def test_truncated_and_trailing_pickles(tmp_path):
    save(_trained_net()[0], tmp_path / "m.pth")
    data = (tmp_path / "m.pth").read_bytes()
    for cut in (9, 100, len(data) // 2, len(data) - 1):
        (tmp_path / "t.pth").write_bytes(data[:cut])
        for wo in (True, False):
            with pytest.raises((RuntimeError, pickle.UnpicklingError), match="t.pth"):
                load(tmp_path / "t.pth", weights_only=wo)
    (tmp_path / "x.pth").write_bytes(data + b"\0")
    with pytest.raises(RuntimeError, match="x.pth.*extra bytes"):
        load(tmp_path / "x.pth", weights_only=False)


def test_weights_only_refuses_code_before_importing_it(tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned > " + str(tmp_path / "pwned"),)
    (tmp_path / "e.pth").write_bytes(b"TGEDUPKL" + pickle.dumps(Evil(), protocol=5))
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL (posix|os|nt)\.system"):
        load(tmp_path / "e.pth")
    assert not (tmp_path / "pwned").exists()


def test_corrupt_tensor_records_are_refused(tmp_path):
    from tinygrad_edu import _pickling
    for args, match in (((b"\0" * 8, "complex64", (1,), False), "dtype 'complex64'"),
                        ((b"\0" * 7, "float32", (2,), False), "needs 8 bytes, it holds 7"),
                        ((b"\0" * 8, "float32", (-2,), False), "shape"),
                        (("text", "float32", (1,), False), "holds str")):
        class Bad:
            def __reduce__(self, args=args):
                return _pickling._rebuild_tensor, args
        (tmp_path / "b.pth").write_bytes(b"TGEDUPKL" + pickle.dumps(Bad(), protocol=5))
        with pytest.raises(RuntimeError, match=f"b.pth.*{match}"):
            load(tmp_path / "b.pth")


def test_torch_zip_file_loads(tmp_path):
    """It used to be a clear error; PyTorch's zip format loads now (tests/test_torch_checkpoint*.py)."""
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    assert np.array_equal(load(tmp_path / "torch.pt")["w"].numpy(), np.ones(2, np.float32))

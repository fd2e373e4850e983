"""Tests for tinygrad_edu.serialization (torch.save / torch.load without pickle)."""
import io
import json
import math
import os
import re

import numpy as np
import pytest
import safetensors.numpy
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.serialization import _deserialize, _serialize
from tinygrad_edu.tensor import Tensor, tensor

try:
    save, load = tg.save, tg.load
except AttributeError:  # not re-exported yet
    from tinygrad_edu.serialization import load, save

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def T(a, dtype=None) -> Tensor:
    return tensor(np.asarray(a, dtype=dtype))


def arr(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def same(a, b) -> bool:
    """Strict structural equality: types must match (tuple != list, 1 != 1.0 != True), NaN == NaN."""
    if isinstance(a, Tensor):
        x, y = arr(a), arr(b) if isinstance(b, Tensor) else None
        return (y is not None and x.dtype == y.dtype and x.shape == y.shape
                and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (len(a) == len(b) and all(type(k1) is type(k2) and k1 == k2 for k1, k2 in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    return a == b


def roundtrip(obj, tmp_path):
    save(obj, tmp_path / "x.pt")
    return load(tmp_path / "x.pt")


def checkpoint():
    w = T(np.arange(6, dtype=np.float32).reshape(2, 3))
    return {
        "model": {"layer1.weight": w, "layer1.bias": T([0.5, -1, 2], np.float32)},
        "optim": {"state": {0: {"step": 3, "exp_avg": T([1.0, 2.0])}, 1: {"step": 3, "exp_avg": T([0.0])}},
                  "param_groups": [{"params": [0, 1], "lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                                    "weight_decay": 0.0, "amsgrad": False, "foreach": None, "max": math.inf,
                                    "min": -math.inf, "nan": math.nan, "name": "head"}]},
        "epoch": 7, "big": 2**70, "neg_zero": -0.0, "nested": ((1, [2, (3.5,)]), [], (), {}),
    }


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)])
def test_dtype_and_shape_roundtrip(tmp_path, dtype, shape):
    a = (np.arange(int(np.prod(shape))) % 7 - 2).reshape(shape).astype(dtype)
    out = roundtrip({"w": T(a)}, tmp_path)
    assert list(out) == ["w"] and isinstance(out["w"], Tensor)
    assert arr(out["w"]).dtype == np.dtype(dtype) and tuple(out["w"].shape) == shape
    np.testing.assert_array_equal(arr(out["w"]), a)


def test_special_float_values_in_tensors(tmp_path):
    a = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38], np.float32)
    out = roundtrip({"x": T(a)}, tmp_path)["x"]
    assert arr(out).tobytes() == a.tobytes()


def test_checkpoint_roundtrip(tmp_path):
    obj = checkpoint()
    out = roundtrip(obj, tmp_path)
    assert same(obj, out)
    assert list(out["optim"]["state"]) == [0, 1]  # int keys stay ints
    assert isinstance(out["optim"]["param_groups"][0]["betas"], tuple)


@pytest.mark.parametrize("obj", [None, 0, -5, 2.5, "s", True, [], (), {}, [1, (2,)], {1: "a", "1": "b"}])
def test_plain_values_at_top_level(tmp_path, obj):
    assert same(roundtrip(obj, tmp_path), obj)


def test_single_tensor_and_list_of_tensors(tmp_path):
    t = T([1.0, 2.0])
    assert same(roundtrip(t, tmp_path), t)
    ts = [T([1]), (T([2.0]), T(True))]
    assert same(roundtrip(ts, tmp_path), ts)


def test_dict_key_order_is_kept(tmp_path):
    obj = {k: T([i]) for i, k in enumerate(["z", "a", "m.x", "b"])}
    assert list(roundtrip(obj, tmp_path)) == ["z", "a", "m.x", "b"]


def test_same_tensor_object_stored_once_and_shared_on_load(tmp_path):
    w = T(np.ones((50, 50), np.float32))
    save({"a": w, "b": w, "c": [w]}, tmp_path / "x.pt")
    assert list(safetensors.numpy.load_file(tmp_path / "x.pt")) == ["a"]
    out = load(tmp_path / "x.pt")
    assert out["a"] is out["b"] is out["c"][0]


def test_non_contiguous_tensor(tmp_path):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = T(a)
    view = t.transpose(0, 2) if hasattr(t, "transpose") else t.permute(2, 1, 0)
    out = roundtrip({"v": view}, tmp_path)["v"]
    np.testing.assert_array_equal(arr(out), a.transpose(2, 1, 0))
    # the serializer itself, fed non-contiguous / 0-d ndarrays directly
    data = _serialize({"t": a.T, "s": a[:, 1, ::2], "z": np.array(3)}, lambda x: isinstance(x, np.ndarray), lambda x: x)
    back = _deserialize(data, "mem", np.array)
    np.testing.assert_array_equal(back["t"], a.T)
    np.testing.assert_array_equal(back["s"], a[:, 1, ::2])
    assert back["z"].shape == ()


def test_file_objects_and_path_kinds(tmp_path):
    obj = checkpoint()
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    assert same(load(buf), obj)
    save(obj, str(tmp_path / "s.pt"))
    assert same(load(str(tmp_path / "s.pt")), obj)
    with open(tmp_path / "f.pt", "wb") as f:
        save(obj, f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert same(load(f), obj)


@pytest.mark.parametrize("loc", [None, "cpu", "cuda:0", {"cuda:0": "cpu"}, lambda storage, loc: storage])
def test_map_location_and_weights_only_are_accepted(tmp_path, loc):
    save({"w": T([1.0])}, tmp_path / "x.pt")
    for wo in (True, False):
        assert same(load(tmp_path / "x.pt", map_location=loc, weights_only=wo), {"w": T([1.0])})


# ---------------------------------------------------------------- interop with safetensors / PyTorch

def test_state_dict_opens_with_safetensors_numpy_and_torch(tmp_path):
    import safetensors.torch
    sd = {"layer1.weight": T(np.arange(6).reshape(2, 3), np.float32), "layer1.bias": T([1, 2], np.int64),
          "bn.num_batches_tracked": T(5, np.int64), "mask": T([True, False])}
    save(sd, tmp_path / "sd.safetensors")
    for loaded in (safetensors.numpy.load_file(tmp_path / "sd.safetensors"),
                   {k: v.numpy() for k, v in safetensors.torch.load_file(tmp_path / "sd.safetensors").items()}):
        assert sorted(loaded) == sorted(sd)
        for k in sd:
            assert loaded[k].dtype == arr(sd[k]).dtype and loaded[k].shape == arr(sd[k]).shape
            np.testing.assert_array_equal(loaded[k], arr(sd[k]))


def test_nested_checkpoint_tensor_names(tmp_path):
    save(checkpoint(), tmp_path / "c.pt")
    names = set(safetensors.numpy.load_file(tmp_path / "c.pt"))
    assert names == {"model.layer1.weight", "model.layer1.bias", "optim.state.0.exp_avg", "optim.state.1.exp_avg"}


def test_clashing_names_are_made_unique(tmp_path):
    obj = {"a.b": T([1]), "a": {"b": T([2])}, "__metadata__": T([3]), 1: T([4]), "1": T([5])}
    save(obj, tmp_path / "x.pt")
    assert len(safetensors.numpy.load_file(tmp_path / "x.pt")) == 5
    assert same(load(tmp_path / "x.pt"), obj)


def test_loads_torch_safetensors_file_as_flat_dict(tmp_path):
    import safetensors.torch
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    safetensors.torch.save_file(sd, tmp_path / "torch.safetensors", metadata={"format": "pt"})
    out = load(tmp_path / "torch.safetensors")
    assert sorted(out) == sorted(sd)
    for k, v in sd.items():
        assert isinstance(out[k], Tensor)
        np.testing.assert_array_equal(arr(out[k]), v.numpy())
        assert arr(out[k]).dtype == v.numpy().dtype


@pytest.mark.parametrize("dtype", ["bfloat16", "uint16", "uint32", "complex64", "float8_e4m3fn"])
def test_torch_file_with_unsupported_dtype(tmp_path, dtype):
    import safetensors.torch
    safetensors.torch.save_file({"ok": torch.ones(2), "x": torch.zeros(2, dtype=getattr(torch, dtype))},
                                tmp_path / "d.safetensors")
    _bad(tmp_path / "d.safetensors", "tensor 'x' has dtype .* not support")


def test_requires_grad_is_not_kept(tmp_path):
    w = tensor(np.ones(2, np.float32), requires_grad=True)
    out = roundtrip({"w": w, "y": w * 2}, tmp_path)
    assert not out["w"].requires_grad and not out["y"].requires_grad
    np.testing.assert_array_equal(arr(out["y"]), [2.0, 2.0])


# ---------------------------------------------------------------- atomic writes

def test_failed_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.pt"
    save({"v": T([1.0])}, target)
    before = target.read_bytes()

    def boom(*a, **k):
        raise OSError("disk on fire")
    for name in ("fsync", "replace"):
        with monkeypatch.context() as mp:
            mp.setattr(os, name, boom)
            with pytest.raises(OSError, match="disk on fire"):
                save({"v": T([2.0, 3.0])}, target)
        assert target.read_bytes() == before
        assert os.listdir(tmp_path) == ["ckpt.pt"]
    assert same(load(target), {"v": T([1.0])})


def test_successful_write_leaves_no_temp_and_normal_permissions(tmp_path):
    save({"v": T([1.0])}, tmp_path / "a.pt")
    save({"v": T([2.0])}, tmp_path / "a.pt")  # overwrite
    assert os.listdir(tmp_path) == ["a.pt"]
    (tmp_path / "ref").write_bytes(b"")
    assert os.stat(tmp_path / "a.pt").st_mode == os.stat(tmp_path / "ref").st_mode
    assert same(load(tmp_path / "a.pt"), {"v": T([2.0])})


def test_save_through_symlink(tmp_path):
    save({"v": 1}, tmp_path / "real.pt")
    os.symlink(tmp_path / "real.pt", tmp_path / "link.pt")
    save({"v": 2}, tmp_path / "link.pt")
    assert os.path.islink(tmp_path / "link.pt") and load(tmp_path / "real.pt") == {"v": 2}


def test_unsupported_object_raises_type_error_and_keeps_old_file(tmp_path):
    target = tmp_path / "ckpt.pt"
    save({"ok": 1}, target)
    cases = [({"a": {"b": [1, print]}}, r"builtin_function_or_method at obj\['a'\]\['b'\]\[1\]"),
             ({"s": {1, 2}}, r"set at obj\['s'\]"), ([object()], r"object at obj\[0\]"),
             ({"x": np.ones(2)}, r"ndarray at obj\['x'\]"), ({1.5: 2}, r"key 1.5 of type float at obj")]
    for obj, msg in cases:
        with pytest.raises(TypeError, match=msg):
            save(obj, target)
    assert load(target) == {"ok": 1} and os.listdir(tmp_path) == ["ckpt.pt"]


def test_self_containing_structure_raises():
    x: list = [1]
    x.append(x)
    with pytest.raises(ValueError, match="contains itself"):
        save(x, io.BytesIO())


# ---------------------------------------------------------------- bad files

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load(tmp_path / "nope.pt")


def _bad(path, match):
    with pytest.raises(RuntimeError, match=re.escape(str(path)) + ".*" + match):
        load(path)


@pytest.mark.parametrize("cut", [0, 1, 7, 8, 9, 30, -40, -9, -1])
def test_truncated_file(tmp_path, cut):
    save(checkpoint(), tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[:cut])
    _bad(tmp_path / "cut.pt", "truncated")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path, seed):
    (tmp_path / "r.pt").write_bytes(np.random.default_rng(seed).bytes(200 + seed * 1000))
    _bad(tmp_path / "r.pt", "not a tinygrad_edu checkpoint")


def test_empty_file_and_text_file(tmp_path):
    (tmp_path / "e.pt").write_bytes(b"")
    _bad(tmp_path / "e.pt", "header is truncated")
    (tmp_path / "t.pt").write_bytes(b"hello world, this is not a checkpoint at all")
    _bad(tmp_path / "t.pt", "not a tinygrad_edu checkpoint")
    (tmp_path / "j.pt").write_bytes(len(b"[1]").to_bytes(8, "little") + b"[1]")
    _bad(tmp_path / "j.pt", "not a JSON object")
    (tmp_path / "u.pt").write_bytes((2).to_bytes(8, "little") + b"\xff\xfe")
    _bad(tmp_path / "u.pt", "not valid JSON")


def _with_meta(path, meta: str, tensors=None):
    path.write_bytes(safetensors.numpy.save(tensors or {"w": np.ones(2)}, metadata={"tinygrad_edu": meta}))
    return path


@pytest.mark.parametrize("meta, match", [
    ("{not json", "corrupt"),
    ('{"version": 1, "obj": {"tensor": "missing"}}', "missing tensor 'missing'"),
    ('{"version": 1, "obj": {"dict": [["a", {"tensor": "w"}], ["b", {"tensor": "gone"}]]}}', "missing tensor 'gone'"),
    ('{"version": 99, "obj": null}', "unsupported format version 99"),
    ('{"obj": null}', "unsupported format version"),
    ('{"version": 1}', "corrupt"),
    ('[1, 2]', "corrupt"),
    ('{"version": 1, "obj": {"bogus": 1}}', "malformed"),
    ('{"version": 1, "obj": {"dict": 5}}', "malformed"),
    ('{"version": 1, "obj": {"dict": [[[1], 2]]}}', "corrupt"),
    ('{"version": 1, "obj": {"dict": [[1]]}}', "corrupt"),
    ('{"version": 1, "obj": {"float": "1e5"}}', "malformed"),
    ('{"version": 1, "obj": {"tensor": ["w"]}}', "missing tensor"),
    ('{"version": 1, "obj": ' + "[" * 100000 + "]" * 100000 + "}", "corrupt"),
])
def test_corrupt_metadata(tmp_path, meta, match):
    _bad(_with_meta(tmp_path / "m.pt", meta), match)


def test_safetensors_without_our_metadata_loads_flat(tmp_path):
    a = {"x.y": np.arange(3, dtype=np.int16), "z": np.zeros((0, 2), np.float32)}
    safetensors.numpy.save_file(a, tmp_path / "plain.safetensors")
    safetensors.numpy.save_file(a, tmp_path / "other.safetensors", metadata={"format": "np", "author": "me"})
    for name in ("plain.safetensors", "other.safetensors"):
        out = load(tmp_path / name)
        assert sorted(out) == ["x.y", "z"]
        assert same(out["x.y"], T(a["x.y"])) and same(out["z"], T(a["z"]))


def test_file_format_metadata(tmp_path):
    save({"w": T([1.0])}, tmp_path / "x.pt")
    data = (tmp_path / "x.pt").read_bytes()
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    doc = json.loads(header["__metadata__"]["tinygrad_edu"])
    assert doc == {"version": 1, "obj": {"dict": [["w", {"tensor": "w"}]]}}


# ---------------------------------------------------------------- property based

_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                  hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
                  .map(tensor))
_tree = st.recursive(_leaf, lambda c: st.one_of(
    st.lists(c, max_size=4), st.lists(c, max_size=4).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), c, max_size=4)), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(_tree)
def test_roundtrip_property(obj):
    buf = io.BytesIO()
    save(obj, buf)
    assert same(load(io.BytesIO(buf.getvalue())), obj)

"""Damaged PyTorch checkpoints: a RuntimeError that names the file and what is wrong, never garbage."""
import collections
import re
import struct
import warnings
import zipfile

import numpy as np
import pytest
import torch

import tinygrad_edu as tg


def _bad(path, match):
    with pytest.raises(RuntimeError, match=re.escape(str(path)) + ".*" + match):
        tg.load(path)


def _rezip(src, dst, changes: dict):
    """A copy of the archive src with records replaced (bytes) or removed (None), keys without the folder."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for info in z.infolist():
            record = info.filename.partition("/")[2]
            data = changes.get(record, z.read(info))
            if data is not None:
                out.writestr(info.filename, data)
    return dst


@pytest.fixture
def ckpt(tmp_path):
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(3)}, tmp_path / "c.pt")
    return tmp_path / "c.pt"


@pytest.mark.parametrize("cut", [12, 30, 200, -200, -22, -1])
def test_truncated_archive(tmp_path, ckpt, cut):
    (tmp_path / "cut.pt").write_bytes(ckpt.read_bytes()[:cut])
    _bad(tmp_path / "cut.pt", "not a valid PyTorch checkpoint: the zip archive is truncated or damaged")


def test_zip_magic_then_garbage(tmp_path):
    (tmp_path / "g.pt").write_bytes(b"PK\x03\x04" + np.random.default_rng(0).bytes(500))
    _bad(tmp_path / "g.pt", "truncated or damaged")


def test_missing_data_pkl(tmp_path, ckpt):
    _bad(_rezip(ckpt, tmp_path / "m.pt", {"data.pkl": None}), "the zip archive has no data.pkl record")
    with zipfile.ZipFile(tmp_path / "flat.pt", "w") as z:
        z.writestr("data.pkl", b"")
    _bad(tmp_path / "flat.pt", "records are not in a folder")


def test_storage_record_missing(tmp_path, ckpt):
    _bad(_rezip(ckpt, tmp_path / "k.pt", {"data/1": None}), "storage '1' has no record data/1 in the archive")


def test_truncated_and_oversized_storage(tmp_path, ckpt):
    _bad(_rezip(ckpt, tmp_path / "t.pt", {"data/0": b"\0" * 20}),
         "record data/0 is truncated: it holds 20 bytes, the storage's 6 float32 elements need 24")
    _bad(_rezip(ckpt, tmp_path / "o.pt", {"data/1": b"\0" * 9}), "record data/1 is longer than its storage")


def test_damaged_bytes_fail_the_crc(tmp_path, ckpt):
    data = bytearray(ckpt.read_bytes())
    with zipfile.ZipFile(ckpt) as z:  # torch names the folder after the file ("c/data/0")
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    name_length, extra_length = struct.unpack("<2H", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + name_length + extra_length + 5] ^= 0xFF
    (tmp_path / "crc.pt").write_bytes(bytes(data))
    _bad(tmp_path / "crc.pt", "record c/data/0 is damaged")


def test_truncated_or_invalid_data_pkl(tmp_path, ckpt):
    with zipfile.ZipFile(ckpt) as z:
        pkl = z.read(next(i for i in z.infolist() if i.filename.endswith("/data.pkl")))
    for bad in (pkl[:len(pkl) // 2], pkl[:-1], b"\x80\x02garbage"):
        _bad(_rezip(ckpt, tmp_path / "p.pt", {"data.pkl": bad}), "corrupt PyTorch checkpoint")


class _Tensor:
    """Pickles as torch's tensor record with the numbers given: what a damaged data.pkl can say."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


@pytest.mark.parametrize("offset, size, stride, match", [
    (0, (7,), (1,), r"holds 6 float32 elements, but a tensor of size \[7\], stride \[1\] and offset 0 reaches "
                    "element 6"),
    (5, (2,), (1,), "reaches element 6"),
    (0, (2, 3), (4, 1), "reaches element 6"),
    (0, (3,), (-1,), "negative offset, size or stride"),
    (-1, (1,), (1,), "negative offset, size or stride"),
    (0, (2,), (1, 1), "has a tensor with offset"),
])
def test_size_and_stride_out_of_the_storage(tmp_path, offset, size, stride, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage is deprecated
        storage = torch.arange(6.0).storage()
    torch.save({"x": _Tensor(storage, offset, size, stride)}, tmp_path / "s.pt")
    _bad(tmp_path / "s.pt", r"corrupt PyTorch checkpoint: storage '0' .*" + match)


def test_bad_byteorder_and_bool_bytes(tmp_path, ckpt):
    _bad(_rezip(ckpt, tmp_path / "b.pt", {"byteorder": b"middle"}), "byteorder record says b'middle'")
    torch.save({"m": torch.tensor([True, False])}, tmp_path / "bool.pt")
    _bad(_rezip(tmp_path / "bool.pt", tmp_path / "b2.pt", {"data/0": b"\x01\x07"}), "bytes other than 0 and 1")


def test_big_endian_archive_loads(tmp_path):
    """byteorder 'big' (a checkpoint from a big-endian machine): each storage is byte-swapped."""
    obj = {"f": torch.tensor([1.5, -2.0]), "i": torch.tensor([1, 256], dtype=torch.int64),
           "h": torch.tensor([3], dtype=torch.int16), "u": torch.tensor([7], dtype=torch.uint8)}
    torch.save(obj, tmp_path / "le.pt")
    swapped = {f"data/{i}": t.numpy().astype(t.numpy().dtype.newbyteorder(">")).tobytes()
               for i, t in enumerate(obj.values())}
    out = tg.load(_rezip(tmp_path / "le.pt", tmp_path / "be.pt", {"byteorder": b"big", **swapped}))
    for k, t in obj.items():
        np.testing.assert_array_equal(out[k].numpy(), t.numpy())


def test_torchscript_archive_is_named(tmp_path):
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "script.pt")
    _bad(tmp_path / "script.pt", r"a TorchScript archive \(torch.jit.save\)")


@pytest.mark.parametrize("cut", [20, 100, -30, -1])
def test_truncated_legacy_file(tmp_path, cut):
    torch.save({"w": torch.arange(6.0)}, tmp_path / "l.pt", _use_new_zipfile_serialization=False)
    (tmp_path / "cut.pt").write_bytes((tmp_path / "l.pt").read_bytes()[:cut])
    _bad(tmp_path / "cut.pt", "(legacy format|corrupt PyTorch checkpoint)")

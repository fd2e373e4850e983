"""PyTorch's checkpoints in tinygrad_edu's terms: what their pickles name, and how tensors become storages.

`torch.save` pickles (protocol 2) the object with each tensor reduced to

    torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)

and each storage written once, outside the pickle, under a key: the pickle holds only the persistent
id ('storage', torch.FloatStorage, key, location, numel). Tensors that share memory (views, tied
weights) name the same key with their own offset and strides, so they share memory again on load.

Loading maps PyTorch's names to ours: the rebuild functions below have torch's signatures, its
storage types and dtypes become ours, `torch.Size` is our Size, `torch.device` our device. With
`weights_only=True` (the default, as PyTorch 2.6+) only those names, plain containers and what
`add_safe_globals` allows are unpickled (`_pickling.RestrictedUnpickler`). Saving does the reverse
with a pickler that writes torch's names without importing torch.

Storages load on the CPU whatever their location tag ('cuda:0'...); `map_location` is applied as
PyTorch applies it (a dict renames tags, a callable gets (storage, location) and may return the
storage), but nothing leaves the CPU. Differences: bfloat16, complex, uint16..., quantized and
sparse tensors raise an error naming the dtype; a tensor's Python attributes and hooks are not kept.
"""
from __future__ import annotations

import codecs
import collections
import io
import pickle
from typing import Any, Callable

import numpy as np

from . import _pickling, dtypes
from ._device import device
from .nn.parameter import Parameter
from .tensor import Size, Tensor

# torch's storage classes: the dtype of their elements (ours where we have it, else torch's name)
_STORAGE_DTYPES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                   "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
                   "ByteStorage": "uint8", "BoolStorage": "bool", "UntypedStorage": "uint8",
                   "BFloat16Storage": "bfloat16", "ComplexFloatStorage": "complex64",
                   "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
                   "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4"}
_STORAGE_NAMES = {v: k for k, v in list(_STORAGE_DTYPES.items())[:9]}  # our dtype -> torch's storage class
_TORCH_ONLY_DTYPES = {"bfloat16", "complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf",
                      "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                      "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32",
                      "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2"}
SUPPORTED = ", ".join(d.name for d in dtypes.ALL)


def _dtype_error(file: str, dtype_name: str, where: str) -> RuntimeError:
    return RuntimeError(f"{file}: {where} has dtype torch.{dtype_name}, which tinygrad_edu does not support "
                        f"(supported: {SUPPORTED}). In PyTorch, convert it before saving, e.g. model.float() "
                        "or tensor.to(torch.float32)")


class StorageType:
    """What `torch.FloatStorage` and friends unpickle to: the dtype of a storage's elements."""

    def __init__(self, torch_name: str):
        self.torch_name, self.dtype_name = torch_name, _STORAGE_DTYPES[torch_name]
        self.dtype = dtypes._BY_NAME.get(self.dtype_name) if self.dtype_name in _STORAGE_NAMES else None


class Storage:
    """One storage of a checkpoint: its bytes (uint8), the tensors built on it are views of them.

    Enough of torch's UntypedStorage for `map_location` callables: `cpu()`, `to()`, `cuda()` (which
    raises as a CPU build of PyTorch does), `device`, `nbytes()`, `size()`."""

    def __init__(self, raw: np.ndarray, dtype: dtypes.dtype, key: str, file: str, big_endian: bool = False):
        self.raw, self.dtype, self.key, self.file = raw, dtype, key, file
        self._swap = big_endian  # byte-swapped once, in place, when its dtype is known (on first use)
        self._checked = False
        self.device = device("cpu")

    def cpu(self) -> Storage:
        return self

    def to(self, device_=None, *args, **kwargs) -> Storage:
        from ._device import check_device
        check_device(device_ if device_ is not None else "cpu")
        return self

    def cuda(self, device_=None, non_blocking: bool = False) -> Storage:
        return self.to("cuda")

    def nbytes(self) -> int:
        return self.raw.nbytes

    def size(self) -> int:
        return self.raw.nbytes // self.dtype.itemsize

    __len__ = size

    def typed(self, dtype: dtypes.dtype) -> np.ndarray:
        """The storage's elements as `dtype` (PyTorch allows one dtype per storage)."""
        if dtype is not self.dtype:
            if self._checked or self.raw.nbytes % dtype.itemsize:
                raise self.corrupt(f"is read as {self.dtype.name} and as {dtype.name}")
            self.dtype, self._swap = dtype, self._swap and dtype.itemsize > 1  # an UntypedStorage's first reader
        if not self._checked:
            if self._swap:
                self.raw.view(dtype.np).byteswap(inplace=True)
            if dtype is dtypes.bool_ and self.raw.size and self.raw.max() > 1:
                raise self.corrupt("is a bool storage holding bytes other than 0 and 1")
            self._checked = True
        return self.raw.view(dtype.np)

    def view(self, dtype: dtypes.dtype, offset, size, stride) -> np.ndarray:
        """The array of one tensor on this storage, every number checked against the storage first."""
        ints = lambda v: isinstance(v, tuple) and all(type(x) is int for x in v)
        if type(offset) is not int or not ints(size) or not ints(stride) or len(size) != len(stride):
            raise self.corrupt(f"has a tensor with offset {offset!r}, size {size!r} and stride {stride!r}")
        typed = self.typed(dtype)
        if offset < 0 or min(size + stride, default=0) < 0:
            raise self.corrupt(f"has a tensor with a negative offset, size or stride (offset {offset}, size "
                               f"{list(size)}, stride {list(stride)})")
        if 0 in size:
            return np.empty(size, dtype.np)
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= len(typed):
            raise self.corrupt(f"holds {len(typed)} {dtype.name} elements, but a tensor of size {list(size)}, "
                               f"stride {list(stride)} and offset {offset} reaches element {last}")
        return np.ndarray(size, dtype.np, buffer=typed, offset=offset * dtype.itemsize,
                          strides=tuple(s * dtype.itemsize for s in stride))

    def corrupt(self, why: str) -> RuntimeError:
        return RuntimeError(f"{self.file}: corrupt PyTorch checkpoint: storage {self.key!r} {why}")

# ---------------------------------------------------------------- torch's rebuild functions, our tensors


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError(f"a tensor's storage is a {type(storage).__name__}, not a storage")
    return _tensor(storage, storage.dtype, storage_offset, size, stride, requires_grad, metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    if not isinstance(storage, Storage) or not isinstance(dtype, dtypes.dtype):
        raise pickle.UnpicklingError(f"a tensor has storage {type(storage).__name__} and dtype {dtype!r}")
    return _tensor(storage, dtype, storage_offset, size, stride, requires_grad, metadata)


def _tensor(storage: Storage, dtype, offset, size, stride, requires_grad, metadata) -> Tensor:
    if metadata and any(metadata.values()):  # conj/neg bits: complex tensors only
        raise storage.corrupt(f"has a tensor with metadata {metadata!r}, which tinygrad_edu does not support")
    t = Tensor._make(storage.view(dtype, offset, tuple(size), tuple(stride)))
    if requires_grad:
        if not dtype.is_floating_point:
            raise storage.corrupt(f"has a {dtype.name} tensor that requires grad")
        t.requires_grad = True
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"a Parameter's data is a {type(data).__name__}, not a tensor")
    return Parameter(data, bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _set_state(_rebuild_parameter(data, requires_grad, backward_hooks), state)


def _rebuild_from_type_v2(func, new_type, args, state):
    """A tensor with Python attributes (or of a subclass): rebuilt by `func`, then given `state`."""
    t = func(*args)
    if new_type is Parameter and type(t) is Tensor:
        t = Parameter(t, t.requires_grad)
    elif new_type is not type(t):
        raise pickle.UnpicklingError(f"a tensor of type {new_type!r}: only Tensor and Parameter are supported")
    return _set_state(t, state)


def _set_state(t: Tensor, state) -> Tensor:
    state, slots = state if isinstance(state, tuple) and len(state) == 2 else (state, None)
    for k, v in list((state or {}).items()) + list((slots or {}).items()):
        if not isinstance(k, str) or k.startswith("_"):  # never our internals (_data, _grad...)
            raise pickle.UnpicklingError(f"a tensor has an attribute named {k!r}")
        setattr(t, k, v)
    return t

# ---------------------------------------------------------------- names in a PyTorch pickle


_NAMES: dict[str, Any] = {
    "torch._utils._rebuild_tensor": _rebuild_tensor, "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3, "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
    "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
    "torch.Tensor": Tensor, "torch._tensor.Tensor": Tensor, "torch.nn.parameter.Parameter": Parameter,
    "torch.Size": Size, "torch.device": device,
    "collections.OrderedDict": collections.OrderedDict, "collections.Counter": collections.Counter,
    "builtins.set": set, "builtins.frozenset": frozenset, "builtins.complex": complex,
    "builtins.bytearray": bytearray, "builtins.slice": slice, "builtins.range": range,
    "_codecs.encode": codecs.encode,  # how protocol 2 pickles bytes
}


def torch_global(module: str, name: str, file: str) -> Any:
    """Our object for a name PyTorch's weights_only unpickler allows, or None."""
    if f"{module}.{name}" in _NAMES:
        return _NAMES[f"{module}.{name}"]
    if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
        return StorageType(name)
    if module == "torch" and name in dtypes._BY_NAME and isinstance(dtypes._BY_NAME[name], dtypes.dtype):
        return dtypes._BY_NAME[name]
    if module == "torch" and (name in _TORCH_ONLY_DTYPES or name.rstrip("1234567") in ("int", "uint")):
        raise _dtype_error(file, name, "a tensor (or a value) in it")
    return None


class _StoragesLoader:
    """The `persistent_load` of a checkpoint: each storage made once, by key, through `map_location`."""

    def __init__(self, file: str, read: Callable[[str, int, dtypes.dtype], np.ndarray], map_location: Any,
                 big_endian: bool = False):
        self.file, self.read, self.map_location, self.big_endian = file, read, map_location, big_endian
        self.loaded: dict[str, Storage] = {}

    def __call__(self, pid) -> Storage:
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] in ("storage", b"storage")
                and isinstance(pid[1], StorageType) and isinstance(pid[2], str) and isinstance(pid[3], (str, bytes))
                and type(pid[4]) is int and pid[4] >= 0):
            raise pickle.UnpicklingError(f"persistent id {str(pid)[:100]} is not a storage")
        stype, key, location, numel = pid[1:5]
        if len(pid) == 6 and pid[5] is not None:
            raise RuntimeError(f"{self.file}: storage views of PyTorch's oldest format are not supported")
        if key in self.loaded:
            return self.loaded[key]
        if stype.dtype is None:
            raise _dtype_error(self.file, stype.dtype_name, f"storage {key!r}")
        raw = self.read(key, numel, stype.dtype)
        storage = Storage(raw, stype.dtype, key, self.file, self.big_endian)
        self.loaded[key] = self.restore(storage, location.decode() if isinstance(location, bytes) else location)
        return self.loaded[key]

    def restore(self, storage: Storage, location: str) -> Storage:
        """PyTorch's map_location: a callable is called as PyTorch calls it; everything stays on the CPU."""
        m = self.map_location
        if m is None or isinstance(m, (str, bytes, dict, device)):
            return storage
        result = m(storage, location)
        if result is not None and not isinstance(result, Storage):
            raise TypeError(f"map_location returned a {type(result).__name__}: it must return a storage or None")
        return storage if result is None else result


def check_map_location(map_location: Any) -> None:
    if not (map_location is None or isinstance(map_location, (str, bytes, dict, device)) or callable(map_location)):
        raise TypeError(f"map_location must be None, a str, a device, a dict or a callable, not "
                        f"{type(map_location).__name__}")


class _WeightsOnlyUnpickler(_pickling.RestrictedUnpickler):
    """weights_only=True: PyTorch's names mapped to ours, the user's safe globals; nothing else."""

    def __init__(self, fh, file: str):
        super().__init__(fh)
        self.file = file

    def allowed_global(self, module: str, name: str) -> Any:
        return torch_global(module, name, self.file)


class _Unpickler(pickle.Unpickler):
    """weights_only=False: PyTorch's names mapped to ours, any other name imported (only for trusted files)."""

    def __init__(self, fh, file: str):
        super().__init__(fh, encoding="utf-8")
        self.file = file

    def find_class(self, module: str, name: str) -> Any:
        found = torch_global(*_pickling.python3_name(module, name, 2), self.file)
        if found is None and module.partition(".")[0] == "torch":  # a torch Module, optimizer...: not ours
            raise RuntimeError(f"{self.file}: holds {module}.{name}, a PyTorch object: tinygrad_edu loads tensors and "
                               "plain containers from PyTorch's files, not PyTorch's classes. In PyTorch, save "
                               "model.state_dict() (or optimizer.state_dict()) instead")
        return found if found is not None else super().find_class(module, name)


def unpickle(fh, file: str, persistent_load: _StoragesLoader | None, weights_only: bool) -> Any:
    """Unpickle a PyTorch pickle from fh, its storages through persistent_load."""
    unpickler = _WeightsOnlyUnpickler(fh, file) if weights_only else _Unpickler(fh, file)
    if persistent_load is not None:
        unpickler.persistent_load = persistent_load
    return _pickling.run_unpickler(unpickler, file, "PyTorch checkpoint", weights_only)

# ---------------------------------------------------------------- saving in PyTorch's format


class _Global:
    """A name written as a pickle GLOBAL (`torch FloatStorage`) without importing its module."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce wants a callable
        raise TypeError(f"{self.module}.{self.name} is only a name, to be written into a pickle")


_GLOBALS: dict[tuple[str, str], _Global] = {}


def _g(module: str, name: str) -> _Global:
    return _GLOBALS.setdefault((module, name), _Global(module, name))


class _TorchPickler(pickle._Pickler):
    """pickle's (pure Python) Pickler, writing tensors, dtypes, Size and device in torch's names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storages: dict[str, np.ndarray] = {}  # key -> raw bytes (views of the tensors' memory)
        self._refs: dict[tuple, tuple] = {}  # (id(root), dtype) -> persistent id

    def save_name(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
        self.memoize(obj)

    def save_dtype(self, obj: dtypes.dtype) -> None:
        self.save(_g("torch", obj.name))

    dispatch[_Global] = save_name
    dispatch[dtypes.dtype] = save_dtype

    def persistent_id(self, obj):
        return obj.pid if type(obj) is _StorageRef else None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            if type(obj) is Parameter:
                return _g("torch._utils", "_rebuild_parameter"), (Tensor._make(obj._data), obj.requires_grad,
                                                                   collections.OrderedDict())
            if type(obj) is not Tensor:
                raise pickle.PicklingError(f"a {type(obj).__name__} cannot be saved in PyTorch's format (only Tensor "
                                           "and nn.Parameter)")
            ref, offset, stride = self._storage(obj._data)
            return _g("torch._utils", "_rebuild_tensor_v2"), (ref, offset, tuple(obj.shape), stride,
                                                              obj.requires_grad, collections.OrderedDict())
        if type(obj) is Size:
            return _g("torch", "Size"), (tuple(obj),)
        if type(obj) is device:
            return _g("torch", "device"), (str(obj),)
        return NotImplemented

    def _storage(self, a: np.ndarray) -> tuple:
        """(storage ref, offset, stride) of array `a`: views of one block of memory share one storage."""
        root = a
        while isinstance(root.base, np.ndarray):
            root = root.base
        size = a.itemsize
        start = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        shared = (a.size > 0 and a.dtype == a.dtype.newbyteorder("<") and (root.flags.c_contiguous or
                  root.flags.f_contiguous) and start >= 0 and start % size == 0 and root.nbytes % size == 0
                  and all(s >= 0 and s % size == 0 for s in a.strides)
                  and start + sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + size <= root.nbytes)
        if not shared:  # a dense little-endian copy of its own
            root = a = a.astype(a.dtype.newbyteorder("<"), order="C")
            start = 0
        key = (id(root), a.dtype.str)
        if key not in self._refs:
            name = str(len(self.storages))
            self.storages[name] = root.ravel(order="K").view(np.uint8)  # the memory, in memory order
            self._refs[key] = _StorageRef(("storage", _g("torch", _STORAGE_NAMES[a.dtype.name]),
                                           name, "cpu", root.nbytes // size))
        return self._refs[key], start // size, tuple(s // size for s in a.strides)


class _StorageRef:
    def __init__(self, pid: tuple):
        self.pid = pid


def dumps(obj: Any) -> tuple[bytes, dict]:
    """(data.pkl, {key: raw bytes}) of obj in PyTorch's format; nothing is written yet."""
    buf = io.BytesIO()
    pickler = _TorchPickler(buf)
    try:
        pickler.dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(f"cannot save {type(obj).__name__} in PyTorch's format: part of it cannot be pickled "
                        f"({e})") from e
    return buf.getvalue(), pickler.storages

# ---------------------------------------------------------------- loading a file


def load_zip(fh, file: str, map_location: Any, weights_only: bool) -> Any:
    """torch.load of the zip format: data.pkl unpickled, each storage read from data/<key> when named."""
    from ._torch_zip import ZipReader
    archive = ZipReader(fh, file)
    bad = lambda why: RuntimeError(f"{file}: not a valid PyTorch checkpoint: {why}")
    if archive.has("constants.pkl"):
        raise RuntimeError(f"{file}: a TorchScript archive (torch.jit.save): tinygrad_edu cannot run TorchScript. "
                           "In PyTorch, save the model's state_dict() with torch.save instead")
    if not archive.has("data.pkl"):
        raise bad(f"the zip archive has no data.pkl record (it holds {', '.join(list(archive.records)[:8])})")
    order = archive.read("byteorder") if archive.has("byteorder") else b"little"
    if order not in (b"little", b"big"):
        raise bad(f"its byteorder record says {order[:20]!r}, not 'little' or 'big'")

    def read(key: str, numel: int, dtype: dtypes.dtype) -> np.ndarray:
        record, nbytes = f"data/{key}", numel * dtype.itemsize
        if not archive.has(record):
            raise bad(f"storage {key!r} has no record data/{key} in the archive")
        if archive.size(record) != nbytes:
            what = "truncated" if archive.size(record) < nbytes else "longer than its storage"
            raise bad(f"record data/{key} is {what}: it holds {archive.size(record)} bytes, the storage's {numel} "
                      f"{dtype.name} elements need {nbytes}")
        raw = np.empty(nbytes, np.uint8)
        archive.read_into(record, raw)
        return raw
    storages = _StoragesLoader(file, read, map_location, big_endian=order == b"big")
    return unpickle(io.BytesIO(archive.read("data.pkl")), file, storages, weights_only)


LEGACY_MAGIC, LEGACY_PROTOCOL = 0x1950A86A20F9469CFC6C, 1001


def load_legacy(fh, file: str, map_location: Any, weights_only: bool) -> Any:
    """torch.load of the format before 1.6 (`_use_new_zipfile_serialization=False`): pickles of the magic
    number, the protocol version, the machine's byte order, the object, the storage keys; then each
    storage as its element count (int64) and its bytes."""
    bad = lambda why: RuntimeError(f"{file}: not a valid PyTorch checkpoint (legacy format): {why}")
    plain = lambda: unpickle(fh, file, None, weights_only=True)  # numbers, dicts, lists of str
    if plain() != LEGACY_MAGIC or plain() != LEGACY_PROTOCOL:
        raise bad("its magic number or protocol version is not PyTorch's")
    info = plain()
    big_endian = isinstance(info, dict) and info.get("little_endian") is False
    pending: dict[str, np.ndarray] = {}

    def allocate(key: str, numel: int, dtype: dtypes.dtype) -> np.ndarray:
        pending[key] = np.zeros(numel * dtype.itemsize, np.uint8)  # filled after the pickle
        return pending[key]
    storages = _StoragesLoader(file, allocate, map_location)
    result = unpickle(fh, file, storages, weights_only)
    keys = plain()
    if not (isinstance(keys, list) and sorted(keys) == sorted(pending)):
        raise bad(f"its list of storages {str(keys)[:80]} does not match the storages its pickle names")
    for key in keys:
        raw, count = pending[key], fh.read(8)
        dtype = storages.loaded[key].dtype
        if len(count) < 8 or int.from_bytes(count, "little", signed=True) * dtype.itemsize != raw.nbytes:
            raise bad(f"storage {key!r} is truncated or has the wrong size")
        if fh.readinto(memoryview(raw)) != raw.nbytes:
            raise bad(f"storage {key!r} is truncated")
        if big_endian:
            raw.view(dtype.np).byteswap(inplace=True)
        if dtype is dtypes.bool_ and raw.size and raw.max() > 1:
            raise storages.loaded[key].corrupt("is a bool storage holding bytes other than 0 and 1")
    return result

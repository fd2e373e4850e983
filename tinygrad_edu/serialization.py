"""`save` / `load`: torch.save / torch.load; state dicts and checkpoints without pickle.

PyTorch pickles arbitrary objects into a zip archive, so `torch.load` of an untrusted
file can run code (hence its `weights_only`). A state dict or checkpoint (tensors in dicts,
lists and tuples of plain values) is written here as a plain safetensors file instead, so
loading it can never execute anything:

* every tensor is stored once under a flat dotted name derived from its path, e.g.
  "layer1.weight" for a state dict or "model.layer1.weight" / "optim.state.0.exp_avg"
  for a checkpoint (clashes get a "#1", "#2"... suffix). `safetensors.torch.load_file`
  therefore reads a saved state dict with the usual key names.
* the structure around the tensors is JSON in the header's `__metadata__["tinygrad_edu"]`
  as {"version": 1, "obj": node}. A node is a JSON null/bool/int/float/str, a list, or a
  one-key tag object: {"tensor": name}, {"tuple": [nodes]}, {"dict": [[key, node], ...]}
  (keys are str or int) or {"float": "inf" | "-inf" | "nan"}.

An object holding instances of Python classes (a whole nn.Module, as `torch.save(model, f)`;
an optimizer; a class of yours) is pickled instead, into our own file (see `_pickling.py`), and
`load(f, weights_only=True)` -- the default, as in PyTorch 2.6+ -- refuses its classes with
PyTorch's UnpicklingError text; `weights_only=False` loads it. The first 8 bytes tell the formats
apart.

PyTorch's own files load too: the zip archive torch.save writes (and the format before PyTorch 1.6),
with torch 2.6+'s weights_only rules; and `save(obj, f, format="torch")` writes that zip format,
which PyTorch's torch.load reads (_torch_zip.py: the archive; _torch_pickle.py: what its pickle
names, and how tensors become storages).

Differences from PyTorch, in the default format: besides those objects, only tensors, dicts, lists,
tuples, str, int, float, bool and None can be saved (sets, NumPy arrays, functions... raise TypeError).
The same tensor object saved twice is stored once and loads as one object, but distinct tensors that
merely share memory (views) are saved as independent copies. Parameters load as plain tensors and
requires_grad is not kept (like the values of a state dict). format="torch" keeps all of these as
torch.save does.

Files (the format is simple enough to write and read here, tensor by tensor, so a checkpoint
is never held twice in memory): a path is saved through a temporary beside it, renamed over
it once complete, so a crash or `kill -9` never leaves a half-written file; the next save of
that path removes temporaries whose saver died. Loading reads only what the header describes
and refuses devices, FIFOs and headers that disagree with the file's size.
"""
from __future__ import annotations

import math
import os
from typing import IO, Any, Callable, Union

from . import _pickling
from ._pickling import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals  # noqa: F401 (torch.serialization's)

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]
_KEY, _VERSION = "tinygrad_edu", 1
_DTYPES = ("BOOL", "U8", "I8", "I16", "I32", "I64", "F16", "F32", "F64")  # safetensors names


def _where(path: tuple) -> str:
    return "obj" + "".join(f"[{k!r}]" for k in path)


def _encode(obj: Any, path: tuple, arrays: dict, seen: dict, active: set,
            is_tensor: Callable[[Any], bool], to_numpy: Callable[[Any], Any]) -> Any:
    """Return the JSON node for `obj`, moving its tensors (as ndarrays) into `arrays`."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
    if is_tensor(obj):
        if id(obj) not in seen:  # the same tensor object twice is stored once
            import numpy as np
            base = ".".join(map(str, path)) or "tensor"
            name, i = base, 0
            while name in arrays or name == "__metadata__":
                i += 1
                name = f"{base}#{i}"
            arrays[name] = np.asarray(to_numpy(obj), order="C")  # copies views densely; keeps 0-d
            seen[id(obj)] = name
        return {"tensor": seen[id(obj)]}
    if not isinstance(obj, (dict, list, tuple)):
        raise TypeError(f"cannot save {type(obj).__name__} at {_where(path)}: only tensors, dict, "
                        "list, tuple, str, int, float, bool and None can be saved (no pickle)")
    if id(obj) in active:
        raise ValueError(f"cannot save a container that contains itself at {_where(path)}")
    active.add(id(obj))
    enc = lambda k, v: _encode(v, path + (k,), arrays, seen, active, is_tensor, to_numpy)
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"cannot save dict key {k!r} of type {type(k).__name__} at "
                                f"{_where(path)}: keys must be str or int")
        node: Any = {"dict": [[k, enc(k, v)] for k, v in obj.items()]}
    else:
        items = [enc(i, v) for i, v in enumerate(obj)]
        node = {"tuple": items} if isinstance(obj, tuple) else items
    active.discard(id(obj))
    return node


def _decode(node: Any, tensors: dict) -> Any:
    """Inverse of `_encode`; raises ValueError/TypeError on malformed input."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(x, tensors) for x in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, v),) = node.items()
        if tag == "tensor":
            if not isinstance(v, str) or v not in tensors:
                raise ValueError(f"metadata references missing tensor {v!r}")
            return tensors[v]
        if tag == "tuple" and isinstance(v, list):
            return tuple(_decode(x, tensors) for x in v)
        if tag == "dict" and isinstance(v, list):
            return {k: _decode(x, tensors) for k, x in v}
        if tag == "float" and v in ("inf", "-inf", "nan"):
            return float(v)
    raise ValueError(f"malformed metadata node {str(node)[:80]}")


# ---------------------------------------------------------------- the safetensors format
# 8 bytes: the header's length n (little-endian); n bytes: a JSON object {name: {"dtype", "shape",
# "data_offsets": [begin, end]}, "__metadata__": {str: str}}; then every tensor's bytes, back to back.

_NP_NAMES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
             "float16": "F16", "float32": "F32", "float64": "F64"}
_MAX_HEADER = 100_000_000  # safetensors' own limit


def _write_safetensors(fh: IO[bytes], arrays: dict, metadata: dict) -> None:
    """Write `arrays` straight from their memory: no copy of the data is built first."""
    import json
    header: dict = {"__metadata__": metadata}
    offset = 0
    for name, a in arrays.items():
        header[name] = {"dtype": _NP_NAMES[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    fh.write(len(text).to_bytes(8, "little") + text)
    for a in arrays.values():
        if a.nbytes:
            fh.write(a.data if a.dtype.byteorder != ">" else a.astype(a.dtype.newbyteorder("<")).data)


def _collect(obj: Any, is_tensor: Callable[[Any], bool], to_numpy: Callable[[Any], Any]) -> tuple[dict, dict]:
    """(arrays, metadata) of `obj`, checked before any file is touched."""
    import json
    arrays: dict = {}
    tree = _encode(obj, (), arrays, {}, set(), is_tensor, to_numpy)
    for name, a in arrays.items():
        if a.dtype.name not in _NP_NAMES:
            raise TypeError(f"cannot save tensor {name!r} of dtype {a.dtype.name} "
                            f"(supported: {', '.join(_NP_NAMES)})")
    doc = json.dumps({"version": _VERSION, "obj": tree}, allow_nan=False, separators=(",", ":"))
    return arrays, {"format": "pt", _KEY: doc}


def _serialize(obj: Any, is_tensor: Callable[[Any], bool], to_numpy: Callable[[Any], Any]) -> bytes:
    import io
    buf = io.BytesIO()
    _write_safetensors(buf, *_collect(obj, is_tensor, to_numpy))
    return buf.getvalue()


def _read_exactly(fh: IO[bytes], n: int, into: Any = None) -> Any:
    """Read n bytes into `into` (a new bytearray if None) and return it; None if the file ends first."""
    into = bytearray(n) if into is None else into
    view, done = memoryview(into).cast("B"), 0
    while done < n:
        if hasattr(fh, "readinto"):
            got = fh.readinto(view[done:])
        else:  # a file-like object with read() only
            chunk = fh.read(min(n - done, 1 << 24))
            got = len(chunk)
            view[done:done + got] = chunk
        if not got:
            return None
        done += got
    return into


def _tensor_layout(header: dict, bad: Callable[[str], Exception], name: str) -> list:
    """[(begin, end, key, dtype, shape)] in file order, each entry checked; raises bad(...)."""
    import numpy as np
    layout = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        dt = info.get("dtype") if isinstance(info, dict) else None
        if isinstance(dt, str) and dt not in _DTYPES:  # dtypes numpy or our Tensor lack (bf16, float8...)
            raise RuntimeError(f"{name}: tensor {key!r} has dtype {dt}, which tinygrad_edu does not support "
                               f"(supported: {', '.join(_DTYPES)})")
        shape, span = (info.get("shape"), info.get("data_offsets")) if isinstance(dt, str) else (None, None)
        ints = lambda v: isinstance(v, list) and all(type(x) is int and x >= 0 for x in v)
        if not (ints(shape) and ints(span) and len(span) == 2):
            raise bad(f"tensor {key!r} has an invalid entry {str(info)[:80]}")
        dtype = np.dtype(next(k for k, v in _NP_NAMES.items() if v == dt)).newbyteorder("<")
        if span[1] - span[0] != math.prod(shape) * dtype.itemsize:  # Python ints: no overflow
            raise bad(f"tensor {key!r} of shape {shape} and dtype {dt} does not fit its data_offsets {span}")
        layout.append((span[0], span[1], key, dtype, tuple(shape)))
    layout.sort(key=lambda e: e[:2])
    for (_, prev_end, *_), (begin, _, key, *_) in zip([(0, 0)] + layout, layout):
        if begin != prev_end:  # back to back, as safetensors requires
            raise bad(f"tensor {key!r} starts at byte {begin} of the data, not at {prev_end}")
    return layout


def _read_safetensors(fh: IO[bytes], size: int | None, name: str, from_numpy: Callable[[Any], Any],
                      whole: bool = True, length: bytes | None = None) -> Any:
    """Read a checkpoint from fh, `size` bytes long (None: a stream of unknown length), each tensor
    straight into its own array: the header bounds everything read, and nothing is held twice.
    `whole`: nothing may follow it (a file); else fh is left just after it (a stream).
    `length`: the first 8 bytes, if the caller has read them already."""
    import json
    import numpy as np

    def bad(why: str) -> RuntimeError:
        return RuntimeError(f"{name}: not a tinygrad_edu checkpoint: {why}")
    length = _read_exactly(fh, 8) if length is None else length
    if length is None or len(length) < 8:
        raise bad(f"header is truncated (file has only {size} bytes)" if size is not None
                  else "header is truncated (the stream ended within its first 8 bytes)")
    n = int.from_bytes(length, "little")
    if size is not None and 8 + n > size:
        raise bad(f"header is truncated (length field says {n} bytes, only {size - 8} follow)")
    if n > _MAX_HEADER:
        raise bad(f"header length field says {n} bytes, more than the {_MAX_HEADER} allowed")
    text = _read_exactly(fh, n)
    if text is None:
        raise bad(f"header is truncated (length field says {n} bytes, fewer follow)")
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise bad(f"header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    layout = _tensor_layout(header, bad, name)
    need = layout[-1][1] if layout else 0
    if size is not None and (size - 8 - n < need or whole and size - 8 - n > need):
        what = "truncated" if size - 8 - n < need else "followed by extra bytes"
        raise bad(f"tensor data is {what} (the header describes {need} bytes, the file holds {size - 8 - n})")
    tensors = {}
    for begin, end, key, dtype, shape in layout:
        try:
            a = np.empty(shape, dtype)
        except (MemoryError, ValueError):  # ValueError: more elements than an index can count
            raise RuntimeError(f"{name}: tensor {key!r} needs {end - begin} bytes, more memory than there is") from None
        if end > begin and _read_exactly(fh, end - begin, a) is None:
            raise bad(f"tensor data is truncated (tensor {key!r} ends past the end of the file)")
        tensors[key] = from_numpy(a.astype(dtype.newbyteorder("="), copy=False))
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or _KEY not in meta:
        return tensors  # a plain safetensors file, e.g. a state dict saved from PyTorch
    try:
        doc = json.loads(meta[_KEY])
        if doc.get("version") != _VERSION:
            raise ValueError(f"unsupported format version {doc.get('version')!r}")
        return _decode(doc["obj"], tensors)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        raise RuntimeError(f"{name}: corrupt tinygrad_edu checkpoint: {e}") from None


def _deserialize(data: bytes, name: str, from_numpy: Callable[[Any], Any]) -> Any:
    import io
    return _read_safetensors(io.BytesIO(data), len(data), name, from_numpy)

# ---------------------------------------------------------------- writing a path safely

def _remove_stale_temporaries(folder: str, base: str) -> None:
    """Remove `.BASE.XXXXXXXX.tmp` files of savers that died (kill -9, power loss) before renaming.

    A saver holds an exclusive flock on its temporary until it is renamed, and the kernel drops
    the lock when the process dies, however it dies: a temporary we can lock has no live saver.
    Without flock (Windows) nothing is removed."""
    import re
    try:
        import fcntl
        names = os.listdir(folder)
    except (ImportError, OSError):
        return
    ours = re.compile(r"\." + re.escape(base) + r"\.[a-z0-9_]{8}\.tmp")
    for entry in filter(ours.fullmatch, names):
        tmp = os.path.join(folder, entry)
        try:
            fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue  # gone already, or not ours to read
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.path.samestat(os.fstat(fd), os.stat(tmp, follow_symlinks=False)):
                os.unlink(tmp)
        except OSError:
            pass  # locked: a live saver's
        finally:
            os.close(fd)


def _locked_temporary(folder: str, base: str) -> tuple[int, str]:
    """A new temporary beside the target, flock-ed (see _remove_stale_temporaries). A cleaner may
    remove it between creation and lock; then its name no longer leads to our file: make another."""
    import tempfile
    while True:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=".tmp")
        try:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:
            return fd, tmp
        try:
            if os.path.samestat(os.fstat(fd), os.stat(tmp, follow_symlinks=False)):
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)


def _write_and_sync(fd: int, write: Callable[[IO[bytes]], None]) -> None:
    with os.fdopen(fd, "wb", closefd=False) as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _atomic_write(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` as open(path, "wb") would let us, but never leave it half-written: write a
    temporary in the same folder, fsync, rename over. The replaced file keeps its mode and owner.

    Refused with open()'s error (PermissionError naming the path) wherever open(path, "wb") is.
    Where only the file is writable (a read-only folder) or its owner cannot be kept, it is
    written in place, as torch.save does: not atomic then."""
    path = os.path.realpath(path)  # write through a symlink, as open() (and torch.save) would
    folder, base = os.path.split(path)
    try:
        old = os.stat(path)
    except FileNotFoundError:
        old = None
    if old is not None:
        os.close(os.open(path, os.O_WRONLY))  # open()'s check and error, without truncating
    _remove_stale_temporaries(folder, base)
    try:
        fd, tmp = _locked_temporary(folder, base)
    except PermissionError as e:  # a folder we may not write to
        if old is None:
            raise PermissionError(e.errno, e.strerror, path) from None  # what open(path, "wb") says
        return _write_in_place(path, write)
    except OSError as e:
        raise type(e)(e.errno, e.strerror, path) from None
    try:
        same_owner = old is None or _give_owner(fd, old)
        if same_owner:
            _write_and_sync(fd, write)
            os.fchmod(fd, old.st_mode & 0o7777 if old is not None else 0o666 & ~_umask())
            os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    finally:
        os.close(fd)  # after the rename: the lock is held until the temporary is gone
    if not same_owner:  # only root may give a file away: keep its owner by writing in place
        _unlink_quietly(tmp)
        return _write_in_place(path, write)
    try:  # make the rename durable too (POSIX; directories cannot be opened on Windows)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _give_owner(fd: int, old: os.stat_result) -> bool:
    """Give the temporary the owner of the file it replaces; False if we may not."""
    if (old.st_uid, old.st_gid) == (os.getuid(), os.getgid()):
        return True
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
        return True
    except OSError:
        return False


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_in_place(path: str, write: Callable[[IO[bytes]], None]) -> None:
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def save(obj: Any, f: FileLike, format: str | None = None) -> None:
    """Like torch.save: write `obj` to `f`, a path or a binary file object.

    `format=None` (the default): nested dicts/lists/tuples of tensors and plain values are written as
    safetensors; an object holding instances of Python classes (a whole Module...) is pickled into our
    own file. `format="torch"`: PyTorch's zip format, which `torch.load` reads (see _torch_pickle.py).
    `format="safetensors"`: safetensors or a TypeError. A pickling error is a TypeError, nothing written.

    A path is written atomically (a temporary beside it, renamed over it; temporaries left by
    savers that were killed are removed by the next save of that path), keeping an existing
    file's mode and owner. Where torch.save's open() would fail, so does this, with its error."""
    from .tensor import Tensor
    if format not in (None, "safetensors", "torch"):
        raise ValueError(f"format must be None, 'safetensors' or 'torch', not {format!r}")
    if format == "torch":
        from . import _torch_pickle, _torch_zip
        data_pkl, storages = _torch_pickle.dumps(obj)  # everything pickled first: a failure writes nothing
        write = lambda fh: _torch_zip.write_archive(fh, data_pkl, storages)
    elif format is None and _pickling.holds_python_objects(obj):
        if hasattr(f, "write"):
            f.write(_pickling.dumps(obj))  # pickled whole first: a failure writes nothing
            return
        write = lambda fh: _pickling.dump(obj, fh)
    else:
        arrays, metadata = _collect(obj, lambda x: isinstance(x, Tensor), lambda t: t.detach().numpy())
        write = lambda fh: _write_safetensors(fh, arrays, metadata)
    if hasattr(f, "write"):
        write(f)
    else:
        _atomic_write(os.fspath(f), write)


def _bytes_left(f: IO[bytes]) -> int | None:
    """The bytes from f's position to its end: None for a stream, a device or a pipe."""
    import stat
    try:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None  # /dev/zero seeks to "its end" at 0
    except (AttributeError, OSError, ValueError):
        pass  # not backed by a file descriptor: io.BytesIO and such
    try:
        if not f.seekable():
            return None
        here = f.tell()
        size = f.seek(0, os.SEEK_END) - here
        f.seek(here)
        return size
    except (AttributeError, OSError, ValueError):
        return None


def load(f: FileLike, map_location: Any = None, weights_only: bool | None = True, **kwargs) -> Any:
    """Like torch.load: files written by `save`, by PyTorch's torch.save (its zip format, and the
    format before PyTorch 1.6), and safetensors files (without our metadata: a flat {name: tensor} dict).

    `weights_only` follows PyTorch 2.6+: True (default; None means True) unpickles only tensors, plain
    containers, dtypes, Size, device and the classes given to `add_safe_globals`, and refuses any
    other class with pickle.UnpicklingError; False unpickles anything -- only for files you trust.
    A safetensors file never runs code. `map_location` (None, "cpu", a device, a dict or a callable,
    as PyTorch's): every tensor loads on the CPU whatever it says, as we are CPU only; a callable is
    called with each storage of a PyTorch file and its location tag, as PyTorch calls it. Other
    keywords of torch.load (`mmap`, `pickle_module`...) are accepted and ignored.
    Each tensor is read straight into its array (peak memory: the tensors once). Bad files, and paths
    that are not regular files (a device, a folder), raise RuntimeError naming the file and what is
    wrong; a missing one raises FileNotFoundError."""
    import stat
    from ._torch_pickle import check_map_location
    check_map_location(map_location)
    weights_only = True if weights_only is None else weights_only
    if hasattr(f, "read"):
        name = str(getattr(f, "name", type(f).__name__))
        size = _bytes_left(f)
        return _read_either(f, size, name, weights_only, whole=False, map_location=map_location)
    name = os.fspath(f)
    # O_NONBLOCK: opening a FIFO must not wait for a writer (no effect on regular files)
    with open(os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb", buffering=0) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise RuntimeError(f"{name}: not a tinygrad_edu checkpoint: not a regular file "
                               f"(a device, FIFO, socket or folder)")
        return _read_either(fh, st.st_size, str(name), weights_only, whole=True, map_location=map_location)


_ZIP, _LEGACY = b"PK\x03\x04", b"\x80\x02\x8a\x0a"  # a zip's first record; pickle(PyTorch's magic number)


def _read_either(fh: IO[bytes], size: int | None, name: str, weights_only: bool, whole: bool,
                 map_location: Any = None) -> Any:
    """A pickled file (our magic first), PyTorch's zip or legacy file, or a safetensors one."""
    from .tensor import from_numpy
    head = _read_exactly(fh, 8)
    if head is None:  # fewer than 8 bytes: the safetensors reader says what is wrong
        return _read_safetensors(fh, size, name, from_numpy, whole, length=b"")
    if bytes(head) == _pickling.MAGIC:
        return _pickling.load(fh, name, weights_only, whole)
    if bytes(head[:4]) in (_ZIP, _LEGACY):
        from . import _torch_pickle
        import io
        if size is None:  # a stream: PyTorch's formats are read with seeks
            fh = io.BytesIO(bytes(head) + fh.read())
        else:
            fh.seek(fh.tell() - 8)
        if bytes(head[:4]) == _ZIP:
            return _torch_pickle.load_zip(fh, name, map_location, weights_only)
        return _torch_pickle.load_legacy(io.BufferedReader(fh) if isinstance(fh, io.RawIOBase) else fh, name,
                                         map_location, weights_only)
    return _read_safetensors(fh, size, name, from_numpy, whole, length=head)

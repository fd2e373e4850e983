"""`save` / `load`: torch.save / torch.load for state dicts and checkpoints, without pickle.

PyTorch pickles arbitrary objects into a zip archive, so `torch.load` of an untrusted
file can run code (hence its `weights_only`). We write a plain safetensors file instead,
so loading can never execute anything:

* every tensor is stored once under a flat dotted name derived from its path, e.g.
  "layer1.weight" for a state dict or "model.layer1.weight" / "optim.state.0.exp_avg"
  for a checkpoint (clashes get a "#1", "#2"... suffix). `safetensors.torch.load_file`
  therefore reads a saved state dict with the usual key names.
* the structure around the tensors is JSON in the header's `__metadata__["tinygrad_edu"]`
  as {"version": 1, "obj": node}. A node is a JSON null/bool/int/float/str, a list, or a
  one-key tag object: {"tensor": name}, {"tuple": [nodes]}, {"dict": [[key, node], ...]}
  (keys are str or int) or {"float": "inf" | "-inf" | "nan"}.

Differences from PyTorch: only tensors, dicts, lists, tuples, str, int, float, bool and
None can be saved (anything else raises TypeError). The same tensor object saved twice
is stored once and loads as one object, but distinct tensors that merely share memory
(views) are saved as independent copies. Parameters load as plain tensors and
requires_grad is not kept (like the values of a state dict).
"""
from __future__ import annotations

import math
import os
from typing import IO, Any, Callable, Union

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


def _serialize(obj: Any, is_tensor: Callable[[Any], bool], to_numpy: Callable[[Any], Any]) -> bytes:
    import json
    from safetensors.numpy import save as st_save
    arrays: dict = {}
    tree = _encode(obj, (), arrays, {}, set(), is_tensor, to_numpy)
    doc = json.dumps({"version": _VERSION, "obj": tree}, allow_nan=False, separators=(",", ":"))
    return st_save(arrays, metadata={"format": "pt", _KEY: doc})


def _deserialize(data: bytes, name: str, from_numpy: Callable[[Any], Any]) -> Any:
    import json
    from safetensors.numpy import load as st_load

    def bad(why: str) -> RuntimeError:
        return RuntimeError(f"{name}: not a tinygrad_edu checkpoint: {why}")
    if len(data) < 8:
        raise bad(f"header is truncated (file has only {len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if 8 + n > len(data):
        raise bad(f"header is truncated (length field says {n} bytes, only {len(data) - 8} follow)")
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, RecursionError) as e:
        raise bad(f"header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    for key, info in header.items():  # dtypes numpy or our Tensor lack (bf16, uint16, float8...)
        dt = info.get("dtype") if isinstance(info, dict) and key != "__metadata__" else None
        if dt is not None and dt not in _DTYPES:
            raise RuntimeError(f"{name}: tensor {key!r} has dtype {dt}, which tinygrad_edu does not support "
                               f"(supported: {', '.join(_DTYPES)})")
    try:
        arrays = st_load(data)
    except Exception as e:  # SafetensorError: truncated data, bad offsets, unknown dtype...
        raise bad(f"tensor data is truncated or invalid ({e})") from e
    tensors = {k: from_numpy(v) for k, v in arrays.items()}
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


def _atomic_write(path: str, data: bytes) -> None:
    """Write via a temp file in the same folder + fsync + os.replace: never a half-written file."""
    import tempfile
    path = os.path.realpath(path)  # write through a symlink, as open() (and torch.save) would
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; use the permissions open() would give
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable too (POSIX; directories cannot be opened on Windows)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj: Any, f: FileLike) -> None:
    """Like torch.save: write `obj` (nested dicts/lists/tuples of tensors and plain values) to
    `f`, a path (written atomically) or a binary file object. The file is safetensors, not pickle."""
    from .tensor import Tensor
    data = _serialize(obj, lambda x: isinstance(x, Tensor), lambda t: t.detach().numpy())
    if hasattr(f, "write"):
        f.write(data)
    else:
        _atomic_write(os.fspath(f), data)


def load(f: FileLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Like torch.load for files written by `save`; a safetensors file without our metadata (e.g.
    from `safetensors.torch.save_file`) loads as a flat {name: tensor} dict.

    `map_location` is accepted and ignored: we are CPU only, so every tensor loads on the CPU
    whatever it says (None, "cpu", a device, a dict or a callable). `weights_only` is accepted
    for compatibility; we never unpickle, so loading is always as safe as weights_only=True.
    Bad files raise RuntimeError naming the file; a missing one raises FileNotFoundError."""
    from .tensor import tensor
    if hasattr(f, "read"):
        data, name = f.read(), str(getattr(f, "name", type(f).__name__))
    else:
        name = os.fspath(f)
        with open(name, "rb") as fh:
            data = fh.read()
    return _deserialize(data, str(name), tensor)

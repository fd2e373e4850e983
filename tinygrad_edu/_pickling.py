"""Whole-object save/load: `torch.save(model, f)` and `torch.load(f, weights_only=...)` through pickle.

`serialization.save` writes state dicts and checkpoints (tensors in dicts/lists/tuples of plain values)
as safetensors, which loading can never turn into code. An object that holds instances of Python
classes (a whole nn.Module, an optimizer, your own class) cannot be written that way: it is pickled,
as PyTorch pickles everything. The file is our 8-byte magic `TGEDUPKL` then one pickle stream
(protocol 5). PyTorch writes a zip of pickles instead: `load` reads that too, and
`save(..., format="torch")` writes it (_torch_pickle.py, which shares the unpickler below).

Loading follows PyTorch 2.6+: `weights_only=True` (the default) unpickles only tensors, dicts,
lists, tuples, sets, OrderedDict, str/bytes/numbers/bool/None, dtypes and Size, plus the classes
given to `add_safe_globals`; any other class is refused before it is touched (no import, no code)
with PyTorch's UnpicklingError text. As PyTorch's own weights-only unpickler, it then checks each
opcode (`RestrictedUnpickler`): only allowed globals are called, and only lists, dicts, sets,
OrderedDicts and allowlisted classes are filled, so a crafted file cannot rewrite a dtype or a
tensor's slots either. `weights_only=False` unpickles anything: only for files you trust, since
unpickling can run any code.

A tensor pickles as its data, dtype, shape and requires_grad (as torch): the graph and `.grad` are
not kept, so a non-leaf loads as a leaf that still requires grad; a Parameter stays a Parameter.
"""
from __future__ import annotations

import _compat_pickle
import collections
import contextlib
import io
import pickle
import struct
from typing import IO, Any

import numpy as np

MAGIC = b"TGEDUPKL"  # as a safetensors header length this is > 2**62: never a valid safetensors file
PROTOCOL = 5
_DTYPE_NAMES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")

# ---------------------------------------------------------------- tensors: reduce and rebuild


def reduce_tensor(t, protocol: int):
    """Tensor.__reduce_ex__: (rebuild, args). The bytes go out without a copy for protocol 5."""
    from .nn.parameter import Parameter
    from .tensor import Tensor
    a = t._data if t._data.flags.c_contiguous else t._data.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    data = pickle.PickleBuffer(a) if protocol >= 5 else a.tobytes()
    args = (data, a.dtype.name, tuple(int(s) for s in a.shape), bool(t._requires_grad))
    if type(t) is Tensor:
        return _rebuild_tensor, args
    if type(t) is Parameter:
        return _rebuild_parameter, args
    return _rebuild_tensor_subclass, (type(t),) + args  # weights_only refuses the class itself


def _array(data, dtype: str, shape: tuple) -> np.ndarray:
    """The array behind a pickled tensor, every argument checked (the bytes may come from any file)."""
    if dtype not in _DTYPE_NAMES:
        raise pickle.UnpicklingError(f"a pickled tensor has dtype {dtype!r}, not one of {', '.join(_DTYPE_NAMES)}")
    if not (isinstance(shape, tuple) and all(type(s) is int and s >= 0 for s in shape)):
        raise pickle.UnpicklingError(f"a pickled tensor has shape {shape!r}, not a tuple of sizes")
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError(f"a pickled tensor holds {type(data).__name__}, not bytes")
    dt = np.dtype(dtype).newbyteorder("<")
    count = 1
    for s in shape:
        count *= s
    if len(data) != count * dt.itemsize:
        raise pickle.UnpicklingError(f"a pickled tensor of shape {list(shape)} and dtype {dtype} needs "
                                     f"{count * dt.itemsize} bytes, it holds {len(data)}")
    a = np.frombuffer(data, dt).reshape(shape)  # a bytearray (protocol 5): writable, no copy
    a = a if a.flags.writeable else a.copy()
    return a.astype(dt.newbyteorder("="), copy=False)


def _rebuild_tensor(data, dtype: str, shape: tuple, requires_grad: bool):
    from .tensor import Tensor
    t = Tensor._make(_array(data, dtype, shape))
    t.requires_grad = bool(requires_grad)
    return t


def _rebuild_parameter(data, dtype: str, shape: tuple, requires_grad: bool):
    from .nn.parameter import Parameter
    from .tensor import Tensor
    return Parameter(Tensor._make(_array(data, dtype, shape)), bool(requires_grad))


def _rebuild_tensor_subclass(cls, data, dtype: str, shape: tuple, requires_grad: bool):
    from .tensor import Tensor
    t = object.__new__(cls)
    Tensor._init(t, _array(data, dtype, shape), False)
    t.requires_grad = bool(requires_grad)
    return t


def deepcopy_tensor(t, memo: dict):
    """Tensor.__deepcopy__, as torch: graph leaves only; data, requires_grad, .grad and attributes copied."""
    import copy
    if not t.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                           "protocol at the moment.")
    from .tensor import Tensor
    new = object.__new__(type(t))
    Tensor._init(new, t._data.copy(), t._requires_grad)
    memo[id(t)] = new
    if t._grad is not None:
        new._grad = copy.deepcopy(t._grad, memo)
    if getattr(t, "__dict__", None):
        new.__dict__.update(copy.deepcopy(t.__dict__, memo))
    return new

# ---------------------------------------------------------------- which objects need pickle


def holds_python_objects(obj: Any, _active: set | None = None) -> bool:
    """True if obj, inside dicts/lists/tuples, holds an instance of a class from Python code (an
    nn.Module, an optimizer, a class of yours): those are pickled. Tensors, plain values and the
    built-in/NumPy types safetensors cannot store (sets, arrays, functions) are not such objects."""
    from .tensor import Tensor
    if obj is None or isinstance(obj, (bool, int, float, str, Tensor)):
        return False
    if isinstance(obj, (dict, list, tuple)):
        active = _active if _active is not None else set()
        if id(obj) in active:
            return False  # a cycle: _encode names it
        active.add(id(obj))
        items = list(obj.keys()) + list(obj.values()) if isinstance(obj, dict) else obj
        found = any(holds_python_objects(x, active) for x in items)
        active.discard(id(obj))
        return found
    return type(obj).__module__.partition(".")[0] not in ("builtins", "numpy")

# ---------------------------------------------------------------- writing and reading


def dump(obj: Any, fh: IO[bytes]) -> None:
    fh.write(MAGIC)
    try:
        pickle.Pickler(fh, protocol=PROTOCOL).dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(f"cannot save {type(obj).__name__}: part of it cannot be pickled ({e}). A whole "
                        "Module is pickled with all its attributes: remove lambdas, open files, locks and "
                        "hooks, or save its state_dict() instead") from e


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    dump(obj, buf)
    return buf.getvalue()

# ---------------------------------------------------------------- weights_only


_SAFE_BUILTINS = {"builtins": {"set", "frozenset", "complex", "slice", "range", "bytearray"},
                  "collections": {"OrderedDict"},
                  "tinygrad_edu._pickling": {"_rebuild_tensor", "_rebuild_parameter"},
                  "tinygrad_edu.tensor": {"Size"}}
_user_safe: dict[tuple[str, str], Any] = {}


def _global_name(obj) -> tuple[str, str]:
    return getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))


def add_safe_globals(safe_globals: list) -> None:
    """torch.serialization.add_safe_globals: classes/functions weights_only=True may unpickle."""
    for g in safe_globals:
        _user_safe[_global_name(g)] = g


def get_safe_globals() -> list:
    return list(_user_safe.values())


def clear_safe_globals() -> None:
    _user_safe.clear()


@contextlib.contextmanager
def safe_globals(safe_globals: list):
    """torch.serialization.safe_globals: add_safe_globals for the duration of a `with` block."""
    saved = dict(_user_safe)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe.clear()
        _user_safe.update(saved)


class UnpicklingError(pickle.UnpicklingError):
    """A class or function weights_only=True does not allow: pickle.UnpicklingError, as PyTorch raises
    (a subclass, told apart from corrupt data here)."""


def _refusal(module: str, name: str) -> UnpicklingError:
    full = f"{module}.{name}"
    return UnpicklingError(
        "Weights only load failed. This file can still be loaded, to do so you have two options, do those "
        "steps only if you trust the source of the checkpoint.\n"
        "\t(1) As in PyTorch 2.6+, the default value of the `weights_only` argument in `torch.load` is True. "
        "Re-running `torch.load` with `weights_only` set to `False` will likely succeed, but it can result in "
        "arbitrary code execution. Do it only if you got the file from a trusted source.\n"
        "\t(2) Alternatively, to load with `weights_only=True` please check the recommended steps in the "
        "following error message.\n"
        f"\tWeightsUnpickler error: Unsupported global: GLOBAL {full} was not an allowed global by default. "
        f"Please use `torch.serialization.add_safe_globals([{full}])` or the "
        f"`torch.serialization.safe_globals([{full}])` context manager to allowlist this global if you trust "
        "this class/function.")


def python3_name(module: str, name: str, protocol: int) -> tuple[str, str]:
    """Pickles of protocol < 3 (PyTorch writes 2) name Python 2's modules (__builtin__.set): Python 3's names."""
    if protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return module, name


def _not_allowed(why: str) -> UnpicklingError:
    return UnpicklingError(
        "Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will likely "
        "succeed, but it can result in arbitrary code execution. Do it only if you got the file from a trusted "
        f"source.\n\tWeightsUnpickler error: {why}")


class RestrictedUnpickler(pickle._Unpickler):
    """weights_only=True, as PyTorch's _weights_only_unpickler: a global is looked up by name, in
    `allowed_global` then in the user's safe globals, before anything is imported; REDUCE and NEWOBJ
    call only what came from there; BUILD fills only OrderedDicts and the user's safe classes (never
    a tensor's or a dtype's slots). pickle's pure-Python Unpickler, so that each opcode can be checked."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file):
        super().__init__(file, encoding="utf-8")
        self._allowed: set[int] = set()  # ids of the globals handed out (module-level objects: never freed)

    def allowed_global(self, module: str, name: str) -> Any:
        """The object for an allowed name, else None."""
        return None

    def find_class(self, module: str, name: str):
        module, name = python3_name(module, name, self.proto)
        found = _user_safe.get((module, name))
        found = self.allowed_global(module, name) if found is None else found
        if found is None:
            raise _refusal(module, name)
        self._allowed.add(id(found))
        return found

    def _check_call(self, func) -> None:
        if id(func) not in self._allowed:
            raise _not_allowed(f"Trying to call reduce for unrecognized function {func!r}")

    def load_reduce(self):
        self._check_call(self.stack[-2])
        pickle._Unpickler.load_reduce(self)

    def load_newobj(self):
        self._check_call(self.stack[-2])
        pickle._Unpickler.load_newobj(self)

    def load_newobj_ex(self):
        self._check_call(self.stack[-3])
        pickle._Unpickler.load_newobj_ex(self)

    def load_build(self):
        kind = type(self.stack[-2])
        if kind is not collections.OrderedDict and not any(kind is c for c in _user_safe.values()):
            raise _not_allowed(f"Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                               f"`add_safe_globals`, but got {kind}")
        pickle._Unpickler.load_build(self)

    def _check_target(self, op: str, kinds: tuple, index: int | None) -> None:
        """APPEND(S) fill only lists, SETITEM(S) only dicts, ADDITEMS only sets, as torch's unpickler.
        index: of the target on the stack; None: the target is below the last MARK."""
        target = self.stack[index] if index is not None else self.metastack[-1][-1]
        if type(target) not in kinds and not any(type(target) is c for c in _user_safe.values()):
            raise _not_allowed(f"Can only {op} for {', '.join(k.__name__ for k in kinds)}, but got {type(target)}")

    def load_append(self):
        self._check_target("APPEND", (list,), -2)
        pickle._Unpickler.load_append(self)

    def load_appends(self):
        self._check_target("APPENDS", (list,), None)
        pickle._Unpickler.load_appends(self)

    def load_setitem(self):
        self._check_target("SETITEM", (dict, collections.OrderedDict, collections.Counter), -3)
        pickle._Unpickler.load_setitem(self)

    def load_setitems(self):
        self._check_target("SETITEMS", (dict, collections.OrderedDict, collections.Counter), None)
        pickle._Unpickler.load_setitems(self)

    def load_additems(self):
        self._check_target("ADDITEMS", (set,), None)
        pickle._Unpickler.load_additems(self)

    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


class _WeightsOnlyUnpickler(RestrictedUnpickler):
    """Our own pickles: tensors' rebuilders, plain containers, dtypes and Size."""

    def allowed_global(self, module: str, name: str) -> Any:
        if name in _SAFE_BUILTINS.get(module, ()):
            return pickle._Unpickler.find_class(self, module, name)
        if module in ("tinygrad_edu", "tinygrad_edu.dtypes") and name in _DTYPE_NAMES + ("bool_",):
            from . import dtypes
            found = getattr(dtypes, name if name != "bool" else "bool_", None)
            if isinstance(found, dtypes.dtype):
                return found
        return None


def run_unpickler(unpickler, name: str, kind: str, weights_only: bool) -> Any:
    """unpickler.load(); corrupt data raises RuntimeError, a refused class UnpicklingError, naming the file."""
    expected = (EOFError, pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                OverflowError, MemoryError, RecursionError, struct.error) if weights_only else \
               (EOFError, pickle.UnpicklingError)
    try:
        return unpickler.load()
    except UnpicklingError as e:
        raise UnpicklingError(f"{name}: {e}") from None
    except expected as e:
        raise RuntimeError(f"{name}: corrupt {kind}: the pickled data is truncated or invalid "
                           f"({type(e).__name__}: {e})") from None


def load(fh: IO[bytes], name: str, weights_only: bool, whole: bool) -> Any:
    """Unpickle what follows MAGIC in fh. Corrupt data raises RuntimeError naming the file; a class that
    weights_only refuses raises UnpicklingError. `whole`: nothing may follow the pickle."""
    if isinstance(fh, io.RawIOBase):
        fh = io.BufferedReader(fh)  # raw reads may return less than asked: pickle needs whole reads
    unpickler = _WeightsOnlyUnpickler(fh) if weights_only else pickle.Unpickler(fh)
    obj = run_unpickler(unpickler, name, "tinygrad_edu checkpoint", weights_only)
    if whole and fh.read(1):
        raise RuntimeError(f"{name}: corrupt tinygrad_edu checkpoint: extra bytes follow the pickled data")
    return obj

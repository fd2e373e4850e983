"""The Tensor: a NumPy array plus PyTorch's autograd state (`grad`, `grad_fn`, `requires_grad`).

This file holds the state (`_data`, `grad`, `grad_fn`, `is_leaf`, the version counter), the
properties and conversions. The methods that compute are grouped by topic in `_tensor_math.py`,
`_tensor_reduce.py`, `_tensor_shape.py` and `_tensor_inplace.py`, and added to the class at the
bottom of this file; each checks its arguments, promotes dtypes and calls one op of `ops/`.
Views (view, transpose, basic indexing, ...) share memory and a version counter with their
base, as PyTorch's do.
"""
from __future__ import annotations

import builtins
import warnings
import weakref

import numpy as np

from . import dtypes
from ._device import _TYPES as _DEVICE_TYPES, CPU, check_device, device
from ._device import device as _device_class
from ._tensor_str import tensor_repr
from .dtypes import canonical_dim, to_dtype


class Size(tuple):
    """A tensor's shape, printed as PyTorch's torch.Size."""

    def __repr__(self) -> str:
        return f"tinygrad_edu.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


_CPU = CPU


def _dims(dim, ndim: int) -> tuple | None:
    """dim=None|int|sequence -> sorted tuple of non-negative dims (None means all)."""
    if dim is None:
        return None
    if isinstance(dim, (builtins.int, np.integer)):
        dim = (dim,)
    dims = tuple(sorted(canonical_dim(d, ndim) for d in dim))
    if ndim == 0:
        return ()  # a 0-d tensor accepts dim 0 or -1 and reduces nothing
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return dims


def _shape_arg(shape) -> tuple:
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(Size)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(builtins.int(s) for s in shape)


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    `Tensor(data)` is PyTorch's legacy constructor: float32 from a sequence, or `Tensor(2, 3)`
    for a (2, 3) tensor (zero-filled here, uninitialised in PyTorch). Prefer `tensor(...)`.
    """

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_version", "_base",
                 "_grad_acc", "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy defers `array + tensor` to Tensor.__radd__

    def __init__(self, *args, dtype=None, device=None, requires_grad: bool = False):
        if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
            data = np.array(args[0]._data if isinstance(args[0], Tensor) else args[0], dtype=np.float32)
        else:
            data = np.zeros(_shape_arg(args), np.float32)
        if device is not None:
            check_device(device)
        if dtype is not None:
            data = data.astype(to_dtype(dtype).np)
        Tensor._init(self, data, False)
        self.requires_grad = requires_grad

    def _init(self, data: np.ndarray, requires_grad: bool) -> None:
        self._data = data
        self._requires_grad = requires_grad
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = [0]  # shared with views: bumped by every in-place change
        self._base = None
        self._grad_acc = None

    @staticmethod
    def _make(data, requires_grad: bool = False) -> Tensor:
        """Wrap an array without copying (internal fast path)."""
        t = object.__new__(Tensor)
        Tensor._init(t, data if type(data) is np.ndarray else np.asarray(data), requires_grad)
        return t

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and self._data.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients (got {self.dtype})")
        self._requires_grad = builtins.bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (and all that do not require grad): they get `.grad`."""
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        if self.grad_fn is not None and not self.retains_grad:
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                          "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                          UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {value.shape} vs {self.shape}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value.dtype} vs {self.dtype}")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return node is not None and builtins.bool(node._retained) and self._output_nr in node._retained

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor too (leaves always get it)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            if self.grad_fn._retained is None:
                self.grad_fn._retained = {}
            self.grad_fn._retained[self._output_nr] = weakref.ref(self)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see autograd/engine.py)."""
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """Same data (and version counter), cut from the graph."""
        t = Tensor._make(self._data)
        t._version, t._base = self._version, self._base
        return t

    def detach_(self) -> Tensor:
        if self._base is not None and self.grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self._requires_grad = None, False
        return self

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside autograd; writes to it are not tracked."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value, self._data.dtype)

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self._data.shape[canonical_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        return _CPU

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def ndimension(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[canonical_dim(dim, self.ndim)]

    def is_contiguous(self) -> builtins.bool:
        return self._data.flags.c_contiguous

    def is_floating_point(self) -> builtins.bool:
        return self._data.dtype.kind == "f"

    def data_ptr(self) -> int:
        return self._data.ctypes.data

    @property
    def T(self) -> Tensor:
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The array itself (shared memory), as PyTorch's numpy()."""
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self) -> builtins.float:
        return builtins.float(self._scalar())

    def __int__(self) -> builtins.int:
        return builtins.int(self._scalar())

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self._scalar())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'no' if self._data.size == 0 else 'more than one'} "
                               "values is ambiguous")
        return builtins.bool(self._scalar())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __contains__(self, element) -> builtins.bool:
        return builtins.bool((self == element).any())

    def __reduce_ex__(self, protocol: builtins.int):
        """pickle (torch.save of whole objects, DataLoader workers): data, dtype, shape, requires_grad."""
        from ._pickling import reduce_tensor
        return reduce_tensor(self, protocol)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """As torch: leaves only; data, requires_grad, .grad and attributes copied."""
        from ._pickling import deepcopy_tensor
        return deepcopy_tensor(self, memo)

    def __repr__(self) -> str:
        return tensor_repr(self._data, self._data.dtype.name, requires_grad=self._requires_grad and self.is_leaf,
                           grad_fn_name=self.grad_fn.name() if self.grad_fn is not None else None)

    __str__ = __repr__

    def type(self, dtype=None, non_blocking: builtins.bool = False):
        """With no argument, PyTorch's type string ('torch.FloatTensor'); else a converted tensor."""
        if dtype is None:
            return _LEGACY_NAMES[self.dtype.name]
        return self.to(dtype)

    def to(self, *args, dtype=None, device=None, copy: builtins.bool = False, non_blocking: builtins.bool = False):
        """`.to(dtype)`, `.to("cpu")`, `.to(other_tensor)`: a new tensor only when something changes."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, _device_class) or isinstance(a, str) and a.split(":")[0] in _DEVICE_TYPES:
                check_device(a)  # raises for anything but the CPU, as a CPU-only PyTorch
            else:
                dtype = a
        if device is not None:
            check_device(device)
        np_dtype = None if dtype is None else to_dtype(dtype).np
        if np_dtype is None or np_dtype == self._data.dtype:
            return self.clone() if copy else self
        out = ops._elementwise_fastpath.to_without_graph(self, np_dtype)  # PERF: no graph, no op
        return out if out is not None else ops.ToCopy.apply(self, np_dtype)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device=None, non_blocking: builtins.bool = False) -> Tensor:
        """Raises as a CPU-only PyTorch: `AssertionError: Torch not compiled with CUDA enabled`."""
        check_device("cuda")

    is_cuda = property(lambda self: False, doc="False: tensors live on the CPU (as in a CPU-only PyTorch).")
    is_mps = property(lambda self: False, doc="False: tensors live on the CPU.")
    is_cpu = property(lambda self: True, doc="True: tensors live on the CPU.")

    def get_device(self) -> builtins.int:
        """-1, PyTorch's answer for a CPU tensor."""
        return -1

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def short(self) -> Tensor:
        return self.to(dtypes.int16)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    def new_zeros(self, *size) -> Tensor:
        return Tensor._make(np.zeros(_shape_arg(size), self._data.dtype))

    def new_ones(self, *size) -> Tensor:
        return Tensor._make(np.ones(_shape_arg(size), self._data.dtype))

    def new_tensor(self, data) -> Tensor:
        return Tensor._make(np.array(data, self._data.dtype))

    # ------------------------------------------------------------ hooks (autograd/hooks.py)
    def register_hook(self, hook):
        """`hook(grad)` runs when this tensor's gradient is computed; a Tensor it returns replaces it."""
        return hooks.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """`hook(self)` runs during backward() right after `.grad` was updated (leaves only)."""
        return hooks.register_post_accumulate_grad_hook(self, hook)

    # ------------------------------------------------------------ the methods that compute
    # +, -, relu, matmul, ... (_tensor_math.py), sum, max, softmax, ... (_tensor_reduce.py),
    # view, reshape, x[key], ... (_tensor_shape.py), add_, x[key] = v, ... (_tensor_inplace.py):
    # added to this class at the bottom of this file.


_LEGACY_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
                 "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
                 "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor"}


# ------------------------------------------------------------ the one cycle, closed here
# Tensor's methods call the ops and the backward engine, and those make Tensors. As tinygrad
# (2020) does at the bottom of its tensor.py, the cycle is closed once, here, now that the class
# exists: every module imported below simply writes `from .tensor import Tensor` at its top.
from . import ops  # noqa: E402
from ._tensor_inplace import InplaceMethods  # noqa: E402
from ._tensor_math import MathMethods, einsum  # noqa: E402,F401  (einsum: also importable from here)
from ._tensor_reduce import ReduceMethods  # noqa: E402
from ._tensor_shape import ShapeMethods  # noqa: E402
from .autograd import engine, hooks  # noqa: E402
from .creation import cat, from_numpy, stack, tensor, where  # noqa: E402,F401  (also importable from here)

_NOT_METHODS = ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__")


def _add_methods(*topics: type) -> None:
    """Give Tensor each topic's methods, as if they were written in its body above."""
    for topic in topics:
        for name, value in vars(topic).items():
            if name in _NOT_METHODS or (name == "__hash__" and value is None):
                continue
            for fn in (value.fget, value.fset) if isinstance(value, property) else (value,):
                if hasattr(fn, "__qualname__"):  # error messages name Tensor.add, not MathMethods.add
                    fn.__qualname__ = f"Tensor.{fn.__name__}"
            setattr(Tensor, name, value)


_add_methods(MathMethods, ReduceMethods, ShapeMethods, InplaceMethods)

"""The Tensor: a NumPy array plus PyTorch's autograd state (`grad`, `grad_fn`, `requires_grad`).

Every method that computes goes through one op of `ops.py`; this file only checks arguments,
promotes dtypes and picks the op. Views (view, transpose, basic indexing, ...) share memory
and a version counter with their base, as PyTorch's do.
"""
from __future__ import annotations

import builtins
import warnings
from collections import namedtuple

import numpy as np

from . import dtypes, ops
from .autograd import function as _function, grad_mode
from ._device import _TYPES as _DEVICE_TYPES, CPU, check_device, device
from ._device import device as _device_class
from .dtypes import canonical_dim, get_default_dtype, result_type, to_dtype

_max_result = namedtuple("max", ["values", "indices"])
_min_result = namedtuple("min", ["values", "indices"])


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


def _index_key(key):
    """Check an index and turn Tensors in it into arrays. Returns (key, is_advanced)."""
    parts = key if isinstance(key, tuple) else (key,)
    out, advanced = [], False
    for k in parts:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, range):  # x[range(n), y], as PyTorch: a sequence index
            k = np.arange(k.start, k.stop, k.step)
        if isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.size and k.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            k = k.astype(np.intp) if k.size == 0 else k
            advanced = True
        elif isinstance(k, (builtins.bool, np.bool_)):
            advanced = True
        elif isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
        elif not (k is None or k is Ellipsis or isinstance(k, (builtins.int, np.integer))):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Tensors "
                             f"are valid indices (got {type(k).__name__})")
        out.append(k)
    return (tuple(out) if isinstance(key, tuple) else out[0]), advanced


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
            import weakref
            if self.grad_fn._retained is None:
                self.grad_fn._retained = {}
            self.grad_fn._retained[self._output_nr] = weakref.ref(self)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see autograd/engine.py)."""
        from .autograd.engine import backward
        backward(self, gradient, retain_graph, create_graph, inputs)

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

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr
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
        if dtype is None or to_dtype(dtype).np == self._data.dtype:
            return self.clone() if copy else self
        return ops.ToCopy.apply(self, to_dtype(dtype).np)

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

    # ------------------------------------------------------------ arithmetic
    def _binary(self, other, op, reverse: builtins.bool = False, floating: builtins.bool = False, **kwargs):
        """Promote self and other to one dtype (PyTorch's rules), then apply op."""
        a, b = (other, self) if reverse else (self, other)
        if isinstance(other, Tensor) and other._data.dtype == self._data.dtype:
            dt = self._data.dtype
        elif isinstance(other, builtins.float) and self._data.dtype.kind == "f" or \
                isinstance(other, builtins.int) and self._data.dtype.kind in "fi":
            dt = self._data.dtype  # a Python number never widens a tensor of its own kind
        elif isinstance(other, (Tensor, builtins.int, builtins.float, np.number, np.bool_)):
            dt = result_type(a, b).np
        else:
            return NotImplemented
        if floating and dt.kind != "f":
            dt = get_default_dtype().np
        if isinstance(other, Tensor) and other._data.shape != self._data.shape:
            _check_broadcast(a.shape, b.shape)
        return op.apply(_operand(a, dt), _operand(b, dt), *kwargs.values())

    def __add__(self, other):
        return self._binary(other, ops.Add)

    def __radd__(self, other):
        return self._binary(other, ops.Add, reverse=True)

    def __sub__(self, other):
        _check_not_bool_sub(self, other)
        return self._binary(other, ops.Sub)

    def __rsub__(self, other):
        if isinstance(other, (builtins.int, builtins.float)):
            dt = result_type(self, other).np
            return ops.Rsub.apply(_operand(self, dt), other)
        return self._binary(other, ops.Sub, reverse=True)

    def __mul__(self, other):
        return self._binary(other, ops.Mul)

    def __rmul__(self, other):
        return self._binary(other, ops.Mul, reverse=True)

    def __truediv__(self, other):
        return self._binary(other, ops.Div, floating=True)

    def __rtruediv__(self, other):
        if isinstance(other, (builtins.int, builtins.float)):  # PyTorch: other * reciprocal(self)
            return self.reciprocal() * other
        return self._binary(other, ops.Div, reverse=True, floating=True)

    def __floordiv__(self, other):
        return _divide(self, other, np.floor_divide)

    def __mod__(self, other):
        return _divide(self, other, np.mod)

    def __pow__(self, exponent):
        if isinstance(exponent, (builtins.int, builtins.float)):
            x = self if self.is_floating_point() or isinstance(exponent, builtins.int) else self.float()
            return ops.Pow.apply(x, exponent)
        return self._binary(exponent, ops.PowTensor)

    def __rpow__(self, base):
        if isinstance(base, (builtins.int, builtins.float)):
            return ops.RPow.apply(_operand(self, result_type(self, base).np), base)
        return self._binary(base, ops.PowTensor, reverse=True)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return tensor(other).matmul(self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def add(self, other, alpha=1):
        return self._binary(other, ops.Add, alpha=alpha) if alpha != 1 else self + other

    def sub(self, other, alpha=1):
        return self._binary(other, ops.Sub, alpha=alpha) if alpha != 1 else self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def pow(self, exponent):
        return self ** exponent

    def neg(self):
        return -self

    # comparisons and logic: never differentiable
    def _compare(self, other, fn):
        if isinstance(other, Tensor):
            other = other._data
        elif not isinstance(other, (builtins.int, builtins.float, builtins.bool, np.number, np.bool_)):
            return NotImplemented
        with np.errstate(invalid="ignore"):
            return Tensor._make(fn(self._data, other))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def equal(self, other: Tensor) -> builtins.bool:
        return self.shape == other.shape and builtins.bool(np.array_equal(self._data, other._data))

    def __and__(self, other):
        return self._compare(other, np.logical_and if self._data.dtype == np.bool_ else np.bitwise_and)

    def __or__(self, other):
        return self._compare(other, np.logical_or if self._data.dtype == np.bool_ else np.bitwise_or)

    def __xor__(self, other):
        return self._compare(other, np.logical_xor if self._data.dtype == np.bool_ else np.bitwise_xor)

    def __invert__(self):
        return Tensor._make(np.logical_not(self._data) if self._data.dtype == np.bool_ else ~self._data)

    def logical_not(self):
        return Tensor._make(np.logical_not(self._data))

    def isnan(self):
        return Tensor._make(np.isnan(self._data))

    def any(self, dim=None, keepdim=False):
        return Tensor._make(np.any(self._data, axis=_dims(dim, self.ndim), keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor._make(np.all(self._data, axis=_dims(dim, self.ndim), keepdims=keepdim))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> builtins.bool:
        return builtins.bool(np.allclose(self._data, _array(other), rtol, atol, equal_nan))

    def sign(self):
        return Tensor._make(np.sign(self._data))

    # ------------------------------------------------------------ elementwise math
    def _float_unary(self, op):
        return op.apply(self if self._data.dtype.kind == "f" else self.to(get_default_dtype()))

    def exp(self):
        return self._float_unary(ops.Exp)

    def log(self):
        return self._float_unary(ops.Log)

    def sqrt(self):
        return self._float_unary(ops.Sqrt)

    def sin(self):
        return self._float_unary(ops.Sin)

    def cos(self):
        return self._float_unary(ops.Cos)

    def sigmoid(self):
        return self._float_unary(ops.Sigmoid)

    def tanh(self):
        return self._float_unary(ops.Tanh)

    def reciprocal(self):
        return self._float_unary(ops.Reciprocal)

    def abs(self):
        return ops.Abs.apply(self)

    def relu(self):
        if self._data.dtype == np.bool_:
            raise RuntimeError('"clamp_min_cpu" not implemented for \'Bool\'')
        return ops.Relu.apply(self)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):  # elementwise bounds
            low = min if isinstance(min, Tensor) else full_like_self(self, -np.inf if min is None else min)
            high = max if isinstance(max, Tensor) else full_like_self(self, np.inf if max is None else max)
            return ops.ClampTensor.apply(self, low.to(self.dtype), high.to(self.dtype))
        return ops.Clamp.apply(self, min, max)

    clip = clamp

    def maximum(self, other):
        return self._binary(other, ops.Maximum)

    def minimum(self, other):
        return self._binary(other, ops.Minimum)

    def where(self, condition, other):
        """`self` where condition is true, else `other` (Tensor.where's argument order)."""
        cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
        if cond.dtype != np.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{dtypes.from_numpy_dtype(cond.dtype)}")
        return self._binary(other, ops.Where, condition=cond)

    def masked_fill(self, mask, value):
        mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{dtypes.from_numpy_dtype(mask.dtype)}")
        return ops.MaskedFill.apply(self, mask, value.item() if isinstance(value, Tensor) else value)

    # ------------------------------------------------------------ matrix products
    def matmul(self, other: Tensor) -> Tensor:
        """PyTorch's matmul: dot, matrix-vector, matrix-matrix or batched, by the inputs' dims."""
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
        if a._data.dtype != b._data.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
        if a.ndim == 2 and b.ndim == 2:
            return a.mm(b)
        if a.ndim == 1 and b.ndim == 1:
            return a.dot(b)
        if a.ndim == 2 and b.ndim == 1:
            return a.mv(b)
        if a.ndim == 1 and b.ndim == 2:
            return a.unsqueeze(0).mm(b).squeeze(0)
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else -1]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{list(a.shape)}] but got: [{list(b.shape)}].")
        if b.ndim == 1:
            return ops.Bmm.apply(a, b.unsqueeze(-1)).squeeze(-1)
        if a.ndim == 1:
            return ops.Bmm.apply(a.unsqueeze(0), b).squeeze(-2)
        return ops.Bmm.apply(a, b)

    def mm(self, other: Tensor) -> Tensor:
        _check_mm(self, other)
        return ops.Mm.apply(self, other)

    def mv(self, vec: Tensor) -> Tensor:
        if self.ndim != 2 or vec.ndim != 1 or self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0] if self.ndim else 0}), mat "
                               f"({'x'.join(map(str, self.shape))}), vec ({'x'.join(map(str, vec.shape))})")
        return ops.Mv.apply(self, vec)

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError("inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number "
                               "of elements, but got %d and %d elements respectively"
                               % (self.shape[0], other.shape[0], self.shape[0], other.shape[0]))
        return ops.Dot.apply(self, other)

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None, axis=None):
        dims = _dims(axis if dim is None else dim, self.ndim)
        if dtype is not None:
            return self.to(dtype).sum(dims, keepdim)
        if dims is None:
            return ops.Sum.apply(self, None, False, None)
        return ops.SumDim.apply(self, dims, keepdim, None)

    def sum_to_size(self, *size) -> Tensor:
        """Sum the dims that broadcasting expanded, so the result has `size` (for gradients)."""
        shape = _shape_arg(size)
        if self.shape == shape:
            return self
        lead = self.ndim - len(shape)
        dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1)
        return self.sum(dims, keepdim=True).reshape(shape) if dims else self.reshape(shape)

    def mean(self, dim=None, keepdim=False, dtype=None, axis=None):
        if dtype is not None:
            return self.to(dtype).mean(dim, keepdim, axis=axis)
        if self._data.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point "
                               f"or complex dtype. Got: {_LEGACY_NAMES[self.dtype.name][6:-6]}")
        dims = _dims(axis if dim is None else dim, self.ndim)
        if dims is None:
            return ops.Mean.apply(self, None, False)
        return ops.MeanDim.apply(self, dims, keepdim)

    def _var_args(self, dim, unbiased, keepdim, correction):
        if isinstance(dim, builtins.bool):  # var(True): the old positional `unbiased`
            dim, unbiased = None, dim
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"std and var only support floating point and complex dtypes (got {self.dtype})")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        dims = _dims(dim, self.ndim)
        return (tuple(range(self.ndim)) if dims is None else dims), keepdim, correction

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.Var.apply(self, *self._var_args(dim, unbiased, keepdim, correction))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return ops.Std.apply(self, *self._var_args(dim, unbiased, keepdim, correction))

    def _extreme(self, dim, keepdim, other, all_op, dim_op, result, name):
        if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
            other, dim = dim, None
        if other is not None:
            return self.maximum(other) if name == "max" else self.minimum(other)
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            return all_op.apply(self, None, False)
        x = self if self.ndim else self.reshape(1)  # a 0-d tensor is its own max along dim 0
        values, indices = dim_op.apply(x, canonical_dim(dim, self.ndim), keepdim and self.ndim > 0)
        return result(values, indices)

    def max(self, dim=None, keepdim=False, other=None):
        """max() -> the largest value; max(dim) -> (values, indices); max(other) -> elementwise."""
        return self._extreme(dim, keepdim, other, ops.MaxAll, ops.MaxDim, _max_result, "max")

    def min(self, dim=None, keepdim=False, other=None):
        return self._extreme(dim, keepdim, other, ops.MinAll, ops.MinDim, _min_result, "min")

    def amax(self, dim=(), keepdim=False):
        return ops.Amax.apply(self, _dims(dim, self.ndim) or None, keepdim)

    def amin(self, dim=(), keepdim=False):
        return ops.Amin.apply(self, _dims(dim, self.ndim) or None, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn, dim, keepdim):
        if (self._data.size == 0 if dim is None else self.ndim and self.shape[canonical_dim(dim, self.ndim)] == 0):
            raise IndexError(f"{fn.__name__}(): Expected reduction dim to be specified for input.numel() == 0.")
        if dim is None:
            out = np.asarray(fn(self._data))
            return Tensor._make(out.reshape((1,) * self.ndim) if keepdim else out.astype(np.int64))
        return Tensor._make(fn(self._data, axis=canonical_dim(dim, self.ndim), keepdims=keepdim).astype(np.int64))

    def logsumexp(self, dim, keepdim=False):
        return self._float_unary_dim(ops.LogSumExp, _dims(dim, self.ndim), keepdim)

    def _float_unary_dim(self, op, *args):
        x = self if self._data.dtype.kind == "f" else self.to(get_default_dtype())
        return op.apply(x, *args)

    def softmax(self, dim, dtype=None):
        return self._softmax(ops.Softmax, dim, dtype, "softmax")

    def log_softmax(self, dim, dtype=None):
        return self._softmax(ops.LogSoftmax, dim, dtype, "log_softmax")

    def _softmax(self, op, dim, dtype, name):
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise NotImplementedError(f'"{name}" not implemented for \'{_LEGACY_NAMES[x.dtype.name][6:-6]}\': '
                                      "pass a floating point tensor")
        return op.apply(x, canonical_dim(dim, x.ndim))

    # ------------------------------------------------------------ shapes and views
    def _resolve_shape(self, shape) -> tuple:
        shape = list(_shape_arg(shape))
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            if known == 0 or self._data.size % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {self._data.size}")
            shape[shape.index(-1)] = self._data.size // known
        if int(np.prod(shape)) != self._data.size or any(s < 0 for s in shape):
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {self._data.size}")
        return tuple(shape)

    def view(self, *shape) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (builtins.int, tuple, list, np.integer)):
            return self.to(shape[0])  # view(dtype)
        return ops.View.apply(self, self._resolve_shape(shape))

    def reshape(self, *shape) -> Tensor:
        """A view when the memory layout allows one, else a copy (as PyTorch)."""
        shape = self._resolve_shape(shape)
        if shape == self._data.shape:
            return ops.View.apply(self, shape)
        try:
            return ops.View.apply(self, shape)
        except RuntimeError:
            return ops.Reshape.apply(self, shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = canonical_dim(start_dim, self.ndim), canonical_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:]) if s != e else self

    def unflatten(self, dim: int, sizes) -> Tensor:
        d = canonical_dim(dim, self.ndim)
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.Unsqueeze.apply(self, canonical_dim(dim, self.ndim + 1))

    def squeeze(self, dim=None) -> Tensor:
        if dim is None:
            return ops.Squeeze.apply(self, None)
        op = ops.SqueezeDims if isinstance(dim, (tuple, list)) else ops.SqueezeDim
        return op.apply(self, _dims(dim, self.ndim))

    def permute(self, *dims) -> Tensor:
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(dims)}")
        return ops.Permute.apply(self, tuple(canonical_dim(d, self.ndim) for d in dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.Transpose.apply(self, canonical_dim(dim0, self.ndim), canonical_dim(dim1, self.ndim))

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return ops.T.apply(self)

    def expand(self, *sizes) -> Tensor:
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand(torch.FloatTensor{{{list(self.shape)}}}, size={list(sizes)}): the number of "
                               f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
                               f"in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        for i in range(self.ndim):
            if self.shape[i] != 1 and self.shape[i] != shape[lead + i]:
                raise RuntimeError(f"The expanded size of the tensor ({shape[lead + i]}) must match the existing size "
                                   f"({self.shape[i]}) at non-singleton dimension {lead + i}.  Target sizes: "
                                   f"{list(sizes)}.  Tensor sizes: {list(self.shape)}")
        if shape == self._data.shape:
            return self
        return ops.Expand.apply(self, shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else ops.Clone.apply(self)

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = canonical_dim(dim, self.ndim)
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        d = canonical_dim(dim, self.ndim)
        try:
            return ops.Select.apply(self, (slice(None),) * d + (index,))
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        d = canonical_dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (builtins.int, np.integer)):
            step = builtins.int(split_size_or_sections)
            if step <= 0:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
            sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if builtins.sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {d}), but got split_sizes={sizes}")
        op = ops.Split if isinstance(split_size_or_sections, (builtins.int, np.integer)) else ops.SplitWithSizes
        return op.apply(self, sizes, d)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: %d" % chunks)
        n = self.shape[canonical_dim(dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple:
        return ops.Unbind.apply(self, canonical_dim(dim, self.ndim))

    def __getitem__(self, key) -> Tensor:
        key, advanced = _index_key(key)
        try:
            if advanced:
                return ops.Index.apply(self, key)
            if key is None:
                return self.unsqueeze(0)
            op = ops.Select if isinstance(key, (builtins.int, np.integer)) else ops.BasicIndex
            return op.apply(self, key)
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None

    # ------------------------------------------------------------ in-place ops
    def _inplace(self, compute, *others) -> Tensor:
        """Write `compute(self, *others)` into self's memory, under PyTorch's rules:

        a leaf that requires grad refuses (its `.grad` would lose meaning); otherwise self takes the
        result's `grad_fn`, and its version counter goes up so that a backward that saved the old
        value raises instead of using the new one."""
        record = grad_mode._enabled and (self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in others))
        if not record:
            with grad_mode.no_grad():
                out = compute(self, *others)
            _copy_into(self, out)
            return self
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if self._base is not None:
            raise RuntimeError("in-place operation on a view that is part of the autograd graph: tinygrad_edu does "
                               "not rewrite the base's history as PyTorch does; apply the op out of place (x = x + y) "
                               "or to a .clone()")
        old = Tensor._make(self._data.copy(), self._requires_grad)  # the value the op's backward may need
        old.grad_fn, old._output_nr = self.grad_fn, self._output_nr
        out = compute(old, *others)
        _copy_into(self, out)
        if out.grad_fn is not None:
            self.grad_fn, self._output_nr, self._requires_grad = out.grad_fn, out._output_nr, True
            for s in out.grad_fn._saved or ():  # a saved result now lives in self's memory
                if getattr(s, "is_output", False):
                    s.tensor, s.version = self.detach(), self._version[0]
        return self

    def __setitem__(self, key, value) -> None:
        key, advanced = _index_key(key)
        if isinstance(value, Tensor):
            value = value if value._data.dtype == self._data.dtype else value.to(self.dtype)
        else:
            value = Tensor._make(np.asarray(value, dtype=self._data.dtype))
        target_ndim = np.empty(self._data.shape, np.bool_)[key].ndim
        while value.ndim > target_ndim and value.shape[0] == 1:  # as PyTorch, leading 1s of the value drop
            value = value.squeeze(0)
        try:
            if not (grad_mode._enabled and (self._requires_grad or value._requires_grad)):
                self._data[key] = value._data  # the common case: no graph to record
                self._version[0] += 1
                return
            op = ops.IndexPutAdvanced if advanced else ops.IndexPut
            self._inplace(lambda x, v: op.apply(x, v, key), value)
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None
        except ValueError as e:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                               f"indexing result: {e}") from None

    def add_(self, other, alpha=1):
        return self._inplace(lambda x, o: x.add(o, alpha=alpha), other)

    def sub_(self, other, alpha=1):
        return self._inplace(lambda x, o: x.sub(o, alpha=alpha), other)

    def mul_(self, other):
        return self._inplace(lambda x, o: x * o, other)

    def div_(self, other):
        return self._inplace(lambda x, o: x / o, other)

    def pow_(self, exponent):
        return self._inplace(lambda x, e: x ** e, exponent)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def neg_(self):
        return self._inplace(lambda x: -x)

    def relu_(self):
        return self._inplace(lambda x: x.relu())

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda x: x.clamp(min, max))

    def exp_(self):
        return self._inplace(lambda x: x.exp())

    def masked_fill_(self, mask, value):
        return self._inplace(lambda x: x.masked_fill(mask, value))

    def copy_(self, src):
        """Overwrite self with src's values, broadcast to self's shape and converted to its dtype
        (as PyTorch's, float to int truncates). Recorded as CopyBackwards; the old values are
        never computed with, so an inf or NaN in self does not survive."""
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'other' (position 1) must be Tensor, not {type(src).__name__}")
        if src._data.shape != self._data.shape:
            _check_broadcast(self.shape, src.shape)
            if np.broadcast_shapes(self._data.shape, src._data.shape) != self._data.shape:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(np.broadcast_shapes(self._data.shape, src._data.shape))}")
        if grad_mode._enabled and (self._requires_grad or src._requires_grad):
            return self._inplace(ops.Copy.apply, src)
        np.copyto(self._data, src._data, casting="unsafe")
        self._version[0] += 1
        return self

    def zero_(self):
        """Recorded as ZeroBackward0 (self gets a zero gradient)."""
        if grad_mode._enabled and self._requires_grad:
            return self._inplace(ops.Zero.apply)
        self._data[...] = 0
        self._version[0] += 1
        return self

    def fill_(self, value):
        """Recorded as FillBackward2 for a number, FillBackward3 for a 0-dim tensor (which gets the
        gradient's sum), as PyTorch's fill_.Scalar and fill_.Tensor."""
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.ndim} dimensions.")
            if grad_mode._enabled and (self._requires_grad or value._requires_grad):
                return self._inplace(ops.FillTensor.apply, value)
            value = value.item()
        elif grad_mode._enabled and self._requires_grad:
            return self._inplace(lambda x: ops.Fill.apply(x, value))
        self._data[...] = value
        self._version[0] += 1
        return self

    def _fill_random(self, sample) -> Tensor:
        """In-place random fill (normal_, uniform_, random_): outside autograd, as PyTorch's."""
        if grad_mode._enabled and self._requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._data[...] = sample(self._data.shape)
        self._version[0] += 1
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from .random import _generator
        return self._fill_random(lambda shape: _generator(generator).normal(mean, std, shape))

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from .random import _generator
        return self._fill_random(lambda shape: _generator(generator).uniform(a, b, shape))

    def random_(self, low=0, high=None, generator=None):
        """Integers uniform in [low, high) (PyTorch's random_(to) when only one bound is given)."""
        from .random import _generator
        low, high = (0, low) if high is None else (low, high)
        return self._fill_random(lambda shape: _generator(generator).integers(low, high, shape))

    def bernoulli_(self, p=0.5, generator=None):
        from .random import _generator
        return self._fill_random(lambda shape: _generator(generator).random(shape) < p)


_function.Tensor = Tensor  # autograd.function wraps arrays with it


def _copy_into(dst: Tensor, src: Tensor) -> None:
    if src._data.shape != dst._data.shape:
        try:
            np.broadcast_to(src._data, dst._data.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{list(src.shape)}") from None
    if not np.can_cast(src._data.dtype, dst._data.dtype, "same_kind"):
        raise RuntimeError(f"result type {src.dtype} can't be cast to the desired output type {dst.dtype}")
    np.copyto(dst._data, src._data, casting="same_kind")
    dst._version[0] += 1


def full_like_self(x: Tensor, value) -> Tensor:
    return Tensor._make(np.full((), value, x._data.dtype))


def _check_not_bool_sub(a, b) -> None:
    if all(isinstance(x, (builtins.bool, np.bool_)) or isinstance(x, Tensor) and x._data.dtype == np.bool_
           for x in (a, b)):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")


def _check_broadcast(a: tuple, b: tuple) -> None:
    """PyTorch's message for shapes that do not broadcast (aligned from the last dim)."""
    n = max(len(a), len(b))
    for i in range(n - 1, -1, -1):
        sa, sb = (s[i - n + len(s)] if i - n + len(s) >= 0 else 1 for s in (a, b))
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                               f"non-singleton dimension {i}")


def _check_mm(a: Tensor, b: Tensor) -> None:
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"{'self' if a.ndim != 2 else 'mat2'} must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")


def _array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _divide(x: Tensor, other, fn) -> Tensor:
    """`x // other` or `x % other` (not differentiable) in PyTorch's result dtype. An integer
    division by zero is refused as PyTorch does (NumPy would return 0 with a warning); floats
    give inf and nan."""
    if not isinstance(other, (Tensor, builtins.int, builtins.float, builtins.bool, np.number, np.bool_)):
        return NotImplemented
    dt = result_type(x, other).np
    d = np.asarray(_array(other), dt)
    if dt.kind in "iu" and not np.all(d):
        raise RuntimeError("ZeroDivisionError")
    return Tensor._make(fn(x._data.astype(dt, copy=False), d))


def _operand(x, dt: np.dtype) -> Tensor:
    """A Tensor of dtype dt: numbers become constants, other dtypes a (differentiable) cast."""
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt else ops.ToCopy.apply(x, dt)
    return Tensor._make(np.asarray(x, dt))


_LEGACY_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
                 "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
                 "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor"}


# ------------------------------------------------------------ making tensors

def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays or tensors).

    As PyTorch: Python floats give the default float32, ints int64, bools bool; a NumPy array
    keeps its dtype."""
    if device is not None:
        check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
        dtypes.from_numpy_dtype(arr.dtype)  # refuses dtypes we do not have
    else:  # with a dtype given, Python floats go to it directly (tensor(0.3, dtype=float64) is exact)
        arr = _from_python(data, keep_float64=dtype is not None)
    if dtype is not None:
        arr = arr.astype(to_dtype(dtype).np, copy=False)
    t = Tensor._make(arr)
    t.requires_grad = requires_grad
    return t


def _from_python(data, keep_float64: builtins.bool = False) -> np.ndarray:
    if isinstance(data, (list, tuple)) and data and builtins.any(isinstance(x, Tensor) for x in data):
        data = [x._data if isinstance(x, Tensor) else x for x in data]
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"could not build a tensor from ragged nested sequences: {e}") from None
    if arr.dtype.kind == "f":
        return arr.astype(get_default_dtype().np, copy=False) if arr.dtype == np.float64 and not keep_float64 else arr
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind == "O":
        raise ValueError("too many dimensions or ragged nested sequences: every row must have the same length")
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dt = result_type(*tensors).np
    ref = next((t for t in tensors if t.ndim > 1 or t.numel() > 0), tensors[0])
    d = canonical_dim(dim, ref.ndim)
    parts = []
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.numel() == 0 and ref.ndim != 1:
            parts.append(_operand(t, dt))  # a legacy empty 1-D tensor: Cat skips it, as PyTorch
            continue
        if t.ndim != ref.ndim or builtins.any(s != r for j, (s, r) in enumerate(zip(t.shape, ref.shape)) if j != d):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                               f"{list(ref.shape)} but got size {list(t.shape)} for tensor number {i} in the list.")
        parts.append(_operand(t, dt))
    return ops.Cat.apply(d, *parts)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    dt = result_type(*tensors).np
    return ops.Stack.apply(canonical_dim(dim, tensors[0].ndim + 1), *[_operand(t, dt) for t in tensors])


def where(condition, input=None, other=None):
    """where(condition, input, other), elementwise; where(condition) gives the indices (nonzero)."""
    if input is None and other is None:
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(_array(condition)))
    if not isinstance(input, Tensor):
        input = tensor(input, dtype=result_type(input, other) if not isinstance(other, Tensor) else other.dtype)
    return input.where(condition, other)


# ================================================================ added for issue 12 (torchcompat)
# Tensor methods in one block, attached below, to be moved beside their families by the refactor.

_sort_result = namedtuple("sort", ["values", "indices"])
_topk_result = namedtuple("topk", ["values", "indices"])


def _log1p(self):
    return self._float_unary(ops.Log1p)


def _erf(self):
    return self._float_unary(ops.Erf)


def _ndimension(self) -> builtins.int:
    return self.dim()


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm (p = "fro" or 2 by default, any number, inf, -inf) over dim (None: all)."""
    if not self.is_floating_point():
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{str(self.dtype).split('.')[-1].capitalize()}")
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"norm: p = '{p}' (a matrix norm) is not supported; use a number, inf or 'fro'")
    x = self if dtype is None else self.to(dtype)
    dims = tuple(range(x.dim())) if dim is None else _dims(dim, x.dim())
    return ops.Norm.apply(x, builtins.float(p), dims, keepdim)


def _sort_indices(self, dim: builtins.int, descending: builtins.bool) -> np.ndarray:
    a = self._data
    if a.ndim == 0:
        return np.zeros((), np.int64)
    # stable sort; descending as the stable ascending order of the negated key, so ties keep their order
    key = -a if descending and a.dtype.kind in "fi" else a
    idx = np.argsort(key, axis=dim, kind="stable")
    if descending and a.dtype.kind not in "fi":
        idx = np.flip(np.argsort(a, axis=dim, kind="stable"), axis=dim)
    return idx.astype(np.int64)


def _sort(self, dim: builtins.int = -1, descending: builtins.bool = False, stable: builtins.bool = False):
    """(values, indices) sorted along dim; ties keep their order (PyTorch's stable=True order)."""
    dim = canonical_dim(dim, self.dim()) if self.dim() else 0
    idx = _sort_indices(self, dim, descending)
    if self.dim() == 0:
        return _sort_result(self.clone(), Tensor._make(idx))
    return _sort_result(ops.SortValues.apply(self, idx, dim), Tensor._make(idx))


def _argsort(self, dim: builtins.int = -1, descending: builtins.bool = False, stable: builtins.bool = False):
    return _sort(self, dim, descending, stable).indices


def _topk(self, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
          sorted: builtins.bool = True):
    """The k largest (smallest) entries along dim and their indices, in order."""
    dim = canonical_dim(dim, self.dim()) if self.dim() else 0
    size = self.shape[dim] if self.dim() else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range")
    idx = np.take(_sort_indices(self, dim, largest), np.arange(k), axis=dim) if self.dim() else \
        np.zeros((), np.int64)
    if self.dim() == 0:
        return _topk_result(self.clone(), Tensor._make(idx))
    return _topk_result(ops.TopkValues.apply(self, np.ascontiguousarray(idx), dim), Tensor._make(idx))


def _repeat(self, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < self.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    if builtins.any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    return ops.Repeat.apply(self, sizes)


def _prod(self, dim=None, keepdim=False, dtype=None):
    """The product of all entries, or over one dim; integer and bool inputs give int64, as PyTorch."""
    x = self if dtype is None else self.to(dtype)
    if dtype is None and x._data.dtype.kind in "biu":
        x = x.to(dtypes.int64)
    dims = tuple(range(x.dim())) if dim is None else _dims(dim, x.dim())
    if dim is None:
        return ops.Prod.apply(x, dims, False)
    return ops.ProdDim.apply(x, dims, keepdim)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as torch.einsum (operands given one by one or as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum(): operands must be Tensors")
    n_subs = len(equation.split("->")[0].split(","))
    if n_subs != len(operands):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if n_subs < len(operands) else "einsum(): fewer operands were provided than specified in "
                         "the equation")
    eq = _explicit_einsum(equation.replace(" ", ""), [t.dim() for t in operands])
    dt = result_type(*operands).np if len(operands) > 1 else operands[0]._data.dtype
    return ops.Einsum.apply(eq, *[_operand(t, dt) for t in operands])


def _explicit_einsum(equation: str, ndims: list) -> str:
    """The equation with '...' spelt out as letters and the output written after '->' (NumPy's implicit rule)."""
    lhs, arrow, rhs = equation.partition("->")
    subs = lhs.split(",")
    used = set(equation) - set(".,->")
    pool = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = builtins.max([nd - (len(s) - 3) for s, nd in zip(subs, ndims) if "..." in s], default=0)
    ell = "".join(pool[:n_ell])
    subs = [s.replace("...", ell[n_ell - (nd - (len(s) - 3)):]) if "..." in s else s for s, nd in zip(subs, ndims)]
    if not arrow:
        letters = "".join(subs)
        rhs = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    return ",".join(subs) + "->" + rhs


for _name, _method in (("log1p", _log1p), ("erf", _erf), ("ndimension", _ndimension), ("norm", _norm),
                       ("sort", _sort), ("argsort", _argsort), ("topk", _topk), ("repeat", _repeat),
                       ("prod", _prod)):
    _method.__name__ = _method.__qualname__ = _name
    setattr(Tensor, _name, _method)


def _scatter_args(self, dim, index, src, value, name):
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.dim() == 0 and self.dim() == 1:  # a 0-d index on a vector, as PyTorch allows
        index = index.reshape(1)
    if index.dim() != self.dim():
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    dim = canonical_dim(dim, self.dim())
    idx = index._data
    if idx.size and (idx.min() < 0 or idx.max() >= self.shape[dim]):
        raise RuntimeError(f"index {int(idx.max() if idx.max() >= self.shape[dim] else idx.min())} is out of bounds "
                           f"for dimension {dim} with size {self.shape[dim]}")
    if src is None and value is None:
        raise TypeError(f"{name}() missing 1 required argument: 'src' or 'value'")
    source = value if value is not None else src
    if not isinstance(source, Tensor):  # a number: the value form
        return dim, idx, self._data.dtype.type(source)
    return dim, idx, _operand(source, self._data.dtype)


def _scatter(self, dim, index, src=None, value=None):
    """A copy of self with src's entries (or value) written at index along dim (torch.scatter)."""
    dim, idx, source = _scatter_args(self, dim, index, src, value, "scatter")
    return (ops.Scatter if isinstance(source, Tensor) else ops.ScatterValue).apply(self, idx, dim, source)


def _scatter_(self, dim, index, src=None, value=None):
    dim, idx, source = _scatter_args(self, dim, index, src, value, "scatter_")
    return self._inplace(lambda x, *s: (ops.Scatter.apply(x, idx, dim, s[0]) if s else
                                        ops.ScatterValue.apply(x, idx, dim, source)),
                         *((source,) if isinstance(source, Tensor) else ()))


Tensor.scatter, Tensor.scatter_ = _scatter, _scatter_
_scatter.__name__, _scatter_.__name__ = "scatter", "scatter_"

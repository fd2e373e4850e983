"""The nodes of the autograd graph and `Function`, the unit every op is written in.

A `Function` has `forward(ctx, *inputs)` and `backward(ctx, *grad_outputs)` side by side.
`Function.apply` runs forward and, when some input requires grad, records a node: an
instance of the Function's backward class (`MulBackward0`, `ExpBackward` for a user
Function `Exp`). As in PyTorch that node *is* the `ctx` forward saw, and it becomes the
output's `grad_fn`; its `next_functions` point at the nodes of the inputs, a leaf's being
its `AccumulateGrad`.

User Functions (PyTorch's API) receive and return Tensors. The built-in ops subclass `Op`,
whose forward receives and returns NumPy arrays; their backward works on Tensors so that
`create_graph=True` can differentiate it again.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..tensor import Tensor  # imported at the bottom of tensor.py, once the class exists
from . import grad_mode
from ._fastpath import is_private as _is_private, op_apply


def wrap(array: np.ndarray) -> Tensor:
    """`array` as a Tensor, without copying: the one way the ops make a Tensor of their own."""
    return Tensor._make(array)


_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
          "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
          "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
          "or if you need to access saved tensors after calling backward.")


class Node:
    """A vertex of the backward graph. `next_functions[i]` is `(node, output_nr)` for input i."""

    next_functions: tuple = ()
    _num_outputs = 1
    _input_meta: tuple = ()  # (shape, dtype) of each Tensor input, to check returned gradients
    _retained: dict | None = None  # output_nr -> weakref of a non-leaf tensor that called retain_grad()

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def apply(self, *grads):  # overridden: gradients of outputs -> gradients of inputs
        raise NotImplementedError


class AccumulateGrad(Node):
    """The node of a leaf tensor that requires grad: adds the gradient into `variable.grad`."""

    def __init__(self, variable):
        self.variable = variable

    def apply(self, grad):
        accumulate_grad(self.variable, grad)
        return ()


def accumulate_grad(t, grad) -> None:
    """`t.grad += grad`, in place unless the graph of the gradient itself is being recorded.

    The first gradient is copied -- a backward may hand one gradient to several inputs (Add
    does), or keep it -- unless nothing else can see its memory: then, as PyTorch does, `.grad`
    takes that memory over (the engine passes its only reference for this to be possible).
    """
    if t._grad is None:
        if grad.requires_grad:
            t._grad = grad
        elif not grad_mode.is_grad_enabled() and _is_private(grad):  # PERF: see _fastpath.is_private
            # a view gets a Tensor of its own (not sharing the version counter of its private base)
            t._grad = grad if grad._base is None else Tensor._make(grad._data)
        else:
            t._grad = Tensor._make(grad._data.copy())
    elif grad_mode.is_grad_enabled() or t._grad.requires_grad:
        t._grad = t._grad + grad
    else:
        np.add(t._grad._data, grad._data, out=t._grad._data, casting="unsafe")
        t._grad._version[0] += 1


def grad_accumulator(t) -> AccumulateGrad:
    """The leaf's AccumulateGrad node: one per tensor while it is in use, as in PyTorch."""
    acc = t._grad_acc() if t._grad_acc is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._grad_acc = weakref.ref(acc)
    return acc


class SavedTensor:
    """What `save_for_backward` keeps of one tensor, with its version to catch in-place edits.

    An output is kept as its data without its `grad_fn` (which is this very node: keeping it
    would make a reference cycle) and rebuilt with it on unpacking, as PyTorch's SavedVariable.
    """

    __slots__ = ("tensor", "version", "is_output", "node", "output_nr")

    def __init__(self, tensor, node: Node, is_output: bool):
        self.version = tensor._version[0]
        self.is_output = is_output
        self.output_nr = tensor._output_nr if is_output else 0
        self.tensor = tensor.detach() if is_output else tensor
        self.node = weakref.ref(node) if is_output else None

    def unpack(self, node: Node):
        t = self.tensor
        if t._version[0] != self.version:
            op_name = node.name().removesuffix("Backward0").removesuffix("Backward")
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{t.type()} {list(t.shape)}], which is {'output' if self.is_output else 'input'} "
                f"{self.output_nr} of {op_name}, is at version {t._version[0]}; expected version "
                f"{self.version} instead.")
        if self.is_output and self.node() is not None:
            out = Tensor._make(t._data, requires_grad=True)
            out._version, out.grad_fn, out._output_nr = t._version, self.node(), self.output_nr
            return out
        return t


class BackwardNode(Node):
    """The node a Function records; also the `ctx` its forward and backward receive."""

    _fn: type  # the Function this node belongs to
    _saved: tuple | None = ()
    needs_input_grad: tuple = ()
    materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED)
        return tuple([s.unpack(self) if type(s) is SavedTensor else s for s in saved])

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    def apply(self, *grads):
        return self._fn.backward(self, *grads)

    def _free(self) -> None:
        self._saved = None


_NO_EDGE = (None, 0)


def _connect(ctx: BackwardNode, inputs: list, outputs: list, non_differentiable) -> None:
    """Wire the node into the graph: edges to the inputs' nodes, grad_fn of the outputs."""
    edges, meta = [], []
    for t in inputs:
        if t.grad_fn is not None:
            edges.append((t.grad_fn, t._output_nr))
        elif t._requires_grad:
            edges.append((grad_accumulator(t), 0))
        else:
            edges.append(_NO_EDGE)
        data = t._data
        meta.append((data.shape, data.dtype))
    ctx.next_functions = tuple(edges)
    ctx._input_meta = tuple(meta)
    if len(outputs) != 1:
        ctx._num_outputs = len(outputs)
        # to fill in zeros for outputs that get no gradient
        ctx._output_meta = tuple([(o._data.shape, o._data.dtype) for o in outputs])
    for i, o in enumerate(outputs):
        if o._data.dtype.kind == "f" and (not non_differentiable or id(o) not in non_differentiable):
            o.grad_fn, o._requires_grad, o._output_nr = ctx, True, i
    to_save = ctx.__dict__.get("_to_save")
    if to_save is None:
        return
    saved = []
    for x in to_save:
        if isinstance(x, Tensor):
            is_output = False
            for o in outputs:
                if x is o:
                    is_output = True
                    break
            saved.append(SavedTensor(x, ctx, is_output))
        elif isinstance(x, np.ndarray):
            saved.append(Tensor._make(x))  # a constant the forward computed, e.g. a mask
        else:
            saved.append(x)
    ctx._saved = tuple(saved)
    ctx._to_save = None


class Function:
    """Base of every differentiable operation, mirroring `torch.autograd.Function`.

    Subclass it with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`, then call
    `MyFn.apply(*args)`. Backward returns one gradient per forward argument (None where there
    is none). The recorded node is named `<Class>Backward`, as in PyTorch.
    """

    node_name: str | None = None  # built-in ops set PyTorch's name, e.g. "MulBackward0"
    _connect = staticmethod(_connect)  # Op.apply (in _fastpath.py) reaches the wiring through the class
    _forward_on_arrays = False
    _Backward: type

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("node_name") or f"{cls.__name__}Backward"
        body = {"_fn": cls, "__module__": cls.__module__, "_short_backward_ok": cls._forward_on_arrays}
        cls._Backward = type(name, (BackwardNode,), body)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args):
        """Run forward without recording; if grad mode is on and an input requires grad, record a node.

        The node is `ctx` itself (an instance of `cls._Backward`): `_connect` gives it edges to
        the inputs' nodes and makes it the outputs' `grad_fn`."""
        ctx = cls._Backward()
        inputs = [a for a in args if isinstance(a, Tensor)]
        record = grad_mode.is_grad_enabled() and any(t._requires_grad for t in inputs)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx._arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        with grad_mode.no_grad():
            result = cls.forward(ctx, *args)
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        if not record:
            ctx._to_save = None
            return result
        _connect(ctx, inputs, [o for o in outputs if isinstance(o, Tensor)], getattr(ctx, "_non_differentiable", ()))
        return result


class Op(Function):
    """A built-in op: forward on NumPy arrays (the kernels' world), backward on Tensors.

    `Op.apply` takes the steps of `Function.apply` above on arrays: the Tensor arguments are
    unwrapped to their arrays for `forward`, its arrays wrapped as Tensors, and the node
    recorded with `_connect`, the arrays it saved mapped back to the Tensors they came from.
    A view op (`is_view = True`) returns NumPy views of its first input: its outputs share that
    input's memory and version counter, so an in-place change through either is seen by both.
    """

    is_view = False
    _forward_on_arrays = True  # and backward may leave out the trailing non-Tensor arguments
    apply = classmethod(op_apply)  # PERF: written out for its per-call cost in _fastpath.py

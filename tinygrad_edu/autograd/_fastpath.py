"""Measured shortcuts of the autograd core, kept out of the code a student reads first.

Three tricks, each with the figure that justifies it (measured on this project's machine, see
the comments). Neither changes a result: tests/test_grad_ownership.py and the whole suite run
through them.

* `op_apply` is `Op.apply`, the per-call path of every built-in op: `Function.apply`
  (function.py) written out by hand -- no helper calls, comprehensions or dicts on the common
  path (all arguments Tensors, one output, recorded by `_record_one` in one pass).
* `plain_backward` is `engine.run_backward` for the usual `loss.backward()`: no hooks were
  ever registered, no tracer, no `inputs=`, no `create_graph` -- the same walk with none of
  the checks for those, and a node runner written out by hand.
* `is_private` lets `.grad` take over the memory of a first gradient instead of copying it,
  when a refcount census shows nothing else can see that memory (as PyTorch's
  AccumulateGrad steals a gradient whose use count is 1).
"""
from __future__ import annotations

import sys

import numpy as np

from ..tensor import Tensor
from . import function as _function  # (function.py imports this module: its names are looked up at call time)
from . import grad_mode


# ---------------------------------------------------------------- the inlined Op.apply
# PERF: measured (CPU time, best of 5 x 7 runs, 1 thread) against the same steps written as
# Function.apply is, with comprehensions and helper calls: one Mul of [64, 10] tensors 4.75 us
# instead of 6.4 us; the notes' MLP training step at batch 64 (SGD) 2.98 ms instead of 3.06 ms.
# Recording a one-output op in one pass (`_record_one`) instead of `_tensor_of` + `_connect`:
# the Mul 3.9 us instead of 5.0 us (bench/bench_fastpath.py, best of 3 rounds, loaded machine).

def op_apply(cls, *args):
    """`Op.apply`: run `cls.forward` on the arrays of `args`, wrap its results, record the node."""
    # Written for the per-call cost: a training step makes ~25 of these calls, so no helper
    # calls, comprehensions or dicts on the common path (all arguments Tensors, one output).
    ctx = cls._Backward()
    inputs, arrays, record = [], [], False
    for a in args:
        if isinstance(a, Tensor):
            inputs.append(a)
            arrays.append(a._data)
            if a._requires_grad:
                record = True
        else:
            arrays.append(a)
    record = record and grad_mode._enabled  # PERF: the flag itself, not is_grad_enabled(): no call
    if record:  # set before forward (as PyTorch's ctx), so that it saves only what backward needs
        if len(inputs) == len(args):
            ctx.needs_input_grad = tuple([t._requires_grad for t in inputs])
            ctx._arg_is_tensor = (True,) * len(args)
        else:  # (one loop: 0.3 us less than two comprehensions for the 7 arguments of the cross-entropy)
            needs, is_tensor = [], []
            for a in args:
                if isinstance(a, Tensor):
                    needs.append(a._requires_grad)
                    is_tensor.append(True)
                else:
                    needs.append(False)
                    is_tensor.append(False)
            ctx.needs_input_grad, ctx._arg_is_tensor = tuple(needs), tuple(is_tensor)
    result = cls.forward(ctx, *arrays)
    if type(result) is np.ndarray:  # the usual op: one array
        out = Tensor._make(result)
        if cls.is_view:
            first = inputs[0]
            out._version, out._base = first._version, first if first._base is None else first._base
        if record:
            _record_one(ctx, inputs, out)
        return out
    if isinstance(result, np.generic):  # a NumPy ufunc on a 0-d array returns a scalar
        result = _as_array(ctx, result)
    make = Tensor._make
    multiple = type(result) is tuple
    outputs = [make(r) for r in result] if multiple else [make(result)]
    if cls.is_view:
        first = inputs[0]
        base = first if first._base is None else first._base
        for o in outputs:
            o._version, o._base = first._version, base
    if record:
        to_save = ctx.__dict__.get("_to_save")
        if to_save:  # map the saved arrays back to the tensors they came from (outputs first)
            ctx._to_save = tuple([_tensor_of(x, outputs, inputs) for x in to_save])
        cls._connect(ctx, inputs, outputs, ())
    return tuple(outputs) if multiple else outputs[0]


def _record_one(ctx, inputs: list, out: Tensor) -> None:
    """`_connect(ctx, inputs, [out], ())` with the saved arrays mapped back to their tensors on the way
    (`_tensor_of`): the edges, the inputs' (shape, dtype), `out.grad_fn`, the `SavedTensor`s."""
    edges, meta = [], []
    for t in inputs:
        node = t.grad_fn
        if node is not None:
            edges.append((node, t._output_nr))
        elif t._requires_grad:
            edges.append((_function.grad_accumulator(t), 0))
        else:
            edges.append(_NO_EDGE)
        data = t._data
        meta.append((data.shape, data.dtype))
    ctx.next_functions, ctx._input_meta = tuple(edges), tuple(meta)
    data = out._data
    if data.dtype.kind == "f":
        out.grad_fn, out._requires_grad = ctx, True
    to_save = ctx.__dict__.get("_to_save")
    if to_save is None:
        return
    saved_tensor, saved = _function.SavedTensor, []
    for x in to_save:
        if x is data:
            x = saved_tensor(out, ctx, True)
        elif isinstance(x, np.ndarray):
            for t in inputs:
                if t._data is x:
                    x = saved_tensor(t, ctx, False)
                    break
            else:
                x = Tensor._make(x)  # a constant the forward computed, e.g. a mask
        elif isinstance(x, Tensor):
            x = saved_tensor(x, ctx, x is out)
        saved.append(x)
    ctx._saved, ctx._to_save = tuple(saved), None


_NO_EDGE = (None, 0)


def _as_array(ctx, scalar):
    """A 0-d array for the NumPy scalar a forward returned, also where the forward saved it, so
    that the saved output still maps to the output tensor (`tanh(tensor(0.5))`'s backward needs it)."""
    array = np.asarray(scalar)
    to_save = ctx.__dict__.get("_to_save")
    if to_save:
        ctx._to_save = tuple([array if x is scalar else x for x in to_save])
    return array


def _tensor_of(x, outputs: list, inputs: list):
    """The output or input tensor whose array `x` is, else `x` itself (a constant the forward made)."""
    for t in outputs:
        if t._data is x:
            return t
    for t in inputs:
        if t._data is x:
            return t
    return x


# ---------------------------------------------------------------- taking a gradient over
# PERF: measured as above: the notes' MLP step at batch 64 takes 2.98 ms with the take-over and
# 3.33 ms when every first gradient is copied (its weights' gradients are 2.3 MB a step).

_getrefcount = sys.getrefcount
_ARG = _getrefcount(object())  # what handing an object to getrefcount adds: measured, not assumed


def _dense_writable(a: np.ndarray) -> bool:
    flags = a.flags  # (a local here: a flags object keeps its array alive while it exists)
    return flags.c_contiguous and flags.writeable and flags.aligned


def is_private(grad) -> bool:
    """Whether nothing but `grad` (held by our caller and us) can reach its memory.

    A gradient is often a view -- TBackward0 sends `dW.T.T`, whose Tensor `_base` is the
    Tensor of `dW.T` -- so every Tensor and array between `grad` and the ndarray owning the
    memory is counted: each must be referenced only from within that group (and our locals).
    The memory must belong to an ndarray (not a buffer NumPy wraps, like a file mapping), and
    be dense and writable as a copy would be, since later gradients are added into it.
    """
    data, base = grad._data, grad._base
    if _getrefcount(grad) - _ARG > 2 or not _dense_writable(data):  # 2: our caller's `grad` and ours
        return False
    owner = data if data.base is None else data.base
    if not isinstance(owner, np.ndarray) or owner.base is not None:
        return False
    bdata = None
    if base is not None:
        if base._base is not None or _getrefcount(base) - _ARG > 2:  # 2: grad._base and our `base`
            return False
        bdata = base._data
        if bdata is data or not (bdata is owner or bdata.base is owner):
            return False
    # expected references: the Tensors' `_data`, the views' `.base` and our locals
    if _getrefcount(data) - _ARG > 2 + (owner is data) + (bdata is not None and bdata.base is data):
        return False
    if bdata is not None and _getrefcount(bdata) - _ARG > 2 + (owner is bdata) + (data.base is bdata):
        return False
    if owner is not data and owner is not bdata:
        return _getrefcount(owner) - _ARG <= 2 + (bdata is not None and bdata.base is owner)  # + data.base, our `owner`
    return True


# ---------------------------------------------------------------- the plain backward walk
# PERF: measured with bench/bench_fastpath.py (CPU time, best of 3 rounds x 7 runs, 1 thread, a
# loaded machine) against the engine's own walk: F.cross_entropy forward + backward at 64x10
# 21.6 us instead of 22.9 us; F.linear 64x64 -> 10 forward + backward 38.9 us instead of 40.7 us.

def plain_backward(order: list, edges: list, grads: list, retain_graph: bool) -> None:
    """`engine.run_backward(edges, grads, retain_graph, create_graph=False)` when no hook was ever
    registered and no tracer records: the same nodes in the same order, the same gradients.

    The engine checks these before calling: `hooks.any_registered()`, `tracers`, `inputs`,
    `create_graph`. What is left of its loop: sum the gradients meeting at a node, store a
    retained gradient, accumulate into a leaf, run a node (`_run_node` below) and free it.
    """
    accumulate_grad, leaf = _function.accumulate_grad, _function.AccumulateGrad
    buffers: dict = {}
    for (node, nr), g in zip(edges, grads):
        _add_to(buffers, node, nr, g)
    enabled = grad_mode._enabled
    grad_mode._enabled = False
    try:
        for node in order:
            node_grads = buffers.pop(node, None)
            if node_grads is None:
                continue
            if node._retained:
                for nr, ref in node._retained.items():
                    t = ref()
                    if t is not None and node_grads[nr] is not None:
                        accumulate_grad(t, node_grads[nr])
            if isinstance(node, leaf):  # hand over the only reference: accumulate_grad may take the memory
                accumulate_grad(node.variable, node_grads.pop())
                continue
            _run_node(node, node_grads, buffers)
            if not retain_graph:
                node._free()
    finally:
        grad_mode._enabled = enabled


def _add_to(buffers: dict, node, nr: int, g) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * node._num_outputs
    slots[nr] = g if slots[nr] is None else slots[nr] + g


def _run_node(node, node_grads: list, buffers: dict) -> None:
    """`engine._run_node` without returning what was sent; the gradients go straight to `buffers`."""
    if len(node_grads) > 1 and node.materialize_grads:
        for nr, (shape, dtype) in enumerate(node._output_meta):
            if node_grads[nr] is None:
                node_grads[nr] = Tensor._make(np.zeros(shape, dtype))
    input_grads = node.apply(*node_grads)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    arg_is_tensor, edges, meta = node._arg_is_tensor, node.next_functions, node._input_meta
    n_grads = len(input_grads)
    if n_grads < len(arg_is_tensor) and not node._short_backward_ok:
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {len(arg_is_tensor)}, got {n_grads})")
    j = 0  # index among the Tensor arguments, i.e. into next_functions
    for k, is_tensor in enumerate(arg_is_tensor):
        if not is_tensor:
            continue
        if k >= n_grads:
            break
        child, nr = edges[j]
        g = input_grads[k]
        if child is not None and g is not None:
            shape, dtype = meta[j]
            if type(g) is not Tensor or g._data.shape != shape or g._data.dtype != dtype:
                g = _check_grad(node, k, g, shape, dtype)
            slots = buffers.get(child)
            if slots is None:
                slots = buffers[child] = [None] * child._num_outputs
            slots[nr] = g if slots[nr] is None else slots[nr] + g
        j += 1


def _check_grad(node, k: int, g, shape: tuple, dtype):
    from .engine import _check_grad as check  # (the engine imports this module: imported here, rarely)
    return check(node, k, g, shape, dtype)

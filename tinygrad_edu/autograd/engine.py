"""The backward engine: `backward()` and `autograd.grad()` walk the graph here, and only here.

Why a topological order? Take `b = a + a; c = b + b`. The gradient reaching `b` comes from two
edges of `c`'s node; only after both have arrived may `b`'s node run and pass the sum on to
`a`. Running each node once, after every node that feeds it, is exactly a reverse topological
order of the graph. We find it with an iterative depth-first search (no Python recursion, so
a chain 100,000 ops deep works) and run the nodes in that order, summing gradients that meet.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import grad_mode
from .function import AccumulateGrad, Node, accumulate_grad, grad_accumulator
from . import hooks
from ._fastpath import plain_backward

# The tracers of `autograd.trace()` now recording (usually none): run_backward reports each node
# it runs to every one of them. An empty list costs one truth test per node.
tracers: list = []


def _edge(t) -> tuple[Node, int]:
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (grad_accumulator(t), 0)


def _roots(outputs, grad_outputs, implicit_ok: bool = True):
    """Check outputs and their starting gradients; the implicit gradient is 1 for scalars."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs: got {len(grad_outputs)} "
                           f"gradients for {len(outputs)} outputs")
    edges, grads = [], []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = Tensor._make(np.array(1, t._data.dtype).reshape(t._data.shape))  # PERF: np.ones is 0.5 us slower
        elif not isinstance(g, Tensor):
            g = Tensor._make(np.asarray(g, dtype=t._data.dtype))
        if g._data.shape != t._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                               f"has a shape of {t.shape}.")
        edges.append(_edge(t))
        grads.append(g)
    return edges, grads


def _topological_order(roots: list[Node]) -> list[Node]:
    """Every node before the nodes it sends gradients to (reverse post-order of a DFS)."""
    post, seen = [], set()
    for root in roots:  # a root reached from an earlier root is already placed (after it): skip it
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.next_functions))]
        while stack:
            node, children = stack[-1]
            for child, _ in children:
                if child is not None and child not in seen:
                    seen.add(child)
                    if child.next_functions:
                        stack.append((child, iter(child.next_functions)))
                        break
                    post.append(child)  # a leaf's AccumulateGrad: nothing below it
            else:
                stack.pop()
                post.append(node)
    return hooks.hooked_leaves_when_ready(post[::-1])  # ready gradients first, as PyTorch (hooks.py)


def _check_grad(node: Node, i: int, g, shape: tuple, dtype: np.dtype):
    """PyTorch's validate_outputs: sum a broadcast gradient back, cast the dtype, else raise."""
    if not isinstance(g, Tensor):
        raise TypeError(f"Function {node.name()} returned a gradient of type {type(g).__name__} at index {i}; "
                        "expected a Tensor or None")
    if g._data.shape != shape:
        try:
            np.broadcast_shapes(g._data.shape, shape)
            expandable = np.broadcast_shapes(g._data.shape, shape) == g._data.shape
        except ValueError:
            expandable = False
        if not expandable:
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} - got "
                               f"{list(g._data.shape)} but expected shape compatible with {list(shape)}")
        g = g.sum_to_size(shape)
    if g._data.dtype != dtype:
        g = g.to(dtype)
    return g


def run_backward(edges, grads, retain_graph: bool, create_graph: bool, capture=None):
    """Send `grads` into the graph at `edges`. With `capture` (edge -> slot), collect the gradients
    arriving at those edges instead of accumulating into leaves' `.grad`; returns them."""
    roots = [node for node, _ in edges]
    order = _topological_order(roots)
    captured = {}
    needed = None
    if capture is not None:  # skip the nodes that lead to none of the requested inputs
        targets = {node for node, _ in capture}
        needed = set()
        for node in reversed(order):
            if node in targets or any(c in needed for c, _ in node.next_functions if c is not None):
                needed.add(node)
    buffers: dict[Node, list] = {}
    for (node, nr), g in zip(edges, grads):
        _add_to(buffers, node, nr, g)
    with grad_mode.set_grad_enabled(create_graph):
        for node in order:
            node_grads = buffers.pop(node, None)
            if node_grads is None or (needed is not None and node not in needed):
                continue
            hooks.run_tensor_pre_hooks(node, node_grads)  # Tensor.register_hook
            if capture is not None:
                for nr, g in enumerate(node_grads):
                    if (node, nr) in capture and g is not None:
                        captured[(node, nr)] = g
                if isinstance(node, AccumulateGrad):
                    continue
            elif node._retained:
                for nr, ref in node._retained.items():
                    t = ref()
                    if t is not None and node_grads[nr] is not None:
                        accumulate_grad(t, node_grads[nr])
            if isinstance(node, AccumulateGrad):
                if tracers:
                    accumulate_grad(node.variable, node_grads[0])
                else:  # hand over the engine's only reference, so accumulate_grad may take the memory
                    accumulate_grad(node.variable, node_grads.pop())
                hooks.run_post_accumulate_grad_hooks(node.variable)
                sent = ()
            else:
                sent = _run_node(node, node_grads, buffers)
                if not retain_graph:
                    node._free()
            if tracers:
                for tracer in tracers:
                    tracer.record(node, node_grads, sent)
            sent = None  # a gradient sent to a leaf must not stay referenced from here (see accumulate_grad)
    return captured


def _run_node(node, node_grads: list, buffers: dict) -> list:
    """Run one node; return the gradient sent along each of its `next_functions` (None where none)."""
    if len(node_grads) > 1 and node.materialize_grads:
        for nr, (shape, dtype) in enumerate(node._output_meta):
            if node_grads[nr] is None:
                node_grads[nr] = Tensor._make(np.zeros(shape, dtype))
    input_grads = node.apply(*node_grads)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    arg_is_tensor = node._arg_is_tensor
    n_args, n_grads = len(arg_is_tensor), len(input_grads)
    if n_grads < n_args and not node._short_backward_ok:
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {n_args}, got {n_grads})")
    edges = node.next_functions
    sent = [None] * len(edges)
    j = 0  # index among the Tensor arguments, i.e. into next_functions
    for k in range(n_args):
        if not arg_is_tensor[k]:
            continue
        child, nr = edges[j]
        g = input_grads[k] if k < n_grads else None
        if child is not None and g is not None:
            shape, dtype = node._input_meta[j]
            if type(g) is not Tensor or g._data.shape != shape or g._data.dtype != dtype:
                g = _check_grad(node, k, g, shape, dtype)
            sent[j] = g
            _add_to(buffers, child, nr, g)
        j += 1
    return sent


def _add_to(buffers: dict, node: Node, nr: int, g) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * node._num_outputs
    slots[nr] = g if slots[nr] is None else slots[nr] + g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """`torch.autograd.backward`: accumulate d(tensors)/d(leaf) into each leaf's `.grad`."""
    edges, grads = _roots(tensors, grad_tensors)
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        if not (create_graph or tracers or hooks.any_registered()):  # PERF: the usual case, see _fastpath.py
            plain_backward(_topological_order([node for node, _ in edges]), edges, grads, retain)
            return
        run_backward(edges, grads, retain, create_graph)
        return
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    slots = {_edge(t): t for t in inputs}
    for edge, g in run_backward(edges, grads, retain, create_graph, capture=slots).items():
        accumulate_grad(slots[edge], g)
        hooks.run_post_accumulate_grad_hooks(slots[edge])


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """`torch.autograd.grad`: return d(outputs)/d(inputs) without touching any `.grad`."""
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    edges, grads = _roots(outputs, grad_outputs)
    retain = create_graph if retain_graph is None else retain_graph
    slots = {_edge(t): i for i, t in enumerate(inputs)}
    captured = run_backward(edges, grads, retain, create_graph, capture=slots)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(_edge(t))
        if g is None:
            if materialize_grads:
                g = Tensor._make(np.zeros(t._data.shape, t._data.dtype))
            elif not (allow_unused or materialize_grads):
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
        result.append(g)
    return tuple(result)

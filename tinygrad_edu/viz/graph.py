"""The graph behind a tensor as data: one `GraphNode` per autograd node (PyTorch's node names;
a leaf is its `AccumulateGrad`), one edge per `next_functions` entry, placed by `layout`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._display import format_shape, param_names
from ..autograd.engine import _topological_order
from ..autograd.function import AccumulateGrad, Node, grad_accumulator
from ..tensor import Tensor
from .layout import layout as layered_layout

@dataclass
class GraphNode:
    """A node as drawn: `rank` is its row (longest path from the root), `order` its place in that
    row, `x` its horizontal position (at least 1 apart within a row)."""

    index: int
    node: Node
    kind: str  # "root", "op" or "leaf" (a leaf is an AccumulateGrad node: its variable is drawn)
    label: str
    rank: int
    order: int
    x: float


@dataclass
class _Graph:
    nodes: list[GraphNode]
    edges: list[tuple[int, int, int]]  # (from, to, output_nr of `to`), one per next_functions edge
    bends: list[list[tuple[float, float]]]  # per edge, the (x, -rank) of the rows it crosses


def _root(tensor) -> Node:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise ValueError("this tensor has no autograd graph: it does not require grad (create a leaf with "
                         "requires_grad=True and compute from it)")
    return tensor.grad_fn if tensor.grad_fn is not None else grad_accumulator(tensor)


def _value(t) -> str:
    """A tensor's value for a label: the number when it has one element, else its norm."""
    data = t._data.astype(np.float64)
    return f"{data.item():.4g}" if data.size == 1 else f"norm {np.linalg.norm(data):.4g}"


def _label(node: Node, kind: str, shapes: set, names: dict[int, str]) -> str:
    if kind != "leaf":
        return "\n".join([node.name(), *(format_shape(s) for s in sorted(shapes))])
    v = node.variable
    lines = [names[id(v)]] if id(v) in names else []
    lines += [format_shape(tuple(v.shape)), f"requires_grad={v.requires_grad}"]
    if v.numel() == 1:
        lines.append(f"data {_value(v)}")
    if v._grad is not None:
        lines.append(f"grad {_value(v._grad)}")
    return "\n".join(lines)


def _build(tensor, params, layout: bool = True) -> _Graph:
    """The graph as drawn; without `layout` (to_dot) every order and x is 0: O(nodes + edges)."""
    root = _root(tensor)
    names = param_names(params)
    order = _topological_order([root])  # every node before the nodes it sends gradients to
    index = {node: i for i, node in enumerate(order)}
    rank = dict.fromkeys(order, 0)
    shapes = {node: set() for node in order}  # the shapes of each node's outputs, seen on its edges
    shapes[root].add(tuple(tensor.shape))
    edges = []
    for node in order:
        for j, (child, nr) in enumerate(node.next_functions):
            if child is None:
                continue
            rank[child] = max(rank[child], rank[node] + 1)
            if j < len(node._input_meta):
                shapes[child].add(node._input_meta[j][0])
            edges.append((index[node], index[child], nr))
    if layout:
        place, xs, routes = layered_layout([rank[node] for node in order], edges)
    else:
        n = len(order)
        place, xs, routes = dict.fromkeys(range(n), 0), dict.fromkeys(range(n), 0.0), [[]] * len(edges)
    nodes = []
    for node in order:
        kind = "leaf" if isinstance(node, AccumulateGrad) else "root" if node is root else "op"
        i = index[node]
        nodes.append(GraphNode(i, node, kind, _label(node, kind, shapes[node], names), rank[node], place[i], xs[i]))
    bends = [[(xs[v], -(rank[order[i]] + k + 1)) for k, v in enumerate(route)]
             for (i, _, _), route in zip(edges, routes)]
    return _Graph(nodes, edges, bends)


def graph_nodes(tensor, params=None) -> list[GraphNode]:
    """The nodes `draw_graph(tensor)` draws, with their labels and places (index = position)."""
    return _build(tensor, params).nodes


def graph_edges(tensor) -> list[tuple[int, int, int]]:
    """The edges `draw_graph(tensor)` draws: (from, to, output_nr), indices into graph_nodes."""
    return _build(tensor, None).edges

"""Pictures for studying autograd: the graph behind a tensor, and training curves.

`draw_graph(loss)` draws what `loss.backward()` will walk: one box per node, PyTorch's node
names (`AddmmBackward0`, ...), the leaves (their `AccumulateGrad`) with name, shape,
requires_grad and grad, and one arrow per `next_functions` edge, i.e. in the direction the
gradients flow. It needs matplotlib only (no Graphviz binary): the layout is our own layered
one, each node on the row of its longest path from the root, rows ordered to limit crossings.
`to_dot(loss)` gives the same graph as Graphviz DOT text, for those who have Graphviz (it is
what the torchviz package draws for PyTorch). `plot_history` draws training curves.
`backward_page(loss, path)` writes one HTML file that steps through `loss.backward()` node by
node, with the numbers the engine recorded (see viz/page.py).
"""
from __future__ import annotations

from .._display import format_shape, new_figure, param_names, save_figure
from .draw import draw_graph, to_dot
from .graph import GraphNode, _build, graph_edges, graph_nodes
from .history import plot_history
from .page import backward_page

# names the single-module viz.py had, kept for code that reached them through viz
from ..autograd.function import AccumulateGrad, Node, grad_accumulator  # noqa: E402,F401
from ..tensor import Tensor  # noqa: F401

__all__ = ["GraphNode", "graph_nodes", "graph_edges", "draw_graph", "to_dot", "plot_history", "new_figure",
           "save_figure", "backward_page"]

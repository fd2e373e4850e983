"""Pictures for studying autograd: the graph behind a tensor, and training curves.

`draw_graph(loss)` draws what `loss.backward()` will walk: one box per node, PyTorch's node
names (`AddmmBackward0`, ...), the leaves (their `AccumulateGrad`) with name, shape,
requires_grad and grad, and one arrow per `next_functions` edge, i.e. in the direction the
gradients flow. It needs matplotlib only (no Graphviz binary): the layout is our own layered
one, each node on the row of its longest path from the root, rows ordered to limit crossings.
`to_dot(loss)` gives the same graph as Graphviz DOT text, for those who have Graphviz (it is
what the torchviz package draws for PyTorch). `plot_history` draws training curves.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .autograd.engine import _topological_order
from .autograd.function import AccumulateGrad, Node, grad_accumulator
from .autograd.trace import format_shape, param_names
from .tensor import Tensor

__all__ = ["GraphNode", "graph_nodes", "graph_edges", "draw_graph", "to_dot", "plot_history"]

_COLORS = {"root": "#ffe08a", "op": "#e8e8e8", "leaf": "#bfdcff"}
_FORMATS = (".png", ".svg", ".pdf")


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


def _inversions(seq: list) -> int:
    """Pairs i < j with seq[i] > seq[j], counted by merge sort: O(n log n)."""
    count, width, seq = 0, 1, list(seq)
    while width < len(seq):
        merged = []
        for lo in range(0, len(seq), 2 * width):
            left, right = seq[lo:lo + width], seq[lo + width:lo + 2 * width]
            i = j = 0
            while i < len(left) and j < len(right):
                if right[j] < left[i]:  # right[j] is below every left item still waiting: each a crossing
                    count += len(left) - i
                    merged.append(right[j])
                    j += 1
                else:
                    merged.append(left[i])
                    i += 1
            merged += left[i:] + right[j:]
        seq, width = merged, 2 * width
    return count


def _count_crossings(place: dict[int, tuple[int, int]], segments) -> int:
    """Pairs of segments between the same two adjacent rows that cross (shared ends do not).

    Sorted by their upper end, two segments cross when their lower ends come in the other order:
    the crossings of a gap are the inversions of its lower ends, O(E log E) instead of all pairs."""
    between: dict[int, list[tuple[int, int]]] = {}
    for a, b in segments:
        (ra, ka), (rb, kb) = place[a], place[b]
        if rb == ra + 1:  # a long edge left without bends (see _layout) is not counted
            between.setdefault(ra, []).append((ka, kb))
    return sum(_inversions([kb for _, kb in sorted(segs)]) for segs in between.values())


def _order_rows(rows: list[list[int]], segments) -> list[list[int]]:
    """Barycenter heuristic: sort each row by the mean place of its neighbours in the row above
    (sweeping down), then in the row below (sweeping up); keep the order with fewest crossings.
    Each sweep costs O(n log n): only the row just sorted changes its places."""
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    for a, b in segments:
        down.setdefault(a, []).append(b)
        up.setdefault(b, []).append(a)
    place = {i: (r, k) for r, row in enumerate(rows) for k, i in enumerate(row)}
    best, best_n = [r[:] for r in rows], _count_crossings(place, segments)
    for sweep in range(8):
        neighbours, span = (up, range(1, len(rows))) if sweep % 2 == 0 else (down, range(len(rows) - 2, -1, -1))
        for r in span:
            def key(i: int) -> float:
                ks = [place[n][1] for n in neighbours.get(i, ())]
                return sum(ks) / len(ks) if ks else place[i][1]
            rows[r].sort(key=key)
            place.update({i: (r, k) for k, i in enumerate(rows[r])})
        n = _count_crossings(place, segments)
        if n < best_n:
            best, best_n = [r[:] for r in rows], n
    return best


def _place(rows: list[list[int]], segments) -> dict[int, float]:
    """x of each node: under the mean of its parents where the row leaves room (so chains run
    straight down), keeping the row's order and a gap of at least 1."""
    parents: dict[int, list[int]] = {}
    for a, b in segments:
        parents.setdefault(b, []).append(a)
    x = {i: float(k) for k, i in enumerate(rows[0])}
    for row in rows[1:]:
        want = [sum(x[p] for p in parents[i]) / len(parents[i]) for i in row]
        left, right = want[:], want[:]
        for k in range(1, len(row)):  # push right to make room, then push left: average the two
            left[k] = max(left[k], left[k - 1] + 1)
        for k in range(len(row) - 2, -1, -1):
            right[k] = min(right[k], right[k + 1] - 1)
        x.update({i: (a + b) / 2 for i, a, b in zip(row, left, right)})
    low = min(x.values())
    return {i: v - low for i, v in x.items()}


def _layout(rank: list[int], edges) -> tuple[dict[int, int], dict[int, float], list[list[int]]]:
    """Sugiyama's layered layout: an edge spanning several rows gets a virtual node in each row
    it crosses (so it is ordered and placed like the others and bends around boxes); returns
    each node's place in its row, its x, and each edge's virtual nodes (ids past the real ones).

    Virtual nodes are bounded by 4 x (nodes + edges), given to the shortest long edges first, so
    the layout stays O(n log n) (weight decay on a deep graph could otherwise ask n per edge);
    an edge past the budget is drawn straight."""
    rank = list(rank)
    budget = 4 * (len(rank) + len(edges))
    spans = sorted(range(len(edges)), key=lambda e: rank[edges[e][1]] - rank[edges[e][0]])
    bent = set()
    for e in spans:
        budget -= rank[edges[e][1]] - rank[edges[e][0]] - 1
        if budget < 0:
            break
        bent.add(e)
    segments, routes = [], []
    for e, (i, j, _) in enumerate(edges):
        chain = [i]
        for r in range(rank[i] + 1, rank[j]) if e in bent else ():
            rank.append(r)
            chain.append(len(rank) - 1)
        chain.append(j)
        segments += zip(chain, chain[1:])
        routes.append(chain[1:-1])
    rows: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for i, r in enumerate(rank):
        rows[r].append(i)
    rows = _order_rows(rows, segments)
    return {i: k for row in rows for k, i in enumerate(row)}, _place(rows, segments), routes


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
        place, xs, routes = _layout([rank[node] for node in order], edges)
    else:
        place, xs, routes = dict.fromkeys(range(len(order)), 0), dict.fromkeys(range(len(order)), 0.0), [[]] * len(edges)
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


def new_figure(size: tuple[float, float]):
    """A matplotlib Figure not registered with pyplot: no display needed, nothing to close."""
    from matplotlib.figure import Figure
    return Figure(figsize=size, dpi=100)


def save_figure(fig, path) -> None:
    """Save by the path's suffix: .png, .svg or .pdf."""
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise ValueError(f"cannot save a figure as {path.name!r}: the suffix must be one of {', '.join(_FORMATS)}")
    fig.savefig(path, format=path.suffix.lower()[1:], bbox_inches="tight")


def draw_graph(tensor, path=None, params=None, title: str | None = None):
    """Draw the autograd graph behind `tensor` with matplotlib; save it if `path` is given.

    `params` is a name -> tensor dict (e.g. `dict(model.named_parameters())`, or the generator
    itself) naming the leaves; without it a leaf is labelled by its shape. Each node's box carries the gid "node<i>" (i its
    index in `graph_nodes(tensor)`), each arrow "edge<k>": in the SVG they become element ids.
    Returns the matplotlib Figure.
    """
    g = _build(tensor, params)
    width, depth = max(n.x for n in g.nodes) + 1, max(n.rank for n in g.nodes) + 1
    fig = new_figure((max(3.0, 1.9 * width), max(1.5, 0.95 * depth)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(-depth + 0.5, 0.5)
    boxes = []
    for n in g.nodes:  # boxes first: an arrow is clipped to boxes already placed when it is drawn
        text = ax.text(n.x, -n.rank, n.label, ha="center", va="center", fontsize=7, family="monospace",
                       bbox=dict(boxstyle="round,pad=0.35", fc=_COLORS[n.kind], ec="#555555", lw=0.8))
        text.set_gid(f"node{n.index}")
        boxes.append(text)
    seen: dict[tuple[int, int], int] = {}
    for k, ((i, j, _), bends) in enumerate(zip(g.edges, g.bends)):
        start = boxes[i].get_position()
        if bends:  # a long edge: a line under the boxes through its bends, the arrow on the last leg
            xs, ys = zip(start, *bends)
            ax.plot(xs, ys, color="#444444", lw=0.8, zorder=1)
            start = bends[-1]
        repeat = seen[(i, j)] = seen.get((i, j), -1) + 1  # b = a + a: two edges, bend the second
        arrow = ax.annotate("", xy=boxes[j].get_position(), xytext=start,
                            arrowprops=dict(arrowstyle="-|>", color="#444444", lw=0.8, shrinkA=1, shrinkB=1,
                                            patchA=None if bends else boxes[i].get_bbox_patch(),
                                            patchB=boxes[j].get_bbox_patch(),
                                            connectionstyle=f"arc3,rad={0.25 * repeat}"))
        arrow.arrow_patch.set_gid(f"edge{k}")  # the Annotation itself has no text to carry it
    if title:
        ax.set_title(title, fontsize=9)
    if path is not None:
        save_figure(fig, path)
    return fig


def _dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor, params=None) -> str:
    """The autograd graph behind `tensor` as Graphviz DOT text (`dot -Tpng` draws it)."""
    g = _build(tensor, params, layout=False)  # Graphviz lays it out
    lines = ["digraph autograd {",
             '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];']
    for n in g.nodes:
        lines.append(f"    n{n.index} [label={_dot_quote(n.label)}, fillcolor={_dot_quote(_COLORS[n.kind])}];")
    for i, j, nr in g.edges:
        multi = getattr(g.nodes[j].node, "_num_outputs", 1) > 1
        lines.append(f"    n{i} -> n{j}" + (f" [label={_dot_quote(f'output {nr}')}]" if multi else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_history(history: dict, path=None, title: str | None = None):
    """Training curves from a dict of per-epoch lists, e.g. {"train_loss": [...], "test_acc": [...]}.

    Keys containing "loss" share one panel, keys containing "acc" another, any other key gets its
    own. Values may be numbers or one-element tensors. Returns the matplotlib Figure.
    """
    if not isinstance(history, dict) or not history:
        raise ValueError("plot_history() needs a non-empty dict of name -> list of per-epoch values")
    series = {}
    for key, values in history.items():
        try:
            series[key] = [float(v) for v in values]
        except (TypeError, ValueError) as e:
            raise ValueError(f"plot_history(): history[{key!r}] must be a list of numbers ({e})") from None
        if not series[key]:
            raise ValueError(f"plot_history(): history[{key!r}] is empty")
    panels: dict[str, list[str]] = {}
    for key in series:
        kind = "loss" if "loss" in key.lower() else "accuracy" if "acc" in key.lower() else key
        panels.setdefault(kind, []).append(key)
    fig = new_figure((4.2 * len(panels), 3.2))
    for p, (kind, keys) in enumerate(panels.items()):
        ax = fig.add_subplot(1, len(panels), p + 1)
        for key in keys:
            ys = series[key]
            ax.plot(range(1, len(ys) + 1), ys, marker="o" if len(ys) <= 30 else None, ms=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(kind)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig

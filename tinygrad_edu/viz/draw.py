"""The graph drawn: with matplotlib (`draw_graph`, no Graphviz binary needed) or as Graphviz DOT
text (`to_dot`, what the torchviz package draws for PyTorch)."""
from __future__ import annotations

from .._display import new_figure, save_figure
from .graph import _build

COLORS = {"root": "#ffe08a", "op": "#e8e8e8", "leaf": "#bfdcff"}


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
                       bbox=dict(boxstyle="round,pad=0.35", fc=COLORS[n.kind], ec="#555555", lw=0.8))
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
        lines.append(f"    n{n.index} [label={_dot_quote(n.label)}, fillcolor={_dot_quote(COLORS[n.kind])}];")
    for i, j, nr in g.edges:
        multi = getattr(g.nodes[j].node, "_num_outputs", 1) > 1
        lines.append(f"    n{i} -> n{j}" + (f" [label={_dot_quote(f'output {nr}')}]" if multi else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"

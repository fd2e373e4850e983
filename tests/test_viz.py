"""viz: the drawn graph has exactly the autograd graph's nodes and edges; DOT output parses."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import viz

from autograd_graphs import mlp_loss, programs, random_graph, reachable

PNG = b"\x89PNG\r\n\x1a\n"


def gids(fig, prefix: str) -> list[str]:
    """The gids of the figure's artists (an annotation's arrow is not among its children)."""
    artists = fig.findobj()
    artists += [a.arrow_patch for a in artists if getattr(a, "arrow_patch", None) is not None]
    return [a.get_gid() for a in artists if (a.get_gid() or "").startswith(prefix)]


def crossings(nodes, edges) -> int:
    """Edge pairs whose straight segments cross, for the drawn (rank, order) places."""
    rows = {}
    for n in nodes:
        rows[n.rank] = rows.get(n.rank, 0) + 1
    pos = {n.index: (n.order - (rows[n.rank] - 1) / 2, -n.rank) for n in nodes}
    segs = list({(i, j) for i, j, _ in edges})
    cross = 0
    for k, (a, b) in enumerate(segs):
        for c, d in segs[k + 1:]:
            if len({a, b, c, d}) == 4:
                (x1, y1), (x2, y2), (x3, y3), (x4, y4) = pos[a], pos[b], pos[c], pos[d]
                if y1 == y3 and y2 == y4 and (x1 - x3) * (x2 - x4) < 0:  # adjacent-rank pairs
                    cross += 1
    return cross


def test_mlp_graph_png_and_svg_have_every_node_and_edge(tmp_path):
    loss, params = mlp_loss()
    expected_nodes, expected_edges = reachable(loss.grad_fn)
    nodes, edges = viz.graph_nodes(loss, params), viz.graph_edges(loss)
    assert len(nodes) == len(expected_nodes) == 28 and len(edges) == expected_edges == 27
    assert {n.node for n in nodes} == set(expected_nodes)
    fig = viz.draw_graph(loss, tmp_path / "mlp.png", params=params)
    png = (tmp_path / "mlp.png").read_bytes()
    assert png.startswith(PNG) and len(png) > 10_000
    assert sorted(gids(fig, "node")) == sorted(f"node{n.index}" for n in nodes)
    assert len(gids(fig, "edge")) == len(edges)
    viz.draw_graph(loss, tmp_path / "mlp.svg", params=params)
    svg = (tmp_path / "mlp.svg").read_text()
    assert len(set(re.findall(r'id="(node\d+)"', svg))) == len(nodes)
    assert len(set(re.findall(r'id="(edge\d+)"', svg))) == len(edges)


def test_layout_ranks_are_longest_paths_and_rows_do_not_cross():
    loss, params = mlp_loss((12, 10, 8, 6, 5, 3))
    nodes, edges = viz.graph_nodes(loss, params), viz.graph_edges(loss)
    rank = {n.index: n.rank for n in nodes}
    assert rank[0] == 0 and nodes[0].kind == "root" and nodes[0].node is loss.grad_fn
    for i, j, _ in edges:
        assert rank[j] > rank[i]
    for n in nodes[1:]:  # longest path: some parent sits exactly one row above
        assert any(rank[i] == n.rank - 1 for i, j, _ in edges if j == n.index)
    for r in set(rank.values()):
        assert sorted(n.order for n in nodes if n.rank == r) == list(range(sum(n.rank == r for n in nodes)))
    assert crossings(nodes, edges) == 0


def test_long_edges_bend_around_the_rows_they_cross():
    """Weight decay adds edges from the top of the graph to every weight, many rows down."""
    loss, params = mlp_loss((12, 10, 8, 6, 5, 3))
    total = loss + 1e-4 * sum((p ** 2).sum() for name, p in params.items() if name.endswith("weight"))
    nodes, edges = viz.graph_nodes(total, params), viz.graph_edges(total)
    graph = viz._build(total, params)
    rank = {n.index: n.rank for n in nodes}
    assert [len(b) for b in graph.bends] == [rank[j] - rank[i] - 1 for i, j, _ in edges]
    assert sum(len(b) for b in graph.bends) > 10
    rows: dict[int, list] = {}  # every row, virtual nodes included: in order, at least 1 apart
    for n in nodes:
        rows.setdefault(n.rank, []).append((n.order, n.x))
    for bends in graph.bends:
        for x, y in bends:
            rows[-y].append((None, x))
    for row in rows.values():
        xs = sorted(x for _, x in row)
        assert all(b - a >= 1 - 1e-9 for a, b in zip(xs, xs[1:]))
        real = sorted((k, x) for k, x in row if k is not None)
        assert [x for _, x in real] == sorted(x for _, x in real)
    fig = viz.draw_graph(total, params=params)
    assert len(fig.axes[0].lines) == sum(1 for b in graph.bends if b)  # one polyline per long edge
    assert len(gids(fig, "edge")) == len(edges) and len(gids(fig, "node")) == len(nodes)


def test_leaf_labels_names_shapes_and_grads():
    loss, params = mlp_loss((6, 4, 3))
    names = [n.label.splitlines()[0] for n in viz.graph_nodes(loss, params) if n.kind == "leaf"]
    assert sorted(names) == sorted(params)
    pairs = [n.label.splitlines()[0] for n in viz.graph_nodes(loss, iter(params.items())) if n.kind == "leaf"]
    assert sorted(pairs) == sorted(params)  # named_parameters()'s (name, tensor) pairs work too
    unnamed = [n.label for n in viz.graph_nodes(loss) if n.kind == "leaf"]
    assert sorted(u.splitlines()[0] for u in unnamed) == sorted(str(tuple(p.shape)) for p in params.values())
    assert all("requires_grad=True" in u and "grad" not in u.replace("requires_grad", "") for u in unnamed)
    x = tg.tensor(2.0, requires_grad=True)
    y = x ** 2
    y.backward(retain_graph=True)
    [leaf] = [n for n in viz.graph_nodes(y, {"x": x}) if n.kind == "leaf"]
    assert leaf.label.splitlines() == ["x", "()", "requires_grad=True", "data 2", "grad 4"]
    assert viz.graph_nodes(y)[0].label == "PowBackward0\n()"


QUOTED = r'"(?:[^"\\\n]|\\.)*"'  # a DOT double-quoted string: no raw newline, escapes allowed


def read_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A strict reader for the DOT subset to_dot writes (pydot checks the full grammar):
    returns node -> unescaped label, and the edges."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph autograd {" and lines[-1] == "}"
    attrs = rf"\[(\w+=({QUOTED}|\w+))(, \w+=({QUOTED}|\w+))*\]"
    labels, edges = {}, []
    for line in lines[1:-1]:
        line = line.strip()
        if m := re.fullmatch(rf"(n\d+) \[label=({QUOTED}), fillcolor=({QUOTED})\];", line):
            labels[m[1]] = re.sub(r"\\(.)", lambda e: "\n" if e[1] == "n" else e[1], m[2][1:-1])
        elif m := re.fullmatch(rf"(n\d+) -> (n\d+)( {attrs})?;", line):
            edges.append((m[1], m[2]))
        else:
            assert re.fullmatch(rf"node {attrs};", line), line
    assert {n for e in edges for n in e} <= set(labels)
    return labels, edges


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's parser uses old pyparsing names
def test_to_dot_parses_with_as_many_nodes_and_edges():
    loss, params = mlp_loss((6, 5, 4, 3))
    params = {**params, 'odd "name" \\ here': params.pop("fc1.weight")}  # quotes and backslash escaped
    text = viz.to_dot(loss, params)
    expected_nodes, expected_edges = reachable(loss.grad_fn)
    labels, edges = read_dot(text)
    assert len(labels) == len(expected_nodes) and len(edges) == expected_edges
    assert sorted(labels.values()) == sorted(n.label for n in viz.graph_nodes(loss, params))
    assert 'odd "name" \\ here\n(5, 6)\nrequires_grad=True' in labels.values()
    try:
        import pydot
    except ImportError:  # the test extras install it; the strict reader above has still run
        return
    [graph] = pydot.graph_from_dot_data(text)
    nodes = [n for n in graph.get_nodes() if re.fullmatch(r"n\d+", n.get_name())]
    assert len(nodes) == len(expected_nodes) and len(graph.get_edges()) == expected_edges
    assert sorted(n.get_label() for n in nodes) == sorted(re.findall(rf"label=({QUOTED})", text))
    assert r'"odd \"name\" \\ here\n(5, 6)\nrequires_grad=True"' in [n.get_label() for n in nodes]


def test_repeated_edges_and_multi_output_nodes():
    a = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = a + a  # two edges from AddBackward0 to a's AccumulateGrad
    assert len(viz.graph_edges(b)) == 2 and len(viz.graph_nodes(b)) == 2
    fig = viz.draw_graph(b)
    assert len(gids(fig, "edge")) == 2
    first, second = a.split(2)
    c = (first * second.exp()).sum()
    dot = viz.to_dot(c)
    assert dot.count("->") == len(viz.graph_edges(c)) == reachable(c.grad_fn)[1]
    assert '[label="output 0"]' in dot and '[label="output 1"]' in dot  # SplitBackward0's two outputs


def test_a_leaf_alone_and_bad_input():
    x = tg.ones(2, 3, requires_grad=True)
    [node] = viz.graph_nodes(x)
    assert node.kind == "leaf" and node.node.variable is x
    with pytest.raises(ValueError, match="does not require grad"):
        viz.draw_graph(tg.ones(2))
    with pytest.raises(TypeError, match="expected a Tensor, got list"):
        viz.to_dot([1.0])
    with pytest.raises(ValueError, match=r"'g.jpg'.*\.png, \.svg, \.pdf"):
        viz.draw_graph(x, "g.jpg")


def test_plot_history(tmp_path):
    history = {"train_loss": [2.3, 1.1, 0.7], "test_loss": [2.0, 1.2, 0.9],
               "train_acc": [0.3, 0.7, 0.8], "test_acc": [tg.tensor(0.35), tg.tensor(0.6), tg.tensor(0.75)]}
    fig = viz.plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG)
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert list(fig.axes[1].lines[1].get_ydata()) == pytest.approx([0.35, 0.6, 0.75])
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]  # epochs count from 1
    fig = viz.plot_history({**history, "lr": [0.1, 0.1, 0.01]}, tmp_path / "curves.svg")
    assert len(fig.axes) == 3 and (tmp_path / "curves.svg").stat().st_size > 0
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.plot_history({})
    with pytest.raises(ValueError, match=r"history\['acc'\] must be a list of numbers"):
        viz.plot_history({"acc": ["high"]})
    with pytest.raises(ValueError, match=r"history\['loss'\] is empty"):
        viz.plot_history({"loss": []})


def test_viz_is_lazily_loaded():
    import subprocess
    import sys
    code = "import sys, tinygrad_edu as t; assert 'tinygrad_edu.viz' not in sys.modules; t.viz.draw_graph; " \
           "assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=30, deadline=None)
@given(programs)
def test_random_graphs_layout_and_dot(program):
    loss, _ = random_graph(program)
    expected_nodes, expected_edges = reachable(loss.grad_fn)
    graph = viz._build(loss, None)
    assert {n.node for n in graph.nodes} == set(expected_nodes) and len(graph.nodes) == len(expected_nodes)
    assert len(graph.edges) == expected_edges
    rank = {n.index: n.rank for n in graph.nodes}
    assert all(rank[j] > rank[i] for i, j, _ in graph.edges)
    rows: dict[int, list[float]] = {}
    for n in graph.nodes:
        rows.setdefault(n.rank, []).append(n.x)
    for bends in graph.bends:
        for x, y in bends:
            rows[-y].append(x)
    for xs in rows.values():
        xs.sort()
        assert all(b - a >= 1 - 1e-9 for a, b in zip(xs, xs[1:]))
    labels, edges = read_dot(viz.to_dot(loss))
    assert len(labels) == len(expected_nodes) and len(edges) == expected_edges


LONG_CHAIN = """
import sys, time
import tinygrad_edu as tg
from tinygrad_edu import viz
x = tg.tensor(1.0, requires_grad=True)
y = x
for _ in range(8000):
    y = y * 1.0001
start = time.perf_counter()
dot = viz.to_dot(y)
assert dot.count("->") == 8000 and dot.count("[label=") == 8001, dot[:200]
graph = viz._build(y, None)  # the layout draw_graph uses
assert [n.x for n in graph.nodes] == [0.0] * 8001 and [n.rank for n in graph.nodes] == list(range(8001))
print(f"{time.perf_counter() - start:.2f}")
"""


def test_an_8000_op_chain_is_laid_out_in_linear_time():
    """Issue 10: to_dot ran the layout (quadratic: 400 s for 8,000 ops). Now to_dot is O(n) and
    the layout O(n log n): a child process with a time limit (~1 s here when the machine is idle)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", LONG_CHAIN], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_virtual_nodes_are_bounded_on_a_graph_of_long_edges():
    """stack() of every step of a chain: edges spanning 1..n rows would need n^2/2 virtual nodes."""
    x = tg.tensor(1.0, requires_grad=True)
    ys = [x * 2]
    for _ in range(299):
        ys.append(ys[-1] * 1.0001)
    loss = tg.stack(ys).sum()
    graph = viz._build(loss, None)
    n, e = len(graph.nodes), len(graph.edges)
    assert 0 < sum(len(b) for b in graph.bends) <= 4 * (n + e) < 300 * 299 / 2
    rank = {g.index: g.rank for g in graph.nodes}
    for (i, j, _), bends in zip(graph.edges, graph.bends):  # bent fully or drawn straight
        assert len(bends) in (0, rank[j] - rank[i] - 1)
    assert any(rank[j] - rank[i] > 1 and not b for (i, j, _), b in zip(graph.edges, graph.bends))


def test_viz_and_trace_do_not_import_each_other():
    """Issue 11: the display helpers they share live in tinygrad_edu/_display.py. trace never
    imports viz; of viz only record.py (the backward page's recorder) uses the tracer, and the
    graph, layout, drawing and page modules import nothing of it."""
    import ast
    from pathlib import Path
    root = Path(tg.__file__).parent

    def imports(path: Path) -> set[str]:
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                found.add("." * node.level + (node.module or "") + ":" + ",".join(a.name for a in node.names))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    trace_imports = imports(root / "autograd" / "trace.py")
    assert not [i for i in trace_imports if "viz" in i], trace_imports
    for module in (root / "viz").glob("*.py"):
        if module.name == "record.py":
            continue
        assert not [i for i in imports(module) if "trace" in i], (module.name, imports(module))


def test_the_package_keeps_the_module_names():
    for name in ("GraphNode", "graph_nodes", "graph_edges", "draw_graph", "to_dot", "plot_history", "new_figure",
                 "save_figure", "format_shape", "param_names", "Tensor", "Node", "AccumulateGrad",
                 "grad_accumulator", "_build"):
        assert hasattr(viz, name), name
    assert set(viz.__all__) <= set(dir(viz))

"""`backward_page(loss, "page.html")`: one self-contained HTML file that steps through backward().

No server, no network: the graph is inline SVG drawn here with our layered layout, the numbers
are those `record_backward` took from the real engine (JSON in the page), and `page.js` /
`page.css` (beside this file) are inlined. Keys: arrows step, Home/End, +/- zoom, c collapses
layers, 1-9 switch between examples when a page holds several.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from .record import record_backward

CHAR_W, LINE_H, PAD = 8.5, 18, 8  # 14px monospace: its advance is ~8.4px
MARGIN, GAP_X, GAP_Y = 30, 44, 58
_HERE = Path(__file__).parent


def _box(lines: list[str]) -> tuple[float, float]:
    """A box's width and height: its lines and one more for the value shown as backward runs."""
    chars = max(18, *(len(line) for line in lines))
    return chars * CHAR_W + 2 * PAD, (len(lines) + 1) * LINE_H + PAD + 2


def _node_svg(vid, lines, kind, members, cx, cy, w, h) -> str:
    top = cy - h / 2
    name = ' class="name"'
    texts = "".join(f'<text x="{cx:.1f}" y="{top + PAD + LINE_H * (k + 0.8):.1f}" text-anchor="middle"'
                    f'{name if k == 0 else ""}>{html.escape(line)}</text>' for k, line in enumerate(lines))
    return (f'<g class="node kind-{kind}" data-id="{vid}" data-members="{" ".join(map(str, members))}" '
            f'data-x="{cx:.1f}" data-y="{cy:.1f}"><rect x="{cx - w / 2:.1f}" y="{top:.1f}" width="{w:.1f}" '
            f'height="{h:.1f}" rx="7"/>{texts}<text class="val" x="{cx:.1f}" '
            f'y="{top + PAD + LINE_H * (len(lines) + 0.8):.1f}" text-anchor="middle"></text></g>')


def _edge_path(points: list[tuple[float, float]], bend: float) -> tuple[str, float, float, str]:
    """SVG path through the points (a curve to the side when `bend`), and where its label goes:
    beside the middle of the last leg, on its right, clear of the line."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    if len(points) == 2 and bend:
        d = f"M{x0:.1f},{y0:.1f} Q{mx + bend:.1f},{my:.1f} {x1:.1f},{y1:.1f}"
        side = 1 if bend > 0 else -1  # the label outside the curve's apex (half the control offset)
        return d, mx + bend / 2 + 7 * side, my + 4, "start" if side > 0 else "end"
    d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    length = max(1e-9, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
    nx, ny = (y1 - y0) / length, -(x1 - x0) / length  # a normal of the leg, turned to point right
    if nx < 0:
        nx, ny = -nx, -ny
    return d, mx + 8 * nx, my + 8 * ny + 4, "start"


def _view_svg(ex: int, name: str, view: dict, data: dict) -> str:
    """One view (full or collapsed) of one example as an <svg> element."""
    nodes = data["nodes"]
    groups = data["groups"]
    lines = {n["id"]: groups[n["group"]]["lines"] if n.get("group") is not None else nodes[n["id"]]["lines"]
             for n in view["nodes"]}
    sizes = {vid: _box(ls) for vid, ls in lines.items()}
    col = max(w for w, _ in sizes.values()) + GAP_X
    row = max(h for _, h in sizes.values()) + GAP_Y

    def at(x, rank):
        return MARGIN + x * col + col / 2, MARGIN + rank * row + row / 2

    centre = {n["id"]: at(n["x"], n["rank"]) for n in view["nodes"]}
    parts, repeats, count = [], {}, {}
    for e in view["edges"]:
        count[(e["from"], e["to"])] = count.get((e["from"], e["to"]), 0) + 1
    for e in view["edges"]:
        (x0, y0), (x1, y1) = centre[e["from"]], centre[e["to"]]
        points = [(x0, y0 + sizes[e["from"]][1] / 2), *(at(x, r) for x, r in e["bends"]),
                  (x1, y1 - sizes[e["to"]][1] / 2)]
        k = repeats[(e["from"], e["to"])] = repeats.get((e["from"], e["to"]), -1) + 1  # b = a + a
        d, lx, ly, anchor = _edge_path(points, 56 * (k - (count[(e["from"], e["to"])] - 1) / 2))
        parts.append(f'<g class="edge" data-edges="{" ".join(map(str, e["edges"]))}"><path d="{d}" '
                     f'marker-end="url(#arrow-{ex}-{name})"/>'
                     f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}"></text></g>')
    for n in view["nodes"]:
        kind = "group" if n.get("group") is not None else nodes[n["id"]]["kind"]
        parts.append(_node_svg(n["id"], lines[n["id"]], kind, n["members"], *centre[n["id"]], *sizes[n["id"]]))
    width = 2 * MARGIN + (max(n["x"] for n in view["nodes"]) + 1) * col
    height = 2 * MARGIN + (max(n["rank"] for n in view["nodes"]) + 1) * row
    marker = (f'<defs><marker id="arrow-{ex}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
              'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
              '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>')
    return (f'<svg class="graph" id="ex{ex}-{name}" role="img" aria-label="autograd graph ({name} view)" '
            f'data-width="{width:.0f}" data-height="{height:.0f}" hidden>{marker}<g class="camera">'
            + "".join(parts) + "</g></svg>")


def _controls(examples: list[dict]) -> str:
    tabs = "".join(f'<button type="button" aria-pressed="false">{k + 1}. {html.escape(e["title"])}</button>'
                   for k, e in enumerate(examples)) if len(examples) > 1 else ""
    return f"""<header>
<h1 id="title"></h1>
<nav id="examples" aria-label="examples">{tabs}</nav>
<div id="controls" role="toolbar" aria-label="step through backward()">
<button type="button" id="first" aria-label="first step">« start</button>
<button type="button" id="back" aria-label="previous step">◀ back</button>
<button type="button" id="next" aria-label="next step">step ▶</button>
<button type="button" id="last" aria-label="last step">end »</button>
<span id="counter" aria-live="polite"></span>
<button type="button" id="collapse" aria-pressed="false">collapse layers</button>
<button type="button" id="zoomout" aria-label="zoom out">−</button>
<button type="button" id="fit">fit</button>
<button type="button" id="zoomin" aria-label="zoom in">+</button>
</div>
<p class="keys">Keys: → or ↓ step, ← or ↑ back, Home / End, + / − zoom, 0 fit, c collapse layers;
drag to pan, wheel to zoom{"; 1-9 pick an example" if tabs else ""}.</p>
</header>"""


def render_page(examples: list[dict]) -> str:
    """The HTML text of a page holding the recorded examples (see `record_backward`)."""
    if not examples:
        raise ValueError("backward page: nothing to show - no recorded backward pass was given")
    svgs = "".join(_view_svg(k, name, view, e) for k, e in enumerate(examples) for name, view in e["views"].items())
    payload = {"examples": [{k: v for k, v in e.items() if k != "views"} | {"views": list(e["views"])}
                            for e in examples]}
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    css = (_HERE / "page.css").read_text(encoding="utf-8")
    js = (_HERE / "page.js").read_text(encoding="utf-8")
    title = html.escape(examples[0]["title"] if len(examples) == 1 else "backward(), step by step")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}</style>
</head>
<body>
{_controls(examples)}
<main>
<div id="stage">{svgs}</div>
<aside>
<section id="now" aria-live="polite"></section>
<section><h2>Leaves</h2><table id="leaves"></table></section>
<section><h2>Topological order (the order backward() runs the nodes)</h2><ol id="order"></ol></section>
</aside>
</main>
<script type="application/json" id="data">{data}</script>
<script>
{js}</script>
</body>
</html>
"""


def write_page(examples: list[dict], path) -> Path:
    """Write the page of several recorded passes (one tab each); returns the path."""
    path = Path(path)
    path.write_text(render_page(examples), encoding="utf-8")
    return path


def backward_page(tensor, path, params=None, *, title: str | None = None, notes=None) -> Path:
    """Run `tensor.backward()` and write one self-contained HTML page that steps through it.

    `params`: names for the leaves (a name -> tensor dict, `model.named_parameters()`, or the
    model itself, whose layers can then be collapsed into one box each); `notes`: {tensor: text}
    shown at the step of that tensor's node. Like `backward()`, it adds into the leaves' `.grad`
    (the graph is retained: the page shows the tensors each node saved). Returns the path.
    """
    return write_page([record_backward(tensor, params, title=title, notes=notes)], path)

"""What the backward page shows, recorded by the real engine: `record_backward(loss)` runs
`loss.backward(retain_graph=True)` under `autograd.trace()` and returns plain data (JSON-able).

Every number comes from the trace (what each node received and sent, the tensors it saved in
forward, each leaf's `.grad` after the engine added into it) or from the leaves before the
pass; the page only displays them. The graph is retained so that the saved tensors can still
be read when the trace records a node (the engine frees them as it goes otherwise).
"""
from __future__ import annotations

from .._display import format_shape, param_names
from ..autograd.function import AccumulateGrad
from ..autograd.trace import Values, trace
from .formulas import formula, saved_names
from .graph import _build
from .groups import find_groups, quotient_view


def _number(x: float) -> str:
    return f"{x:.6g}"


def text(v: Values | None) -> str | None:
    """A recorded tensor as the page writes it: the number, or shape, first numbers and norm."""
    if v is None:
        return None
    if v.numel == 1:
        return _number(v.head[0])
    more = ", …" if v.numel > len(v.head) else ""
    return f"{format_shape(v.shape)} [{', '.join(f'{h:.4g}' for h in v.head)}{more}] norm {v.norm:.4g}"


def short(v: Values | None) -> str | None:
    """The same in a few characters, for a box or an arrow."""
    if v is None:
        return None
    return _number(v.head[0]) if v.numel == 1 else f"norm {v.norm:.3g}"


def _operand(v: Values) -> str:
    s = _number(v.head[0])
    return f"({s})" if s.startswith("-") else s


def _simplify(expr: str, attrs: dict) -> str:
    """Drop `alpha * ` and `beta * ` where they are 1 (as they are for `a + b`)."""
    for a in ("alpha", "beta"):
        if attrs.get(a) == 1:
            expr = expr.replace(f"{a} * ", "").replace(f"{{{a}}} * ", "")
    return expr


def _with_numbers(template: str | None, scope: dict, sent: Values | None) -> str | None:
    """`grad * b` -> `-13 * (-0.5) = 6.5`: recorded scalars put in, the recorded result after."""
    if template in (None, "{grad}") or sent is None or sent.numel != 1:
        return None
    values = {}
    for name, v in scope.items():
        if v is None:
            continue
        if isinstance(v, Values):
            if v.numel != 1:
                return None
            values[name] = _operand(v)
        else:
            values[name] = _number(v) if not isinstance(v, str) else v
    try:
        return template.format(**values) + " = " + _number(sent.head[0])
    except KeyError:  # a value the node did not keep
        return None


def _labels(graph, names: dict[int, str]) -> list[list[str]]:
    """Short box labels: the node's name and output shape; a leaf's name, shape and value."""
    labels = []
    for n in graph.nodes:
        if n.kind == "leaf":
            v = n.node.variable
            lines = [names.get(id(v), "leaf"), format_shape(tuple(v.shape))]
            if v.numel() == 1:
                lines.append(f"data {_number(float(v._data.reshape(-1)[0]))}")
        else:
            lines = n.label.splitlines()[:2]
        labels.append(lines)
    return labels


def _slots(graph) -> list[int]:
    """For each drawn edge, its place in the sender's next_functions (the input it belongs to)."""
    slots = []
    for n in graph.nodes:
        slots += [j for j, (child, _) in enumerate(n.node.next_functions) if child is not None]
    return slots


def _notes(notes) -> dict:
    """tensor -> text, or (tensor, text) pairs: the note goes to the step of the tensor's node."""
    items = notes.items() if isinstance(notes, dict) else (notes or ())
    return {(t.grad_fn if t.grad_fn is not None else t): text for t, text in items}


def record_backward(tensor, params=None, title: str | None = None, notes=None) -> dict:
    """Run `tensor.backward(retain_graph=True)` under `autograd.trace()`; return the page's data.

    `params`: a name -> tensor dict, `model.named_parameters()`, or a Module (its layers can then
    be collapsed into one box each). `notes`: {tensor: text} shown at the step of that tensor's
    node (for a leaf, at its AccumulateGrad). `.grad` is accumulated as by `backward()`.
    """
    module = params if hasattr(params, "named_parameters") else None
    params = dict(module.named_parameters() if module is not None else params or {})  # a generator: once
    names = param_names(params)
    graph = _build(tensor, names)
    index = {n.node: n.index for n in graph.nodes}
    before = {n.index: Values.of(n.node.variable._grad) for n in graph.nodes  # .grad before the pass
              if n.kind == "leaf" and n.node.variable._grad is not None}
    with trace(params) as t:
        tensor.backward(retain_graph=True)
    step_of = {index[s.node]: s.index for s in t.steps}
    slots = _slots(graph)
    edges = []
    for k, ((i, j, nr), slot) in enumerate(zip(graph.edges, slots)):
        sent = t.steps[step_of[i]].sent[slot] if i in step_of else None
        edges.append({"from": i, "to": j, "slot": slot, "step": step_of.get(i) if sent is not None else None,
                      "text": text(sent), "short": short(sent)})
    labels = _labels(graph, names)
    groups = find_groups(graph, names, module)
    noted = _notes(notes)
    into: dict[int, list[int]] = {}  # node -> the edges arriving at it, and leaving it by slot
    out: dict[int, dict[int, int]] = {}
    for k, e in enumerate(edges):
        into.setdefault(e["to"], []).append(k)
        out.setdefault(e["from"], {})[e["slot"]] = k
    steps = [_step(s, index, labels, edges, (into, out), graph, before, noted) for s in t.steps]
    full = {"nodes": [{"id": n.index, "x": n.x, "rank": n.rank, "members": [n.index]} for n in graph.nodes],
            "edges": [{"from": i, "to": j, "edges": [k], "bends": [[x, -y] for x, y in b]}
                      for k, ((i, j, _), b) in enumerate(zip(graph.edges, graph.bends))]}
    return {"title": title or f"backward() of {graph.nodes[0].node.name()}",
            "nodes": [{"id": n.index, "kind": n.kind, "name": n.node.name(), "lines": labels[n.index],
                       "step": step_of.get(n.index), "before": text(before.get(n.index)),
                       "before_short": short(before.get(n.index))} for n in graph.nodes],
            "edges": edges, "steps": steps, "groups": groups,
            "views": {"full": full, **({"collapsed": quotient_view(graph, groups)} if groups else {})}}


def _step(s, index: dict, labels: list, edges: list, links, graph, before: dict, noted: dict) -> dict:
    """One engine step as the page shows it (all numbers from the trace)."""
    i = index[s.node]
    node = graph.nodes[i]
    attrs = dict(s.attributes)
    scope = {"grad": s.received[0] if s.received and s.received[0] is not None else None, **attrs}
    scope.update({n: v for n, v in zip(saved_names(s.name, len(s.saved)), s.saved) if v is not None})
    into, out = links
    arrivals = [{"edge": k, "from": edges[k]["from"], "step": edges[k]["step"], "text": edges[k]["text"]}
                for k in into.get(i, ()) if edges[k]["step"] is not None]
    sends = []
    out_edges = out.get(i, {})
    for slot, v in enumerate(s.sent):
        f, template = formula(s.name, slot)
        f = _simplify(f, attrs)
        k = out_edges.get(slot)
        sends.append({"edge": k, "to": " ".join(labels[edges[k]["to"]][:1]) if k is not None else None,
                      "formula": f, "numbers": _with_numbers(template and _simplify(template, attrs), scope, v),
                      "text": text(v)})
    if isinstance(s.node, AccumulateGrad):
        sends.append({"edge": None, "to": ".grad", "formula": formula(s.name, 0)[0], "numbers": None,
                      "text": text(s.grad)})
    key = s.node.variable if isinstance(s.node, AccumulateGrad) else s.node
    return {"node": i, "name": s.name, "label": labels[i][0], "kind": node.kind,
            "received": [text(v) for v in s.received], "arrivals": arrivals,
            "saved": [[n, text(v)] for n, v in zip(saved_names(s.name, len(s.saved)), s.saved) if v is not None],
            "attributes": [[k, _number(v)] for k, v in attrs.items()], "sends": sends,
            "grad_before": text(before.get(i)), "grad_after": text(s.grad), "grad_short": short(s.grad),
            "received_short": short(s.received[0]) if s.received else None, "note": noted.get(key)}

"""Collapsing a layer into one box, so that a big graph (the MNIST MLP) stays readable.

A layer is found from the parameter names: `fc1.weight` and `fc1.bias` belong to `fc1`. Its box
takes the parameters' leaves, the nodes computed from them alone (`TBackward0` of the weight) and
the nodes that consume them (`AddmmBackward0`, also for the first layer, whose input needs no
gradient: an input without a node still counts as an input): what `nn.Linear` recorded. Activations and the
loss stay outside. A grouping that would make the collapsed graph cyclic (weight decay on the
loss ties the top of the graph to every layer) is left expanded.
"""
from __future__ import annotations

from .layout import layout as layered_layout


def _prefix(name: str | None) -> str | None:
    return name.rsplit(".", 1)[0] if name and "." in name else None


def _layer_of(graph, names: dict[int, str]) -> dict[int, str]:
    """node index -> the layer (parameter prefix) it belongs to, for the nodes that belong to one."""
    children: list[list[int]] = [[] for _ in graph.nodes]
    for i, j, _ in graph.edges:
        children[i].append(j)
    param_only: dict[int, str] = {}  # the parameters and nodes leading only to them
    layer: dict[int, str] = {}
    for n in reversed(graph.nodes):  # children first: graph.nodes puts every parent before its children
        i, kids = n.index, children[n.index]
        if n.kind == "leaf":
            prefix = _prefix(names.get(id(n.node.variable)))
            if prefix:
                param_only[i] = layer[i] = prefix
        elif n.kind == "op":
            prefixes = {param_only.get(c) for c in kids}
            depends_on_input = any(child is None for child, _ in n.node.next_functions)  # x in x @ w.T
            if kids and len(prefixes) == 1 and None not in prefixes and not depends_on_input:
                param_only[i] = layer[i] = prefixes.pop()
            else:
                consumed = {param_only[c] for c in kids if c in param_only}
                if len(consumed) == 1:
                    layer[i] = consumed.pop()
    return layer


def _label(prefix: str, module, members: int, params: int) -> list[str]:
    sub = dict(module.named_modules()).get(prefix) if module is not None else None
    kind = type(sub).__name__ if sub is not None else "layer"
    sizes = ""
    if sub is not None and hasattr(sub, "in_features"):
        sizes = f" {sub.in_features}→{sub.out_features}"
    return [f"{prefix}: {kind}{sizes}", f"{members} nodes, {params} params"]


def _quotient(graph, member_of: dict[int, int]) -> tuple[list, list] | None:
    """The collapsed graph's nodes (in topological order) and edges; None if it has a cycle."""
    vid = [("g", member_of[n.index]) if n.index in member_of else ("n", n.index) for n in graph.nodes]
    ids = list(dict.fromkeys(vid))
    at = {v: k for k, v in enumerate(ids)}
    edges: dict[tuple[int, int], list[int]] = {}
    for k, (i, j, _) in enumerate(graph.edges):
        a, b = at[vid[i]], at[vid[j]]
        if a != b:
            edges.setdefault((a, b), []).append(k)
    if len(_topological(len(ids), list(edges))) < len(ids):
        return None
    return ids, [(a, b, ks) for (a, b), ks in edges.items()]


def find_groups(graph, names: dict[int, str], module=None) -> list[dict]:
    """The layers to collapse: [{"name", "lines", "members"}], each with at least two nodes."""
    layer = _layer_of(graph, names)
    groups: list[dict] = []
    member_of: dict[int, int] = {}
    for prefix in dict.fromkeys(layer[n.index] for n in graph.nodes if n.index in layer):
        members = [i for i, p in layer.items() if p == prefix]
        if len(members) < 2:
            continue
        trial = {**member_of, **{i: len(groups) for i in members}}
        if _quotient(graph, trial) is None:
            continue  # collapsing it would make a cycle: leave it expanded
        member_of = trial
        params = sum(graph.nodes[i].kind == "leaf" for i in members)
        groups.append({"name": prefix, "lines": _label(prefix, module, len(members), params),
                       "members": sorted(members)})
    return groups


def quotient_view(graph, groups: list[dict]) -> dict:
    """The collapsed view: one node per group or ungrouped node, laid out like the full graph."""
    member_of = {i: g for g, group in enumerate(groups) for i in group["members"]}
    ids, edges = _quotient(graph, member_of)
    rank = [0] * len(ids)  # longest path from the root, as in the full graph
    out: list[list[int]] = [[] for _ in ids]
    for a, b, _ in edges:
        out[a].append(b)
    for a in _topological(len(ids), [(a, b) for a, b, _ in edges]):
        for b in out[a]:
            rank[b] = max(rank[b], rank[a] + 1)
    flat = [(a, b, 0) for a, b, _ in edges]
    _, xs, routes = layered_layout(rank, flat)
    nodes = [{"id": f"g{v[1]}" if v[0] == "g" else v[1], "x": xs[k], "rank": rank[k],
              "members": groups[v[1]]["members"] if v[0] == "g" else [v[1]], "group": v[1] if v[0] == "g" else None}
             for k, v in enumerate(ids)]
    return {"nodes": nodes,
            "edges": [{"from": nodes[a]["id"], "to": nodes[b]["id"], "edges": ks,
                       "bends": [[xs[r], rank[a] + t + 1] for t, r in enumerate(route)]}
                      for (a, b, ks), route in zip(edges, routes)]}


def _topological(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Kahn's algorithm; fewer than n nodes returned means a cycle."""
    indegree = [0] * n
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        indegree[b] += 1
        out[a].append(b)
    order = [k for k in range(n) if indegree[k] == 0]
    for k in order:  # the list grows while it is walked
        for b in out[k]:
            indegree[b] -= 1
            if indegree[b] == 0:
                order.append(b)
    return order

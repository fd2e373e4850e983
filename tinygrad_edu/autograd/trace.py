"""`autograd.trace()`: watch the backward engine run, one row per node, with gradient norms.

    with tinygrad_edu.autograd.trace() as t:
        loss.backward()
    print(t)            # a table: step, node, gradient shapes and norms
    t.steps             # the same as a list of `Step`
    t.plot("norms.png") # the gradient norm reaching each node: vanishing gradients show up
    t.steps[0].sent     # what the first node sent along each edge: shape, norm, first values

Each step also keeps a glimpse (`Values`: shape, norm, first few numbers) of what was received
and sent, of a leaf's `.grad` once filled in, and, when the graph is retained
(`backward(retain_graph=True)`), of the tensors the node saved in forward: the numbers
`viz.backward_page` shows. The engine frees saved tensors as it goes otherwise.

The steps come in the engine's own execution order (a reverse topological order of the graph:
a node runs only after every node that sends it a gradient). PyTorch has no such tracer; the
nearest is a hook on every node (`grad_fn.register_hook`), which is what this does at once.
Words follow PyTorch's node hooks: a node *receives* the gradients with respect to its outputs
(`grad_outputs`) and *sends* the gradients with respect to its inputs (`grad_inputs`) along
its `next_functions`. A leaf's `AccumulateGrad` sends nothing: it adds into `.grad`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._display import format_shape, leaf_label, new_figure, param_names, save_figure
from . import engine
from .function import AccumulateGrad, Node


HEAD = 6  # how many numbers of each tensor a step keeps (in C order)


@dataclass(frozen=True)
class Values:
    """A glimpse of a tensor recorded during backward: its shape, 2-norm and first numbers."""

    shape: tuple
    norm: float
    head: tuple  # the first HEAD numbers of the flattened tensor, as Python floats
    numel: int

    @classmethod
    def of(cls, t) -> Values:
        data = t._data
        return cls(tuple(data.shape), _norm(t), tuple(float(v) for v in data.reshape(-1)[:HEAD]), int(data.size))


@dataclass(frozen=True)
class Step:
    """One node run by the backward engine."""

    index: int
    name: str  # PyTorch's node name, e.g. "AddmmBackward0"
    label: str  # the name, or for a leaf its parameter name (or shape)
    node: Node  # kept alive while the trace is (its saved tensors are freed as usual)
    grad_output_shapes: tuple  # shapes of the gradients the node received (one per output)
    grad_output_norm: float  # 2-norm of everything it received
    grad_input_shapes: tuple  # shape sent along each next_functions edge (None: nothing sent)
    grad_input_norms: tuple  # 2-norm sent along each edge (None: nothing sent)
    received: tuple = ()  # Values of each gradient received (None: none for that output)
    sent: tuple = ()  # Values sent along each edge (None: nothing sent)
    saved: tuple = ()  # Values of each saved tensor (None: not a tensor); () once freed
    attributes: tuple = ()  # (name, number) the node kept from forward, e.g. ("exponent", 2)
    grad: Values | None = None  # a leaf's .grad after this step added into it

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.node, AccumulateGrad)


def _norm(g) -> float:
    # float64, so that a float32 gradient of 1e-30 still has a visible norm
    return float(np.sqrt(np.sum(np.square(g._data, dtype=np.float64))))


def _saved(node: Node) -> tuple:
    """Glimpses of what the node saved in forward, if the engine has not freed it yet."""
    if getattr(node, "_saved", None) is None:
        return ()
    try:
        saved = node.saved_tensors
    except RuntimeError:  # modified in place since forward: backward itself will have said so
        return ()
    return tuple(Values.of(t) if hasattr(t, "_data") else None for t in saved)


def _attributes(node: Node) -> tuple:
    """The numbers a node kept from forward (`exponent`, `alpha`, ...), not its bookkeeping."""
    return tuple((k, v) for k, v in vars(node).items()
                 if not k.startswith("_") and type(v) in (int, float) and k != "materialize_grads")


def _number(x) -> str:
    return "-" if x is None else f"{x:.4g}"


class trace:
    """Context manager recording every node the backward engine runs while it is active.

    `params` (a name -> tensor dict, e.g. `dict(model.named_parameters())`) names the leaves.
    """

    def __init__(self, params=None):
        self.steps: list[Step] = []
        self._names = param_names(params)

    def __enter__(self) -> trace:
        engine.tracers.append(self)
        return self

    def __exit__(self, *exc) -> None:
        engine.tracers.remove(self)

    def record(self, node: Node, received: list, sent) -> None:
        """Called by the engine after it ran `node` (received: per output; sent: per edge)."""
        got = tuple(None if g is None else Values.of(g) for g in received)
        sent = tuple(None if g is None else Values.of(g) for g in sent)
        leaf = isinstance(node, AccumulateGrad)
        label = leaf_label(node.variable, self._names) if leaf else node.name()
        self.steps.append(Step(
            index=len(self.steps), name=node.name(), label=label, node=node,
            grad_output_shapes=tuple(None if v is None else v.shape for v in got),
            grad_output_norm=float(np.sqrt(sum(v.norm ** 2 for v in got if v is not None))),
            grad_input_shapes=tuple(None if v is None else v.shape for v in sent),
            grad_input_norms=tuple(None if v is None else v.norm for v in sent),
            received=got, sent=sent,
            saved=_saved(node), attributes=_attributes(node),
            grad=Values.of(node.variable._grad) if leaf and node.variable._grad is not None else None))

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<autograd.trace: {len(self.steps)} backward steps>"

    def __str__(self) -> str:
        rows = [("step", "node", "received", "|received|", "sent", "|sent|")]
        for s in self.steps:
            rows.append((str(s.index), s.label if s.is_leaf else s.name,
                         " ".join(map(format_shape, s.grad_output_shapes)), _number(s.grad_output_norm),
                         " ".join(map(format_shape, s.grad_input_shapes)) or "-> .grad",
                         " ".join(map(_number, s.grad_input_norms)) or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.rjust(w) if i in (0, 3) else c.ljust(w) for i, (c, w) in
                                   enumerate(zip(r, widths))).rstrip() for r in rows)

    def plot(self, path=None, ax=None, leaves_only: bool = False, title: str | None = None):
        """Bar chart of the gradient norm reaching each step (log scale); returns the Figure.

        `leaves_only` keeps the AccumulateGrad steps, one bar per parameter: the per-layer view
        in which vanishing gradients (sigmoid versus ReLU) stand out. `ax` draws into your axes.
        """
        steps = [s for s in self.steps if s.is_leaf or not leaves_only]
        if not steps:
            raise ValueError("trace.plot(): nothing to plot - no backward step was recorded"
                             + (" at a leaf" if leaves_only and self.steps else ""))
        fig = ax.figure if ax is not None else new_figure((max(4.0, 0.35 * len(steps) + 1.5), 3.6))
        ax = ax if ax is not None else fig.add_subplot()
        norms = [s.grad_output_norm for s in steps]
        colors = ["#4c9be8" if s.is_leaf else "#b0b0b0" for s in steps]
        ax.bar(range(len(steps)), norms, color=colors)
        if max(norms) > 0:
            ax.set_yscale("log")  # vanishing gradients span orders of magnitude
        ax.set_xticks(range(len(steps)), [s.label for s in steps], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("gradient norm received")
        ax.set_xlabel("backward step" + (" (leaves)" if leaves_only else " (blue: leaves)"))
        ax.set_title(title or ("gradient norm per parameter" if leaves_only else "gradient norm per backward step"))
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig

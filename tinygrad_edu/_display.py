"""Display helpers shared by `autograd.trace` and `viz`, so that neither imports the other:
how a shape and a leaf are written, and matplotlib figures made and saved without pyplot."""
from __future__ import annotations

from pathlib import Path

FIGURE_FORMATS = (".png", ".svg", ".pdf")


def format_shape(shape) -> str:
    """`(2, 3)`, or `-` for no shape (no gradient sent)."""
    return "-" if shape is None else str(tuple(shape))


def param_names(params) -> dict[int, str]:
    """id(tensor) -> name, from a name -> tensor dict or `model.named_parameters()` (None: {})."""
    items = params.items() if isinstance(params, dict) else (params or ())
    return {id(t): name for name, t in items}


def leaf_label(variable, names: dict[int, str]) -> str:
    """A leaf's name in `params` (a name -> tensor dict, found by identity), else its shape."""
    return names.get(id(variable), "leaf " + format_shape(tuple(variable.shape)))


def new_figure(size: tuple[float, float]):
    """A matplotlib Figure not registered with pyplot: no display needed, nothing to close."""
    from matplotlib.figure import Figure
    return Figure(figsize=size, dpi=100)


def save_figure(fig, path) -> None:
    """Save by the path's suffix: .png, .svg or .pdf."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"cannot save a figure as {path.name!r}: the suffix must be one of "
                         f"{', '.join(FIGURE_FORMATS)}")
    fig.savefig(path, format=path.suffix.lower()[1:], bbox_inches="tight")

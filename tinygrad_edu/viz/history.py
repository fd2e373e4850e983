"""Training curves from a dict of per-epoch lists."""
from __future__ import annotations

from .._display import new_figure, save_figure


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

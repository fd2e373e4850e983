"""model.summary(): Keras's table of layers, output shapes and parameter counts.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 5)              │            45 │
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 45 (180.00 B)
     Trainable params: 45 (180.00 B)
     Non-trainable params: 0 (0.00 B)

Once fit has built the optimizer, an "Optimizer params" line follows (Adam: 2 per weight, plus
its step count and learning rate), included in the total as Keras does. Keras draws it with the `rich` library; we draw the same characters ourselves. A Dense layer
has in * units + units parameters, a Conv2D kh * kw * in * filters + filters, a
BatchNormalization 4 per channel (2 of them non-trainable statistics).
"""
from __future__ import annotations

import textwrap

import numpy as np

WIDTHS = (31, 22, 13)  # text width of each column (Keras's, for a Sequential model)


def readable_memory_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _rule(left: str, fill: str, mid: str, right: str) -> str:
    return left + mid.join(fill * (w + 2) for w in WIDTHS) + right


def _row(cells: list[str], bar: str = "│") -> list[str]:
    """One table row; long cells wrap onto more lines as rich wraps them (at spaces)."""
    columns = [textwrap.wrap(c, w, break_on_hyphens=False) or [""] for c, w in zip(cells, WIDTHS)]
    lines = []
    for i in range(max(len(c) for c in columns)):
        texts = [c[i] if i < len(c) else "" for c in columns]
        padded = [texts[0].ljust(WIDTHS[0]), texts[1].ljust(WIDTHS[1]), texts[2].rjust(WIDTHS[2])]
        lines.append(bar + bar.join(f" {t} " for t in padded) + bar)
    return lines


def _count(variables) -> int:
    return int(sum(np.prod(v.shape, dtype=np.int64) for v in variables))


def summary_lines(model) -> list[str]:
    lines = [f'Model: "{model.name}"', _rule("┏", "━", "┳", "┓")]
    lines += _row(["Layer (type)", "Output Shape", "Param #"], "┃")
    lines.append(_rule("┡", "━", "╇", "┩"))
    for i, layer in enumerate(model.layers):
        if i:
            lines.append(_rule("├", "─", "┼", "┤"))
        shape = str(layer.output_shape) if layer.built else "?"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        lines += _row([f"{layer.name} ({type(layer).__name__})", shape, params])
    lines.append(_rule("└", "─", "┴", "┘"))
    trainable, non_trainable = _count(model.trainable_weights), _count(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    in_optimizer = optimizer.count_params(trainable) if optimizer is not None and optimizer.built else 0
    counts = [("Total", trainable + non_trainable + in_optimizer), ("Trainable", trainable),
              ("Non-trainable", non_trainable)] + ([("Optimizer", in_optimizer)] if in_optimizer else [])
    for label, n in counts:
        lines.append(f" {label} params: {n:,} ({readable_memory_size(4 * n)})")
    return lines

"""The course notes' worked examples of backpropagation, recorded for the backward page.

    python -m tinygrad_edu.viz --notes -o tour.html       # or: examples/autograd_tour.py --page tour.html

1. y = x^2 at x = 2 (notes 003): dy/dx = 4;
2. f(u, v) = u*v + u^2 at u = 1, v = 2 (notes 003): two gradients meet at u and are summed;
3. y1 = 3x + 2, y2 = ReLU(y1), y3 = -0.5 y2 + 4, l = (y3 - 2)^2 at x = 5 (notes 004): loss 42.25,
   dl/dx = 19.5. The notes print 17.25: their dl/dy3 = 2 y3 - 4 is written -11.5 where it is
   -13. The page says so at the step where the engine computes that gradient.
"""
from __future__ import annotations

from ..tensor import tensor
from .page import write_page
from .record import record_backward


def _leaf(value: float):
    return tensor(value, requires_grad=True)


def square_at_two() -> dict:
    x = _leaf(2.0)
    y = x ** 2
    return record_backward(y, {"x": x}, title="y = x^2 at x = 2", notes={
        y: "PowBackward0 is the derivative of x^2: grad * 2 * x^(2-1) = 1 * 2 * 2 = 4.",
        x: "x.grad = 4 = dy/dx = 2x. The notes' table shows 8: that is after a second backward(), "
           "which adds another 4 into x.grad (zero it between steps)."})


def uv_plus_u_squared() -> dict:
    u, v = _leaf(1.0), _leaf(2.0)
    f = u * v + u ** 2
    return record_backward(f, {"u": u, "v": v}, title="f = u*v + u^2 at u = 1, v = 2", notes={
        u: "u is used twice: the engine sums what arrives from u*v (v = 2) and from u^2 (2u = 2) before "
           "adding into u.grad: df/du = v + 2u = 4. (The notes' 'u * 2' is a scanning slip for u ** 2.)",
        v: "df/dv = u = 1."})


def notes_chain() -> dict:
    """Notes 004: the network whose loss is 42.25, with the notes' slip shown where it happens."""
    x = _leaf(5.0)
    params = {"x": x, "w1": _leaf(3.0), "b1": _leaf(2.0), "w3": _leaf(-0.5), "b3": _leaf(4.0)}
    _, w1, b1, w3, b3 = params.values()
    y1 = w1 * x + b1
    y2 = y1.relu()
    y3 = w3 * y2 + b3
    loss = (y3 - 2) ** 2
    return record_backward(loss, params, title="l = (y3 - 2)^2, y3 = -0.5 ReLU(3x + 2) + 4 at x = 5 (loss 42.25)",
                           notes={
        loss: "Here the notes slip. This node computes dl/d(y3 - 2) = 2 (y3 - 2) = 2 * (-6.5) = -13, which is "
              "dl/dy3. The notes write dl/dy3 = 2 y3 - 4 = -11.5, but 2 * (-4.5) - 4 = -13. Everything below "
              "inherits it: they end with dl/dx = 17.25 where the engine finds 19.5.",
        y3: "dl/dy3 = -13 arrives here (the notes: -11.5).",
        y1: "dl/dy1 = -13 * -0.5 * 1 = 6.5 (ReLU'(17) = 1).",
        x: "dl/dx = dl/dy3 * dy3/dy2 * dy2/dy1 * dy1/dx = -13 * -0.5 * 1 * 3 = 19.5. The notes' 17.25 is "
           "-11.5 * -0.5 * 1 * 3: the slip of the first step, carried down."})


def notes_examples() -> list[dict]:
    """The three worked examples, each recorded by running its backward()."""
    return [square_at_two(), uv_plus_u_squared(), notes_chain()]


def write_notes_page(path):
    """The page of the three worked examples (one tab each); returns its path."""
    return write_page(notes_examples(), path)


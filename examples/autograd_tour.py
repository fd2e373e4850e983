"""A tour of autograd with the course notes' worked examples, each checked by backward().

    python examples/autograd_tour.py [--graph graph.png] [--page tour.html] [--quick]

1. d(x^2)/dx at x = 2 and the attributes of the graph (notes 003, "DERIVATIVE as graph")
2. the partial derivatives of f(u, v) = u*v + u^2 at u = 1, v = 2 (notes 003)
3. z(x) = x^2 + 2x + 1 at x = 2 and its second derivative, through create_graph (notes 003)
4. backpropagation through y1 = 3x + 2, y2 = ReLU(y1), y3 = -0.5 y2 + 4, l = (y3 - 2)^2 at
   x = 5 (notes 004): loss 42.25 and dl/dx = 19.5 -- the notes print 17.25, we show why
5. one gradient-descent step with lr = 1e-3 on that network (notes 004)

Where the notes slip, mathematics and PyTorch win, and the tour says where the slip is.
`--graph PATH` saves the drawn graph of example 4 (.png, .svg or .pdf); `--page PATH` writes one
HTML page that steps through backward() of examples 1, 2 and 4 node by node, with the numbers the
engine recorded and the notes' slip shown at the step where it happens (open it in a browser;
it needs no server or network); `--quick` is accepted for symmetry with the other examples.
"""
from __future__ import annotations

import argparse
import warnings

import tinygrad_edu as torch


def num(t) -> str:
    """A scalar tensor (or number) the way the notes write it: 42.25, 19.5, -0.279."""
    return f"{float(t):.6g}"


def heading(text: str) -> None:
    print(f"\n== {text}")


def attributes(**tensors) -> None:
    """The notes' table: data, grad_fn, grad, is_leaf, requires_grad of each tensor."""
    def grad(t):
        with warnings.catch_warnings():  # reading a non-leaf's .grad warns, as in PyTorch
            warnings.simplefilter("ignore")
            return t.grad
    rows = [("attribute", *tensors)]
    for attr in ("data", "grad_fn", "grad", "is_leaf", "requires_grad"):
        get = grad if attr == "grad" else (lambda t: getattr(t, attr))
        rows.append((attr, *(repr(get(t)).split(" object at")[0].removeprefix("<") for t in tensors.values())))
    for row in rows:
        print("  " + "".join(cell.ljust(18) for cell in row).rstrip())


def square_at_two() -> None:
    heading("1. d(x^2)/dx at x = 2")
    x = torch.tensor(2.0, requires_grad=True)
    y = x ** 2
    y.backward()
    print("x = torch.tensor(2.0, requires_grad=True); y = x ** 2; y.backward()")
    attributes(x=x, y=y)
    print(f"dy/dx = 2x = {num(x.grad)}")
    print("y is not a leaf: backward() keeps no .grad for it (call y.retain_grad() first to keep one).")
    (x ** 2).backward()  # a second backward: the gradient is added to x.grad
    print(f"The notes' table shows grad 8: after a second (x ** 2).backward(), x.grad is {num(x.grad)} = 4 + 4, "
          "because backward() adds into .grad -- zero it (x.grad = None) between steps.")


def partials_of_uv() -> None:
    heading("2. partial derivatives of f(u, v) = u*v + u**2 at u = 1, v = 2")
    u = torch.tensor(1.0, requires_grad=True)
    v = torch.tensor(2.0, requires_grad=True)
    f = u * v + u ** 2
    f.backward()
    print(f"f = {num(f)}")
    print(f"df/du = v + 2u = {num(u.grad)}")
    print(f"df/dv = u = {num(v.grad)}")
    print("(The notes' 'f(u, v) = 4v + u^2' and 'u * 2' are scanning slips for u*v + u^2 and u ** 2.)")
    try:
        torch.tensor(1, requires_grad=True)
    except RuntimeError as e:  # the notes write torch.tensor(1, ...): an integer tensor
        print(f"torch.tensor(1, requires_grad=True) raises: {e}; write 1.0")


def second_derivative() -> None:
    heading("3. z(x) = x^2 + 2x + 1 at x = 2, and its second derivative")
    x = torch.tensor(2.0, requires_grad=True)
    z = x ** 2 + 2 * x + 1
    (dz,) = torch.autograd.grad(z, x, create_graph=True)  # dz is itself a graph: differentiate it again
    (d2z,) = torch.autograd.grad(dz, x)
    print(f"z(2) = {num(z)}")
    print(f"dz/dx = 2x + 2 = {num(dz)}   (autograd.grad(z, x, create_graph=True); {dz.grad_fn.name()})")
    print(f"d2z/dx2 = {num(d2z)}   (autograd.grad(dz, x))")
    print("The notes write d2z/dx2 = 2(2) + 2 = 6: that is dz/dx at 2; the second derivative is the constant 2.")


def chain(graph_path=None):
    """Notes 004's network, its parameters as leaves so that the step of example 5 can use them."""
    heading("4. backprop through y1 = 3x + 2, y2 = ReLU(y1), y3 = -0.5*y2 + 4, l = (y3 - 2)^2 at x = 5")
    x = torch.tensor(5.0, requires_grad=True)
    params = {"w1": torch.tensor(3.0, requires_grad=True), "b1": torch.tensor(2.0, requires_grad=True),
              "w3": torch.tensor(-0.5, requires_grad=True), "b3": torch.tensor(4.0, requires_grad=True)}
    w1, b1, w3, b3 = params.values()

    def forward(x):
        y1 = w1 * x + b1
        y2 = torch.relu(y1)
        y3 = w3 * y2 + b3
        return y1, y2, y3, (y3 - 2) ** 2

    y1, y2, y3, loss = forward(x)
    for y in (y1, y2, y3):
        y.retain_grad()  # keep dl/dy of the intermediate values, to compare with the notes
    print(f"forward: y1 = {num(y1)}, y2 = {num(y2)}, y3 = {num(y3)}, loss = {num(loss)}")
    with torch.autograd.trace({"x": x, **params}) as t:
        loss.backward()
    print("backward, as the engine ran it:")
    print("  " + str(t).replace("\n", "\n  "))
    print(f"dl/dy3 = 2*y3 - 4 = {num(y3.grad)}   (the notes: -11.5)")
    print(f"dy3/dy2 = w3 = {num(w3)},  dy2/dy1 = ReLU'(17) = 1,  dy1/dx = w1 = {num(w1)}")
    print(f"dl/dy1 = {num(y1.grad)}")
    print(f"dl/dx = {num(y3.grad)} * {num(w3)} * 1 * {num(w1)} = {num(x.grad)}")
    print(f"The notes' 17.25 is -11.5 * -0.5 * 1 * 3 = {num(-11.5 * -0.5 * 1 * 3)}: their dl/dy3 is off, "
          f"since 2 * (-4.5) - 4 = {num(2 * -4.5 - 4)}.")
    if graph_path is not None:
        torch.viz.draw_graph(loss, graph_path, params={"x": x, **params})
        print(f"graph of the loss saved to {graph_path}")
    return params, forward, x, loss


def gradient_step(params, forward, x, loss, lr: float = 1e-3) -> None:
    heading(f"5. one gradient-descent step, lr = {lr:g}: p <- p - lr * dl/dp")
    notes = {"w3": -0.4885, "b3": 4.0115, "w1": -2.98275, "b1": 1.98275}
    print("  param  value   dl/dp   new value  (the notes)")
    for name in ("w3", "b3", "w1", "b1"):
        p = params[name]
        old = num(p)
        with torch.no_grad():
            p -= lr * p.grad
        print(f"  {name:<6} {old:<7} {num(p.grad):<7} {num(p):<10} ({notes[name]:g})")
    *_, new_loss = forward(x)
    print(f"loss after the step: {num(new_loss)} (was {num(loss)})")
    print("The notes use 11.5 as -dl/dw3, missing dy3/dw3 = y2 = 17 (and -11.5 should be -13), and")
    print("-17.25 (minus their dl/dx) for w1 and b1, where dl/dw1 = dl/dy1 * x = 6.5 * 5 and dl/db1 = 6.5;")
    print("their w1' = -2.98275 also drops a sign: 3 - 17.25e-3 = 2.98275.")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", metavar="PATH", help="save the drawn graph of example 4 (.png/.svg/.pdf)")
    parser.add_argument("--page", metavar="PATH", help="write the step-through page of examples 1, 2 and 4 (.html)")
    parser.add_argument("--quick", action="store_true", help="accepted; the tour is already quick")
    args = parser.parse_args(argv)
    square_at_two()
    partials_of_uv()
    second_derivative()
    gradient_step(*chain(args.graph))
    if args.page is not None:
        from tinygrad_edu.viz.worked import write_notes_page  # the same three examples, recorded
        print(f"\nstep-through page of examples 1, 2 and 4 written to {write_notes_page(args.page)}")


if __name__ == "__main__":
    main()

"""Programming Assignment 3 of the notes (000): test accuracy of MLPs with 2, 3, 4 and 5 layers.

    python examples/accuracy_vs_depth.py            # all 60,000 training images, 3 epochs each
    python examples/accuracy_vs_depth.py --quick    # 5,000 images, 2 epochs: a few seconds

A model with L layers has L Linear layers: the first L-1 of the notes' hidden sizes
512, 256, 128, 64, then the 10 logits (5 layers is the notes' MLP). The layers are held in an
nn.ModuleList, as the assignment hints: in a plain Python list the optimizer would not see them
(the script shows the notes' `ValueError: optimizer got an empty parameter list` first).
Each model is trained with train_mnist.py's recipe (Adam 1e-3, cosine-annealed per step); the
table of test accuracies is printed and the figure accuracy vs number of layers saved.
"""
from __future__ import annotations

import argparse
import time

import tinygrad_edu as torch
from tinygrad_edu import nn, optim

from _extras import add_example_args, parser, run_dir, new_plot, save_plot
from train_mnist import add_data_args, evaluate, fit, MLP, mnist

NOTES_HIDDEN = (512, 256, 128, 64)


class MLP_h(nn.Module):
    """The notes' MLP_h: its layers in a plain Python list, which nn.Module does not look into."""

    def __init__(self, hidden_units=(512, 256, 128)):
        super().__init__()
        sizes = [28 * 28, *hidden_units, 10]
        self.l_layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]  # the bug: use nn.ModuleList


def show_plain_list_bug() -> None:
    model = MLP_h([2, 3])
    try:
        optim.SGD(model.parameters(), lr=0.01)
    except ValueError as e:
        print(f"plain Python list of layers: optim.SGD(model.parameters()) raises ValueError: {e}")
    fixed = MLP((2, 3))
    print(f"nn.ModuleList of layers: {len(list(fixed.parameters()))} parameter tensors registered")


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p, limit_test=True)
    add_example_args(p, plot=f"{run_dir('accuracy_vs_depth')}/accuracy_vs_depth.png")
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.limit_train, args.limit_test = 2, args.limit_train or 5000, args.limit_test or 1000
    return args


def main(argv=None) -> dict[int, float]:
    args = parse_args(argv)
    show_plain_list_bug()
    train_set = mnist(args.data_dir, train=True, limit=args.limit_train)
    test_set = mnist(args.data_dir, train=False, limit=args.limit_test)
    print(f"{len(train_set)} training images, {len(test_set)} test images, {args.epochs} epoch(s) per model")

    accuracy: dict[int, float] = {}
    print(f"{'layers':>6}  {'hidden units':<18} {'parameters':>10}  {'test acc':>8}  {'time':>6}")
    for layers in (2, 3, 4, 5):
        torch.manual_seed(args.seed)
        model = MLP(NOTES_HIDDEN[:layers - 1])
        start = time.perf_counter()
        fit(model, train_set, optim.Adam(model.parameters(), lr=1e-3), args.epochs, seed=args.seed)
        accuracy[layers] = evaluate(model, test_set)[1]
        hidden = ",".join(map(str, NOTES_HIDDEN[:layers - 1]))
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{layers:>6}  {hidden:<18} {n_params:>10,}  {accuracy[layers]:>7.2f}%  {time.perf_counter() - start:>5.1f}s",
              flush=True)
    best = max(accuracy, key=accuracy.get)
    print(f"best: {best} layers, {accuracy[best]:.2f}% test accuracy")

    if args.plot:
        fig = new_plot((4.5, 3.2))
        ax = fig.add_subplot()
        ax.plot(list(accuracy), list(accuracy.values()), marker="o")
        for layers, acc in accuracy.items():
            ax.annotate(f"{acc:.2f}", (layers, acc), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        ax.margins(x=0.1, y=0.2)  # room for the labels above the points
        ax.set_xticks(list(accuracy))
        ax.set_xlabel("number of layers")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"MNIST MLP, {len(train_set)} images x {args.epochs} epoch(s)", fontsize=9)
        ax.grid(alpha=0.3)
        save_plot(fig, args.plot)
    return accuracy


if __name__ == "__main__":
    main()

"""Lecture 8's end-to-end example: a feed-forward network FFN(4, 1, 4) learning y = sum(X) (notes 004).

    python examples/regression_ffn.py [--plot regression_ffn.png] [--quick] [--optimizer sgd|adam]

1. "Understanding linear layers": a Linear layer is x A^T + b -- net.layer1(x) and
   torch.matmul(x, net.layer1.weight.T) + net.layer1.bias agree on the notes' x = ones([10, 3]).
2. The end-to-end loop: X = randn([100, 4]), y = X.sum(1), FFN(4, 1, 4) (Linear 4-4, ReLU, Linear
   4-4, ReLU, Linear 4-1), full-batch SGD with lr 1e-2 (the notes' slide also names Adam), MSELoss.
   It prints the loss at a few epochs, the final loss, the loss on 100 fresh samples, and a few
   predictions beside their targets; the figure (--plot, default runs/regression_ffn/regression_ffn.png; '' to skip)
   draws the loss curve and the predictions against the targets.

Where the notes slip: the first FFN (nn.module, no super().__init__(), every layer applied to x
instead of y) is the end-to-end one's draft -- only the latter is used; `n = 400` is n_epochs;
`losses[e] = loss` stores loss.item() (a number, not a tensor holding on to its graph).
`--quick` trains 300 epochs instead of 2000 (the notes' 400 leave SGD on its way down).
"""
from __future__ import annotations

import argparse

import numpy as np

import tinygrad_edu as torch
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F

from _extras import add_example_args, parser, run_dir, save_plot


class FFN(nn.Module):
    def __init__(self, in_features, out_features, hidden_size):
        super().__init__()
        self.layer1 = nn.Linear(in_features, hidden_size)
        self.layer2 = nn.Linear(hidden_size, hidden_size)
        self.layer3 = nn.Linear(hidden_size, out_features)

    def forward(self, x):
        y = self.layer1(x)
        y = nn.ReLU()(y)  # module form
        y = self.layer2(y)
        y = F.relu(y)  # functional form: the same ReLU
        y = self.layer3(y)
        return y


def linear_layer_is_a_matmul() -> float:
    net = FFN(3, 1, 2)
    x = torch.ones([10, 3])
    by_hand = torch.matmul(x, net.layer1.weight.T) + net.layer1.bias
    diff = (by_hand - net.layer1(x)).abs().max().item()
    print(f"1. layer1.weight {tuple(net.layer1.weight.shape)}, bias {tuple(net.layer1.bias.shape)}; x = ones([10, 3])")
    print(f"   matmul(x, W.T) + b  = [{', '.join(f'{v:.4f}' for v in by_hand[0].tolist())}] (each row), grad_fn={by_hand.grad_fn.name()}")
    print(f"   layer1(x) differs from it by at most {diff:g}")
    return diff


def main(argv=None) -> dict:
    p = parser(__doc__)
    add_example_args(p, f"{run_dir('regression_ffn')}/regression_ffn.png", quick="300 epochs instead of 2000", figure="the PNG of the loss curve and predictions")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    args = p.parse_args(argv)
    n_epochs = args.epochs or (300 if args.quick else 2000)
    torch.manual_seed(args.seed)
    results = {"linear_diff": linear_layer_is_a_matmul()}

    X = torch.randn([100, 4])
    y = torch.sum(X, axis=1)
    net = FFN(4, 1, 4)
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-2)
    losses = np.zeros(n_epochs)
    for e in range(n_epochs):
        optimizer.zero_grad()
        y_pred = net(X).squeeze(1)
        loss = nn.MSELoss()(y_pred, y)
        loss.backward()
        losses[e] = loss.item()
        optimizer.step()

    print(f"2. FFN(4, 1, 4) on y = X.sum(1), X = randn([100, 4]) (var(y) = 4), {args.optimizer} lr 1e-2, "
          f"{n_epochs} full-batch epochs")
    marks = sorted({0, 9, 99, n_epochs // 2, n_epochs - 1} & set(range(n_epochs)))
    print("   MSE at epoch " + ", ".join(f"{e + 1}: {losses[e]:.4g}" for e in marks))
    with torch.no_grad():
        final = nn.MSELoss()(net(X).squeeze(1), y).item()
        X_test = torch.randn([100, 4])
        y_test = X_test.sum(1)
        pred_test = net(X_test).squeeze(1)
        test = nn.MSELoss()(pred_test, y_test).item()
    print(f"   final training MSE {final:.4g}; on 100 fresh samples {test:.4g} (predicting 0 would give ~4)")
    print("   fresh x                              target   prediction")
    for row, target, pred in zip(X_test[:5].tolist(), y_test[:5].tolist(), pred_test[:5].tolist()):
        print(f"   [{', '.join(f'{v:6.3f}' for v in row)}]  {target:7.3f}  {pred:7.3f}")
    results.update(losses=losses, final=final, test=test, targets=y_test[:5].tolist(), predictions=pred_test[:5].tolist())
    if args.plot:
        fig = torch.viz.new_figure((9, 3.6))
        ax = fig.add_subplot(1, 2, 1)
        ax.plot(np.arange(1, n_epochs + 1), losses)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training MSE")
        ax.set_title(f"FFN(4, 1, 4), {args.optimizer}")
        ax = fig.add_subplot(1, 2, 2)
        ax.scatter(y_test.numpy(), pred_test.numpy(), s=12)
        lim = float(y_test.abs().max()) * 1.1
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=1, label="prediction = target")
        ax.set_xlabel("target sum(x)")
        ax.set_ylabel("prediction")
        ax.set_title(f"fresh samples: MSE {test:.3f}")
        ax.legend(fontsize=8)
        save_plot(fig, args.plot)
    return results


if __name__ == "__main__":
    main()

"""The worksheet's hyperparameter search (notes 002): hidden sizes x learning rate (and momentum).

    python examples/hyperparameter_search.py            # 20,000 training images, 5 epochs per run
    python examples/hyperparameter_search.py --quick    # 4,000 images, 3 epochs: seconds

As the worksheet: 20,000 MNIST images split 80/20 into training and validation sets
(`random_split`, a hold-out split), two hidden layers of the sizes in its table, plain SGD on
mini-batches of 100 at a constant learning rate of 0.02, 0.01, 0.01 with momentum 0.9 or 0.005
with momentum 0.9. Every pair is trained; the table of training / validation accuracies is
printed (the worksheet's), and the validation accuracies are saved as a heatmap. The
configuration chosen on the validation set is then scored once on the test set: choosing on
the test set would make its accuracy an optimistic estimate.
"""
from __future__ import annotations

import argparse

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import optim
from tinygrad_edu.utils.data import random_split

from _extras import add_example_args, parser, run_dir, new_plot, save_plot
from train_mnist import add_data_args, evaluate, fit, MLP, mnist

HIDDEN_SIZES = [(200, 100), (200, 64), (128, 64), (64, 30), (30, 64), (30, 30)]  # the worksheet's table
SETTINGS = [(0.02, 0.0), (0.01, 0.0), (0.01, 0.9), (0.005, 0.9)]  # (learning rate, momentum)


def setting_name(lr: float, momentum: float) -> str:
    return f"lr {lr:g}" + (f", m {momentum:g}" if momentum else "")


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p, limit_test=True, limit_train=20000)  # the worksheet's 20,000 images
    add_example_args(p, plot=f"{run_dir('hyperparameter_search')}/hyperparameter_search.png")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.limit_train, args.limit_test = 3, min(args.limit_train, 4000), args.limit_test or 1000
    return args


def train(hidden, lr: float, momentum: float, train_set, args):
    torch.manual_seed(args.seed)  # the same initial weights for every setting of one architecture
    model = MLP(hidden)
    fit(model, train_set, optim.SGD(model.parameters(), lr=lr, momentum=momentum), args.epochs,
        batch_size=args.batch_size, seed=args.seed, cosine=False)
    return model


def main(argv=None) -> dict:
    args = parse_args(argv)
    data = mnist(args.data_dir, train=True, limit=args.limit_train)
    train_set, val_set = random_split(data, [0.8, 0.2], generator=torch.Generator().manual_seed(args.seed))
    test_set = mnist(args.data_dir, train=False, limit=args.limit_test)
    print(f"hold-out split of {len(data)} training images: {len(train_set)} to train, {len(val_set)} to validate; "
          f"SGD, batch size {args.batch_size}, {args.epochs} epoch(s) per run")

    results: dict[tuple, tuple[float, float]] = {}  # (hidden, lr, momentum) -> (train acc, val acc)
    best, best_model = None, None
    width = 16
    print(f"{'hidden sizes':<13}" + "".join(f"{setting_name(*s):>{width}}" for s in SETTINGS) + "   (train / validation %)")
    for hidden in HIDDEN_SIZES:
        cells = []
        for lr, momentum in SETTINGS:
            model = train(hidden, lr, momentum, train_set, args)
            results[hidden, lr, momentum] = evaluate(model, train_set)[1], evaluate(model, val_set)[1]
            cells.append("{:.1f} / {:.1f}".format(*results[hidden, lr, momentum]))
            if best is None or results[hidden, lr, momentum][1] > results[best][1]:
                best, best_model = (hidden, lr, momentum), model
        print(f"{', '.join(map(str, hidden)):<13}" + "".join(f"{c:>{width}}" for c in cells), flush=True)

    hidden, lr, momentum = best
    test_acc = evaluate(best_model, test_set)[1]
    print(f"best on validation: hidden {hidden}, {setting_name(lr, momentum)}: validation {results[best][1]:.2f}%, "
          f"test {test_acc:.2f}% ({len(test_set)} test images)")

    if args.plot:
        grid = np.array([[results[h, lr, m][1] for lr, m in SETTINGS] for h in HIDDEN_SIZES])
        fig = new_plot((6.2, 4.2))
        ax = fig.add_subplot()
        image = ax.imshow(grid, cmap="viridis", aspect="auto")
        for (i, j), acc in np.ndenumerate(grid):
            color = "black" if acc > grid.min() + 0.6 * (grid.max() - grid.min()) else "white"
            ax.text(j, i, f"{acc:.1f}", ha="center", va="center", fontsize=9, color=color,
                    fontweight="bold" if (HIDDEN_SIZES[i], *SETTINGS[j]) == best else None)
        ax.set_xticks(range(len(SETTINGS)), [setting_name(*s) for s in SETTINGS])
        ax.set_yticks(range(len(HIDDEN_SIZES)), [", ".join(map(str, h)) for h in HIDDEN_SIZES])
        ax.set_xlabel("SGD learning rate, momentum")
        ax.set_ylabel("hidden layer sizes")
        ax.set_title(f"validation accuracy (%), {len(train_set)} images x {args.epochs} epoch(s)", fontsize=9)
        fig.colorbar(image, ax=ax)
        save_plot(fig, args.plot)
    return {"results": results, "best": best, "test_acc": test_acc}


if __name__ == "__main__":
    main()

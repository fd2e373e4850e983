"""k-fold cross-validation of the MNIST MLP (notes 002, "Validation II": hold-out and k-fold).

    python examples/kfold.py            # all 60,000 training images, 5 folds, 2 epochs each
    python examples/kfold.py --quick    # 2,500 images: seconds
    mpirun -n 3 python examples/kfold.py --distributed   # the folds spread over 3 processes

A hold-out split (`train_test_split(..., test_size=0.2)` in the notes) gives one estimate of the
accuracy, which depends on which images landed in the 20%. k-fold cross-validation
(`KFold(n_splits=5)` in the notes) cuts the data into k folds and trains k models, each
validated on one fold and trained on the other k-1; the mean of the k accuracies is the
estimate, and their standard deviation shows how much a single hold-out split could be off.
The folds are contiguous, as scikit-learn's KFold without shuffle (MNIST's order is already
mixed); --shuffle permutes the images first. Each model is train_mnist.py's MLP and recipe.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import optim
from tinygrad_edu.utils.data import Subset

from _extras import add_example_args, parser, run_dir, new_plot, save_plot
from train_mnist import add_data_args, evaluate, fit, gather_results, init_distributed, MLP, mnist


def kfold_indices(n: int, k: int, shuffle: bool = False, seed: int = 0) -> Iterator[tuple[list[int], list[int]]]:
    """(train indices, validation indices) for each of k folds, as scikit-learn's KFold.split:
    the first n % k folds have one sample more than the others."""
    if not 2 <= k <= n:
        raise ValueError(f"k-fold needs 2 <= k <= number of samples, got k={k} for {n} samples")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k)
    sizes[:n % k] += 1
    start = 0
    for size in sizes:
        val = order[start:start + size]
        train = np.concatenate([order[:start], order[start + size:]])
        yield train.tolist(), val.tolist()
        start += size


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p)
    add_example_args(p, plot=f"{run_dir('kfold')}/kfold.png")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--shuffle", action="store_true", help="permute the images before cutting the folds")
    p.add_argument("--distributed", action="store_true", help="spread the folds over the processes of mpirun -n N")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.limit_train = 2, args.limit_train or 2500
    return args


def main(argv=None) -> list[float]:
    args = parse_args(argv)
    rank, world = init_distributed(args.distributed)
    data = mnist(args.data_dir, train=True, limit=args.limit_train)
    print(f"{args.folds}-fold cross-validation on {len(data)} training images, {args.epochs} epoch(s) per fold")
    folds = list(enumerate(kfold_indices(len(data), args.folds, args.shuffle, args.seed), 1))
    results = {}  # fold -> (validation accuracy, the line that reports it)
    for fold, (train_idx, val_idx) in folds[rank::world]:  # this rank's share of the folds
        torch.manual_seed(args.seed)
        model = MLP()
        fit(model, Subset(data, train_idx), optim.Adam(model.parameters(), lr=1e-3), args.epochs, seed=args.seed)
        accuracy = evaluate(model, Subset(data, val_idx))[1]
        which = "shuffled" if args.shuffle else f"images {val_idx[0]}..{val_idx[-1]}"
        results[fold] = accuracy, (f"fold {fold}: train on {len(train_idx)} images, validate on {len(val_idx)} "
                                   f"({which}): validation accuracy {accuracy:.2f}%")
        if world == 1:
            print(results[fold][1], flush=True)
    results = dict(sorted(gather_results(results, world).items()))
    if world > 1:  # rank 0 reports every rank's folds (mpirun could interleave lines printed by several ranks)
        print("\n".join(line for _, line in results.values()))
    accuracies = [accuracy for accuracy, _ in results.values()]
    if rank > 0:
        return accuracies  # rank 0 reports
    mean, std = float(np.mean(accuracies)), float(np.std(accuracies, ddof=1))
    print(f"{args.folds}-fold accuracy: {mean:.2f}% +- {std:.2f}% (mean +- sample standard deviation)")
    print(f"a single hold-out split (fold 1 as validation set) would have reported {accuracies[0]:.2f}%; "
          f"the folds range from {min(accuracies):.2f}% to {max(accuracies):.2f}%")

    if args.plot:
        fig = new_plot((4.8, 3.2))
        ax = fig.add_subplot()
        folds = range(1, len(accuracies) + 1)
        ax.bar(folds, accuracies, color="#4c9be8")
        ax.axhline(mean, color="black", lw=1, label=f"mean {mean:.2f}%")
        ax.axhspan(mean - std, mean + std, color="grey", alpha=0.25, label=f"+- std {std:.2f}%")
        low, high = min(accuracies), max(accuracies)
        ax.set_ylim(low - max(3 * std, 0.5), high + max(3 * std, 0.5))
        ax.set_xticks(list(folds))
        ax.set_xlabel("fold (validation set)")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(f"{args.folds}-fold cross-validation, {len(data)} images", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
        save_plot(fig, args.plot)
    return accuracies


if __name__ == "__main__":
    main()

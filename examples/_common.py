"""What the examples share: the options every example takes and figure saving; for the MNIST
examples also where the data are, the notes' transform, training and evaluation.

    from _common import add_example_args, save_plot                  # every example
    from _common import add_common_args, evaluate, fit, mnist, quick_subset   # the MNIST ones

Where MNIST is read from (`--data-dir`'s default), first that applies:
  1. the environment variable TINYGRAD_EDU_MNIST,
  2. ../shared/data/mnist relative to the repository root, if that folder exists (the project's
     shared copy; the files are never part of the repository), or ../../shared/data/mnist (from
     a git worktree at <project>/wt/<name>),
  3. "data", where the MNIST class downloads the files (download=True).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.datasets import MNIST
from tinygrad_edu.transforms import Compose, Normalize, ToTensor
from tinygrad_edu.utils.data import DataLoader, Subset

ROOT = Path(__file__).resolve().parents[1]
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # of the 60,000 training images, as the notes normalise them


def default_data_dir() -> str:
    if os.environ.get("TINYGRAD_EDU_MNIST"):
        return os.environ["TINYGRAD_EDU_MNIST"]
    for shared in (ROOT.parent / "shared" / "data" / "mnist", ROOT.parents[1] / "shared" / "data" / "mnist"):
        if shared.is_dir():
            return str(shared)
    return "data"


def add_example_args(p: argparse.ArgumentParser, plot: str, quick: str,
                     figure: str = "the figure") -> argparse.ArgumentParser:
    """--plot (where `figure` is saved, default `plot`; '' to skip), --quick (`quick` says what it
    changes), --seed: the options every example takes."""
    p.add_argument("--plot", default=plot, help=f"where {figure} is saved (default {plot}; '' to skip)")
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--seed", type=int, default=0)
    return p


def add_common_args(p: argparse.ArgumentParser, plot: str, limit_train: int | None = None,
                    test_set: bool = True) -> argparse.ArgumentParser:
    """--data-dir, add_example_args' --plot (default `plot`), --quick and --seed, --limit-train
    (and --limit-test if the example uses the test set)."""
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="folder of the MNIST IDX files (default: $TINYGRAD_EDU_MNIST, ../shared/data/mnist, data)")
    add_example_args(p, plot, quick="a few thousand images and 1-2 epochs: runs in seconds (for tests and a first look)")
    p.add_argument("--limit-train", type=int, default=limit_train, help="use the first N training images")
    if test_set:
        p.add_argument("--limit-test", type=int, default=None, help="use the first N test images")
    return p


def mnist(data_dir: str, train: bool) -> MNIST:
    """The training or test set, as tensors normalised with the training set's mean and std."""
    transform = Compose([ToTensor(), Normalize((MNIST_MEAN,), (MNIST_STD,))])
    return MNIST(data_dir, train=train, download=True, transform=transform)


def quick_subset(dataset, n: int | None):
    """The first n samples (all of them for None): MNIST's order is already mixed, and the same
    images every run make the quick numbers comparable."""
    return dataset if n is None or n >= len(dataset) else Subset(dataset, range(n))


def new_plot(size: tuple[float, float]):
    """A matplotlib Figure of its own (not pyplot's: no display needed, also on a headless machine)."""
    from tinygrad_edu.viz import new_figure
    return new_figure(size)


def save_plot(fig, path: str) -> None:
    """Save the figure (.png, .svg or .pdf by the suffix) and say where."""
    from tinygrad_edu.viz import save_figure
    fig.tight_layout()
    save_figure(fig, path)
    print(f"figure: {path}")


def fit(model, train_set, optimizer, epochs: int, batch_size: int = 64, seed: int = 0,
        cosine: bool = True) -> list[float]:
    """Train with the trainers' loop (_training.py) (cross-entropy, shuffled mini-batches); with `cosine` the
    learning rate is annealed to 0 over the run, per step (the recipe of train_mnist.py).
    Returns the mean training loss of each epoch."""
    from _training import train_epoch  # here, not at the top: _training imports this module
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader)) if cosine else None
    criterion = nn.CrossEntropyLoss()
    return [train_epoch(model, loader, criterion, optimizer, scheduler, "", progress=False) for _ in range(epochs)]


def evaluate(model, dataset) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in %) of `model` on `dataset`, in eval mode, without a graph."""
    from _training import evaluate as evaluate_loader
    return evaluate_loader(model, DataLoader(dataset, batch_size=1000), nn.CrossEntropyLoss())

"""Train the course notes' MLP (784-512-256-128-64-10, ReLU, CrossEntropyLoss) on MNIST.

    python examples/train_mnist.py                      # MNIST from $TINYGRAD_EDU_MNIST or the default folder
    python examples/train_mnist.py --data-dir DIR       # the four IDX files in DIR
    mpirun -n 2 python examples/train_mnist.py --distributed   # data parallel over 2 processes

This file is the whole recipe, top to bottom as in the notes: the data (normalised with the
training set's mean and std), the model, the evaluation, the loop (zero_grad, forward, loss,
backward, step) and the options. `import tinygrad_edu as torch` makes it a PyTorch tutorial's code.
The progress bar, checkpoints (--save, --resume) and the plot (--plot) come from _extras.py, which
you can skip when reading.

The default recipe (Adam 1e-3, learning rate annealed to 0 over the run by a cosine, per step)
reaches about 98% test accuracy in 5 epochs: a constant learning rate stalls near 97.5%.
Epochs are reseeded from --seed and the epoch number, so a resumed run gives the numbers of an
uninterrupted one. Outputs go to runs/mnist_mlp/ ('' skips one).

MNIST is read from --data-dir; its default is $TINYGRAD_EDU_MNIST if set, else the user's cache
folder (~/.cache/tinygrad_edu/mnist on Linux; $XDG_CACHE_HOME, ~/Library/Caches on macOS,
%LOCALAPPDATA% on Windows), where the files are downloaded (MD5-checked) when missing.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.datasets import MNIST
from tinygrad_edu.datasets.utils import default_cache_dir
from tinygrad_edu.transforms import Compose, Normalize, ToTensor
import tinygrad_edu.distributed as dist
from tinygrad_edu.nn.parallel import DistributedDataParallel
from tinygrad_edu.utils.data import DataLoader, DistributedSampler, Subset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _extras  # noqa: E402 -- optional: progress bar, checkpoints, plots, --help formatting

# ---------------------------------------------------------------- data

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # of the 60,000 training images, as the notes normalise them
transform = Compose([ToTensor(), Normalize((MNIST_MEAN,), (MNIST_STD,))])


def cache_data_dir() -> str:
    """<the user's cache folder>/tinygrad_edu/mnist: the default folder, whatever the current folder is."""
    return default_cache_dir("mnist")


def default_data_dir() -> str:
    """$TINYGRAD_EDU_MNIST if set, else the cache folder."""
    return os.environ.get("TINYGRAD_EDU_MNIST") or cache_data_dir()


def mnist(data_dir: str, train: bool, limit: int | None = None):
    """The training or test set, normalised; only its first `limit` images if given. Without the files
    (and without internet to fetch them) the program ends with one message saying how to provide them."""
    try:
        dataset = MNIST(data_dir, train=train, download=True, transform=transform)
    except RuntimeError as e:  # not there and not downloadable, or a damaged file
        sys.exit(f"error: MNIST could not be loaded.\n{e}\nTo use a copy you have: --data-dir DIR, or the "
                 f"environment variable TINYGRAD_EDU_MNIST=DIR, or put the files into the default folder "
                 f"{cache_data_dir()}")
    # MNIST's order is already mixed: the first `limit` images make a fair, repeatable subset
    return dataset if limit is None or limit >= len(dataset) else Subset(dataset, range(limit))


# ---------------------------------------------------------------- model

class MLP(nn.Module):
    """The notes' MLP: Linear + ReLU layers (optionally Dropout after each ReLU), logits out."""

    def __init__(self, hidden=(512, 256, 128, 64), in_dim=28 * 28, out_dim=10, dropout=0.0):
        super().__init__()
        sizes = [in_dim, *hidden, out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        x = x.view(-1, self.layers[0].in_features)
        for layer in self.layers[:-1]:
            x = self.dropout(self.relu(layer(x)))
        return self.layers[-1](x)


# ---------------------------------------------------------------- evaluation and training

def evaluate(model, dataset, batch_size: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in %) on `dataset`, in eval mode and without recording a graph."""
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for images, labels in DataLoader(dataset, batch_size=batch_size):
            logits = model(images)
            total_loss += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
    model.train()
    return total_loss / len(dataset), 100.0 * correct / len(dataset)


def train_one_epoch(model, loader, criterion, optimizer, scheduler=None, bar=None) -> float:
    """One pass over the training set, one optimizer step per mini-batch; returns the mean loss."""
    model.train()
    total_loss, seen = 0.0, 0
    for images, labels in loader:
        optimizer.zero_grad()                       # clear the gradients of the last step
        loss = criterion(model(images), labels)     # forward
        loss.backward()                             # backward: d(loss)/d(parameter) into each .grad
        optimizer.step()                            # update the parameters
        if scheduler is not None:
            scheduler.step()                        # the learning rate of the next step
        total_loss += loss.item() * len(labels)
        seen += len(labels)
        if bar is not None:
            bar.update(len(labels), total_loss / seen)
    return total_loss / max(seen, 1)


def fit(model, train_set, optimizer, epochs: int, batch_size: int = 64, seed: int = 0,
        cosine: bool = True) -> list[float]:
    """This recipe in one call, for the examples that train many models (accuracy_vs_depth, kfold, ...):
    shuffled mini-batches, cross-entropy, with `cosine` the learning rate annealed to 0 over the run.
    Returns the mean training loss of each epoch."""
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader)) if cosine else None
    return [train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer, scheduler) for _ in range(epochs)]


# ---------------------------------------------------------------- several processes (--distributed)

def init_distributed(enabled: bool) -> tuple[int, int]:
    """(rank, number of ranks): with --distributed from mpirun (docs/distributed.md), else (0, 1).
    What the other ranks print goes nowhere: rank 0 speaks for all (mpirun could interleave their lines)."""
    if not enabled:
        return 0, 1
    dist.init_process_group(backend="mpi")
    if dist.get_rank() > 0:
        sys.stdout = open(os.devnull, "w")
    return dist.get_rank(), dist.get_world_size()


def mean_over_ranks(value: float) -> float:
    """The mean of `value` over all ranks (all_reduce with ReduceOp.AVG), on every rank."""
    value = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(value, op=dist.ReduceOp.AVG)
    return value.item()


def gather_results(results: dict, world: int) -> dict:
    """Every rank's results (trial -> outcome) merged, on every rank: each trained its share of the trials."""
    if world == 1:
        return results
    everyone = [None] * world
    dist.all_gather_object(everyone, results)
    return {trial: outcome for part in everyone for trial, outcome in part.items()}


# ---------------------------------------------------------------- options

def make_optimizer(name: str, params, lr: float, momentum: float):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum)
    return optim.Adam(params, lr=lr)


def add_data_args(p, limit_test: bool = False, limit_train: int | None = None):
    """--data-dir and --limit-train (and --limit-test): the options of every example that reads MNIST."""
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="folder of the four MNIST files, downloaded there if missing "
                        "($TINYGRAD_EDU_MNIST if set, else the user's cache folder)")
    p.add_argument("--limit-train", type=int, default=limit_train, help="use only the first N training images")
    if limit_test:
        p.add_argument("--limit-test", type=int, default=None, help="use only the first N test images")
    return p


def training_options(doc: str, name: str, test_batch_size: int = 1000):
    """The options of train_mnist.py and train_mnist_cnn.py; `name` names the output folder runs/<name>/."""
    p = _extras.parser(doc)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--test-batch-size", type=int, default=test_batch_size, help="batch size of the evaluation")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    p.add_argument("--optimizer", choices=("sgd", "adam", "rmsprop"), default="adam")
    p.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop")
    p.add_argument("--scheduler", choices=("cosine", "none"), default="cosine",
                   help="cosine: anneal the learning rate to 0 over all epochs (per step)")
    add_data_args(p)
    p.add_argument("--backend", choices=("c", "numpy"), default=None, help="kernel backend (default: c if built)")
    p.add_argument("--threads", type=int, default=None, help="threads of the C kernels (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    p.add_argument("--save", default=f"{_extras.run_dir(name)}/checkpoint.ckpt",
                   help="checkpoint written after each epoch ('' to skip)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from, up to --epochs")
    p.add_argument("--plot", default=f"{_extras.run_dir(name)}/curves.png", help="loss/accuracy curves ('' to skip)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return p


def parse_args(argv=None):
    p = training_options(__doc__, "mnist_mlp")
    p.add_argument("--hidden", default="512,256,128,64", help="hidden layer sizes, comma-separated")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--distributed", action="store_true",
                   help="data parallel over the processes of `mpirun -n N`: each takes 1/N of every batch "
                        "(--batch-size is the global batch); only rank 0 prints, saves and plots")
    return p.parse_args(argv)


# ---------------------------------------------------------------- the run

def main(argv=None) -> dict:
    args = parse_args(argv)
    rank, world = init_distributed(args.distributed)
    if rank > 0:  # only rank 0 prints, saves and plots
        args.save, args.plot, args.no_progress = "", "", True
    if args.batch_size % world:
        sys.exit(f"error: --batch-size {args.batch_size} is the global batch: it must divide over {world} ranks")
    if args.backend:
        torch.backend.use(args.backend)
    if args.threads:
        torch.set_num_threads(args.threads)

    train_set = mnist(args.data_dir, train=True, limit=args.limit_train)
    test_set = mnist(args.data_dir, train=False)
    shuffle = torch.Generator()
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=shuffle)
    if args.distributed:  # the same permutation on every rank (the seed of `shuffle`), rank r its r-th 1/world
        sampler = DistributedSampler(train_set, world, rank, seed=args.seed * 1_000_003)
        train_loader = DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler)

    torch.manual_seed(args.seed)
    model = MLP(tuple(int(h) for h in args.hidden.split(",") if h.strip()), dropout=args.dropout)
    # DDP: rank 0's weights on every rank, and backward() averages the gradients over the ranks
    trained = DistributedDataParallel(model) if args.distributed else model
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum)
    scheduler = None
    if args.scheduler == "cosine":
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
    history = {"train_loss": [], "test_loss": [], "test_acc": [], "epoch_seconds": []}
    first_epoch = 1
    if args.resume:
        history, first_epoch = _extras.resume(args.resume, model, optimizer, scheduler, args.epochs)
        if first_epoch > args.epochs:
            return history

    print(model)
    print(f"backend: {torch.backend.current()}, threads: {torch.get_num_threads()}, "
          f"{len(train_set)} training images, batch size {args.batch_size}, {args.optimizer} lr {args.lr}"
          + (f", {world} ranks of {args.batch_size // world}" if args.distributed else ""))
    for epoch in range(first_epoch, args.epochs + 1):
        # Reseeding per epoch makes a resumed run take exactly the steps of an uninterrupted one.
        shuffle.manual_seed(args.seed * 1_000_003 + epoch)
        torch.manual_seed(args.seed * 1_000_003 + epoch)
        if args.distributed:
            sampler.set_epoch(epoch)  # its seed + epoch: the permutation `shuffle` would draw
        start = time.perf_counter()
        bar = _extras.ProgressBar(len(train_loader.sampler), f"epoch {epoch}/{args.epochs}",
                                  enabled=not args.no_progress)
        train_loss = train_one_epoch(trained, train_loader, criterion, optimizer, scheduler, bar)
        bar.close()
        seconds = time.perf_counter() - start
        if args.distributed:  # each rank's loss is the mean over its share: their mean is the global one
            train_loss = mean_over_ranks(train_loss)
        test_loss, test_acc = evaluate(model, test_set, args.test_batch_size)
        for key, value in zip(history, (train_loss, test_loss, test_acc, seconds)):
            history[key].append(value)
        print(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
              f"test accuracy {test_acc:.2f}% ({seconds:.1f} s)", flush=True)
        if args.save:
            _extras.save_checkpoint(args.save, model, optimizer, scheduler, epoch, history)
    if args.plot and history["test_acc"]:
        _extras.plot_history(history, args.plot)
    _extras.print_outputs(args.save, args.plot)
    return history


if __name__ == "__main__":
    main()

"""The MNIST training driver shared by examples/train_mnist.py (MLP) and train_mnist_cnn.py (CNN).

Both scripts have the same options, progress bar, per-epoch test evaluation, checkpoint/resume
and plot; they differ only in the model (and the model's own options). A script builds its
parser with `build_parser`, adds its model options, and calls `run(args, make_model)`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.datasets import MNIST
from tinygrad_edu.transforms import Compose, Normalize, ToTensor
from tinygrad_edu.utils.data import DataLoader, Subset

from _common import default_data_dir

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def build_parser(description: str, name: str, test_batch_size: int = 1000) -> argparse.ArgumentParser:
    """The options every trainer has; `name` ('mlp', 'cnn') names the default checkpoint and plot."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--test-batch-size", type=int, default=test_batch_size, help="batch size of the evaluation")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=("sgd", "adam", "rmsprop"), default="adam")
    p.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop")
    p.add_argument("--scheduler", choices=("cosine", "none"), default="cosine",
                   help="cosine: anneal the learning rate to 0 over all epochs (per step)")
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="folder of the MNIST IDX files (default: $TINYGRAD_EDU_MNIST, ../shared/data/mnist, data)")
    p.add_argument("--backend", choices=("c", "numpy"), default=None, help="kernel backend (default: c if built)")
    p.add_argument("--threads", type=int, default=None, help="threads for the C kernels (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=f"checkpoints/mnist_{name}.ckpt", help="checkpoint path ('' to skip)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from")
    p.add_argument("--plot", default=f"mnist_{name}.png", help="PNG of the loss/accuracy curves ('' to skip)")
    p.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return p


def make_optimizer(args: argparse.Namespace, params):
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum)
    if args.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=args.lr, momentum=args.momentum)
    return optim.Adam(params, lr=args.lr)


def evaluate(model, loader, criterion) -> tuple[float, float]:
    """Mean test loss and accuracy (%), in eval mode and without recording a graph."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images)
            total_loss += criterion(logits, labels).item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
    model.train()
    return total_loss / seen, 100.0 * correct / seen


def train_epoch(model, loader, criterion, optimizer, scheduler, desc: str, progress: bool) -> float:
    """One pass over the training set; returns the mean training loss."""
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(loader.dataset), desc=desc, unit="img", leave=True, file=sys.stdout)
    running, steps, seen, start = 0.0, 0, 0, time.perf_counter()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        running += loss.item()
        steps += 1
        seen += len(labels)
        if bar is not None:
            bar.update(len(labels))
            if steps % 20 == 0:
                rate = seen / (time.perf_counter() - start)
                bar.set_postfix(loss=f"{running / steps:.4f}", samples_s=f"{rate:,.0f}")
    if bar is not None:
        bar.set_postfix(loss=f"{running / steps:.4f}", samples_s=f"{seen / (time.perf_counter() - start):,.0f}")
        bar.close()
    return running / max(steps, 1)


def save_checkpoint(path: str, model, optimizer, scheduler, epoch: int, history: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "history": history}
    if scheduler is not None:
        ckpt["scheduler"] = scheduler.state_dict()
    torch.save(ckpt, path)


def load_checkpoint(path: str, model, optimizer, scheduler) -> tuple[dict, int]:
    """Restores the states in place; returns (history, the epoch to start from)."""
    ckpt = torch.load(path)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and "scheduler" in ckpt:
        scheduler.load_state_dict(ckpt["scheduler"])
    return {k: list(v) for k, v in ckpt["history"].items()}, int(ckpt["epoch"]) + 1


def run(args: argparse.Namespace, make_model: Callable[[], nn.Module]) -> dict:
    """Train `make_model()` (built right after seeding) on MNIST as `args` say; returns the history."""
    if args.backend:
        torch.backend.use(args.backend)
    if args.threads:
        torch.set_num_threads(args.threads)

    transform = Compose([ToTensor(), Normalize((MNIST_MEAN,), (MNIST_STD,))])
    train_set = MNIST(args.data_dir, train=True, download=True, transform=transform)
    test_set = MNIST(args.data_dir, train=False, download=True, transform=transform)
    if args.limit_train:
        train_set = Subset(train_set, range(min(args.limit_train, len(train_set))))
    shuffle_gen = torch.Generator()
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=shuffle_gen)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size)

    torch.manual_seed(args.seed)
    model = make_model()
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(args, model.parameters())
    scheduler = None
    if args.scheduler == "cosine":
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
    history = {"train_loss": [], "test_loss": [], "test_acc": [], "epoch_seconds": []}
    start_epoch = 1
    if args.resume:
        history, start_epoch = load_checkpoint(args.resume, model, optimizer, scheduler)
        print(f"resumed from {args.resume} after epoch {start_epoch - 1}")

    print(model)
    print(f"backend: {torch.backend.current()}, threads: {torch.get_num_threads()}, "
          f"{len(train_set)} training images, batch size {args.batch_size}, {args.optimizer} lr {args.lr}")
    for epoch in range(start_epoch, args.epochs + 1):
        # Reseeding per epoch makes a resumed run take exactly the steps of an uninterrupted one.
        shuffle_gen.manual_seed(args.seed * 1_000_003 + epoch)
        torch.manual_seed(args.seed * 1_000_003 + epoch)
        t0 = time.perf_counter()
        train_loss = train_epoch(model, train_loader, criterion, optimizer, scheduler,
                                 f"epoch {epoch}/{args.epochs}", not args.no_progress)
        seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, test_loader, criterion)
        for key, value in zip(history, (train_loss, test_loss, test_acc, seconds)):
            history[key].append(value)
        print(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
              f"test accuracy {test_acc:.2f}% ({seconds:.1f} s)", flush=True)
        if args.save:
            save_checkpoint(args.save, model, optimizer, scheduler, epoch, history)
    if args.save:
        print(f"checkpoint: {args.save}")
    if args.plot and history["test_acc"]:
        from tinygrad_edu.viz import plot_history
        plot_history(history, args.plot)
        print(f"plot: {args.plot}")
    return history

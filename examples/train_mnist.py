"""Train the course notes' MLP (784-512-256-128-64-10, ReLU, CrossEntropyLoss) on MNIST.

    python examples/train_mnist.py --data-dir ../shared/data/mnist

The code is a PyTorch tutorial's training loop with `import tinygrad_edu as torch`. Each epoch
shows a progress bar (loss, samples/s), then the test loss and accuracy; after each epoch the
checkpoint (model, optimizer, scheduler, epoch, history) is written to --save and the loss and
accuracy curves to --plot. `--resume PATH` continues from a checkpoint up to --epochs.

The default recipe (Adam 1e-3, learning rate annealed to 0 over the run by a cosine) reaches
about 98% test accuracy in 5 epochs: a constant learning rate stalls near 97.5%.
Epochs are reseeded from --seed and the epoch number, so a resumed run gives the numbers of an
uninterrupted one.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.datasets import MNIST
from tinygrad_edu.transforms import Compose, Normalize, ToTensor
from tinygrad_edu.utils.data import DataLoader, Subset

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


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


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=("sgd", "adam", "rmsprop"), default="adam")
    p.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop")
    p.add_argument("--scheduler", choices=("cosine", "none"), default="cosine",
                   help="cosine: anneal the learning rate to 0 over all epochs (per step)")
    p.add_argument("--hidden", default="512,256,128,64", help="hidden layer sizes, comma-separated")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--data-dir", default=os.environ.get("TINYGRAD_EDU_MNIST", "data"))
    p.add_argument("--backend", choices=("c", "numpy"), default=None, help="kernel backend (default: c if built)")
    p.add_argument("--threads", type=int, default=None, help="threads for the C kernels (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default="checkpoints/mnist_mlp.ckpt", help="checkpoint path ('' to skip)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from")
    p.add_argument("--plot", default="mnist_mlp.png", help="PNG of the loss/accuracy curves ('' to skip)")
    p.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return p.parse_args(argv)


def make_optimizer(args, params):
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


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.backend:
        torch.backend.use(args.backend)
    if args.threads:
        torch.set_num_threads(args.threads)
    hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())

    transform = Compose([ToTensor(), Normalize((MNIST_MEAN,), (MNIST_STD,))])
    train_set = MNIST(args.data_dir, train=True, download=True, transform=transform)
    test_set = MNIST(args.data_dir, train=False, download=True, transform=transform)
    if args.limit_train:
        train_set = Subset(train_set, range(min(args.limit_train, len(train_set))))
    shuffle_gen = torch.Generator()
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=shuffle_gen)
    test_loader = DataLoader(test_set, batch_size=1000)

    torch.manual_seed(args.seed)
    model = MLP(hidden, dropout=args.dropout)
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(args, model.parameters())
    scheduler = None
    if args.scheduler == "cosine":
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
    history = {"train_loss": [], "test_loss": [], "test_acc": [], "epoch_seconds": []}
    start_epoch = 1

    if args.resume:
        ckpt = torch.load(args.resume)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and "scheduler" in ckpt:
            scheduler.load_state_dict(ckpt["scheduler"])
        history = {k: list(v) for k, v in ckpt["history"].items()}
        start_epoch = int(ckpt["epoch"]) + 1
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
            os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)
            ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                    "history": history}
            if scheduler is not None:
                ckpt["scheduler"] = scheduler.state_dict()
            torch.save(ckpt, args.save)
    if args.save:
        print(f"checkpoint: {args.save}")
    if args.plot and history["test_acc"]:
        from tinygrad_edu.viz import plot_history
        plot_history(history, args.plot)
        print(f"plot: {args.plot}")
    return history


if __name__ == "__main__":
    main()

"""An LSTM reads each MNIST image as a sequence of 28 rows (28 time steps of 28 pixels) and
classifies it from its last hidden state: the notes' sequence model, on the data we know.

    python examples/mnist_lstm.py --data-dir DIR           # 2 epochs, >= 97%
    python examples/mnist_lstm.py --data-dir DIR --quick                     # a few thousand images

Written as a PyTorch program (`import tinygrad_edu as torch`); bench/bench_lstm.py runs its
PyTorch twin beside it and compares the time per epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.utils.data import DataLoader, Subset
from tinygrad_edu.vision import datasets, transforms


class RowLSTM(nn.Module):
    """LSTM(28 -> hidden) over the rows, then Linear(hidden -> 10) on the last step's output."""

    def __init__(self, hidden: int = 128, layers: int = 1):
        super().__init__()
        self.lstm = nn.LSTM(input_size=28, hidden_size=hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, images):
        rows = images.view(-1, 28, 28)  # [N, 1, 28, 28] -> [N, 28 time steps, 28 features]
        output, (h_n, c_n) = self.lstm(rows)
        return self.fc(output[:, -1, :])


def train_epoch(model, loader, optimizer, loss_fn) -> float:
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(labels), count + len(labels)
    return total / count


def evaluate(model, loader) -> float:
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            count += len(labels)
    return correct / count


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("TINYGRAD_EDU_MNIST", "data"),
                   help="the folder of the MNIST IDX files ($TINYGRAD_EDU_MNIST if set)")
    p.add_argument("--epochs", type=int, default=2, help="passes over the 60,000 training images")
    p.add_argument("--hidden", type=int, default=128, help="the LSTM's hidden size")
    p.add_argument("--batch-size", type=int, default=64, help="images a step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    p.add_argument("--quick", action="store_true", help="3,000 training and 1,000 test images, 1 epoch (for tests)")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only (benchmarks)")
    p.add_argument("--json", default="", help="write the epoch times and accuracies here")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(args.data_dir, train=True, transform=transform)
    test_set = datasets.MNIST(args.data_dir, train=False, transform=transform)
    if args.limit:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
    if args.quick:
        train_set, test_set, args.epochs = Subset(train_set, range(3000)), Subset(test_set, range(1000)), 1
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    model = RowLSTM(args.hidden)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    history = {"epoch_seconds": [], "train_loss": [], "test_accuracy": []}
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss = train_epoch(model, train_loader, optimizer, loss_fn)
        seconds = time.perf_counter() - start
        accuracy = evaluate(model, test_loader)
        print(f"epoch {epoch}: train loss {loss:.4f}, test accuracy {100 * accuracy:.2f}%, {seconds:.1f} s")
        for key, value in zip(history, (seconds, loss, accuracy)):
            history[key].append(value)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(history, f)
    return history


if __name__ == "__main__":
    main()

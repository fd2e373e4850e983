"""The notes' own MNIST runs, with the notes' settings, each number printed beside the notes' one.

    python examples/notes_runs.py sgd          # DNN lecture (000): plain SGD, batch 12, lr 0.01, 10 epochs
    python examples/notes_runs.py worksheet    # worksheet (002): Sequential 784-1000-100-10, NLLLoss, Adam
    python examples/notes_runs.py table        # worksheet (002): the hyperparameter table, full run
    python examples/notes_runs.py all          # the three, one after the other
    python examples/notes_runs.py sgd --quick  # a few thousand images: seconds

sgd: the DNN lecture's code as printed: `transforms.ToTensor()` only (no normalisation),
DataLoader(batch_size=12, shuffle=True), the MLP 784-512-256-128-64-10 with CrossEntropyLoss,
optim.SGD(lr=0.01) without momentum, 10 epochs; the running loss printed every 2,000 mini-batches
in the notes' format '[epoch, batch] loss: x.xxx' with the notes' value beside it, then the first
test batch ('GroundTruth' / 'Prediction', its images in a row as the notes' make_grid figure) and
'n_correct/n_predict' with the accuracy (the notes: 9761/10000, 0.976). Figures: the test batch
and the running loss beside the notes' log, in runs/notes_runs/.

worksheet: 20,000 MNIST training images (the worksheet's challenge set has 20,000 images of
the same kind), normalised by their mean and std, split 80/20 into training and test images
(train_test_split), cut into batches of 100 by torch.split (160 batches, as printed); the
Sequential 784-1000-100-10 with ReLU and LogSoftmax(dim=1), NLLLoss and Adam(lr=1e-3), the
worksheet's train_loop printing every 100 batches. The worksheet does not say how many epochs:
10 here (--epochs). The notes: 99.6% training and 96.6% test accuracy.

table: examples/hyperparameter_search.py with its full defaults (20,000 images, 5 epochs per
run), then the worksheet's table beside ours. Its 'size of layers' rows match its lr 0.02
row (64, 30: 98-99 / 93-94), so they are compared with our plain SGD lr 0.02 column. The
worksheet trained longer than 5 epochs (its training accuracies say so): `table --epochs 20`
comes near its numbers (13 minutes on a loaded 2-core machine; docs/notes.md has both).

The notes' numbers come from PyTorch's random initialisation and shuffling, which our generator
does not reproduce: the same recipe lands near, not on, each printed number.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.datasets import MNIST
from tinygrad_edu.transforms import ToTensor
from tinygrad_edu.utils.data import DataLoader, Subset, random_split

import hyperparameter_search
from _extras import new_plot, parser, print_outputs, run_dir, save_plot
from train_mnist import MLP, add_data_args, mnist

OUT = run_dir("notes_runs")
# The DNN lecture's log, '[epoch, batch] loss' every 2,000 mini-batches of 12 (5,000 per epoch)
NOTES_SGD_LOG = {(1, 2000): 2.209, (1, 4000): 0.739, (2, 2000): 0.316, (2, 4000): 0.230, (3, 2000): 0.154,
                 (3, 4000): 0.144, (4, 2000): 0.112, (4, 4000): 0.101, (5, 2000): 0.075, (5, 4000): 0.082,
                 (6, 2000): 0.061, (6, 4000): 0.063, (7, 2000): 0.046, (7, 4000): 0.054, (8, 2000): 0.033,
                 (8, 4000): 0.041, (9, 2000): 0.029, (9, 4000): 0.033, (10, 2000): 0.021, (10, 4000): 0.025}
NOTES_SGD_CORRECT = 9761
NOTES_WORKSHEET = {"train": 99.6, "test": 96.6}
# The worksheet's hyperparameter table: (hidden sizes, lr, momentum) -> (training %, test %) as printed
NOTES_TABLE = {((200, 100), 0.02, 0.0): ("99", "95"), ((200, 64), 0.02, 0.0): ("99", "95"),
               ((128, 64), 0.02, 0.0): ("99", "92-94"), ((64, 30), 0.02, 0.0): ("98-99", "93-94"),
               ((30, 64), 0.02, 0.0): ("97-98", "92-93"), ((30, 30), 0.02, 0.0): ("98", "92"),
               ((64, 30), 0.01, 0.0): ("96-97", "93"), ((64, 30), 0.01, 0.9): ("99.99", "94"),
               ((64, 30), 0.005, 0.9): ("99.9", "95")}


def notes_mnist(data_dir: str, train: bool, limit: int | None):
    """MNIST as the DNN lecture loads it: transforms.ToTensor() only, pixels in [0, 1]."""
    mnist(data_dir, train, limit=0)  # checks the files are there (or ends with how to provide them)
    dataset = MNIST(data_dir, train=train, download=True, transform=ToTensor())
    return dataset if limit is None or limit >= len(dataset) else Subset(dataset, range(limit))


def make_grid(images: np.ndarray, padding: int = 2) -> np.ndarray:
    """torchvision.utils.make_grid(images, nrow=len(images)) for [N, H, W] images in [0, 1]: one
    row, `padding` black pixels around each image, as [H + 2p, N (W + p) + p]."""
    n, h, w = images.shape
    grid = np.zeros((h + 2 * padding, n * (w + padding) + padding), dtype=np.float32)
    for k, image in enumerate(images):
        x = padding + k * (w + padding)
        grid[padding:padding + h, x:x + w] = image
    return grid


# ---------------------------------------------------------------- the DNN lecture's SGD run

def sgd_run(args) -> dict:
    batch_size, log_every = 12, args.log_every
    train_data = notes_mnist(args.data_dir, True, args.limit_train)
    test_data = notes_mnist(args.data_dir, False, args.limit_test)
    torch.manual_seed(args.seed)
    train_loader = DataLoader(train_data, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_data, batch_size=batch_size)
    model = MLP()  # 784-512-256-128-64-10, ReLU, logits out: the notes' MLP class
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    print(f"DNN lecture: {len(train_data)} training images, batch size {batch_size}, SGD lr 0.01, "
          f"{args.epochs} epoch(s), the running loss every {log_every} mini-batches (notes' value beside)")
    start, log = time.perf_counter(), {}
    for epoch in range(args.epochs):
        running_loss = 0.0
        for i, (inputs, labels) in enumerate(train_loader):
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if (i + 1) % log_every == 0:
                log[epoch + 1, i + 1] = running_loss / log_every
                notes = NOTES_SGD_LOG.get((epoch + 1, i + 1))
                print('[%d, %5d] loss: %.3f' % (epoch + 1, i + 1, running_loss / log_every)
                      + (f"   (notes: {notes:.3f})" if notes is not None and log_every == 2000 else ""), flush=True)
                running_loss = 0.0
    seconds = time.perf_counter() - start
    print('Finished Training')

    model.eval()
    with torch.no_grad():
        images, labels = next(iter(test_loader))
        _, predicted = torch.max(model(images), 1)
        print('GroundTruth')
        print(" " + ' '.join('%3s' % label.item() for label in labels))
        print("Prediction")
        print(" " + ' '.join('%3s' % label.item() for label in predicted))
        n_predict, n_correct = 0, 0
        for inputs, labels in test_loader:
            _, predicted = torch.max(model(inputs), 1)
            n_predict += len(predicted)
            n_correct += (labels == predicted).sum().item()
    print(f"{n_correct}/{n_predict}   (notes: {NOTES_SGD_CORRECT}/10000)")
    print(f"Accuracy: {n_correct / n_predict:.3f}   (notes: {NOTES_SGD_CORRECT / 10000:.3f})")
    print(f"training time: {seconds:.0f} s")
    if args.plot:
        draw_test_batch(images.numpy()[:, 0], f"{OUT}/sgd_test_batch.png")
        draw_sgd_log(log, log_every, len(train_loader), f"{OUT}/sgd_loss.png")
    return {"log": log, "correct": n_correct, "total": n_predict, "seconds": seconds}


def draw_test_batch(images: np.ndarray, path: str) -> None:
    """The notes' figure: imshow(make_grid(images, nrow=batch_size)), white digits on black, pixel axes."""
    fig = new_plot((9, 1.6))
    ax = fig.add_subplot()
    ax.imshow(make_grid(images), cmap="gray", vmin=0, vmax=1)
    save_plot(fig, path)


def draw_sgd_log(log: dict, log_every: int, batches_per_epoch: int, path: str) -> None:
    """The running loss over training, ours and (for the full run) the notes' log."""
    fig = new_plot((5.5, 3.4))
    ax = fig.add_subplot()
    x = [(e - 1) + b / batches_per_epoch for e, b in log]
    ax.plot(x, list(log.values()), marker="o", label="tinygrad_edu")
    if log_every == 2000:
        ax.plot([(e - 1) + b / 5000 for e, b in NOTES_SGD_LOG], list(NOTES_SGD_LOG.values()), marker="x",
                linestyle="--", label="the notes (PyTorch)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"mean loss of the last {log_every} mini-batches")
    ax.set_title("DNN lecture: SGD lr 0.01, batch size 12", fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    save_plot(fig, path)


# ---------------------------------------------------------------- the worksheet's 784-1000-100-10

def train_loop(X_batches, y_batches, model, loss_fn, optimizer, size: int) -> None:
    """The worksheet's train_loop (from PyTorch's tutorial), over its lists of batches."""
    for batch, (X, y) in enumerate(zip(X_batches, y_batches)):
        pred = model(X.view(len(X), -1))  # the Sequential starts with Linear(784): flatten the images
        loss = loss_fn(pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch % 100 == 0:
            loss, current = loss.item(), batch * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def accuracy(model, X_batches, y_batches) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum((model(X.view(len(X), -1)).argmax(1) == y).sum().item() for X, y in zip(X_batches, y_batches))
    model.train()
    return 100.0 * correct / sum(len(y) for y in y_batches)


def worksheet_run(args) -> dict:
    dataset = mnist(args.data_dir, train=True)
    n = min(args.worksheet_images, len(dataset))
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    data_x = base.data[:n].float().div(255.0).unsqueeze(1)  # (n, 1, 28, 28) float32, as the challenge data
    data_y = base.targets[:n]
    print(data_x.shape, data_x.dtype)
    data_x = (data_x - data_x.mean()) / data_x.std()  # normalisation of the data
    train_part, test_part = random_split(range(n), [0.8, 0.2],
                                                          generator=torch.Generator().manual_seed(args.seed))
    train_idx, test_idx = torch.tensor(list(train_part)), torch.tensor(list(test_part))
    BATCHSIZE = 100
    X_train, y_train = torch.split(data_x[train_idx], BATCHSIZE), torch.split(data_y[train_idx], BATCHSIZE)
    X_test, y_test = torch.split(data_x[test_idx], BATCHSIZE), torch.split(data_y[test_idx], BATCHSIZE)
    print(X_train[0].shape, "  (notes: torch.Size([100, 1, 28, 28]))")
    print(len(X_train), *(["  (notes: 160)"] if n == 20000 else []))

    torch.manual_seed(args.seed)
    input_size, hidden_sizes, output_size = 28 * 28, [1000, 100], 10
    model = nn.Sequential(nn.Linear(input_size, hidden_sizes[0]), nn.ReLU(),
                          nn.Linear(hidden_sizes[0], hidden_sizes[1]), nn.ReLU(),
                          nn.Linear(hidden_sizes[1], output_size), nn.LogSoftmax(dim=1))
    print(model)
    loss_fn, optimizer = nn.NLLLoss(), optim.Adam(params=model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        print(f"Epoch {epoch + 1}\n-------------------------------")
        train_loop(X_train, y_train, model, loss_fn, optimizer, len(train_idx))
    seconds = time.perf_counter() - start
    train_acc, test_acc = accuracy(model, X_train, y_train), accuracy(model, X_test, y_test)
    print(f"accuracy on the training data: {train_acc:.1f}%   (notes: {NOTES_WORKSHEET['train']}%)")
    print(f"accuracy on the test data: {test_acc:.1f}%   (notes: {NOTES_WORKSHEET['test']}%)")
    print(f"training time: {seconds:.0f} s ({args.epochs} epochs of {len(X_train)} batches)")
    return {"train": train_acc, "test": test_acc, "seconds": seconds}


# ---------------------------------------------------------------- the worksheet's hyperparameter table

def table_run(args) -> dict:
    argv = ["--data-dir", args.data_dir, "--seed", str(args.seed),
            "--plot", f"{OUT}/hyperparameter_search.png" if args.plot else ""]
    for option, value in (("--limit-train", args.limit_train), ("--limit-test", args.limit_test),
                          ("--epochs", args.table_epochs)):
        if value is not None:
            argv += [option, str(value)]
    start = time.perf_counter()
    found = hyperparameter_search.main(argv + (["--quick"] if args.quick else []))
    seconds = time.perf_counter() - start
    print("\nthe worksheet's table beside ours (training / validation %)")
    print(f"{'hidden sizes':<13} {'setting':<14} {'notes':>14} {'ours':>14}")
    for (hidden, lr, momentum), (train, test) in NOTES_TABLE.items():
        ours = found["results"][hidden, lr, momentum]
        print(f"{', '.join(map(str, hidden)):<13} {hyperparameter_search.setting_name(lr, momentum):<14} "
              f"{train + ' / ' + test:>14} {ours[0]:>6.1f} / {ours[1]:<5.1f}")
    print(f"time of the table: {seconds:.0f} s")
    return {**found, "seconds": seconds}


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("run", choices=("sgd", "worksheet", "table", "all"), help="which of the notes' runs")
    add_data_args(p, limit_test=True)
    p.add_argument("--epochs", type=int, default=None, help="sgd and worksheet (default: 10; the table: 5)")
    p.add_argument("--log-every", type=int, default=2000, help="sgd: mini-batches per printed loss")
    p.add_argument("--worksheet-images", type=int, default=20000, help="worksheet: MNIST images used")
    p.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True,
                   help=f"write the figures into {OUT}/")
    p.add_argument("--quick", action="store_true", help="a few thousand images and 2 epochs: seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    args = p.parse_args(argv)
    if args.quick:
        quick_train = None if args.run == "table" else 3000  # the table's --quick picks its own sizes
        args.limit_train, args.limit_test = args.limit_train or quick_train, args.limit_test or 1000
        args.worksheet_images, args.log_every = min(args.worksheet_images, 3000), min(args.log_every, 100)
    args.table_epochs = args.epochs  # None: hyperparameter_search.py's own default (5, --quick 3)
    args.epochs = args.epochs or (2 if args.quick else 10)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    runs = {"sgd": sgd_run, "worksheet": worksheet_run, "table": table_run}
    results = {}
    for name in (runs if args.run == "all" else [args.run]):
        print(f"\n==== {name}")
        start = time.perf_counter()
        results[name] = runs[name](args)
        print(f"==== {name}: {time.perf_counter() - start:.0f} s in all")
    if args.plot:
        print_outputs(*(f"{OUT}/{f}.png" for f in ("sgd_test_batch", "sgd_loss", "hyperparameter_search")))
    return results


if __name__ == "__main__":
    main()

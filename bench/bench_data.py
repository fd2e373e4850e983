"""Milliseconds per epoch of data loading: tinygrad_edu's DataLoader against torch's, same data.

    python bench/bench_data.py [--data-dir DIR] [--repeats 5] [--batch-size 64]

Cases (each one full epoch, median over --repeats, all in this one run so ratios hold on a noisy
machine):
  - tensor:    DataLoader(TensorDataset(x, y), batch_size, shuffle) over MNIST-sized random data
               (60000 x 784 float32, int64 labels), shuffle off and on;
  - per-sample: the same through a dataset without `__getitems__` (what the fast path saves);
  - mnist:     the real MNIST training set with Compose([ToTensor(), Normalize]) (our batch path),
               against torch's DataLoader over a map-style dataset doing torchvision's per-sample
               ToTensor/Normalize math (torchvision itself is not installed);
  - yardstick: one training epoch of the notes' MLP (784-512-256-128-64-10, SGD) in PyTorch,
               from 100 timed steps scaled to an epoch, so the loader cost reads as a fraction of it.
Before any number is printed the loaders' batches are checked against each other.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.utils.data as tud

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import datasets, transforms  # noqa: E402
from tinygrad_edu.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# the examples' default: $TINYGRAD_EDU_MNIST, else the user's cache folder (examples/train_mnist.py)
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
from train_mnist import default_data_dir  # noqa: E402

MEAN, STD = (0.1307,), (0.3081,)


def epoch_ms(loader, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first epoch is a warm-up
        t = time.perf_counter()
        for _batch in loader:
            pass
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times[1:])


class PerSample(Dataset):
    """A TensorDataset without __getitems__: the loader falls back to one sample at a time."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(self.x)


class TorchMNIST(tud.Dataset):
    """What torchvision's MNIST + Compose([ToTensor(), Normalize]) computes per sample, in torch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = torch.from_numpy(images), torch.from_numpy(labels)
        self.mean = torch.tensor(MEAN).view(-1, 1, 1)
        self.std = torch.tensor(STD).view(-1, 1, 1)

    def __getitem__(self, i):
        img = self.images[i].unsqueeze(0).to(torch.float32).div(255)
        return img.sub(self.mean).div(self.std), int(self.labels[i])

    def __len__(self):
        return len(self.images)


def check_same(ours, theirs) -> None:
    n = 0
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        np.testing.assert_allclose(xa.numpy(), xb.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        n += 1
    assert n == len(ours) == len(theirs), (n, len(ours), len(theirs))


def torch_train_epoch_ms(x: np.ndarray, y: np.ndarray, batch_size: int, steps: int = 100) -> float:
    sizes = [784, 512, 256, 128, 64, 10]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    batches = [(xt[i:i + batch_size], yt[i:i + batch_size]) for i in range(0, steps * batch_size, batch_size)]

    def step(xb, yb):
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()

    for xb, yb in batches[:10]:
        step(xb, yb)
    t = time.perf_counter()
    for xb, yb in batches:
        step(xb, yb)
    return (time.perf_counter() - t) * 1e3 / steps * -(-len(x) // batch_size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data-dir", default=default_data_dir(), help="MNIST folder (for the mnist case)")
    ap.add_argument("--repeats", type=int, default=5, help="epochs timed per case (median)")
    ap.add_argument("--batch-size", type=int, default=64, help="samples per batch")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (1: the loaders are single-threaded, and on a shared 2-core "
                         "machine more threads make torch's training yardstick slower, not faster)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    bs, reps = args.batch_size, args.repeats

    rng = np.random.default_rng(0)
    x = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    ours_ds, torch_ds = TensorDataset(tg.from_numpy(x), tg.from_numpy(y)), tud.TensorDataset(torch.from_numpy(x),
                                                                                              torch.from_numpy(y))
    check_same(DataLoader(ours_ds, batch_size=bs), tud.DataLoader(torch_ds, batch_size=bs))
    check_same(DataLoader(PerSample(ours_ds.tensors[0], ours_ds.tensors[1]), batch_size=bs),
               tud.DataLoader(torch_ds, batch_size=bs))

    rows = []
    for shuffle in (False, True):
        ours = epoch_ms(DataLoader(ours_ds, batch_size=bs, shuffle=shuffle), reps)
        theirs = epoch_ms(tud.DataLoader(torch_ds, batch_size=bs, shuffle=shuffle), reps)
        rows.append((f"TensorDataset 60000x784 f32, shuffle={shuffle}", ours, theirs))
    slow = epoch_ms(DataLoader(PerSample(*ours_ds.tensors), batch_size=bs, shuffle=True), max(1, reps // 2))
    rows.append(("  same, per-sample path (no __getitems__)", slow, rows[-1][2]))

    if os.path.isfile(os.path.join(args.data_dir, "train-labels-idx1-ubyte.gz")):
        t = time.perf_counter()
        mnist = datasets.MNIST(args.data_dir, transform=transforms.Compose([transforms.ToTensor(),
                                                                            transforms.Normalize(MEAN, STD)]))
        load_ms = (time.perf_counter() - t) * 1e3
        tm = TorchMNIST(mnist.data.numpy(), mnist.targets.numpy())
        check_same(DataLoader(mnist, batch_size=bs), tud.DataLoader(tm, batch_size=bs))
        ours = epoch_ms(DataLoader(mnist, batch_size=bs, shuffle=True), reps)
        theirs = epoch_ms(tud.DataLoader(tm, batch_size=bs, shuffle=True), max(1, reps // 2))
        rows.append(("MNIST train, ToTensor+Normalize, shuffle=True", ours, theirs))
        print(f"MNIST(train) construction (gunzip + parse 47 MB): {load_ms:.0f} ms")
    else:
        print(f"(no MNIST files in {args.data_dir}: the MNIST case is skipped)")

    train = torch_train_epoch_ms(x, y, bs)
    print(f"\nbatch_size={bs}, median of {reps} epochs; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'case':52s} {'ours ms':>9s} {'torch ms':>9s} {'torch/ours':>10s} {'% of train':>10s}")
    for name, ours, theirs in rows:
        print(f"{name:52s} {ours:9.1f} {theirs:9.1f} {theirs / ours:9.1f}x {100 * ours / train:9.2f}%")
    print(f"\nyardstick: one PyTorch training epoch of the notes' MLP (784-512-256-128-64-10, SGD): {train:.0f} ms")


if __name__ == "__main__":
    main()

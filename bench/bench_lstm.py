"""Seconds per epoch of examples/mnist_lstm.py (tinygrad_edu) against its PyTorch twin below, each
library in its own process, in the same run; both print their test accuracy. Then one training
step of each (the same model on one fixed batch of 64 images, warm), best of --steps and median,
again each library in its own process: on a loaded machine the best-of figure is the steadier.

    python bench/bench_lstm.py --data-dir DIR [--epochs 2] [--threads 2] [--limit N] [--steps 40]

--limit N trains both on the first N training images (the test set stays whole).

The twin is the example's program with `import torch`: the same model (LSTM(28 -> 128) over the
28 rows, Linear on the last step), Adam 1e-3, batch 64, the notes' normalisation; the images are
read with our IDX reader (torchvision is not installed) and served by torch's own DataLoader.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_row_lstm():
    """The example's RowLSTM written with PyTorch."""
    from torch import nn

    class RowLSTM(nn.Module):
        def __init__(self, hidden=128):
            super().__init__()
            self.lstm = nn.LSTM(input_size=28, hidden_size=hidden, batch_first=True)
            self.fc = nn.Linear(hidden, 10)

        def forward(self, images):
            output, _ = self.lstm(images.view(-1, 28, 28))
            return self.fc(output[:, -1, :])

    return RowLSTM()


def step_times(lib: str, args) -> dict:
    """Seconds of each of --steps training steps (zero_grad, forward, loss, backward, Adam) on the
    first 64 training images, after 5 warm-up steps."""
    import numpy as np

    from tinygrad_edu.vision.datasets import MNIST
    if lib == "torch":
        import torch
        torch.set_num_threads(args.threads)
        model = torch_row_lstm()
    else:
        import tinygrad_edu as torch
        sys.path.insert(0, os.path.join(ROOT, "examples"))
        from mnist_lstm import RowLSTM
        model = RowLSTM()
    ds = MNIST(args.data_dir, train=True)
    images = ((ds.data.numpy()[:64].astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]
    x, y = torch.tensor(images), torch.tensor(ds.targets.numpy()[:64])
    optimizer, loss_fn = torch.optim.Adam(model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
    seconds = []
    for i in range(5 + args.steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        if i >= 5:
            seconds.append(time.perf_counter() - start)
    return {"step_seconds": seconds}


def torch_twin(args) -> dict:
    """The example's program, written with PyTorch."""
    import numpy as np
    import torch
    from torch import nn, optim
    from torch.utils.data import DataLoader, TensorDataset

    from tinygrad_edu.vision.datasets import MNIST

    torch.manual_seed(args.seed)

    def tensors(train: bool, limit: int | None):
        ds = MNIST(args.data_dir, train=train)
        images = ds.data.numpy()[:limit].astype(np.float32) / 255
        return TensorDataset(torch.from_numpy((images - 0.1307) / 0.3081).unsqueeze(1),
                             torch.from_numpy(ds.targets.numpy()[:limit]))

    train_loader = DataLoader(tensors(True, args.limit), batch_size=64, shuffle=True)
    test_loader = DataLoader(tensors(False, None), batch_size=1000)
    model, loss_fn = torch_row_lstm(), nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    history = {"epoch_seconds": [], "test_accuracy": []}
    for _ in range(args.epochs):
        model.train()
        start = time.perf_counter()
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss_fn(model(images), labels).backward()
            optimizer.step()
        history["epoch_seconds"].append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            correct = sum((model(x).argmax(1) == y).sum().item() for x, y in test_loader)
        history["test_accuracy"].append(correct / 10000)
    return history


def run_in_process(lib: str, args, steps: bool = False) -> dict:
    env = dict(os.environ, TINYGRAD_EDU_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    common = ["--data-dir", args.data_dir, "--epochs", str(args.epochs), "--seed", str(args.seed)]
    common += ["--limit", str(args.limit)] if args.limit else []
    if steps:
        cmd = [sys.executable, __file__, "--child-steps", lib, "--json-out", out, "--threads", str(args.threads),
               "--steps", str(args.steps), *common]
    elif lib == "tinygrad_edu":
        cmd = [sys.executable, os.path.join(ROOT, "examples", "mnist_lstm.py"), *common, "--json", out]
    else:
        cmd = [sys.executable, __file__, "--child-torch", out, "--threads", str(args.threads), *common]
    subprocess.run(cmd, env=env, check=True)
    with open(out) as f:
        result = json.load(f)
    os.unlink(out)
    return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("TINYGRAD_EDU_MNIST", "data"),
                   help="the folder of the MNIST IDX files ($TINYGRAD_EDU_MNIST if set)")
    p.add_argument("--epochs", type=int, default=2, help="epochs each library trains")
    p.add_argument("--threads", type=int, default=2, help="threads of each library")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only")
    p.add_argument("--steps", type=int, default=40, help="timed training steps of the step table")
    p.add_argument("--child-torch", default="", help=argparse.SUPPRESS)
    p.add_argument("--child-steps", default="", help=argparse.SUPPRESS)
    p.add_argument("--json-out", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_steps:
        with open(args.json_out, "w") as f:
            json.dump(step_times(args.child_steps, args), f)
        return
    if args.child_torch:
        import torch
        torch.set_num_threads(args.threads)
        with open(args.child_torch, "w") as f:
            json.dump(torch_twin(args), f)
        return
    load = os.getloadavg()[0]
    results = {lib: run_in_process(lib, args) for lib in ("tinygrad_edu", "torch")}
    print(f"\nMNIST rows LSTM(28 -> 128), batch 64, Adam, {args.threads} threads, load average {load:.1f} "
          f"-> {os.getloadavg()[0]:.1f}")
    print("| library | s/epoch (each epoch) | test accuracy after each epoch |")
    print("|---|---|---|")
    for lib, r in results.items():
        secs = ", ".join(f"{s:.1f}" for s in r["epoch_seconds"])
        accs = ", ".join(f"{100 * a:.2f}%" for a in r["test_accuracy"])
        print(f"| {lib} | {secs} | {accs} |")
    ours, theirs = results["tinygrad_edu"]["epoch_seconds"], results["torch"]["epoch_seconds"]
    print(f"ratio (ours / torch, fastest epoch of each): {min(ours) / min(theirs):.2f}x")
    steps = {lib: run_in_process(lib, args, steps=True)["step_seconds"] for lib in ("tinygrad_edu", "torch")}
    print(f"\none training step (batch 64), {args.steps} timed, load average now {os.getloadavg()[0]:.1f}")
    print("| library | best (ms) | median (ms) |")
    print("|---|---|---|")
    for lib, s in steps.items():
        print(f"| {lib} | {1e3 * min(s):.1f} | {1e3 * sorted(s)[len(s) // 2]:.1f} |")
    print(f"ratio (ours / torch, best step of each): {min(steps['tinygrad_edu']) / min(steps['torch']):.2f}x")
    print("(on a machine busier than its cores, PyTorch's OpenMP threads spin and its figures balloon: "
          "compare with --threads 1 there)")


if __name__ == "__main__":
    main()

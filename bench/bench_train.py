"""Seconds per epoch of the notes' MNIST MLP: tinygrad_edu (C and NumPy backends) against PyTorch.

    python bench/bench_train.py [--data-dir DIR] [--threads 2] [--json PATH]

MNIST is read from --data-dir, else $TINYGRAD_EDU_MNIST, else the examples' default folder
(examples/train_mnist.py: the user's cache folder, ~/.cache/tinygrad_edu/mnist on Linux).

Every configuration runs in its own subprocess (so each peak RSS is its own), one after the
other in this one invocation (so the ratios hold on a noisy machine), with the SAME model code:
the worker imports `torch` or `tinygrad_edu` under one name and runs an identical loop. The
images stay uint8, as in the dataset; each step normalises its batch (ToTensor + Normalize).
Per framework and optimizer it measures
  - loop: one epoch over batches prepared beforehand (a list of tensors): the training step alone;
  - loader: one epoch through `DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`;
  - eval: the forward pass over the 10,000 test images in batches of 1000 under no_grad;
  - peak RSS of the process (VmHWM), data included, and without the data: minus the growth of
    RSS while the arrays and batches (the same in every worker) were made. A framework that
    allocates during that phase (torch does, on its first ops) counts it as data: its figure
    without data is then an underestimate, which only makes our ratio conservative.
Epoch times are medians over --repeats epochs; ratios are against PyTorch's in this run.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's tinygrad_edu, also in the workers (run as scripts)
FRAMEWORKS = ("tinygrad_edu-c", "tinygrad_edu-numpy", "torch")
OPTIMIZERS = ("sgd", "adam")
MODES = ("loop", "loader")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


# ---------------------------------------------------------------- the worker (one subprocess)

def build_model(nn, kind: str):
    if kind == "mlp":  # the notes' MLP
        sizes = [784, 512, 256, 128, 64, 10]
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers[:-1])
    return nn.Sequential(  # the notes' CNN
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def make_optimizer(optim, name: str, params):
    if name == "sgd":
        return optim.SGD(params, lr=0.01, momentum=0.9)
    return optim.Adam(params, lr=1e-3)


def worker(args) -> dict:
    """Runs in a subprocess: time `args.repeats` epochs of one framework/optimizer/mode."""
    import numpy as np

    base = "torch" if args.worker == "torch" else "tinygrad_edu"
    lib = importlib.import_module(base)
    if base == "tinygrad_edu":
        lib.backend.use(args.worker.split("-")[1])
    lib.set_num_threads(args.threads)
    nn, optim = importlib.import_module(f"{base}.nn"), importlib.import_module(f"{base}.optim")
    data = importlib.import_module(f"{base}.utils.data")

    rss_before_data = _status_mb("VmRSS")
    arrays = np.load(args.arrays)
    shape = (-1, 784) if args.model == "mlp" else (-1, 1, 28, 28)
    x_train = lib.from_numpy(arrays["x_train"].reshape(shape))
    y_train = lib.from_numpy(arrays["y_train"])
    x_test = lib.from_numpy(arrays["x_test"].reshape(shape))
    n = len(y_train) if not args.limit else args.limit

    lib.manual_seed(0)
    model = build_model(nn, args.model)
    criterion = nn.CrossEntropyLoss()
    opt = make_optimizer(optim, args.optimizer, model.parameters())

    def normalise(images):  # ToTensor + Normalize of a uint8 batch, as the examples' MNIST loader does
        return (images.float() / 255.0 - MNIST_MEAN) / MNIST_STD

    def step(images, y):
        opt.zero_grad()
        loss = criterion(model(normalise(images)), y)
        loss.backward()
        opt.step()
        return loss

    if args.mode == "loop":
        perm = np.random.default_rng(0).permutation(n)
        batches = [(x_train[perm[i:i + args.batch_size]], y_train[perm[i:i + args.batch_size]])
                   for i in range(0, n, args.batch_size)]
        epoch = lambda: [step(x, y) for x, y in batches]  # noqa: E731
    else:
        dataset = data.TensorDataset(x_train[:n], y_train[:n])
        loader = data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
        epoch = lambda: [step(x, y) for x, y in loader]  # noqa: E731
    data_mb = _status_mb("VmRSS") - rss_before_data  # the arrays (and prepared batches): the same in every worker

    for x, y in [(x_train[:args.batch_size], y_train[:args.batch_size])] * 20:  # warm-up
        step(x, y)
    seconds = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        losses = epoch()
        seconds.append(time.perf_counter() - t0)
    final_loss = float(losses[-1].item())

    model.eval()
    eval_seconds = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        with lib.no_grad():
            correct = sum(int((model(normalise(x_test[i:i + 1000])).argmax(1).numpy() == arrays["y_test"][i:i + 1000]).sum())
                          for i in range(0, len(x_test), 1000))
        eval_seconds.append(time.perf_counter() - t0)
    return {"epoch_s": statistics.median(seconds), "epoch_s_all": seconds, "eval_s": statistics.median(eval_seconds),
            "test_acc": correct / len(x_test), "final_loss": final_loss,
            "peak_rss_mb": peak_rss_mb(), "data_mb": data_mb}


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status in MB (0 where there is none)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent across fork and exec, so every worker would report the driver's peak."""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: a bound


# ---------------------------------------------------------------- the driver

def default_data_dir() -> str:
    """The examples' default ($TINYGRAD_EDU_MNIST, else the user's cache folder), imported only by the
    driver: the workers must not load tinygrad_edu into torch's process."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))
    from train_mnist import default_data_dir as examples_default
    return examples_default()


def prepare_arrays(data_dir: str, path: str) -> None:
    """Read MNIST once (tinygrad_edu's loader) and hand it to the workers as .npz (uint8 images)."""
    import numpy as np
    from tinygrad_edu.datasets import MNIST

    out = {}
    for split, train in (("train", True), ("test", False)):
        try:
            ds = MNIST(data_dir, train=train)
        except RuntimeError as e:  # missing or damaged files: one message, no traceback
            sys.exit(f"error: {e}\nPass the folder with --data-dir DIR or set TINYGRAD_EDU_MNIST=DIR.")
        out[f"x_{split}"] = ds.data.numpy().reshape(len(ds), -1)  # uint8: each batch is normalised as it is used
        out[f"y_{split}"] = ds.targets.numpy().astype(np.int64)
    np.savez(path, **out)


def run_worker(args, framework: str, optimizer: str, mode: str, arrays: str) -> dict | None:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--optimizer", optimizer,
           "--mode", mode, "--arrays", arrays, "--threads", str(args.threads), "--model", args.model,
           "--batch-size", str(args.batch_size), "--repeats", str(args.repeats)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               TINYGRAD_EDU_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"  {framework} {optimizer} {mode}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def comma_list(known: tuple[str, ...]):
    """An argparse type: a comma-separated list whose items are all in `known` (kept as the string)."""
    def parse(text: str) -> str:
        unknown = [item for item in text.split(",") if item not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; choose from {', '.join(known)}")
        return text
    return parse


def main() -> None:
    p = argparse.ArgumentParser(description="epoch time of the MNIST MLP/CNN: tinygrad_edu vs PyTorch",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder (default: $TINYGRAD_EDU_MNIST, else the examples' default folder)")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="the notes' MLP or CNN")
    p.add_argument("--optimizers", default="sgd,adam", type=comma_list(OPTIMIZERS),
                   help=f"comma-separated, of {', '.join(OPTIMIZERS)}")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), type=comma_list(FRAMEWORKS),
                   help=f"comma-separated, of {', '.join(FRAMEWORKS)}")
    p.add_argument("--modes", default="loop,loader", type=comma_list(MODES),
                   help="comma-separated, of loop (prepared batches: the step alone), loader (through a DataLoader)")
    p.add_argument("--batch-size", type=int, default=64, help="images per step")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of every framework")
    p.add_argument("--repeats", type=int, default=3, help="epochs timed per configuration (median)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--json", default=None, help="write the figures here")
    # worker-only arguments
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--optimizer", help=argparse.SUPPRESS)
    p.add_argument("--mode", help=argparse.SUPPRESS)
    p.add_argument("--arrays", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    frameworks = [f for f in args.frameworks.split(",") if f]
    if "torch" in frameworks and importlib.util.find_spec("torch") is None:
        print("torch is not installed: timing tinygrad_edu only", file=sys.stderr)
        frameworks.remove("torch")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        arrays = os.path.join(tmp, "mnist.npz")
        prepare_arrays(args.data_dir or default_data_dir(), arrays)
        for optimizer in args.optimizers.split(","):
            for mode in args.modes.split(","):
                for framework in frameworks:
                    r = run_worker(args, framework, optimizer, mode, arrays)
                    if r is not None:
                        rows.append({"framework": framework, "optimizer": optimizer, "mode": mode, **r})
                        print(f"  {framework:19s} {optimizer:5s} {mode:7s} {r['epoch_s']:7.2f} s/epoch", flush=True)

    ref = {(r["optimizer"], r["mode"]): r for r in rows if r["framework"] == "torch"}
    print(f"\n{args.model.upper()} on MNIST, batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {args.repeats} epoch(s)\n")
    # "without data": peak RSS minus the RSS the data took (identical arrays in every worker), i.e. the
    # framework's own memory: interpreter, libraries, parameters, optimizer state, activations.
    print("| framework | optimizer | mode | s/epoch | vs torch | eval 10k (s) | peak RSS (MB) | RSS vs torch "
          "| without data (MB) | vs torch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = ref.get((r["optimizer"], r["mode"]))
        ratio = f"{r['epoch_s'] / t['epoch_s']:.2f}x" if t else "-"
        rss_ratio = f"{r['peak_rss_mb'] / t['peak_rss_mb']:.2f}x" if t else "-"
        own = r["peak_rss_mb"] - r["data_mb"]
        own_ratio = f"{own / (t['peak_rss_mb'] - t['data_mb']):.2f}x" if t else "-"
        print(f"| {r['framework']} | {r['optimizer']} | {r['mode']} | {r['epoch_s']:.2f} | {ratio} | "
              f"{r['eval_s']:.3f} | {r['peak_rss_mb']:.0f} | {rss_ratio} | {own:.0f} | {own_ratio} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "optimizer", "mode",
                                                                                 "arrays")}, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()

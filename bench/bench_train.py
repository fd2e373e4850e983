"""Seconds per epoch of the notes' MNIST MLP (or CNN): tinygrad_edu (C and NumPy backends) against PyTorch.

    python bench/bench_train.py [--data-dir DIR] [--threads 2] [--rounds 5] [--check]
    python bench/bench_train.py --contention             # also with a busy process pinned on one core
    python bench/bench_train.py --sweep --plot sweep.png # batch 16..1024 and width 1x..4x, ratio to PyTorch

MNIST is read from --data-dir, else $TINYGRAD_EDU_MNIST, else the examples' default folder.

Method:
  * every measurement runs in its own subprocess, one framework per process (two thread pools
    in one process steal each other's cores); the frameworks take turns (c, numpy, torch, then
    numpy, torch, c, ...) for --rounds rounds and each figure is the median over the rounds;
  * wall clock (time.perf_counter) of one epoch, after 20 warm-up steps: caches and allocators
    warm, as inside a training loop;
  * threads equal on both sides and printed: --threads sets TINYGRAD_EDU_NUM_THREADS,
    OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and each framework's set_num_threads;
  * the SAME model code: the worker imports `torch` or `tinygrad_edu` under one name and runs an
    identical loop. The images stay uint8, as in the dataset; each step normalises its batch;
  * correctness first: before any timing a separate process trains tinygrad_edu's model and
    torch's from the same weights on the same batches (both optimizers, each backend asked for)
    and checks losses and weights with assert_allclose: no figure is printed if they differ;
  * the machine (CPU model, cores), load average before and after, and the date are printed.

Per framework and optimizer the table gives
  - loop: one epoch over batches prepared beforehand (a list of tensors): the training step alone;
  - loader: one epoch through `DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`;
  - eval: the forward pass over the 10,000 test images in batches of 1000 under no_grad;
  - peak RSS of the process (VmHWM), data included.
--contention repeats every measurement with another process spinning on one core (pinned there
with os.sched_setaffinity; the same for every framework) and gives each framework's busy / quiet
ratio. --sweep times --sweep-limit images at batch sizes 16..1024 and at widths 1x..4x of the
hidden layers (batch 64) and draws the ratio to PyTorch (--plot PATH). --check turns the
targets of issue 14 into the exit status (1 if one is missed); otherwise the exit status is 0.
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
sys.path.insert(0, HERE)
from _machine import header, load_line  # noqa: E402

FRAMEWORKS = ("tinygrad_edu-c", "tinygrad_edu-numpy", "torch")
OPTIMIZERS = ("sgd", "adam")
MODES = ("loop", "loader")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
SWEEP_BATCHES = (16, 32, 64, 128, 256, 512, 1024)
SWEEP_WIDTHS = (1, 2, 4)
# Targets of issue 14, as (ratio of our epoch time to PyTorch's) maxima.
TARGET_C = {"mlp": 0.75, "cnn": 0.8}
TARGET_NUMPY = 1.5
TARGET_CONTENTION = 1.3  # busy / quiet, our own


# ---------------------------------------------------------------- the worker (one subprocess)

def build_model(nn, kind: str, width: int = 1):
    if kind == "mlp":  # the notes' MLP; width multiplies the hidden layers
        sizes = [784] + [h * width for h in (512, 256, 128, 64)] + [10]
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


def load_framework(name: str, threads: int):
    """(library, nn, optim, data) of `name`, the only framework this process imports."""
    base = "torch" if name == "torch" else "tinygrad_edu"
    lib = importlib.import_module(base)
    if base == "tinygrad_edu":
        lib.backend.use(name.split("-")[1])
    lib.set_num_threads(threads)
    return (lib, importlib.import_module(f"{base}.nn"), importlib.import_module(f"{base}.optim"),
            importlib.import_module(f"{base}.utils.data"))


def normalise(images):  # ToTensor + Normalize of a uint8 batch, as the examples' MNIST loader does
    return (images.float() / 255.0 - MNIST_MEAN) / MNIST_STD


def time_config(lib, nn, optim, data, arrays, cfg: dict, evaluate: bool) -> dict:
    """Warm up, then time one epoch of configuration `cfg` (optimizer, mode, batch, width, model, limit)."""
    import numpy as np

    shape = (-1, 784) if cfg["model"] == "mlp" else (-1, 1, 28, 28)
    x_train, y_train = lib.from_numpy(arrays["x_train"].reshape(shape)), lib.from_numpy(arrays["y_train"])
    n, bs = cfg["limit"] or len(y_train), cfg["batch_size"]
    lib.manual_seed(0)
    model = build_model(nn, cfg["model"], cfg.get("width", 1))
    criterion = nn.CrossEntropyLoss()
    opt = make_optimizer(optim, cfg["optimizer"], model.parameters())

    def step(images, y):
        opt.zero_grad()
        loss = criterion(model(normalise(images)), y)
        loss.backward()
        opt.step()
        return loss

    if cfg["mode"] == "loop":
        perm = np.random.default_rng(0).permutation(len(y_train))[:n]
        batches = [(x_train[perm[i:i + bs]], y_train[perm[i:i + bs]]) for i in range(0, n, bs)]
        epoch = lambda: [step(x, y) for x, y in batches]  # noqa: E731
    else:
        loader = data.DataLoader(data.TensorDataset(x_train[:n], y_train[:n]), batch_size=bs, shuffle=True)
        epoch = lambda: [step(x, y) for x, y in loader]  # noqa: E731
    for x, y in [(x_train[:bs], y_train[:bs])] * 20:  # warm-up
        step(x, y)
    t0 = time.perf_counter()
    losses = epoch()
    out = {"epoch_s": time.perf_counter() - t0, "final_loss": float(losses[-1].item())}
    if evaluate:
        x_test = lib.from_numpy(arrays["x_test"].reshape(shape))
        model.eval()
        t0 = time.perf_counter()
        with lib.no_grad():
            correct = sum(int((model(normalise(x_test[i:i + 1000])).argmax(1).numpy()
                               == arrays["y_test"][i:i + 1000]).sum()) for i in range(0, len(x_test), 1000))
        out.update(eval_s=time.perf_counter() - t0, test_acc=correct / len(x_test))
    return out


def worker(args) -> list[dict]:
    """Runs in a subprocess: time each configuration of --configs with one framework."""
    import numpy as np

    lib, nn, optim, data = load_framework(args.worker, args.threads)
    arrays = dict(np.load(args.arrays))
    configs = json.loads(args.configs)
    results = [time_config(lib, nn, optim, data, arrays, cfg, evaluate=len(configs) == 1) for cfg in configs]
    results[-1]["peak_rss_mb"] = peak_rss_mb()  # the process's peak: meaningful for a single configuration
    return results


def verify(args) -> None:
    """Train tinygrad_edu's model and torch's from the same weights on the same batches; compare.

    Runs in its own process (it imports both libraries), before and apart from any timing."""
    import numpy as np
    import torch

    import tinygrad_edu as tg

    arrays = np.load(args.arrays)
    shape = (-1, 784) if args.model == "mlp" else (-1, 1, 28, 28)
    x, y = arrays["x_train"][:5 * 64].reshape(shape), arrays["y_train"][:5 * 64]
    for backend in args.backends.split(","):
        tg.backend.use(backend)
        for optimizer in args.optimizers.split(","):
            tg.manual_seed(0)
            ours = build_model(tg.nn, args.model)
            theirs = build_model(torch.nn, args.model)
            with torch.no_grad():
                for p, q in zip(theirs.parameters(), ours.parameters()):
                    p.copy_(torch.from_numpy(q.detach().numpy().copy()))
            trained = []
            for lib, model in ((tg, ours), (torch, theirs)):
                opt = make_optimizer(lib.optim, optimizer, model.parameters())
                criterion, losses = lib.nn.CrossEntropyLoss(), []
                for i in range(0, len(y), 64):
                    opt.zero_grad()
                    loss = criterion(model(normalise(lib.from_numpy(x[i:i + 64]))), lib.from_numpy(y[i:i + 64]))
                    loss.backward()
                    opt.step()
                    losses.append(float(loss.item()))
                trained.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
            what = f"tinygrad_edu-{backend} vs torch, {args.model}, {optimizer}"
            np.testing.assert_allclose(trained[0][0], trained[1][0], rtol=1e-4, atol=1e-5, err_msg=f"losses: {what}")
            for p, q in zip(trained[0][1], trained[1][1]):
                np.testing.assert_allclose(p, q, rtol=1e-3, atol=1e-4, err_msg=f"weights: {what}")


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM); ru_maxrss is carried over from the parent across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: a bound


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
        out[f"x_{split}"] = ds.data.numpy().reshape(len(ds), -1)
        out[f"y_{split}"] = ds.targets.numpy().astype(np.int64)
    np.savez(path, **out)


class BusyCore:
    """A process spinning on one core (pinned with os.sched_setaffinity) while a worker runs."""

    def __init__(self, cpu: int):
        code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
        self.proc = subprocess.Popen([sys.executable, "-c", code])

    def stop(self) -> None:
        self.proc.kill()  # our own child, by its handle
        self.proc.wait()


def _env(threads: int) -> dict:
    env = dict(os.environ, **{v: str(threads) for v in ("TINYGRAD_EDU_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                          "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def run_worker(args, framework: str, configs: list[dict], arrays: str, busy: bool) -> list[dict]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--configs", json.dumps(configs),
           "--arrays", arrays, "--threads", str(args.threads)]
    spinner = BusyCore((os.cpu_count() or 1) - 1) if busy else None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.threads))
    finally:
        if spinner:
            spinner.stop()
    if proc.returncode != 0:
        sys.exit(f"{framework} failed on {configs}; no figures printed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_verify(args, frameworks: list[str], arrays: str) -> None:
    backends = [f.split("-")[1] for f in frameworks if f.startswith("tinygrad_edu")]
    if "torch" not in frameworks or not backends:
        return
    cmd = [sys.executable, os.path.abspath(__file__), "--verify", "--arrays", arrays, "--model", args.model,
           "--backends", ",".join(backends), "--optimizers", args.optimizers, "--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.threads))
    if proc.returncode != 0:
        sys.exit(f"correctness check failed: tinygrad_edu and torch train differently; no figures printed:\n"
                 f"{proc.stderr[-3000:]}")
    print(f"checked: {', '.join(backends)} backend(s) train as torch does ({args.model}, {args.optimizers}; "
          "5 steps from the same weights: losses and weights assert_allclose)")


def alternate(frameworks: list[str], r: int) -> list[str]:
    return frameworks[r % len(frameworks):] + frameworks[:r % len(frameworks)]


def main_table(args, frameworks: list[str], arrays: str) -> int:
    conditions = ("quiet", "busy") if args.contention else ("quiet",)
    runs: dict = {}
    for r in range(args.rounds):
        for condition in conditions:
            for optimizer in args.optimizers.split(","):
                for mode in args.modes.split(","):
                    cfg = {"optimizer": optimizer, "mode": mode, "batch_size": args.batch_size, "width": 1,
                           "model": args.model, "limit": args.limit}
                    for fw in alternate(frameworks, r):
                        res = run_worker(args, fw, [cfg], arrays, condition == "busy")[0]
                        runs.setdefault((fw, optimizer, mode, condition), []).append(res)
                        print(f"  round {r + 1}: {fw:19s} {optimizer:5s} {mode:7s} {condition:5s} "
                              f"{res['epoch_s']:7.2f} s", file=sys.stderr, flush=True)
    med = {key: {k: statistics.median(x[k] for x in v) for k in v[0] if isinstance(v[0][k], float)}
           for key, v in runs.items()}
    epoch = f"the first {args.limit} images" if args.limit else "one epoch (60,000 images)"
    print(f"\n{args.model.upper()} on MNIST, batch {args.batch_size}, {args.threads} thread(s) in every framework, "
          f"{epoch}; median of {args.rounds} alternating rounds, wall clock, warm (after 20 steps)\n")
    print("| framework | optimizer | mode | s/epoch | vs torch | " + ("busy s/epoch | busy / quiet | busy vs torch | "
          if args.contention else "") + "eval 10k (s) | test acc | peak RSS (MB) |")
    print("|---|---|---|---|---|" + ("---|---|---|" if args.contention else "") + "---|---|---|")
    goals = []  # (what, ratio, maximum)
    for (fw, optimizer, mode, condition), m in med.items():
        if condition != "quiet":
            continue
        t = med.get(("torch", optimizer, mode, "quiet"))
        ratio = m["epoch_s"] / t["epoch_s"] if t else None
        cells = [fw, optimizer, mode, f"{m['epoch_s']:.2f}", f"{ratio:.2f}x" if ratio else "-"]
        if args.contention:
            b, tb = med[(fw, optimizer, mode, "busy")], med.get(("torch", optimizer, mode, "busy"))
            cells += [f"{b['epoch_s']:.2f}", f"{b['epoch_s'] / m['epoch_s']:.2f}x",
                      f"{b['epoch_s'] / tb['epoch_s']:.2f}x" if tb else "-"]
            if fw == "tinygrad_edu-c":
                goals.append((f"tinygrad_edu-c {optimizer} {mode}: busy / quiet", b["epoch_s"] / m["epoch_s"],
                              TARGET_CONTENTION))
        cells += [f"{m['eval_s']:.3f}", f"{m['test_acc']:.4f}", f"{m['peak_rss_mb']:.0f}"]
        print("| " + " | ".join(cells) + " |")
        if ratio and mode == "loop" and fw != "torch":
            limit = TARGET_C[args.model] if fw == "tinygrad_edu-c" else TARGET_NUMPY
            goals.append((f"{fw} {optimizer} {mode}: vs torch", ratio, limit))
    print(load_line("after"))
    print("\ntargets (issue 14; ratios of epoch times, this run):")
    missed = [what for what, value, maximum in goals if not _target(what, value, maximum)]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": {" ".join(k): v for k, v in runs.items()}}, f, indent=1)
    return len(missed)


def _target(what: str, value: float, maximum: float) -> bool:
    ok = value <= maximum
    print(f"  {'met ' if ok else 'MISS'}  {what}: {value:.2f}x (<= {maximum}x)")
    return ok


def sweep(args, frameworks: list[str], arrays: str) -> None:
    """Batch sizes at width 1, then widths at batch 64: one process per framework and round runs all points."""
    points = [{"batch_size": b, "width": 1} for b in SWEEP_BATCHES]
    points += [{"batch_size": 64, "width": w} for w in SWEEP_WIDTHS if w != 1]
    optimizer = args.optimizers.split(",")[0]
    configs = [dict(p, optimizer=optimizer, mode="loop", model="mlp", limit=args.sweep_limit) for p in points]
    times: dict = {}
    for r in range(args.rounds):
        for fw in alternate(frameworks, r):
            for cfg, res in zip(configs, run_worker(args, fw, configs, arrays, busy=False)):
                times.setdefault((fw, cfg["batch_size"], cfg["width"]), []).append(res["epoch_s"])
            print(f"  sweep round {r + 1}: {fw} done", file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nSweep: MLP, {optimizer}, {args.sweep_limit} images per point, {args.threads} thread(s), "
          f"median of {args.rounds} alternating rounds (seconds; ratio = ours / torch)\n")
    print("| batch | width | " + " | ".join(f"{fw} (s)" for fw in frameworks) + " | "
          + " | ".join(f"{fw} / torch" for fw in frameworks if fw != "torch") + " |")
    print("|---|---|" + "---|" * (2 * len(frameworks) - ("torch" in frameworks)))
    for p in points:
        key = (p["batch_size"], p["width"])
        t = med.get(("torch",) + key)
        print(f"| {key[0]} | {key[1]}x | " + " | ".join(f"{med[(fw,) + key]:.3f}" for fw in frameworks) + " | "
              + " | ".join(f"{med[(fw,) + key] / t:.2f}x" if t else "-" for fw in frameworks if fw != "torch") + " |")
    print(load_line("after"))
    if args.plot and "torch" in frameworks:
        plot_sweep(med, frameworks, args)


def plot_sweep(med: dict, frameworks: list[str], args) -> None:
    import matplotlib  # only here: the benchmark itself does not need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for fw in (f for f in frameworks if f != "torch"):
        left.plot(SWEEP_BATCHES, [med[(fw, b, 1)] / med[("torch", b, 1)] for b in SWEEP_BATCHES], "o-", label=fw)
        right.plot(SWEEP_WIDTHS, [med[(fw, 64, w)] / med[("torch", 64, w)] for w in SWEEP_WIDTHS], "o-", label=fw)
    for ax, xlabel in ((left, "batch size (width 1x)"), (right, "hidden width multiplier (batch 64)")):
        ax.axhline(1.0, color="black", lw=0.8)
        ax.axhline(TARGET_C["mlp"], color="tab:gray", lw=0.8, ls="--", label="target 0.75x")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    left.set_ylabel("epoch time / PyTorch's (lower is better)")
    fig.suptitle(f"MNIST MLP, {args.threads} thread(s), {args.sweep_limit} images per point")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    print(f"plot written to {args.plot}")


def comma_list(known: tuple[str, ...]):
    """An argparse type: a comma-separated list whose items are all in `known` (kept as the string)."""
    def parse(text: str) -> str:
        unknown = [item for item in text.split(",") if item not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; choose from {', '.join(known)}")
        return text
    return parse


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="epoch time of the MNIST MLP/CNN: tinygrad_edu vs PyTorch",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder (default: $TINYGRAD_EDU_MNIST, else the examples' default folder)")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="the notes' MLP or CNN")
    p.add_argument("--optimizers", default="sgd,adam", type=comma_list(OPTIMIZERS),
                   help=f"comma-separated, of {', '.join(OPTIMIZERS)}")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), type=comma_list(FRAMEWORKS),
                   help=f"comma-separated, of {', '.join(FRAMEWORKS)}")
    p.add_argument("--modes", default="loop", type=comma_list(MODES),
                   help="comma-separated, of loop (prepared batches: the step alone), loader (through a DataLoader)")
    p.add_argument("--batch-size", type=int, default=64, help="images per step")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of every framework")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (median over them)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only (default: all)")
    p.add_argument("--contention", action="store_true",
                   help="also time every configuration with a busy process pinned on the last core")
    p.add_argument("--sweep", action="store_true", help="sweep batch size 16..1024 and width 1x..4x instead")
    p.add_argument("--sweep-limit", type=int, default=8192, help="images per sweep point")
    p.add_argument("--plot", default=None, metavar="PATH", help="with --sweep: draw the ratios to PyTorch here (PNG)")
    p.add_argument("--check", action="store_true", help="exit status 1 when a target of issue 14 is missed")
    p.add_argument("--json", default=None, help="write the figures here")
    # worker-only arguments
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--configs", help=argparse.SUPPRESS)
    p.add_argument("--arrays", help=argparse.SUPPRESS)
    p.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--backends", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main() -> int:
    args = parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    if args.verify:
        verify(args)
        return 0
    frameworks = [f for f in args.frameworks.split(",") if f]
    if "torch" in frameworks and importlib.util.find_spec("torch") is None:
        print("torch is not installed: timing tinygrad_edu only", file=sys.stderr)
        frameworks.remove("torch")
    print(header(args.threads, "wall clock, warm (after 20 steps)") +
          (f"\ncontention: a busy process pinned on CPU {(os.cpu_count() or 1) - 1} in the 'busy' runs"
           if args.contention else ""))
    missed = 0
    with tempfile.TemporaryDirectory() as tmp:
        arrays = os.path.join(tmp, "mnist.npz")
        prepare_arrays(args.data_dir or default_data_dir(), arrays)
        run_verify(args, frameworks, arrays)
        if args.sweep:
            sweep(args, frameworks, arrays)
        else:
            missed = main_table(args, frameworks, arrays)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel scaling of the notes' MLP: measured at 1 and 2 ranks, modelled for N ranks.

    mpirun -n 1 python bench/bench_distributed.py --json runs/distributed.json
    mpirun -n 2 python bench/bench_distributed.py --json runs/distributed.json
    python bench/bench_distributed.py --json runs/distributed.json --plot docs/img/distributed_scaling.png

Under mpirun each run measures, on random data (no MNIST needed), with the global batch split
over the ranks:
  * step: one DistributedDataParallel training step (zero_grad, forward, loss, backward with the
    gradients averaged, Adam step), fastest of --steps; and the mean time per step the last
    gradient waited for the all_reduces (the communication backward did not hide);
  * compute(b): the same step without DDP at per-rank batch b (rank 0 alone, the others wait);
  * all_reduce of 4 bytes (latency) and of the model's 575,050 gradients (2.3 MB), fastest of 50 (and 200).
Before timing, DDP's weights after the steps are checked against one process's with the global
batch. The model of N ranks (ring all_reduce, as MPI libraries do for large messages):
    a(N) = 2 (N - 1) alpha + 2 (N - 1) / N * M / beta
    strong scaling (global batch B fixed):   T(N) = compute(B / N) + a(N),   E = T(1) / (N T(N))
    weak scaling (B / N = 64 per rank):      T(N) = compute(64) + a(N),      E = compute(64) / T(N)
with alpha, beta from this machine's loopback (N = 2), and, as an assumption, a 10 GbE cluster.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tinygrad_edu
import tinygrad_edu as tg  # noqa: E402
import tinygrad_edu.distributed as dist  # noqa: E402
from tinygrad_edu import nn  # noqa: E402
from tinygrad_edu.nn.parallel import DistributedDataParallel  # noqa: E402

SIZES = [784, 512, 256, 128, 64, 10]
CLUSTER = {"name": "10 GbE cluster (assumed: alpha 30 us, beta 1.1 GB/s)", "alpha": 30e-6, "beta": 1.1e9}


def mlp():
    tg.manual_seed(0)
    layers = []
    for a, b in zip(SIZES, SIZES[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def step(model, opt, x, y) -> None:
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def best_time(fn, repeats: int, warmup: int = 5) -> float:
    """The fastest of `repeats` runs: the machine is shared, and the fastest run is the least disturbed."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(args) -> dict:
    dist.init_process_group(backend="mpi")
    rank, n = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(0)
    B = args.batch
    x = tg.tensor(rng.normal(size=(B, 784)).astype(np.float32))
    y = tg.tensor(rng.integers(0, 10, size=B))
    mine = slice(rank * B // n, (rank + 1) * B // n)

    reference, ddp = mlp(), DistributedDataParallel(mlp())  # check first: DDP equals one process
    ref_opt, opt = tg.optim.Adam(reference.parameters(), lr=1e-3), tg.optim.Adam(ddp.parameters(), lr=1e-3)
    for _ in range(5):
        step(reference, ref_opt, x, y)
        step(ddp, opt, x[mine], y[mine])
    for a, b in zip(reference.parameters(), ddp.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-6)

    result = {"ranks": n, "batch": B, "threads": tg.get_num_threads(), "load": os.getloadavg()[0]}
    dist.barrier()
    ddp.reducer.wait_seconds = 0.0
    result["step"] = best_time(lambda: step(ddp, opt, x[mine], y[mine]), args.steps)
    result["ddp_wait_per_step"] = ddp.reducer.wait_seconds / (args.steps + 5)  # mean, warm-up included
    grads = tg.zeros(sum(p.numel() for p in ddp.parameters()))
    one = tg.zeros(1)
    result["all_reduce_grads"] = best_time(lambda: dist.all_reduce(grads), 50)
    result["all_reduce_4B"] = best_time(lambda: dist.all_reduce(one), 200)
    result["grad_bytes"] = grads.numel() * 4
    if rank == 0 and n == 1:  # compute(b): the step alone, at the per-rank batches of N = 1 .. 64 ranks
        plain = mlp()
        plain_opt = tg.optim.Adam(plain.parameters(), lr=1e-3)
        result["compute"] = {b: best_time(lambda b=b: step(plain, plain_opt, x[:b], y[:b]), args.steps)
                             for b in (64, 32, 16, 8, 4, 2, 1)}
    dist.destroy_process_group()
    return result if rank == 0 else None


def ring(n: int, alpha: float, beta: float, nbytes: float) -> float:
    return 0.0 if n == 1 else 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / beta


def model(runs: dict) -> dict:
    one, two = runs["1"], runs["2"]
    compute = {int(b): t for b, t in one["compute"].items()}
    nbytes = two["grad_bytes"]
    alpha = two["all_reduce_4B"] / 2  # a(2) = 2 alpha for a tiny message
    beta = nbytes / max(two["all_reduce_grads"] - 2 * alpha, 1e-9)
    out = {"alpha": alpha, "beta": beta, "nbytes": nbytes, "curves": {}}
    for name, a, b in (("this machine (shared memory, measured)", alpha, beta),
                       (CLUSTER["name"], CLUSTER["alpha"], CLUSTER["beta"])):
        strong, weak = {}, {}
        for n in (1, 2, 4, 8, 16, 32, 64):
            per_rank = compute[max(64 // n, 1)]
            strong[n] = compute[64] / (n * (per_rank + ring(n, a, b, nbytes)))
            weak[n] = compute[64] / (compute[64] + ring(n, a, b, nbytes))
        out["curves"][name] = {"strong": strong, "weak": weak}
    return out


def plot(runs: dict, fitted: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (name, curves), color in zip(fitted["curves"].items(), ("tab:blue", "tab:orange")):
        for kind, style in (("strong", "-"), ("weak", "--")):
            ns = list(curves[kind])
            ax.plot(ns, [curves[kind][n] for n in ns], style, color=color, marker=".",
                    label=f"{kind} scaling, {name}")
    measured = runs["1"]["step"] / (2 * runs["2"]["step"])
    ax.plot([1, 2], [1.0, measured], "k*", markersize=12, label="measured here (global batch 64)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ranks N")
    ax.set_ylabel("parallel efficiency T(1) / (N T(N))")
    ax.set_ylim(0, 1.05)
    ax.set_title("MNIST MLP, data parallel: measured at N <= 2, modelled beyond")
    ax.legend(fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--json", default="runs/distributed.json", help="measurements, one entry per world size")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=64, help="global batch")
    p.add_argument("--plot", metavar="PATH", help="no measuring: draw the scaling plot from --json (PNG)")
    args = p.parse_args()
    runs = json.loads(Path(args.json).read_text()) if Path(args.json).exists() else {}
    if args.plot:
        fitted = model(runs)
        plot(runs, fitted, args.plot)
        print(json.dumps({k: v for k, v in fitted.items()}, indent=1))
        return
    result = measure(args)
    if result is not None:
        runs[str(result["ranks"])] = result
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(runs, indent=1))
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

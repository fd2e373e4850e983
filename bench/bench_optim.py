"""Time one optimizer step() on the MNIST MLP's parameters: C kernels vs NumPy twin vs torch.optim.

The MLP of the course notes is 784-512-256-128-64-10: ten parameters (five weights, five
biases, 575,050 floats). For each optimizer we build the same parameters and gradients in
tinygrad_edu and torch, check that a few steps agree (values, before any number is printed),
then time step() alone: warm-up steps dropped, the median of many repeats reported, and the
ratios to the C backend computed from the same run. torch runs single-threaded by default, as
our kernels and NumPy do (``--threads N`` to change it).

    python bench/bench_optim.py [--repeats 60] [--threads 1] [--dtype float32]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tinygrad_edu
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import backend, optim  # noqa: E402

SIZES = [784, 512, 256, 128, 64, 10]
SHAPES = [s for i, o in zip(SIZES, SIZES[1:]) for s in ((o, i), (o,))]  # as nn.Linear: weight, bias

CONFIGS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 1e-3}),
    ("AdamW", {"lr": 1e-3}),
    ("RMSprop", {"lr": 1e-3, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.01}),
]


def _setup(name: str, kwargs: dict, dtype: np.dtype, seed: int = 0, shapes: list = SHAPES):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) * 0.05 for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) * 0.01 for s in shapes]
    ours = [tg.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
    return (getattr(optim, name)(ours, **kwargs), ours), (getattr(torch.optim, name)(theirs, **kwargs), theirs)


def _time_steps(opt, repeats: int, warmup: int = 5) -> float:
    """Median seconds of one step()."""
    for _ in range(warmup):
        opt.step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _check(name: str, kwargs: dict, dtype: np.dtype, which: str) -> None:
    """A few steps on each side must agree before timing means anything."""
    backend.use(which)
    (ours_opt, ours), (theirs_opt, theirs) = _setup(name, kwargs, dtype, seed=1)
    for _ in range(3):
        ours_opt.step()
        theirs_opt.step()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=tol, atol=tol)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--repeats", type=int, default=60, help="timed steps per case (median)")
    ap.add_argument("--threads", type=int, default=1, help="threads of torch and of our C kernels")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="of the parameters")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    if "c" not in backend.available():
        raise SystemExit("the C extension is not built: python setup.py -q build_ext -i")
    n = sum(int(np.prod(s)) for s in SHAPES)
    header = f"{'optimizer':<48}{'C (ms)':>9}{'NumPy':>9}{'torch':>9}{'NumPy/C':>9}{'torch/C':>9}"
    print(f"MLP {'-'.join(map(str, SIZES))}: {len(SHAPES)} parameters, {n:,} {args.dtype}; "
          f"median of {args.repeats} step() calls; torch threads = {args.threads}")
    print(header)
    _table(dtype, args.repeats, SHAPES)
    print("\nPer-step overhead: the same 10 parameters with one element each (all Python, no arithmetic)")
    print(header)
    _table(dtype, args.repeats, [(1,)] * len(SHAPES))


def _table(dtype: np.dtype, repeats: int, shapes: list) -> None:
    before = backend.current()
    try:
        for name, kwargs in CONFIGS:
            times = {}
            for which in ("c", "numpy"):
                _check(name, kwargs, dtype, which)
                backend.use(which)
                (opt, _), _ = _setup(name, kwargs, dtype, shapes=shapes)
                times[which] = _time_steps(opt, repeats)
            _, (topt, _) = _setup(name, kwargs, dtype, shapes=shapes)
            times["torch"] = _time_steps(topt, repeats)
            label = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
            c, np_, th = times["c"] * 1e3, times["numpy"] * 1e3, times["torch"] * 1e3
            print(f"{label:<48}{c:>9.3f}{np_:>9.3f}{th:>9.3f}{np_ / c:>8.2f}x{th / c:>8.2f}x")
    finally:
        backend.use(before)


if __name__ == "__main__":
    main()

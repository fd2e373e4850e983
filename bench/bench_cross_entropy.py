"""F.cross_entropy forward + backward through autograd at 64x10, split by layer, against NumPy.

    python bench/bench_cross_entropy.py [--rounds N] [--shape 64x10]

Each row adds one layer to the one above, so the differences are what each layer costs:

    numpy     NumPy's bare expression (bench_kernels.np_cross_entropy: loss and gradient, one exp)
    kernel    tg_cross_entropy_f32 alone, its pointers built once (cffi's call, the C loop)
    binding   backend.kernels.cross_entropy(x, t): checks, output arrays, pointers, the call
    args      F.cross_entropy(x, t) on logits that need no gradient: argument handling, the op
    graph     the same on logits that require grad: the node recorded, dlogits kept
    engine    + loss.backward() (x.grad reset to None first, as a training step's zero_grad)

CPU time (other processes on a shared machine distort it less than wall time), one thread,
best over --rounds rounds of the rows taking turns. The last line is issue 14's ratio:
NumPy's time / ours for the whole forward + backward (above 1 we are faster).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TINYGRAD_EDU_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # this checkout, unless PYTHONPATH names another first
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
import tinygrad_edu.nn.functional as F  # noqa: E402
import bench_kernels  # noqa: E402
from bench_kernels import np_cross_entropy  # noqa: E402  (bench_kernels.py's reference, unchanged)

bench_kernels.np = np  # (bench_kernels imports NumPy in its main(), after setting the thread variables)


def best_cpu_time(fn, calls: int) -> float:
    t = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t) / calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rounds", type=int, default=20, help="the rows take turns this many times")
    p.add_argument("--shape", default="64x10", help="logits N x C")
    args = p.parse_args()
    n, k = (int(s) for s in args.shape.split("x"))
    tg.backend.use("c")
    from tinygrad_edu.backend import c_kernels as K
    from tinygrad_edu.backend.c._ffi import ffi, lib

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((n, k), np.float32), rng.integers(0, k, n)
    leaf, plain, target = tg.tensor(x, requires_grad=True), tg.tensor(x), tg.tensor(t)
    loss_out, d_out, bad = np.empty((), np.float32), np.empty((n, k), np.float32), np.empty(1, np.int64)
    fl, i64 = ffi.typeof("float[]"), ffi.typeof("int64_t[]")
    ptrs = (ffi.from_buffer(fl, x), ffi.from_buffer(i64, t), ffi.NULL, ffi.from_buffer(fl, loss_out),
            ffi.from_buffer(fl, d_out), ffi.from_buffer(i64, bad))
    kernel = lib.tg_cross_entropy_f32

    def full():
        leaf.grad = None
        F.cross_entropy(leaf, target).backward()

    rows = {"numpy": lambda: np_cross_entropy(x, t),
            "kernel": lambda: kernel(*ptrs, n, k, -100, lib.TG_REDUCTION_MEAN, 0.0),
            "binding": lambda: K.cross_entropy(x, t),
            "args": lambda: F.cross_entropy(plain, target),
            "graph": lambda: F.cross_entropy(leaf, target),
            "engine": full}
    full()  # correctness first
    ref_loss, ref_grad = np_cross_entropy(x, t)
    np.testing.assert_allclose(F.cross_entropy(leaf, target).item(), ref_loss, rtol=1e-5)
    np.testing.assert_allclose(leaf.grad.numpy(), ref_grad, rtol=1e-5, atol=1e-6)

    calls = {name: max(1, int(2e-3 / max(best_cpu_time(fn, 50), 1e-7))) for name, fn in rows.items()}
    best = dict.fromkeys(rows, float("inf"))
    for _ in range(args.rounds):
        for name, fn in rows.items():
            best[name] = min(best[name], best_cpu_time(fn, calls[name]))
    print(f"F.cross_entropy fwd+bwd {n}x{k}, float32, 1 thread, CPU time best of {args.rounds} rounds "
          f"(load {os.getloadavg()[0]:.1f})")
    below = 0.0
    for name, sec in best.items():
        us = sec * 1e6
        layer = "" if name == "numpy" else f"  +{us - below:6.2f}"
        print(f"  {name:8s} {us:7.2f} us{layer}")
        below = below if name == "numpy" else us
    print(f"NumPy's bare expression / ours (fwd+bwd through autograd): {best['numpy'] / best['engine']:.2f}x")


if __name__ == "__main__":
    main()

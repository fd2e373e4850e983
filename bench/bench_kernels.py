"""Time each C kernel against the best NumPy expression of the same thing, and torch.

    python bench/bench_kernels.py [--threads N] [--quick] [--json PATH] [--plot PATH]

Shapes: the MNIST MLP 784-512-256-128-64-10 at batch 64 and 512 (each layer's three
products x @ W^T, grad @ W, x^T @ grad; relu forward/backward at the hidden sizes;
softmax, log_softmax and cross-entropy over the 10 classes), square matmuls 256..2048,
and cross-entropy at 4096 x 1000. Everything is float32, the dtype the MLP trains in.

Method (tinygrad's test/test_speed_v_torch.py habits):
  * every kernel's result is checked with assert_allclose against NumPy's (and torch's)
    BEFORE any time is printed: a fast wrong kernel never shows up in the table;
  * warm-up calls are dropped; each figure is the median of repeats, each repeat long
    enough (>= 2 ms) for the timer, the three libraries taking turns within each repeat;
  * caches are defeated where it matters: each timed call reads the next of a pool of
    input copies spanning >= 16 MB (more than this CPU's L2 and its share of L3), so
    a kernel over arrays of a few MB cannot live in cache between calls. The same pool
    feeds all three libraries, so none of them is favoured;
  * the clock: with one thread (the default) the process's CPU time, so that other
    processes on a shared machine do not distort the ratios; wall time with --threads > 1;
  * threads are equal on both sides: --threads sets TINYGRAD_EDU_NUM_THREADS,
    OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS before NumPy is imported,
    and torch.set_num_threads (default 1: the machine is shared).

"ratio" is NumPy's time / ours: above 1 we are faster. Targets (checked at the end):
cross-entropy forward+backward >= 3x, relu backward >= 1.5x, softmax forward >= 1.5x;
the exit status is 1 when one of them is missed in this run.
"""
from __future__ import annotations

import argparse
import os
import sys


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads for every library")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--plot", metavar="PATH", help="also draw the ratios vs NumPy as a PNG (matplotlib)")
    p.add_argument("--quick", action="store_true", help="fewer repeats, no 1024/2048 square matmul")
    p.add_argument("--clock", choices=("cpu", "wall"), default=None,
                   help="cpu: this process's CPU time (default with 1 thread: immune to other processes "
                        "on a shared machine); wall: elapsed time (default with more threads)")
    p.add_argument("--hot", action="store_true", help="reuse one set of inputs (warm caches) instead of a pool")
    return p.parse_args()


ARGS = _parse() if __name__ == "__main__" else argparse.Namespace(threads=1, json=None, plot=None, quick=True,
                                                                    clock=None, hot=False)
ARGS.clock = ARGS.clock or ("cpu" if ARGS.threads == 1 else "wall")
# Before NumPy (and its BLAS) is imported: BLAS reads these once, at load time.
for _var in ("TINYGRAD_EDU_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
try:
    from tinygrad_edu.backend import c_kernels as K  # noqa: E402
except ImportError as e:  # pragma: no cover
    sys.exit(f"the C kernels are not built ({e}); run `python setup.py build_ext -i` first")

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    torch.set_num_threads(ARGS.threads)
except ImportError:  # torch is optional here
    torch = None

POOL_BYTES = 0 if ARGS.hot else 16 << 20
# CPU time counts every thread of the process, so it is only comparable single-threaded.
CLOCK = time.process_time if ARGS.clock == "cpu" else time.perf_counter
MIN_REPEAT_S = 0.002


@dataclass
class Row:
    kernel: str
    shape: str
    ours_ms: float
    numpy_ms: float
    torch_ms: float | None
    rate: float  # GFLOP/s or GB/s of our kernel
    unit: str
    ratio: float  # numpy_ms / ours_ms


def _median_seconds(entries: list[tuple[Callable, list[tuple]]], repeats: int) -> list[float]:
    """Median time per call of each (fn, input pool), cycling through its pool.

    The libraries take turns inside every repeat (ours, NumPy, torch, ours, ...), so a burst
    of load from other processes on this shared machine hits all of them alike."""
    numbers = []
    for fn, pool in entries:
        for args in pool[:3]:  # warm-up: first-call costs, page faults of the outputs
            fn(*args)
        t0 = time.perf_counter()
        for _ in range(3):
            fn(*pool[0])
        numbers.append(max(1, int(MIN_REPEAT_S / max((time.perf_counter() - t0) / 3, 1e-7))))
    times: list[list[float]] = [[] for _ in entries]
    i = 0
    for _ in range(repeats):
        for (fn, pool), number, out in zip(entries, numbers, times):
            t0 = CLOCK()
            for _ in range(number):
                fn(*pool[i % len(pool)])
                i += 1
            out.append((CLOCK() - t0) / number)
    return [statistics.median(t) for t in times]


def _pool(make: Callable[[], tuple]) -> list[tuple]:
    """Copies of the inputs spanning >= POOL_BYTES (at most 64 of them)."""
    first = make()
    size = sum(a.nbytes for a in first if isinstance(a, np.ndarray))
    return [first] + [make() for _ in range(min(63, POOL_BYTES // max(size, 1)))]


def _as_torch(args: tuple) -> tuple:
    return tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)


def _flat(out) -> list[np.ndarray]:
    if isinstance(out, (tuple, list)):
        return [np.asarray(o.detach().numpy() if hasattr(o, "detach") else o) for o in out if o is not None]
    return [np.asarray(out.detach().numpy() if hasattr(out, "detach") else out)]


def run(kernel: str, shape: str, make: Callable[[], tuple], ours: Callable, numpy_ref: Callable,
        torch_ref: Callable | None, work: float, unit: str, repeats: int, tol: tuple[float, float]) -> Row:
    """Check ours == NumPy (== torch), then time all three on the same input pool."""
    pool = _pool(make)
    expected = _flat(numpy_ref(*pool[0]))
    for got in (_flat(ours(*pool[0])),) + ((_flat(torch_ref(*_as_torch(pool[0]))),) if torch_ref else ()):
        assert len(got) == len(expected), kernel
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=tol[0], atol=tol[1], err_msg=f"{kernel} {shape}")
    entries = [(ours, pool), (numpy_ref, pool)] + ([(torch_ref, [_as_torch(p) for p in pool])] if torch_ref else [])
    t_ours, t_np, *t_rest = _median_seconds(entries, repeats)
    t_torch = t_rest[0] if t_rest else None
    return Row(kernel, shape, t_ours * 1e3, t_np * 1e3, None if t_torch is None else t_torch * 1e3,
               work / t_ours / 1e9, unit, t_np / t_ours)


# ---------------------------------------------------------------- the NumPy references

def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def np_log_softmax(x):
    s = x - x.max(axis=-1, keepdims=True)
    s -= np.log(np.exp(s).sum(axis=-1, keepdims=True))
    return s


def np_cross_entropy(x, t):
    """The best NumPy expression of mean cross-entropy and its gradient: one exp, in place."""
    n = x.shape[0]
    rows = np.arange(n)
    s = x - x.max(axis=1, keepdims=True)
    e = np.exp(s)
    se = e.sum(axis=1)
    loss = np.mean(np.log(se) - s[rows, t], dtype=np.float64).astype(x.dtype)
    e /= se[:, None]
    e[rows, t] -= 1
    e *= np.float32(1 / n)
    return loss, e


def torch_cross_entropy(x, t):
    x = x.detach().requires_grad_()
    loss = F.cross_entropy(x, t)
    loss.backward()
    return loss, x.grad


# ---------------------------------------------------------------- the table

def cases(quick: bool):
    """(kernel, shape, make inputs, ours, numpy, torch, work, unit, tolerance) for every row."""
    rng = np.random.default_rng(0)
    f32 = np.float32

    def randn(*shape):
        return lambda: rng.standard_normal(shape, f32)

    def inputs(*makers):
        return lambda: tuple(m() for m in makers)

    def grad_and_saved(forward, *shape):
        """(upstream gradient, what the forward saved) for a backward kernel."""
        return lambda: (rng.standard_normal(shape, f32), forward(rng.standard_normal(shape, f32)))

    out = []
    mm_tol = (2e-4, 2e-3)

    def matmul_row(name, m, k, n):
        make = inputs(randn(m, k), randn(k, n))
        out.append((name, f"{m}x{k} @ {k}x{n}", make, K.matmul, np.matmul,
                    torch.mm if torch else None, 2.0 * m * k * n, "GFLOP/s", mm_tol))

    layers = [(784, 512), (512, 256), (256, 128), (128, 64), (64, 10)]
    for batch in (64, 512):
        for fan_in, fan_out in layers:
            matmul_row("matmul x@W^T", batch, fan_in, fan_out)
            matmul_row("matmul grad@W", batch, fan_out, fan_in)
            matmul_row("matmul x^T@grad", fan_in, batch, fan_out)
            if hasattr(K, "linear"):
                make = inputs(randn(batch, fan_in), randn(fan_out, fan_in), randn(fan_out))
                out.append(("linear", f"{batch}x{fan_in} -> {fan_out}", make, K.linear,
                            lambda x, w, b: x @ w.T + b, F.linear if torch else None,
                            2.0 * batch * fan_in * fan_out, "GFLOP/s", mm_tol))
            if hasattr(K, "linear_backward"):
                make = inputs(randn(batch, fan_out), randn(batch, fan_in), randn(fan_out, fan_in))
                out.append(("linear_backward", f"{batch}x{fan_in} -> {fan_out}", make,
                            lambda g, x, w: K.linear_backward(g, x, w, True, True, True),
                            lambda g, x, w: (g @ w, g.T @ x, g.sum(0)),
                            (lambda g, x, w: (g @ w, g.T @ x, g.sum(0))) if torch else None,
                            4.0 * batch * fan_in * fan_out, "GFLOP/s", mm_tol))
        for width in (512, 256, 128, 64):
            shape, nbytes = f"{batch}x{width}", 4.0 * batch * width
            out.append(("relu", shape, inputs(randn(batch, width)), K.relu, lambda x: np.maximum(x, 0),
                        torch.relu if torch else None, 2 * nbytes, "GB/s", (0, 0)))
            out.append(("relu_backward", shape, inputs(randn(batch, width), randn(batch, width)),
                        K.relu_backward, lambda g, x: g * (x > 0),
                        (lambda g, x: torch.ops.aten.threshold_backward(g, x, 0)) if torch else None,
                        3 * nbytes, "GB/s", (0, 0)))
            out.append(("bias_relu", shape, inputs(randn(batch, width), randn(width)), K.bias_relu,
                        lambda x, b: np.maximum(x + b, 0), (lambda x, b: torch.relu(x + b)) if torch else None,
                        2 * nbytes, "GB/s", (0, 0)))
        shape, nbytes = f"{batch}x10", 4.0 * batch * 10
        out.append(("softmax", shape, inputs(randn(batch, 10)), K.softmax, np_softmax,
                    (lambda x: torch.softmax(x, -1)) if torch else None, 2 * nbytes, "GB/s", (1e-5, 1e-6)))
        out.append(("log_softmax", shape, inputs(randn(batch, 10)), K.log_softmax, np_log_softmax,
                    (lambda x: torch.log_softmax(x, -1)) if torch else None, 2 * nbytes, "GB/s", (1e-5, 1e-5)))
        out.append(("softmax_backward", shape, grad_and_saved(np_softmax, batch, 10), K.softmax_backward,
                    lambda g, y: y * (g - (g * y).sum(-1, keepdims=True)),
                    (lambda g, y: torch.ops.aten._softmax_backward_data(g, y, -1, torch.float32)) if torch else None,
                    3 * nbytes, "GB/s", (1e-5, 1e-6)))
    for n, k in [(64, 10), (512, 10), (4096, 1000)]:
        make = (lambda n, k: lambda: (rng.standard_normal((n, k), f32), rng.integers(0, k, n)))(n, k)
        out.append(("cross_entropy fwd+bwd", f"{n}x{k}", make, K.cross_entropy, np_cross_entropy,
                    torch_cross_entropy if torch else None, 8.0 * n * k, "GB/s", (1e-5, 1e-6)))
    for name, ref, tref in [("softmax", np_softmax, "softmax"), ("log_softmax", np_log_softmax, "log_softmax")]:
        out.append((name, "4096x1000", inputs(randn(4096, 1000)), getattr(K, name), ref,
                    (lambda t: lambda x: getattr(torch, t)(x, -1))(tref) if torch else None,
                    8.0 * 4096 * 1000, "GB/s", (1e-5, 1e-5)))
    out.append(("sigmoid", "512x512", inputs(randn(512, 512)), K.sigmoid, lambda x: 1 / (1 + np.exp(-x)),
                torch.sigmoid if torch else None, 8.0 * 512 * 512, "GB/s", (1e-5, 1e-6)))
    for name in ("sigmoid_backward", "tanh_backward"):
        act = K.sigmoid if name == "sigmoid_backward" else np.tanh
        ref = (lambda g, y: g * (1 - y) * y) if name == "sigmoid_backward" else (lambda g, y: g * (1 - y * y))
        out.append((name, "512x512", grad_and_saved(act, 512, 512), getattr(K, name), ref,
                    getattr(torch.ops.aten, name) if torch else None, 12.0 * 512 * 512, "GB/s", (1e-6, 1e-6)))
    for size in (256, 512) if quick else (256, 512, 1024, 2048):
        matmul_row("matmul square", size, size, size)
    if hasattr(K, "bmm"):
        make = inputs(randn(32, 64, 64), randn(32, 64, 64))
        out.append(("bmm", "32x64x64 @ 32x64x64", make, K.bmm, np.matmul, torch.bmm if torch else None,
                    2.0 * 32 * 64 ** 3, "GFLOP/s", mm_tol))
    return out


TARGETS = [  # (kernel, shape or None for every shape, minimum ratio vs NumPy)
    ("cross_entropy fwd+bwd", "64x10", 3.0),
    ("cross_entropy fwd+bwd", "4096x1000", 3.0),
    ("relu_backward", None, 1.5),
    ("softmax", None, 1.5),
]


def main() -> int:
    repeats = 7 if ARGS.quick else 21
    rows = []
    print(f"threads={ARGS.threads}  clock={ARGS.clock}  caches={'warm' if ARGS.hot else 'defeated (16 MB pool)'}  "
          f"numpy {np.__version__}  torch {torch.__version__ if torch else '(not installed)'}  repeats={repeats}"
          "  (median ms; ratio = NumPy ms / ours)")
    header = f"{'kernel':<22} {'shape':<22} {'ours ms':>9} {'NumPy ms':>9} {'torch ms':>9} {'rate':>14} {'vs NumPy':>9}"
    print(header)
    print("-" * len(header))
    for kernel, shape, make, ours, ref, tref, work, unit, tol in cases(ARGS.quick):
        row = run(kernel, shape, make, ours, ref, tref, work, unit, repeats, tol)
        rows.append(row)
        torch_ms = f"{row.torch_ms:9.4f}" if row.torch_ms is not None else f"{'-':>9}"
        print(f"{row.kernel:<22} {row.shape:<22} {row.ours_ms:9.4f} {row.numpy_ms:9.4f} {torch_ms} "
              f"{row.rate:8.2f} {row.unit:<5} {row.ratio:8.2f}x", flush=True)

    print("\ntargets (ratio vs NumPy, this run):")
    missed = 0
    for kernel, shape, minimum in TARGETS:
        for row in rows:
            if row.kernel == kernel and (shape is None or row.shape == shape):
                ok = row.ratio >= minimum
                missed += not ok
                print(f"  {'met ' if ok else 'MISS'}  {kernel:<22} {row.shape:<12} {row.ratio:6.2f}x  (>= {minimum}x)")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"threads": ARGS.threads, "rows": [asdict(r) for r in rows]}, indent=1))
    if ARGS.plot:
        plot(rows, ARGS.plot)
    return 0 if not missed else 1


def plot(rows: list[Row], path: str) -> None:
    import matplotlib  # only here: the benchmark itself does not need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.kernel} {r.shape}" for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.22 * len(rows) + 1.5))
    ax.barh(range(len(rows)), [r.ratio for r in rows], color=["tab:green" if r.ratio >= 1 else "tab:red" for r in rows])
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up vs NumPy (NumPy time / ours), log scale")
    ax.set_title(f"tinygrad_edu C kernels vs NumPy, {ARGS.threads} thread(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())

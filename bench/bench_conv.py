"""Benchmark: conv2d and max_pool2d, forward + backward, at the course notes' CNN shapes.

The CNN of the notes (003, "CONVOLUTIONAL NEURAL NETWORK") on MNIST, batch 64:
    Conv2d(1, 16, 5, padding=2) on 28x28 -> MaxPool2d(2) -> Conv2d(16, 32, 5, padding=2) on 14x14
    -> MaxPool2d(2).
Each layer is timed forward + backward (the gradients a training step needs: the first conv's
input is the data, so it has no input gradient) for
    ours-c      tinygrad_edu, C kernels (im2col + tiled GEMM, one-pass pooling)
    ours-numpy  tinygrad_edu, NumPy twin kernels
    numpy-ref   a textbook NumPy im2col (sliding_window_view + tensordot), no tinygrad_edu
    torch       torch.nn.functional, same thread count
Every implementation is first checked against torch (values and gradients). The runners take
turns, one call each per round, for --repeats rounds after a warm-up round. Each call is timed
with two clocks: the process's CPU time (all threads: robust to other jobs on the shared 2-core
machine, the fair clock at 1 thread) and wall time (what a second thread can shorten; it swings
with the machine's load, which is printed). --threads 1,2 runs one table per thread count, with
torch and ours (backend.set_num_threads) on the same count. Ratio = median / torch's median, in
this run. At 2 threads torch's OpenMP workers spin for a while after each call (GNU OpenMP's
default), and that CPU time lands on whichever runner comes next: OMP_WAIT_POLICY=PASSIVE in
the environment stops it. Our pool goes serial for a while when its second thread straggles (a
busy machine, csrc/threadpool.c), so on a loaded machine 2 threads may run like 1.

    python bench/bench_conv.py [--repeats 20] [--threads 1,2] [--dtype float32] [--all]
"""
from __future__ import annotations

import argparse
import os

# One thread everywhere, set before NumPy loads its BLAS: our kernels are single-threaded, and
# idle BLAS threads spin on the CPU after each call, which would be charged to whatever runs next.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, without installing
import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import backend  # noqa: E402

# (name, kind, input shape, params, input needs grad); params = (out_channels, kernel, padding) for
# conv, kernel for pool.
LAYERS = [
    ("conv1 1->16 5x5 p2 28x28", "conv", (64, 1, 28, 28), (16, 5, 2), False),
    ("pool1 2x2 on 16x28x28", "pool", (64, 16, 28, 28), 2, True),
    ("conv2 16->32 5x5 p2 14x14", "conv", (64, 16, 14, 14), (32, 5, 2), True),
    ("pool2 2x2 on 32x14x14", "pool", (64, 32, 14, 14), 2, True),
]


def make_inputs(kind: str, shape: tuple, params, dtype: str, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "pool":
        return [x]
    o, k, _ = params
    bound = 1 / np.sqrt(shape[1] * k * k)
    w = rng.uniform(-bound, bound, (o, shape[1], k, k)).astype(dtype)
    b = rng.uniform(-bound, bound, (o,)).astype(dtype)
    return [x, w, b]


def run_lib(lib, kind: str, params, arrays: list[np.ndarray], grad_out: np.ndarray, x_grad: bool):
    """One forward + backward in tinygrad_edu or torch (same code for both); returns output and grads."""
    tensors = [lib.tensor(a) for a in arrays]
    for i, t in enumerate(tensors):
        t.requires_grad_(i > 0 or x_grad)
    if kind == "conv":
        out = lib.conv2d(tensors[0], tensors[1], tensors[2], padding=params[2])
    else:
        out = lib.max_pool2d(tensors[0], params)
    out.backward(lib.tensor(grad_out))
    return [out.detach().numpy()] + [t.grad.numpy() if t.grad is not None else None for t in tensors]


# ------------------------------------------------------------ the textbook NumPy reference

def ref_conv(arrays: list[np.ndarray], params, grad_out: np.ndarray, x_grad: bool):
    x, w, b = arrays
    o, k, p = params
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # [N, C, OH, OW, k, k]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[:, None, None]
    dw = np.tensordot(grad_out, win, axes=([0, 2, 3], [0, 2, 3]))
    db = grad_out.sum((0, 2, 3))
    dx = None
    if x_grad:
        dxp = np.zeros_like(xp)
        oh, ow = out.shape[2:]
        for i in range(k):
            for j in range(k):
                tap = np.tensordot(grad_out, w[:, :, i, j], axes=([1], [0]))  # [N, OH, OW, C]
                dxp[:, :, i:i + oh, j:j + ow] += tap.transpose(0, 3, 1, 2)
        dx = dxp[:, :, p:p + h, p:p + wd]
    return [out, dx, dw, db]


def ref_pool(arrays: list[np.ndarray], k: int, grad_out: np.ndarray, x_grad: bool):
    (x,) = arrays
    n, c, h, w = x.shape
    blocks = x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k)
    out = blocks.max((3, 5))
    # the first maximum of each window gets the gradient (ties: first, as torch)
    flat = blocks.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // k, w // k, k * k)
    first = np.argmax(flat, -1)
    mask = np.zeros_like(flat)
    np.put_along_axis(mask, first[..., None], 1, -1)
    dx = np.zeros_like(x)
    dx[:, :, :h // k * k, :w // k * k] = (mask * grad_out[..., None]).reshape(n, c, h // k, w // k, k, k) \
        .transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // k * k, w // k * k)
    return [out, dx]


# ------------------------------------------------------------ timing

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
# Untimed rounds first: first-touch page faults, caches, and torch's first calls at a new shape or
# thread count (several ms each for the first conv, enough to skew a median of a few rounds).
WARMUP_ROUNDS = 3


def median_of(runners: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, float]]:
    """clock -> runner -> median seconds. The runners take turns (one call each per round), so a
    burst of load from other processes on this shared machine hits all of them alike."""
    times = {clock: {name: [] for name in runners} for clock in CLOCKS}
    for round_ in range(repeats + WARMUP_ROUNDS):
        for name, fn in runners.items():
            t0 = {clock: read() for clock, read in CLOCKS.items()}
            fn()
            if round_ >= WARMUP_ROUNDS:
                for clock, read in CLOCKS.items():
                    times[clock][name].append(read() - t0[clock])
    return {clock: {name: statistics.median(t) for name, t in per.items()} for clock, per in times.items()}


def check(got: list, expected: list, dtype: str, what: str) -> None:
    # Gradients of weights sum ~50k products: float32 rounding is relative to the largest entry.
    scale = 1e-4 if dtype == "float32" else 1e-10
    for k, (g, e) in enumerate(zip(got, expected)):
        if e is None:
            assert g is None, f"{what}: output {k} should be None"
            continue
        np.testing.assert_allclose(g, e, rtol=scale, atol=scale * np.abs(e).max(), err_msg=f"{what}: output {k}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per case (median)")
    parser.add_argument("--threads", default="1",
                        help="comma-separated thread counts, one table each (torch.set_num_threads and ours)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="of every tensor")
    parser.add_argument("--all", action="store_true", help="also time ours-numpy and numpy-ref (slow)")
    args = parser.parse_args()
    libs = ["ours-c", "ours-numpy", "numpy-ref", "torch"] if args.all else ["ours-c", "torch"]
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        backend.set_num_threads(threads)
        print(f"\nbatch 64, {args.dtype}, {threads} thread(s) (torch {torch.get_num_threads()}, ours "
              f"{backend.get_num_threads()}), load average {os.getloadavg()[0]:.1f}; median of {args.repeats} "
              "interleaved rounds, ms, forward + backward; ratio = median / torch")
        print(f"{'layer':28s}" + "".join(f"{name + ' ' + clock:>17s}" for clock in CLOCKS for name in libs)
              + "".join(f"{'c/torch ' + clock:>14s}" for clock in CLOCKS))
        run_table(libs, args)


def run_table(libs: list[str], args) -> None:
    totals = {clock: dict.fromkeys(libs, 0.0) for clock in CLOCKS}
    before = backend.current()
    for name, kind, shape, params, x_grad in LAYERS:
        arrays = make_inputs(kind, shape, params, args.dtype)
        grad_out = _grad_out(kind, params, arrays)
        expected = run_lib(torch, kind, params, arrays, grad_out, x_grad)
        on = lambda which, fn: lambda: (backend.use(which), fn())[1]  # noqa: E731 -- switch, then run
        runners: dict[str, Callable[[], list]] = {
            "ours-c": on("c", lambda: run_lib(tg, kind, params, arrays, grad_out, x_grad)),
            "ours-numpy": on("numpy", lambda: run_lib(tg, kind, params, arrays, grad_out, x_grad)),
            "numpy-ref": (lambda: ref_conv(arrays, params, grad_out, x_grad)) if kind == "conv"
            else (lambda: ref_pool(arrays, params, grad_out, x_grad)),
            "torch": lambda: run_lib(torch, kind, params, arrays, grad_out, x_grad),
        }
        runners = {lib: runners[lib] for lib in libs}
        for lib, fn in runners.items():  # correctness first: no number for a wrong result
            check(fn(), expected, args.dtype, f"{name} {lib}")
        medians = median_of(runners, args.repeats)
        backend.use(before)
        for clock in CLOCKS:
            for lib in libs:
                totals[clock][lib] += medians[clock][lib]
        print(_row(name, medians, libs))
    print(_row("total (sum of medians)", totals, libs))


def _row(name: str, medians: dict[str, dict[str, float]], libs: list[str]) -> str:
    return (f"{name:28s}" + "".join(f"{medians[clock][lib] * 1e3:17.2f}" for clock in CLOCKS for lib in libs)
            + "".join(f"{medians[clock]['ours-c'] / medians[clock]['torch']:14.2f}" for clock in CLOCKS))


def _grad_out(kind: str, params, arrays: list[np.ndarray]) -> np.ndarray:
    """A fixed random upstream gradient of the layer's output shape."""
    with torch.no_grad():
        t = [torch.tensor(a) for a in arrays]
        out = F.conv2d(t[0], t[1], t[2], padding=params[2]) if kind == "conv" else F.max_pool2d(t[0], params)
    return np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)


if __name__ == "__main__":
    main()

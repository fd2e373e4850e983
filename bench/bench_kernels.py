"""Time each C kernel (and a few calls through the Tensor API) against NumPy and torch.

    python bench/bench_kernels.py [--threads N] [--rounds 5] [--only REGEX] [--check] [--json P] [--plot P]

Shapes: the MNIST MLP 784-512-256-128-64-10 at batch 64 and 512 (each layer's three
products x @ W^T, grad @ W, x^T @ grad, linear and linear_backward; relu forward/backward at
the hidden sizes; softmax, log_softmax and cross-entropy over the 10 classes), square matmuls
256..2048, cross-entropy at 4096 x 1000, and through the Tensor API: `a @ b` and cross-entropy
forward + backward (autograd) at the last layer's shapes. Everything is float32.

Method:
  * each library runs in its OWN subprocess (ours, NumPy, torch), never two in one process:
    two thread pools in one process steal each other's cores. The processes take turns
    (ours, NumPy, torch, then NumPy, torch, ours, ...) for --rounds rounds; a figure is the
    median over rounds of each round's median;
  * threads are equal on all sides: --threads sets TINYGRAD_EDU_NUM_THREADS,
    OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS for every process, plus
    set_num_threads in ours and torch;
  * wall clock (time.perf_counter), warm caches: each timed call reads the same inputs, as
    a training loop reads its weights at every step. The extra column "cold" re-times ours
    and NumPy with caches defeated (each call reads the next of a pool of input copies spanning
    >= 16 MB, more than this CPU's L2 and its share of L3);
  * correctness first: in the first round every worker checks each of its results with
    assert_allclose against NumPy's (computed in that process on one BLAS thread, so no second
    pool runs) before it times anything; a wrong result stops the run before a table is printed;
  * the machine (CPU model from /proc/cpuinfo, cores), the load average before and after, and
    the date are printed with the table: on a loaded machine wall-clock figures are inflated.

"vs NumPy" is NumPy's time / ours (above 1 we are faster), "vs torch" likewise. --check turns
the targets (issue 14, listed at the end of the output) into the exit status: 1 if one is missed.
Without --check the exit status is 0 whatever the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import header, load_line  # noqa: E402

LIBS = ("ours", "numpy", "torch")
POOL_BYTES = 16 << 20
MIN_REPEAT_S = 0.001  # each repeat times enough calls to last this long (short: fewer preemptions)
REPEATS = 15          # repeats per round (their median is the round's figure)


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads of every library")
    p.add_argument("--rounds", type=int, default=None,
                   help="alternating rounds, one process per library each (default: 5, with --quick 3)")
    p.add_argument("--quick", action="store_true", help="batch 64 only, no 1024/2048 square matmul, 3 rounds")
    p.add_argument("--only", metavar="REGEX", default=None, help="only the rows whose 'kernel shape' matches")
    p.add_argument("--no-cold", action="store_true", help="skip the caches-defeated column (faster)")
    p.add_argument("--libs", default=",".join(LIBS), help=f"comma-separated, of {', '.join(LIBS)}")
    p.add_argument("--check", action="store_true", help="exit status 1 when a target is missed")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--plot", metavar="PATH", help="also draw the ratios vs NumPy as a PNG (matplotlib)")
    p.add_argument("--worker", choices=LIBS, help=argparse.SUPPRESS)
    p.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.libs.split(",")) - set(LIBS)
    if unknown:
        p.error(f"--libs: unknown {', '.join(sorted(unknown))}; choose from {', '.join(LIBS)}")
    args.rounds = args.rounds or (3 if args.quick else 5)
    return args


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


def autograd_cross_entropy(F):
    """Cross-entropy forward + backward through a library's autograd, as a training step runs it:
    the logits are a leaf whose .grad is reset (set_to_none) before each call."""
    def call(x, t):
        x.grad = None
        loss = F.cross_entropy(x, t)
        loss.backward()
        return loss, x.grad
    return call


# ---------------------------------------------------------------- the rows

@dataclass
class Case:
    kernel: str
    shape: str
    make: Callable  # make(rng): fresh inputs (NumPy arrays)
    impl: dict                 # lib -> (prepare inputs, the call), built by a function of the libraries
    work: float
    unit: str
    tol: tuple


def _np_impl(fn):
    return lambda L: (lambda args: args, fn)


def cases(quick: bool) -> list[Case]:
    """Every row, identically in every process (each row's inputs come from its own seeded generator)."""
    f32 = np.float32
    out: list[Case] = []

    def make(*shapes, ints=None):
        def inputs(rng):
            arrays = tuple(rng.standard_normal(s, f32) for s in shapes)
            return arrays + ((rng.integers(0, ints[1], ints[0]),) if ints else ())
        return inputs

    def add(kernel, shape, maker, ours, numpy, torch, work, unit, tol):
        out.append(Case(kernel, shape, maker, {"ours": ours, "numpy": numpy, "torch": torch}, work, unit, tol))

    K = lambda name: lambda L: (lambda a: a, getattr(L.K, name))  # noqa: E731  a kernel, on arrays
    T = lambda fn: lambda L: (L.to_torch, fn(L))  # noqa: E731  a torch call, on tensors
    mm_tol = (2e-4, 2e-3)

    def matmul_row(name, m, k, n):
        add(name, f"{m}x{k} @ {k}x{n}", make((m, k), (k, n)), K("matmul"), _np_impl(np.matmul),
            T(lambda L: L.torch.mm), 2.0 * m * k * n, "GFLOP/s", mm_tol)

    layers = [(784, 512), (512, 256), (256, 128), (128, 64), (64, 10)]
    for batch in (64,) if quick else (64, 512):
        for fan_in, fan_out in layers:
            matmul_row("matmul x@W^T", batch, fan_in, fan_out)
            matmul_row("matmul grad@W", batch, fan_out, fan_in)
            matmul_row("matmul x^T@grad", fan_in, batch, fan_out)
            add("linear", f"{batch}x{fan_in} -> {fan_out}", make((batch, fan_in), (fan_out, fan_in), (fan_out,)),
                K("linear"), _np_impl(lambda x, w, b: x @ w.T + b), T(lambda L: L.tF.linear),
                2.0 * batch * fan_in * fan_out, "GFLOP/s", mm_tol)
            add("linear_backward", f"{batch}x{fan_in} -> {fan_out}",
                make((batch, fan_out), (batch, fan_in), (fan_out, fan_in)),
                lambda L: (lambda a: a, lambda g, x, w: L.K.linear_backward(g, x, w, True, True, True)),
                _np_impl(lambda g, x, w: (g @ w, g.T @ x, g.sum(0))),
                T(lambda L: lambda g, x, w: (g @ w, g.T @ x, g.sum(0))),
                4.0 * batch * fan_in * fan_out, "GFLOP/s", mm_tol)
        for width in (512, 256, 128, 64):
            shape, nbytes = f"{batch}x{width}", 4.0 * batch * width
            add("relu", shape, make((batch, width)), K("relu"), _np_impl(lambda x: np.maximum(x, 0)),
                T(lambda L: L.torch.relu), 2 * nbytes, "GB/s", (0, 0))
            add("relu_backward", shape, make((batch, width), (batch, width)), K("relu_backward"),
                _np_impl(lambda g, x: g * (x > 0)),
                T(lambda L: lambda g, x: L.torch.ops.aten.threshold_backward(g, x, 0)), 3 * nbytes, "GB/s", (0, 0))
        shape, nbytes = f"{batch}x10", 4.0 * batch * 10
        add("softmax", shape, make((batch, 10)), K("softmax"), _np_impl(np_softmax),
            T(lambda L: lambda x: L.torch.softmax(x, -1)), 2 * nbytes, "GB/s", (1e-5, 1e-6))
        add("log_softmax", shape, make((batch, 10)), K("log_softmax"), _np_impl(np_log_softmax),
            T(lambda L: lambda x: L.torch.log_softmax(x, -1)), 2 * nbytes, "GB/s", (1e-5, 1e-5))
    for n, k in [(64, 10), (512, 10), (4096, 1000)]:
        add("cross_entropy fwd+bwd", f"{n}x{k}", make((n, k), ints=(n, k)), K("cross_entropy"),
            _np_impl(np_cross_entropy),
            lambda L: (L.to_torch_leaf, autograd_cross_entropy(L.tF)), 8.0 * n * k, "GB/s", (1e-5, 1e-6))
    add("softmax", "4096x1000", make((4096, 1000)), K("softmax"), _np_impl(np_softmax),
        T(lambda L: lambda x: L.torch.softmax(x, -1)), 8.0 * 4096 * 1000, "GB/s", (1e-5, 1e-5))
    # Through the Tensor API: the per-call overhead a training step pays (issue 14).
    add("Tensor @ (no grad)", "64x64 @ 64x10", make((64, 64), (64, 10)),
        lambda L: (L.to_tg, lambda a, b: a @ b), _np_impl(np.matmul), T(lambda L: lambda a, b: a @ b),
        2.0 * 64 * 64 * 10, "GFLOP/s", mm_tol)
    add("Tensor @ (no grad)", "64x784 @ 784x512", make((64, 784), (784, 512)),
        lambda L: (L.to_tg, lambda a, b: a @ b), _np_impl(np.matmul), T(lambda L: lambda a, b: a @ b),
        2.0 * 64 * 784 * 512, "GFLOP/s", mm_tol)
    add("F.cross_entropy autograd", "64x10", make((64, 10), ints=(64, 10)),
        lambda L: (L.to_tg_leaf, autograd_cross_entropy(L.F)), _np_impl(np_cross_entropy),
        lambda L: (L.to_torch_leaf, autograd_cross_entropy(L.tF)), 8.0 * 64 * 10, "GB/s", (1e-5, 1e-6))
    for size in (256, 512) if quick else (256, 512, 1024, 2048):
        matmul_row("matmul square", size, size, size)
    add("bmm", "32x64x64 @ 32x64x64", make((32, 64, 64), (32, 64, 64)), K("bmm"), _np_impl(np.matmul),
        T(lambda L: L.torch.bmm), 2.0 * 32 * 64 ** 3, "GFLOP/s", mm_tol)
    return out


# ---------------------------------------------------------------- one library's process

def _libraries(lib: str, threads: int) -> SimpleNamespace:
    """What the rows' implementations need, importing only `lib`'s library."""
    L = SimpleNamespace()
    if lib == "ours":
        import tinygrad_edu as tg
        import tinygrad_edu.nn.functional as F
        from tinygrad_edu.backend import c_kernels as K

        tg.backend.use("c")
        tg.set_num_threads(threads)
        L.K, L.F = K, F
        L.to_tg = lambda args: tuple(tg.from_numpy(a) for a in args)
        L.to_tg_leaf = lambda args: (tg.from_numpy(args[0]).requires_grad_(), tg.from_numpy(args[1]))
    elif lib == "torch":
        import torch
        import torch.nn.functional as tF

        torch.set_num_threads(threads)
        L.torch, L.tF = torch, tF
        L.to_torch = lambda args: tuple(torch.from_numpy(a) for a in args)
        L.to_torch_leaf = lambda args: (torch.from_numpy(args[0]).requires_grad_(), torch.from_numpy(args[1]))
    return L


def _as_arrays(out) -> list:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [np.asarray(o.detach().numpy() if hasattr(o, "detach") else o) for o in outs if o is not None]


def _time_per_call(fn, inputs: list[tuple], repeats: int) -> float:
    """Median over `repeats` of the wall time per call, each repeat >= MIN_REPEAT_S, cycling through `inputs`."""
    for args in inputs[:3]:  # warm-up: first-call costs, page faults of the outputs
        fn(*args)
    t0 = time.perf_counter()
    fn(*inputs[0])
    number = max(1, int(MIN_REPEAT_S / max(time.perf_counter() - t0, 1e-7)))
    times, i = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(*inputs[i % len(inputs)])
            i += 1
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def worker(args) -> dict:
    """Check (first round only) and time every row this library implements; {row index: figures}."""
    from threadpoolctl import threadpool_limits

    L = _libraries(args.worker, args.threads)
    results = {}
    pattern = re.compile(args.only) if args.only else None
    for index, case in enumerate(cases(args.quick)):
        if pattern and not pattern.search(f"{case.kernel} {case.shape}"):
            continue
        rng = np.random.default_rng(index)  # the same inputs in every process
        first = case.make(rng)
        prepare, fn = case.impl[args.worker](L)
        warm = prepare(first)
        if args.verify:
            with threadpool_limits(1, user_api="blas"):  # the reference on one thread: no second pool
                expected = _as_arrays(case.impl["numpy"](L)[1](*first))
            got = _as_arrays(fn(*warm))
            assert len(got) == len(expected), case.kernel
            for g, e in zip(got, expected):
                np.testing.assert_allclose(g, e, rtol=case.tol[0], atol=case.tol[1],
                                           err_msg=f"{args.worker}: {case.kernel} {case.shape}")
        row = {"warm_s": _time_per_call(fn, [warm], REPEATS)}
        if not args.no_cold and args.worker != "torch":
            size = sum(a.nbytes for a in first)
            pool = [warm] + [prepare(case.make(rng)) for _ in range(min(63, POOL_BYTES // max(size, 1)))]
            row["cold_s"] = _time_per_call(fn, pool, REPEATS)
        results[index] = row
    return results


# ---------------------------------------------------------------- the driver

@dataclass
class Row:
    kernel: str
    shape: str
    ms: dict       # lib -> median ms (warm)
    cold_ms: dict  # lib -> median ms (caches defeated)
    rate: float    # GFLOP/s or GB/s of ours (warm)
    unit: str
    vs_numpy: float | None  # NumPy ms / ours
    vs_torch: float | None


def run_rounds(args) -> tuple[list[Row], list[Case]]:
    libs = [lib for lib in args.libs.split(",") if lib]
    env = dict(os.environ, **{v: str(args.threads) for v in ("TINYGRAD_EDU_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                              "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    figures = {lib: [] for lib in libs}
    base = [sys.executable, str(Path(__file__).resolve()), "--threads", str(args.threads)]
    base += (["--quick"] if args.quick else []) + (["--no-cold"] if args.no_cold else [])
    base += ["--only", args.only] if args.only else []
    for r in range(args.rounds):
        for lib in libs[r % len(libs):] + libs[:r % len(libs)]:  # alternate who goes first
            with tempfile.TemporaryFile("w+") as out:
                cmd = base + ["--worker", lib] + (["--verify"] if r == 0 else [])
                proc = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True, env=env)
                if proc.returncode != 0:
                    sys.exit(f"{lib} worker failed (round {r + 1}); no figures printed:\n{proc.stderr[-3000:]}")
                out.seek(0)
                figures[lib].append({int(k): v for k, v in json.loads(out.read()).items()})
            print(f"  round {r + 1}/{args.rounds}: {lib} done", file=sys.stderr, flush=True)

    all_cases = cases(args.quick)
    rows = []
    for index in sorted(figures[libs[0]][0]):
        case = all_cases[index]
        ms = {lib: 1e3 * statistics.median(f[index]["warm_s"] for f in figures[lib]) for lib in libs}
        cold = {lib: 1e3 * statistics.median(f[index]["cold_s"] for f in figures[lib])
                for lib in libs if "cold_s" in figures[lib][0][index]}
        ours = ms.get("ours")
        rows.append(Row(case.kernel, case.shape, ms, cold, case.work / (ours * 1e-3) / 1e9 if ours else 0.0,
                        case.unit, ms["numpy"] / ours if ours and "numpy" in ms else None,
                        ms["torch"] / ours if ours and "torch" in ms else None))
    return rows, all_cases


def targets(rows: list[Row]) -> list[tuple[str, Row, float]]:
    """(what, row, minimum NumPy-time / our-time) for every target of issue 14 present in `rows`."""
    out = []
    for row in rows:
        dims = [int(d) for d in re.findall(r"\d+", row.shape)]
        if row.kernel == "matmul square" and dims[0] == 1024:
            out.append(("matmul 1024^3 >= 1.0x OpenBLAS", row, 1.0))
        elif row.kernel.startswith("matmul ") and row.kernel != "matmul square" and \
                dims[1 if row.kernel == "matmul x^T@grad" else 0] == 64:  # the MLP's products at batch 64
            if 10 in dims:
                out.append(("the 64x64x10 family >= 0.8x NumPy", row, 0.8))
            else:
                out.append(("matmul at the MLP's batch-64 shapes >= 1.0x OpenBLAS", row, 1.0))
        elif row.kernel == "Tensor @ (no grad)" and row.shape.startswith("64x64 "):
            out.append(("the 64x64x10 call through Tensor @ >= 0.8x NumPy", row, 0.8))
        elif row.kernel == "F.cross_entropy autograd":
            out.append(("cross-entropy fwd+bwd through autograd >= 1.0x NumPy's bare expression", row, 1.0))
    return out


def main() -> int:
    global np
    args = _parse()
    if args.worker:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
        import numpy as np
        print(json.dumps(worker(args)))
        return 0
    import numpy as np

    print(header(args.threads, f"wall clock, warm caches; median of {args.rounds} alternating rounds "
                               f"(one process per library) of medians of {REPEATS} repeats"))
    rows, _ = run_rounds(args)
    libs = [lib for lib in args.libs.split(",") if lib]
    print(f"\n{'kernel':<25} {'shape':<22} " + " ".join(f"{lib + ' ms':>10}" for lib in libs)
          + f" {'rate (ours)':>16} {'vs NumPy':>9} {'vs torch':>9} {'cold vs NumPy':>14}")
    for r in rows:
        cold = (f"{r.cold_ms['numpy'] / r.cold_ms['ours']:13.2f}x" if {"numpy", "ours"} <= r.cold_ms.keys()
                else f"{'-':>14}")
        ratio = lambda v: f"{v:8.2f}x" if v is not None else f"{'-':>9}"  # noqa: E731
        print(f"{r.kernel:<25} {r.shape:<22} " + " ".join(f"{r.ms[lib]:10.4f}" for lib in libs)
              + f" {r.rate:9.2f} {r.unit:<6} {ratio(r.vs_numpy)} {ratio(r.vs_torch)} {cold}", flush=True)
    print(load_line("after"))

    missed = 0
    goals = targets(rows) if "numpy" in libs and "ours" in libs else []
    if goals:
        print(f"\ntargets (issue 14; NumPy time / ours, warm, {args.threads} thread(s), this run):")
    for what, row, minimum in goals:
        ok = row.vs_numpy >= minimum
        missed += not ok
        print(f"  {'met ' if ok else 'MISS'}  {row.kernel:<25} {row.shape:<20} {row.vs_numpy:6.2f}x  ({what})")
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": [asdict(r) for r in rows]}, indent=1))
    if args.plot:
        plot(rows, args.plot, args.threads)
    return 1 if args.check and missed else 0


def plot(rows: list[Row], path: str, threads: int) -> None:
    import matplotlib  # only here: the benchmark itself does not need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r.vs_numpy is not None]
    labels = [f"{r.kernel} {r.shape}" for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.22 * len(rows) + 1.5))
    ax.barh(range(len(rows)), [r.vs_numpy for r in rows],
            color=["tab:green" if r.vs_numpy >= 1 else "tab:red" for r in rows])
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up vs NumPy (NumPy time / ours, warm caches), log scale")
    ax.set_title(f"tinygrad_edu C kernels vs NumPy, {threads} thread(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


np = None  # imported in main(), after the thread variables are set for this process

if __name__ == "__main__":
    sys.exit(main())

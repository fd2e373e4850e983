"""Where a training step of the notes' MLP goes: GEMM, other kernels, Python; and the per-call
overhead of the path from `Tensor.__matmul__` / `F.linear` / `F.cross_entropy` to the C call.

    python bench/bench_step_split.py [--threads 1] [--batch-size 64] [--optimizer sgd] [--lines]

Three measurements, each a median of repeats, wall clock, warm:

  layers  timeit of tiny calls, peeling the path one layer at a time: the bare C call (cffi,
          pointers made beforehand), the backend wrapper (checks, pointers, output allocation),
          the op without autograd (no_grad), with the graph recorded, forward + backward;
          NumPy's expression of the same thing for scale. Each layer's cost is its difference
          to the one below it.
  split   the MLP's training step (zero_grad, forward, cross-entropy, backward, optimizer step).
          A first process times the step as it is; a second one, in which every C function is
          wrapped by a timer (the wrapper replaces the compiled module's `lib` before the backend
          binds it), sums the time spent inside the C calls: tg_gemm_* and tg_linear_backward_* (GEMM) and the others
          (activations, loss, optimizer...). Python (the interpreter, NumPy's small ops and
          allocations around the calls) is the step time minus the C time. The timer itself
          (two perf_counter calls, ~0.1 us) is counted in C, so C is a little overstated.
  lines   (--lines, needs line_profiler) the hot Python functions of the step, line by line:
          which lines the Python part is made of.

  python  a third process runs the same step with every C kernel (tg_*_f32/_f64) replaced by a
          no-op returning success: what is left is the Python part alone, measured directly
          rather than as a difference (the kernels' outputs are then garbage: only the time counts).

--clock cpu times with the process's CPU time instead of the wall clock: on a loaded machine
the waits for a core drop out (with more than one thread, the pool's threads count too).

Results are checked before they are printed: the C calls give NumPy's results (assert_allclose),
and the instrumented step's loss equals the plain one's. The machine, threads, load average and
date are printed with the tables; on a loaded machine all figures are inflated.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from _machine import header, load_line  # noqa: E402

GEMM_PREFIX = ("tg_gemm_", "tg_linear_backward_")  # tg_linear_backward: both Linear gradient GEMMs
CLOCK = time.perf_counter  # --clock cpu: time.process_time


# ---------------------------------------------------------------- the C timer (installed before import)

class _TimedLib:
    """Stands in for the compiled module's `lib`: every C function comes back wrapped by a timer."""

    def __init__(self, lib, totals: dict, noop: bool = False):
        self._lib, self._totals, self._noop = lib, totals, noop

    def __getattr__(self, name):
        target = getattr(self._lib, name)
        if not callable(target):
            return target  # a constant (TG_ERR_INDEX...)
        if self._noop and name.startswith("tg_") and name.endswith(("_f32", "_f64")):
            target = _no_op  # the Python-only step: the kernel does nothing and reports success
        bucket = "gemm" if name.startswith(GEMM_PREFIX) else "other"
        totals, clock = self._totals, CLOCK

        def timed(*args):
            t0 = clock()
            rc = target(*args)
            totals[bucket] += clock() - t0
            totals[bucket + "_calls"] += 1
            return rc

        timed.__name__ = name
        return timed


def _no_op(*args) -> int:
    return 0


def install_c_timer(noop: bool = False) -> dict:
    """Load tinygrad_edu/_C*.so under its own name with a timed `lib`, before tinygrad_edu binds it."""
    package = HERE.parent / "tinygrad_edu"
    spec = importlib.util.find_spec("tinygrad_edu")  # no import: only where it would come from
    package = Path(spec.origin).parent if spec and spec.origin else package
    so = next(package.glob("_C*.so"), None)
    if so is None:
        sys.exit("the C extension is not built: python setup.py build_ext -i")
    c_spec = importlib.util.spec_from_file_location("tinygrad_edu._C", so)
    compiled = importlib.util.module_from_spec(c_spec)
    c_spec.loader.exec_module(compiled)
    totals = {"gemm": 0.0, "other": 0.0, "gemm_calls": 0, "other_calls": 0}
    proxy = types.ModuleType("tinygrad_edu._C")
    proxy.ffi, proxy.lib = compiled.ffi, _TimedLib(compiled.lib, totals, noop)
    sys.modules["tinygrad_edu._C"] = proxy
    return totals


# ---------------------------------------------------------------- the step

def build_step(tg, batch_size: int, optimizer: str, width: int = 1):
    """The notes' MLP, its loss and optimizer, one prepared batch: returns step() -> loss."""
    import numpy as np
    from tinygrad_edu import nn, optim

    tg.manual_seed(0)
    sizes = [784] + [h * width for h in (512, 256, 128, 64)] + [10]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optimizer == "sgd" else \
        optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = tg.from_numpy(rng.integers(0, 256, (batch_size, 784), dtype=np.uint8))
    y = tg.from_numpy(rng.integers(0, 10, batch_size))

    def step():
        opt.zero_grad()
        loss = criterion(model((x.float() / 255.0 - 0.1307) / 0.3081), y)
        loss.backward()
        opt.step()
        return loss

    return step, model


def time_steps(step, steps: int, repeats: int, warmup: int = 20) -> list[float]:
    """Seconds per step: `repeats` medians-to-be, each over `steps` steps, after `warmup` steps."""
    for _ in range(warmup):
        step()
    out = []
    for _ in range(repeats):
        t0 = CLOCK()
        for _ in range(steps):
            step()
        out.append((CLOCK() - t0) / steps)
    return out


def split_worker(args) -> dict:
    """One process: time the step plainly, or (args.instrument) with the C timer installed, or
    (args.python_only) with every kernel a no-op."""
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    totals = install_c_timer(noop=args.python_only) if args.instrument or args.python_only else None
    import tinygrad_edu as tg

    tg.backend.use("c")
    tg.set_num_threads(args.threads)
    step, _ = build_step(tg, args.batch_size, args.optimizer)
    losses = [float(step().item()) for _ in range(3)]  # the same first losses in both processes
    for _ in range(20):  # warm-up, before the C timer's totals start (they count the timed steps only)
        step()
    if totals is not None:
        for k in totals:
            totals[k] = 0 if k.endswith("calls") else 0.0
    per_step = time_steps(step, args.steps, args.repeats, warmup=0)
    out = {"step_s": statistics.median(per_step), "losses": losses}
    if totals is not None:
        n = args.steps * args.repeats
        out.update({k: v / n for k, v in totals.items()})
    return out


def run_split(args) -> dict:
    env = dict(os.environ, TINYGRAD_EDU_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    results = {}
    for r in range(args.rounds):  # the three processes alternate
        for kind in ("plain", "instrument", "python-only"):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--threads", str(args.threads),
                   "--batch-size", str(args.batch_size), "--optimizer", args.optimizer, "--clock", args.clock,
                   "--steps", str(args.steps), "--repeats", str(args.repeats)]
            cmd += [] if kind == "plain" else [f"--{kind}"]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"split worker failed:\n{proc.stderr[-3000:]}")
            results.setdefault(kind, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
    plain, timed = results["plain"], results["instrument"]
    import numpy as np
    np.testing.assert_allclose(plain[0]["losses"], timed[0]["losses"], rtol=1e-6,
                               err_msg="the instrumented step computes something else")
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    return {"step": med(plain, "step_s"), "step_instrumented": med(timed, "step_s"), "gemm": med(timed, "gemm"),
            "other": med(timed, "other"), "gemm_calls": med(timed, "gemm_calls"),
            "other_calls": med(timed, "other_calls"), "python_only": med(results["python-only"], "step_s")}


# ---------------------------------------------------------------- the layers of one call

def per_call(fn, min_s: float = 0.002, repeats: int = 15) -> tuple[float, float]:
    """(median, minimum) wall time of one call of fn(), each repeat running it for >= min_s.

    On a loaded machine the median includes time other processes took the core; the minimum
    is the closest to the call's own cost."""
    for _ in range(5):
        fn()
    t0 = time.perf_counter()
    fn()
    number = max(1, int(min_s / max(time.perf_counter() - t0, 1e-7)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times), min(times)


def layers(threads: int) -> list[tuple[str, str, float, float]]:
    """(path, layer, median and minimum microseconds per call) for the last layer's product, F.linear and cross-entropy."""
    import numpy as np

    import tinygrad_edu as tg
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu.backend import c_kernels as K
    from tinygrad_edu.backend.c_kernels import ffi, lib

    tg.backend.use("c")
    tg.set_num_threads(threads)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 64), np.float32), rng.standard_normal((64, 10), np.float32)
    w, bias = rng.standard_normal((10, 64), np.float32), rng.standard_normal(10).astype(np.float32)
    logits, target = rng.standard_normal((64, 10), np.float32), rng.integers(0, 10, 64)
    out = np.empty((64, 10), np.float32)
    fp = lambda x: ffi.from_buffer("float[]", x)  # noqa: E731
    pa, pb, pw, pbias, pout = fp(a), fp(b), fp(w), fp(bias), fp(out)
    # correctness of every layer first
    np.testing.assert_allclose(K.matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    assert lib.tg_gemm_f32(pa, pb, ffi.NULL, pout, 1, 64, 64, 10, 0, 64, 1, 0, 10, 1) == 0
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)
    ta, tb, tw, tbias = (tg.from_numpy(v) for v in (a, b, w, bias))
    np.testing.assert_allclose((ta @ tb).numpy(), a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(F.linear(ta, tw, tbias).numpy(), a @ w.T + bias, rtol=1e-5, atol=1e-5)
    ga, gw, gbias = (tg.from_numpy(v.copy()).requires_grad_() for v in (a, w, bias))
    gl, tt = tg.from_numpy(logits.copy()).requires_grad_(), tg.from_numpy(target)
    upstream = tg.from_numpy(np.ones((64, 10), np.float32))

    def linear_fwd_bwd():
        ga.grad = gw.grad = gbias.grad = None
        F.linear(ga, gw, gbias).backward(upstream)

    def ce_fwd_bwd():
        gl.grad = None
        F.cross_entropy(gl, tt).backward()

    def no_grad(fn):
        def call():
            with tg.no_grad():
                return fn()
        return call

    def np_ce():
        s = logits - logits.max(1, keepdims=True)
        e = np.exp(s)
        se = e.sum(1)
        loss = np.mean(np.log(se) - s[np.arange(64), target])
        e /= se[:, None]
        e[np.arange(64), target] -= 1
        e *= np.float32(1 / 64)
        return loss, e

    ce_out, bad = np.empty(64, np.float32), np.empty(1, np.int64)
    dl = np.empty((64, 10), np.float32)
    p_ce = (fp(logits), ffi.from_buffer("int64_t[]", target), ffi.NULL, fp(ce_out), fp(dl),
            ffi.from_buffer("int64_t[]", bad), 64, 10, -100)
    ce_code = 1  # 'mean'
    rows = [
        ("matmul 64x64 @ 64x10", "NumPy: a @ b", lambda: a @ b),
        ("matmul 64x64 @ 64x10", "C call alone (tg_gemm_f32, pointers ready)",
         lambda: lib.tg_gemm_f32(pa, pb, ffi.NULL, pout, 1, 64, 64, 10, 0, 64, 1, 0, 10, 1)),
        ("matmul 64x64 @ 64x10", "backend wrapper: c_kernels.matmul", lambda: K.matmul(a, b)),
        ("matmul 64x64 @ 64x10", "Tensor @, no_grad", no_grad(lambda: ta @ tb)),
        ("matmul 64x64 @ 64x10", "Tensor @, graph recorded", lambda: ga @ tb),
        ("F.linear 64x64 -> 10", "NumPy: x @ w.T + b", lambda: a @ w.T + bias),
        ("F.linear 64x64 -> 10", "C call alone (tg_gemm_f32 with bias)",
         lambda: lib.tg_gemm_f32(pa, pw, pbias, pout, 1, 64, 64, 10, 0, 64, 1, 0, 1, 64)),
        ("F.linear 64x64 -> 10", "backend wrapper: c_kernels.linear", lambda: K.linear(a, w, bias)),
        ("F.linear 64x64 -> 10", "F.linear, no_grad", no_grad(lambda: F.linear(ta, tw, tbias))),
        ("F.linear 64x64 -> 10", "F.linear, graph recorded", lambda: F.linear(ga, gw, gbias)),
        ("F.linear 64x64 -> 10", "F.linear forward + backward", linear_fwd_bwd),
        ("cross-entropy 64x10", "NumPy: bare expression, loss and gradient", np_ce),
        ("cross-entropy 64x10", "C call alone (tg_cross_entropy_f32)",
         lambda: lib.tg_cross_entropy_f32(*p_ce, ce_code, 0.0)),
        ("cross-entropy 64x10", "backend wrapper: c_kernels.cross_entropy", lambda: K.cross_entropy(logits, target)),
        ("cross-entropy 64x10", "F.cross_entropy, no_grad", no_grad(lambda: F.cross_entropy(tg.from_numpy(logits), tt))),
        ("cross-entropy 64x10", "F.cross_entropy, graph recorded", lambda: F.cross_entropy(gl, tt)),
        ("cross-entropy 64x10", "F.cross_entropy forward + backward", ce_fwd_bwd),
    ]
    return [(path, layer, *(1e6 * t for t in per_call(fn))) for path, layer, fn in rows]


def line_profile(args) -> None:
    """The step's hot Python functions, line by line (line_profiler)."""
    try:
        from line_profiler import LineProfiler
    except ImportError:
        print("--lines needs line_profiler (pip install line_profiler)")
        return
    import tinygrad_edu as tg
    from tinygrad_edu import ops
    from tinygrad_edu.autograd import engine, function
    from tinygrad_edu.backend.c import matmul as c_matmul
    from tinygrad_edu.nn import functional as F

    tg.backend.use("c")
    tg.set_num_threads(args.threads)
    step, _ = build_step(tg, args.batch_size, args.optimizer)
    prof = LineProfiler()
    for fn in (F.linear, F.cross_entropy, function.Function.apply, c_matmul._gemm, ops.Addmm.forward,
               ops.Addmm.backward, ops.CrossEntropyLoss.forward, ops.Mm.forward):
        prof.add_function(getattr(fn, "__func__", fn))
    for name in ("run_backward", "_run_node"):
        if hasattr(engine, name):
            prof.add_function(getattr(engine, name))
    for _ in range(20):
        step()
    prof.enable_by_count()
    for _ in range(200):
        step()
    prof.disable_by_count()
    prof.print_stats(output_unit=1e-6, stripzeros=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads of the C kernels")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd", help="SGD with momentum 0.9, or Adam")
    p.add_argument("--steps", type=int, default=100, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=7, help="repeats per process (median)")
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating rounds of the plain, instrumented and Python-only processes")
    p.add_argument("--lines", action="store_true", help="also profile the hot Python functions line by line")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time the step split by wall clock, or by the process's CPU time (steadier when loaded)")
    p.add_argument("--instrument", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--python-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(split_worker(args)))
        return 0
    print(header(args.threads, "wall clock, warm; medians"))
    print(f"\nPer-call path, {args.threads} thread(s) (us per call, median; each layer's cost = difference to the one above)\n")
    print("| path | layer | us/call (median) | us/call (min) |")
    print("|---|---|---|---|")
    for path, layer, us, best in layers(args.threads):
        print(f"| {path} | {layer} | {us:.2f} | {best:.2f} |")
    s = run_split(args)
    c_total = s["gemm"] + s["other"]
    python = s["step"] - c_total
    print(f"\nTraining step of the notes' MLP, batch {args.batch_size}, {args.optimizer}, {args.threads} thread(s), "
          f"{args.clock} clock, median of {args.rounds} rounds of 3 processes x {args.repeats} repeats x "
          f"{args.steps} steps\n")
    print("| part | us/step | share | C calls/step |")
    print("|---|---|---|---|")
    for name, value, calls in (("GEMM (tg_gemm_*, tg_linear_backward_*)", s["gemm"], s["gemm_calls"]),
                               ("other kernels (activations, loss, optimizer)", s["other"], s["other_calls"]),
                               ("Python (interpreter, NumPy small ops, allocation)", python, None)):
        print(f"| {name} | {1e6 * value:.0f} | {100 * value / s['step']:.0f}% | {'' if calls is None else f'{calls:.0f}'} |")
    print(f"| step (uninstrumented) | {1e6 * s['step']:.0f} | 100% | |")
    print(f"| Python alone (every kernel a no-op) | {1e6 * s['python_only']:.0f} | "
          f"{100 * s['python_only'] / s['step']:.0f}% | |")
    print(f"(instrumented step: {1e6 * s['step_instrumented']:.0f} us; the timers' own cost goes to C here)")
    print(load_line("after"))
    if args.lines:
        line_profile(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

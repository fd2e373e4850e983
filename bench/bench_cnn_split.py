"""Where a training step of the notes' CNN goes, ours against PyTorch's, at batch 64 and equal threads.

    python bench/bench_cnn_split.py [--threads 1] [--optimizer adam] [--steps 30] [--repeats 7] [--rounds 3]

The CNN is bench_train.py's (conv 1->16 5x5 p2, ReLU, pool 2, conv 16->32 5x5 p2, ReLU, pool 2,
Linear 1568->10), on one fixed batch of 64 uint8 images normalised in the step, as there.

ours    One process times the step as it is; another, in which every C function is wrapped by a
        timer (bench_step_split.py's method: the wrapper replaces the compiled module's `lib`
        before the backend binds it), sums the time inside the C calls by family:
            conv      tg_conv2d_forward / _backward (unfold, GEMMs, col2im, transposes, all inside)
            pool      tg_max_pool2d_*
            GEMM      tg_gemm_* called directly (the Linear layer)
            other     activations, loss, optimizer, ...
        Python = step - all C time. The conv calls are then split: their GEMMs are replayed
        alone (tg_gemm with the arguments conv.c passes, chunk by chunk: the chunking and
        layout rules of csrc/conv.c are mirrored in `conv_gemms`), hot; the rest of the conv
        time is unfolding, col2im, transposes and sums, and the first conv's direct forward
        (float32 on an AVX-512 CPU: no GEMM, see csrc/tg_conv_direct.h).
torch   the same step under torch.profiler (self CPU time per op, per step; the profiler's own
        cost inflates the small ops) and, apart, the unprofiled step time.

Every figure is a median (over rounds, each a median of repeats), warm, of wall clock or, with
--clock cpu, of the process's CPU time (all its threads; at 1 thread the figure least disturbed by
other processes on a loaded machine; torch's per-op times stay wall clock). The load average is
printed.
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

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter  # the worker's, set from --clock
FAMILIES = (("tg_conv2d_", "conv"), ("tg_max_pool2d_", "pool"), ("tg_gemm_", "gemm"))
# conv.c's float32 forward with few taps per output channel (the first conv) is direct, no GEMM
# (tg_conv_direct.h), when built with AVX-512; its time is then in the "rest" row.
DIRECT_FORWARD = "avx512f" in open("/proc/cpuinfo").read() if Path("/proc/cpuinfo").exists() else False
# (input shape, out channels, kernel, padding, input needs grad) of the notes' two convolutions
CONVS = (((64, 1, 28, 28), 16, 5, 2, False), ((64, 16, 14, 14), 32, 5, 2, True))


class _TimedLib:
    """The compiled module's `lib`, every C function wrapped by a timer that adds to its family."""

    def __init__(self, lib, totals: dict):
        self._lib, self._totals = lib, totals

    def __getattr__(self, name):
        target = getattr(self._lib, name)
        if not callable(target):
            return target
        family = next((f for prefix, f in FAMILIES if name.startswith(prefix)), "other")
        totals, now = self._totals, clock

        def timed(*args):
            t0 = now()
            rc = target(*args)
            totals[family] = totals.get(family, 0.0) + now() - t0
            return rc

        return timed


def install_c_timer() -> dict:
    """Load tinygrad_edu/_C*.so with a timed `lib` under the package's name, before it is imported."""
    spec = importlib.util.find_spec("tinygrad_edu")
    so = next(Path(spec.origin).parent.glob("_C*.so"), None)
    if so is None:
        sys.exit("the C extension is not built: python setup.py build_ext -i")
    c_spec = importlib.util.spec_from_file_location("tinygrad_edu._C", so)
    compiled = importlib.util.module_from_spec(c_spec)
    c_spec.loader.exec_module(compiled)
    totals: dict = {}
    proxy = types.ModuleType("tinygrad_edu._C")
    proxy.ffi, proxy.lib = compiled.ffi, _TimedLib(compiled.lib, totals)
    sys.modules["tinygrad_edu._C"] = proxy
    return totals


def build_step(lib, optimizer: str):
    """bench_train.py's CNN, loss and optimizer on one fixed batch: returns step()."""
    import importlib

    import numpy as np
    from bench_train import build_model, make_optimizer, normalise

    nn, optim = importlib.import_module(f"{lib.__name__}.nn"), importlib.import_module(f"{lib.__name__}.optim")
    lib.manual_seed(0)
    model = build_model(nn, "cnn")
    opt, criterion = make_optimizer(optim, optimizer, model.parameters()), nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.integers(0, 256, (64, 1, 28, 28), dtype=np.uint8))
    y = lib.from_numpy(rng.integers(0, 10, 64))

    def step():
        opt.zero_grad()
        loss = criterion(model(normalise(x)), y)
        loss.backward()
        opt.step()
        return loss

    return step


def time_steps(step, steps: int, repeats: int) -> float:
    """Median seconds per step over `repeats` runs of `steps` steps, after 10 warm-up steps."""
    for _ in range(10):
        step()
    out = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(steps):
            step()
        out.append((clock() - t0) / steps)
    return statistics.median(out)


def worker(args) -> dict:
    global clock
    clock = CLOCKS[args.clock]
    if args.framework == "torch":
        import torch

        torch.set_num_threads(args.threads)
        step = build_step(torch, args.optimizer)
        if not args.instrument:
            return {"step": time_steps(step, args.steps, args.repeats)}
        return torch_ops(torch, step, args.steps)
    totals = install_c_timer() if args.instrument else None
    import tinygrad_edu as tg

    tg.backend.use("c")
    tg.set_num_threads(args.threads)
    step = build_step(tg, args.optimizer)
    out = {"step": time_steps(step, args.steps, args.repeats)}
    if totals is not None:
        n = args.steps * args.repeats
        out.update({family: seconds / n for family, seconds in totals.items()})
        out["step"] = None  # the instrumented step: not the step's time
    return out


def torch_ops(torch, step, steps: int) -> dict:
    """Each aten op's share of the step (self CPU time per step / profiled step, torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(10):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        wall = (time.perf_counter() - t0) / steps
    # as shares of the profiled step's wall time (the profiler's clock), which print_tables
    # scales to the unprofiled step
    return {e.key: e.self_cpu_time_total / 1e6 / steps / wall for e in prof.key_averages()
            if e.key.startswith("aten::")}


def conv_gemms(threads: int) -> float:
    """Seconds per step in the GEMMs of the conv kernels, replayed alone with conv.c's arguments."""
    import numpy as np

    import tinygrad_edu as tg
    from tinygrad_edu.backend.c_kernels import ffi, lib

    tg.backend.use("c")
    tg.set_num_threads(threads)
    total = 0.0
    for (n, c, h, w), o, kernel, pad, input_grad in CONVS:
        k, p = c * kernel * kernel, (h + 2 * pad - kernel + 1) * (w + 2 * pad - kernel + 1)
        # conv.c: tg_conv_chunk (1 MiB of unfolding, at least 8 chunks) and tg_conv_pixels_as_rows
        chunk = max(1, min((1 << 20) // (p * k * 4), (n + 7) // 8))
        rows = k >= 4 * o
        for b0 in range(0, n, chunk):
            m = min(chunk, n - b0) * p
            if rows:  # forward, dW^T = cols^T @ g_r, dcols = g_r @ W_cl
                calls = [(m, k, o, k, 1, 1, k), (k, m, o, 1, k, o, 1)] + ([(m, o, k, o, 1, k, 1)] if input_grad else [])
            else:  # forward W @ cols_t (unless direct, see below), dW^T = cols_t @ g_t^T, dcols_t = W^T @ g_t
                calls = [(o, k, m, k, 1, m, 1)] * (not DIRECT_FORWARD) + [(k, m, o, m, 1, 1, m)]
                calls += [(k, o, m, 1, k, m, 1)] if input_grad else []
            for mm, kk, nn, a_rs, a_cs, b_rs, b_cs in calls:
                a, b = np.ones(mm * kk, np.float32), np.ones(kk * nn, np.float32)
                out = np.empty(mm * nn, np.float32)
                pa, pb, pc = (ffi.from_buffer("float[]", v) for v in (a, b, out))
                call = lambda: lib.tg_gemm_f32(pa, pb, ffi.NULL, pc, 1, mm, kk, nn, 0, a_rs, a_cs, 0, b_rs, b_cs)  # noqa: E731
                assert call() == 0 and out[0] == kk
                total += min(_timed(call) for _ in range(7))
    return total


def _timed(fn) -> float:
    t0 = clock()
    for _ in range(5):
        fn()
    return (clock() - t0) / 5


def run(args, framework: str, instrument: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", framework, "--threads", str(args.threads),
           "--optimizer", args.optimizer, "--steps", str(args.steps), "--repeats", str(args.repeats),
           "--clock", args.clock]
    env = dict(os.environ, TINYGRAD_EDU_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd + (["--instrument"] if instrument else []), capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_of(rows: list[dict]) -> dict:
    keys = {k for r in rows for k in r}
    return {k: statistics.median(r.get(k) or 0.0 for r in rows) for k in keys}


TORCH_GROUPS = (("conv forward", ("aten::mkldnn_convolution", "aten::_convolution", "aten::convolution",
                                  "aten::conv2d", "aten::thnn_conv2d", "aten::_slow_conv2d_forward")),
                ("conv backward", ("aten::convolution_backward", "aten::_slow_conv2d_backward")),
                ("pool", ("aten::max_pool2d_with_indices", "aten::max_pool2d_with_indices_backward",
                          "aten::max_pool2d")),
                ("GEMM (Linear)", ("aten::addmm", "aten::mm")))


def print_tables(args, ours: dict, ours_c: dict, gemm_in_conv: float, torch_step: float, torch_ops: dict) -> None:
    step = ours["step"]
    c_total = sum(ours_c.get(f, 0.0) for f in ("conv", "pool", "gemm", "other"))
    print(f"\nours: training step of the notes' CNN, batch 64, {args.optimizer}, {args.threads} thread(s)\n")
    print("| part | us/step | share |\n|---|---|---|")
    conv = ours_c.get("conv", 0.0)
    for name, value in (("conv kernels (tg_conv2d_*)", conv), ("  of which GEMM (replayed alone)", gemm_in_conv),
                        ("  of which unfold / col2im / transposes / sums", conv - gemm_in_conv),
                        ("max pool (tg_max_pool2d_*)", ours_c.get("pool", 0.0)),
                        ("GEMM of the Linear (tg_gemm_*)", ours_c.get("gemm", 0.0)),
                        ("other kernels (ReLU, loss, Adam/SGD, ...)", ours_c.get("other", 0.0)),
                        ("Python (interpreter, NumPy small ops, allocation)", step - c_total),
                        ("step (uninstrumented)", step)):
        print(f"| {name} | {1e6 * value:.0f} | {100 * value / step:.0f}% |")
    grouped = {name: torch_step * sum(torch_ops.get(op, 0.0) for op in ops) for name, ops in TORCH_GROUPS}
    grouped["other aten ops"] = torch_step * sum(torch_ops.values()) - sum(grouped.values())
    grouped["outside aten ops (Python, autograd engine)"] = torch_step * (1 - sum(torch_ops.values()))
    print(f"\ntorch {_torch_version()}: the same step; each op's share of it from torch.profiler (self CPU "
          "time over the profiled step), times the unprofiled step\n")
    print("| part | us/step | share |\n|---|---|---|")
    for name, value in list(grouped.items()) + [("step (unprofiled)", torch_step)]:
        print(f"| {name} | {1e6 * value:.0f} | {100 * value / torch_step:.0f}% |")
    print(f"\nstep ratio ours / torch: {step / torch_step:.2f}x")


def _torch_version() -> str:
    import importlib.metadata
    return importlib.metadata.version("torch")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads of both libraries")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="adam", help="SGD with momentum 0.9, or Adam")
    p.add_argument("--steps", type=int, default=30, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=7, help="repeats per process (median)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the four processes")
    p.add_argument("--clock", choices=tuple(CLOCKS), default="wall", help="wall clock, or the process's CPU time")
    p.add_argument("--worker", choices=("tinygrad_edu", "torch"), dest="framework", help=argparse.SUPPRESS)
    p.add_argument("--instrument", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.framework:
        print(json.dumps(worker(args)))
        return 0
    global clock
    clock = CLOCKS[args.clock]
    print(header(args.threads, f"{'wall clock' if args.clock == 'wall' else 'CPU time of the process'}, warm; medians"))
    runs: dict = {}
    for _ in range(args.rounds):  # the four processes take turns
        for framework in ("tinygrad_edu", "torch"):
            for instrument in (False, True):
                runs.setdefault((framework, instrument), []).append(run(args, framework, instrument))
    ours, ours_c = median_of(runs["tinygrad_edu", False]), median_of(runs["tinygrad_edu", True])
    torch_step, torch_ops = median_of(runs["torch", False])["step"], median_of(runs["torch", True])
    print_tables(args, ours, ours_c, conv_gemms(args.threads), torch_step, torch_ops)
    print(load_line("after"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

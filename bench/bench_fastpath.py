"""What the shortcuts of tinygrad_edu/autograd/_fastpath.py save, measured.

    python bench/bench_fastpath.py [--rounds N]

CPU time (so other processes on a shared machine distort less), best of N rounds x 7 runs, one
thread: one `Mul` of [64, 10] tensors, F.cross_entropy forward + backward at 64x10, F.linear
64x64 -> 10 forward + backward, and one training step of the notes' MLP (batch 64, SGD with
momentum), (a) as shipped, (b) with `Op.apply` written as `Function.apply` is (helper calls and
comprehensions, below), (c) with every first gradient copied instead of taken over, (d) with
`backward()` walking through `engine.run_backward` (the walk taken once any hook was registered)
instead of `plain_backward`, (e) with a one-output op recorded through `_tensor_of` + `_connect`
instead of `_record_one`.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TINYGRAD_EDU_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout
import tinygrad_edu as torch  # noqa: E402
from tinygrad_edu import nn, optim, ops  # noqa: E402
import tinygrad_edu.nn.functional as F  # noqa: E402
from tinygrad_edu.autograd import _fastpath, function, grad_mode, hooks  # noqa: E402
from tinygrad_edu.autograd.function import Op, _connect  # noqa: E402
from tinygrad_edu.autograd._fastpath import _tensor_of, op_apply  # noqa: E402
from tinygrad_edu.tensor import Tensor  # noqa: E402


def readable_apply(cls, *args):
    """Op.apply written as Function.apply is: comprehensions and helpers, no hand inlining."""
    ctx = cls._Backward()
    inputs = [a for a in args if isinstance(a, Tensor)]
    record = grad_mode.is_grad_enabled() and any(t.requires_grad for t in inputs)
    if record:
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx._arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
    result = cls.forward(ctx, *[a._data if isinstance(a, Tensor) else a for a in args])
    multiple = isinstance(result, tuple)
    outputs = [Tensor._make(r) for r in (result if multiple else (result,))]
    if cls.is_view:
        base = inputs[0] if inputs[0]._base is None else inputs[0]._base
        for o in outputs:
            o._version, o._base = inputs[0]._version, base
    if record:
        to_save = ctx.__dict__.get("_to_save")
        if to_save:
            ctx._to_save = tuple(_tensor_of(x, outputs, inputs) for x in to_save)
        _connect(ctx, inputs, outputs, ())
    return tuple(outputs) if multiple else outputs[0]


def general_record(ctx, inputs, out):
    """`_fastpath._record_one` as op_apply did it before: map the saved arrays, then `_connect`."""
    to_save = ctx.__dict__.get("_to_save")
    if to_save:
        ctx._to_save = tuple(_tensor_of(x, [out], inputs) for x in to_save)
    _connect(ctx, inputs, [out], ())


def timeit(fn, n: int, reps: int = 7) -> float:
    """Best CPU time per call over `reps` runs of `n` calls."""
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t) / n)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description="what autograd/_fastpath.py's shortcuts save (CPU time, 1 thread)")
    p.add_argument("--rounds", type=int, default=5, help="the variants take turns this many times "
                                                          "(default: %(default)s)")
    rounds = p.parse_args().rounds
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128),
                          nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y, loss_fn = torch.randn(64, 784), torch.randint(0, 10, (64,)), nn.CrossEntropyLoss()
    a, b = torch.randn(64, 10, requires_grad=True), torch.randn(64, 10)
    logits, target = torch.randn(64, 10, requires_grad=True), torch.randint(0, 10, (64,))
    xs, w, bias = torch.randn(64, 64, requires_grad=True), torch.randn(10, 64, requires_grad=True), \
        torch.randn(10, requires_grad=True)
    upstream = torch.ones(64, 10)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def cross_entropy():
        logits.grad = None
        F.cross_entropy(logits, target).backward()

    def linear():
        xs.grad = w.grad = bias.grad = None
        F.linear(xs, w, bias).backward(upstream)

    shipped, record_one = function._is_private, _fastpath._record_one
    variants = {"as shipped": (op_apply, shipped, False, record_one),
                "Op.apply as Function.apply": (readable_apply, shipped, False, record_one),
                "first gradient copied": (op_apply, lambda grad: False, False, record_one),
                "engine.run_backward walk": (op_apply, shipped, True, record_one),
                "_tensor_of + _connect": (op_apply, shipped, False, general_record)}
    calls = {"Mul [64, 10]": (lambda: ops.Mul.apply(a, b), 2000), "CE fwd+bwd 64x10": (cross_entropy, 1000),
             "F.linear fwd+bwd 64x64->10": (linear, 1000), "MLP step (batch 64, SGD)": (step, 20)}
    best = {name: {call: float("inf") for call in calls} for name in variants}
    hooked = hooks.tensor_hooks_registered
    for _ in range(rounds):  # the variants take turns
        for name, (apply, is_private, general_walk, record) in variants.items():
            Op.apply, function._is_private, _fastpath._record_one = classmethod(apply), is_private, record
            hooks.tensor_hooks_registered = general_walk  # True: backward() takes engine.run_backward
            for _ in range(20):
                step()
            for call, (fn, n) in calls.items():
                best[name][call] = min(best[name][call], timeit(fn, n))
    Op.apply, function._is_private, _fastpath._record_one = classmethod(op_apply), shipped, record_one
    hooks.tensor_hooks_registered = hooked
    print(f"{'variant':28s} " + " ".join(f"{call:>28s}" for call in calls) + "   (us, CPU time, best)")
    for name, row in best.items():
        print(f"{name:28s} " + " ".join(f"{row[call] * 1e6:28.2f}" for call in calls))


if __name__ == "__main__":
    main()

"""What the two shortcuts of tinygrad_edu/autograd/_fastpath.py save, measured.

    python bench/bench_fastpath.py [--rounds N]

CPU time (so other processes on a shared machine distort less), best of N rounds x 7 runs, one
thread: one `Mul` of [64, 10] tensors and one training step of the notes' MLP (batch 64, SGD
with momentum), (a) as shipped, (b) with `Op.apply` written as `Function.apply` is (helper
calls and comprehensions, below), (c) with every first gradient copied instead of taken over.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TINYGRAD_EDU_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout
import tinygrad_edu as torch  # noqa: E402
from tinygrad_edu import nn, optim, ops  # noqa: E402
from tinygrad_edu.autograd import function, grad_mode  # noqa: E402
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
    p = argparse.ArgumentParser(description="what autograd/_fastpath.py's two shortcuts save (CPU time, 1 thread)")
    p.add_argument("--rounds", type=int, default=5, help="the three variants take turns this many times "
                                                          "(default: %(default)s)")
    rounds = p.parse_args().rounds
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128),
                          nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y, loss_fn = torch.randn(64, 784), torch.randint(0, 10, (64,)), nn.CrossEntropyLoss()
    a, b = torch.randn(64, 10, requires_grad=True), torch.randn(64, 10)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    shipped = function._is_private
    variants = {"as shipped": (op_apply, shipped), "Op.apply as Function.apply": (readable_apply, shipped),
                "first gradient copied": (op_apply, lambda grad: False)}
    best = {name: [float("inf"), float("inf")] for name in variants}
    for _ in range(rounds):  # the variants take turns
        for name, (apply, is_private) in variants.items():
            Op.apply, function._is_private = classmethod(apply), is_private
            for _ in range(20):
                step()
            best[name][0] = min(best[name][0], timeit(lambda: ops.Mul.apply(a, b), 2000))
            best[name][1] = min(best[name][1], timeit(step, 20))
    Op.apply, function._is_private = classmethod(op_apply), shipped
    for name, (op_s, step_s) in best.items():
        print(f"{name:28s} Mul [64, 10]: {op_s * 1e6:6.2f} us   MLP step (batch 64, SGD): {step_s * 1e3:6.3f} ms")


if __name__ == "__main__":
    main()

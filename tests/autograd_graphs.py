"""Graphs shared by the viz and trace tests, built from Tensor ops only (no nn)."""
from __future__ import annotations

from hypothesis import strategies as st

import tinygrad_edu as tg


def mlp_loss(sizes=(784, 512, 256, 128, 64, 10), batch: int = 4, activation: str = "relu", seed: int = 0,
             he_init: bool = False):
    """The notes' MNIST MLP written with Tensor ops: addmm(b, x, w.t()), relu, log_softmax,
    indexing, mean. Returns (loss, params) with params named like nn.Linear's ("fc1.weight").
    Weights are nn.Linear's default uniform init, or with `he_init` normal with std sqrt(2/fan_in)
    (which keeps ReLU activations' size from layer to layer)."""
    g = tg.Generator().manual_seed(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        bound = n_in ** -0.5  # nn.Linear's default init range
        w = tg.randn(n_out, n_in, generator=g) * (2 / n_in) ** 0.5 if he_init else \
            (tg.rand(n_out, n_in, generator=g) * 2 - 1) * bound
        params[f"fc{i}.weight"] = w.requires_grad_()
        params[f"fc{i}.bias"] = ((tg.rand(n_out, generator=g) * 2 - 1) * bound).requires_grad_()
    x = tg.rand(batch, sizes[0], generator=g)
    target = tg.randint(0, sizes[-1], (batch,), generator=g)
    h = x
    for i in range(1, len(sizes)):
        h = tg.addmm(params[f"fc{i}.bias"], h, params[f"fc{i}.weight"].t())
        if i < len(sizes) - 1:
            h = getattr(h, activation)()
    loss = -h.log_softmax(dim=1)[tg.arange(batch), target].mean()
    return loss, params


def reachable(root) -> tuple[list, int]:
    """Every node reachable from `root` along next_functions (each once), and the edge count."""
    seen, stack, edges = {root: None}, [root], 0
    while stack:
        for child, _ in stack.pop().next_functions:
            if child is not None:
                edges += 1
                if child not in seen:
                    seen[child] = None
                    stack.append(child)
    return list(seen), edges


def random_graph(program: list[tuple[int, int, int]], n_leaves: int = 3, seed: int = 0):
    """A random DAG: each (op, i, j) combines two earlier tensors of the pool (leaves first) with
    one of a few ops; the loss sums the last tensor with every third one, so long edges appear.
    Returns (loss, leaves)."""
    g = tg.Generator().manual_seed(seed)
    leaves = [tg.randn(2, 3, generator=g).requires_grad_() for _ in range(n_leaves)]
    pool = list(leaves)
    ops = (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b.tanh(), lambda a, b: (a * 0.5).relu() + b,
           lambda a, b: a.sigmoid() * b.exp())
    for op, i, j in program:
        pool.append(ops[op % len(ops)](pool[i % len(pool)], pool[j % len(pool)]))
    loss = pool[-1].sum()
    for t in pool[n_leaves::3]:
        loss = loss + t.mean()
    return loss, leaves


# programs for random_graph: (op, i, j) triples, indices taken modulo the pool's size
programs = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=12)

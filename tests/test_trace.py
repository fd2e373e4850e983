"""autograd.trace(): the engine's steps, in its order, with the right gradient norms."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu.autograd import engine
from tinygrad_edu.autograd.function import AccumulateGrad

from autograd_graphs import mlp_loss, programs, random_graph, reachable


def assert_reverse_topological(steps, root, leaves: bool = True) -> None:
    """Each reachable node runs once, and only after every node that sends it a gradient."""
    nodes, _ = reachable(root)
    if not leaves:  # autograd.grad() runs no AccumulateGrad
        nodes = [n for n in nodes if not isinstance(n, AccumulateGrad)]
    ran = [s.node for s in steps]
    assert len(ran) == len(set(ran)) == len(nodes) and set(ran) == set(nodes)
    when = {node: k for k, node in enumerate(ran)}
    for node in nodes:
        for child, _ in node.next_functions:
            if child in when:
                assert when[node] < when[child], (node.name(), child.name())


def norm(t) -> float:
    return float(np.linalg.norm(t.detach().numpy().astype(np.float64)))


def test_mlp_steps_follow_the_engine_order_and_norms_match_the_grads():
    loss, params = mlp_loss((12, 10, 8, 6, 5, 3), batch=4)
    with tg.autograd.trace(params) as t:
        loss.backward()
    assert_reverse_topological(t.steps, loss.grad_fn)
    assert [s.index for s in t.steps] == list(range(len(t.steps))) and len(t) == 28
    assert t.steps[0].name == "NegBackward0" and t.steps[0].grad_output_norm == 1.0
    leaves = {s.label: s for s in t.steps if s.is_leaf}
    assert set(leaves) == set(params)
    for name, p in params.items():
        step = leaves[name]
        assert step.name == "AccumulateGrad" and step.grad_output_shapes == (tuple(p.shape),)
        assert step.grad_output_norm == pytest.approx(norm(p.grad), rel=1e-6)
        assert step.grad_input_shapes == () and step.grad_input_norms == ()
    # what a node sends along an edge is what the next node receives (single-consumer chain here)
    received = {s.node: s.grad_output_norm for s in t.steps}
    for s in t.steps:
        for (child, _), sent in zip(s.node.next_functions, s.grad_input_norms):
            assert (child is None) == (sent is None)
            if child is not None:
                assert received[child] == pytest.approx(sent, rel=1e-6)


def test_first_addmm_sends_nothing_to_the_input_that_needs_no_grad():
    loss, params = mlp_loss((6, 4, 3), batch=2)
    with tg.autograd.trace() as t:
        loss.backward()
    last = [s for s in t.steps if s.name == "AddmmBackward0"][-1]
    assert last.grad_input_shapes == ((4,), None, (6, 4))  # bias, x (no grad), w.t()
    assert "leaf (4, 6)" in [s.label for s in t.steps]  # unnamed leaves are labelled by shape


def test_gradients_meeting_at_a_node_are_summed_before_it_runs():
    a = tg.tensor([1.0, -2.0], requires_grad=True)
    b = a + a
    c = b * b  # b's node gets two gradients, summed: it runs once
    h = c.sum()
    b.retain_grad()
    with tg.autograd.trace() as t:
        h.backward()
    assert_reverse_topological(t.steps, h.grad_fn)
    add = next(s for s in t.steps if s.name == "AddBackward0")
    assert add.grad_output_norm == pytest.approx(norm(b.grad))  # 2 * 2b summed
    assert add.grad_input_norms == pytest.approx([norm(b.grad)] * 2)
    assert t.steps[-1].is_leaf and t.steps[-1].grad_output_norm == pytest.approx(norm(a.grad))


def test_table_has_a_row_per_step():
    loss, params = mlp_loss((6, 4, 3), batch=2)
    with tg.autograd.trace(params) as t:
        loss.backward()
    lines = str(t).splitlines()
    assert lines[0].split()[:2] == ["step", "node"] and len(lines) == len(t.steps) + 1
    for line, s in zip(lines[1:], t.steps):
        assert line.split()[:2] == [str(s.index), s.label]
    assert "fc1.weight" in str(t) and "-> .grad" in str(t)
    assert repr(t) == f"<autograd.trace: {len(t.steps)} backward steps>"


def test_inactive_tracer_costs_nothing_and_is_removed_even_on_error():
    x = tg.tensor(2.0, requires_grad=True)
    with tg.autograd.trace() as t:
        pass
    (x * x).backward()
    assert t.steps == [] and engine.tracers == []
    with pytest.raises(RuntimeError, match="does not require grad"):
        with tg.autograd.trace():
            tg.tensor(1.0).backward()
    assert engine.tracers == []


def test_autograd_grad_and_create_graph_are_traced():
    x = tg.tensor(2.0, requires_grad=True)
    z = x ** 2 + 2 * x + 1
    with tg.autograd.trace() as t:
        (dz,) = tg.autograd.grad(z, x, create_graph=True)
    assert dz.item() == 6.0
    assert not any(isinstance(s.node, AccumulateGrad) for s in t.steps)  # grad() captures, never accumulates
    assert_reverse_topological(t.steps, z.grad_fn, leaves=False)
    with tg.autograd.trace() as t2:
        dz.backward()
    assert x.grad.item() == 2.0 and t2.steps[-1].is_leaf and t2.steps[-1].grad_output_norm == 2.0


def test_sigmoid_gradients_vanish_where_relu_ones_do_not():
    """The notes' point, measured: 8 sigmoid layers shrink the first layer's gradient by ~0.25
    per layer (sigmoid' <= 1/4); with ReLU (and He init) it keeps its size."""
    sizes = (16,) * 9 + (4,)
    ratios = {}
    for act in ("sigmoid", "relu"):
        loss, params = mlp_loss(sizes, batch=8, activation=act, he_init=True)
        with tg.autograd.trace(params) as t:
            loss.backward()
        leaf = {s.label: s.grad_output_norm for s in t.steps if s.is_leaf}
        ratios[act] = leaf["fc1.weight"] / leaf["fc9.weight"]
    assert ratios["sigmoid"] < 1e-3 and ratios["relu"] > 0.1


def test_plot_draws_one_bar_per_step(tmp_path):
    loss, params = mlp_loss((6, 4, 3), batch=2)
    with tg.autograd.trace(params) as t:
        loss.backward()
    fig = t.plot(tmp_path / "norms.png")
    assert (tmp_path / "norms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bars = fig.axes[0].patches
    assert len(bars) == len(t.steps)
    assert [b.get_height() for b in bars] == pytest.approx([s.grad_output_norm for s in t.steps])
    fig = t.plot(tmp_path / "leaves.svg", leaves_only=True)
    assert len(fig.axes[0].patches) == len(params) and (tmp_path / "leaves.svg").stat().st_size > 0
    with pytest.raises(ValueError, match="no backward step"):
        tg.autograd.trace().plot()
    with pytest.raises(ValueError, match="suffix"):
        t.plot(tmp_path / "norms.jpeg")


@settings(max_examples=30, deadline=None)
@given(programs)
def test_random_graphs_trace_in_engine_order_with_the_leaf_grads(program):
    loss, leaves = random_graph(program)
    with tg.autograd.trace({f"x{k}": x for k, x in enumerate(leaves)}) as t:
        loss.backward()
    assert_reverse_topological(t.steps, loss.grad_fn)
    norms = {s.label: s.grad_output_norm for s in t.steps if s.is_leaf}
    for k, x in enumerate(leaves):
        if x.grad is not None:
            assert norms[f"x{k}"] == pytest.approx(norm(x.grad), rel=1e-5, abs=1e-12)
        else:
            assert f"x{k}" not in norms


def test_steps_keep_the_values_received_sent_saved_and_the_leaf_grads():
    """What viz.backward_page shows: glimpses (shape, norm, first numbers) of each gradient."""
    x = tg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = tg.tensor([0.5, 4.0, -1.0], requires_grad=True)
    loss = (w * x).sum()
    with tg.autograd.trace({"x": x, "w": w}) as t:
        loss.backward(retain_graph=True)
    total, mul, *leaves = t.steps
    assert total.received[0].head == (1.0,) and total.received[0].shape == ()
    assert mul.sent[0].head == pytest.approx(x.detach().numpy().tolist())  # d/dw = x
    assert mul.sent[1].norm == pytest.approx(norm(w))  # d/dx = w
    assert [v.head for v in mul.saved] == [pytest.approx(w.detach().numpy().tolist()),
                                          pytest.approx(x.detach().numpy().tolist())]
    by_name = {s.label: s for s in leaves}
    assert by_name["x"].grad.head == pytest.approx(x.grad.numpy().tolist()) and by_name["x"].grad.numel == 3
    assert total.grad is None and mul.grad is None
    y = tg.tensor(2.0, requires_grad=True)
    with tg.autograd.trace() as t2:
        (y ** 3).backward()  # the graph is freed as the engine goes: nothing saved to show
    assert t2.steps[0].saved == () and t2.steps[0].attributes == (("exponent", 3),)
    assert t2.steps[0].sent[0].head == (12.0,) and t2.steps[1].grad.head == (12.0,)


def test_values_keep_the_first_numbers_of_big_gradients():
    from tinygrad_edu.autograd.trace import HEAD, Values
    v = Values.of(tg.arange(20.0).reshape(4, 5))
    assert v.shape == (4, 5) and v.numel == 20 and v.head == tuple(float(i) for i in range(HEAD))
    assert v.norm == pytest.approx(np.linalg.norm(np.arange(20.0)))

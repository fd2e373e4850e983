"""nn.RNN, LSTM, GRU and their cells against torch: names, shapes, initialisation, outputs, states and
every gradient (inputs, initial states, parameters), float32 and float64."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn

TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-10)}


def _pair(name, *args, dtype="float64", **kwargs):
    """The same layer in both libraries, with torch's weights copied into ours."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    ours = getattr(nn, name)(*args, **kwargs).to(getattr(tg, dtype))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    with tg.no_grad():
        for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert tuple(p.shape) == tuple(tp.shape), n
            p.copy_(tg.tensor(tp.detach().numpy()))
    return ours, theirs


def _leaves(arrays):
    return [tg.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(ours_model, theirs_model, ours_in, theirs_in, ours_out, theirs_out, dtype):
    ours_out, theirs_out = _flat(ours_out), _flat(theirs_out)
    assert len(ours_out) == len(theirs_out)
    rng = np.random.default_rng(5)
    ups = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in theirs_out]
    for o, t in zip(ours_out, theirs_out):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), **TOL[dtype])
    tg.autograd.backward(ours_out, [tg.tensor(u) for u in ups])
    torch.autograd.backward(theirs_out, [torch.tensor(u) for u in ups])
    for o, t in zip(ours_in, theirs_in):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **TOL[dtype])
    for (n, p), (_, tp) in zip(ours_model.named_parameters(), theirs_model.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=n, **TOL[dtype])


CONFIGS = [
    dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False), dict(batch_first=True),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(name, config, dtype, with_state):
    ours, theirs = _pair(name, 4, 6, dtype=dtype, **config)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    rng = np.random.default_rng(0)
    seq, batch = 5, 3
    shape = (batch, seq, 4) if config.get("batch_first") else (seq, batch, 4)
    arrays = [rng.standard_normal(shape).astype(dtype)]
    if with_state:
        arrays += [rng.standard_normal((layers, batch, 6)).astype(dtype) for _ in range(2 if name == "LSTM" else 1)]
    ours_in, theirs_in = _leaves(arrays)
    if with_state:
        hx_o = tuple(ours_in[1:]) if name == "LSTM" else ours_in[1]
        hx_t = tuple(theirs_in[1:]) if name == "LSTM" else theirs_in[1]
        out_o, out_t = ours(ours_in[0], hx_o), theirs(theirs_in[0], hx_t)
    else:
        out_o, out_t = ours(ours_in[0]), theirs(theirs_in[0])
    _compare(ours, theirs, ours_in, theirs_in, out_o, out_t, dtype)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(name):
    ours, theirs = _pair(name, 3, 5, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((7, 3))] + [rng.standard_normal((4, 5)) for _ in range(2 if name == "LSTM" else 1)]
    ours_in, theirs_in = _leaves(arrays)
    hx_o = tuple(ours_in[1:]) if name == "LSTM" else ours_in[1]
    hx_t = tuple(theirs_in[1:]) if name == "LSTM" else theirs_in[1]
    _compare(ours, theirs, ours_in, theirs_in, ours(ours_in[0], hx_o), theirs(theirs_in[0], hx_t), "float64")


def test_relu_rnn_and_lstm_projection():
    ours, theirs = _pair("RNN", 3, 5, nonlinearity="relu", num_layers=2)
    ours_in, theirs_in = _leaves([np.random.default_rng(2).standard_normal((6, 2, 3))])
    _compare(ours, theirs, ours_in, theirs_in, ours(ours_in[0]), theirs(theirs_in[0]), "float64")
    ours, theirs = _pair("LSTM", 3, 5, proj_size=2, num_layers=2, bidirectional=True)
    ours_in, theirs_in = _leaves([np.random.default_rng(3).standard_normal((6, 2, 3))])
    _compare(ours, theirs, ours_in, theirs_in, ours(ours_in[0]), theirs(theirs_in[0]), "float64")


def test_dropout_between_layers_only_in_training():
    ours, theirs = _pair("LSTM", 3, 5, num_layers=3, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    ours.eval()
    theirs.eval()
    ours_in, theirs_in = _leaves([x])
    _compare(ours, theirs, ours_in, theirs_in, ours(ours_in[0]), theirs(theirs_in[0]), "float64")
    ours.train()
    tg.manual_seed(0)
    a = ours(tg.tensor(x))[0].detach().numpy()
    b = ours(tg.tensor(x))[0].detach().numpy()
    assert not np.allclose(a, b), "dropout should make two training passes differ"
    ours_one = nn.LSTM(3, 5, num_layers=1)
    ours_one.train()
    x1 = tg.tensor(x).float()
    assert np.allclose(ours_one(x1)[0].detach().numpy(), ours_one(x1)[0].detach().numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, batched, dtype):
    ours, theirs = _pair(name, 4, 6, dtype=dtype)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    rng = np.random.default_rng(0)
    lead = (3,) if batched else ()
    arrays = [rng.standard_normal(lead + (4,)).astype(dtype)]
    arrays += [rng.standard_normal(lead + (6,)).astype(dtype) for _ in range(2 if name == "LSTMCell" else 1)]
    ours_in, theirs_in = _leaves(arrays)
    hx_o = tuple(ours_in[1:]) if name == "LSTMCell" else ours_in[1]
    hx_t = tuple(theirs_in[1:]) if name == "LSTMCell" else theirs_in[1]
    out_o, out_t = ours(ours_in[0], hx_o), theirs(theirs_in[0], hx_t)
    _compare(ours, theirs, ours_in, theirs_in, out_o, out_t, dtype)
    no_state_o, no_state_t = ours(tg.tensor(arrays[0])), theirs(torch.tensor(arrays[0]))
    for o, t in zip(_flat(no_state_o), _flat(no_state_t)):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def test_initialisation_is_uniform_in_one_over_sqrt_hidden():
    tg.manual_seed(0)
    model = nn.LSTM(30, 400, num_layers=2, bidirectional=True)
    bound = 1 / np.sqrt(400)
    for name, p in model.named_parameters():
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound, name
        assert abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound, name  # U(-b, b) has std b/sqrt(3)
    assert nn.GRUCell(3, 100).weight_hh.detach().numpy().max() <= 0.1


def test_errors_name_what_is_wrong():
    lstm = nn.LSTM(4, 6)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 4, got 5"):
        lstm(tg.randn(3, 2, 5))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(tg.randn(3, 2, 4, 1))
    with pytest.raises(RuntimeError, match="Expected hidden size \\(1, 2, 6\\), got \\[2, 2, 6\\]"):
        lstm(tg.randn(3, 2, 4), (tg.zeros(2, 2, 6), tg.zeros(2, 2, 6)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D"):
        nn.GRU(4, 6)(tg.randn(3, 4), tg.zeros(1, 1, 6))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(4, 6, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.GRU(4, 6, dropout=1.5)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(4, 6, dropout=0.2)


# ---------------------------------------------------------------- the fused path (ops/rnn.py) and the reference

from tinygrad_edu.nn.modules import rnn as rnn_module  # noqa: E402

FUSED_CONFIGS = CONFIGS + [dict(num_layers=3, dropout=0.3), dict(proj_size=2, bidirectional=True)]


@pytest.fixture(params=[True, False], ids=["fused", "reference"])
def path(request, monkeypatch):
    """Run the test once on the fused ops (one op per layer and direction) and once on the reference steps."""
    monkeypatch.setattr(rnn_module, "FUSED", request.param)
    return request.param


def _run_pair(name, config, dtype, with_state, seq=5, batch=3, train=False):
    ours, theirs = _pair(name, 4, 6, dtype=dtype, **config)
    ours.train(train)
    theirs.train(train)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    rng = np.random.default_rng(0)
    shape = (batch, seq, 4) if config.get("batch_first") else (seq, batch, 4)
    arrays = [rng.standard_normal(shape).astype(dtype)]
    if with_state:
        sizes = [config.get("proj_size") or 6] + ([6] if name == "LSTM" else [])
        arrays += [rng.standard_normal((layers, batch, s)).astype(dtype) for s in sizes]
    ours_in, theirs_in = _leaves(arrays)
    pick = (lambda xs: tuple(xs[1:]) if name == "LSTM" else xs[1]) if with_state else None
    out_o = ours(ours_in[0], pick(ours_in)) if with_state else ours(ours_in[0])
    out_t = theirs(theirs_in[0], pick(theirs_in)) if with_state else theirs(theirs_in[0])
    return ours, theirs, ours_in, theirs_in, out_o, out_t


# proj_size is an LSTM's only
NAME_CONFIGS = [(name, c) for name in ("RNN", "LSTM", "GRU") for c in FUSED_CONFIGS
                if name == "LSTM" or "proj_size" not in c]


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")  # torch's own
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, config", NAME_CONFIGS, ids=[f"{n}-{c}" for n, c in NAME_CONFIGS])
def test_both_paths_on_both_backends_match_torch(name, config, dtype, path, backend_name):
    ours, theirs, ours_in, theirs_in, out_o, out_t = _run_pair(name, config, dtype, with_state=True)
    _compare(ours, theirs, ours_in, theirs_in, out_o, out_t, dtype)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fused_path_records_one_node_per_layer_and_direction(name, monkeypatch):
    model = getattr(nn, name)(4, 6, num_layers=2, bidirectional=True)
    x = tg.randn(5, 3, 4)
    seen = lambda out: {type(out.grad_fn.next_functions[i][0]).__name__ for i in (0, 1)}  # noqa: E731
    out = model(x)[0]  # cat of the last layer's two directions
    assert type(out.grad_fn).__name__ == "CatBackward0"
    node = {"RNN": "RnnSequenceBackward0", "LSTM": "LstmSequenceBackward0", "GRU": "GruSequenceBackward0"}[name]
    assert seen(out) == {node}
    monkeypatch.setattr(rnn_module, "FUSED", False)
    assert node not in seen(model(x)[0])


def test_fused_lstm_on_the_mnist_shapes_matches_torch():
    """The example's layer: LSTM(28 -> 128), batch_first, 28 steps, batch 64, only the last output
    used, the input not requiring grad (float32, the tolerance of test_layer_matches_torch)."""
    ours, theirs = _pair("LSTM", 28, 128, dtype="float32", batch_first=True)
    x = np.random.default_rng(4).standard_normal((64, 28, 28)).astype(np.float32)
    out_o, out_t = ours(tg.tensor(x))[0][:, -1], theirs(torch.tensor(x))[0][:, -1]
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), **TOL["float32"])
    (out_o * out_o).sum().backward()
    (out_t * out_t).sum().backward()
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=n, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fused_path_differentiates_twice_as_torch(name, path):
    """create_graph through the fused op (its backward then differentiates the reference steps)."""
    ours, theirs, ours_in, theirs_in, out_o, out_t = _run_pair(name, dict(bidirectional=True), "float64", True)
    results = []
    for lib, model, inputs, out in ((tg, ours, ours_in, out_o), (torch, theirs, theirs_in, out_t)):
        loss = sum((o * o).sum() for o in _flat(out))
        params = [p for _, p in model.named_parameters()]
        grads = lib.autograd.grad(loss, params + inputs, create_graph=True)
        sum((g * g).sum() for g in grads).backward()
        results.append([t.grad.numpy() for t in params + inputs])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL["float64"])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fused_path_without_grad_and_on_empty_batches(name, path):
    ours, theirs = _pair(name, 4, 6, num_layers=2)
    x = np.random.default_rng(6).standard_normal((5, 3, 4))
    with tg.no_grad():
        out = ours(tg.tensor(x))
    for o, t in zip(_flat(out), _flat(theirs(torch.tensor(x)))):
        assert not o.requires_grad
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **TOL["float64"])
    empty = tg.zeros(5, 0, 4, dtype=tg.float64, requires_grad=True)
    out = ours(empty)
    assert tuple(out[0].shape) == (5, 0, 6)
    out[0].sum().backward()
    assert tuple(empty.grad.shape) == (5, 0, 4) and float(ours.weight_hh_l0.grad.abs().sum()) == 0
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN"):
        ours(tg.zeros(0, 2, 4, dtype=tg.float64))


def test_fused_lstm_final_state_changed_in_place_leaves_the_gradient_alone():
    """c_n is returned as a copy, so an in-place change to it cannot reach what backward reads."""
    ours, theirs = _pair("LSTM", 4, 6)
    x = np.random.default_rng(7).standard_normal((5, 3, 4))
    out, (h, c) = ours(tg.tensor(x))
    out_t, (h_t, c_t) = theirs(torch.tensor(x))
    loss = out.sum() + c.sum()
    with tg.no_grad():
        c.mul_(0)
    loss.backward()
    (out_t.sum() + c_t.sum()).backward()
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=n, **TOL["float64"])


def test_dtype_mismatches_get_clear_errors():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"RNN input dtype \(torch.float64\) does not match weight dtype "
                                         r"\(torch.float32\)"):
        lstm(tg.randn(5, 2, 3).double())
    with pytest.raises(RuntimeError, match="hidden state to have the input's dtype tinygrad_edu.float32, got "
                                           "tinygrad_edu.float64"):
        lstm(tg.randn(5, 2, 3), (tg.zeros(1, 2, 4, dtype=tg.float64), tg.zeros(1, 2, 4)))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fused_and_reference_paths_agree_in_training_with_dropout(name, monkeypatch):
    """Dropout draws the same masks on both paths (same seed), so outputs and gradients agree."""
    model = getattr(nn, name)(4, 6, num_layers=3, dropout=0.5, bidirectional=True).double().train()
    x = np.random.default_rng(8).standard_normal((5, 3, 4))
    results = []
    for fused in (True, False):
        monkeypatch.setattr(rnn_module, "FUSED", fused)
        model.zero_grad()
        tg.manual_seed(0)
        inp = tg.tensor(x, requires_grad=True)
        out = model(inp)[0]
        (out * out).sum().backward()
        results.append([out.detach().numpy(), inp.grad.numpy()] + [p.grad.numpy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL["float64"])

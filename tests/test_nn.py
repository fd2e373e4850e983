"""nn.Module and the layers against torch.nn: registration rules, traversal, state_dict, repr,
dtype conversion, default initialisation, and every layer's forward/backward (float32, float64)."""
from __future__ import annotations

import copy
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from helpers import check_op
from nn_helpers import assert_state_equal, check_module, to_tg_state
from tinygrad_edu import nn

DTYPES = ["float32", "float64"]


def mlp(lib_nn):
    """The course notes' MLP (000_*.txt), for either library."""
    class MLP(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.in_dim, self.out_dim = 28 * 28, 10
            self.fc1 = lib_nn.Linear(self.in_dim, 512)
            self.fc2 = lib_nn.Linear(512, 256)
            self.fc3 = lib_nn.Linear(256, 128)
            self.fc4 = lib_nn.Linear(128, 64)
            self.fc5 = lib_nn.Linear(64, self.out_dim)
            self.relu = lib_nn.ReLU()
            self.log_softmax = lib_nn.LogSoftmax()

        def forward(self, x):
            a1 = self.relu(self.fc1(x.view(-1, self.in_dim)))
            a2 = self.relu(self.fc2(a1))
            a3 = self.relu(self.fc3(a2))
            a4 = self.relu(self.fc4(a3))
            return self.fc5(a4)
    return MLP()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.bn = nn.BatchNorm1d(2)


# ---------------------------------------------------------------- Parameter

def test_parameter_is_a_leaf_tensor_requiring_grad():
    data = tg.ones(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not nn.Parameter(tg.ones(2), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    p.data[0, 0] = 5.0  # shares memory with the tensor it was made from, as PyTorch
    assert data[0, 0].item() == 5.0
    assert type(p * 2) is tg.Tensor  # ops on a Parameter give plain tensors
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(tg.tensor([1, 2]))


def test_parameter_repr_matches_torch():
    value = np.array([[1.0, -2.5], [0.25, 3.0]], np.float32)
    assert repr(nn.Parameter(tg.tensor(value))) == repr(torch.nn.Parameter(torch.tensor(value)))
    assert repr(nn.Parameter(tg.tensor(value), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.tensor(value), requires_grad=False))


def test_parameter_deepcopy():
    model = mlp(nn)
    clone = copy.deepcopy(model)
    assert type(clone.fc1.weight) is nn.Parameter and clone.fc1.weight is not model.fc1.weight
    np.testing.assert_array_equal(clone.fc1.weight.detach().numpy(), model.fc1.weight.detach().numpy())
    with tg.no_grad():
        clone.fc1.weight.fill_(0)
    assert model.fc1.weight.detach().numpy().any()


# ---------------------------------------------------------------- registration rules

def test_attributes_register_parameters_modules_and_buffers():
    m = Net()
    assert list(m._modules) == ["fc", "bn"] and list(m.fc._parameters) == ["weight", "bias"]
    m.scale = nn.Parameter(tg.ones(1))
    m.register_buffer("steps", tg.zeros(1))
    m.register_buffer("scratch", tg.zeros(1), persistent=False)
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc.weight", "fc.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch", "bn.running_mean", "bn.running_var",
                                                 "bn.num_batches_tracked"]
    assert "scratch" not in m.state_dict() and "steps" in m.state_dict()
    assert "scale" not in m.__dict__ and m.scale is m._parameters["scale"]
    m.scale = None  # a registered parameter may become None (then it is skipped)
    assert "scale" in m._parameters and [n for n, _ in m.named_parameters()][0] == "fc.weight"
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'weight' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.fc.weight = tg.ones(2, 3)
    with pytest.raises(TypeError, match="child module 'fc'"):
        m.fc = 3
    with pytest.raises(KeyError, match="attribute 'fc' already exists"):
        m.register_buffer("fc", tg.ones(1))
    with pytest.raises(KeyError, match="name can.*t contain"):
        m.register_parameter("a.b", None)
    del m.fc
    assert "fc" not in m._modules
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'fc'"):
        m.fc


def test_plain_list_of_layers_is_not_registered_the_notes_bug():
    """The course notes' MLP_h keeps its layers in a Python list: no parameters are found (the
    "optimizer got an empty parameter list" error); ModuleList registers them."""
    for lib_nn, plain_count in ((nn, 0), (torch.nn, 0)):
        class MLPh(lib_nn.Module):
            def __init__(self, hidden_units, holder):
                super().__init__()
                self.l_layers = holder()
                self.l_layers.append(lib_nn.Linear(784, hidden_units[0]))
                for i in range(len(hidden_units) - 1):
                    self.l_layers.append(lib_nn.Linear(hidden_units[i], hidden_units[i + 1]))
                self.l_layers.append(lib_nn.Linear(hidden_units[-1], 10))
        assert len(list(MLPh([2, 3], list).parameters())) == plain_count
        registered = MLPh([2, 3], lib_nn.ModuleList)
        assert [n for n, _ in registered.named_parameters()] == [f"l_layers.{i}.{k}" for i in range(3)
                                                                 for k in ("weight", "bias")]


def test_module_before_init_and_missing_forward():
    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match="cannot assign module before Module.__init__"):
        Early()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(tg.ones(1))


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2 and [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4
    assert len(list(model.modules())) == 3 and len(list(model.children())) == 2


def test_traversal_matches_torch():
    ours, theirs = mlp(nn), mlp(torch.nn)
    for method in ("named_parameters", "named_buffers", "named_children", "named_modules"):
        assert [n for n, _ in getattr(ours, method)()] == [n for n, _ in getattr(theirs, method)()]
    assert [n for n, _ in ours.named_parameters(prefix="model", recurse=True)] == \
        [n for n, _ in theirs.named_parameters(prefix="model", recurse=True)]
    assert list(ours.parameters(recurse=False)) == []
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert ours.get_submodule("fc2") is ours.fc2


def test_apply_train_eval_requires_grad_zero_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(4)))
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "Dropout", "BatchNorm1d", "Sequential", "Sequential"]
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(tg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    seen = []
    handle = lin.register_forward_hook(lambda m, args, out: seen.append(out.shape) or out * 0)
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    assert not lin(tg.ones(1, 2)).detach().numpy().any() and seen == [(1, 2)]
    handle.remove()
    pre.remove()
    assert lin(tg.ones(1, 2)).shape == (1, 2) and len(seen) == 1


def test_to_dtype_keeps_parameter_objects():
    model = Net()
    weight = model.fc.weight
    assert model.double() is model and model.fc.weight is weight and weight.dtype is tg.float64
    assert model.bn.running_mean.dtype is tg.float64 and model.bn.num_batches_tracked.dtype is tg.int64
    model.to(tg.float32).to("cpu").cpu()
    assert weight.dtype is tg.float32 and model.half().fc.bias.dtype is tg.float16
    model.float()
    with pytest.raises(TypeError, match="floating point"):
        model.to(tg.int64)
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")


# ---------------------------------------------------------------- state_dict

def test_state_dict_keys_equal_torch():
    def build(lib_nn):
        return lib_nn.Sequential(OrderedDict([("fc", lib_nn.Linear(4, 3)), ("bn", lib_nn.BatchNorm1d(3)),
                                              ("act", lib_nn.ReLU()), ("out", lib_nn.Linear(3, 2, bias=False))]))
    ours, theirs = build(nn), build(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(mlp(nn).state_dict()) == list(mlp(torch.nn).state_dict())
    assert isinstance(ours.state_dict(), OrderedDict)
    sd = ours.state_dict()
    assert not sd["fc.weight"].requires_grad and type(sd["fc.weight"]) is tg.Tensor
    assert sd["bn.num_batches_tracked"].dtype is tg.int64 and sd["bn.num_batches_tracked"].shape == ()
    assert ours.state_dict(keep_vars=True)["fc.weight"] is ours.fc.weight


def test_load_state_dict_copies_in_place_and_round_trips():
    src, dst = mlp(nn), mlp(nn)
    weight = dst.fc1.weight
    assert dst.load_state_dict(src.state_dict()) == ([], [])
    assert dst.fc1.weight is weight
    np.testing.assert_array_equal(weight.detach().numpy(), src.fc1.weight.detach().numpy())
    theirs = mlp(torch.nn)
    dst.load_state_dict(to_tg_state(theirs))
    assert_state_equal(dst, theirs)


def test_load_state_dict_errors_as_torch():
    state = {k: v for k, v in Net().state_dict().items() if k != "fc.bias"}
    state["extra"] = tg.ones(1)
    with pytest.raises(RuntimeError) as ours:
        Net().load_state_dict(state)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.bn = torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)
    tstate = {k: v for k, v in TorchNet().state_dict().items() if k != "fc.bias"}
    tstate["extra"] = torch.ones(1)
    with pytest.raises(RuntimeError) as theirs:
        TorchNet().load_state_dict(tstate)
    assert str(ours.value).replace("Net", "X") == str(theirs.value).replace("TorchNet", "X")
    assert str(ours.value).startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "
                                      '"fc.bias". \n\tUnexpected key(s) in state_dict: "extra". ')
    result = Net().load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc.bias"] and result.unexpected_keys == ["extra"]
    wrong = Net().state_dict()
    wrong["fc.weight"] = tg.ones(4, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight: copying a param with shape "
                                           r".*\[4, 3\].* from checkpoint, the shape in current model is .*\[2, 3\]"):
        Net().load_state_dict(wrong, strict=False)


# ---------------------------------------------------------------- repr

def test_repr_of_the_notes_mlp_equals_torch():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        assert repr(mlp(nn)) == repr(mlp(torch.nn))  # the warning comes from torch; keep the test quiet
        torch.nn.functional.log_softmax(torch.ones(2, 2))


@pytest.mark.parametrize("build", [
    lambda n: n.Sequential(n.Linear(784, 512), n.ReLU(), n.Dropout(0.2), n.Linear(512, 10), n.LogSoftmax(dim=1)),
    lambda n: n.Sequential(n.Flatten(), n.Linear(4, 4, bias=False), n.BatchNorm1d(4, momentum=None), n.Tanh(),
                           n.Sigmoid(), n.LeakyReLU(0.2, inplace=True), n.ReLU(inplace=True), n.Identity(),
                           n.Softmax(dim=-1), n.Unflatten(1, (2, 2)), n.BatchNorm2d(3, affine=False),
                           n.BatchNorm1d(2, bias=False),
                           n.ELU(), n.ELU(0.5, inplace=True), n.SiLU(), n.Softplus(beta=2, threshold=10), n.Hardtanh(),
                           n.ReLU6(), n.ReLU6(inplace=True), n.SmoothL1Loss(beta=0.5), n.HuberLoss(delta=2.0),
                           n.LayerNorm(4), n.LayerNorm([2, 3], elementwise_affine=False), n.Embedding(10, 3),
                           n.Embedding(5, 2, padding_idx=-1), n.Embedding(4, 4, max_norm=1.0, sparse=True)),
    lambda n: n.ModuleList([n.Linear(10, 10) for _ in range(10)] + [n.ReLU(), n.Sequential()]),
    lambda n: n.ModuleDict({"a": n.ModuleList(), "b": n.Sequential(n.Linear(1, 1))}),
    lambda n: n.Sequential(n.CrossEntropyLoss(label_smoothing=0.1), n.MSELoss(), n.BCEWithLogitsLoss(),
                           n.MultiMarginLoss(), n.PoissonNLLLoss(), n.GaussianNLLLoss(), n.NLLLoss(), n.L1Loss(),
                           n.BCELoss()),
], ids=["mlp", "layers", "modulelist", "moduledict", "losses"])
def test_repr_equals_torch(build):
    assert repr(build(nn)) == repr(build(torch.nn))


# ---------------------------------------------------------------- containers

def test_sequential_indexing_slicing_and_mutation():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2] and list(seq) == layers
    head = seq[:2]
    assert type(head) is nn.Sequential and list(head) == layers[:2] and list(head._modules) == ["0", "1"]
    assert list(seq[1:]._modules) == ["1", "2"]  # as torch, a slice keeps the keys
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is layers[2]
    seq[0] = nn.Tanh()
    assert isinstance(seq[0], nn.Tanh)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert named.fc is named[0] and [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    x = tg.randn(4, 2)
    np.testing.assert_allclose(named(x).detach().numpy(), named.act(named.fc(x)).detach().numpy())


def test_modulelist_and_moduledict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU()).extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(1, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Linear", "Identity", "ReLU", "Tanh", "Sigmoid"]
    assert list(ml._modules) == [str(i) for i in range(5)] and isinstance(ml[-1], nn.Sigmoid)
    assert type(ml[1:3]) is nn.ModuleList and len(ml[1:3]) == 2
    ml += [nn.ReLU()]
    assert len(ml) == 6 and isinstance(ml.pop(), nn.ReLU) and len(ml) == 5
    with pytest.raises(NotImplementedError):
        ml(tg.ones(1))
    md = nn.ModuleDict({"fc": nn.Linear(2, 2)})
    md["act"] = nn.ReLU()
    md.update([("out", nn.Linear(2, 1))])
    assert list(md) == ["fc", "act", "out"] and "act" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert isinstance(md.pop("act"), nn.ReLU) and list(md.keys()) == ["fc", "out"]


def test_notes_modulelist_module_runs_and_matches_torch():
    """The notes' MyModule (x = linears[i // 2](x) + l(x)) with torch's weights gives torch's output."""
    def build(lib_nn):
        class MyModule(lib_nn.Module):
            def __init__(self):
                super().__init__()
                self.linears = lib_nn.ModuleList([lib_nn.Linear(10, 10) for i in range(10)])

            def forward(self, x):
                for i, l in enumerate(self.linears):
                    x = self.linears[i // 2](x) + l(x)
                return x
        return MyModule()
    check_module(build, (3, 10), "float64")


# ---------------------------------------------------------------- layers against torch

LAYERS = {
    "linear": (lambda n: n.Linear(5, 3), (4, 5)),
    "linear_nobias": (lambda n: n.Linear(5, 3, bias=False), (4, 5)),
    "linear_3d": (lambda n: n.Linear(5, 3), (2, 4, 5)),
    "linear_1d": (lambda n: n.Linear(5, 3), (5,)),
    "identity": (lambda n: n.Identity(54, unused="x"), (2, 3)),
    "relu": (lambda n: n.ReLU(), (3, 4)),
    "leaky_relu": (lambda n: n.LeakyReLU(0.2), (3, 4)),
    "sigmoid": (lambda n: n.Sigmoid(), (3, 4)),
    "elu": (lambda n: n.ELU(alpha=0.7), (3, 4)),
    "silu": (lambda n: n.SiLU(), (3, 4)),
    "softplus": (lambda n: n.Softplus(), (3, 4)),
    "softplus_threshold": (lambda n: n.Softplus(beta=3.0, threshold=1.0), (3, 4)),
    "hardtanh": (lambda n: n.Hardtanh(-0.5, 0.8), (3, 4)),
    "relu6": (lambda n: n.ReLU6(), (3, 4)),
    "tanh": (lambda n: n.Tanh(), (3, 4)),
    "softmax": (lambda n: n.Softmax(dim=1), (3, 4)),
    "log_softmax": (lambda n: n.LogSoftmax(dim=-1), (2, 3, 4)),
    "flatten": (lambda n: n.Flatten(), (2, 3, 4)),
    "flatten_range": (lambda n: n.Flatten(0, 1), (2, 3, 4)),
    "unflatten": (lambda n: n.Unflatten(1, (3, 4)), (2, 12)),
    "dropout_p0": (lambda n: n.Dropout(0.0), (3, 4)),
    "bn1d": (lambda n: n.BatchNorm1d(4), (6, 4)),
    "bn1d_3d": (lambda n: n.BatchNorm1d(3), (4, 3, 5)),
    "bn1d_noaffine": (lambda n: n.BatchNorm1d(4, affine=False), (6, 4)),
    "bn1d_nostats": (lambda n: n.BatchNorm1d(4, track_running_stats=False), (6, 4)),
    "bn2d": (lambda n: n.BatchNorm2d(3), (2, 3, 4, 5)),
    "bn2d_nobias": (lambda n: n.BatchNorm2d(3, bias=False, momentum=None), (2, 3, 4, 5)),
    "layernorm": (lambda n: n.LayerNorm(5), (3, 5)),
    "layernorm_2d": (lambda n: n.LayerNorm([3, 4], eps=1e-3), (2, 3, 4)),
    "layernorm_nobias": (lambda n: n.LayerNorm(4, bias=False), (2, 3, 4)),
    "layernorm_plain": (lambda n: n.LayerNorm(4, elementwise_affine=False), (3, 4)),
    "sequential": (lambda n: n.Sequential(n.Linear(6, 8), n.BatchNorm1d(8), n.ReLU(), n.Linear(8, 4), n.Tanh(),
                                          n.Linear(4, 2), n.LogSoftmax(dim=1)), (5, 6)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_parity_train(name, dtype):
    make, shape = LAYERS[name]
    ours, theirs = check_module(make, shape, dtype)
    assert_state_equal(ours, theirs)  # running stats updated as torch's


@pytest.mark.parametrize("name", ["bn1d", "bn1d_3d", "bn1d_nostats", "bn2d", "sequential", "linear"])
def test_layer_parity_eval(name):
    make, shape = LAYERS[name]
    check_module(make, shape, "float64", train=False)


def test_linear_graph_nodes_as_torch():
    lin = nn.Linear(3, 2)
    assert type(lin(tg.randn(4, 3)).grad_fn).__name__ == "AddmmBackward0"
    assert [type(n).__name__ for n, _ in lin(tg.randn(4, 3)).grad_fn.next_functions] == \
        ["AccumulateGrad", "NoneType", "TBackward0"]
    assert type(nn.Linear(3, 2, bias=False)(tg.randn(4, 3)).grad_fn).__name__ == "MmBackward0"


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_running_stats_follow_torch_over_steps(cls, momentum):
    shape = (4, 3) if cls == "BatchNorm1d" else (4, 3, 2, 2)
    theirs, ours = getattr(torch.nn, cls)(3, momentum=momentum), getattr(nn, cls)(3, momentum=momentum)
    rng = np.random.default_rng(1)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        theirs(torch.tensor(x))
        ours(tg.tensor(x))
    assert_state_equal(ours, theirs)
    theirs.eval()
    ours.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert_state_equal(ours, theirs)  # eval leaves them alone


def test_batchnorm_input_checks():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(tg.ones(2, 3, 1, 1))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(tg.ones(2, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(tg.ones(1, 3))
    nn.BatchNorm1d(3).eval()(tg.ones(1, 3))  # fine in eval mode
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        F.batch_norm(tg.ones(2, 3), tg.zeros(4), tg.ones(4))


def test_dropout_train_eval_and_seed():
    x = tg.ones(200, 50, requires_grad=True)
    drop = nn.Dropout(0.3)
    tg.manual_seed(7)
    y = drop(x)
    tg.manual_seed(7)
    assert np.array_equal(drop(x).detach().numpy(), y.detach().numpy())  # repeatable from the seed
    values = y.detach().numpy()
    np.testing.assert_allclose(np.unique(values), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((values == 0).mean() - 0.3) < 0.02 and type(y.grad_fn).__name__ == "MulBackward0"
    y.backward(tg.ones(200, 50))
    np.testing.assert_array_equal(x.grad.numpy(), values)  # the gradient goes through the same mask
    drop.eval()
    assert drop(x) is x
    assert not nn.Dropout(1.0)(x).detach().numpy().any()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    z = tg.ones(4, 4)
    assert F.dropout(z, 0.5, inplace=True) is z and set(np.unique(z.numpy())) <= {0.0, 2.0}


@pytest.mark.parametrize("dim,shape", [(None, (3, 4)), (None, (2, 3, 4)), (0, (3, 4))])
def test_softmax_dim_and_implicit_choice(dim, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension choice") if dim is None else _no_warning():
        ours = F.log_softmax(tg.tensor(x), dim)
    expected = torch.nn.functional.log_softmax(torch.tensor(x), (0 if len(shape) == 3 else 1) if dim is None else dim)
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_activations_at_kinks_and_in_place_as_torch():
    """Kink values given explicitly: hardtanh passes no gradient at its bounds, elu's is alpha at 0."""
    kinks = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 6.0, 7.0, 25.0])
    for fn in (lambda lib, x: lib.nn.functional.hardtanh(x), lambda lib, x: lib.nn.functional.relu6(x),
               lambda lib, x: lib.nn.functional.elu(x, 0.5), lambda lib, x: lib.nn.functional.silu(x),
               lambda lib, x: lib.nn.functional.softplus(x, 2.0, 12.0)):
        check_op(fn, kinks)
    for fn in (lambda lib, x: lib.nn.functional.elu(x * 1, inplace=True),
               lambda lib, x: lib.nn.functional.silu(x * 1, inplace=True),
               lambda lib, x: lib.nn.functional.hardtanh(x * 1, -0.5, 0.5, inplace=True)):
        check_op(fn, (3, 4), node_name=False)  # in place: torch's node names differ (see tensor.py)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        nn.Hardtanh(1.0, -1.0)


def test_functional_relu_leaky_inplace():
    x = tg.tensor([-1.0, 0.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 0.0, 2.0]
    y = tg.tensor([-1.0, 2.0])
    assert F.leaky_relu(y, 0.5, inplace=True) is y and y.tolist() == [-0.5, 2.0]


def test_one_hot_matches_torch():
    t = np.array([[0, 2], [3, 1]])
    np.testing.assert_array_equal(F.one_hot(tg.tensor(t)).numpy(), torch.nn.functional.one_hot(torch.tensor(t)))
    assert F.one_hot(tg.tensor([1]), 4).dtype is tg.int64 and F.one_hot(tg.tensor([1]), 4).shape == (1, 4)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([5]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tg.tensor([1.0]))


# ---------------------------------------------------------------- initialisation

def test_linear_default_init_statistics():
    """kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight and the bias."""
    tg.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(b).max() <= bound and abs(b.std() - bound / math.sqrt(3)) < 0.1 * bound
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.detach().numpy(), w)  # seeded: repeatable
    assert nn.Linear(3, 2, dtype=tg.float64).weight.dtype is tg.float64


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


def test_init_functions_statistics_and_errors():
    tg.manual_seed(1)
    w = tg.empty(500, 200, requires_grad=True)
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    assert (fan_in, fan_out) == (200, 500)
    assert nn.init._calculate_fan_in_and_fan_out(tg.empty(8, 3, 5, 5)) == (75, 200)
    cases = [
        (lambda t: nn.init.xavier_uniform_(t, gain=2.0), 2.0 * math.sqrt(2 / 700), "uniform"),
        (lambda t: nn.init.xavier_normal_(t), math.sqrt(2 / 700), "normal"),
        (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 200), "uniform"),
        (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 500), "normal"),
        (lambda t: nn.init.kaiming_normal_(t, a=0.5), math.sqrt(2 / 1.25 / 200), "normal"),
        (lambda t: nn.init.normal_(t, 1.0, 0.5), 0.5, "normal"),
        (lambda t: nn.init.uniform_(t, -3, 3), math.sqrt(3), "uniform"),
    ]
    for fn, std, kind in cases:
        assert fn(w) is w and w.requires_grad and w.grad_fn is None  # in place, outside autograd
        values = w.detach().numpy()
        assert abs(values.std() - std) < 0.02 * std
        if kind == "uniform":
            assert np.abs(values).max() <= math.sqrt(3) * std * 1.0001
    assert not nn.init.zeros_(w).detach().numpy().any()
    assert (nn.init.ones_(w).detach().numpy() == 1).all() and (nn.init.constant_(w, 0.3).detach().numpy()
                                                                == np.float32(0.3)).all()
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tg.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        nn.init.calculate_gain("gelu")
    g = tg.Generator().manual_seed(3)
    a = nn.init.normal_(tg.empty(4), generator=g).numpy().copy()
    assert np.array_equal(nn.init.normal_(tg.empty(4), generator=tg.Generator().manual_seed(3)).numpy(), a)


# ---------------------------------------------------------------- imports

def test_import_forms():
    import importlib
    assert importlib.import_module("tinygrad_edu.nn") is nn and tg.nn is nn
    assert importlib.import_module("tinygrad_edu.nn.functional") is F and nn.functional is F
    from tinygrad_edu.nn import init  # noqa: F401
    for name in ("Module", "Parameter", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "SiLU", "Softplus",
                 "Hardtanh", "ReLU6", "SmoothL1Loss", "HuberLoss", "LayerNorm", "Embedding", "Softmax", "LogSoftmax",
                 "Dropout", "BatchNorm1d", "BatchNorm2d", "Flatten", "Unflatten", "Identity", "Sequential",
                 "ModuleList", "ModuleDict", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
                 "NLLLoss", "MultiMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"):
        assert hasattr(nn, name) and hasattr(torch.nn, name), name


def test_state_dict_saves_and_loads_through_tinygrad_edu_save(tmp_path):
    """The notes' checkpoint: torch.save(model.state_dict(), path) then load_state_dict(torch.load(path))."""
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    model(tg.randn(5, 4))  # running stats move away from their initial values
    tg.save(model.state_dict(), tmp_path / "best-model.pt")
    clone = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    assert clone.load_state_dict(tg.load(tmp_path / "best-model.pt")) == ([], [])
    for (k, a), (_, b) in zip(model.state_dict().items(), clone.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
        assert a.dtype is b.dtype, k


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4), (2, 3, 2, 2)])
def test_batch_norm_gradcheck_and_gradgradcheck(training, shape):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal(shape), requires_grad=True)
    w = tg.tensor(rng.uniform(0.5, 2.0, 3), requires_grad=True)
    b = tg.tensor(rng.standard_normal(3), requires_grad=True)
    rm, rv = tg.tensor(rng.standard_normal(3)), tg.tensor(rng.uniform(0.5, 2.0, 3))

    def fn(x, w, b):
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training, eps=1e-3)
    assert type(fn(x, w, b).grad_fn).__name__ == "NativeBatchNormBackward0"
    assert tg.autograd.gradcheck(fn, (x, w, b))
    assert tg.autograd.gradgradcheck(fn, (x, w, b))


def test_batch_norm_double_backward_matches_torch():
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    results = []
    for lib in (tg, torch):
        xx = lib.tensor(x, requires_grad=True)
        w = lib.tensor([0.5, 1.5, 2.0], dtype=lib.float64, requires_grad=True)
        out = lib.nn.functional.batch_norm(xx, None, None, w, None, training=True)
        (g,) = lib.autograd.grad((out * lib.tensor(v)).sum(), xx, create_graph=True)
        hx, hw = lib.autograd.grad((g ** 2).sum(), (xx, w))
        results.append((hx.detach().numpy(), hw.detach().numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_linear_bad_inputs_name_the_fault():
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x4 and 3x2\)"):
        lin(tg.ones(2, 4))
    with pytest.raises(RuntimeError, match="same dtype.*float64.*float32"):
        lin(tg.ones(2, 3, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="same dtype.*int64.*float32"):
        lin(tg.ones(2, 3, dtype=tg.int64))


def test_custom_extra_repr_and_nested_repr_as_torch():
    def build(lib_nn):
        class Scale(lib_nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = lib_nn.Sequential(lib_nn.Linear(2, 2), lib_nn.Sequential(lib_nn.ReLU()))

            def extra_repr(self):
                return "factor=2,\nmode=fast"
        return lib_nn.Sequential(Scale(), lib_nn.ModuleList([Scale(), Scale()]))
    assert repr(build(nn)) == repr(build(torch.nn))


@pytest.mark.parametrize("fn", [lambda x: F.elu(x, 0.6), F.silu, lambda x: F.softplus(x, 1.5, 4.0),
                                lambda x: F.hardtanh(x, -0.7, 0.9), F.leaky_relu],
                         ids=["elu", "silu", "softplus", "hardtanh", "leaky_relu"])
def test_activation_gradcheck_and_gradgradcheck(fn):
    x = tg.tensor(np.random.default_rng(2).uniform(-3, 3, (3, 4)), requires_grad=True)
    assert tg.autograd.gradcheck(fn, (x,))
    assert tg.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradcheck_gradgradcheck_and_errors(affine):
    rng = np.random.default_rng(4)
    x = tg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = tg.tensor(rng.uniform(0.5, 2, (3, 4)), requires_grad=True) if affine else None
    b = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True) if affine else None
    inputs = (x, w, b) if affine else (x,)

    def fn(x, w=None, b=None):
        return F.layer_norm(x, (3, 4), w, b, eps=1e-3)
    assert type(fn(*inputs).grad_fn).__name__ == "NativeLayerNormBackward0"
    assert tg.autograd.gradcheck(fn, inputs)
    assert tg.autograd.gradgradcheck(fn, inputs)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], "
                                           r"but got input of size\[2, 3\]"):
        F.layer_norm(tg.ones(2, 3), (4,))


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
def test_embedding_matches_torch(padding_idx, index_dtype):
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    ours = nn.Embedding(6, 3, padding_idx=padding_idx).double()
    assert ours.padding_idx == theirs.padding_idx and repr(ours) == repr(theirs)
    if padding_idx is not None:
        assert not ours.weight[padding_idx].detach().numpy().any()  # initialised to zero, as torch
    ours.load_state_dict(to_tg_state(theirs))
    idx = np.array([[0, 2, 5, 2], [5, 5, 1, 2]], index_dtype)
    upstream = np.random.default_rng(0).standard_normal((2, 4, 3))
    yo, yt = ours(tg.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_array_equal(yo.detach().numpy(), yt.detach().numpy())
    assert type(yo.grad_fn).__name__ == type(yt.grad_fn).__name__ == "EmbeddingBackward0"
    yo.backward(tg.tensor(upstream))
    yt.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    if padding_idx is None:  # (the padding row's gradient is held at zero on purpose: not the derivative)
        w = tg.tensor(np.random.default_rng(1).standard_normal((6, 3)), requires_grad=True)
        assert tg.autograd.gradcheck(lambda w: F.embedding(tg.tensor(idx), w), (w,))


def test_embedding_errors_and_from_pretrained():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(tg.tensor([4]))
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(tg.tensor([-1]))
    with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar types: Long, Int"):
        emb(tg.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(4, 2, max_norm=1.0)(tg.tensor([1]))
    table = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen(tg.tensor([1, 0])).tolist() == [[3.0, 4.0], [1.0, 2.0]]
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad

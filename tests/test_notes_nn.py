"""The course notes' model code (OCR slips fixed), run twice: once after `import tinygrad_edu as
torch`, once with torch. Same weights (load_state_dict), same MNIST batches, the same hand-written
SGD step (optim is another module's): the losses and weights must stay equal step after step."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from mnist_files import mnist_dir
import torch as real_torch

import tinygrad_edu
from nn_helpers import to_tg_state

NOTES_000_MLP = '''
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.in_dim = 28*28 # MNIST
        self.out_dim = 10
        self.fc1 = nn.Linear(self.in_dim, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, 128)
        self.fc4 = nn.Linear(128, 64)
        self.fc5 = nn.Linear(64, self.out_dim)
        self.relu = nn.ReLU()
        self.log_softmax = nn.LogSoftmax()
    def forward(self, x):
        a1 = self.relu(self.fc1(x.view(-1, self.in_dim)))
        a2 = self.relu(self.fc2(a1))
        a3 = self.relu(self.fc3(a2))
        a4 = self.relu(self.fc4(a3))
        logit = self.fc5(a4)
        return logit

model = MLP()
criterion = nn.CrossEntropyLoss()
'''

NOTES_001_NET = '''
num_classes = 10
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 512) # (input vector, output)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, num_classes)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = x.view(-1, 784) # (batch size, 28, 28) -> (batch size, 784)
        x = torch.relu(self.fc1(x))
        x = self.dropout(x)
        x = torch.relu(self.fc2(x))
        x = self.dropout(x)
        x = self.fc3(x)
        return torch.log_softmax(x, dim=1)

model = Net()
criterion = nn.NLLLoss()
'''

NOTES_002_SEQUENTIAL = '''
input_size = 28*28
hidden_sizes = [1000, 100]
output_size = 10
model = nn.Sequential(nn.Linear(input_size, hidden_sizes[0]),
                      nn.ReLU(),
                      nn.Linear(hidden_sizes[0], hidden_sizes[1]),
                      nn.ReLU(),
                      nn.Linear(hidden_sizes[1], output_size),
                      nn.LogSoftmax(dim=1))
criterion = nn.NLLLoss()
prepare = lambda images: images.view(images.shape[0], -1)  # the notes' loop flattens the batch
'''

NOTES_003_SIGMOID_NET = '''
class Net(nn.Module):
    def __init__(self,D_in,H1,H2,D_out):
        super(Net,self).__init__()
        self.linear1=nn.Linear(D_in,H1)
        self.linear2=nn.Linear(H1,H2)
        self.linear3=nn.Linear(H2,D_out)
    def forward(self,x):
        x=torch.sigmoid(self.linear1(x.view(-1, 784)))
        x=torch.sigmoid(self.linear2(x))
        x=self.linear3(x)
        return x

model = Net(D_in=784, H1=64, H2=32, D_out=10)
linear = model.linear1
torch.nn.init.kaiming_uniform_(linear.weight, nonlinearity='relu')
criterion = nn.CrossEntropyLoss()
'''

NOTES_003_DROPOUT_NET = '''
class Net(nn.Module):
    def __init__(self,in_size,n_hidden,out_size, p=0):
        super(Net,self).__init__()
        self.drop=nn.Dropout(p=p)
        self.linear1=nn.Linear(in_size,n_hidden)
        self.linear2=nn.Linear(n_hidden,n_hidden)
        self.linear3=nn.Linear(n_hidden,out_size)
    def forward(self,x):
        x=torch.relu(self.linear1(x.view(-1, 784)))
        x=self.drop(x)
        x=torch.relu(self.linear2(x))
        x=self.drop(x)
        x=self.linear3(x)
        return x

model = Net(784, 300, 10, p=0.5)
model.train()
criterion = nn.CrossEntropyLoss()
'''


@pytest.fixture(scope="module")
def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    """Four batches of 32 real MNIST test images ([32, 1, 28, 28] in [0, 1], as ToTensor gives)."""
    root = Path(mnist_dir())
    n = 128
    with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
        assert int.from_bytes(f.read(4), "big") == 2051
        f.read(12)
        images = np.frombuffer(f.read(n * 784), np.uint8).reshape(n, 1, 28, 28).astype(np.float32) / 255
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
        assert int.from_bytes(f.read(4), "big") == 2049
        f.read(4)
        labels = np.frombuffer(f.read(n), np.uint8).astype(np.int64)
    return [(images[i:i + 32], labels[i:i + 32]) for i in range(0, n, 32)]


def build(lib, code: str) -> dict:
    """Run a notes snippet with `torch` bound to lib (tinygrad_edu or torch)."""
    scope = {"torch": lib, "nn": lib.nn}
    exec(code, scope)
    return scope


def train(lib, scope: dict, batches, lr: float = 0.1) -> list[float]:
    """The notes' loop, with the SGD step written out: p -= lr * p.grad under no_grad."""
    model, criterion = scope["model"], scope["criterion"]
    losses = []
    for images, labels in batches:
        inputs, targets = scope.get("prepare", lambda x: x)(lib.tensor(images)), lib.tensor(labels)
        model.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


def assert_same_weights(ours, theirs, rtol=1e-4, atol=1e-6) -> None:
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st)
    for k in st:
        np.testing.assert_allclose(so[k].numpy(), st[k].numpy(), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("code", [NOTES_000_MLP, NOTES_002_SEQUENTIAL, NOTES_003_SIGMOID_NET],
                         ids=["000_mlp", "002_sequential", "003_sigmoid"])
def test_notes_model_trains_step_for_step_like_torch(code, batches):
    real_torch.manual_seed(0)
    ours, theirs = build(tinygrad_edu, code), build(real_torch, code)
    assert repr(ours["model"]) == repr(theirs["model"])
    ours["model"].load_state_dict(to_tg_state(theirs["model"]))
    ours_losses = train(tinygrad_edu, ours, batches * 2)
    theirs_losses = train(real_torch, theirs, batches * 2)
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=1e-4)
    assert np.mean(ours_losses[4:]) < np.mean(ours_losses[:4])  # it learns (second pass over the batches)
    assert_same_weights(ours["model"], theirs["model"])


@pytest.mark.parametrize("code", [NOTES_001_NET, NOTES_003_DROPOUT_NET], ids=["001_net", "003_dropout"])
def test_notes_dropout_model_eval_equals_torch_and_train_learns(code, batches):
    """Dropout masks come from different generators, so train mode is compared by behaviour,
    eval mode (no dropout) by value."""
    ours, theirs = build(tinygrad_edu, code), build(real_torch, code)
    assert repr(ours["model"]) == repr(theirs["model"])
    ours["model"].load_state_dict(to_tg_state(theirs["model"]))
    images = np.concatenate([b[0] for b in batches])
    ours["model"].eval()
    theirs["model"].eval()
    np.testing.assert_allclose(ours["model"](tinygrad_edu.tensor(images)).detach().numpy(),
                               theirs["model"](real_torch.tensor(images)).detach().numpy(), rtol=1e-4, atol=1e-5)
    ours["model"].train()
    tinygrad_edu.manual_seed(0)
    losses = train(tinygrad_edu, ours, batches * 3, lr=0.05)
    assert np.isfinite(losses).all() and np.mean(losses[-4:]) < np.mean(losses[:4])


def test_notes_modulelist_bug_empty_parameters():
    """000's MLP_h stores layers in a Python list: parameters() is empty, so the notes' optimizer
    raises "optimizer got an empty parameter list"; with nn.ModuleList the layers are found."""
    code = '''
class MLP_h(nn.Module):
    def __init__(self, hidden_units = [512,256,128]):
        super().__init__()
        self.in_dim = 28*28 # MNIST
        self.out_dim = 10
        self.l_layers = LIST
        self.l_layers.append(nn.Linear(self.in_dim, hidden_units[0]))
        for i in range(len(hidden_units)-1):
            self.l_layers.append(nn.Linear(hidden_units[i], hidden_units[i+1]))
        self.l_layers.append(nn.Linear(hidden_units[-1], self.out_dim))
        self.relu = nn.ReLU()
        self.log_softmax = nn.LogSoftmax()
    def forward(self, x):
        a = x.view(-1, self.in_dim)
        for l in range(len(self.l_layers)):
            z = self.l_layers[l](a)
            if l == len(self.l_layers) - 1:
                logit = z
            else:
                a = self.relu(z)
        return logit

model = MLP_h([2,3])
'''
    for lib in (tinygrad_edu, real_torch):
        assert list(build(lib, code.replace("LIST", "[]"))["model"].parameters()) == []
        fixed = build(lib, code.replace("LIST", "nn.ModuleList()"))["model"]
        assert [tuple(p.shape) for p in fixed.parameters()] == [(2, 784), (2,), (3, 2), (3,), (10, 3), (10,)]
        assert fixed(lib.ones(4, 1, 28, 28)).shape == (4, 10)


def test_notes_004_loss_examples_give_the_printed_values():
    """Lecture 8's loss examples, fed the inputs the notes print, give the outputs they print."""
    import tinygrad_edu as torch
    from tinygrad_edu import nn
    x = torch.tensor([0.6147, 0.3810, 0.6371, 0.4745, 0.7136])
    y = torch.tensor([1., 0., 1., 0., 1.])
    np.testing.assert_allclose(nn.BCELoss(reduction='none')(x, y).numpy(),
                               [0.4866, 0.4797, 0.4508, 0.6433, 0.3374], atol=2e-4)
    x = torch.tensor([[0.6147, 0.3810, 0.6371], [0.4745, 0.7136, 0.6190], [0.4425, 0.0958, 0.6142],
                      [0.0573, 0.5657, 0.5332]])
    y = torch.tensor([2, 1, 0, 2])
    np.testing.assert_allclose(nn.MultiMarginLoss(reduction='none')(x, y).numpy(),
                               [0.5738, 0.5554, 0.6083, 0.5189], atol=2e-4)
    log_input = torch.tensor([0.3923, -0.2236, -0.3195, -1.2050, 1.0445])
    target = torch.tensor([4., 0., 0., 3., 4.])
    np.testing.assert_allclose(nn.PoissonNLLLoss(reduction='none')(log_input, target).numpy(),
                               [-0.0888, 0.7997, 0.7265, 3.9148, -1.3360], atol=2e-4)
    mean = torch.tensor([0.3923, -0.2236, -0.3195, -1.2050, 1.0445])
    var = torch.tensor([2.3668, 3.5731, 3.5409, 2.6081, 1.9573])
    target = torch.tensor([1.3186, 0.7476, -1.3265, -1.2413, -0.1028])
    np.testing.assert_allclose(nn.GaussianNLLLoss(reduction='none')(mean, target, var).numpy(),
                               [0.6120, 0.7687, 0.7754, 0.4796, 0.6720], atol=2e-4)


NOTES_004_FFN = '''
import torch.nn.functional as F
class FFN(nn.Module):
   def __init__(self, in_features, out_features, hidden_size):
        super().__init__()
        self.layer1 = nn.Linear(in_features, hidden_size)
        self.layer2 = nn.Linear(hidden_size, hidden_size)
        self.layer3 = nn.Linear(hidden_size, out_features)
   def forward(self, x):
       y = self.layer1(x)
       y = nn.ReLU()(y)
       y = self.layer2(y)
       y = F.relu(y)
       y = self.layer3(y)
       return y

net = FFN(4, 1, 4)
'''


def test_notes_004_end_to_end_regression_like_torch():
    """The end-to-end example (y = sum of X's columns) with the SGD step written out, against torch."""
    rng = np.random.default_rng(0)
    X_data = rng.standard_normal((100, 4)).astype(np.float32)
    runs = []
    real_torch.manual_seed(0)
    theirs = build(real_torch, NOTES_004_FFN.replace("import torch.nn.functional as F", "F = torch.nn.functional"))
    ours = build(tinygrad_edu, NOTES_004_FFN.replace("import torch.nn.functional as F", "F = torch.nn.functional"))
    ours["net"].load_state_dict(to_tg_state(theirs["net"]))
    for torch, scope in ((tinygrad_edu, ours), (real_torch, theirs)):
        nn, net = torch.nn, scope["net"]
        X = torch.tensor(X_data)
        y = torch.sum(X, axis=1)
        n_epochs = 60
        losses = np.zeros(n_epochs)
        for e in range(n_epochs):
            net.zero_grad()
            y_pred = net(X).squeeze(1)
            loss = nn.MSELoss()(y_pred, y)
            loss.backward()
            losses[e] = loss.item()
            with torch.no_grad():
                for p in net.parameters():
                    p -= 1e-2 * p.grad
        runs.append(losses)
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-4)
    assert runs[0][-1] < runs[0][0]

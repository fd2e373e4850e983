"""A PyTorch program in the shape of PyTorch's "Learn the Basics" tutorials (Datasets & DataLoaders,
Transforms, Build Model, Optimization, Save & Load), written with `import torch` / `torchvision` only.
The tests run it unchanged on tinygrad_edu (tests/torch_alias.py) and on real torch (with
tests/torchvision_standin.py) and compare what it prints last: a JSON line of its figures.

    python tests/torch_alias.py [--torch] tests/basics_program.py ROOT WORKDIR EPOCHS LR
ROOT holds FashionMNIST/raw/*-ubyte[.gz]; WORKDIR receives the saved files and images."""
import csv
import json
import os
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets
from torchvision.io import read_image
from torchvision.transforms import Lambda, ToTensor

root, workdir, epochs, lr = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
torch.manual_seed(0)

# ---- Datasets & DataLoaders, Transforms
training_data = datasets.FashionMNIST(root=root, train=True, download=True, transform=ToTensor())
test_data = datasets.FashionMNIST(root=root, train=False, download=True, transform=ToTensor())
one_hot = datasets.FashionMNIST(root=root, train=True, download=True, transform=ToTensor(),
                                target_transform=Lambda(lambda y: torch.zeros(10, dtype=torch.float)
                                                        .scatter_(0, torch.tensor(y), value=1)))
image, target = one_hot[0]
assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and float(image.max()) <= 1.0
assert target.shape == (10,) and target.sum().item() == 1 and target[training_data[0][1]].item() == 1


class CsvImages(Dataset):
    """A folder of image files and a CSV of (file name, label), read with read_image."""

    def __init__(self, annotations_file, img_dir):
        with open(annotations_file, newline="") as f:
            self.img_labels = [(name, int(label)) for name, label in csv.reader(f)]
        self.img_dir = img_dir

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        name, label = self.img_labels[idx]
        return read_image(os.path.join(self.img_dir, name)), label


images = os.path.join(workdir, "images")
os.makedirs(images, exist_ok=True)
from PIL import Image  # noqa: E402 (only to write the files the CSV dataset reads)
with open(os.path.join(workdir, "labels.csv"), "w", newline="") as f:
    for i in range(8):
        img, label = training_data[i]
        Image.fromarray((img[0] * 255 + 0.5).to(torch.uint8).numpy()).save(os.path.join(images, f"{i}.png"))
        f.write(f"{i}.png,{label}\n")
features, labels = next(iter(DataLoader(CsvImages(os.path.join(workdir, "labels.csv"), images), batch_size=4)))
assert features.shape == (4, 1, 28, 28) and features.dtype == torch.uint8 and labels.shape == (4,)
assert torch.equal(features[1].float() / 255, training_data[1][0])

train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64)


# ---- Build Model
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                               nn.Linear(512, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
model = NeuralNetwork().to(device)
probabilities = nn.Softmax(dim=1)(model(torch.rand(1, 28, 28, device=device)))
assert probabilities.shape == (1, 10) and abs(probabilities.sum().item() - 1) < 1e-5


# ---- Optimization
def train_loop(dataloader, model, loss_fn, optimizer):
    model.train()
    total, batches = 0.0, 0
    for X, y in dataloader:
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total, batches = total + loss.item(), batches + 1
    return total / batches


def test_loop(dataloader, model, loss_fn):
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return test_loss / len(dataloader), correct / len(dataloader.dataset)


loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=lr)
before = test_loop(test_dataloader, model, loss_fn)
train_losses, tests = [], []
for t in range(epochs):
    train_losses.append(train_loop(train_dataloader, model, loss_fn, optimizer))
    tests.append(test_loop(test_dataloader, model, loss_fn))

# ---- Save & Load
weights = os.path.join(workdir, "model_weights.pth")
torch.save(model.state_dict(), weights)
reloaded = NeuralNetwork()
reloaded.load_state_dict(torch.load(weights, weights_only=True))
reloaded.eval()
whole = os.path.join(workdir, "model.pth")
torch.save(model, whole)
try:
    torch.load(whole, weights_only=True)
    refused = None
except Exception as e:  # PyTorch 2.6+: a whole Module needs weights_only=False
    refused = f"{type(e).__name__}: {e}"
model2 = torch.load(whole, weights_only=False)
x = test_data[0][0]
with torch.no_grad():
    same = bool(torch.equal(model(x), reloaded(x)) and torch.equal(model(x), model2(x)))
print(json.dumps({"before": before, "train_losses": train_losses, "tests": tests, "same_predictions": same,
                  "refused": refused, "reloaded_type": type(model2).__name__,
                  "predicted": test_data.classes[model2(x)[0].argmax(0)]}))

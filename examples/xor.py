"""XOR with one hidden layer of sigmoid units, BCELoss and SGD (notes 003, "neural networks with
multiple dimension input").

    python examples/xor.py [--plot xor.png] [--quick] [--seed 0]

XOR is the classic problem no linear classifier solves (no line separates {01, 10} from {00, 11});
one hidden layer of sigmoid units does. The code is the notes': the XOR_Data Dataset (100 noisy
copies of the four corners), a DataLoader with batch_size=1, Net(2, 4, 1), nn.BCELoss, and their
train() that keeps the cost (the summed loss of an epoch) and the accuracy per epoch. It prints the
two ends of the cost curve, the accuracy, and the four predictions; the figure (--plot, default
runs/xor/xor.png; '' to skip) shows the cost curve and the decision regions. Seeded: the same run each time.

Where the notes slip (PyTorch wins): `self.linear2 = nn.Sigmoid(H, D_out)` must be
nn.Linear(H, D_out); train() calls loss.backward() twice (the second raises, the graph is freed);
`XOR_DATA()` / `Data Loader` are XOR_Data() / DataLoader. Their lr = 0.01 is too small to see
anything in seconds: with it the mean BCE is still 0.695 (a coin toss, ln 2) after 100 epochs
(10,000 steps; `--lr 0.01 --epochs 100`), while lr = 1 leaves that plateau within 10 epochs and
reaches 100% in 30 for every seed 0-9. `--quick` trains 10 epochs instead of 30.
"""
from __future__ import annotations

import argparse

import tinygrad_edu as torch
import tinygrad_edu.nn as nn
from tinygrad_edu.utils.data import DataLoader, Dataset

from _extras import add_example_args, parser, run_dir, save_plot

CORNERS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))


class XOR_Data(Dataset):
    """The notes' data set: N_s / 4 noisy copies of each corner, labelled with XOR."""

    def __init__(self, N_s=100):
        self.x = torch.zeros(N_s, 2)
        self.y = torch.zeros(N_s, 1)
        for i in range(N_s // 4):
            self.x[i, :] = torch.Tensor([0.0, 0.0])
            self.y[i, 0] = torch.Tensor([0.0])

            self.x[i + N_s // 4, :] = torch.Tensor([0.0, 1.0])
            self.y[i + N_s // 4, 0] = torch.Tensor([1.0])

            self.x[i + N_s // 2, :] = torch.Tensor([1.0, 0.0])
            self.y[i + N_s // 2, 0] = torch.Tensor([1.0])

            self.x[i + 3 * N_s // 4, :] = torch.Tensor([1.0, 1.0])
            self.y[i + 3 * N_s // 4, 0] = torch.Tensor([0.0])

        self.x = self.x + 0.01 * torch.randn(N_s, 2)
        self.len = N_s

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __len__(self):
        return self.len


class Net(nn.Module):
    """The notes' network: a hidden layer of H sigmoid units, one sigmoid output."""

    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.linear1 = nn.Linear(D_in, H)  # hidden layer
        self.linear2 = nn.Linear(H, D_out)  # output layer (the notes write nn.Sigmoid(H, D_out): a slip)

    def forward(self, x):
        x = torch.sigmoid(self.linear1(x))
        x = torch.sigmoid(self.linear2(x))
        return x


def accuracy(model, data_set) -> float:
    """The fraction of samples whose thresholded prediction matches the label."""
    with torch.no_grad():
        return ((model(data_set.x) > 0.5).float() == data_set.y).float().mean().item()


def train(data_set, model, criterion, train_loader, optimizer, epochs):
    """The notes' train(): cost = the summed loss of each epoch, acc = the accuracy after it."""
    cost = []
    acc = []
    for epoch in range(epochs):
        total = 0
        for x, y in train_loader:
            optimizer.zero_grad()
            yhat = model(x)
            loss = criterion(yhat, y)
            loss.backward()  # once: the notes' second loss.backward() raises (the graph is freed)
            optimizer.step()
            total += loss.item()  # cumulative loss
        acc.append(accuracy(model, data_set))
        cost.append(total)
    return cost, acc


def plot(model, cost, acc, data_set, path: str) -> None:
    fig = torch.viz.new_figure((9.5, 3.8))
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(range(1, len(cost) + 1), cost, marker="o", ms=3, label="cost (summed BCE)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax2 = ax.twinx()
    ax2.plot(range(1, len(acc) + 1), [100 * a for a in acc], c="tab:green", ls="--", label="accuracy")
    ax2.set_ylabel("accuracy (%)")
    ax.set_title("training")
    ax.legend(loc="center right", fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    k = 100
    g = torch.linspace(-0.25, 1.25, k)
    mesh = torch.stack([g.view(1, -1).expand(k, k).reshape(-1), g.view(-1, 1).expand(k, k).reshape(-1)], dim=1)
    with torch.no_grad():
        prob = model(mesh).view(k, k).numpy()
    image = ax.imshow(prob, extent=(-0.25, 1.25, -0.25, 1.25), origin="lower", cmap="coolwarm", vmin=0, vmax=1)
    ax.contour(g.numpy(), g.numpy(), prob, levels=[0.5], colors="k", linewidths=1)
    pts = data_set.x.numpy()
    ax.scatter(pts[:, 0], pts[:, 1], c=data_set.y.view(-1).tolist(), cmap="coolwarm", edgecolors="k", s=25)
    fig.colorbar(image, ax=ax, label="P(y = 1)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision regions (black: P = 0.5)")
    save_plot(fig, path)


def main(argv=None) -> dict:
    p = parser(__doc__)
    add_example_args(p, f"{run_dir('xor')}/xor.png", quick="10 epochs instead of 30", figure="the PNG of the cost curve and decision regions")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--hidden", type=int, default=4)
    args = p.parse_args(argv)
    epochs = args.epochs or (10 if args.quick else 30)
    torch.manual_seed(args.seed)

    criterion = nn.BCELoss()
    data_set = XOR_Data()
    train_loader = DataLoader(dataset=data_set, batch_size=1, shuffle=True,
                              generator=torch.Generator().manual_seed(args.seed))
    model = Net(2, args.hidden, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    print(f"Net(2, {args.hidden}, 1), BCELoss, SGD lr {args.lr:g}, batch size 1, {len(data_set)} samples, "
          f"{epochs} epochs, seed {args.seed}")
    cost, acc = train(data_set, model, criterion, train_loader, optimizer, epochs=epochs)
    print(f"cost per epoch: first {cost[0]:.4f}, last {cost[-1]:.4f} "
          f"(mean BCE {cost[0] / len(data_set):.4f} -> {cost[-1] / len(data_set):.4f}; ln 2 = 0.6931 is a coin toss)")
    print(f"accuracy: first epoch {100 * acc[0]:.0f}%, last epoch {100 * acc[-1]:.0f}%")
    with torch.no_grad():
        preds = model(torch.tensor(CORNERS)).view(-1).tolist()
    print("predictions on the corners:")
    for (a, b), prob in zip(CORNERS, preds):
        print(f"  x = ({a:g}, {b:g})  XOR = {int(a) ^ int(b)}  P(y = 1) = {prob:.4f}  -> {int(prob > 0.5)}")
    if args.plot:
        plot(model, cost, acc, data_set, args.plot)
    return {"cost": cost, "acc": acc, "predictions": preds}


if __name__ == "__main__":
    main()

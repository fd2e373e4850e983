"""1-D linear regression recovering w = -3 and b = 1 from noisy data, three ways (notes 003, M2-M3).

    python examples/linear_regression.py [--plot linear_regression.png] [--quick]

The data are the notes': X = arange(-3, 3, 0.1), f = -3X + 1, Y = f + 0.1 * noise.
1. by hand: w and b are leaf tensors, the loop is the notes' `w.data = w.data - lr * w.grad.data;
   w.grad.data.zero_()` (batch gradient descent, starting from the notes' w = -10).
2. the PyTorch way: the notes' LR module (an nn.Linear(1, 1)), nn.MSELoss and optim.SGD.
3. batch vs stochastic vs mini-batch gradient descent, each for the same number of epochs with the
   same learning rate: the cost (MSE over all the data) after every epoch, drawn as three curves
   in the figure --plot (default runs/linear_regression/linear_regression.png; '' to skip). The notes' SGD cost sums the
   losses met during an epoch -- 60 of them for SGD, one for batch descent -- which does not
   compare across methods; the MSE of the current line on all 60 points does.
Each part prints the w and b it recovers. `--quick` runs fewer epochs (seconds, still converged).
"""
from __future__ import annotations

import argparse

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.utils.data import DataLoader, Dataset

from _extras import add_example_args, parser, run_dir, save_plot

TRUE_W, TRUE_B = -3.0, 1.0


class Data(Dataset):
    """The notes' data set: points on the line f = -3x + 1 with Gaussian noise (sd 0.1)."""

    def __init__(self):
        # The notes write arange(start, stop, range): the third argument is the step.
        self.x = torch.arange(-3, 3, 0.1).view(-1, 1)
        self.f = TRUE_W * self.x + TRUE_B
        self.y = self.f + 0.1 * torch.randn(self.x.size())
        self.len = self.x.shape[0]

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __len__(self):
        return self.len


class LR(nn.Module):
    """The notes' custom module: one nn.Linear."""

    def __init__(self, in_size, out_size):
        super().__init__()
        self.linear = nn.Linear(in_size, out_size)

    def forward(self, x):
        return self.linear(x)


def criterion(yhat, y):
    """The notes' cost: mean squared error, written out."""
    return torch.mean((yhat - y) ** 2)


def by_hand(data: Data, lr: float, epochs: int) -> tuple[float, float, float]:
    w = torch.tensor(-10.0, requires_grad=True)  # the notes' start: far from -3 on purpose
    b = torch.tensor(-10.0, requires_grad=True)
    for epoch in range(epochs):
        yhat = w * data.x + b
        loss = criterion(yhat, data.y)
        loss.backward()
        # The update must not be recorded in the graph: .data is the tensor without its history.
        w.data = w.data - lr * w.grad.data
        b.data = b.data - lr * b.grad.data
        w.grad.data.zero_()  # backward() adds into .grad: zero it before the next epoch
        b.grad.data.zero_()
    return w.item(), b.item(), criterion(w * data.x + b, data.y).item()


def with_optim(data: Data, lr: float, epochs: int) -> tuple[float, float, float]:
    model = LR(1, 1)
    mse = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(dataset=data, batch_size=len(data))
    for epoch in range(epochs):
        for x, y in loader:
            yhat = model(x)
            loss = mse(yhat, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            # The notes also write w.data = w.data - lr * w.grad.data here: with optimizer.step()
            # that is a second update of the same step, so it is left out.
    with torch.no_grad():
        cost = mse(model(data.x), data.y).item()
    return model.linear.weight.item(), model.linear.bias.item(), cost


def descend(data: Data, batch_size: int, lr: float, epochs: int) -> tuple[float, float, list[float]]:
    """Gradient descent with `batch_size` samples a step; the cost on all the data after each epoch."""
    torch.manual_seed(0)  # the same starting line for every batch size
    model = LR(1, 1)
    mse = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(dataset=data, batch_size=batch_size, shuffle=batch_size < len(data),
                        generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        cost = [mse(model(data.x), data.y).item()]  # epoch 0: the starting line
    for epoch in range(epochs):
        for x, y in loader:
            loss = mse(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            cost.append(mse(model(data.x), data.y).item())
    return model.linear.weight.item(), model.linear.bias.item(), cost


def plot(costs: dict[str, list[float]], path: str) -> None:
    fig = torch.viz.new_figure((5.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for name, cost in costs.items():
        ax.plot(range(len(cost)), cost, marker="o", ms=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost (MSE on all 60 points)")
    ax.set_title("batch vs stochastic vs mini-batch gradient descent")
    ax.grid(alpha=0.3)
    ax.legend()
    save_plot(fig, path)


def main(argv=None) -> dict:
    p = parser(__doc__)
    add_example_args(p, f"{run_dir('linear_regression')}/linear_regression.png", quick="fewer epochs", figure="the PNG of the three cost curves")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    data = Data()
    print(f"data: {len(data)} points x in [-3, 2.9], y = {TRUE_W:g}x + {TRUE_B:g} + 0.1 * noise")
    # The least-squares line of this sample, in closed form: what gradient descent should converge to.
    dx, dy = data.x - data.x.mean(), data.y - data.y.mean()
    w = ((dx * dy).sum() / (dx * dx).sum()).item()
    b = (data.y.mean() - w * data.x.mean()).item()
    results = {"least_squares": (w, b, criterion(w * data.x + b, data.y).item())}
    print(f"0. least squares, w = cov(x, y) / var(x), b = mean(y) - w mean(x): w = {w:.4f}, b = {b:.4f}, "
          f"cost {results['least_squares'][2]:.5f}")

    epochs = 30 if args.quick else 60
    w, b, cost = results["by_hand"] = by_hand(data, lr=0.1, epochs=epochs)
    print(f"1. by hand, w.data -= lr * w.grad ({epochs} epochs, lr 0.1): w = {w:.4f}, b = {b:.4f}, cost {cost:.5f}")

    w, b, cost = results["optim"] = with_optim(data, lr=0.1, epochs=epochs)
    print(f"2. nn.Linear + nn.MSELoss + optim.SGD ({epochs} epochs, lr 0.1): w = {w:.4f}, b = {b:.4f}, cost {cost:.5f}")

    epochs = 5 if args.quick else 10
    print(f"3. gradient descent with lr 0.01 for {epochs} epochs (cost = MSE on all the data after each epoch):")
    costs = {}
    for name, batch_size in (("batch", len(data)), ("stochastic", 1), ("mini-batch 5", 5)):
        steps = -(-len(data) // batch_size)
        w, b, cost = descend(data, batch_size, lr=0.01, epochs=epochs)
        per_epoch = f"{steps} step{'s' * (steps > 1)}/epoch"
        costs[f"{name} ({per_epoch})"] = cost
        results[name] = (w, b, cost[-1])
        print(f"   {name:<12} batch size {batch_size:>2}, {per_epoch:>14}: w = {w:.4f}, b = {b:.4f}, "
              f"cost {cost[0]:.4f} -> {cost[-1]:.5f}")
    print("   An epoch of batch descent is a single step (the notes: iterations = training size / batch size);")
    print("   stochastic descent takes one step per sample and reaches the line within a few epochs;")
    print("   mini-batches sit in between, each step less noisy than a single sample's.")
    results["costs"] = costs
    if args.plot:
        plot(costs, args.plot)
    return results


if __name__ == "__main__":
    main()

"""Logistic regression with a sigmoid output and nn.BCELoss (notes 003, M5 "linear classifiers").

    python examples/logistic_regression.py [--plot logistic_regression.png] [--quick]

1. the Bernoulli likelihood table of the notes (coin flips), and why the loss is the cross entropy:
   the notes' hand-written criterion -mean(y log yhat + (1 - y) log(1 - yhat)) is nn.BCELoss.
2. a 1-D threshold problem: x = arange(-1, 1, 0.1), y = 1 where x > 0.2, fitted by the notes'
   nn.Sequential(nn.Linear(1, 1), nn.Sigmoid()); prints the accuracy and the learned boundary
   x = -b / w where the sigmoid crosses 0.5.
   Then the notes' "MSE may not reach the minimum": from a bad start (w = -10, b = -5, the
   sigmoid the wrong way round) MSELoss stalls where the sigmoid is flat, BCELoss does not.
3. two 2-D Gaussian blobs, fitted by the notes' LogisticRegression module; prints the accuracy
   and the boundary line w1 x1 + w2 x2 + b = 0.
The figure (--plot, default runs/logistic_regression/logistic_regression.png; '' to skip) shows the data with the fitted
sigmoid (1-D) and the boundary line over the predicted probability (2-D). `--quick`: fewer epochs.
"""
from __future__ import annotations

import argparse

import tinygrad_edu as torch
from tinygrad_edu import nn, optim
from tinygrad_edu.utils.data import DataLoader, TensorDataset

from _extras import add_example_args, parser, run_dir, save_plot


class LogisticRegression(nn.Module):
    """The notes' custom module: sigmoid of a linear layer."""

    def __init__(self, in_size, n):
        super().__init__()
        self.linear = nn.Linear(in_size, n)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


def criterion(yhat, y):
    """The notes' cross entropy, written out."""
    return -1 * torch.mean(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat))


def bernoulli_table() -> dict[str, float]:
    print("1. likelihood of the flips HEAD TAIL HEAD TAIL under a coin with P(HEAD) = theta:")
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    table = {}
    for theta in (0.5, 0.2):
        p = y * theta + (1 - y) * (1 - theta)  # theta for a head, 1 - theta for a tail
        # the notes' log-likelihood l(theta) = sum y ln(theta) + (1 - y) ln(1 - theta): a sum, not a product
        log_likelihood = (y * torch.log(torch.tensor(theta)) + (1 - y) * torch.log(torch.tensor(1 - theta))).sum()
        table[f"{theta:g}"] = likelihood = torch.exp(log_likelihood).item()
        print(f"   theta = {theta:g}: {' * '.join(f'{v:g}' for v in p.tolist())} = {likelihood:.4g}, "
              f"l(theta) = {log_likelihood.item():.4f}")
    print("   the larger likelihood wins: theta = 0.5 (the maximum-likelihood estimate, 2 heads in 4 flips)")
    print(f"   HEAD HEAD TAIL at theta = 0.2: 0.2 * 0.2 * 0.8 = {0.2 * 0.2 * 0.8:.4g} (the notes write 0.08)")
    print("   minimising -l(theta) / N over the data is minimising the cross entropy: nn.BCELoss")
    return table


def signed(v: float) -> str:
    """'+ 0.004' or '- 0.165': a term of a printed equation."""
    return f"{'-' if v < 0 else '+'} {abs(v):.3f}"


def train(model, x, y, lr: float, epochs: int, batch_size: int) -> list[float]:
    """The notes' loop: for (x, y) in trainloader, BCELoss, optimizer.step(); the cost per epoch."""
    bce = nn.BCELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    cost = []
    for epoch in range(epochs):
        for xb, yb in loader:
            yhat = model(xb)
            loss = bce(yhat, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            cost.append(bce(model(x), y).item())
    return cost


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return 100.0 * ((model(x) > 0.5).float() == y).float().mean().item()


def threshold_problem(epochs: int):
    x = torch.arange(-1, 1, 0.1).view(-1, 1)
    y = (x > 0.2).float()
    model = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())
    print(f"2. 1-D threshold y = [x > 0.2], {len(x)} points, {epochs} epochs of SGD (lr 2, batch 5):")
    with torch.no_grad():
        yhat = model(x)
        mine, theirs = criterion(yhat, y).item(), nn.BCELoss()(yhat, y).item()
    print(f"   at the start: the notes' criterion = {mine:.6f}, nn.BCELoss = {theirs:.6f}")
    cost = train(model, x, y, lr=2.0, epochs=epochs, batch_size=5)
    w, b = model[0].weight.item(), model[0].bias.item()
    acc = accuracy(model, x, y)
    print(f"   w = {w:.3f}, b = {b:.3f}, BCE {cost[0]:.4f} -> {cost[-1]:.4f}, accuracy {acc:.1f}%")
    last0, first1 = x[y == 0].max().item(), x[y == 1].min().item()  # float32 0.2 is not > 0.2: it is a 0
    print(f"   boundary sigma(w x + b) = 0.5 at x = -b / w = {-b / w:.3f} "
          f"(between the last 0 at {last0:.1f} and the first 1 at {first1:.1f})")
    stuck = mse_vs_bce(x, y, steps=epochs * 4)  # as many steps as the SGD above took
    return model, x, y, {"w": w, "b": b, "boundary": -b / w, "accuracy": acc, "cost": cost, "mse_vs_bce": stuck}


def mse_vs_bce(x, y, steps: int) -> dict[str, float]:
    """Full-batch SGD from a saturated, wrong-way start: the gradient of MSE through a sigmoid is
    2 (yhat - y) yhat (1 - yhat) x, which vanishes where yhat is near 0 or 1 however wrong it is;
    BCE's is (yhat - y) x, which does not."""
    accs = {}
    for name, loss in (("MSELoss", nn.MSELoss()), ("BCELoss", nn.BCELoss())):
        model = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())
        with torch.no_grad():
            model[0].weight.fill_(-10.0)
            model[0].bias.fill_(-5.0)
        optimizer = optim.SGD(model.parameters(), lr=2.0)
        for _ in range(steps):
            optimizer.zero_grad()
            loss(model(x), y).backward()
            optimizer.step()
        accs[name] = accuracy(model, x, y)
    print(f"   from w = -10, b = -5, {steps} full-batch steps (lr 2): accuracy with MSELoss {accs['MSELoss']:.1f}%, "
          f"with BCELoss {accs['BCELoss']:.1f}%")
    return accs


def blobs(n: int, epochs: int):
    half = n // 2
    x = torch.cat([torch.randn(half, 2) * 0.7 - 1.0, torch.randn(half, 2) * 0.7 + 1.0])
    y = torch.cat([torch.zeros(half, 1), torch.ones(half, 1)])
    model = LogisticRegression(2, 1)
    cost = train(model, x, y, lr=0.5, epochs=epochs, batch_size=20)
    (w1, w2), b = model.linear.weight[0].tolist(), model.linear.bias.item()
    acc = accuracy(model, x, y)
    print(f"3. two blobs N((-1, -1), 0.7^2) and N((1, 1), 0.7^2), {n} points, {epochs} epochs of SGD (lr 0.5, batch 20):")
    print(f"   w = ({w1:.3f}, {w2:.3f}), b = {b:.3f}, BCE {cost[0]:.4f} -> {cost[-1]:.4f}, accuracy {acc:.1f}%")
    print(f"   boundary {w1:.3f} x1 {signed(w2)} x2 {signed(b)} = 0, i.e. x2 = {-w1 / w2:.3f} x1 {signed(-b / w2)} "
          "(the best line is x2 = -x1; the Bayes accuracy is 97.8%)")
    return model, x, y, {"w": (w1, w2), "b": b, "accuracy": acc, "cost": cost}


def plot(one_d, two_d, path: str) -> None:
    fig = torch.viz.new_figure((10, 4))
    (m1, x1, y1, r1), (m2, x2, y2, r2) = one_d, two_d
    ax = fig.add_subplot(1, 2, 1)
    grid = torch.linspace(-1.2, 1.1, 200).view(-1, 1)
    with torch.no_grad():
        ax.plot(grid.view(-1).tolist(), m1(grid).view(-1).tolist(), label="sigmoid(w x + b)")
    ax.scatter(x1.view(-1).tolist(), y1.view(-1).tolist(), c=y1.view(-1).tolist(), cmap="coolwarm", s=18, label="data")
    ax.axvline(r1["boundary"], ls="--", c="k", lw=1, label=f"boundary x = {r1['boundary']:.3f}")
    ax.set_xlabel("x")
    ax.set_ylabel("P(y = 1 | x)")
    ax.set_title(f"1-D threshold: accuracy {r1['accuracy']:.0f}%")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    lo, hi, k = -3.5, 3.5, 80
    g = torch.linspace(lo, hi, k)
    mesh = torch.stack([g.view(1, -1).expand(k, k).reshape(-1), g.view(-1, 1).expand(k, k).reshape(-1)], dim=1)
    with torch.no_grad():
        prob = m2(mesh).view(k, k).numpy()
    ax.imshow(prob, extent=(lo, hi, lo, hi), origin="lower", cmap="coolwarm", alpha=0.35, vmin=0, vmax=1)
    pts = x2.numpy()
    ax.scatter(pts[:, 0], pts[:, 1], c=y2.view(-1).tolist(), cmap="coolwarm", s=10, edgecolors="k", linewidths=0.3)
    (w1, w2), b = r2["w"], r2["b"]
    ax.plot([lo, hi], [-(w1 * lo + b) / w2, -(w1 * hi + b) / w2], "k--", lw=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"2-D blobs: accuracy {r2['accuracy']:.1f}%")
    save_plot(fig, path)


def main(argv=None) -> dict:
    p = parser(__doc__)
    add_example_args(p, f"{run_dir('logistic_regression')}/logistic_regression.png", quick="fewer points and epochs", figure="the PNG of the data and the fits")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    results = {"bernoulli": bernoulli_table()}
    one_d = threshold_problem(epochs=60 if args.quick else 200)
    two_d = blobs(n=200 if args.quick else 1000, epochs=5 if args.quick else 20)
    results["threshold"], results["blobs"] = one_d[3], two_d[3]
    if args.plot:
        plot(one_d, two_d, args.plot)
    return results


if __name__ == "__main__":
    main()

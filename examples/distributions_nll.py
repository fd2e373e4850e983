"""Losses for distributions: PoissonNLLLoss and GaussianNLLLoss fit a rate and a variance (notes 004).

    python examples/distributions_nll.py [--plot distributions_nll.png] [--quick]

1. the notes' worked examples, on the numbers they print: nn.PoissonNLLLoss(reduction='none') of
   log_input against counts, and nn.GaussianNLLLoss(reduction='none') of a mean and variance
   against targets; beside each, the formula it computes.
2. fitting: gradient descent on the mean NLL recovers
   - the rate of a Poisson sample (the network predicts log(rate), as the notes say),
   - the mean and variance of a Gaussian sample (the variance kept positive as exp(log_var)),
   - the rate of an exponential sample, with the NLL written by hand: the notes build it with
     torch.distributions, which tinygrad_edu does not have; -log p(y) = -log(rate) + rate * y.
   Each prints the fitted parameters beside the true ones and the maximum-likelihood estimate in
   closed form (sample mean, biased sample variance, 1 / sample mean), which the fit should match.
The figure (--plot, default runs/distributions_nll/distributions_nll.png; '' to skip) overlays each fitted distribution on
a histogram of its sample. `--quick`: 2,000 samples and fewer steps instead of 20,000.
"""
from __future__ import annotations

import argparse
import math

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import nn, optim

from _extras import add_example_args, parser, run_dir, save_plot

TRUE_RATE, TRUE_MEAN, TRUE_VAR, TRUE_EXP_RATE = 3.5, 1.0, 2.25, 0.5


def show(name: str, values) -> None:
    print(f"   {name:<10} {' '.join(f'{v:8.4f}' for v in values.tolist())}")


def worked_examples() -> dict:
    print("1. the notes' examples (their printed inputs)")
    log_input = torch.tensor([0.3923, -0.2236, -0.3195, -1.2050, 1.0445])
    target = torch.tensor([4.0, 0.0, 0.0, 3.0, 4.0])
    poisson = nn.PoissonNLLLoss(reduction="none")(log_input, target)
    print("   PoissonNLLLoss(log_input, target) = exp(log_input) - target * log_input  (log_input=True, full=False)")
    show("log_input", log_input)
    show("target", target)
    show("loss", poisson)
    show("formula", log_input.exp() - target * log_input)
    print("   (the notes print 0.7997 and 3.9148: their log_input had more digits than they show)")

    mean = torch.tensor([0.3923, -0.2236, -0.3195, -1.2050, 1.0445])
    var = torch.tensor([2.3668, 3.5731, 3.5409, 2.6081, 1.9573])
    target = torch.tensor([1.3186, 0.7476, -1.3265, -1.2413, -0.1028])
    gaussian = nn.GaussianNLLLoss(reduction="none")(mean, target, var)
    print("   GaussianNLLLoss(mean, target, var) = 0.5 * (log(var) + (target - mean)^2 / var)  (full=False)")
    show("mean", mean)
    show("var", var)
    show("target", target)
    show("loss", gaussian)
    show("formula", 0.5 * (var.log() + (target - mean) ** 2 / var))
    print("   Both drop the constants of the log-density, log(target!) and 0.5 log(2 pi); full=True adds them")
    print("   (PyTorch's Poisson full=True adds Stirling's approximation of log(target!) for targets > 1),")
    print("   so a negative Poisson loss is no contradiction.")
    return {"poisson": poisson.tolist(), "gaussian": gaussian.tolist()}


def fit(params: list, nll, steps: int, lr: float) -> float:
    """Minimise the mean negative log-likelihood nll() over params with Adam; the final NLL."""
    optimizer = optim.Adam(params, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nll()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return nll().item()


def fits(n: int, steps: int, rng: np.random.Generator) -> dict:
    print(f"2. maximum likelihood by gradient descent (Adam lr 0.05, {steps} steps, {n} samples each)")
    counts = torch.from_numpy(rng.poisson(TRUE_RATE, n).astype(np.float32))
    log_rate = torch.zeros(1, requires_grad=True)  # rate 1 to start
    poisson_nll = nn.PoissonNLLLoss()
    fit([log_rate], lambda: poisson_nll(log_rate.expand(n), counts), steps, lr=0.05)
    rate = log_rate.exp().item()
    print(f"   Poisson:     rate {rate:.4f}  (true {TRUE_RATE:g}, MLE = sample mean {counts.mean().item():.4f})")

    y = torch.from_numpy(rng.normal(TRUE_MEAN, math.sqrt(TRUE_VAR), n).astype(np.float32))
    mean = torch.zeros(1, requires_grad=True)
    log_var = torch.zeros(1, requires_grad=True)  # var = exp(log_var) > 0 whatever the step
    gaussian_nll = nn.GaussianNLLLoss()
    fit([mean, log_var], lambda: gaussian_nll(mean.expand(n), y, log_var.exp().expand(n)), steps, lr=0.05)
    mle_var = ((y - y.mean()) ** 2).mean().item()  # the MLE divides by n, not n - 1
    print(f"   Gaussian:    mean {mean.item():.4f}, var {log_var.exp().item():.4f}  "
          f"(true {TRUE_MEAN:g}, {TRUE_VAR:g}; MLE {y.mean().item():.4f}, {mle_var:.4f})")

    waits = torch.from_numpy(rng.exponential(1 / TRUE_EXP_RATE, n).astype(np.float32))
    log_lam = torch.zeros(1, requires_grad=True)
    # -log p(y) = -log(rate) + rate * y, the notes' -dist.log_prob(y) written out
    fit([log_lam], lambda: (-log_lam + log_lam.exp() * waits).mean(), steps, lr=0.05)
    lam = log_lam.exp().item()
    print(f"   Exponential: rate {lam:.4f}  (true {TRUE_EXP_RATE:g}, MLE = 1 / sample mean {1 / waits.mean().item():.4f})")
    return {"counts": counts, "rate": rate, "rate_mle": counts.mean().item(),
            "y": y, "mean": mean.item(), "var": log_var.exp().item(), "mean_mle": y.mean().item(), "var_mle": mle_var,
            "waits": waits, "exp_rate": lam, "exp_rate_mle": 1 / waits.mean().item()}


def plot(r: dict, path: str) -> None:
    fig = torch.viz.new_figure((12, 3.4))
    ax = fig.add_subplot(1, 3, 1)
    counts = r["counts"].numpy()
    k = np.arange(0, int(counts.max()) + 1)
    ax.hist(counts, bins=np.arange(-0.5, k[-1] + 1.5), density=True, alpha=0.5, label="sample")
    pmf = np.exp(k * math.log(r["rate"]) - r["rate"] - np.array([math.lgamma(i + 1) for i in k]))
    ax.plot(k, pmf, "o-", ms=3, label=f"Poisson({r['rate']:.3f})")
    ax.set_xlabel("count")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 3, 2)
    y = r["y"].numpy()
    ax.hist(y, bins=40, density=True, alpha=0.5, label="sample")
    t = np.linspace(y.min(), y.max(), 200)
    ax.plot(t, np.exp(-(t - r["mean"]) ** 2 / (2 * r["var"])) / math.sqrt(2 * math.pi * r["var"]),
            label=f"N({r['mean']:.3f}, {r['var']:.3f})")
    ax.set_xlabel("y")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 3, 3)
    waits = r["waits"].numpy()
    ax.hist(waits, bins=40, density=True, alpha=0.5, label="sample")
    t = np.linspace(0, waits.max(), 200)
    ax.plot(t, r["exp_rate"] * np.exp(-r["exp_rate"] * t), label=f"Exponential({r['exp_rate']:.3f})")
    ax.set_xlabel("y")
    ax.legend(fontsize=8)
    fig.suptitle("fitted by minimising the negative log-likelihood")
    save_plot(fig, path)


def main(argv=None) -> dict:
    p = parser(__doc__)
    add_example_args(p, f"{run_dir('distributions_nll')}/distributions_nll.png", quick="2,000 samples, 200 steps", figure="the PNG of the fitted distributions")
    args = p.parse_args(argv)
    results = worked_examples()
    rng = np.random.default_rng(args.seed)
    results.update(fits(n=2000 if args.quick else 20000, steps=200 if args.quick else 400, rng=rng))
    if args.plot:
        plot(results, args.plot)
    return results


if __name__ == "__main__":
    main()

"""ROC curves and AUC of the MNIST MLP, per digit and micro-averaged (notes 000: evaluation measures).

    python examples/roc_auc.py                                   # train 2 epochs, then evaluate
    python examples/roc_auc.py --checkpoint runs/mnist_mlp/checkpoint.ckpt   # train_mnist.py's model
    python examples/roc_auc.py --quick                           # 5,000 images, 1 epoch: seconds

A 10-class classifier gives each test image 10 scores (softmax probabilities). For digit c the
question "is it a c?" is a binary problem with score p_c: its ROC curve plots the true positive
rate TPR = TP / (TP + FN) against the false positive rate FPR = FP / (FP + TN) as the threshold
falls from the highest score to the lowest (`tinygrad_edu.metrics.roc_curve`), and the AUC is
the area under it (`metrics.auc`): the probability that a random c scores higher than a random
non-c. Micro-averaging pools all 10 x N (label, score) pairs into one binary problem; the macro
average is the mean of the 10 AUCs (`metrics.roc_auc_score(..., multi_class="ovr")`).
When scikit-learn is installed the same numbers are computed by it and the largest difference
printed. The figure (--plot; '' to skip) shows the curves, and a zoom on their top-left corner.
"""
from __future__ import annotations

import argparse

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import metrics, optim
from tinygrad_edu.utils.data import DataLoader

from _extras import add_example_args, new_plot, parser, run_dir, save_plot
from predictions_grid import load_model
from train_mnist import MLP, add_data_args, fit, mnist


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p, limit_test=True)
    add_example_args(p, plot=f"{run_dir('roc_auc')}/roc_auc.png", quick="5,000 images, 1 epoch, 2,000 test images")
    p.add_argument("--checkpoint", default=None, help="a checkpoint of train_mnist.py instead of training")
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.limit_train, args.limit_test = 1, args.limit_train or 5000, args.limit_test or 2000
    return args


def scores(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """(softmax probabilities [N, 10], labels [N]) over the dataset."""
    model.eval()
    probs, labels = [], []
    with torch.no_grad():
        for images, targets in DataLoader(dataset, batch_size=1000):
            probs.append(model(images).softmax(1).numpy())
            labels.append(targets.numpy())
    return np.concatenate(probs).astype(np.float64), np.concatenate(labels)


def roc_per_class(prob: np.ndarray, labels: np.ndarray) -> dict:
    """{digit or "micro": (fpr, tpr, auc)}: one-vs-rest per class, and all pairs pooled."""
    curves = {}
    for c in range(prob.shape[1]):
        fpr, tpr, _ = metrics.roc_curve(labels == c, prob[:, c])
        curves[c] = (fpr.numpy(), tpr.numpy(), metrics.auc(fpr, tpr))
    one_hot = labels[:, None] == np.arange(prob.shape[1])
    fpr, tpr, _ = metrics.roc_curve(one_hot.ravel(), prob.ravel())
    curves["micro"] = (fpr.numpy(), tpr.numpy(), metrics.auc(fpr, tpr))
    return curves


def sklearn_aucs(prob: np.ndarray, labels: np.ndarray) -> dict | None:
    """The same AUCs by scikit-learn, or None when it is not installed."""
    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:
        return None
    one_hot = (labels[:, None] == np.arange(prob.shape[1])).astype(int)
    aucs = {c: roc_auc_score(one_hot[:, c], prob[:, c]) for c in range(prob.shape[1])}
    aucs["micro"] = roc_auc_score(one_hot, prob, average="micro")
    aucs["macro"] = roc_auc_score(labels, prob, multi_class="ovr", average="macro")
    return aucs


def draw(curves: dict, path: str, title: str) -> None:
    fig = new_plot((9.5, 4.4))
    full, zoom = fig.subplots(1, 2)
    colors = [f"C{c}" for c in range(10)]
    for key, (fpr, tpr, area) in curves.items():
        style = dict(color="black", linewidth=2.2, linestyle="--") if key == "micro" else \
            dict(color=colors[key], linewidth=1.1)
        label = f"micro-average (AUC {area:.4f})" if key == "micro" else f"digit {key} (AUC {area:.4f})"
        full.plot(fpr, tpr, label=label, **style)
        zoom.plot(fpr, tpr, **style)
    full.plot([0, 1], [0, 1], color="gray", linewidth=0.8, linestyle=":", label="chance (AUC 0.5)")
    full.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
    full.legend(fontsize=7, loc="lower right")
    full.set_title(title, fontsize=9)
    zoom.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 0.1), ylim=(0.8, 1.002))
    zoom.set_title("zoom on the top-left corner", fontsize=9)
    for ax in (full, zoom):
        ax.grid(alpha=0.3)
    save_plot(fig, path)


def main(argv=None) -> dict:
    args = parse_args(argv)
    test_set = mnist(args.data_dir, train=False, limit=args.limit_test)
    if args.checkpoint:
        model = load_model(args.checkpoint)
        print(f"loaded {args.checkpoint}")
    else:
        train_set = mnist(args.data_dir, train=True, limit=args.limit_train)
        torch.manual_seed(args.seed)
        model = MLP()
        fit(model, train_set, optim.Adam(model.parameters(), lr=1e-3), args.epochs, seed=args.seed)
        print(f"trained the MLP on {len(train_set)} images for {args.epochs} epoch(s)")
    prob, labels = scores(model, test_set)
    print(f"test accuracy: {100 * metrics.accuracy(labels, prob.argmax(1)):.2f}% on {len(labels)} images")

    curves = roc_per_class(prob, labels)
    macro = metrics.roc_auc_score(labels, prob, multi_class="ovr")
    ref = sklearn_aucs(prob, labels)
    print(f"{'class':>7}  {'AUC':>8}  {'points':>6}" + (f"  {'sklearn':>8}" if ref else ""))
    for key, (fpr, _, area) in curves.items():
        print(f"{key:>7}  {area:>8.6f}  {len(fpr):>6}" + (f"  {ref[key]:>8.6f}" if ref else ""))
    print(f"{'macro':>7}  {macro:>8.6f}  {'':>6}" + (f"  {ref['macro']:>8.6f}" if ref else ""))
    if ref:
        ours = {**{k: v[2] for k, v in curves.items()}, "macro": macro}
        diff = max(abs(ours[k] - ref[k]) for k in ref)
        print(f"scikit-learn {'agrees' if diff < 1e-9 else 'DIFFERS'}: largest |difference| of the AUCs {diff:.1e}")
    else:
        print("scikit-learn is not installed: no cross-check (pip install scikit-learn)")
    if args.plot:
        draw(curves, args.plot, f"MNIST MLP, one-vs-rest ROC, {len(labels)} test images")
    return {"curves": curves, "macro": macro, "sklearn": ref}


if __name__ == "__main__":
    main()

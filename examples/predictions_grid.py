"""What the MNIST MLP gets wrong: a grid of test images with their predictions, the confusion
matrix, and per-class precision, recall and F1 (notes 000: evaluation measures).

    python examples/predictions_grid.py                                  # train 2 epochs, then look
    python examples/predictions_grid.py --checkpoint runs/mnist_mlp/checkpoint.ckpt   # train_mnist.py's model
    python examples/predictions_grid.py --quick                          # 5,000 images, 2 epochs

The grid shows "predicted (true)" above each image, in red where they differ (as the notes'
"some wrong predictions" slide); `--misclassified` fills it with wrong predictions only. The
confusion matrix (`tinygrad_edu.metrics.confusion_matrix`) counts, in row i and column j, the
test images of digit i predicted as j: the off-diagonal cells are the mistakes, and which
digits get mixed up. For one class, precision = TP / (TP + FP) is the share of the images
predicted as that digit that are that digit, recall = TP / (TP + FN) the share of that digit's
images that are found, F1 their harmonic mean.
"""
from __future__ import annotations

import argparse

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import metrics, optim
from tinygrad_edu.utils.data import DataLoader, Subset

from _extras import add_example_args, parser, run_dir, new_plot, save_plot
from train_mnist import add_data_args, fit, MLP, mnist


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p, limit_test=True)
    add_example_args(p, plot=f"{run_dir('predictions_grid')}/predictions_grid.png")
    p.add_argument("--confusion-plot", default=f"{run_dir('predictions_grid')}/confusion_matrix.png",
                   help="where the confusion matrix is saved ('' to skip)")
    p.add_argument("--checkpoint", default=None, help="a checkpoint of train_mnist.py (or a saved state_dict) "
                                                      "instead of training")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rows", type=int, default=6)
    p.add_argument("--cols", type=int, default=8)
    p.add_argument("--misclassified", action="store_true", help="show only misclassified test images")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.limit_train, args.limit_test = 2, args.limit_train or 5000, args.limit_test or 1000
    return args


def load_model(path: str) -> MLP:
    """train_mnist.py's MLP from its checkpoint ({"model": state_dict, ...}) or a bare state_dict;
    the layer sizes are read from the weights' shapes ([out, in] per layer)."""
    ckpt = torch.load(path)
    state = ckpt["model"] if "model" in ckpt else ckpt
    weights = sorted((k for k in state if k.startswith("layers.") and k.endswith(".weight")),
                     key=lambda k: int(k.split(".")[1]))
    if not weights:
        raise ValueError(f"{path}: no 'layers.<i>.weight' entries, so not a checkpoint of train_mnist.py's MLP "
                         f"(keys: {sorted(state)[:6]}...)")
    model = MLP(hidden=tuple(state[k].shape[0] for k in weights[:-1]))
    model.load_state_dict(state)
    return model


def predict(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """(predicted labels, true labels) over the whole dataset."""
    model.eval()
    preds, labels = [], []
    with torch.no_grad():
        for images, targets in DataLoader(dataset, batch_size=1000):
            preds.append(model(images).argmax(1).numpy())
            labels.append(targets.numpy())
    return np.concatenate(preds), np.concatenate(labels)


def print_report(pred: np.ndarray, true: np.ndarray) -> None:
    cm = metrics.confusion_matrix(true, pred, num_classes=10).numpy()
    print("confusion matrix (row: true digit, column: predicted digit)")
    print("      " + "".join(f"{j:>5}" for j in range(10)))
    for i, row in enumerate(cm):
        print(f"{i:>5} " + "".join(f"{v:>5}" for v in row))
    precision, recall, f1 = (v.numpy() for v in metrics.precision_recall_f1(true, pred, average=None, num_classes=10))
    print(f"{'digit':>5}  {'precision':>9}  {'recall':>6}  {'F1':>6}  {'support':>7}")
    for d in range(10):
        print(f"{d:>5}  {precision[d]:>9.4f}  {recall[d]:>6.4f}  {f1[d]:>6.4f}  {cm[d].sum():>7}")
    macro = metrics.precision_recall_f1(true, pred, average="macro")
    print(f"{'macro':>5}  {macro[0]:>9.4f}  {macro[1]:>6.4f}  {macro[2]:>6.4f}  {len(true):>7}")
    pairs = [(cm[i, j], i, j) for i in range(10) for j in range(10) if i != j]
    count, i, j = max(pairs)
    print(f"most frequent mistake: {i} predicted as {j} ({count} times)")


def draw_grid(images: np.ndarray, pred: np.ndarray, true: np.ndarray, rows: int, cols: int, path: str, title: str):
    fig = new_plot((1.1 * cols, 1.25 * rows + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k], cmap="gray_r")
            wrong = pred[k] != true[k]
            ax.set_title(f"{pred[k]} ({true[k]})", fontsize=9, color="red" if wrong else "black",
                         fontweight="bold" if wrong else None)
    fig.suptitle(title, fontsize=9)
    save_plot(fig, path)


def draw_confusion(pred: np.ndarray, true: np.ndarray, path: str) -> None:
    cm = metrics.confusion_matrix(true, pred, num_classes=10).numpy()
    fig = new_plot((5.4, 4.6))
    ax = fig.add_subplot()
    # colour by share of the row, so that the mistakes show next to a large diagonal
    image = ax.imshow(cm / np.maximum(cm.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if i == j else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"confusion matrix, {len(true)} test images", fontsize=9)
    fig.colorbar(image, ax=ax, label="share of the true digit's images")
    save_plot(fig, path)


def main(argv=None) -> dict:
    args = parse_args(argv)
    test_set = mnist(args.data_dir, train=False, limit=args.limit_test)
    digits = (test_set.dataset if isinstance(test_set, Subset) else test_set).data  # the raw uint8 images
    if args.checkpoint:
        model = load_model(args.checkpoint)
        print(f"loaded {args.checkpoint}: hidden layers {[m.out_features for m in model.layers[:-1]]}")
    else:
        train_set = mnist(args.data_dir, train=True, limit=args.limit_train)
        torch.manual_seed(args.seed)
        model = MLP()
        fit(model, train_set, optim.Adam(model.parameters(), lr=1e-3), args.epochs, seed=args.seed)
        print(f"trained on {len(train_set)} images for {args.epochs} epoch(s)")
    pred, true = predict(model, test_set)
    wrong = np.flatnonzero(pred != true)
    print(f"test accuracy: {100 * metrics.accuracy(true, pred):.2f}% ({len(true) - len(wrong)}/{len(true)}), "
          f"{len(wrong)} misclassified")
    print_report(pred, true)

    shown = wrong if args.misclassified else np.arange(len(true))
    shown = shown[:args.rows * args.cols]
    print(f"grid: {len(shown)} test images, {int(np.sum(pred[shown] != true[shown]))} of them misclassified (in red)")
    if args.plot:
        images = digits.numpy()[shown]  # the raw digits, as they look before normalisation
        what = "misclassified test images" if args.misclassified else "the first test images"
        draw_grid(images, pred[shown], true[shown], args.rows, args.cols, args.plot,
                  f"predicted (true) for {what}; red: wrong")
    if args.confusion_plot:
        draw_confusion(pred, true, args.confusion_plot)
    return {"pred": pred, "true": true}


if __name__ == "__main__":
    main()

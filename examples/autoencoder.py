"""Autoencoders (notes 003): the notes' matrix example, a linear autoencoder against PCA, and a deep
autoencoder that flags anomalies by its reconstruction error.

    python examples/autoencoder.py            # 10,000 images for PCA, all 0-8 digits for the deep one
    python examples/autoencoder.py --quick    # 1,000 and 5,000 images: seconds

1. The notes' AutoEncoder(2, 1): encoder and decoder are matrices without bias; with the
   encoder's weight W = [1/sqrt2, 1/sqrt2] and the decoder's W^T, x = [1, 0] is coded as
   z = W x = 0.7071 and decoded as W^T z = [0.5, 0.5]: its projection on the line x1 = x2.
   The notes feed torch.tensor([1, 0, 1, 0]) (4 values to a 2-input layer) to a model named
   auto_encoder_1Dcode (the one built is auto_encoder_2Dcode); their printed z = 0.3563 and
   x_hat = [-0.1929, 0.1561] are not W's (W^T z has two equal entries): they are the outputs of
   the model's random initial weights, which PyTorch's generator drew.
2. PCA to autoencoders: a linear autoencoder (784 -> k -> 784, no bias, no activation) trained
   by gradient descent on the mean squared error of centred MNIST images ends where PCA is: its
   decoder's columns span the subspace of the top k principal components (computed here with
   NumPy's SVD of the centred data, X = U S V^T). The principal angles between the two
   subspaces (arccos of the singular values of Q_ae^T V_k) are printed: near 0 degrees. The
   autoencoder's codes are not the principal components themselves (any invertible mix of them
   reconstructs as well); its error equals PCA's, the smallest of any rank-k map (Eckart-Young).
3. Anomaly detection: a deep autoencoder (784-256-64-16-64-256-784, ReLU, sigmoid output)
   trained on the digits 0-8 only reconstructs them better than the 9s it never saw. The
   reconstruction error is the anomaly score; the ROC curve of "is it a 9?" on the test set
   and its AUC (`metrics.roc_curve`, `metrics.auc`) say how well the score separates them: not
   well (AUC about 0.62 after 5 epochs), since a 9 is drawn with the strokes of 4s and 7s, which the
   autoencoder learnt; the error relative to the image's ink, which thin 1s and 7s keep small,
   does a little better.
Figures (runs/autoencoder/; --plot-dir '' skips them): reconstructions by PCA and the linear
autoencoder, reconstructions of 0-8 and 9 by the deep autoencoder, and the ROC curve.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import metrics, nn, optim
from tinygrad_edu.utils.data import DataLoader, TensorDataset

from _extras import new_plot, parser, print_outputs, run_dir, save_plot
from train_mnist import add_data_args, mnist


class AutoEncoder(nn.Module):
    """The notes' linear autoencoder: two matrices, no bias."""

    def __init__(self, input_dim=2, encoding_dim=2):
        super(AutoEncoder, self).__init__()
        self.encoder = nn.Linear(input_dim, encoding_dim, bias=False)
        self.decoder = nn.Linear(encoding_dim, input_dim, bias=False)

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


class DeepAutoEncoder(nn.Module):
    """More than one layer with activation functions (the notes' 'deep autoencoders')."""

    def __init__(self, sizes=(784, 256, 64, 16)):
        super().__init__()
        down = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
        up = [m for a, b in zip(sizes[::-1], sizes[-2::-1]) for m in (nn.Linear(a, b), nn.ReLU())]
        self.encoder = nn.Sequential(*down[:-1])  # the code is linear: no ReLU on it
        self.decoder = nn.Sequential(*up[:-1], nn.Sigmoid())  # pixels in [0, 1]

    def forward(self, x):
        return self.decoder(self.encoder(x))


# ---------------------------------------------------------------- 1. the notes' example

def notes_example() -> None:
    print("== 1. the notes' AutoEncoder(2, 1) with W = [1/sqrt2, 1/sqrt2]")
    auto_encoder_2Dcode = AutoEncoder(2, 1)
    W = torch.tensor([[1. / 2 ** 0.5, 1. / 2 ** 0.5]])
    auto_encoder_2Dcode.state_dict()['encoder.weight'].data[:, ] = W
    auto_encoder_2Dcode.state_dict()['decoder.weight'].data[:, ] = torch.transpose(W, 0, 1)
    z = auto_encoder_2Dcode.encoder(torch.tensor([1., 0.]))
    x_hat = auto_encoder_2Dcode.decoder(z)
    four = lambda t: "[" + ", ".join(f"{v:.4f}" for v in t.detach().numpy()) + "]"  # noqa: E731
    print(f"z = encoder([1, 0]) = {four(z)}   (notes: [0.3563])")
    print(f"x_hat = decoder(z) = {four(x_hat)}   (notes: [-0.1929, 0.1561])")
    print("The notes' values are not W's: W^T z has two equal entries. The notes feed [1, 0, 1, 0] to a model "
          "named auto_encoder_1Dcode, not the one they set up; their numbers are a randomly initialised model's.")


# ---------------------------------------------------------------- 2. linear autoencoder vs PCA

def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The angles (degrees, ascending) between the column spaces of A and B."""
    qa, qb = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
    cos = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.sort(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def linear_vs_pca(images: np.ndarray, k: int, steps: int, seed: int) -> dict:
    print(f"\n== 2. a linear autoencoder 784 -> {k} -> 784 against PCA, {len(images)} centred images")
    X = images.reshape(len(images), -1) - images.reshape(len(images), -1).mean(0)  # x = x - x.mean(dim=0)
    _, S, Vt = np.linalg.svd(X, full_matrices=False)  # the principal components: rows of Vt
    pca_recon = X @ Vt[:k].T @ Vt[:k]
    pca_mse = float(((X - pca_recon) ** 2).mean())
    share = (S[:k] ** 2).sum() / (S ** 2).sum()
    print(f"PCA (NumPy SVD): the top {k} components hold {100 * share:.1f}% of the variance; "
          f"reconstruction MSE {pca_mse:.6f}")

    torch.manual_seed(seed)
    model = AutoEncoder(784, k)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    data = torch.tensor(X.astype(np.float32))
    criterion = nn.MSELoss()
    for step in range(steps):  # full-batch gradient descent (Adam) on the mean squared error
        optimizer.zero_grad()
        loss = criterion(model(data), data)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        ae_recon = model(data).numpy().astype(np.float64)
    ae_mse = float(((X - ae_recon) ** 2).mean())
    angles = principal_angles(model.decoder.weight.detach().numpy().astype(np.float64), Vt[:k].T)
    print(f"linear autoencoder after {steps} steps: reconstruction MSE {ae_mse:.6f} (PCA's: {pca_mse:.6f})")
    print("principal angles between the decoder's columns and the top principal components (degrees): "
          + ", ".join(f"{a:.3f}" for a in angles))
    print(f"largest principal angle: {angles.max():.3f} degrees")
    return {"X": X, "mean": images.reshape(len(images), -1).mean(0), "pca": pca_recon, "ae": ae_recon,
            "angles": angles, "pca_mse": pca_mse, "ae_mse": ae_mse}


# ---------------------------------------------------------------- 3. anomaly detection

def reconstruction_errors(model, images: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return ((model(images) - images) ** 2).mean(1).numpy().astype(np.float64)


def anomaly_detection(train_x, train_y, test_x, test_y, epochs: int, seed: int) -> dict:
    normal = train_y != 9
    print(f"\n== 3. anomaly detection: a deep autoencoder trained on the {int(normal.sum())} training images "
          f"of digits 0-8, {epochs} epoch(s)")
    torch.manual_seed(seed)
    model = DeepAutoEncoder()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()
    loader = DataLoader(TensorDataset(torch.tensor(train_x[normal])), batch_size=128, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    for epoch in range(epochs):
        total = 0.0
        for (x,) in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), x)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
        print(f"epoch {epoch + 1}: training reconstruction MSE {total / int(normal.sum()):.5f}", flush=True)
    error = reconstruction_errors(model, torch.tensor(test_x))
    is_nine = test_y == 9
    print(f"test reconstruction MSE: digits 0-8 {error[~is_nine].mean():.5f}, nines {error[is_nine].mean():.5f} "
          f"({int(is_nine.sum())} nines among {len(test_y)} test images)")
    fpr, tpr, _ = metrics.roc_curve(is_nine, error)
    area = metrics.auc(fpr, tpr)
    print(f"ROC of the score 'reconstruction error' for 'is a 9': {len(fpr)} points, AUC {area:.4f}")
    relative = error / (test_x ** 2).mean(1)  # thin digits (1s, 7s) have small errors just by having little ink
    rel_fpr, rel_tpr, _ = metrics.roc_curve(is_nine, relative)
    print(f"the error relative to the image's mean squared pixel: AUC {metrics.auc(rel_fpr, rel_tpr):.4f}")
    per_digit = {d: error[test_y == d].mean() for d in range(10)}
    print("mean test error per digit: " + ", ".join(f"{d}: {e:.4f}" for d, e in per_digit.items()))
    with torch.no_grad():
        model.eval()
        shown = np.r_[np.flatnonzero(~is_nine)[:8], np.flatnonzero(is_nine)[:8]]
        recon = model(torch.tensor(test_x[shown])).numpy()
    return {"model": model, "fpr": fpr.numpy(), "tpr": tpr.numpy(), "auc": area, "shown": test_x[shown],
            "recon": recon, "error": error[shown]}


# ---------------------------------------------------------------- figures

def draw_rows(rows: list[tuple[str, np.ndarray]], path: str, title: str, captions=None) -> None:
    cols = len(rows[0][1])
    fig = new_plot((1.0 * cols + 1.2, 1.05 * len(rows) + 0.5))
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, (name, images) in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            ax.imshow(images[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if captions is not None and r == len(rows) - 1:
                ax.set_xlabel(captions[c], fontsize=7)
        axes[r][0].set_ylabel(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    save_plot(fig, path)


def draw_roc(fpr, tpr, area: float, path: str) -> None:
    fig = new_plot((4.2, 4.0))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, label=f"reconstruction error (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", label="chance (AUC 0.5)")
    ax.set(xlabel="false positive rate (0-8 flagged)", ylabel="true positive rate (9s flagged)", xlim=(0, 1),
           ylim=(0, 1.01))
    ax.set_title("anomaly detection: 9s vs digits 0-8", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    save_plot(fig, path)


def parse_args(argv=None) -> argparse.Namespace:
    p = parser(__doc__)
    add_data_args(p, limit_test=True)
    p.add_argument("--pca-images", type=int, default=10000, help="images of the linear autoencoder and PCA")
    p.add_argument("--code", type=int, default=4, help="code size k of the linear autoencoder")
    p.add_argument("--steps", type=int, default=600, help="full-batch steps of the linear autoencoder")
    p.add_argument("--epochs", type=int, default=5, help="epochs of the deep autoencoder")
    p.add_argument("--plot-dir", default=run_dir("autoencoder"), help="folder of the figures ('' to skip)")
    p.add_argument("--quick", action="store_true", help="1,000 images for PCA, 5,000 for the deep autoencoder")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same numbers run after run")
    args = p.parse_args(argv)
    if args.quick:
        args.pca_images, args.steps, args.epochs = min(args.pca_images, 1000), min(args.steps, 300), 2
        args.limit_train, args.limit_test = args.limit_train or 5000, args.limit_test or 2000
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    train, test = mnist(args.data_dir, train=True), mnist(args.data_dir, train=False)
    pixels = lambda ds, n: ds.data[:n].numpy().reshape(-1, 784).astype(np.float32) / 255  # noqa: E731
    notes_example()
    linear = linear_vs_pca(pixels(train, args.pca_images), args.code, args.steps, args.seed)
    n_train, n_test = args.limit_train or len(train), args.limit_test or len(test)
    deep = anomaly_detection(pixels(train, n_train), train.targets[:n_train].numpy(),
                             pixels(test, n_test), test.targets[:n_test].numpy(), args.epochs, args.seed)
    paths = []
    if args.plot_dir:
        paths = [os.path.join(args.plot_dir, f) for f in ("linear_vs_pca.png", "deep_reconstructions.png", "roc.png")]
        mean = linear["mean"]
        draw_rows([("original", linear["X"][:10] + mean), (f"PCA, k={args.code}", linear["pca"][:10] + mean),
                   ("linear AE", linear["ae"][:10] + mean)], paths[0],
                  f"reconstructions from {args.code} numbers: PCA and the linear autoencoder agree")
        draw_rows([("original", deep["shown"]), ("deep AE", deep["recon"])], paths[1],
                  "deep autoencoder trained on 0-8: reconstructions of 0-8 (left) and 9s (right)",
                  captions=[f"err {e:.3f}" for e in deep["error"]])
        draw_roc(deep["fpr"], deep["tpr"], deep["auc"], paths[2])
        print_outputs(*paths)
    return {"linear": linear, "deep": deep}


if __name__ == "__main__":
    main()

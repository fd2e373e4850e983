"""The MNIST examples (issue 5) run with --quick on the real files and print what they claim.

Each example runs as a script, as a student would run it, on a few thousand images; the
assertions are floors well below what --quick reaches (see each test), so that they hold for
any seed-free change of the library's numerics but fail when training breaks.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mnist_files import mnist_dir

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def run_example(name: str, tmp_path: Path, *args: str) -> str:
    """stdout of `python examples/<name>.py --quick ...`, run from tmp_path (files land there)."""
    env = {**os.environ, "TINYGRAD_EDU_MNIST": mnist_dir(), "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), "--quick", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG, f"{path} is not a PNG"


def test_accuracy_vs_depth_prints_the_table_and_the_plain_list_bug(tmp_path):
    out = run_example("accuracy_vs_depth", tmp_path, "--plot", "depth.png")
    assert "optim.SGD(model.parameters()) raises ValueError: optimizer got an empty parameter list" in out
    rows = re.findall(r"^\s+(\d)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)%", out, flags=re.M)
    assert [int(r[0]) for r in rows] == [2, 3, 4, 5], out
    assert [r[1] for r in rows] == ["512", "512,256", "512,256,128", "512,256,128,64"]
    assert rows[-1][2] == "575,050"  # the notes' 784-512-256-128-64-10 MLP
    assert all(float(r[3]) >= 80.0 for r in rows), out  # --quick (5,000 images, 2 epochs) gives 89-91%
    assert_png(tmp_path / "depth.png")


def test_hyperparameter_search_prints_the_worksheet_table(tmp_path):
    out = run_example("hyperparameter_search", tmp_path, "--plot", "grid.png")
    assert "3200 to train, 800 to validate" in out
    rows = re.findall(r"^(\d+), (\d+)\s+((?:[\d.]+ / [\d.]+\s*){4})$", out, flags=re.M)
    assert [(int(a), int(b)) for a, b, _ in rows] == [(200, 100), (200, 64), (128, 64), (64, 30), (30, 64), (30, 30)]
    val = [[float(v) for v in re.findall(r"/ ([\d.]+)", cells)] for _, _, cells in rows]
    # momentum 0.9 at lr 0.01 beats plain SGD at lr 0.01 for every architecture (the worksheet's finding)
    assert all(row[2] > row[1] for row in val), out
    best = re.search(r"best on validation: hidden \((\d+), (\d+)\), (lr [\d.]+(?:, m [\d.]+)?): "
                     r"validation ([\d.]+)%, test ([\d.]+)%", out)
    assert best, out
    assert float(best[4]) == pytest.approx(max(max(row) for row in val), abs=0.05)
    assert float(best[5]) >= 75.0, out  # --quick: about 86%
    assert_png(tmp_path / "grid.png")


def test_kfold_prints_five_folds_and_their_mean_and_std(tmp_path):
    out = run_example("kfold", tmp_path, "--plot", "kfold.png")
    folds = re.findall(r"^fold (\d): train on (\d+) images, validate on (\d+) \(images (\d+)\.\.(\d+)\): "
                       r"validation accuracy ([\d.]+)%$", out, flags=re.M)
    assert [int(f[0]) for f in folds] == [1, 2, 3, 4, 5], out
    assert all((int(f[1]), int(f[2])) == (2000, 500) for f in folds)
    assert [(int(f[3]), int(f[4])) for f in folds] == [(0, 499), (500, 999), (1000, 1499), (1500, 1999), (2000, 2499)]
    acc = np.array([float(f[5]) for f in folds])
    assert (acc >= 70.0).all(), out  # --quick (2,000 images, 2 epochs): 80-86%
    summary = re.search(r"^5-fold accuracy: ([\d.]+)% \+- ([\d.]+)%", out, flags=re.M)
    assert float(summary[1]) == pytest.approx(acc.mean(), abs=0.01)
    assert float(summary[2]) == pytest.approx(acc.std(ddof=1), abs=0.01)
    assert_png(tmp_path / "kfold.png")


def test_kfold_indices_cut_folds_as_scikit_learn():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from kfold import kfold_indices
    finally:
        sys.path.remove(str(ROOT / "examples"))
    folds = list(kfold_indices(11, 5))
    assert [v for _, v in folds] == [[0, 1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]  # KFold(5).split(range(11))
    for shuffle in (False, True):
        for train, val in kfold_indices(11, 5, shuffle=shuffle, seed=1):
            assert sorted(train + val) == list(range(11)) and not set(train) & set(val)
    with pytest.raises(ValueError, match="k=1"):
        list(kfold_indices(10, 1))


def test_early_stopping_restores_the_best_epoch(tmp_path):
    out = run_example("early_stopping", tmp_path, "--plot", "es.png", "--checkpoint", "ckpt/best.ckpt")
    epochs = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)%", out, flags=re.M)
    val_loss = [float(e[2]) for e in epochs]
    best = 1 + val_loss.index(min(val_loss))
    assert f"early stop after epoch {best + 3}: validation loss has not improved for 3 epochs" in out, out
    assert len(epochs) == best + 3 and [int(e[0]) for e in epochs] == list(range(1, best + 4))
    restored = re.search(r"^restored epoch (\d+) from ckpt/best.ckpt: validation loss ([\d.]+), test accuracy ([\d.]+)% "
                         r"\(epoch \d+ had ([\d.]+) and ([\d.]+)%", out, flags=re.M)
    assert int(restored[1]) == best
    assert restored[2] == restored[4] and float(restored[2]) == min(val_loss)  # the very same model
    assert restored[3] == restored[5] == epochs[best - 1][4]
    assert float(restored[3]) >= 85.0, out  # --quick (2,400 images): about 90%
    assert (tmp_path / "ckpt" / "best.ckpt").stat().st_size > 2_000_000  # 575,050 float32 parameters
    assert_png(tmp_path / "es.png")


def report_of(out: str) -> tuple[np.ndarray, np.ndarray, float]:
    """The printed confusion matrix, per-class rows (precision, recall, F1, support), accuracy."""
    cm = np.array([[int(v) for v in m[2].split()] for m in re.finditer(r"^\s+(\d)((?:\s+\d+){10})$", out, flags=re.M)])
    per_class = np.array([[float(v) for v in m] for m in
                          re.findall(r"^\s+\d\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", out, flags=re.M)])
    acc = float(re.search(r"^test accuracy: ([\d.]+)%", out, flags=re.M)[1])
    return cm, per_class, acc


def test_predictions_grid_prints_the_confusion_matrix_and_per_class_scores(tmp_path):
    out = run_example("predictions_grid", tmp_path, "--plot", "grid.png", "--confusion-plot", "cm.png")
    cm, per_class, acc = report_of(out)
    assert cm.shape == (10, 10) and cm.sum() == 1000, out
    assert acc >= 80.0, out  # --quick (5,000 images, 2 epochs): about 89%
    assert 100 * np.trace(cm) / 1000 == pytest.approx(acc, abs=0.005)
    assert per_class.shape == (10, 4)
    tp = np.diag(cm)
    np.testing.assert_allclose(per_class[:, 0], tp / cm.sum(0), atol=6e-5)  # precision = TP / (TP + FP)
    np.testing.assert_allclose(per_class[:, 1], tp / cm.sum(1), atol=6e-5)  # recall = TP / (TP + FN)
    np.testing.assert_array_equal(per_class[:, 3], cm.sum(1))
    assert re.search(r"^grid: 48 test images, \d+ of them misclassified \(in red\)$", out, flags=re.M)
    assert_png(tmp_path / "grid.png")
    assert_png(tmp_path / "cm.png")


def test_predictions_grid_loads_a_checkpoint_of_train_mnist(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "train_mnist.py"), "--data-dir", mnist_dir(),
                           "--limit-train", "2000", "--hidden", "48,24", "--epochs", "1", "--save", "mlp.ckpt",
                           "--plot", "", "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    trained_acc = float(re.search(r"test accuracy ([\d.]+)%", done.stdout)[1])
    out = run_example("predictions_grid", tmp_path, "--checkpoint", "mlp.ckpt", "--limit-test", "10000",
                      "--misclassified", "--rows", "2", "--cols", "5", "--plot", "wrong.png", "--confusion-plot", "")
    assert "loaded mlp.ckpt: hidden layers [48, 24]" in out and "trained on" not in out
    assert report_of(out)[2] == pytest.approx(trained_acc, abs=0.005)  # the very model train_mnist.py tested
    assert "grid: 10 test images, 10 of them misclassified (in red)" in out
    assert_png(tmp_path / "wrong.png")
    assert not (tmp_path / "confusion_matrix.png").exists()


def test_docs_mnist_mlp_section_prints_what_it_shows(tmp_path, monkeypatch):
    """docs/autograd.md section 9 (the MNIST MLP): the values in its comments and its trace table."""
    import contextlib
    import io

    import tinygrad_edu
    from tinygrad_edu import viz
    doc = (ROOT / "docs" / "autograd.md").read_text()
    section = doc[doc.index("## 9. The MNIST MLP"):doc.index("## Where to go next")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYGRAD_EDU_MNIST", mnist_dir())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace = {"torch": tinygrad_edu, "viz": viz}  # what the earlier sections imported
        for block in blocks:
            exec(compile(block, "autograd.md, section 9", "exec"), namespace)
    printed = [re.sub(r"\s+", " ", line.strip()) for line in out.getvalue().splitlines()]
    claims = [m[1].split(":")[0].strip() for block in blocks for m in re.finditer(r"print\(.*#\s*(.+)$", block, re.M)]
    assert len(claims) == 4
    for claim in claims:
        assert claim in printed, (claim, printed)
    shown = re.search(r"```text\n(.*?)```", section, flags=re.S)[1]
    rows = [re.sub(r"\s+", " ", line.strip()) for line in shown.splitlines() if line.strip() != "..."]
    assert len(rows) == 12 and all(row in printed for row in rows), rows
    assert (tmp_path / "mlp_graph.png").read_bytes()[:8] == PNG
    assert (ROOT / "docs" / "img" / "mlp_graph.png").stat().st_size < 200_000  # the committed copy stays small

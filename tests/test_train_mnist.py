"""examples/train_mnist.py on the real MNIST files: one epoch of the default recipe, and --resume.

The data are found by tests/mnist_files.py; without them these tests fail, naming where they looked.
"""
from __future__ import annotations

import pytest

import tinygrad_edu as tg
from mnist_files import load_example, mnist_dir


def test_one_epoch_of_the_default_recipe_reaches_95_5_percent(tmp_path, capsys):
    example = load_example("train_mnist")
    ckpt, plot = tmp_path / "mlp.ckpt", tmp_path / "curves.png"
    history = example.main(["--epochs", "1", "--data-dir", mnist_dir(), "--save", str(ckpt), "--plot", str(plot)])
    out = capsys.readouterr().out
    assert history["test_acc"][-1] >= 95.5, out
    assert "epoch 1: train loss" in out and "test accuracy" in out
    assert ckpt.stat().st_size > 2_000_000  # 535,818 float32 parameters, plus Adam's two moments
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = tg.load(str(ckpt))
    assert saved["epoch"] == 1 and len(saved["history"]["test_acc"]) == 1
    assert set(saved) >= {"model", "optimizer", "scheduler", "history"}


def test_resume_continues_exactly_where_an_uninterrupted_run_would_be(tmp_path):
    example = load_example("train_mnist")
    # A constant learning rate: a cosine schedule's length depends on --epochs, which differs here.
    common = ["--data-dir", mnist_dir(), "--limit-train", "3000", "--hidden", "64,32", "--plot", "",
              "--no-progress", "--seed", "3", "--optimizer", "sgd", "--lr", "0.05", "--scheduler", "none",
              "--epochs", "2"]
    straight = example.main(common + ["--save", str(tmp_path / "a.ckpt")])
    first = example.main(common[:-1] + ["1", "--save", str(tmp_path / "b.ckpt")])
    resumed = example.main(common + ["--save", str(tmp_path / "b.ckpt"), "--resume", str(tmp_path / "b.ckpt")])
    assert len(first["test_acc"]) == 1 and len(resumed["test_acc"]) == 2
    assert resumed["test_loss"] == pytest.approx(straight["test_loss"], rel=1e-5)
    assert resumed["test_acc"] == pytest.approx(straight["test_acc"])


def test_a_seed_gives_the_same_numbers_run_after_run(tmp_path):
    example = load_example("train_mnist")
    args = ["--data-dir", mnist_dir(), "--limit-train", "2000", "--hidden", "32", "--epochs", "1", "--plot", "",
            "--save", "", "--no-progress", "--seed", "7"]
    a, b = example.main(args), example.main(args)
    assert a["train_loss"] == b["train_loss"] and a["test_acc"] == b["test_acc"]

"""What a user meets around the examples: the message when MNIST is missing, --resume's messages,
--help with defaults, outputs under runs/<example>/, and one throughput on the progress bar."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_files import load_example, mnist_dir
from tinygrad_edu.datasets import MNIST

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py") if not p.stem.startswith("_"))
BENCHES = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))


def script_env(**extra: str) -> dict:
    return {**os.environ, "MPLBACKEND": "Agg", **extra,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


# ---------------------------------------------------------------- MNIST missing

def test_missing_mnist_offline_is_one_message_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:1/"])  # no server there: as offline
    typo = tmp_path / "mnsit"
    with pytest.raises(SystemExit) as exit_:
        load_example("train_mnist").main(["--data-dir", str(typo), "--no-progress"])
    message = str(exit_.value.code)
    assert message.startswith("error: MNIST could not be loaded.")
    assert "--data-dir DIR" in message and "TINYGRAD_EDU_MNIST=DIR" in message and "default folder" in message
    for name, md5 in MNIST.resources:
        assert name in message and md5 in message
    assert not typo.exists() and list(tmp_path.iterdir()) == []  # no folder made on the way
    assert "Traceback" not in capsys.readouterr().err


def test_default_data_folder_is_the_variable_else_the_user_cache(monkeypatch, tmp_path):
    example = load_example("train_mnist")
    monkeypatch.setenv("TINYGRAD_EDU_MNIST", str(tmp_path))
    assert example.default_data_dir() == str(tmp_path)
    monkeypatch.delenv("TINYGRAD_EDU_MNIST")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = tmp_path / "cache" if sys.platform.startswith("linux") else None
    if expected is not None:
        assert example.default_data_dir() == str(expected / "tinygrad_edu" / "mnist")
    assert Path(example.default_data_dir()).is_absolute()  # never relative to the current folder


# ---------------------------------------------------------------- --resume

def test_resume_of_a_missing_checkpoint_is_one_line(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        load_example("train_mnist").main(["--data-dir", mnist_dir(), "--resume", str(tmp_path / "none.ckpt")])
    assert exit_.value.code == f"--resume: no checkpoint at {str(tmp_path / 'none.ckpt')!r} (a run writes one with --save PATH)"


def test_resume_with_nothing_left_says_how_to_train_more(tmp_path, capsys):
    example = load_example("train_mnist")
    ckpt = str(tmp_path / "a.ckpt")
    args = ["--data-dir", mnist_dir(), "--limit-train", "500", "--hidden", "16", "--plot", "", "--no-progress"]
    first = example.main(args + ["--epochs", "1", "--save", ckpt])
    capsys.readouterr()
    again = example.main(args + ["--epochs", "1", "--save", ckpt, "--resume", ckpt])
    out = capsys.readouterr().out
    assert again == first
    assert out.startswith(f"nothing to train: {ckpt} holds epoch 1 and --epochs is 1. To train more, resume with "
                          f"a larger --epochs (e.g. --resume {ckpt} --epochs 6)")
    assert "epoch 1:" not in out  # nothing trained, nothing written
    example.main(args + ["--epochs", "2", "--save", ckpt, "--resume", ckpt])
    assert f"resuming from {ckpt}: epochs 1-1 are done, training epochs 2-2" in capsys.readouterr().out


# ---------------------------------------------------------------- --help, outputs, progress bar

@pytest.mark.parametrize("script", [f"examples/{e}.py" for e in EXAMPLES] + [f"bench/{b}.py" for b in BENCHES])
def test_help_shows_the_defaults(script):
    done = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True,
                          env=script_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines at the terminal's width
    assert text.startswith("usage:")
    if "--seed" in text:
        assert "run after run (default: 0)" in text
    if "--plot PLOT" in text:
        assert "'' to skip" in text and "(default: runs/" in text
    assert "(default:" in text or script.endswith("autograd_tour.py")  # the tour has no valued option


def test_help_of_train_mnist_lists_every_default_and_choice():
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "train_mnist.py"), "--help"], capture_output=True,
                          text=True, env=script_env(TINYGRAD_EDU_MNIST="/data/mnist"), timeout=120)
    text = " ".join(done.stdout.split())
    for shown in ("--epochs EPOCHS (default: 5)", "--batch-size BATCH_SIZE (default: 64)", "{sgd,adam,rmsprop}",
                  "(default: adam)", "{cosine,none}", "(default: /data/mnist)", "(default: runs/mnist_mlp/checkpoint.ckpt)",
                  "(default: runs/mnist_mlp/curves.png)", "(default: 512,256,128,64)"):
        assert shown in text, shown


def test_an_example_writes_only_under_runs_and_says_where(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "xor.py"), "--quick"], cwd=tmp_path,
                          capture_output=True, text=True, env=script_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("figure: runs/xor/xor.png")
    assert [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*"))] == ["runs", "runs/xor",
                                                                                         "runs/xor/xor.png"]
    assert "runs/" in (ROOT / ".gitignore").read_text().split()  # git status stays clean


def test_train_mnist_skips_outputs_given_empty_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    load_example("train_mnist").main(["--data-dir", mnist_dir(), "--limit-train", "300", "--hidden", "8",
                                      "--epochs", "1", "--save", "", "--plot", "", "--no-progress"])
    assert list(tmp_path.iterdir()) == [] and "outputs:" not in capsys.readouterr().out


def test_progress_bar_shows_one_throughput(capsys):
    extras = load_example("_extras")
    bar = extras.ProgressBar(640, "epoch 1/1")  # tqdm writes to sys.stdout, captured here
    for _ in range(10):
        bar.update(64, 0.5)
    bar.close()
    last = capsys.readouterr().out.replace("\n", "\r").strip("\r").split("\r")[-1]
    assert last.count("/s") == 1 and "img/s" in last and "loss=0.5000" in last, last

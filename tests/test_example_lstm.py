"""examples/mnist_lstm.py --quick runs as a script on the real MNIST files and learns (the full run,
2 epochs to >= 97%, is measured by bench/bench_lstm.py; see docs/api_extensions.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mnist_files import mnist_dir

ROOT = Path(__file__).resolve().parents[1]


def test_mnist_lstm_quick_learns(tmp_path):
    env = {**os.environ, "TINYGRAD_EDU_MNIST": mnist_dir(),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "h.json"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "mnist_lstm.py"), "--quick", "--json", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    history = json.loads(out.read_text())
    assert "epoch 1: train loss" in done.stdout
    # 3,000 images, one epoch: chance is 10%; the LSTM gets well above it (about 45-60%)
    assert history["test_accuracy"][0] > 0.3 and history["train_loss"][0] < 2.2

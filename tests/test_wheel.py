"""A wheel runs on any CPU of its architecture and trains: built from a copy of this tree, installed
into a fresh venv, one training step run there (1-2 minutes: the C kernels are compiled again).

A wheel is built with the portable flags (csrc/build_ffi.py: -march=x86-64 on x86-64, armv8-a on
aarch64), never with -march=native: on x86-64 its machine code must use no AVX register (ymm, zmm),
or the wheel would die with SIGILL on an older CPU. Deselect with `-m "not wheel"`.
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.wheel

ONE_STEP = """
import numpy as np
import tinygrad_edu as torch
from tinygrad_edu import nn, optim
print(torch.__file__)
print(torch.backend.current())
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
optimizer = optim.SGD(model.parameters(), lr=0.1)
losses = []
for _ in range(2):
    optimizer.zero_grad()
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(losses[0], losses[1])
"""


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def copy_of_the_tree(dest: Path) -> Path:
    """The sources alone: no build products (an in-place -march=native .so must not ride along)."""
    skip = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "runs", "*.egg-info", "*.so", "*.o",
                                  "__pycache__", ".pytest_cache", ".hypothesis", "_C.c")
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


def test_a_wheel_is_portable_and_trains_in_a_fresh_venv(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TINYGRAD_EDU_MARCH")}
    src = copy_of_the_tree(tmp_path / "src")
    # pip wheel runs setuptools' bdist_wheel, as `python -m build` does; without build isolation it
    # uses this environment's setuptools and cffi (no download)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
         str(src)], env=env, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("tinygrad_edu-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        (so_name,) = [n for n in zf.namelist() if re.fullmatch(r"tinygrad_edu/_C[^/]*\.(so|pyd)", n)]
        so = Path(zf.extract(so_name, tmp_path / "unpacked"))

    if platform.machine().lower() in ("x86_64", "amd64"):
        disassembly = run(["objdump", "-d", "--no-show-raw-insn", str(so)]).stdout
        assert re.search(r"<tg_matmul_f32>:", disassembly), "no tg_matmul_f32 in the wheel's extension"
        wide = sorted(set(re.findall(r"%[yz]mm\d+", disassembly)))
        assert not wide, f"the wheel's {so.name} uses AVX registers {wide[:8]}: not runnable on every x86-64 CPU"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env=env)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    # the wheel, and only what a training step needs (pip's cache or the local index; PyPI as fallback)
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], env=env, cwd=tmp_path)
    run([str(python), "-m", "pip", "install", "-q", "numpy", "cffi", "safetensors"], env=env, cwd=tmp_path)
    out = run([str(python), "-c", ONE_STEP], env=env, cwd=tmp_path).stdout.split("\n")
    assert out[0].startswith(str(venv)), out  # the installed wheel, not this tree
    assert out[1] == "c", out  # the wheel carries the compiled kernels
    first, second = (float(v) for v in out[2].split())
    assert 1.5 < first < 4.0 and second < first, out  # ln(10) = 2.3 at the start, then one step down

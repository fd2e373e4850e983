"""examples/autograd_tour.py prints the notes' numbers, corrected where the notes slip."""
from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

from mnist_files import mnist_dir

ROOT = Path(__file__).resolve().parents[1]


def run_tour(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "autograd_tour.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def lines(out: str) -> list[str]:
    return [re.sub(r"\s+", " ", line.strip()) for line in out.splitlines()]


def test_tour_prints_the_notes_numbers(tmp_path):
    out = run_tour("--quick", "--graph", str(tmp_path / "graph.png"))
    got = lines(out)
    expected = [
        # 1. d(x^2)/dx at 2, the graph attributes, and the notes' 8 explained by accumulation
        "data tensor(2.) tensor(4.)", "grad_fn None PowBackward0", "grad tensor(4.) None",
        "is_leaf True False", "requires_grad True True", "dy/dx = 2x = 4",
        # 2. the partials of u*v + u^2 at u = 1, v = 2
        "f = 3", "df/du = v + 2u = 4", "df/dv = u = 1",
        # 3. z = x^2 + 2x + 1 at 2, second derivative through create_graph
        "z(2) = 9", "d2z/dx2 = 2 (autograd.grad(dz, x))",
        # 4. the chain at x = 5
        "forward: y1 = 17, y2 = 17, y3 = -4.5, loss = 42.25", "dl/dy3 = 2*y3 - 4 = -13 (the notes: -11.5)",
        "dl/dy1 = 6.5", "dl/dx = -13 * -0.5 * 1 * 3 = 19.5",
        # 5. the gradient-descent step, lr 1e-3
        "w3 -0.5 -221 -0.279 (-0.4885)", "b3 4 -13 4.013 (4.0115)", "w1 3 32.5 2.9675 (-2.98275)",
        "b1 2 6.5 1.9935 (1.98275)", "loss after the step: 7.19768 (was 42.25)",
    ]
    for line in expected:
        assert line in got, line
    assert any(line.startswith("The notes' table shows grad 8: after a second (x ** 2).backward(), x.grad is 8 =")
               for line in got)
    assert any(line.startswith("dz/dx = 2x + 2 = 6 (autograd.grad(z, x, create_graph=True)") for line in got)
    assert "The notes' 17.25 is -11.5 * -0.5 * 1 * 3 = 17.25" in out
    assert "only Tensors of floating point dtype can require gradients" in out
    # the trace of example 4: the engine's steps, the gradient reaching x is dl/dx
    assert "9 x () 19.5 -> .grad -" in got and "0 PowBackward0 () 1 () 13" in got
    png = (tmp_path / "graph.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000


def test_tour_without_options_draws_nothing(capsys):
    tour = runpy.run_path(str(ROOT / "examples" / "autograd_tour.py"))  # not as __main__: main() not run
    tour["main"]([])
    out = capsys.readouterr().out
    assert "graph of the loss saved" not in out and "dl/dx = -13 * -0.5 * 1 * 3 = 19.5" in out


def test_docs_snippets_run_and_print_what_they_say(tmp_path, monkeypatch):
    """docs/autograd.md's Python blocks, run in order in one namespace (teenygrad PR #11: docs rot)."""
    import contextlib
    import io
    import warnings
    doc = ROOT / "docs" / "autograd.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 10
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TINYGRAD_EDU_MNIST", mnist_dir())  # section 9 reads a batch of the real MNIST images
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("error")  # no snippet may trigger a warning (e.g. reading a non-leaf's .grad)
        namespace: dict = {}
        for block in blocks:
            exec(compile(block, str(doc), "exec"), namespace)
    printed = lines(out.getvalue())
    for line in ["tensor(4.)", "tensor(8.)", "3.0 4.0 1.0", "9.0 6.0 2.0", "42.25 -13.0 19.5", "-0.279 2.9675",
                 "['AddBackward0', None]", "12 11", "n0 [label=\"PowBackward0\\n()\", fillcolor=\"#ffe08a\"];"]:
        assert line in printed, line
    # the trace table printed is the one the doc shows
    shown = re.search(r"```text\n(.*?)```", doc.read_text(), flags=re.S)[1]
    assert lines(shown) == [line for line in printed if re.match(r"(step node|\d+ \w+ \()", line)][:len(lines(shown))]
    assert any(re.fullmatch(r"sigmoid layer 8: 1\.2e-01 layer 1: 7\.8e-06", line) for line in printed)
    assert any(re.fullmatch(r"relu layer 8: 3\.8e-01 layer 1: 1\.8e-01", line) for line in printed)
    for name in ("graph.png", "vanishing.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
        assert (ROOT / "docs" / "img" / name).stat().st_size < 200_000  # the committed copies stay small

"""The basic examples (linear/logistic regression, XOR, the Lecture 8 FFN, distribution NLLs) with --quick.

Each example is imported from its file and its main(argv) run in-process; the tests read what it
printed (the numbers a student sees) and check them against the mathematics: recovered parameters
within a tolerance, accuracies above a floor, worked numbers exactly.
"""
from __future__ import annotations

import re
from pathlib import Path

from mnist_files import load_example

ROOT = Path(__file__).resolve().parents[1]
NUM = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def run_example(name: str, capsys, *argv: str):
    """Import examples/<name>.py by path, run main(argv); return (what main returned, stdout)."""
    result = load_example(name).main(["--quick", *argv])
    return result, capsys.readouterr().out


def numbers(pattern: str, out: str) -> tuple[float, ...]:
    """The numbers captured by `pattern` (NUM marks each) in the first line of `out` it matches."""
    match = re.search(pattern.replace("NUM", NUM), out)
    assert match, f"no line matching {pattern!r} in:\n{out}"
    return tuple(float(g) for g in match.groups())


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5_000


def test_linear_regression_recovers_w_and_b(tmp_path, capsys):
    result, out = run_example("linear_regression", capsys, "--plot", str(tmp_path / "lr.png"))
    w0, b0, cost0 = numbers(r"0\. least squares.*: w = NUM, b = NUM, cost NUM", out)
    assert abs(w0 + 3) < 0.05 and abs(b0 - 1) < 0.05 and cost0 < 0.02  # noise sd 0.1: cost near 0.01
    for part in (r"1\. by hand", r"2\. nn\.Linear"):
        w, b, cost = numbers(part + r".*: w = NUM, b = NUM, cost NUM", out)
        assert abs(w + 3) < 0.05 and abs(b - 1) < 0.1, part
        assert abs(w - w0) < 2e-3 and abs(b - b0) < 0.03 and cost < cost0 + 1e-3, part  # at the least-squares line
    w_b, b_b, c0_b, c_b = numbers(r"batch +batch size 60.*: w = NUM, b = NUM, cost NUM -> NUM", out)
    w_s, b_s, c0_s, c_s = numbers(r"stochastic +batch size  1.*: w = NUM, b = NUM, cost NUM -> NUM", out)
    w_m, b_m, c0_m, c_m = numbers(r"mini-batch 5 batch size  5.*: w = NUM, b = NUM, cost NUM -> NUM", out)
    assert c0_b == c0_s == c0_m  # the same starting line
    assert abs(w_s + 3) < 0.1 and abs(b_s - 1) < 0.1 and c_s < 0.02  # one step per sample: converged
    assert c_s < c_m < c_b < c0_b  # more steps per epoch, lower cost after the same epochs
    assert all(len(c) == 6 for c in result["costs"].values())  # epoch 0 and 5 quick epochs
    assert_png(tmp_path / "lr.png")


def test_logistic_regression_separates_the_classes(tmp_path, capsys):
    result, out = run_example("logistic_regression", capsys, "--plot", str(tmp_path / "logreg.png"))
    # the notes' Bernoulli table, worked numbers exactly (and their 0.08 slip corrected)
    assert "theta = 0.5: 0.5 * 0.5 * 0.5 * 0.5 = 0.0625, l(theta) = -2.7726" in out
    assert "theta = 0.2: 0.2 * 0.8 * 0.2 * 0.8 = 0.0256, l(theta) = -3.6652" in out
    assert "0.2 * 0.2 * 0.8 = 0.032 (the notes write 0.08)" in out
    mine, theirs = numbers(r"the notes' criterion = NUM, nn\.BCELoss = NUM", out)
    assert mine == theirs  # the hand-written cross entropy is BCELoss
    w, b, bce0, bce1, acc = numbers(r"w = NUM, b = NUM, BCE NUM -> NUM, accuracy NUM%", out)
    assert acc == 100.0 and bce1 < bce0 / 3 and w > 5
    (boundary,) = numbers(r"at x = -b / w = NUM", out)
    assert 0.2 < boundary < 0.3 and abs(boundary + b / w) < 2e-3
    assert "between the last 0 at 0.2 and the first 1 at 0.3" in out  # float32 0.2 > 0.2 is False
    mse_acc, bce_acc = numbers(r"accuracy with MSELoss NUM%, with BCELoss NUM%", out)
    assert mse_acc < 80.0 and bce_acc == 100.0  # MSE through a saturated sigmoid stalls, BCE does not
    w1, w2, b, _, bce1, acc = numbers(r"w = \(NUM, NUM\), b = NUM, BCE NUM -> NUM, accuracy NUM%", out)
    assert acc >= 95.0 and bce1 < 0.15
    slope, _ = numbers(r"i\.e\. x2 = NUM x1 [-+] NUM", out)
    assert abs(slope + 1) < 0.2 and abs(slope + w1 / w2) < 2e-3  # the best boundary is x2 = -x1
    assert abs(result["blobs"]["accuracy"] - acc) <= 0.05
    assert_png(tmp_path / "logreg.png")


def test_xor_reaches_100_percent_deterministically(tmp_path, capsys):
    result, out = run_example("xor", capsys, "--plot", str(tmp_path / "xor.png"))
    first, last, bce0, bce1 = numbers(r"cost per epoch: first NUM, last NUM \(mean BCE NUM -> NUM", out)
    assert abs(first - result["cost"][0]) < 1e-4 and abs(last - result["cost"][-1]) < 1e-4
    assert bce0 > 0.6 and bce1 < 0.1 and last < first / 5  # from a coin toss (ln 2) to confident
    assert "last epoch 100%" in out
    for (a, b), xor in (((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)):
        (prob, label) = numbers(rf"x = \({a}, {b}\)  XOR = {xor}  P\(y = 1\) = NUM  -> NUM", out)
        assert label == xor and (prob > 0.8 if xor else prob < 0.2), (a, b, prob)
    assert_png(tmp_path / "xor.png")
    again, _ = run_example("xor", capsys, "--plot", "")  # seeded: the same numbers on a second run
    assert again == result


def test_regression_ffn_learns_the_sum(tmp_path, capsys):
    result, out = run_example("regression_ffn", capsys, "--plot", str(tmp_path / "ffn.png"))
    assert "layer1(x) differs from it by at most 0\n" in out  # a Linear layer is x W^T + b, exactly
    assert "grad_fn=AddBackward0" in out
    (first,) = numbers(r"MSE at epoch 1: NUM", out)
    final, test = numbers(r"final training MSE NUM; on 100 fresh samples NUM", out)
    assert 2.0 < first < 8.0  # var(sum of 4 standard normals) = 4: the untrained net is near 0
    assert final < 0.2 and test < 0.3 and final < first / 20
    rows = re.findall(r"^   \[.*\]\s+" + NUM + r"\s+" + NUM + "$", out, flags=re.M)
    assert len(rows) == 5
    for target, pred in rows:
        assert abs(float(target) - float(pred)) < 0.7
    assert [round(t, 3) for t in result["targets"]] == [float(t) for t, _ in rows]
    assert_png(tmp_path / "ffn.png")


def test_distributions_nll_fits_rate_and_variance(tmp_path, capsys):
    import torch as pt  # the reference for the worked examples

    result, out = run_example("distributions_nll", capsys, "--plot", str(tmp_path / "nll.png"))
    losses = re.findall(r"^   loss +(.*)$", out, flags=re.M)
    assert [line.split() for line in losses] == [["-0.0888", "0.7996", "0.7265", "3.9147", "-1.3360"],
                                                 ["0.6120", "0.7687", "0.7754", "0.4796", "0.6720"]]  # the notes'
    assert re.findall(r"^   formula +(.*)$", out, flags=re.M) == losses  # each loss is its formula
    log_input = pt.tensor([0.3923, -0.2236, -0.3195, -1.2050, 1.0445])
    ref = pt.nn.PoissonNLLLoss(reduction="none")(log_input, pt.tensor([4.0, 0.0, 0.0, 3.0, 4.0]))
    assert max(abs(a - b) for a, b in zip(result["poisson"], ref.tolist())) < 1e-6
    ref = pt.nn.GaussianNLLLoss(reduction="none")(log_input, pt.tensor([1.3186, 0.7476, -1.3265, -1.2413, -0.1028]),
                                                  pt.tensor([2.3668, 3.5731, 3.5409, 2.6081, 1.9573]))
    assert max(abs(a - b) for a, b in zip(result["gaussian"], ref.tolist())) < 1e-6

    rate, true, mle = numbers(r"Poisson: +rate NUM +\(true NUM, MLE = sample mean NUM\)", out)
    assert true == 3.5 and abs(rate - mle) < 2e-3 and abs(rate - true) < 0.15
    mean, var, tm, tv, mm, mv = numbers(r"Gaussian: +mean NUM, var NUM +\(true NUM, NUM; MLE NUM, NUM\)", out)
    assert (tm, tv) == (1.0, 2.25) and abs(mean - mm) < 2e-3 and abs(var - mv) < 5e-3
    assert abs(mean - tm) < 0.1 and abs(var - tv) < 0.2
    lam, true, mle = numbers(r"Exponential: +rate NUM +\(true NUM, MLE = 1 / sample mean NUM\)", out)
    assert true == 0.5 and abs(lam - mle) < 2e-3 and abs(lam - true) < 0.05
    assert_png(tmp_path / "nll.png")


# ---------------------------------------------------------------- docs/kernels.md

KERNELS_DOC = ROOT / "docs" / "kernels.md"


def test_kernels_doc_mentions_every_kernel():
    """A kernel added to the backend without a word on docs/kernels.md fails here."""
    from tinygrad_edu.backend import numpy_kernels
    doc = KERNELS_DOC.read_text()
    missing = [name for name in numpy_kernels.__all__ if not re.search(rf"`{name}`|\b{name}\(", doc)]
    assert not missing, f"docs/kernels.md does not mention {missing}"


def test_kernels_doc_excerpts_are_copied_from_the_files():
    """Each excerpt (a code block after `<!-- from PATH -->`) still occurs line for line in PATH."""
    doc = KERNELS_DOC.read_text()
    excerpts = re.findall(r"<!-- from (\S+) -->\n```\w+\n(.*?)```", doc, flags=re.S)
    assert len(excerpts) >= 25
    files = {path for path, _ in excerpts}
    assert {"csrc/matmul.c", "csrc/activations.c", "csrc/softmax.c", "csrc/loss.c", "csrc/optim.c", "csrc/conv.c",
            "tinygrad_edu/backend/numpy_kernels.py", "tinygrad_edu/backend/c_kernels.py"} <= files
    for path, block in excerpts:
        source = {line.rstrip() for line in (ROOT / path).read_text().splitlines()}
        for line in block.splitlines():
            if line.strip() != "...":
                assert line.rstrip() in source, f"docs/kernels.md: not in {path}: {line!r}"


def test_kernels_doc_dispatch_snippet_prints_what_the_page_says(capsys):
    from tinygrad_edu import backend
    doc = KERNELS_DOC.read_text()
    snippets = [m.group(1) for m in re.finditer(r"(?<!-->\n)```python\n(.*?)```", doc, flags=re.S)]
    assert len(snippets) == 1
    before = backend.current()
    exec(compile(snippets[0], str(KERNELS_DOC), "exec"), {})  # tests/conftest.py restores the backend after
    assert backend.current() == before  # the snippet switches back
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["True True", "[[0.09   0.2447 0.6652]]", "unknown backend 'cuda'; known backends: 'c', 'numpy'"]
    for line in printed:
        assert f"`{line}`" in doc

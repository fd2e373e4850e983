"""viz.backward_page's data (no browser): every number is the engine's, recorded by autograd.trace."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn, viz
from tinygrad_edu.viz.record import record_backward

from autograd_graphs import mlp_loss, reachable

ROOT = Path(__file__).resolve().parents[1]


def chain(lib):
    leaves = {n: lib.tensor(v, requires_grad=True) for n, v in
              (("x", 5.0), ("w1", 3.0), ("b1", 2.0), ("w3", -0.5), ("b3", 4.0))}
    x, w1, b1, w3, b3 = leaves.values()
    return (w3 * lib.relu(w1 * x + b1) + b3 - 2) ** 2, leaves


def test_chain_steps_formulas_and_numbers_match_torch():
    loss, leaves = chain(tg)
    data = record_backward(loss, leaves, notes={loss: "the notes slip here"})
    ref, ref_leaves = chain(torch)
    ref.backward()
    steps = data["steps"]
    assert [s["name"] for s in steps][:3] == ["PowBackward0", "SubBackward0", "AddBackward0"]
    assert steps[0]["note"] == "the notes slip here" and all(s["note"] is None for s in steps[1:])
    pow_send = steps[0]["sends"][0]
    assert pow_send["formula"] == "grad_a = grad * exponent * a^(exponent - 1)"
    assert pow_send["numbers"] == "1 * 2 * (-6.5)^(2 - 1) = -13"
    mul = next(s for s in steps if s["name"] == "MulBackward0")  # w3 * y2
    assert [x["numbers"] for x in mul["sends"]] == ["(-13) * 17 = -221", "(-13) * (-0.5) = 6.5"]
    assert mul["saved"] == [["a", "-0.5"], ["b", "17"]]
    sub = steps[1]["sends"]
    assert sub[0]["formula"] == "grad_a = grad" and sub[1]["formula"] == "grad_b = -grad" and sub[1]["text"] is None
    for s in steps:
        if s["kind"] == "leaf":
            assert float(s["grad_after"]) == pytest.approx(ref_leaves[s["label"]].grad.item())
            assert float(s["grad_after"]) == pytest.approx(leaves[s["label"]].grad.item())
            assert s["grad_before"] is None
    assert len(data["nodes"]) == len(reachable(loss.grad_fn)[0]) and list(data["views"]) == ["full"]


def test_a_node_used_twice_receives_the_engine_sum_of_its_arrivals():
    a = tg.tensor(3.0, requires_grad=True)
    b = a + a  # notes: b = a + a, c = b + b
    c = b * b
    a.grad = tg.tensor(100.0)  # accumulation: .grad before the pass is shown too
    data = record_backward(c, {"a": a})
    leaf = next(s for s in data["steps"] if s["kind"] == "leaf")
    assert [x["text"] for x in leaf["arrivals"]] == ["12", "12"] and leaf["received"] == ["24"]
    assert leaf["grad_before"] == "100" and leaf["grad_after"] == "124" and a.grad.item() == 124.0


def test_mlp_layers_collapse_into_one_box_each_and_the_view_stays_acyclic():
    loss, params = mlp_loss((20, 12, 8, 4), batch=3)
    data = record_backward(loss, params)
    assert [g["name"] for g in data["groups"]] == ["fc3", "fc2", "fc1"]
    assert all(data["nodes"][m]["name"] in ("AddmmBackward0", "TBackward0", "AccumulateGrad")
               for g in data["groups"] for m in g["members"])
    collapsed = data["views"]["collapsed"]
    assert len(collapsed["nodes"]) == len(data["nodes"]) - sum(len(g["members"]) - 1 for g in data["groups"])
    rank = {n["id"]: n["rank"] for n in collapsed["nodes"]}
    assert all(rank[e["to"]] > rank[e["from"]] for e in collapsed["edges"])
    # weight decay ties the top of the graph to every layer's weight: nothing collapses into a cycle
    loss, params = mlp_loss((20, 12, 8, 4), batch=3)
    total = loss + 1e-4 * sum((p ** 2).sum() for n, p in params.items() if n.endswith("weight"))
    data = record_backward(total, params)
    if "collapsed" in data["views"]:
        rank = {n["id"]: n["rank"] for n in data["views"]["collapsed"]["nodes"]}
        assert all(rank[e["to"]] > rank[e["from"]] for e in data["views"]["collapsed"]["edges"])


def test_a_module_as_params_names_its_layers():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    loss = model(tg.rand(4, 6)).sum()
    data = record_backward(loss, model)
    assert [g["lines"][0] for g in data["groups"]] == ["2: Linear 5→2", "0: Linear 6→5"]


def test_page_embeds_the_data_and_bad_input_is_named(tmp_path):
    loss, leaves = chain(tg)
    text = viz.backward_page(loss, tmp_path / "p.html", params=leaves, title="a </script> title").read_text()
    payload = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)[1])
    assert payload["examples"][0]["title"] == "a </script> title" and len(payload["examples"][0]["steps"]) == 12
    assert text.count('class="node ') == 12 and text.count('class="edge"') == 11
    with pytest.raises(TypeError, match="expected a Tensor, got list"):
        viz.backward_page([1.0], tmp_path / "q.html")
    with pytest.raises(ValueError, match="does not require grad"):
        viz.backward_page(tg.ones(2), tmp_path / "q.html")
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        viz.backward_page(tg.ones(2, requires_grad=True) * 2, tmp_path / "q.html")
    assert not (tmp_path / "q.html").exists()


def test_a_long_chain_page_grows_linearly(tmp_path):
    """3,000 ops: the page's size is linear in the graph (~1.3 KB a node), its layout O(n log n)."""
    import time
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    start = time.perf_counter()
    path = viz.backward_page(y, tmp_path / "long.html")
    assert time.perf_counter() - start < 60  # ~2 s on an idle machine
    assert path.stat().st_size < 2000 * 3001 and x.grad.item() == pytest.approx(1.0001 ** 3000, rel=1e-4)


def run_viz(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "tinygrad_edu.viz", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_python_m_viz_on_a_script_and_on_the_notes(tmp_path):
    script = tmp_path / "net.py"
    script.write_text("import tinygrad_edu as torch\nfrom tinygrad_edu import nn\n"
                      "model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))\n"
                      "loss = model(torch.ones(4, 3)).pow(2).mean()\n")
    done = run_viz(str(script), "--params", "model", "-o", "net.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "TanhBackward0" in (tmp_path / "net.html").read_text()
    done = run_viz("--notes", "-o", "notes.html", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "notes.html").read_text().count('class="graph"') == 3
    (tmp_path / "done.py").write_text(script.read_text() + "loss.backward()\n")
    done = run_viz(str(tmp_path / "done.py"), "-o", "x.html", cwd=tmp_path)
    assert done.returncode == 2 and "backward through the graph a second time" in done.stderr
    done = run_viz(str(script), "--tensor", "nothing", cwd=tmp_path)
    assert done.returncode == 2 and "defines no variable 'nothing'" in done.stderr


def test_docs_show_the_page_at_three_steps_of_the_chain():
    doc = (ROOT / "docs" / "autograd.md").read_text()
    images = re.findall(r"\]\((img/backward_page_step\d+\.png)\)", doc)
    assert len(images) == 3
    for image in images:
        png = (ROOT / "docs" / image).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) < 100_000  # well under 200 KB

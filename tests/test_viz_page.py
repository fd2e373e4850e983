"""viz.backward_page in a real browser: Debian's headless Chromium, driven by Selenium.

The page is opened from a file:// URL; the tests count its nodes and edges, press the step key
through the whole pass, read the gradient the page shows at each leaf and compare it with
`.grad` (and with torch), and check a screenshot is not blank. No browser is downloaded:
Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver (.ci/run installs them).
If the browser cannot start, the tests fail and say why.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn, viz

from autograd_graphs import reachable

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium, or a failed test naming what is missing (never a skip)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(f"the browser tests need {' and '.join(missing)}: apt-get install chromium chromium-driver "
                    "(.ci/run does)", pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.fail(f"the browser tests need selenium (pip install -e '.[test]'): {e}", pytrace=False)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not download a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,900", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    except Exception as e:  # noqa: BLE001 - any reason the browser did not start is the failure
        pytest.fail(f"headless Chromium did not start: {type(e).__name__}: {e}", pytrace=False)
    yield driver
    driver.quit()


def open_page(driver, path: Path) -> float:
    """Load the page; returns the milliseconds from navigation start to the script being ready."""
    driver.get(path.resolve().as_uri())
    for _ in range(200):
        if driver.execute_script("return document.body && document.body.dataset.ready === 'true'"):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"{path.name}: the page's script never finished (console: {console(driver)})")
    return float(driver.execute_script("return document.body.dataset.readyMs"))


def console(driver) -> list:
    try:
        return [e["message"] for e in driver.get_log("browser")]
    except Exception:  # noqa: BLE001 - a driver without logs
        return []


def press(driver, key: str, times: int = 1) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    chain = ActionChains(driver)
    for _ in range(times):
        chain.send_keys(key)
    chain.perform()


def shown(driver, selector: str) -> list:
    """The visible SVG's elements matching `selector`."""
    return driver.execute_script(
        "const svg = document.querySelectorAll('svg.graph:not([hidden])');"
        "if (svg.length !== 1) throw new Error(svg.length + ' graphs shown');"
        "return [...svg[0].querySelectorAll(arguments[0])]", selector)


def leaf_grads(driver) -> dict[str, str]:
    return driver.execute_script(
        "const out = {}; document.querySelectorAll('#leaves td.grad').forEach(td => "
        "{ out[td.dataset.leaf] = td.textContent; }); return out;")


def numbers(text: str) -> tuple[list[float], float | None]:
    """A gradient as the page writes it: '19.5', or '(512, 784) [a, b, …] norm n'."""
    if "[" not in text:
        return [float(text)], None
    head = re.search(r"\[([^\]]*)\]", text)[1].replace("…", "")
    return [float(v) for v in head.split(",") if v.strip()], float(re.search(r"norm (\S+)", text)[1])


def assert_shows_grad(text: str, grad: np.ndarray) -> None:
    head, norm = numbers(text)
    flat = grad.reshape(-1).astype(np.float64)
    assert head == pytest.approx(flat[:len(head)], rel=1e-3, abs=1e-6), text
    if norm is not None:
        assert norm == pytest.approx(np.linalg.norm(flat), rel=1e-3), text


def assert_not_blank(png: bytes) -> None:
    from PIL import Image
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape[0] > 300 and image.shape[1] > 600
    ink = (image < 200).any(axis=2).mean()  # pixels that are not (near) white
    colours = len(np.unique(image.reshape(-1, 3), axis=0))
    assert 0.01 < ink < 0.9 and colours > 20, (ink, colours)


def step_through(driver, n_steps: int) -> None:
    """Press the step key through the whole pass, checking the counter as it goes."""
    press(driver, "\ue012", 1)  # ArrowLeft at step 0 stays at step 0
    assert driver.find_element("id", "counter").text == f"step 1 of {n_steps}"
    for k in range(n_steps):
        press(driver, "\ue014")  # ArrowRight
    assert driver.find_element("id", "counter").text == f"done: {n_steps} of {n_steps} ran"


# ---------------------------------------------------------------- the notes' worked examples

def chain_graph(lib):
    """Notes 004's chain in tinygrad_edu or torch: returns (loss, leaves by name)."""
    leaves = {name: lib.tensor(v, requires_grad=True) for name, v in
              (("x", 5.0), ("w1", 3.0), ("b1", 2.0), ("w3", -0.5), ("b3", 4.0))}
    x, w1, b1, w3, b3 = leaves.values()
    return (w3 * lib.relu(w1 * x + b1) + b3 - 2) ** 2, leaves


def test_chain_page_counts_steps_and_leaf_grads_equal_grad_and_torch(browser, tmp_path):
    loss, leaves = chain_graph(tg)
    nodes, n_edges = reachable(loss.grad_fn)
    path = viz.backward_page(loss, tmp_path / "chain.html", params=leaves)
    ref, ref_leaves = chain_graph(torch)
    ref.backward()
    open_page(browser, path)
    assert len(shown(browser, ".node")) == len(nodes) == 12 and len(shown(browser, ".edge")) == n_edges == 11
    assert leaf_grads(browser) == dict.fromkeys(leaves, "None")  # nothing filled in before the pass
    step_through(browser, len(nodes))
    grads = leaf_grads(browser)
    for name, leaf in leaves.items():
        assert_shows_grad(grads[name], leaf.grad.numpy())
        assert_shows_grad(grads[name], ref_leaves[name].grad.numpy())
    assert grads["x"] == "19.5"
    labels = [browser.execute_script("return arguments[0].textContent", t) for t in shown(browser, "text.val")]
    assert ".grad 19.5" in labels
    press(browser, "\ue011")  # Home: back to the start, the leaves empty again
    assert set(leaf_grads(browser).values()) == {"None"}
    assert_not_blank(browser.get_screenshot_as_png())


def test_tour_page_shows_the_notes_slip_at_the_step_it_happens(browser, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "autograd_tour.py"), "--page",
                           str(tmp_path / "tour.html")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    open_page(browser, tmp_path / "tour.html")
    tabs = browser.find_elements("css selector", "#examples button")
    assert len(tabs) == 3
    # 1. x^2 at 2, 2. u*v + u^2 at (1, 2) (u used twice: two arrivals summed), 3. the chain
    expected = [({"x": 4.0}, 2, 1), ({"u": 4.0, "v": 1.0}, 5, 5), ({"x": 19.5, "w1": 32.5, "b1": 6.5,
                                                                      "w3": -221.0, "b3": -13.0}, 12, 11)]
    for k, (grads, n_nodes, n_edges) in enumerate(expected):
        press(browser, str(k + 1))
        assert len(shown(browser, ".node")) == n_nodes and len(shown(browser, ".edge")) == n_edges
        now = browser.find_element("id", "now").text
        if k == 2:  # the slip is told at step 1, where PowBackward0 computes dl/dy3 = -13
            assert "Now running: PowBackward0" in now and "Here the notes slip" in now and "-11.5" in now
            assert "= 1 * 2 * (-6.5)^(2 - 1) = -13" in now
        step_through(browser, n_nodes)
        assert {name: numbers(text)[0][0] for name, text in leaf_grads(browser).items()} == grads
    press(browser, "2")
    for _ in range(5):  # on to u's AccumulateGrad
        now = browser.find_element("id", "now").text
        if "AccumulateGrad (u)" in now:
            break
        press(browser, "\ue014")
    assert "Now running: AccumulateGrad (u)" in now and "summed by the engine" in now
    assert now.count("from step") == 2 and ".grad: None → 4" in now


# ---------------------------------------------------------------- the notes' MNIST MLP

class MLP(nn.Module):
    """Notes 000's MNIST MLP: 784-512-256-128-64-10 with ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 128)
        self.fc4, self.fc5 = nn.Linear(128, 64), nn.Linear(64, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        a = x.view(-1, 784)
        for fc in (self.fc1, self.fc2, self.fc3, self.fc4):
            a = self.relu(fc(a))
        return self.fc5(a)


def test_mnist_mlp_page_collapses_layers_and_fills_every_leaf(browser, tmp_path):
    tg.manual_seed(0)
    model = MLP()
    images, labels = tg.rand(32, 1, 28, 28), tg.randint(0, 10, (32,))
    loss = nn.CrossEntropyLoss()(model(images), labels)
    nodes, n_edges = reachable(loss.grad_fn)
    path = viz.backward_page(loss, tmp_path / "mlp.html", params=model)
    size = path.stat().st_size
    load_ms = open_page(browser, path)
    print(f"\nMNIST MLP page: {len(nodes)} nodes, {size / 1024:.1f} KiB, ready {load_ms:.0f} ms after navigation")
    assert size < 200_000 and load_ms < 10_000
    groups = shown(browser, ".node.kind-group")  # collapsed by default: one box per Linear
    assert len(groups) == 5 and len(shown(browser, ".node")) == 1 + 5 + 4  # the loss, 5 layers, 4 ReLUs
    assert "fc1: Linear 784→512" in browser.execute_script("return arguments[0].textContent", groups[-1]) or \
        any("fc1: Linear 784→512" in browser.execute_script("return arguments[0].textContent", g) for g in groups)
    press(browser, "c")  # expanded: every node and edge of the graph
    assert len(shown(browser, ".node")) == len(nodes) == 25 and len(shown(browser, ".edge")) == n_edges
    press(browser, "c")
    step_through(browser, len(nodes))
    grads = leaf_grads(browser)
    assert set(grads) == {name for name, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        assert_shows_grad(grads[name], p.grad.numpy())
    assert_not_blank(browser.get_screenshot_as_png())
    press(browser, "-", 3)  # zoom and pan change the camera, not the page
    before = browser.execute_script("return document.querySelector('svg.graph:not([hidden]) .camera')"
                                    ".getAttribute('transform')")
    press(browser, "0")
    assert browser.execute_script("return document.querySelector('svg.graph:not([hidden]) .camera')"
                                  ".getAttribute('transform')") != before


def test_page_is_self_contained(tmp_path):
    loss, leaves = chain_graph(tg)
    text = viz.backward_page(loss, tmp_path / "chain.html", params=leaves).read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)  # nothing fetched
    assert "<svg" in text and "<style>" in text and "<script>" in text and "http://" not in text.replace(
        "http://www.w3.org", "")

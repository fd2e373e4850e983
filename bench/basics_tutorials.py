"""PyTorch's "Learn the Basics" tutorials (pytorch/tutorials, beginner_source/basics/*_tutorial.py),
run unchanged on tinygrad_edu (tests/torch_alias.py) and on torch 2.13 (with tests/torchvision_standin.py,
torchvision being uninstallable beside it), each in its own process and folder; prints a table of
how far each got and the last test accuracy / loss it printed.

    python bench/basics_tutorials.py --tutorials DIR [--data-dir MNIST_DIR] [--sides ours,torch]

DIR holds the tutorial files (fetch them from pytorch/tutorials; they are not part of this
repository). The Fashion-MNIST files are not on this machine: the MNIST IDX files in MNIST_DIR
($TINYGRAD_EDU_MNIST) stand in, linked as data/FashionMNIST/raw/. saveloadrun asks for
vgg16(weights='IMAGENET1K_V1'): nothing is downloaded, so a vgg16 with random weights is written
as vgg16-397923af.safetensors into a temporary $TINYGRAD_EDU_HOME/checkpoints for both sides
(without it both stop with the FileNotFoundError that says where the file goes).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIALS = ("quickstart", "tensorqs", "data", "transforms", "buildmodel", "autogradqs", "optimization",
             "saveloadrun")
_RESULT = re.compile(r"Accuracy: ([\d.]+)%, Avg loss: ([\d.]+)")


def _fake_imagenet_weights(home: str) -> None:
    """A vgg16 state dict (random, torchvision's init) where weights='IMAGENET1K_V1' looks for it."""
    sys.path.insert(0, ROOT)
    import tinygrad_edu as tg
    from tinygrad_edu.vision.models import vgg16
    from tinygrad_edu.vision.models.vgg import _FILES
    os.makedirs(os.path.join(home, "checkpoints"), exist_ok=True)
    tg.save(vgg16().state_dict(), os.path.join(home, "checkpoints", _FILES["vgg16"] + ".safetensors"))


def run(tutorial: str, side: str, args, work: str) -> dict:
    folder = os.path.join(work, f"{side}_{tutorial}")
    os.makedirs(folder)
    os.symlink(os.path.join(work, "data"), os.path.join(folder, "data"))
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS=str(args.threads),
               TINYGRAD_EDU_NUM_THREADS=str(args.threads), TINYGRAD_EDU_HOME=os.path.join(work, "home"),
               PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "tests"), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, os.path.join(ROOT, "tests", "torch_alias.py")] + (["--torch"] if side == "torch" else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd + [os.path.join(os.path.abspath(args.tutorials), f"{tutorial}_tutorial.py")],
                          cwd=folder, env=env, capture_output=True, text=True)
    found = _RESULT.findall(proc.stdout)
    error = proc.stderr.strip().splitlines()[-1] if proc.returncode else ""
    return {"ok": proc.returncode == 0, "seconds": time.perf_counter() - start, "error": error,
            "result": f"{found[-1][0]}% / {float(found[-1][1]):.4f}" if found else "",
            "first": f"{found[0][0]}%" if found else ""}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tutorials", required=True, help="folder of the *_tutorial.py files")
    p.add_argument("--data-dir", default=os.environ.get("TINYGRAD_EDU_MNIST", "data"),
                   help="the MNIST IDX files, standing in for Fashion-MNIST ($TINYGRAD_EDU_MNIST if set)")
    p.add_argument("--sides", default="ours,torch")
    p.add_argument("--only", default=",".join(TUTORIALS), help="comma-separated tutorial names")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-weights", action="store_true", help="leave the vgg16 weights file out")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "data", "FashionMNIST", "raw")
        os.makedirs(raw)
        for name in os.listdir(args.data_dir):
            if "ubyte" in name:
                os.symlink(os.path.abspath(os.path.join(args.data_dir, name)), os.path.join(raw, name))
        if not args.no_weights and "saveloadrun" in args.only:
            _fake_imagenet_weights(os.path.join(work, "home"))
        print("| tutorial | side | ran to the end | first -> last test accuracy / avg loss | seconds | error |")
        print("|---|---|---|---|---|---|")
        for tutorial in args.only.split(","):
            for side in args.sides.split(","):
                r = run(tutorial, side, args, work)
                result = f"{r['first']} -> {r['result']}" if r["result"] else ""
                print(f"| {tutorial} | {side} | {'yes' if r['ok'] else 'NO'} | {result} | {r['seconds']:.0f} | "
                      f"{r['error'][:120]} |", flush=True)


if __name__ == "__main__":
    main()

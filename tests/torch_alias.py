"""Run a PyTorch program unchanged on tinygrad_edu: `torch` (and every `torch.x.y`) imports as
`tinygrad_edu` (`tinygrad_edu.x.y`), `torchvision` as `tinygrad_edu.vision`.

    python tests/torch_alias.py program.py [args...]     # runs program.py as __main__
    python tests/torch_alias.py --torch program.py       # the same on real torch (torchvision_standin.py)
    with torch_alias.aliased(): runpy.run_path(...)       # the same, in-process (tests)

Only the import names change: nothing of the program is rewritten, so what fails is what a student
would meet. A test/benchmark helper, never part of the package."""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import runpy
import sys

ALIASES = {"torch": "tinygrad_edu", "torchvision": "tinygrad_edu.vision"}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)  # the real module, under its own __name__

    def exec_module(self, module):
        pass  # already executed when imported under its real name


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        head, _, rest = name.partition(".")
        if head not in ALIASES:
            return None
        real = ALIASES[head] + ("." + rest if rest else "")
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            found = None
        if found is None and real not in sys.modules:
            parent = sys.modules.get(real.rpartition(".")[0])  # an attribute made a submodule (torch.cuda...)
            if parent is None or not hasattr(parent, real.rpartition(".")[2]):
                return None
        return importlib.machinery.ModuleSpec(name, _AliasLoader(real))


@contextlib.contextmanager
def aliased():
    """Within the block, `import torch` / `import torchvision` give tinygrad_edu's modules."""
    saved = {k: v for k, v in sys.modules.items() if k.partition(".")[0] in ALIASES}
    for k in saved:
        del sys.modules[k]
    finder = _AliasFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k.partition(".")[0] in ALIASES]:
            del sys.modules[k]
        sys.modules.update(saved)


def main(argv: list[str]) -> None:
    on_torch = bool(argv) and argv[0] == "--torch"
    argv = argv[1:] if on_torch else argv
    if not argv:
        raise SystemExit("usage: python tests/torch_alias.py [--torch] program.py [args...]")
    sys.argv = argv
    if on_torch:
        import os
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # torchvision_ref.py
        import torchvision_standin
        torchvision_standin.install()
        runpy.run_path(argv[0], run_name="__main__")
        return
    with aliased():
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])

"""The old name of `tinygrad_edu.vision.datasets` (torchvision.datasets): the same modules, re-exported."""
import sys as _sys

from ..vision import datasets as _new
from ..vision.datasets import *  # noqa: F401,F403
from ..vision.datasets import __all__, mnist, utils  # noqa: F401

for _name in ("mnist", "utils"):  # `import tinygrad_edu.datasets.mnist` finds the same module
    _sys.modules[f"{__name__}.{_name}"] = getattr(_new, _name)

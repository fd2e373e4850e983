"""The old name of `tinygrad_edu.vision.transforms` (torchvision.transforms): the same objects, re-exported."""
import sys as _sys

from ..vision import transforms as _new
from ..vision.transforms import *  # noqa: F401,F403
from ..vision.transforms import __all__, functional, transforms  # noqa: F401

for _name in ("functional", "transforms"):
    _sys.modules[f"{__name__}.{_name}"] = getattr(_new, _name)

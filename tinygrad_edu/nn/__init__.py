"""`tinygrad_edu.nn`, mirroring `torch.nn`: Module, Parameter, layers, losses, `init`, `functional`.

Convolution and pooling layers live in nn/modules/conv.py and pooling.py.
"""
from . import functional, init, utils
from .modules import *  # noqa: F401,F403 -- the public layers, listed in modules.__all__
from .modules import __all__ as _modules_all
from .parameter import Parameter

__all__ = ["Parameter", "functional", "init", "utils", *_modules_all]


def __getattr__(name: str):
    """`nn.parallel` (DistributedDataParallel) loads on first use."""
    if name == "parallel":
        import importlib
        return importlib.import_module(".parallel", __name__)
    raise AttributeError(f"module 'tinygrad_edu.nn' has no attribute '{name}'")

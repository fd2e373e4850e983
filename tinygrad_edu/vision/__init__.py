"""`tinygrad_edu.vision`: torchvision's twin, so that `import tinygrad_edu.vision as torchvision` runs
tutorial code: `datasets` (MNIST, FashionMNIST), `transforms`, `utils` (make_grid, save_image),
`models` (resnet18, vgg11...vgg19_bn) and `io` (read_image, write_png). Submodules load on first use."""
import importlib as _importlib

__version__ = "0.1.0"
_LAZY = ("datasets", "transforms", "utils", "models", "io")


def __getattr__(name: str):
    if name in _LAZY:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tinygrad_edu.vision' has no attribute '{name}'")

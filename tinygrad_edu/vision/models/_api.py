"""Where pretrained weights come from (torchvision's `models/_api.py`, without the download).

Nothing is downloaded: `weights="DEFAULT"` / `"IMAGENET1K_V1"` (or `pretrained=True`) name torchvision's
ImageNet file, converted to safetensors, in the weights directory (`$TINYGRAD_EDU_HOME/checkpoints`,
default ~/.cache/tinygrad_edu/checkpoints); a missing file raises an error that says how to put it
there. `weights=path` loads a safetensors file you have.
"""
from __future__ import annotations

import os


def weights_dir() -> str:
    home = os.environ.get("TINYGRAD_EDU_HOME", os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_edu"))
    return os.path.join(home, "checkpoints")


def weights_path(arch: str, weights, filename: str) -> str | None:
    """None, or the safetensors file `weights` names for the model `arch`: a path, or "DEFAULT" /
    "IMAGENET1K_V1" (also as `Weights.DEFAULT`-like objects with that .name) meaning `filename` in
    weights_dir()."""
    if weights is None:
        return None
    name = str(getattr(weights, "name", weights))
    if name.split(".")[-1] in ("DEFAULT", "IMAGENET1K_V1"):
        path = os.path.join(weights_dir(), filename)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{arch}(weights={name!r}): tinygrad_edu never downloads weights. Put torchvision's ImageNet "
                f"weights, converted to safetensors, at {path} (in PyTorch: "
                f"safetensors.torch.save_file(torchvision.models.{arch}(weights='DEFAULT').state_dict(), path)), "
                "or pass weights='path/to/file.safetensors'.")
        return path
    if not os.path.isfile(name):
        raise FileNotFoundError(f"{arch}(weights={name!r}): no such file (weights is None, 'DEFAULT', "
                                "'IMAGENET1K_V1' or the path of a safetensors file)")
    return name


def load_weights(model, path: str | None):
    """`model` with the state dict in `path` loaded (strictly), or unchanged when path is None."""
    if path is not None:
        from ...serialization import load
        model.load_state_dict(load(path))
    return model

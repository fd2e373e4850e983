"""Where pretrained weights come from (torchvision's `models/_api.py`, without the download).

Nothing is downloaded: `weights="DEFAULT"` / `"IMAGENET1K_V1"` (or `pretrained=True`) name torchvision's
ImageNet file in the weights directory (`$TINYGRAD_EDU_HOME/checkpoints`, default
~/.cache/tinygrad_edu/checkpoints): the `.pth` file torchvision downloads (PyTorch's zip format), or a
safetensors copy of it. A missing file raises an error that says where to put it. `weights=path` loads a
file you have (either format).
"""
from __future__ import annotations

import os


def weights_dir() -> str:
    home = os.environ.get("TINYGRAD_EDU_HOME", os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_edu"))
    return os.path.join(home, "checkpoints")


def weights_path(arch: str, weights, stem: str) -> str | None:
    """None, or the file `weights` names for the model `arch`: a path, or "DEFAULT" / "IMAGENET1K_V1"
    (also as `Weights.DEFAULT`-like objects with that .name) meaning torchvision's file `stem` + ".pth"
    (or + ".safetensors") in weights_dir()."""
    if weights is None:
        return None
    name = str(getattr(weights, "name", weights))
    if name.split(".")[-1] in ("DEFAULT", "IMAGENET1K_V1"):
        candidates = [os.path.join(weights_dir(), stem + ext) for ext in (".pth", ".safetensors")]
        for path in candidates:
            if os.path.isfile(path):
                return path
        raise FileNotFoundError(
            f"{arch}(weights={name!r}): tinygrad_edu never downloads weights. Put torchvision's ImageNet "
            f"weights at {candidates[0]} (the file torchvision downloads to ~/.cache/torch/hub/checkpoints) "
            f"or, as safetensors, at {candidates[1]}, or pass weights='path/to/file'.")
    if not os.path.isfile(name):
        raise FileNotFoundError(f"{arch}(weights={name!r}): no such file (weights is None, 'DEFAULT', "
                                "'IMAGENET1K_V1' or the path of a .pth or safetensors file)")
    return name


def load_weights(model, path: str | None):
    """`model` with the state dict in `path` loaded (strictly), or unchanged when path is None."""
    if path is not None:
        from ...serialization import load
        model.load_state_dict(load(path))
    return model

"""Devices, as a CPU-only build of PyTorch sees them.

`device("cuda")` can be made (PyTorch allows it: it is only a name); putting a tensor there
raises what a CPU-only PyTorch raises: `AssertionError: Torch not compiled with CUDA enabled`.
So the tutorials' first line, `device = "cuda" if torch.cuda.is_available() else "cpu"`,
picks the CPU, and code that insists on a GPU stops with PyTorch's own message.
"""
from __future__ import annotations

# PyTorch's device types (the list its parser names); only "cpu" can hold a tensor here.
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
          "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """`device("cpu")`, `device("cuda:1")`, `device("cuda", 0)`: a device's name, as torch.device."""

    def __init__(self, type="cpu", index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        type = str(type)
        name, _, number = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}")
        if number:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: "
                                   f"{type}")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = name, index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        """As PyTorch: a device equals a device, never a string (`x.device == "cpu"` is False)."""
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


class NotCompiledError(AssertionError, RuntimeError):
    """PyTorch's CPU build raises AssertionError for a CUDA device; our earlier versions raised
    RuntimeError. This one is both, so code that catches either keeps working."""


def check_device(d) -> device:
    """The device `d` names if a tensor can live there (only the CPU), else PyTorch's CPU-build error."""
    d = d if isinstance(d, device) else device(str(d))
    if d.type == "cpu":
        return CPU
    if d.type in ("cuda", "xpu"):
        raise NotCompiledError(f"Torch not compiled with {'CUDA' if d.type == 'cuda' else 'XPU'} enabled "
                               "(tinygrad_edu runs on the CPU only)")
    if d.type == "mps":
        raise RuntimeError("PyTorch is not linked with support for mps devices (tinygrad_edu runs on the CPU only)")
    raise RuntimeError(f"the '{d.type}' device is not supported: tinygrad_edu runs on the CPU only")


def set_default_device(device) -> None:
    """Only the CPU (or None, which resets to it). PyTorch accepts "cuda" here and fails at the
    first tensor; we fail at once with the same error, which is easier to trace."""
    if device is not None:
        check_device(device)


def get_default_device() -> device:
    return CPU

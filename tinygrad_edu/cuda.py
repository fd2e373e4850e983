"""torch.cuda as a CPU-only PyTorch build answers it: no GPU, and PyTorch's errors where one is needed.

`is_available()` is False and `device_count()` 0, so `"cuda" if torch.cuda.is_available() else "cpu"`
picks the CPU. Seeding is a no-op (as PyTorch's without CUDA: it would seed lazily, if ever);
asking for a current device raises PyTorch's `AssertionError: Torch not compiled with CUDA enabled`.
"""
from __future__ import annotations

from ._device import check_device


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """A no-op, as in a CPU-only PyTorch."""


def manual_seed_all(seed: int) -> None:
    """A no-op, as in a CPU-only PyTorch."""


def seed() -> None:
    """A no-op, as in a CPU-only PyTorch."""


def seed_all() -> None:
    """A no-op, as in a CPU-only PyTorch."""


def empty_cache() -> None:
    """A no-op, as in a CPU-only PyTorch (nothing is cached on a GPU)."""


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def _not_compiled(*args, **kwargs):
    check_device("cuda")  # raises AssertionError: Torch not compiled with CUDA enabled


def current_device() -> int:
    return _not_compiled()


def get_device_name(device=None) -> str:
    return _not_compiled()


def get_device_properties(device=None):
    return _not_compiled()


def set_device(device) -> None:
    _not_compiled()


def synchronize(device=None) -> None:
    _not_compiled()

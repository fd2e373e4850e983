"""torch.accelerator as a CPU-only PyTorch build answers it: there is no accelerator.

`current_accelerator()` is None (so `torch.accelerator.current_accelerator().type if
torch.accelerator.is_available() else "cpu"` picks the CPU); what needs a device raises
PyTorch's `RuntimeError: Cannot access accelerator device when none is available.`
"""
from __future__ import annotations


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    return None


def device_count() -> int:
    return 0


def _none_available(*args, **kwargs):
    raise RuntimeError("Cannot access accelerator device when none is available.")


current_device_index = current_device_idx = set_device_index = set_device_idx = _none_available
synchronize = empty_cache = memory_allocated = max_memory_allocated = get_device_capability = _none_available

"""torch.backends as a CPU-only PyTorch build answers it: `cudnn`, `mps` and `cuda` exist, none is usable.

Not to be confused with `tinygrad_edu.backend` (singular), which picks our C or NumPy kernels.
"""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]

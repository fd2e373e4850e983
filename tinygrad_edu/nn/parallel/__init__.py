"""`torch.nn.parallel`: DistributedDataParallel (data parallelism over MPI processes)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]

"""`torch.utils`: only `utils.data` (datasets, samplers, DataLoader) exists here."""
from . import data

__all__ = ["data"]

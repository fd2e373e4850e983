"""`torchvision.datasets`: MNIST and FashionMNIST (IDX files, read with NumPy; no PIL)."""
from .mnist import MNIST, FashionMNIST
from .utils import DatasetFileError, check_integrity, download_url, read_idx

__all__ = ["MNIST", "DatasetFileError", "FashionMNIST", "check_integrity", "download_url", "read_idx"]

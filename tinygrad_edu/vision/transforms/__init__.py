"""`torchvision.transforms`: Compose, ToTensor, Normalize, Lambda (transforms.py) and Resize,
CenterCrop, RandomCrop, RandomHorizontalFlip, Pad, ToPILImage (geometry.py); `functional` as
torchvision.transforms.functional."""
from . import functional
from .functional import InterpolationMode
from .geometry import CenterCrop, Pad, RandomCrop, RandomHorizontalFlip, Resize, ToPILImage
from .transforms import Compose, Lambda, Normalize, ToTensor, is_batchable

__all__ = ["CenterCrop", "Compose", "InterpolationMode", "Lambda", "Normalize", "Pad", "RandomCrop",
           "RandomHorizontalFlip", "Resize", "ToPILImage", "ToTensor", "functional", "is_batchable"]

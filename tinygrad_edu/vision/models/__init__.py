"""`torchvision.models`: resnet18 (the notes' transfer-learning model)."""
from .resnet import BasicBlock, ResNet, resnet18

__all__ = ["BasicBlock", "ResNet", "resnet18"]

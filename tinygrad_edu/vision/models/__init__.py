"""`torchvision.models`: resnet18 (the notes' transfer-learning model) and the VGG family (the basics
tutorials' save/load model)."""
from .resnet import BasicBlock, ResNet, resnet18
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = ["BasicBlock", "ResNet", "resnet18", "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn"]

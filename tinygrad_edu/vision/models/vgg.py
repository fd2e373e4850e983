"""VGG as torchvision builds it (Simonyan & Zisserman, 2014): the same modules, parameter names
("features.0.weight", "classifier.6.bias", ...) and initialisation, so a state dict saved from
torchvision's vgg16 (converted to safetensors) loads unchanged. vgg16 has 138,357,544 parameters.

One builder for all eight: `make_layers(cfgs[letter], batch_norm)` stacks 3x3 convolutions (the
numbers: output channels) and 2x2 max-pools ("M"); `VGG` adds a 7x7 adaptive average pool and three
Linear layers with dropout. Weights: as resnet18 (see `_api.py`): nothing is ever downloaded.
"""
from __future__ import annotations

from ... import nn
from ._api import load_weights, weights_path

# torchvision's configurations: A = VGG-11, B = VGG-13, D = VGG-16, E = VGG-19
cfgs: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}

# torchvision's IMAGENET1K_V1 file names (their hashes), as safetensors
_FILES = {"vgg11": "vgg11-8a719046", "vgg13": "vgg13-19584684", "vgg16": "vgg16-397923af",
          "vgg19": "vgg19-dcbb9e9d", "vgg11_bn": "vgg11_bn-6002323d", "vgg13_bn": "vgg13_bn-abd245e5",
          "vgg16_bn": "vgg16_bn-6c64b313", "vgg19_bn": "vgg19_bn-c79401a0"}


class VGG(nn.Module):
    """features (from make_layers), AdaptiveAvgPool2d((7, 7)), then Linear(25088, 4096), ReLU, Dropout,
    Linear(4096, 4096), ReLU, Dropout, Linear(4096, num_classes). Init as torchvision: convolutions
    Kaiming-normal (fan_out, relu) with zero bias, batch norms 1 and 0, Linear N(0, 0.01) with zero bias."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def make_layers(cfg: list, batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part: for each number v a Conv2d(in, v, 3, padding=1) (+ BatchNorm2d(v)) and
    ReLU, for each "M" a MaxPool2d(2, 2); 3 input channels."""
    layers: list = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


def _vgg(arch: str, cfg: str, batch_norm: bool, weights, pretrained, kwargs) -> VGG:
    if pretrained:  # torchvision's old keyword
        weights = "DEFAULT"
    path = weights_path(arch, weights, _FILES[arch])
    if path is not None:
        kwargs.setdefault("init_weights", False)  # as torchvision: the file overwrites them anyway
    return load_weights(VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs), path)


def vgg11(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg11 (configuration "A"): 132,863,336 parameters."""
    return _vgg("vgg11", "A", False, weights, pretrained, kwargs)


def vgg11_bn(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg11_bn: vgg11 with a BatchNorm2d after each convolution."""
    return _vgg("vgg11_bn", "A", True, weights, pretrained, kwargs)


def vgg13(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg13 (configuration "B"): 133,047,848 parameters."""
    return _vgg("vgg13", "B", False, weights, pretrained, kwargs)


def vgg13_bn(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg13_bn: vgg13 with a BatchNorm2d after each convolution."""
    return _vgg("vgg13_bn", "B", True, weights, pretrained, kwargs)


def vgg16(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg16 (configuration "D"): 138,357,544 parameters."""
    return _vgg("vgg16", "D", False, weights, pretrained, kwargs)


def vgg16_bn(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg16_bn: vgg16 with a BatchNorm2d after each convolution."""
    return _vgg("vgg16_bn", "D", True, weights, pretrained, kwargs)


def vgg19(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg19 (configuration "E"): 143,667,240 parameters."""
    return _vgg("vgg19", "E", False, weights, pretrained, kwargs)


def vgg19_bn(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> VGG:
    """torchvision.models.vgg19_bn: vgg19 with a BatchNorm2d after each convolution."""
    return _vgg("vgg19_bn", "E", True, weights, pretrained, kwargs)

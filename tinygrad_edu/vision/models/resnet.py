"""ResNet-18 as torchvision builds it: the same modules, parameter names and initialisation, so a
state dict saved from torchvision's resnet18 (converted to safetensors) loads unchanged.

Nothing is downloaded: `weights="DEFAULT"` / `"IMAGENET1K_V1"` (or `pretrained=True`) load
resnet18-f37072fd.safetensors from the weights directory (`$TINYGRAD_EDU_HOME/checkpoints`,
default ~/.cache/tinygrad_edu/checkpoints) or raise an error that says how to put it there;
`weights=path` loads a safetensors file you have.
"""
from __future__ import annotations

from ... import nn
from ._api import load_weights, weights_dir, weights_path  # noqa: F401 (weights_dir: public here before)

_WEIGHTS_FILE = "resnet18-f37072fd"  # torchvision's IMAGENET1K_V1 file (.pth, or a .safetensors copy)


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, plus the input (through `downsample` when the shape changes)."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """conv 7x7/2, max-pool 3x3/2, four stages of blocks (64, 128, 256, 512 channels), global
    average pool, Linear: torchvision's ResNet for BasicBlock (ResNet-18 and -34)."""

    def __init__(self, block, layers: list[int], num_classes: int = 1000, zero_init_residual: bool = False):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(*, weights=None, progress: bool = True, pretrained: bool | None = None, **kwargs) -> ResNet:
    """torchvision.models.resnet18: 11,689,512 parameters for 1000 classes. `num_classes=` etc. as
    torchvision's; `pretrained=True` (torchvision's old keyword) means weights="DEFAULT"."""
    if pretrained:
        weights = "DEFAULT"
    path = weights_path("resnet18", weights, _WEIGHTS_FILE)
    return load_weights(ResNet(BasicBlock, [2, 2, 2, 2], **kwargs), path)

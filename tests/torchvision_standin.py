"""The torchvision that the basics tutorials and pytorch/examples' MNIST programs use, for real torch
(torchvision cannot be installed beside torch 2.13 here): datasets.MNIST/FashionMNIST read with our IDX
reader, transforms.ToTensor/Lambda/Compose/Normalize, utils.save_image, io.read_image and
models.vgg11...vgg19 (torchvision_ref.py's port), all giving torch tensors.
`install()` puts it into sys.modules as `torchvision`; `python tests/torch_alias.py --torch prog.py`
runs a program on torch with it, to compare with the same program on tinygrad_edu."""
from __future__ import annotations

import sys
import types

import numpy as np
import torch


class ToTensor:
    """uint8 [H, W] (or [H, W, C]) -> float [C, H, W] in [0, 1], as torchvision's on a PIL image."""

    def __call__(self, pic):
        a = np.asarray(pic)
        a = a[:, :, None] if a.ndim == 2 else a
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float().div(255)


class Lambda:
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)


class Normalize:
    """(x - mean) / std per channel, as torchvision's on a [C, H, W] tensor."""

    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean), torch.tensor(std)

    def __call__(self, x):
        return (x - self.mean.to(x.dtype)[:, None, None]) / self.std.to(x.dtype)[:, None, None]


def save_image(tensor, fp, **kwargs):
    """Our vision.utils.save_image on the torch tensor's values (the pictures are not compared)."""
    import tinygrad_edu
    from tinygrad_edu.vision import utils
    utils.save_image(tinygrad_edu.from_numpy(tensor.detach().numpy().copy()), fp, **kwargs)


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


def _dataset(ours_cls):
    class Dataset(torch.utils.data.Dataset):
        classes = ours_cls.classes

        def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
            ours = ours_cls(root, train=train, download=download)  # the same files, folders and errors
            self.data = torch.from_numpy(ours.data.numpy().copy())
            self.targets = torch.from_numpy(ours.targets.numpy().copy())
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.data)

        def __getitem__(self, index):
            img, target = self.data[index].numpy(), int(self.targets[index])
            if self.transform is not None:
                img = self.transform(img)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return img, target
    Dataset.__name__ = Dataset.__qualname__ = ours_cls.__name__
    return Dataset


def read_image(path, mode=None):
    from tinygrad_edu.vision.io import ImageReadMode
    from tinygrad_edu.vision.io import read_image as ours
    return torch.from_numpy(ours(path, mode or ImageReadMode.UNCHANGED).numpy().copy())


def _vgg(arch, cfg, batch_norm):
    def build(*, weights=None, pretrained=False, **kwargs):
        """torchvision_ref's VGG; weights: the same safetensors file tinygrad_edu would load (or its error)."""
        import torchvision_ref
        from tinygrad_edu.vision.models._api import weights_path
        from tinygrad_edu.vision.models.vgg import _FILES
        path = weights_path(arch, "DEFAULT" if pretrained else weights, _FILES[arch] + ".safetensors")
        model = torchvision_ref.vgg(cfg, batch_norm, **kwargs)
        if path is not None:
            from safetensors.torch import load_file
            model.load_state_dict(load_file(path))
        return model
    return build


def install() -> None:
    from tinygrad_edu.vision import datasets as ours
    tv = types.ModuleType("torchvision")
    parts = {
        "datasets": {"MNIST": _dataset(ours.MNIST), "FashionMNIST": _dataset(ours.FashionMNIST)},
        "transforms": {"ToTensor": ToTensor, "Lambda": Lambda, "Compose": Compose, "Normalize": Normalize},
        "utils": {"save_image": save_image},
        "io": {"read_image": read_image},
        "models": {name: _vgg(name, cfg, bn) for name, cfg, bn in [
            ("vgg11", "A", False), ("vgg13", "B", False), ("vgg16", "D", False), ("vgg19", "E", False),
            ("vgg11_bn", "A", True), ("vgg13_bn", "B", True), ("vgg16_bn", "D", True), ("vgg19_bn", "E", True)]},
    }
    sys.modules["torchvision"] = tv
    for name, members in parts.items():
        mod = types.ModuleType(f"torchvision.{name}")
        mod.__dict__.update(members)
        setattr(tv, name, mod)
        sys.modules[f"torchvision.{name}"] = mod

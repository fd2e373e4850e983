"""The layers of `tinygrad_edu.nn`, one file per family as torch/nn/modules."""
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, L1Loss, MSELoss, MultiMarginLoss,
                   NLLLoss, PoissonNLLLoss)
from .module import Module
from .pooling import MaxPool2d

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "BatchNorm2d", "Flatten", "Unflatten",
           "Conv2d", "MaxPool2d",
           "L1Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "MultiMarginLoss",
           "PoissonNLLLoss", "GaussianNLLLoss"]

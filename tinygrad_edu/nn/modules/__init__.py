"""The layers of `tinygrad_edu.nn`, one file per family as torch/nn/modules."""
from .activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, ReLU6, SiLU, Sigmoid, Softmax, Softplus, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout, Dropout2d
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, HuberLoss, L1Loss, MSELoss,
                   MultiMarginLoss, NLLLoss, PoissonNLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import LayerNorm
from .pooling import AdaptiveAvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid",
           "Tanh", "ELU", "SiLU", "Softplus", "Hardtanh", "ReLU6", "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "Embedding", "Flatten", "Unflatten", "Conv2d", "MaxPool2d", "AdaptiveAvgPool2d", "L1Loss", "MSELoss",
           "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "MultiMarginLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell",
           "LSTMCell", "GRUCell", "GELU", "Dropout2d"]

"""keras.layers: Dense, Conv2D, MaxPooling2D, Flatten, Dropout, BatchNormalization, Activation, Input."""
from .base import Layer, Variable
from .conv import Conv2D, MaxPooling2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, KerasTensor
from .normalization import BatchNormalization

Convolution2D, MaxPool2D = Conv2D, MaxPooling2D  # Keras's aliases

__all__ = ["Layer", "Variable", "Conv2D", "Convolution2D", "MaxPooling2D", "MaxPool2D", "Activation", "Dense",
           "Dropout", "Flatten", "Input", "InputLayer", "KerasTensor", "BatchNormalization"]

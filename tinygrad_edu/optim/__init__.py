"""torch.optim: optimizers that update parameters from their `.grad`, and `lr_scheduler`.

Each optimizer's `step()` calls one kernel per parameter (`backend.kernels.sgd_step`,
`adam_step`, `rmsprop_step`, `adagrad_step`): a single pass over the parameter, its gradient
and its state, in C (csrc/optim.c) or its NumPy twin, whichever backend is active.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "lr_scheduler"]

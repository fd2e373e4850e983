"""BatchNormalization over the channel axis (Keras's axis=-1), as our batch_norm."""
from __future__ import annotations

from ... import nn
from ...tensor import Tensor
from .base import Layer


class BatchNormalization(Layer):
    """Normalise each channel with the batch's mean and variance in training, with the moving
    ones in inference; then scale by gamma and shift by beta.

    Keras's defaults: momentum 0.99 (the moving average keeps 99%: PyTorch's momentum=0.01),
    epsilon 1e-3 (PyTorch 1e-5). Weights: gamma, beta (trainable), moving_mean, moving_variance.
    Where we differ: the moving variance is updated with the unbiased batch variance (PyTorch's
    rule; Keras uses the biased one, n/(n-1) smaller); axis must be the last; center and scale
    both on or both off.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis != -1 or center != scale:
            raise NotImplementedError("BatchNormalization: only axis=-1, and center == scale, are supported")
        if (beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer) != \
                ("zeros", "ones", "zeros", "ones"):
            raise NotImplementedError("BatchNormalization: only the default initializers are supported")
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, momentum, epsilon, center, scale

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) not in (2, 4) or input_shape[-1] is None:
            raise NotImplementedError(f"BatchNormalization '{self.name}': inputs of rank 2 or 4 with a known last "
                                      f"axis are supported, got {input_shape}")
        cls = nn.BatchNorm1d if len(input_shape) == 2 else nn.BatchNorm2d
        self.module = cls(input_shape[-1], eps=self.epsilon, momentum=1.0 - self.momentum, affine=self.scale)
        if self.scale:
            self.add_weight("gamma", self.module.weight)
            self.add_weight("beta", self.module.bias)
        self.add_weight("moving_mean", self.module.running_mean, trainable=False)
        self.add_weight("moving_variance", self.module.running_var, trainable=False)
        super().build(input_shape)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        m = self.module
        return nn.functional.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, training,
                                        m.momentum, m.eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}

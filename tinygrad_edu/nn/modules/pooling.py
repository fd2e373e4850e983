"""`MaxPool2d`: the max over each window, as torch.nn.MaxPool2d (arguments kept as given)."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module


class MaxPool2d(Module):
    """Max over each kernel_size window of [N, C, H, W] or [C, H, W]; stride defaults to kernel_size.

    padding is implicit -inf, ceil_mode rounds the output size up; with return_indices the
    forward returns (values, flat H*W indices of the maxima) as PyTorch's.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (int or (h, w), None keeping the input's), as
    torch.nn.AdaptiveAvgPool2d: window i covers [floor(i*H/h), ceil((i+1)*H/h))."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

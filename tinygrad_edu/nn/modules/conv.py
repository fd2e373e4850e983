"""`Conv2d`: a learnt 2-D cross-correlation, weight [out_channels, in_channels, kH, kW]."""
from __future__ import annotations

from ... import creation
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .linear import Linear
from .module import Module

# PyTorch prints these as sets: built in its insertion order, they print in its order.
_PADDING_STRINGS = ("same", "valid")
# The padding modes PyTorch knows (its error message prints this set).
_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _pair(value) -> tuple:
    """PyTorch's nn.modules.utils._pair: a sequence as a tuple, anything else repeated twice."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class Conv2d(Module):
    """out[n, o] = bias[o] + sum_c weight[o, c] (star) input[n, c], as torch.nn.Conv2d.

    kernel_size, stride, dilation and padding are stored as pairs (padding may also be 'same'
    or 'valid'); the output size is floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1.
    Initialised as PyTorch (the same rule as Linear, fan_in = in_channels * kH * kW):
    weight ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias ~ the same.
    Where we differ: groups must be 1 and padding_mode 'zeros' (NotImplementedError otherwise).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        kernel_size, stride, dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        # PyTorch's argument checks, in its order
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in _PADDING_STRINGS:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {set(_PADDING_STRINGS)}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _pair(padding)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode='{padding_mode}'")
        if groups != 1:
            raise NotImplementedError(f"Conv2d: groups={groups} is not supported, only groups=1")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode='{padding_mode}' is not supported, only 'zeros'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.transposed, self.output_padding = False, (0, 0)
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(creation.empty(out_channels, in_channels // groups, *kernel_size, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    # PyTorch's _ConvNd.reset_parameters is Linear's rule with fan_in over the receptive field,
    # which init._calculate_fan_in_and_fan_out already computes for a 4-D weight.
    reset_parameters = Linear.reset_parameters

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):  # a string ('same', 'valid') is printed too, as PyTorch
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s

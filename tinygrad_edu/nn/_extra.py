"""Functional forms added with the torchvision twin and the recurrent layers: adaptive average
pooling (as two matrix products, so backward is the matmul's). `nn.functional` re-exports them.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, tensor


def _pool_matrix(in_size: int, out_size: int, dtype) -> np.ndarray:
    """(out, in) averaging matrix of PyTorch's adaptive pooling: window i is
    [floor(i * in / out), ceil((i + 1) * in / out))."""
    m = np.zeros((out_size, in_size), dtype)
    for i in range(out_size):
        start, end = (i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive windows of [N, C, H, W] or [C, H, W] to output_size (int, or
    (h, w) with None meaning the input's size), computed as P_h @ x @ P_w^T."""
    if input.dim() not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f'"adaptive_avg_pool2d" not implemented for \'{input.dtype}\'')
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be 2, got {len(size)}")
    h, w = input.shape[-2:]
    out_h, out_w = h if size[0] is None else size[0], w if size[1] is None else size[1]
    if min(h, w) == 0 or out_h <= 0 or out_w <= 0:
        raise RuntimeError(f"adaptive_avg_pool2d(): output size {[out_h, out_w]} and input {list(input.shape)} "
                           "must be positive")
    dt = input.dtype.np
    if (out_h, out_w) == (1, 1):  # the global average (ResNet's head): one mean
        return input.mean(dim=(-2, -1), keepdim=True)
    return tensor(_pool_matrix(h, out_h, dt)) @ input @ tensor(_pool_matrix(w, out_w, dt).T)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (Phi the standard normal CDF), or its tanh approximation, as torch's gelu."""
    from ..ops import Gelu
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh.")
    if not input.is_floating_point():
        raise RuntimeError(f'"GeluKernelImpl" not implemented for \'{str(input.dtype).split(".")[-1].capitalize()}\'')
    return Gelu.apply(input, approximate)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels (every H x W map of [N, C, H, W] or [C, H, W]) with probability p, scale the
    rest by 1/(1-p). A 3-D input is taken as [N, C, L] with a warning, as PyTorch does."""
    import warnings

    from ..random import _generator
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
                      "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).")
    elif input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.")
    if not training or p == 0.0 or input.dim() < 2:
        return input
    dt = input.dtype.np
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    draws = _generator(None).random(shape)
    mask = Tensor._make(np.where(draws >= p, dt.type(0.0 if p == 1.0 else 1.0 / (1.0 - p)), dt.type(0)))
    return input.mul_(mask) if inplace else input * mask

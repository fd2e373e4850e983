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

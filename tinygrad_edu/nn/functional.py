"""`nn.functional`: the functional form of every layer and loss (the modules call these).

Each follows PyTorch's formula, defaults and reduction semantics. Where PyTorch records one
fused node, so do we (nll_loss: NllLossBackward0; mse_loss, binary_cross_entropy,
binary_cross_entropy_with_logits: see `ops/loss.py`). cross_entropy goes further: one node,
CrossEntropyLossBackward0, where PyTorch has NllLossBackward0 <- LogSoftmaxBackward0; the rest are
written with Tensor ops as PyTorch's are (l1, Poisson and Gaussian NLL). batch_norm and
multi_margin_loss are one node each (NativeBatchNormBackward0, MultiMarginLossBackward0).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import addmm, ops
from ..ops import _loss_fastpath
from ..autograd import grad_mode
from ..dtypes import result_type
from ..random import _generator
from .._tensor_math import _check_not_bool_sub
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")
_CLASS_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))  # of class-index targets
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


# ---------------------------------------------------------------- reductions

def _reduction(size_average, reduce, reduction: str) -> str:
    """The legacy size_average/reduce arguments, as PyTorch's _Reduction.legacy_get_string."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                      f"{'none' if reduce is False else ('mean' if size_average in (None, True) else 'sum')}' "
                      "instead.", UserWarning, stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _same_size(input: Tensor, target: Tensor) -> None:
    """PyTorch broadcasts a target of another size with a warning (usually a bug: [N,1] vs [N])."""
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                      "the same size.", UserWarning, stacklevel=3)


def _const_array(x: Tensor | None, like: Tensor, fn: str = "", arg: str = "weight") -> np.ndarray | None:
    """A class weight as a constant array of input's dtype: as PyTorch's, the fused losses are not
    differentiable with respect to it, and say so rather than silently give no gradient."""
    if x is None:
        return None
    if x.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{arg}'. This "
                           "input cannot have requires_grad True.")
    return x._data.astype(like._data.dtype, copy=False)


def _float_only(kernel: str, dtype: np.dtype) -> None:
    """PyTorch's error for a kernel it has only for floating dtypes: integers are refused, never truncated."""
    if dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_TYPE_NAMES[dtype.name]}\'')


def _cast_error(result: np.dtype, output: np.dtype) -> RuntimeError:
    return RuntimeError(f"result type {_TYPE_NAMES[result.name]} can't be cast to the desired output type "
                        f"{_TYPE_NAMES[output.name]}")


def _promote(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """input and target in one floating dtype (PyTorch's promotion), for the fused losses."""
    if not isinstance(target, Tensor):
        raise TypeError(f"target must be a Tensor, not {type(target).__name__}")
    dt = result_type(input, target).np  # PyTorch's promotion: int64 with float32 is float32
    dt = dt if dt.kind == "f" else np.dtype(np.float32)
    return (input if input._data.dtype == dt else input.to(dt)), (target if target._data.dtype == dt else target.to(dt))


# ---------------------------------------------------------------- layers

def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias. With a bias, one AddmmBackward0 node (as PyTorch), other input
    dims folded into the batch and viewed back (ViewBackward0 on top, as PyTorch)."""
    ndim = input._data.ndim
    if bias is not None and ndim >= 1:
        if ndim == 2:
            out = ops.matmul.linear_without_graph(input, weight, bias)  # PERF: None when a graph is recorded
            return out if out is not None else addmm(bias, input, weight.t())
        flat = addmm(bias, input.reshape(-1, input.shape[-1]), weight.t())
        return flat.view(*input.shape[:-1], flat.shape[-1])
    out = input.matmul(weight.t())
    return out + bias if bias is not None else out


def _activation(input: Tensor, inplace: bool, apply) -> Tensor:
    """apply(input), or written into input's memory (PyTorch's inplace=True, with its autograd rules)."""
    return input._inplace(apply) if inplace else apply(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    _float_only("leaky_relu_cpu", input._data.dtype)
    return _activation(input, inplace, lambda x: ops.LeakyRelu.apply(x, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    _float_only("elu_cpu", input._data.dtype)
    return _activation(input, inplace, lambda x: ops.Elu.apply(x, alpha))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    _float_only("silu_cpu", input._data.dtype)
    return _activation(input, inplace, ops.Silu.apply)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    _float_only("softplus_cpu", input._data.dtype)
    return ops.Softplus.apply(input, beta, threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input._data.dtype == np.bool_:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    return _activation(input, inplace, lambda x: ops.Hardtanh.apply(x, min_val, max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    return input.softmax(_softmax_dim("softmax", input.dim()) if dim is None else dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    return input.log_softmax(_softmax_dim("log_softmax", input.dim()) if dim is None else dim, dtype=dtype)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not training.

    The mask comes from tinygrad_edu's global generator, so `manual_seed` repeats it (PyTorch's
    numbers differ: another random stream)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    dt = input._data.dtype
    if dt.kind != "f" and p < 1.0:  # the mask is scaled by 1/(1-p): PyTorch refuses to truncate it
        raise _cast_error(np.dtype(np.float32), dt)
    draws = _generator(None).random(input.shape, dtype=np.float32 if dt == np.float32 else np.float64)
    mask = Tensor._make(np.where(draws >= p, dt.type(0.0 if p == 1.0 else 1.0 / (1.0 - p)), dt.type(0)))
    return input.mul_(mask) if inplace else input * mask


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) over the batch and any spatial dims, then scale and shift.

    training: use the batch's mean and biased variance, and update the running stats in place
    with momentum (running_var from the unbiased variance, as PyTorch); otherwise use the
    running stats. One NativeBatchNormBackward0 node, as PyTorch."""
    if input.dim() < 2:
        raise ValueError(f"expected 2D or more input (got {input.dim()}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if training and input.numel() // c <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    # the running stats go in as arrays: state the forward updates, never part of the graph
    out = ops.NativeBatchNorm.apply(input, weight, bias, _array_or_none(running_mean),
                                           _array_or_none(running_var), training, momentum, eps)
    for t in (running_mean, running_var) if training else ():
        if t is not None:
            t._version[0] += 1  # updated in place by the forward
    return out


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each sample over its last len(normalized_shape) dims, then scale and shift
    (one NativeLayerNormBackward0 node, as PyTorch)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.dim() - len(shape):]) != shape or input.dim() < len(shape):
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(shape)}")
    return ops.NativeLayerNorm.apply(input, weight, bias, len(shape), eps)


def _array_or_none(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else t._data


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of weight [num_embeddings, dim] picked by the integer indices `input` (any shape).

    Differs from PyTorch: max_norm, scale_grad_by_freq and sparse are not supported (they raise)."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    if input._data.dtype not in (np.int64, np.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    indices = input._data
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return ops.Embedding.apply(weight, indices, padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 [..., num_classes] with a 1 at each index (num_classes=-1: max index + 1)."""
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    data = tensor._data
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if data.min() >= 0
                           else "Class values must be non-negative.")
    return Tensor._make((data[..., None] == np.arange(num_classes)).astype(np.int64))


# ---------------------------------------------------------------- regression losses

def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_size(input, target)
    _float_only("mse_cpu", result_type(input, target).np)
    input, target = _promote(input, target)
    return ops.MseLoss.apply(input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_size(input, target)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 (x - t)^2 / beta where |x - t| < beta, else |x - t| - 0.5 beta; beta = 0 is l1_loss."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    _same_size(input, target)
    _float_only("smooth_l1_cpu", result_type(input, target).np)
    input, target = _promote(input, target)
    return ops.SmoothL1Loss.apply(input, target, reduction, beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 (x - t)^2 where |x - t| < delta, else delta (|x - t| - 0.5 delta): smooth_l1 * delta for beta = delta."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _same_size(input, target)
    _float_only("huber_cpu", result_type(input, target).np)
    if input._data.dtype.kind != "f":  # PyTorch writes the loss into a tensor of input's dtype
        raise _cast_error(result_type(input, target).np, input._data.dtype)
    input, target = _promote(input, target)
    return ops.HuberLoss.apply(input, target, reduction, delta)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """exp(input) - target*input (log_input) or input - target*log(input+eps); full adds
    Stirling's term target*log(target) - target + 0.5*log(2*pi*target) where target > 1."""
    reduction = _reduction(size_average, reduce, reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5*log(2*pi) if full), var clamped at eps
    without cutting its gradient; var may lack input's last dim or be 1 in one dim."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = Tensor._make(np.full(input.shape, var, input._data.dtype))
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with grad_mode.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- binary classification losses

def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w * (t*log(x) + (1-t)*log(1-x)), each log clamped at -100 as PyTorch (so x = 0 or 1 is finite)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    it, tt = input._data.dtype, target._data.dtype
    if it.kind != "f" or tt.kind != "f":  # no integer kernel, and an integer target is not promoted
        if it != tt:
            raise RuntimeError(f"Found dtype {_TYPE_NAMES[tt.name]} but expected {_TYPE_NAMES[it.name]}")
        _float_only("binary_cross_entropy", it)
    if input.numel() and bool(((input._data < 0) | (input._data > 1)).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    input, target = _promote(input, target)
    return ops.BinaryCrossEntropy.apply(input, target, reduction,
                                               _const_array(weight, input, "binary_cross_entropy"))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input) without computing it: (1-t)*x + (1 + (pw-1)*t) * softplus(-x),
    stable for any logit (no exp overflow, no log(0))."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _float_only("log_sigmoid_cpu", input._data.dtype)
    if target._data.dtype == np.bool_:
        _check_not_bool_sub(target, target)
    if target._data.dtype.kind != "f":  # PyTorch computes (1 - target) * input in target's dtype
        raise _cast_error(input._data.dtype, target._data.dtype)
    input, target = _promote(input, target)
    fn = "binary_cross_entropy_with_logits"
    return ops.BinaryCrossEntropyWithLogits.apply(input, target, reduction, _const_array(weight, input, fn),
                                                         _const_array(pos_weight, input, fn, "pos_weight"))


# ---------------------------------------------------------------- multi-class losses

def _class_target(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, kernel: str,
                  check_bounds: bool = True) -> tuple:
    """Check class-index targets (and floating input: `kernel` names it in the error) as PyTorch does; return
    (logits as [M, C], target int64 [M], weight array or None, shape of the unreduced loss). With
    `check_bounds` False the target values are left to the caller's kernel to check."""
    shape, target_shape = input._data.shape, target._data.shape
    if len(shape) < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {len(shape)})")
    _float_only(kernel, input._data.dtype)
    if target._data.dtype not in _CLASS_DTYPES:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_TYPE_NAMES[target.dtype.name]}")
    c = shape[1] if len(shape) > 1 else shape[0]
    if len(shape) == 1:
        if len(target_shape) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        flat, out_shape = input.unsqueeze(0), ()
    else:
        if len(target_shape) == 0 or shape[0] != target_shape[0]:
            raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size "
                             f"({target_shape[0] if target_shape else 0}).")
        expected = (shape[0],) + shape[2:]
        if target_shape != expected:
            if len(shape) == 2:
                raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
            raise RuntimeError(f"Expected target size {list(expected)}, got {list(target_shape)}")
        flat = input if len(shape) == 2 else \
            input.permute(0, *range(2, len(shape)), 1).reshape(-1, c)  # classes last, then [M, C]
        out_shape = expected
    t = target._data.astype(np.int64, copy=False).reshape(-1)
    if check_bounds:
        bad = (t != ignore_index) & ((t < 0) | (t >= c))
        if bad.any():
            raise IndexError(f"Target {t[bad][0]} is out of bounds.")
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")
    w = _const_array(weight, input, "nll_loss_forward")
    return flat, t, None if w is None else w.reshape(-1), out_shape


def _unflatten_loss(loss: Tensor, reduction: str, out_shape: tuple) -> Tensor:
    return loss.reshape(out_shape) if reduction == "none" and tuple(loss.shape) != out_shape else loss


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """-weight[t] * input[t] for log-probabilities input [N, C] (or [C], or [N, C, d1, ...]) and
    int64 class targets; 'mean' divides by the sum of the weights of the kept targets."""
    reduction = _reduction(size_average, reduce, reduction)
    kernel = "nll_loss_out_frame" if input.dim() <= 2 else "nll_loss2d_forward_out_frame"
    flat, t, w, out_shape = _class_target(input, target, weight, ignore_index, kernel)
    return _unflatten_loss(ops.NllLoss.apply(flat, t, w, ignore_index, reduction), reduction, out_shape)


def _cross_entropy_2d(logits: Tensor, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                      reduction: str, label_smoothing: float) -> Tensor:
    """cross_entropy of logits [M, C] and checked int64 class targets [M]: every class-index case
    comes here (other shapes are flattened to it).

    One fused node (`ops.CrossEntropyLoss`, one C kernel for the loss and d(logits)) where
    PyTorch records NllLossBackward0 <- LogSoftmaxBackward0: see its docstring.
    """
    return ops.CrossEntropyLoss.apply(logits, target, weight, ignore_index, reduction, label_smoothing)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim (1, or 0 for a 1-D input) then nll_loss, for int64 class
    targets; a floating target of input's shape is class probabilities instead (then 'mean'
    divides by the number of samples, and ignore_index does not apply)."""
    if weight is None and reduction == "mean" and label_smoothing == 0.0 and size_average is None and reduce is None:
        loss = _loss_fastpath.cross_entropy_mean(input, target, ignore_index)  # PERF: the usual call, see there
        if loss is not None:
            return loss
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _float_only("log_softmax_lastdim_kernel_impl" if input.dim() <= 2 else "log_softmax_kernel_impl",
                input._data.dtype)  # PyTorch's log_softmax refuses integer logits (no truncation)
    if target.is_floating_point() and target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    # PERF: the cross-entropy kernel checks every target value itself (the same IndexError, which
    # also says where): not checked twice (~3 us). With a weight, PyTorch's order of errors needs it here.
    flat, t, w, out_shape = _class_target(input, target, weight, ignore_index, "log_softmax_lastdim_kernel_impl",
                                          check_bounds=weight is not None)
    return _unflatten_loss(_cross_entropy_2d(flat, t, w, ignore_index, reduction, label_smoothing), reduction,
                           out_shape)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                         label_smoothing: float) -> Tensor:
    class_dim = 0 if input.dim() == 1 else 1
    c = input.shape[class_dim]
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")
    logp = input.log_softmax(class_dim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    terms = logp * target
    if weight is not None:
        terms = terms * weight.reshape((c,) + (1,) * (input.dim() - 1 - class_dim))  # differentiable, as torch
    # PyTorch's expressions, so that the graph has its nodes
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum() / (input.numel() // c) if input.numel() else -terms.sum() * float("nan")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """sum over i != y of max(0, margin - x[y] + x[i])^p * w[y], divided by C (input [N, C] or [C])."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    _float_only("multi_margin_loss_cpu_kernel", input._data.dtype)
    if input.dim() > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    if target._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {_TYPE_NAMES[target.dtype.name]}")
    x = input.unsqueeze(0) if input.dim() == 1 else input
    t = target._data.reshape(-1)
    if t.shape[0] != x.shape[0]:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{x.shape[0]}], but got {list(target.shape)}. "
                           f"Input has shape {list(input.shape)}.")
    if ((t < 0) | (t >= x.shape[1])).any():
        raise RuntimeError("target out of range")
    w = _const_array(weight, input, "multi_margin_loss")
    loss = ops.MultiMarginLoss.apply(x, t, p, margin, w, reduction)
    return loss.reshape(()) if reduction == "none" and input.dim() == 1 else loss


# ---------------------------------------------------------------- convolution and pooling
# Their argument checks (PyTorch's messages) fill a file of their own: _functional_conv.py.

from ._functional_conv import conv2d, max_pool2d  # noqa: E402,F401

# Added for the torchvision twin and the recurrent layers (nn/_extra.py).
from ._extra import adaptive_avg_pool2d, dropout2d, gelu  # noqa: E402,F401

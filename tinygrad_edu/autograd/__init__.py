"""`tinygrad_edu.autograd`, mirroring `torch.autograd`: Function, backward, grad, gradcheck; and trace
(ours, not PyTorch's): the backward engine's steps with gradient norms."""
from .engine import backward, grad
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .trace import trace

__all__ = ["Function", "backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled", "trace"]

"""torch.backends.cuda: not built into a CPU-only PyTorch; its matmul flag is kept for code that sets it."""
from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)


def is_built() -> bool:
    return False

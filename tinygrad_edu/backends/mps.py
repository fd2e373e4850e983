"""torch.backends.mps: Apple's GPU, neither built nor available here (as PyTorch on Linux)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False

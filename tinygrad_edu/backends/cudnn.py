"""torch.backends.cudnn: the flags a CPU-only PyTorch has (settable, and without effect), no cuDNN."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None

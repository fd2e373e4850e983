"""Devices: tinygrad_edu answers as the installed CPU-only PyTorch 2.13 does, value for value and error for error."""
import builtins

import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn

assert not torch.cuda.is_available(), "these tests compare with a CPU-only PyTorch build"


def _outcome(fn):
    """What fn() gives: ("ok", value) or (exception type name, message)."""
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001 - the point is to compare what each library raises
        return type(e).__name__, str(e)
    return "ok", value


QUERIES = {
    "cuda.is_available": lambda lib: lib.cuda.is_available(),
    "cuda.device_count": lambda lib: lib.cuda.device_count(),
    "cuda.is_initialized": lambda lib: lib.cuda.is_initialized(),
    "cuda.manual_seed": lambda lib: lib.cuda.manual_seed(1),
    "cuda.manual_seed_all": lambda lib: lib.cuda.manual_seed_all(1),
    "cuda.empty_cache": lambda lib: lib.cuda.empty_cache(),
    "cuda.memory_allocated": lambda lib: lib.cuda.memory_allocated(),
    "cuda.current_device": lambda lib: lib.cuda.current_device(),
    "cuda.get_device_name": lambda lib: lib.cuda.get_device_name(),
    "cuda.synchronize": lambda lib: lib.cuda.synchronize(),
    "accelerator.is_available": lambda lib: lib.accelerator.is_available(),
    "accelerator.current_accelerator": lambda lib: lib.accelerator.current_accelerator(),
    "accelerator.device_count": lambda lib: lib.accelerator.device_count(),
    "accelerator.current_device_index": lambda lib: lib.accelerator.current_device_index(),
    "accelerator.synchronize": lambda lib: lib.accelerator.synchronize(),
    "backends.mps.is_available": lambda lib: lib.backends.mps.is_available(),
    "backends.mps.is_built": lambda lib: lib.backends.mps.is_built(),
    "backends.cuda.is_built": lambda lib: lib.backends.cuda.is_built(),
    "backends.cuda.matmul.allow_tf32": lambda lib: lib.backends.cuda.matmul.allow_tf32,
    "backends.cudnn.is_available": lambda lib: lib.backends.cudnn.is_available(),
    "backends.cudnn.version": lambda lib: lib.backends.cudnn.version(),
    "backends.cudnn.flags": lambda lib: (lib.backends.cudnn.enabled, lib.backends.cudnn.benchmark,
                                         lib.backends.cudnn.deterministic, lib.backends.cudnn.allow_tf32),
    "tensor.cuda": lambda lib: lib.ones(2).cuda(),
    "tensor.to(cuda)": lambda lib: lib.ones(2).to("cuda"),
    "tensor.to(device(cuda))": lambda lib: lib.ones(2).to(lib.device("cuda")),
    "tensor.to(cuda:0)": lambda lib: lib.ones(2).to("cuda:0"),
    "tensor.to(device=cuda)": lambda lib: lib.ones(2).to(device="cuda"),
    "tensor.to(mps)": lambda lib: lib.ones(2).to("mps"),
    "zeros(device=cuda)": lambda lib: lib.zeros(2, device="cuda"),
    "tensor(device=cuda)": lambda lib: lib.tensor([1.0], device="cuda"),
    "flags": lambda lib: (lib.ones(2).is_cuda, lib.ones(2).is_cpu, lib.ones(2).is_mps, lib.ones(2).get_device()),
    "module.cuda": lambda lib: lib.nn.Linear(2, 2).cuda(),
    "module.to(cuda)": lambda lib: lib.nn.Linear(2, 2).to("cuda"),
    "device(cuda) str/repr": lambda lib: (str(lib.device("cuda")), repr(lib.device("cuda:1")),
                                          str(lib.device("cuda", 0)), lib.device("cuda").index),
    "device equality": lambda lib: (lib.device("cpu") == lib.device("cpu"), lib.device("cpu") == "cpu",
                                    lib.device("cpu") == lib.device("cpu", 0), lib.ones(1).device == lib.device("cpu")),
    "device(foo)": lambda lib: lib.device("foo"),
    "device(cuda:x)": lambda lib: lib.device("cuda:x"),
    "device(cuda:0, 1)": lambda lib: lib.device("cuda:0", 1),
    "device(cuda, -1)": lambda lib: lib.device("cuda", -1),
    "set_default_device(cpu)": lambda lib: (lib.set_default_device("cpu"), str(lib.get_default_device())),
    "set_default_device(None)": lambda lib: (lib.set_default_device(None), str(lib.get_default_device())),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_device_answers_match_cpu_only_torch(name):
    ours, theirs = _outcome(lambda: QUERIES[name](tg)), _outcome(lambda: QUERIES[name](torch))
    if theirs[0] != "ok":  # the same exception class (ours may also be a RuntimeError), torch's message first
        exc = getattr(builtins, theirs[0])
        assert ours[0] != "ok", f"torch raises {theirs}, we returned {ours[1]!r}"
        assert ours[0] == theirs[0] or issubclass(_raised_type(name), exc), f"{ours} != {theirs}"
        assert ours[1].startswith(theirs[1]), f"{ours[1]!r} does not start with torch's {theirs[1]!r}"
    elif name in ("flags", "backends.cudnn.flags"):
        assert ours == theirs
    else:  # objects of each library: compare what they print
        assert (ours[0], str(ours[1])) == (theirs[0], str(theirs[1]))


def _raised_type(name):
    try:
        QUERIES[name](tg)
    except Exception as e:  # noqa: BLE001
        return type(e)
    return type(None)

def test_tutorial_first_lines_pick_the_cpu():
    device = "cuda" if tg.cuda.is_available() else "mps" if tg.backends.mps.is_available() else "cpu"
    accel = tg.accelerator.current_accelerator().type if tg.accelerator.is_available() else "cpu"
    model = nn.Linear(3, 2).to(device)
    x = tg.ones(4, 3).to(accel)
    assert device == accel == "cpu" and model(x).shape == (4, 2)
    assert tg.device(device) == tg.device("cpu") and tg.ones(1).to(tg.device(device)).device == tg.device("cpu")


def test_set_default_device_other_than_cpu_raises_at_once():
    # PyTorch accepts "cuda" here and raises at the first tensor made; we raise its error at once.
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        tg.set_default_device("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):  # also a RuntimeError, as our earlier versions raised
        tg.ones(1).cuda()
    assert tg.get_default_device() == tg.device("cpu") and tg.zeros(1).device == tg.device("cpu")


def test_import_as_torch_submodules():
    import importlib
    for name in ("cuda", "accelerator", "backends", "backends.cudnn", "backends.mps"):
        assert importlib.import_module(f"tinygrad_edu.{name}") is not None

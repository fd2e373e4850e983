"""Collectives: every rank calls the same function, data moves between all of them.

    all_reduce(t, op)          every rank ends with op(t of rank 0, t of rank 1, ...)   (in place)
    broadcast(t, src)          every rank ends with rank src's t                       (in place)
    all_gather(list, t)        list[i] = t of rank i, on every rank
    reduce_scatter(out, list)  out on rank i = op over ranks of list[i]

They work on the tensor's own NumPy buffer: MPI reads and writes `t._data` directly, no copy
(a non-contiguous tensor goes through a contiguous copy and back; float16 is reduced as
float32, which MPI lacks). As in PyTorch they are not autograd ops: they write the data
behind autograd's back (the version counter is not bumped either, as PyTorch's c10d).
With `async_op=True` they return a `Work` at once; `work.wait()` finishes them.
"""
from __future__ import annotations

import enum

import numpy as np

from ..tensor import Tensor
from .process_group import Work, _get_world, barrier


class ReduceOp(enum.Enum):
    """`torch.distributed.ReduceOp`. Differs from PyTorch: AVG needs a floating point tensor."""

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"


_MPI_OP = {"SUM": "SUM", "AVG": "SUM", "PRODUCT": "PROD", "MIN": "MIN", "MAX": "MAX", "BAND": "BAND",
           "BOR": "BOR", "BXOR": "BXOR"}
_BOOL_OP = {"SUM": "MAX", "PRODUCT": "MIN", "MIN": "MIN", "MAX": "MAX", "BAND": "MIN", "BOR": "MAX"}  # as or / and


def _check_tensor(t, param: str = "tensor") -> np.ndarray:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{param}` of type tinygrad_edu.Tensor "
                        f"but got {type(t)} instead.")
    return t._data


def _contiguous(t, param: str = "tensor") -> np.ndarray:
    """The tensor's own buffer when MPI can use it as it is; else a contiguous copy (copied back by `_put`)."""
    a = _check_tensor(t, param)
    return a if a.flags.c_contiguous and a.flags.writeable else np.ascontiguousarray(a)


def _put(t, buf: np.ndarray) -> None:
    if buf is not t._data:
        np.copyto(t._data, buf, casting="unsafe")


def _as_bytes(a: np.ndarray) -> np.ndarray:
    """The same memory seen as bytes: broadcast and gather move bytes, whatever the dtype."""
    return a.reshape(-1).view(np.uint8)


def _reduction(world, op, dtype: np.dtype, name: str):
    """The MPI operation for `op` on `dtype`, and the dtype MPI reduces in."""
    if not isinstance(op, ReduceOp):
        raise ValueError(f"{name}: op must be a tinygrad_edu.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and dtype.kind != "f":
        raise TypeError(f"{name}: ReduceOp.AVG needs a floating point tensor, got {dtype}")
    if dtype == np.bool_:
        if op.name not in _BOOL_OP:
            raise TypeError(f"{name}: ReduceOp.{op.name} is not defined for bool tensors")
        return getattr(world.MPI, _BOOL_OP[op.name]), np.dtype(np.uint8)
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "iu":
        raise TypeError(f"{name}: ReduceOp.{op.name} needs an integer tensor, got {dtype}")
    return getattr(world.MPI, _MPI_OP[op.name]), np.dtype(np.float32) if dtype == np.float16 else dtype


def _in_mpi_dtype(buf: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if buf.dtype == dtype:
        return buf
    return buf.view(dtype) if buf.dtype == np.bool_ else buf.astype(dtype)


def _run(request, name: str, world, finish, async_op: bool):
    work = Work(request, name, world, finish)
    return work if async_op else work.wait() and None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce `tensor` over all ranks with `op`; every rank gets the result, in place."""
    world = _get_world(group)
    buf = _contiguous(tensor)
    mpi_op, dtype = _reduction(world, op, buf.dtype, "all_reduce")
    work_buf = _in_mpi_dtype(buf, dtype)
    request = world.comm.Iallreduce(world.MPI.IN_PLACE, work_buf, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(work_buf, world.size, out=work_buf)
        if work_buf is not buf and buf.dtype != np.bool_:
            np.copyto(buf, work_buf, casting="unsafe")
        _put(tensor, buf)
    return _run(request, "all_reduce", world, finish, async_op)


def broadcast(tensor: Tensor, src: int, group=None, async_op: bool = False, group_src=None):
    """Every rank's `tensor` becomes rank `src`'s, in place."""
    world = _get_world(group)
    src = src if group_src is None else group_src
    if not (isinstance(src, int) and 0 <= src < world.size):
        raise ValueError(f"broadcast: invalid root rank: {src} (world size {world.size})")
    buf = _contiguous(tensor)
    request = world.comm.Ibcast(_as_bytes(buf), root=src)
    return _run(request, "broadcast", world, lambda: _put(tensor, buf), async_op)


def _check_list(name: str, tensors, like: np.ndarray, n: int, what: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != n:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{name}: {what} must be a list of {n} tensors (one per rank), got {got}")
    for i, t in enumerate(tensors):
        a = _check_tensor(t, what)
        if a.shape != like.shape or a.dtype != like.dtype:
            raise ValueError(f"{name}: invalid tensor at index {i} of {what} (expected shape {tuple(like.shape)} "
                             f"and dtype {like.dtype}, got {tuple(a.shape)} and {a.dtype})")


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """`tensor_list[i]` becomes rank i's `tensor`, on every rank (received in one buffer, then copied out)."""
    world = _get_world(group)
    send = _contiguous(tensor)
    _check_list("all_gather", tensor_list, send, world.size, "tensor_list")
    received = np.empty((world.size,) + send.shape, send.dtype)
    request = world.comm.Iallgather(_as_bytes(send), _as_bytes(received))

    def finish():
        for t, part in zip(tensor_list, received):
            np.copyto(t._data, part)
    return _run(request, "all_gather", world, finish, async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None, async_op: bool = False):
    """The ranks' `input_tensor`s, stacked or concatenated along dim 0 into `output_tensor` (no copy)."""
    world = _get_world(group)
    send, out = _contiguous(input_tensor, "input_tensor"), _contiguous(output_tensor, "output_tensor")
    if out.dtype != send.dtype or out.size != world.size * send.size:
        raise ValueError(f"all_gather_into_tensor: output_tensor must have world_size ({world.size}) times the "
                         f"elements of input_tensor and its dtype; got {tuple(out.shape)} {out.dtype} for "
                         f"{tuple(send.shape)} {send.dtype}")
    request = world.comm.Iallgather(_as_bytes(send), _as_bytes(out))
    return _run(request, "all_gather_into_tensor", world, lambda: _put(output_tensor, out), async_op)


def _reduce_scatter(name, output, send: np.ndarray, op, group, async_op):
    world = _get_world(group)
    out = _contiguous(output, "output")
    mpi_op, dtype = _reduction(world, op, out.dtype, name)
    send, work_out = _in_mpi_dtype(send, dtype), _in_mpi_dtype(out, dtype)
    request = world.comm.Ireduce_scatter_block(send, work_out, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(work_out, world.size, out=work_out)
        if work_out is not out and out.dtype != np.bool_:
            np.copyto(out, work_out, casting="unsafe")
        _put(output, out)
    return _run(request, name, world, finish, async_op)


def reduce_scatter(output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """`output` on rank i becomes op over all ranks of `input_list[i]` (the list is packed into one buffer)."""
    world = _get_world(group)
    like = _check_tensor(output, "output")
    _check_list("reduce_scatter", input_list, like, world.size, "input_list")
    send = np.stack([t._data for t in input_list]) if input_list else np.empty(0, like.dtype)
    return _reduce_scatter("reduce_scatter", output, send, op, group, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """As reduce_scatter, with the ranks' parts laid end to end in `input` along dim 0 (no copy)."""
    world = _get_world(group)
    send, out = _contiguous(input, "input"), _check_tensor(output, "output")
    if send.dtype != out.dtype or send.size != world.size * out.size:
        raise ValueError(f"reduce_scatter_tensor: input must have world_size ({world.size}) times the elements of "
                         f"output and its dtype; got {tuple(send.shape)} {send.dtype} for {tuple(out.shape)} {out.dtype}")
    return _reduce_scatter("reduce_scatter_tensor", output, send.reshape(world.size, -1), op, group, async_op)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """`object_list[i]` becomes rank i's `obj` (any picklable object: results of a trial, ...)."""
    world = _get_world(group)
    if not isinstance(object_list, list) or len(object_list) != world.size:
        raise ValueError(f"all_gather_object: object_list must be a list of world_size ({world.size}) elements")
    barrier(group)  # waits with the timeout; the pickled exchange below then finds every rank there
    object_list[:] = world.comm.allgather(obj)


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Every rank's `object_list` becomes rank `src`'s (the same length on every rank)."""
    world = _get_world(group)
    barrier(group)
    object_list[:] = world.comm.bcast(list(object_list) if world.rank == src else None, root=src)

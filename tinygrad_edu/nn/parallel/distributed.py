"""`DistributedDataParallel`: the same model on every rank, each rank its own part of the batch.

Data parallelism in three steps, as PyTorch's DDP:

1. At wrap time every parameter (and buffer) is broadcast from rank 0, so all replicas start equal.
2. Each rank runs forward and backward on its own slice of the global batch.
3. During backward, each parameter's gradient is averaged over the ranks as soon as it is ready
   (a post-accumulate-grad hook per parameter). The mean of the ranks' mean-loss gradients is
   the gradient of the mean loss over the global batch, so after `backward()` every rank holds
   the gradient one process would have computed on the whole batch, and the optimizers (each
   rank has its own) take identical steps.

Communicating one gradient at a time would pay MPI's latency ~10 times a step; one message for
all of them would wait for the whole backward. PyTorch's middle way, kept here: gradients are
packed into buckets (about `bucket_cap_mb` each, the first one 1 MiB, in reverse order of
`module.parameters()`, the order backward produces them), and a bucket's all_reduce starts
(non-blocking, MPI_Iallreduce) as soon as its last gradient arrives, while backward computes the
next layers' gradients. The last gradient waits for all buckets and copies the averages back.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from ...autograd import grad_mode
from ...distributed.collectives import all_gather_object, all_reduce, broadcast
from ...distributed.process_group import _get_world
from ...tensor import Tensor
from ..modules.module import Module

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # as torch.distributed._DEFAULT_FIRST_BUCKET_BYTES
_UNFINISHED = ("Expected to have finished reduction in the prior iteration before starting a new one. This error "
               "indicates that your module has parameters that were not used in producing loss (here: {names}). "
               "Make sure every parameter that requires grad takes part in the loss on every rank; "
               "find_unused_parameters=True is not supported by tinygrad_edu.")


class _Bucket:
    """Gradients of a few parameters laid end to end in one buffer: one all_reduce for all of them."""

    def __init__(self, params: list):
        self.params = params
        self.offsets = np.cumsum([0] + [p.numel() for p in params]).tolist()
        self.buffer = np.empty(self.offsets[-1], params[0]._data.dtype)
        self.waiting = len(params)  # gradients still to arrive in this backward
        self.work = None

    def view(self, i: int) -> np.ndarray:
        return self.buffer[self.offsets[i]:self.offsets[i + 1]].reshape(self.params[i]._data.shape)


def _assign_buckets(params: list, first_cap: int, cap_bytes: int) -> list[_Bucket]:
    """PyTorch's compute_bucket_assignment_by_size: reverse order, one dtype per bucket, a bucket is
    closed once it holds at least the limit (`first_cap` for the first, `cap_bytes` after).

    Differs from PyTorch, which starts with one bucket and, after the first iteration, rebuilds
    them in the order the gradients arrived: we assign once, in reverse parameter order -- the
    order backward produces the gradients of a feed-forward model.
    """
    buckets, current, size = [], {}, {}
    for p in reversed(params):
        dtype = p._data.dtype
        current.setdefault(dtype, []).append(p)
        size[dtype] = size.get(dtype, 0) + p._data.nbytes
        if size[dtype] >= (first_cap if not buckets else cap_bytes):
            buckets.append(_Bucket(current.pop(dtype)))
            size[dtype] = 0
    buckets += [_Bucket(ps) for ps in current.values()]
    return buckets


class _Reducer:
    """Counts the gradients as backward produces them and all-reduces each full bucket, in order."""

    def __init__(self, named_params: list, first_cap: int, cap_bytes: int, world):
        self.world, self.buckets = world, _assign_buckets([p for _, p in named_params], first_cap, cap_bytes)
        self.names = {id(p): name for name, p in named_params}
        self.where = {id(p): (b, i) for b in self.buckets for i, p in enumerate(b.params)}
        self.armed = False  # True between a syncing forward and the end of its backward
        self.next_bucket = 0
        self.wait_seconds = 0.0  # total time the last gradient waited for the all_reduces (for measuring)

    def prepare_for_backward(self) -> None:
        started = any(b.waiting < len(b.params) for b in self.buckets)
        if self.armed and started:
            missing = [name for i, name in self.names.items() if i not in self._seen]
            raise RuntimeError(_UNFINISHED.format(names=", ".join(missing)))
        for b in self.buckets:
            b.waiting, b.work = len(b.params), None
        self.armed, self.next_bucket, self._seen = True, 0, set()

    def grad_ready(self, p: Tensor) -> None:
        """The post-accumulate-grad hook of every parameter: its `.grad` is final for this backward."""
        if not self.armed:
            return  # a forward under no_sync() or no_grad: gradients stay local
        if id(p) in self._seen:
            raise RuntimeError("Expected to mark a variable ready only once. A parameter got its gradient twice in "
                               "one iteration (a second backward through the same forward?)")
        self._seen.add(id(p))
        bucket, i = self.where[id(p)]
        np.copyto(bucket.view(i), p._grad._data)
        bucket.waiting -= 1
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].waiting == 0:
            self._launch(self.buckets[self.next_bucket])  # in order: every rank starts the same collectives
            self.next_bucket += 1
        for b in self.buckets[:self.next_bucket]:
            b.work.poll()  # MPI advances a non-blocking collective only inside MPI calls
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _launch(self, bucket: _Bucket) -> None:
        np.divide(bucket.buffer, self.world.size, out=bucket.buffer)  # PyTorch's allreduce_hook divides first
        bucket.work = all_reduce(Tensor._make(bucket.buffer), async_op=True)

    def _finish(self) -> None:
        start = time.perf_counter()
        for bucket in self.buckets:
            bucket.work.wait()
        self.wait_seconds += time.perf_counter() - start  # communication the backward did not hide
        for bucket in self.buckets:
            for i, p in enumerate(bucket.params):
                if p._grad._data.flags.writeable:
                    np.copyto(p._grad._data, bucket.view(i))
                else:
                    p._grad = Tensor._make(bucket.view(i).copy())
        self.armed = False


class DistributedDataParallel(Module):
    """`torch.nn.parallel.DistributedDataParallel` on the MPI process group.

    `ddp = DistributedDataParallel(model)` after `init_process_group`; train `ddp` as the model.
    `ddp.module` is the model; `ddp.state_dict()` keys start with "module.", as PyTorch's.
    Differs from PyTorch: `find_unused_parameters=True` and `static_graph` are not supported;
    device arguments are accepted and ignored (CPU only).
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False):
        super().__init__()
        if find_unused_parameters or static_graph:
            raise ValueError("tinygrad_edu's DistributedDataParallel supports neither find_unused_parameters=True "
                             "nor static_graph=True: every parameter must take part in the loss")
        world = _get_world(process_group)  # ValueError when init_process_group was not called
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        params = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        _check_same_model(module, world)
        with grad_mode.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                broadcast(t, src=0)
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        first_cap = _DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap  # as PyTorch
        self.reducer = _Reducer(params, first_cap, cap, world) if params else None
        for _, p in params:
            p.register_post_accumulate_grad_hook(self.reducer.grad_ready)

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and _get_world().size > 1:
            for b in self.module.buffers():
                broadcast(b, src=0)
        if self.reducer is not None and grad_mode.is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward()
        return self.module(*inputs, **kwargs)

    @contextmanager
    def no_sync(self):
        """Gradients of backward passes whose forward ran inside this block stay local (they accumulate);
        the first synchronised backward after it averages the accumulated gradients."""
        old, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _check_same_model(module: Module, world) -> None:
    """Every rank must wrap the same architecture: compare parameter names, shapes and dtypes with rank 0's."""
    mine = [(name, tuple(p.shape), str(p.dtype)) for name, p in module.named_parameters()]
    everyone = [None] * world.size
    all_gather_object(everyone, mine)
    for rank, theirs in enumerate(everyone):
        if theirs != everyone[0]:
            diff = next((a, b) for a, b in zip(everyone[0] + [None], theirs + [None]) if a != b)
            raise RuntimeError(f"DDP expects same model across all ranks, but rank {rank} has {len(theirs)} params, "
                               f"while rank 0 has {len(everyone[0])} params; first difference: rank 0 {diff[0]} vs "
                               f"rank {rank} {diff[1]}")

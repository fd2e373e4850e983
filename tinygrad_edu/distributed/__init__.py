"""`tinygrad_edu.distributed`, mirroring `torch.distributed` on MPI (through mpi4py).

    mpirun -n 2 python train.py          # two copies of the script, ranks 0 and 1

    import tinygrad_edu.distributed as dist
    dist.init_process_group(backend="mpi")      # rank and world size from mpirun
    t = tinygrad_edu.ones(3) * dist.get_rank()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)    # every rank now holds 0 + 1 = 1, in place
    dist.destroy_process_group()

process_group.py: init, rank, world size, barrier, the waiting (with timeouts);
collectives.py: all_reduce, broadcast, all_gather, reduce_scatter. Training on several
processes: nn.parallel.DistributedDataParallel and utils.data.DistributedSampler.
"""
from .collectives import (ReduceOp, all_gather, all_gather_into_tensor, all_gather_object, all_reduce, broadcast,
                          broadcast_object_list, reduce_scatter, reduce_scatter_tensor)
from .process_group import (GroupMember, Work, barrier, default_pg_timeout, destroy_process_group,
                            get_backend, get_rank, get_world_size, group, init_process_group, is_available,
                            is_initialized, is_mpi_available)

__all__ = ["GroupMember", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list", "default_pg_timeout",
           "destroy_process_group", "get_backend", "get_rank", "get_world_size", "group", "init_process_group",
           "is_available", "is_initialized", "is_mpi_available", "reduce_scatter", "reduce_scatter_tensor"]

"""The process group: which process am I (rank), how many are we (world size), and waiting.

PyTorch's `init_process_group(backend="mpi")` takes both numbers from the MPI launcher
(`mpirun -n 4 python train.py` starts 4 copies of the script, ranks 0..3); so do we, through
mpi4py. There is one group (the world); `group=` arguments accept only None or `group.WORLD`.

Two safety nets, so that one failing rank never leaves the others hanging:
* every collective waits with a deadline (`init_process_group(timeout=...)`, 30 minutes by
  default as PyTorch's), kept by a watchdog thread as PyTorch's NCCL watchdog: past it, the
  watchdog names the collective and the rank and stops every rank (MPI_Abort);
* an uncaught exception on any rank (Python's `sys.excepthook`) prints its traceback and calls
  `MPI_Abort`, which makes `mpirun` stop every rank at once and say which one failed.
"""
from __future__ import annotations

import sys
import threading
import time
import warnings
from datetime import timedelta

default_pg_timeout = timedelta(minutes=30)

_INSTALL = ("tinygrad_edu.distributed needs mpi4py and an MPI library. Install Open MPI (Debian/Ubuntu: "
            "`apt-get install openmpi-bin libopenmpi-dev`), then `pip install -e \".[distributed]\"` (or "
            "`pip install mpi4py`), and start your script with `mpirun -n N python script.py`.")
_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


class _World:
    """The default (and only) group: the MPI communicator, our rank and size, the timeout."""

    def __init__(self, MPI, timeout: timedelta):
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = timeout.total_seconds()
        self.previous_excepthook = None
        self.watchdog = _Watchdog(self) if self.size > 1 else None


class group:
    """`torch.distributed.group`: `group.WORLD` is the only group here."""

    WORLD = "WORLD"


GroupMember = group
_world: _World | None = None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"{_INSTALL} (import failed: {e})") from None
    return MPI


def is_available() -> bool:
    """`torch.distributed.is_available`: the package exists (whether MPI is installed: is_mpi_available)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py (and so an MPI library) can be imported."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    return _world is not None


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout: timedelta | None = None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None) -> None:
    """Join the group of processes `mpirun` started: rank and world size come from MPI.

    Differs from PyTorch: the only backend is "mpi" (None means "mpi"); `init_method`, `store`
    and `pg_options` are accepted for PyTorch code and ignored, as PyTorch's MPI backend does.
    """
    global _world
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"tinygrad_edu.distributed has the 'mpi' backend only (got backend='{backend}'); "
                         "start the processes with mpirun")
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    timeout = default_pg_timeout if timeout is None else timeout
    if not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")
    MPI = _import_mpi()
    world = _World(MPI, timeout)
    if (world_size != -1 and world_size != world.size) or (rank != -1 and rank != world.rank):
        warnings.warn(f"For MPI backend, world_size ({world_size}) and rank ({rank}) are ignored since they are "
                      "assigned by the MPI runtime.")
    if world.size > 1:
        world.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_all_ranks
    _world = world


def destroy_process_group(group=None) -> None:
    """Leave the group (MPI itself is finalized when the interpreter exits, by mpi4py)."""
    global _world
    world = _get_world(group)
    if world.previous_excepthook is not None and sys.excepthook is _abort_all_ranks:
        sys.excepthook = world.previous_excepthook
    _world = None


def _abort_all_ranks(exc_type, exc, tb) -> None:
    """sys.excepthook while the group exists: show the error, then stop every rank (MPI_Abort)."""
    world = _world
    if world is None:  # the group is gone: nothing to stop
        return sys.__excepthook__(exc_type, exc, tb)
    (world.previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    print(f"tinygrad_edu.distributed: rank {world.rank} of {world.size} failed with {exc_type.__name__}; "
          "calling MPI_Abort so that the other ranks stop too", file=sys.stderr, flush=True)
    world.comm.Abort(1)


def _get_world(group=None) -> _World:
    if group is not None and group != "WORLD":
        raise ValueError(f"tinygrad_edu.distributed has only the default group (group=None or group.WORLD), got {group!r}")
    if _world is None:
        raise ValueError(_NOT_INITIALIZED)
    return _world


def get_rank(group=None) -> int:
    return _get_world(group).rank


def get_world_size(group=None) -> int:
    return _get_world(group).size


def get_backend(group=None) -> str:
    _get_world(group)
    return "mpi"


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank has reached this call."""
    world = _get_world(group)
    work = Work(world.comm.Ibarrier(), "barrier", world)
    return work if async_op else work.wait()


class Work:
    """What a collective with `async_op=True` returns (torch's Work): `wait()` until it is done.

    `finish` runs once the data has arrived (e.g. the division of ReduceOp.AVG).
    """

    def __init__(self, request, name: str, world: _World, finish=None):
        self._request, self._name, self._world, self._finish = request, name, world, finish

    def is_completed(self) -> bool:
        self.poll()
        return self._request is None

    def wait(self, timeout: timedelta | None = None) -> bool:
        if self._request is not None:
            limit = self._world.timeout if timeout is None else timeout.total_seconds()
            _wait(self._request, self._name, self._world, limit)
            self._done()
        return True

    def poll(self) -> None:
        """Let MPI make progress on this collective (MPI moves data only inside MPI calls)."""
        if self._request is not None and self._request.Test():
            self._done()

    def _done(self) -> None:
        self._request = None
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()


def _wait(request, name: str, world: _World, limit: float) -> None:
    """request.Wait(), watched: MPI progresses fastest inside its own blocking wait."""
    if world.watchdog is None:  # a world of one: nothing to wait for
        request.Wait()
        return
    world.watchdog.watch(name, limit)
    try:
        request.Wait()
    finally:
        world.watchdog.watch(None, 0)


class _Watchdog:
    """A thread that stops every rank when a collective waits past its deadline (as PyTorch's NCCL
    watchdog does): the waiting thread is inside MPI_Wait, which nothing else can interrupt. It
    looks ten times a second; a collective only sets `waiting` (no lock, no wake-up: cheap)."""

    def __init__(self, world: _World):
        self.world, self.waiting = world, None  # (collective, limit, deadline) while one waits
        threading.Thread(target=self._run, name="tinygrad_edu.distributed watchdog", daemon=True).start()

    def watch(self, name: str | None, limit: float) -> None:
        self.waiting = None if name is None else (name, limit, time.monotonic() + limit)

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            waiting = self.waiting
            if waiting is not None and time.monotonic() > waiting[2]:
                name, limit, _ = waiting
                world = self.world
                print(f"tinygrad_edu.distributed: {name} timed out after {limit:g} s on rank {world.rank} of "
                      f"{world.size}: another rank failed, stopped, or called a different collective (set the limit "
                      "with init_process_group(timeout=...)); calling MPI_Abort so that every rank stops",
                      file=sys.stderr, flush=True)
                world.comm.Abort(1)

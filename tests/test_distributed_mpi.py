"""The collectives and DistributedDataParallel on real MPI processes (`mpirun -n 2` and `-n 3`).

pytest launches this very file under mpirun (`python tests/test_distributed_mpi.py SCENARIO`),
with a time limit, over loopback only. Each rank checks its own results with asserts; a failed
assert is an uncaught exception, which aborts every rank (our excepthook calls MPI_Abort), so
mpirun's exit status says whether all ranks passed.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@functools.lru_cache(maxsize=None)
def shared_memory_btl() -> str:
    """Open MPI's shared-memory transport: "vader" up to version 4, "sm" from 5 on."""
    try:
        version = subprocess.run(["mpirun", "--version"], capture_output=True, text=True, timeout=30).stdout
        major = int(version.split("Open MPI)")[1].split(".")[0]) if "Open MPI)" in version else 4
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        major = 4
    return "sm" if major >= 5 else "vader"


def mpi_env() -> dict:
    """Loopback only; allowed as root (CI containers); Open MPI's shared-memory transport."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl=f"self,{shared_memory_btl()}",
               OMPI_MCA_btl_tcp_if_include="lo", OMPI_MCA_oob_tcp_if_include="lo", OMPI_MCA_orte_base_help_aggregate="0",
               TINYGRAD_EDU_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def run_mpi(n: int, scenario: str, limit: float = 60, done_dir=None) -> subprocess.CompletedProcess:
    env = mpi_env() if done_dir is None else dict(mpi_env(), TG_MPI_DONE_DIR=str(done_dir))
    return subprocess.run(["mpirun", "-n", str(n), "--oversubscribe", sys.executable, __file__, scenario],
                          env=env, capture_output=True, text=True, timeout=limit)


def finished_ranks(done_dir, scenario: str) -> list[str]:
    """The ranks that reached the end of `scenario` (each leaves a file: mpirun can lose what a rank prints
    just before it exits, so counting printed lines was flaky)."""
    return sorted(path.name for path in done_dir.glob(f"{scenario}.*"))


def report_done(scenario: str) -> None:
    """Called by each rank at the end of a scenario."""
    rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")
    print(f"{scenario} ok", flush=True)
    if os.environ.get("TG_MPI_DONE_DIR"):
        open(os.path.join(os.environ["TG_MPI_DONE_DIR"], f"{scenario}.{rank}"), "w").close()


def mpi_missing() -> str | None:
    if shutil.which("mpirun") is None:
        return "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py not installed (pip install -e '.[distributed]')"
    return None


needs_mpi = pytest.mark.skipif(mpi_missing() is not None, reason=str(mpi_missing()))


def passed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"mpirun exit {result.returncode}\n{result.stdout}\n{result.stderr}"


# ------------------------------------------------------------------ the tests pytest runs
@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives(n, tmp_path):
    result = run_mpi(n, "collectives", done_dir=tmp_path)
    passed(result)
    assert finished_ranks(tmp_path, "collectives") == [f"collectives.{r}" for r in range(n)]


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_ddp_equals_one_process_with_the_global_batch(n, tmp_path):
    result = run_mpi(n, "ddp", done_dir=tmp_path)
    passed(result)
    assert finished_ranks(tmp_path, "ddp") == [f"ddp.{r}" for r in range(n)]


@needs_mpi
def test_wrapped_on_one_process_is_exactly_unwrapped():
    """Without mpirun, MPI starts as a world of one (a "singleton"): DDP must change nothing."""
    result = subprocess.run([sys.executable, __file__, "single"], env=mpi_env(), capture_output=True, text=True,
                            timeout=60)
    passed(result)
    assert "single ok" in result.stdout


@needs_mpi
def test_a_rank_that_raises_stops_the_others_with_a_clear_error():
    start = time.monotonic()
    result = run_mpi(2, "raise", limit=40)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ValueError: rank 1 fails on purpose" in out
    assert "rank 1 of 2 failed with ValueError; calling MPI_Abort" in out
    assert "rank 0 finished" not in out  # rank 0, waiting in all_reduce, was stopped
    assert time.monotonic() - start < 30  # well before the 60 s collective timeout


@needs_mpi
def test_a_collective_that_never_completes_times_out():
    result = run_mpi(2, "timeout", limit=40)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "all_reduce timed out after 1 s on rank 0 of 2: another rank failed" in out
    assert "calling MPI_Abort so that every rank stops" in out and "rank 1 finished" not in out


def test_without_mpi4py_init_says_what_to_install(monkeypatch):
    import tinygrad_edu.distributed as dist
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` now raises ImportError
    with pytest.raises(RuntimeError, match=r"needs mpi4py and an MPI library.*apt-get install openmpi-bin.*"
                                           r"pip install -e \"\.\[distributed\]\".*mpirun -n N"):
        dist.init_process_group(backend="mpi")
    assert not dist.is_initialized()


def test_before_init_and_wrong_backend():
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(tg.ones(2)),
               lambda: tg.nn.parallel.DistributedDataParallel(tg.nn.Linear(2, 2))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
    with pytest.raises(ValueError, match="'mpi' backend only .*backend='gloo'"):
        dist.init_process_group(backend="gloo")
    assert dist.is_available() and not dist.is_initialized()


@needs_mpi
def test_train_mnist_distributed_equals_one_process(tmp_path):
    """examples/train_mnist.py --distributed on 2 ranks: 20 steps (1,280 images, global batch 64) end with the
    weights of one process with the same global batch; only rank 0 prints and saves."""
    import tinygrad_edu as tg
    from mnist_files import mnist_dir
    common = [os.path.join(ROOT, "examples", "train_mnist.py"), "--limit-train", "1280", "--epochs", "1",
              "--data-dir", mnist_dir(), "--plot", "", "--no-progress"]
    one = subprocess.run([sys.executable, *common, "--save", str(tmp_path / "one.ckpt")], env=mpi_env(),
                         capture_output=True, text=True, timeout=120)
    passed(one)
    two = subprocess.run(["mpirun", "-n", "2", "--oversubscribe", sys.executable, *common, "--distributed",
                          "--save", str(tmp_path / "two.ckpt")], env=mpi_env(), capture_output=True, text=True,
                         timeout=120)
    passed(two)
    assert two.stdout.count("epoch 1:") == 1 and "2 ranks of 32" in two.stdout  # rank 0 alone speaks
    accuracy = [line.split("test accuracy")[1].split("%")[0] for line in (one.stdout + two.stdout).splitlines()
                if line.startswith("epoch 1:")]
    assert accuracy[0] == accuracy[1]
    ours, reference = tg.load(str(tmp_path / "two.ckpt"))["model"], tg.load(str(tmp_path / "one.ckpt"))["model"]
    assert list(ours) == list(reference)  # the plain model's keys: the checkpoint works without DDP too
    for key in reference:
        np.testing.assert_allclose(ours[key].numpy(), reference[key].numpy(), rtol=1e-4, atol=1e-5, err_msg=key)


@needs_mpi
def test_kfold_spreads_its_folds_over_ranks():
    """examples/kfold.py --distributed: 3 folds on 2 ranks report what one process reports."""
    from mnist_files import mnist_dir
    common = [os.path.join(ROOT, "examples", "kfold.py"), "--limit-train", "300", "--folds", "3", "--epochs", "1",
              "--data-dir", mnist_dir(), "--plot", ""]
    one = subprocess.run([sys.executable, *common], env=mpi_env(), capture_output=True, text=True, timeout=120)
    two = subprocess.run(["mpirun", "-n", "2", "--oversubscribe", sys.executable, *common, "--distributed"],
                         env=mpi_env(), capture_output=True, text=True, timeout=120)
    passed(one)
    passed(two)
    summary = [line for line in one.stdout.splitlines() if "fold accuracy" in line]
    assert len(summary) == 1 and [line for line in two.stdout.splitlines() if "fold accuracy" in line] == summary
    assert sorted(line for line in two.stdout.splitlines() if line.startswith("fold ")) == \
        sorted(line for line in one.stdout.splitlines() if line.startswith("fold "))


# ------------------------------------------------------------------ what each rank runs
def scenario_collectives():
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    from tinygrad_edu.distributed import ReduceOp
    dist.init_process_group(backend="mpi")
    rank, n = dist.get_rank(), dist.get_world_size()
    per_rank = [np.arange(6, dtype=np.float32).reshape(2, 3) * (r + 1) - r for r in range(n)]
    expected = {ReduceOp.SUM: sum(per_rank), ReduceOp.AVG: sum(per_rank) / n, ReduceOp.PRODUCT: np.prod(per_rank, 0),
                ReduceOp.MIN: np.min(per_rank, 0), ReduceOp.MAX: np.max(per_rank, 0)}
    for op, want in expected.items():
        for dtype in (np.float32, np.float64, np.float16):
            t = tg.tensor(per_rank[rank].astype(dtype))
            buffer = t._data
            assert dist.all_reduce(t, op=op) is None
            assert t._data is buffer, "all_reduce works in place, on the tensor's own buffer"
            np.testing.assert_allclose(t.numpy(), want.astype(dtype), rtol=1e-3 if dtype == np.float16 else 1e-6)
    ints = tg.tensor([rank, 10 * rank + 1, 7])
    dist.all_reduce(ints)
    assert ints.tolist() == [sum(range(n)), sum(10 * r + 1 for r in range(n)), 7 * n] and ints.dtype == tg.int64
    flags = tg.tensor([rank == 0, True, False])
    dist.all_reduce(flags, op=ReduceOp.MAX)
    assert flags.tolist() == [True, True, False]
    grid = tg.arange(12.0).reshape(3, 4) * (rank + 1)
    column = grid[:, 1]  # not contiguous: through a copy and back into the view
    dist.all_reduce(column)
    assert column.tolist() == [float(k * sum(range(1, n + 1))) for k in (1, 5, 9)]
    assert grid[:, 0].tolist() == [0.0, 4.0 * (rank + 1), 8.0 * (rank + 1)]
    work = dist.all_reduce(tg.ones(3) * rank, op=ReduceOp.SUM, async_op=True)
    assert work.wait() is True and work.is_completed()

    t = tg.full((4,), float(rank))
    dist.broadcast(t, src=n - 1)
    assert t.tolist() == [float(n - 1)] * 4
    gathered = [tg.zeros(2, 3) for _ in range(n)]
    dist.all_gather(gathered, tg.tensor(per_rank[rank]))
    for r in range(n):
        np.testing.assert_array_equal(gathered[r].numpy(), per_rank[r])
    stacked = tg.zeros(n * 2, 3)
    dist.all_gather_into_tensor(stacked, tg.tensor(per_rank[rank]))
    np.testing.assert_array_equal(stacked.numpy(), np.concatenate(per_rank))
    out = tg.zeros(2, 3)
    dist.reduce_scatter(out, [tg.tensor(per_rank[rank] * (i + 1)) for i in range(n)])
    np.testing.assert_allclose(out.numpy(), sum(per_rank) * (rank + 1))
    out = tg.zeros(3)
    dist.reduce_scatter_tensor(out, tg.tensor(np.arange(3 * n, dtype=np.float32) + rank), op=ReduceOp.MAX)
    np.testing.assert_array_equal(out.numpy(), np.arange(3 * rank, 3 * rank + 3) + n - 1)
    results = [None] * n
    dist.all_gather_object(results, {"rank": rank, "score": rank / 10})
    assert results == [{"rank": r, "score": r / 10} for r in range(n)]
    for bad, match in ((lambda: dist.all_gather([tg.zeros(2, 3)] * (n + 1), tg.zeros(2, 3)), "list of"),
                       (lambda: dist.all_gather([tg.zeros(3)] * n, tg.zeros(2, 3)), "invalid tensor at index 0"),
                       (lambda: dist.broadcast(tg.zeros(2), src=n), "invalid root rank"),
                       (lambda: dist.all_reduce(tg.tensor([1, 2]), op=ReduceOp.AVG), "floating point"),
                       (lambda: dist.all_reduce(5), "Expected parameter `tensor`")):
        with pytest.raises((ValueError, TypeError), match=match):
            bad()
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    report_done("collectives")


def _mlp(tg, seed: int):
    tg.manual_seed(seed)
    return tg.nn.Sequential(tg.nn.Linear(12, 16), tg.nn.ReLU(), tg.nn.Linear(16, 8), tg.nn.ReLU(),
                            tg.nn.Linear(8, 3))


def _weights(model) -> list:
    return [p.detach().numpy().copy() for p in model.parameters()]


def scenario_ddp():
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    from tinygrad_edu.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group(backend="mpi")
    rank, n = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(0)
    per_rank, steps = 4, 20
    x = tg.tensor(rng.normal(size=(steps, per_rank * n, 12)).astype(np.float32))
    y = tg.tensor(rng.integers(0, 3, size=(steps, per_rank * n)))
    mine = slice(rank * per_rank, (rank + 1) * per_rank)

    reference = _mlp(tg, 0)  # one process, the whole global batch (every rank computes it)
    opt = tg.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for s in range(steps):
        opt.zero_grad()
        tg.nn.functional.cross_entropy(reference(x[s]), y[s]).backward()
        opt.step()

    model = _mlp(tg, rank)  # different initial weights on each rank: DDP broadcasts rank 0's
    ddp = DDP(model, bucket_cap_mb=0.0005)  # tiny buckets: several all_reduces overlap the backward
    assert len(ddp.reducer.buckets) > 1 and ddp.module is model
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    np.testing.assert_array_equal(_weights(model)[0], _weights(_mlp(tg, 0))[0])
    opt = tg.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for s in range(steps):
        opt.zero_grad()
        loss = tg.nn.functional.cross_entropy(ddp(x[s][mine]), y[s][mine])
        loss.backward()  # when it returns, every .grad is the mean over ranks
        opt.step()
    for ours, want in zip(_weights(model), _weights(reference)):
        np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)

    # no_sync: two half batches accumulated locally, synchronised by the second backward
    model2 = _mlp(tg, 1 + rank)
    ddp2 = DDP(model2)
    ref2 = _mlp(tg, 1)  # rank 0's weights, which DDP broadcast
    half = per_rank // 2
    with ddp2.no_sync():
        (tg.nn.functional.cross_entropy(ddp2(x[0][mine][:half]), y[0][mine][:half]) / 2).backward()
    local = [p.grad.numpy().copy() for p in model2.parameters()]
    (tg.nn.functional.cross_entropy(ddp2(x[0][mine][half:]), y[0][mine][half:]) / 2).backward()
    tg.nn.functional.cross_entropy(ref2(x[0]), y[0]).backward()
    for p, want in zip(model2.parameters(), ref2.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), want.grad.numpy(), rtol=1e-4, atol=1e-6)
    if n > 1:
        others = [None] * n
        dist.all_gather_object(others, local[0].tolist())
        assert others[0] != others[1], "inside no_sync the gradients stayed local"

    # a parameter left out of the loss: the next forward says so, as PyTorch's DDP
    class TwoHeads(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = tg.nn.Linear(3, 3), tg.nn.Linear(3, 3)

        def forward(self, inp):
            return self.used(inp)
    ddp3 = DDP(TwoHeads())
    ddp3(tg.ones(2, 3)).sum().backward()
    with pytest.raises(RuntimeError, match="Expected to have finished reduction in the prior iteration.*unused.weight"):
        ddp3(tg.ones(2, 3))
    if n > 1:  # a different model on one rank: every rank gets the same clear error, none hangs
        with pytest.raises(RuntimeError, match="DDP expects same model across all ranks"):
            DDP(tg.nn.Linear(3, 3 + (rank == 1)))
    dist.destroy_process_group()
    report_done("ddp")


def scenario_single():
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    from tinygrad_edu.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group(backend="mpi")
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    rng = np.random.default_rng(1)
    x, y = tg.tensor(rng.normal(size=(20, 6, 12)).astype(np.float32)), tg.tensor(rng.integers(0, 3, size=(20, 6)))
    plain, wrapped = _mlp(tg, 0), DDP(_mlp(tg, 0), bucket_cap_mb=0.0005)
    for model in (plain, wrapped):
        opt = tg.optim.Adam(model.parameters(), lr=0.01)
        for s in range(20):
            opt.zero_grad()
            tg.nn.functional.cross_entropy(model(x[s]), y[s]).backward()
            opt.step()
    for (key, a), (wkey, b) in zip(plain.state_dict().items(), wrapped.state_dict().items()):
        assert wkey == "module." + key
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # exactly: nothing was divided or rounded
    dist.destroy_process_group()
    print("single ok", flush=True)


def scenario_raise():
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    from datetime import timedelta
    dist.init_process_group(backend="mpi", timeout=timedelta(seconds=60))
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(tg.ones(3))  # rank 0 waits here for a rank that will never come
    print("rank 0 finished", flush=True)


def scenario_timeout():
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    from datetime import timedelta
    dist.init_process_group(backend="mpi", timeout=timedelta(seconds=1))
    if dist.get_rank() == 1:
        time.sleep(6)  # busy elsewhere, no error: only the timeout can end rank 0's wait
        print("rank 1 finished", flush=True)
        return
    dist.all_reduce(tg.ones(3))


if __name__ == "__main__":
    globals()[f"scenario_{sys.argv[1]}"]()

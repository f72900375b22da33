"""Where units run: this process, local worker processes, or Ray.

Every executor takes the :class:`srbench.unit_worker.WorkContext` once and the pending units in execution
order, and yields one :class:`UnitResult` or :class:`Failure` per unit, in any order. Workers hold one
copy of each model and metric they meet; the driver alone writes the value cache.

* ``serial`` (``--workers 1``): the units one after another in this process (in-process models work).
* ``processes`` (``--workers N``): N spawned processes (``multiprocessing``, spawn: no forked torch or
  OpenMP state); each worker's torch/BLAS threads = cores / N, so N workers never oversubscribe.
* ``ray`` (``--executor ray``): N Ray actors on a local Ray instance or an existing cluster
  (``--address auto|HOST:PORT``), each asking ``num_cpus=1`` and, on a CUDA device, ``num_gpus=1``.
  Remote workers need the same srbench install and ``SRBENCH_HOME`` (the image caches) and the datasets on
  a shared filesystem; values travel back to the driver (docs/scale-out.md).
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator

from srbench.errors import MissingDependencyError, SrbenchError
from srbench.unit_worker import UnitWorker, WorkContext

EXECUTORS = ("local", "ray")
#: what one CPU worker may need (numpy/scipy + a light model + metrics); caps the automatic worker count
WORKER_MEMORY = 1.5 * 2**30


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def auto_workers(device: str, pending: int, torch_work: bool = False) -> int:
    """Workers for ``--workers auto``: the machine's cores, capped by memory and by the work (a worker per
    4 pending units, none for fewer than 8); 1 on a GPU (one process feeds the device) and 1 when the
    work runs on torch (a learned method, degradation or metric): torch's own threads already use every
    core, and each process would load torch and the models again. Measured on 2 cores, bicubic + psnr_y,
    ssim_y, lpips, niqe, fid on Urban100 x4: 2 workers 119.7 s and 2.29 GiB for the process tree, 1 worker
    115.7 s and 1.76 GiB (benchmarks/README.md, P4)."""
    if str(device).startswith("cuda") or pending < 8 or torch_work:
        return 1
    n = cpu_count()
    mem = available_memory()
    if mem is not None:
        n = min(n, max(1, int(mem // WORKER_MEMORY)))
    return max(1, min(n, -(-pending // 4)))


def parse_workers(text: str | int | None) -> int | None:
    """``--workers``: a positive integer, or ``auto`` (None)."""
    if text is None or text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise SrbenchError(f"--workers takes a positive integer or 'auto', not {text!r}")
    return n


class SerialExecutor:
    name = "serial"

    def __init__(self, ctx: WorkContext):
        self.worker = UnitWorker(ctx)
        self.workers = 1

    def run(self, units: Iterable) -> Iterator:
        for u in units:
            yield self.worker.compute(u)

    def close(self) -> None:
        pass


# -- local processes ---------------------------------------------------------------------------------
_WORKER: UnitWorker | None = None


def _init_process(ctx: WorkContext, threads: int, env: dict[str, str]) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    os.environ.update(env)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # read when torch/numpy load
        os.environ[var] = str(threads)
    global _WORKER
    _WORKER = UnitWorker(ctx)


def _compute_in_process(unit):
    return _WORKER.compute(unit)


class ProcessExecutor:
    name = "processes"

    def __init__(self, ctx: WorkContext, workers: int):
        import multiprocessing as mp

        self.workers = workers
        threads = max(1, cpu_count() // workers)
        env = {k: v for k, v in os.environ.items() if k.startswith("SRBENCH_") or k in ("TORCH_HOME", "XDG_CACHE_HOME")}
        self.pool = mp.get_context("spawn").Pool(workers, initializer=_init_process, initargs=(ctx, threads, env))

    def run(self, units: Iterable) -> Iterator:
        yield from self.pool.imap_unordered(_compute_in_process, list(units), chunksize=1)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


# -- Ray ---------------------------------------------------------------------------------------------
class RayExecutor:
    name = "ray"

    def __init__(self, ctx: WorkContext, workers: int | None, address: str | None = None):
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError("--executor ray needs Ray: pip install 'srbench[ray]'") from exc
        self.ray = ray
        self._started = False
        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith("SRBENCH_") or k in ("TORCH_HOME",)}
            kwargs = {"address": address} if address else {"num_cpus": workers or cpu_count()}
            ray.init(**kwargs, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
            self._started = True
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, cluster_cpus)
        gpus = 1 if str(ctx.device).startswith("cuda") else 0
        actor = ray.remote(num_cpus=1, num_gpus=gpus)(_RayWorker)
        ctx_ref = ray.put(ctx)
        self.actors = [actor.remote(ctx_ref) for _ in range(self.workers)]

    def run(self, units: Iterable) -> Iterator:
        from ray.util import ActorPool

        pool = ActorPool(self.actors)
        yield from pool.map_unordered(lambda a, u: a.compute.remote(u), list(units))

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        if self._started:
            self.ray.shutdown()


class _RayWorker:
    def __init__(self, ctx: WorkContext):
        self.worker = UnitWorker(ctx)

    def compute(self, unit):
        return self.worker.compute(unit)


def make_executor(ctx: WorkContext, *, executor: str, workers: int | None, pending: int, address: str | None,
                  in_process_models: bool, torch_work: bool = False):
    """The executor of a run (``workers`` None: automatic). In-process models (``srbench.evaluate(model=)``)
    live in this process, so they run serially here."""
    if executor not in EXECUTORS:
        raise SrbenchError(f"unknown executor {executor!r}; choose from {', '.join(EXECUTORS)}")
    if executor == "ray":
        if in_process_models:
            raise SrbenchError("--executor ray cannot run in-process models (they live in this Python process)")
        return RayExecutor(ctx, workers, address)
    n = auto_workers(ctx.device, pending, torch_work) if workers is None else workers
    if n <= 1 or in_process_models or pending <= 1:
        return SerialExecutor(ctx)
    return ProcessExecutor(ctx, min(n, pending))

"""Where tasks run: this process (inline), a local process pool (default) or a Ray cluster, behind one interface.

Both run the same module-level task functions unchanged.  The interface, used by
:func:`rtaudio.jobs.graph.run_graph` and :mod:`rtaudio.jobs.batch`:

* ``submit(fn, args, kwargs) -> handle`` starts ``fn(*args, **kwargs)``;
* ``wait(handles) -> list`` returns the handles that finished (at least one);
* ``get(handle)`` returns the result or raises the task's exception;
* ``ref(handle)`` what a dependent task receives: the value (local) or the Ray
  object reference (resolved on the worker, never copied through the driver);
* ``put(array)``: a large array for many tasks (local: a ``.npy`` file path the
  task memory-maps; Ray: ``ray.put``, zero-copy for numpy on one node);
* ``slots``: how many tasks run at once; ``recover(exc)`` after a lost worker;
  ``close()``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

from rtaudio.errors import ParameterError, require
from rtaudio.outputs import alive

ENGINES = ("local", "ray")


def make_executor(
    engine: str = "local", *, workers: int | None = None, address: str | None = None, threads: int | None = None
):
    """An executor for ``engine`` (``local`` or ``ray``).

    Parameters
    ----------
    engine : str
        ``local``: a process pool on this machine; ``ray``: Ray (``pip install 'rtaudio[ray]'``).
    workers : int >= 1 or None
        Tasks at once; default the CPU count (local) or the cluster's CPUs (Ray).
    address : str or None
        Ray only: a running cluster (``ray://head:10001``, ``auto``); default a local one.
    threads : int >= 1 or None
        Math-library (BLAS, OpenMP) threads per task; default CPUs / workers (local), 1 (Ray, one CPU a task).
        Float results depend on it (BLAS sums in another order), so equal ``threads`` give equal bits.
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine={engine!r} must be 'local' or 'ray'", params=("engine",))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers={workers!r} must be a whole number >= 1", params=("workers",))
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ParameterError(f"threads={threads!r} must be a whole number >= 1", params=("threads",))
    if address is not None and engine != "ray":
        raise ParameterError(
            f"address={address!r} is for engine='ray' (a Ray cluster); the local engine has none",
            params=("address", "engine"),
        )
    if engine == "ray":
        return RayExecutor(workers=workers, address=address, threads=threads or 1)
    return LocalExecutor(workers=workers, threads=threads)


class _ArrayStore:
    """What the inline and local executors share: :meth:`put` into one :class:`rtaudio.jobs.arrays.Store` (made on the
    first put, removed by :meth:`close`), and use as a context manager."""

    _store = None

    def put(self, array) -> str:
        """Store ``array`` as a ``.npy`` file for the tasks (load with :func:`fetch`); return its path."""
        from rtaudio.jobs.arrays import Store

        if self._store is None:
            self._store = Store()
        return self._store.put(array)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class InlineExecutor(_ArrayStore):
    """Tasks run in this process, one at a time, when submitted: the in-process render is its graph run here.

    A task's exception is kept and raised by :meth:`get` (the original object, so
    :func:`~rtaudio.jobs.graph.run_graph` with ``fail_fast`` raises it unchanged);
    ``KeyboardInterrupt`` and ``SystemExit`` stop the run at once.
    """

    name = "inline"
    slots = 1
    threads = None

    def submit(self, fn, args=(), kwargs=None):
        done = _Done()
        try:
            done.value = fn(*args, **(kwargs or {}))
        except Exception as exc:  # noqa: BLE001 - the task's failure, raised by get()
            done.error = exc
        return done

    def wait(self, handles):
        return list(handles)

    def get(self, handle):
        if handle.error is not None:
            raise handle.error
        return handle.value

    ref = get

    def recover(self, exc: BaseException) -> None:
        pass


class _Done:
    """An inline task's outcome: its ``value`` or its ``error``."""

    __slots__ = ("value", "error")

    def __init__(self):
        self.value, self.error = None, None


class LocalExecutor(_ArrayStore):
    """A :class:`concurrent.futures.ProcessPoolExecutor` (``forkserver`` start: workers do not inherit threads)."""

    name = "local"

    def __init__(self, workers: int | None = None, threads: int | None = None):
        self.slots = workers or os.cpu_count() or 1
        self._ctx = multiprocessing.get_context("forkserver")
        self.threads = threads or max(1, (os.cpu_count() or 1) // self.slots)
        self._pool = self._new_pool()

    def _new_pool(self):
        return cf.ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=self._ctx,
            initializer=init_worker,
            initargs=(self.threads, os.getpid()),
        )

    def submit(self, fn, args=(), kwargs=None):
        return self._pool.submit(fn, *args, **(kwargs or {}))

    def wait(self, handles):
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def get(self, handle):
        return handle.result()

    def ref(self, handle):
        return handle.result()

    def recover(self, exc: BaseException) -> None:
        """Replace the pool when a worker died (``BrokenProcessPool``); its other tasks come back as failures."""
        if type(exc).__name__ == "BrokenProcessPool":
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        super().close()


class RayExecutor:
    """Ray tasks (one CPU each, Ray's own retries off so :func:`run_graph` decides); joins or starts a cluster.

    A cluster this executor started is shut down by :meth:`close`; one that was
    already running (``ray.init`` by the caller, or ``address``) is left alone.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, threads: int = 1):
        require("ray", "ray")
        import ray

        self._ray = ray
        self.threads = threads
        self._started = False
        if not ray.is_initialized():
            # "local": a new cluster of our own, never one a `ray start` left running on this machine
            kw = {"address": address} if address else {"address": "local", "num_cpus": workers or os.cpu_count() or 1}
            ray.init(**kw, include_dashboard=False, log_to_driver=False, configure_logging=False)
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = min(workers, cpus) if workers else cpus
        self._remote = None  # run_limited as a Ray remote function, made on first use

    def submit(self, fn, args=(), kwargs=None):
        if self._remote is None:
            self._remote = self._ray.remote(num_cpus=1, max_retries=0)(run_limited)
        return self._remote.remote(self.threads, fn, *args, **(kwargs or {}))

    def wait(self, handles):
        done, _ = self._ray.wait(handles, num_returns=1)
        return done

    def get(self, handle):
        return self._ray.get(handle)

    def ref(self, handle):
        return handle

    def put(self, array):
        return self._ray.put(array)

    def recover(self, exc: BaseException) -> None:
        pass  # Ray replaces lost workers itself

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def init_worker(threads: int, parent: int) -> None:
    """A pool worker's set-up: :func:`limit_threads`, and exit when ``parent`` (the pool's owner) dies."""
    limit_threads(threads)
    watch_parent(parent)


#: How often a worker checks that the process that owns its pool still runs (s).
WATCH_INTERVAL_S = 0.5


def watch_parent(pid: int, interval_s: float = WATCH_INTERVAL_S) -> None:
    """Exit this process (status 1) within ``interval_s`` of process ``pid``'s death (a daemon thread).

    A worker's parent is the forkserver, not the process that owns the pool, so
    ``PR_SET_PDEATHSIG`` would not fire when the owner is killed; a watchdog on the
    owner's pid does (a zombie counts as dead).
    """
    import threading
    import time

    def watch():
        while alive(pid):
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="rtaudio-parent-watch", daemon=True).start()


def limit_threads(n: int) -> None:
    """Cap this process's math libraries at ``n`` threads (CPUs / workers), before and after they load.

    Without it each worker's BLAS uses every core and two workers fight over them.
    The environment variables reach libraries loaded later; ``threadpoolctl`` caps
    those already loaded (whatever the parent's environment said).
    """
    from threadpoolctl import threadpool_limits

    for var in THREAD_VARS:
        os.environ[var] = str(n)
    threadpool_limits(n)


_limited_to: int | None = None  # the cap this worker process last applied (run_limited)


def run_limited(threads: int, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with math libraries capped at ``threads`` (a Ray task's wrapper)."""
    global _limited_to
    if _limited_to != threads:
        limit_threads(threads)
        _limited_to = threads
    return fn(*args, **kwargs)


def fetch(stored):
    """The array behind what :meth:`LocalExecutor.put` / :meth:`RayExecutor.put` gave a task.

    A path is memory-mapped (read-only); a Ray reference arrives already resolved
    as the array when passed as a top-level task argument.
    """
    from rtaudio.jobs.arrays import read

    if isinstance(stored, (str, os.PathLike)):
        return read(stored)
    return stored

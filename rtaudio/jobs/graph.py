"""Tasks and their dependencies, run on any executor (:mod:`rtaudio.jobs.executors`).

A :class:`Task` is a plain module-level function with its arguments; an argument
that is a :class:`Ref` stands for the result of another task.  :func:`run_graph`
submits every task whose dependencies are done, passes results on (on Ray as
object references, never through the driver), retries transient faults and
isolates failures: a failed task fails the tasks that depend on it and nothing
else.  Task functions must be importable by name (picklable) and should pass
large arrays as files or object references, not as return values, when the
result goes to another machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rtaudio.errors import ParameterError, RtaudioError


@dataclass(frozen=True)
class Ref:
    """The result of the task named ``key``, as an argument of another task."""

    key: str


@dataclass
class Task:
    """One unit of work: ``fn(*args, **kwargs)``; :class:`Ref` arguments are dependencies.

    Attributes
    ----------
    key : str
        Unique name of the task in its graph.
    fn : callable
        A module-level function (it travels to worker processes by name).
    args, kwargs
        Arguments; small values only (paths, numbers, cut lists), or :class:`Ref`.
    retries : int >= 0
        How often a transient fault (see :func:`is_transient`) is retried.
    """

    key: str
    fn: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    retries: int = 2

    @property
    def deps(self) -> list[str]:
        vals = list(self.args) + list(self.kwargs.values())
        return [v.key for v in vals if isinstance(v, Ref)]


@dataclass
class Outcome:
    """What happened to one task: ``ok``, its ``result`` or ``error`` (text), ``attempts``, ``seconds``."""

    key: str
    ok: bool
    result: Any = None
    error: str | None = None
    error_type: str | None = None
    attempts: int = 0
    seconds: float = 0.0


def is_transient(exc: BaseException) -> bool:
    """True for faults worth a retry: a lost worker, a timeout, an I/O error other than a missing file.

    rtaudio's own errors (bad input, bad parameters), ``ValueError`` and
    ``TypeError`` are permanent: the same task would fail the same way again.
    """
    if isinstance(
        exc, (RtaudioError, ValueError, TypeError, KeyError, FileNotFoundError, IsADirectoryError, PermissionError)
    ):
        return False
    name = type(exc).__name__
    if name in (
        "BrokenProcessPool",
        "WorkerCrashedError",
        "NodeDiedError",
        "RaySystemError",
        "ObjectLostError",
        "OwnerDiedError",
        "ActorDiedError",
    ):
        return True
    return isinstance(exc, (OSError, TimeoutError, ConnectionError, MemoryError, EOFError))


def check_graph(tasks: list[Task]) -> dict[str, Task]:
    """Tasks by key, checked: unique keys, known dependencies, no cycle."""
    by_key: dict[str, Task] = {}
    for t in tasks:
        if t.key in by_key:
            raise ParameterError(f"task {t.key!r} appears twice in the graph; task keys must be unique")
        by_key[t.key] = t
    for t in tasks:
        for d in t.deps:
            if d not in by_key:
                raise ParameterError(f"task {t.key!r} depends on {d!r}, which is not in the graph")
    state: dict[str, int] = {}

    def visit(k, path):
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            raise ParameterError(f"the task graph has a cycle: {' -> '.join(path + [k])}")
        state[k] = 1
        for d in by_key[k].deps:
            visit(d, path + [k])
        state[k] = 2

    for k in by_key:
        visit(k, [])
    return by_key


def run_graph(
    tasks: list[Task],
    executor,
    on_done: Callable[[Outcome], None] | None = None,
    backoff_s: float = 0.2,
    fail_fast: bool = False,
) -> dict[str, Outcome]:
    """Run ``tasks`` on ``executor``; return every task's :class:`Outcome` by key.

    Parameters
    ----------
    tasks : list of Task
    executor : LocalExecutor or RayExecutor
        Anything with ``submit(fn, args, kwargs) -> handle``, ``wait(handles) -> done``,
        ``get(handle)`` and ``ref(handle)`` (what a dependent task receives).
    on_done : callable(Outcome) or None
        Called once per finished task (success or final failure), e.g. for progress.
    backoff_s : float, s
        Pause before a retry, doubled each attempt.
    fail_fast : bool
        Raise a task's exception when it fails for good (after its retries), running
        nothing more (tasks already submitted elsewhere are left to the executor),
        instead of failing its dependants and going on.
    """
    by_key = check_graph(tasks)
    outcomes: dict[str, Outcome] = {}
    handles: dict[str, Any] = {}  # key -> handle of a finished task (for dependants)
    running: dict[Any, tuple[str, int, float]] = {}  # handle -> (key, attempt, start)
    waiting = dict(by_key)
    slots = getattr(executor, "slots", None) or len(by_key) or 1
    pending = {k: 0 for k in by_key}  # key -> dependants not finished yet; its handle is dropped at 0
    for t in by_key.values():
        for d in set(t.deps):
            pending[d] += 1

    def finish(outcome: Outcome):
        outcomes[outcome.key] = outcome
        for d in set(by_key[outcome.key].deps):  # a merged batch graph keeps no finished job's arrays alive
            pending[d] -= 1
            if pending[d] == 0:
                handles.pop(d, None)
        if on_done is not None:
            on_done(outcome)

    def launch(t: Task, attempt: int):
        args = tuple(executor.ref(handles[a.key]) if isinstance(a, Ref) else a for a in t.args)
        kwargs = {k: executor.ref(handles[v.key]) if isinstance(v, Ref) else v for k, v in t.kwargs.items()}
        t0 = time.perf_counter()  # before submit: an inline executor runs the task in it
        h = executor.submit(t.fn, args, kwargs)
        running[h] = (t.key, attempt, t0)

    while waiting or running:
        for key in list(waiting):
            t = waiting[key]
            failed = [d for d in t.deps if d in outcomes and not outcomes[d].ok]
            if failed:
                del waiting[key]
                finish(
                    Outcome(
                        key, False, error=f"skipped: its dependency {failed[0]!r} failed", error_type="DependencyFailed"
                    )
                )
            elif all(d in outcomes for d in t.deps) and len(running) < slots:
                del waiting[key]
                launch(t, 1)
        if not running:
            continue
        for h in executor.wait(list(running)):
            key, attempt, t0 = running.pop(h)
            task = by_key[key]
            try:
                value = executor.get(h)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                if is_transient(_cause(exc)) and attempt <= task.retries:
                    time.sleep(backoff_s * 2 ** (attempt - 1))
                    executor.recover(exc)
                    launch(task, attempt + 1)
                    continue
                if fail_fast:
                    raise
                finish(
                    Outcome(
                        key,
                        False,
                        error=_describe(exc),
                        error_type=_cause_type(exc),
                        attempts=attempt,
                        seconds=time.perf_counter() - t0,
                    )
                )
                continue
            if pending[key]:
                handles[key] = h
            finish(Outcome(key, True, result=value, attempts=attempt, seconds=time.perf_counter() - t0))
    return outcomes


def _cause(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)  # ray.exceptions.RayTaskError
    return cause if isinstance(cause, BaseException) else exc


def _cause_type(exc: BaseException) -> str:
    return type(_cause(exc)).__name__.replace("RayTaskError(", "").rstrip(")")


def _describe(exc: BaseException) -> str:
    cause = _cause(exc)
    text = str(cause).strip().splitlines()
    return text[-1] if text else type(cause).__name__

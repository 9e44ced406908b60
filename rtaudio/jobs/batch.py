"""Many soundtrack jobs at once: JSONL job lists, resumable outputs, failure isolation, ``submit``/``result``.

By default each job is one task (:func:`run_job`, the whole soundtrack render of
one input) on a local process pool or Ray (:mod:`rtaudio.jobs.executors`); jobs
run in parallel, the steps inside one job do not.  Only paths, cut lists and
settings travel to a worker and a short summary comes back: the audio is read and
written by the worker itself, so nothing large is pickled.  With ``split=True``
(``rtaudio batch --split-jobs``) each job is a graph of tasks instead
(:mod:`rtaudio.jobs.soundtrack.graph`), and the jobs' graphs run as one graph
(:func:`run_split_jobs`), so tasks of different jobs share the workers.

Resuming: a job counts as finished when its output (and its report / muxed video
when asked for) exists.  A worker writes every file under a temporary name in the
same folder (``.NAME.part-<pid>-<host>.EXT``, :mod:`rtaudio.outputs`) and renames it when complete, so a job
killed mid-way leaves no file that looks finished, and the next run redoes it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, fields

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.executors import make_executor
from rtaudio.jobs.graph import Outcome, Task, _cause, is_transient, run_graph
from rtaudio.outputs import part_name, remove_stale

#: Per-job options besides input/cuts/output (render_soundtrack keywords).
CALL_OPTIONS = (
    "report",
    "mux",
    "mux_output",
    "rate",
    "stream",
    "fps",
    "source_start",
    "separation",
    "cache",
    "cache_dir",
)
PATH_OPTIONS = ("report", "mux", "mux_output", "cache_dir")


def _param_fields() -> tuple[str, ...]:
    from rtaudio.jobs.soundtrack.params import SoundtrackParams

    return tuple(f.name for f in fields(SoundtrackParams))


@dataclass
class Job:
    """One soundtrack job: ``input`` and ``cuts`` in, ``output`` out, plus render options.

    ``cuts`` is a cut-list file or a list of ``{"start": .., "end": ..}`` /
    ``[start, end]`` segments (seconds or timecodes).
    """

    input: str
    cuts: object
    output: str
    options: dict = field(default_factory=dict)
    name: str = ""
    where: str = ""  # for messages: "jobs.jsonl line 3"

    def outputs(self) -> list[str]:
        """Every file the job writes; all present = finished."""
        return [self.output] + [self.options[k] for k in ("report", "mux_output") if self.options.get(k)]

    def finished(self) -> bool:
        return all(os.path.isfile(p) for p in self.outputs())

    def as_dict(self) -> dict:
        return {
            "input": self.input,
            "cuts": self.cuts,
            "output": self.output,
            "options": dict(self.options),
            "name": self.name,
            "where": self.where,
        }


def make_job(row: dict, *, base: str = ".", where: str = "job") -> Job:
    """A :class:`Job` from one JSON object; relative paths are taken from ``base``; errors name ``where``."""
    if not isinstance(row, dict):
        raise ParameterError(
            f"{where}: expected a JSON object like "
            '{"input": "a.mp4", "cuts": "a.csv", "output": "a.wav"}, got '
            f"{row!r}"
        )
    missing = [k for k in ("input", "cuts", "output") if k not in row]
    if missing:
        raise ParameterError(
            f"{where}: missing {', '.join(map(repr, missing))}; every job needs input, cuts and output"
        )
    known = set(CALL_OPTIONS) | set(_param_fields()) | {"input", "cuts", "output", "name"}
    unknown = sorted(set(row) - known)
    if unknown:
        raise ParameterError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; expected input, cuts, "
            f"output, name, {', '.join(CALL_OPTIONS)} or a soundtrack setting "
            f"({', '.join(_param_fields())})"
        )
    for k in ("input", "output"):
        if not isinstance(row[k], str) or not row[k]:
            raise ParameterError(f"{where}: {k}={row[k]!r} must be a file path")
    cuts = row["cuts"]
    if not (isinstance(cuts, str) and cuts) and not (isinstance(cuts, list) and cuts):
        raise ParameterError(f"{where}: cuts={cuts!r} must be a cut-list path or a non-empty list of segments")

    def resolve(p):
        return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))

    options = {k: v for k, v in row.items() if k not in ("input", "cuts", "output", "name")}
    for k in PATH_OPTIONS:
        if isinstance(options.get(k), str):
            options[k] = resolve(options[k])
    from rtaudio.jobs.soundtrack.mixdown import AUDIO_FORMATS

    if os.path.splitext(row["output"])[1].lower() not in AUDIO_FORMATS:
        raise ParameterError(f"{where}: output={row['output']!r}: expected a .wav, .flac, .m4a or .aac file")
    return Job(
        resolve(row["input"]),
        resolve(cuts) if isinstance(cuts, str) else cuts,
        resolve(row["output"]),
        options,
        str(row.get("name") or os.path.basename(row["output"])),
        where,
    )


def read_jobs(path: str) -> list[Job]:
    """The jobs of a JSONL file (one JSON object a line; blank and ``#`` lines skipped)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"job list {path!r} does not exist; expected a .jsonl file, one job a line")
    base = os.path.dirname(os.path.abspath(path))
    jobs = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path} line {n}: not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                    "expected a UTF-8 .jsonl file, one job a line"
                ) from None
            if not text or text.startswith("#"):
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParameterError(
                    f"{path} line {n}: not JSON ({exc.msg}); expected one object a line like "
                    '{"input": "a.mp4", "cuts": "a.csv", "output": "a.wav"}'
                ) from None
            jobs.append(make_job(row, base=base, where=f"{path} line {n}"))
    if not jobs:
        raise InputError(f"job list {path!r} holds no jobs; expected one JSON object a line")
    check_jobs(jobs, path)
    return jobs


def check_jobs(jobs: list[Job], jobs_file: str | None = None, outputs: dict | None = None) -> None:
    """No job writes over an input of the batch (media, cut list, the job list) or over another job's output.

    Real paths and inodes are compared (:class:`rtaudio.outputs.Claims`); the
    :class:`ParameterError` names both paths and the lines (or jobs) they come from.
    """
    from rtaudio.outputs import Claims

    claims = Claims()
    if jobs_file is not None:
        claims.read("the job list", jobs_file)
    for j in jobs:
        w = j.where or f"job {j.name!r}"
        claims.read(f"{w}: input", j.input)
        if isinstance(j.cuts, str):
            claims.read(f"{w}: cuts", j.cuts)
        claims.read(f"{w}: mux", j.options.get("mux"))
    for j in jobs:
        w = j.where or f"job {j.name!r}"
        claims.write(f"{w}: output", j.output)
        for k in ("report", "mux_output"):
            claims.write(f"{w}: {k}", j.options.get(k))
    for label, path in (outputs or {}).items():  # the run's own files (--summary)
        claims.write(label, path)


# ------------------------------------------------------------------------------------------- the task


def _part(path: str) -> str:
    return part_name(path)


class _Staged:
    """A job's files under temporary names (see the module docstring): ``stage`` before, ``commit`` after."""

    def __init__(self, job: dict):
        self.t0 = time.perf_counter()
        self.job = job
        self.options = dict(job["options"])
        self.cuts = job["cuts"]
        self.finals = {"output": job["output"]}
        for k in ("report", "mux_output"):
            if self.options.get(k):
                self.finals[k] = self.options[k]
        for p in self.finals.values():  # a batch names output folders that may not exist yet
            folder = os.path.dirname(os.path.abspath(p))
            os.makedirs(folder, exist_ok=True)
            remove_stale(folder)  # temporary files of killed runs
        self.parts = {k: _part(p) for k, p in self.finals.items()}
        self.cut_file = None
        try:
            if isinstance(self.cuts, list):
                rows = [{"start": s[0], "end": s[1]} if isinstance(s, (list, tuple)) else s for s in self.cuts]
                self.cut_file = _part(os.path.splitext(job["output"])[0] + ".cuts.json")
                with open(self.cut_file, "w") as f:
                    json.dump(rows, f)
                self.cuts = self.cut_file
                who = job.get("where") or f"job {job.get('name') or os.path.basename(job['output'])!r}"
                self.options["cuts_name"] = f"{who}: cuts"
        except BaseException:
            self.cleanup()
            raise
        for k in ("report", "mux_output"):
            if k in self.parts:
                self.options[k] = self.parts[k]

    def commit(self, report: dict) -> dict:
        """Rename the finished files to their names; return the job's short summary."""
        for k, p in self.finals.items():
            os.replace(self.parts[k], p)
        out = report.get("output", {})
        return {
            "output": self.job["output"],
            "duration_s": out.get("duration_s"),
            "integrated_lufs": out.get("integrated_lufs"),
            "summary": report.get("summary"),
            "stems": (report.get("stems") or {}).get("note"),
            "needs_review": report.get("needs_review"),
            "seconds": round(time.perf_counter() - self.t0, 3),
            "pid": os.getpid(),
        }

    def cleanup(self) -> None:
        """Remove what is left under temporary names (all of it after a failure)."""
        for p in list(self.parts.values()) + ([self.cut_file] if self.cut_file else []):
            if os.path.exists(p):
                os.remove(p)


def run_job(job: dict, render=None) -> dict:
    """Render one job (a :meth:`Job.as_dict`) in this process; return a short summary.

    Every output is written under a temporary name and renamed when complete.
    ``render`` is what renders (default :func:`render_soundtrack`; :func:`run_split_job`
    passes the task-graph version).
    """
    if render is None:
        from rtaudio.jobs.soundtrack.render import render_soundtrack as render

    staged = _Staged(job)
    try:
        return staged.commit(render(job["input"], staged.cuts, staged.parts["output"], **staged.options))
    finally:
        staged.cleanup()


def run_split_job(job: dict, executor, retries: int = 2, progress=None) -> dict:
    """Render one job as a task graph (:mod:`rtaudio.jobs.soundtrack.graph`) over all of ``executor``'s workers.

    Outputs are written and renamed as in :func:`run_job`; ``progress(step, fraction)``
    follows the job's tasks.
    """
    from functools import partial

    from rtaudio.jobs.soundtrack.graph import render_soundtrack_graph

    return run_job(job, partial(render_soundtrack_graph, executor=executor, retries=retries, progress=progress))


def run_split_jobs(jobs: dict[str, dict], executor, retries: int = 2, on_done=None, task_progress=None) -> None:
    """Render several jobs as ONE task graph on ``executor``; ``on_done(Outcome)`` once per job, keyed as ``jobs``.

    Each job's tasks are planned in this process (probe, cut list; a job that fails
    here fails alone), their keys prefixed with ``KEY/``, and all of them go through
    one :func:`run_graph`, so one job's tasks fill the workers while another's wait on
    their inputs.  A failed task fails only its own job's dependants.  When a job's
    last task ends its files are renamed from their temporary names (as
    :func:`run_job`), its scratch files removed, and ``on_done`` gets its summary
    (or the failed task's error, naming the task).  ``task_progress(label, fraction)``
    follows the tasks of the whole graph (label: the job's name and step).
    """
    from rtaudio.jobs.soundtrack.graph import STEP_OF, plan_graph

    on_done = on_done or (lambda o: None)
    planned: dict[str, tuple] = {}  # key -> (staged, graph)
    owner: dict[str, str] = {}  # task key -> job key
    left: dict[str, int] = {}
    try:
        for key, job in jobs.items():
            staged, t0 = None, time.perf_counter()
            try:
                staged = _Staged(job)
                graph = plan_graph(
                    job["input"],
                    staged.cuts,
                    staged.parts["output"],
                    executor=executor,
                    prefix=f"{key}/",
                    retries=retries,
                    **staged.options,
                )
            except Exception as exc:  # noqa: BLE001 - a job's failure, whatever it is, is its own
                if staged is not None:
                    staged.cleanup()
                on_done(_failed(key, exc, time.perf_counter() - t0))
                continue
            planned[key] = (staged, graph)
            left[key] = len(graph.tasks)
            owner.update((k, key) for k in graph.keys)
        tasks = [t for _, g in planned.values() for t in g.tasks]
        n_tasks, n_done = len(tasks), 0
        outcomes: dict[str, Outcome] = {}

        def task_done(o: Outcome):
            nonlocal n_done
            outcomes[o.key] = o
            key = owner[o.key]
            n_done += 1
            if task_progress:
                step = o.key.split("/", 1)[1].rstrip("0123456789")
                task_progress(f"{jobs[key]['name']} {STEP_OF.get(step, step)}", n_done / n_tasks)
            left[key] -= 1
            if left[key]:
                return
            staged, graph = planned.pop(key)
            mine = [outcomes.pop(k) for k in graph.keys]
            attempts = max(m.attempts for m in mine)
            try:
                result = staged.commit(graph.result({m.key: m for m in mine}))
            except Exception as exc:  # noqa: BLE001
                failed = next((m for m in mine if not m.ok and m.error_type != "DependencyFailed"), None)
                out = _failed(key, exc, time.perf_counter() - staged.t0, failed.attempts if failed else attempts)
            else:
                out = Outcome(key, True, result=result, attempts=attempts, seconds=time.perf_counter() - staged.t0)
            finally:
                staged.cleanup()
                graph.close()
                for m in mine:  # run_graph keeps its outcomes to the end: drop this job's values (Ray: arrays)
                    m.result = None
            on_done(out)

        if tasks:
            run_graph(tasks, executor, task_done)
    finally:
        for staged, graph in planned.values():  # interrupted: nothing half-done stays
            staged.cleanup()
            graph.close()


def _failed(key: str, exc: BaseException, seconds: float, attempts: int = 1) -> Outcome:
    text = str(exc).strip().splitlines()
    return Outcome(
        key,
        False,
        error=text[-1] if text else type(exc).__name__,
        error_type=getattr(exc, "error_type", None) or type(exc).__name__,
        attempts=attempts,
        seconds=seconds,
    )


# ------------------------------------------------------------------------------------------- batches


def run_batch(
    jobs,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    retries: int = 2,
    force: bool = False,
    progress=None,
    executor=None,
    split: bool = False,
    task_progress=None,
) -> dict:
    """Run soundtrack jobs in parallel; return the batch summary.

    Parameters
    ----------
    jobs : path or list of Job or dict
        A JSONL file or the jobs themselves (dicts as in the file).
    engine : str
        ``local`` (process pool) or ``ray``.
    workers : int or None
        Jobs at once (default: every CPU).
    address : str or None
        Ray cluster address (``--engine ray``).
    retries : int >= 0
        Retries of a job after a transient fault (a lost worker, an I/O error).
    force : bool
        Redo finished jobs too.
    progress : callable(done, total, row) or None
        Called as jobs finish (and once per skipped job).
    executor : LocalExecutor or RayExecutor or None
        Use this executor (left open) instead of making one.
    split : bool
        Run each job as a task graph (decode, chunked separation, analysis, render
        groups, mix, measure, write), all the jobs' graphs as one graph over the
        workers (:func:`run_split_jobs`): for a few long inputs.  Default: each job
        is one task, jobs in parallel.
    task_progress : callable(label, fraction) or None
        With ``split``: called as tasks finish (label: job name and step; fraction
        of all the batch's tasks).

    Returns
    -------
    dict
        ``jobs``: one row per job (``name``, ``output``, ``status`` done/skipped/failed,
        ``error``, ``error_type``, ``attempts``, ``seconds``, ``result``); ``counts``;
        ``engine``, ``workers``, ``wall_s``.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ParameterError(f"retries={retries!r} must be a whole number >= 0", params=("retries",))
    if isinstance(jobs, (str, os.PathLike)):
        jobs = read_jobs(jobs)
    else:
        jobs = [j if isinstance(j, Job) else make_job(j, where=f"job {i + 1}") for i, j in enumerate(jobs)]
        check_jobs(jobs)
    t0 = time.perf_counter()
    rows: dict[str, dict] = {}
    tasks = []
    done_count = 0
    total = len(jobs)
    for i, job in enumerate(jobs):
        key = f"{i:05d}"
        rows[key] = {
            "name": job.name,
            "input": job.input,
            "output": job.output,
            "status": "pending",
            "error": None,
            "error_type": None,
            "attempts": 0,
            "seconds": 0.0,
            "result": None,
        }
        if job.finished() and not force:
            rows[key]["status"] = "skipped"
            done_count += 1
            if progress:
                progress(done_count, total, rows[key])
            continue
        tasks.append(Task(key, run_job, (job.as_dict(),), retries=retries))

    def on_done(o: Outcome):
        nonlocal done_count
        row = rows[o.key]
        row.update(
            status="done" if o.ok else "failed",
            error=o.error,
            error_type=o.error_type,
            attempts=o.attempts,
            seconds=round(o.seconds, 3),
            result=o.result,
        )
        done_count += 1
        if progress:
            progress(done_count, total, row)

    own = executor is None
    if tasks:
        ex = executor or make_executor(engine, workers=workers, address=address)
        try:
            if split:
                run_split_jobs({t.key: t.args[0] for t in tasks}, ex, retries, on_done, task_progress)
            else:
                run_graph(tasks, ex, on_done)
            n_workers = ex.slots
        finally:
            if own:
                ex.close()
    else:
        n_workers = workers or 0
    counts = {s: sum(r["status"] == s for r in rows.values()) for s in ("done", "skipped", "failed")}
    return {
        "jobs": list(rows.values()),
        "counts": counts,
        "engine": engine if own else executor.name,
        "workers": n_workers,
        "wall_s": round(time.perf_counter() - t0, 3),
    }


# ------------------------------------------------------------------------------------------- submit API


class Handle:
    """A submitted job: :meth:`result` waits for it (retrying transient faults), :meth:`done` polls.

    With ``split`` the job is a task graph (:func:`run_split_job`) driven by a
    thread of this process, its tasks on the runner's executor; transient faults
    are retried per task.
    """

    def __init__(self, runner: Runner, job: Job, retries: int, split: bool = False):
        self._runner = runner
        self.job = job
        self._retries = retries
        self._attempt = 1
        self.split = split
        if split:
            self._h = runner._drivers().submit(run_split_job, job.as_dict(), runner.executor, retries)
        else:
            self._h = runner.executor.submit(run_job, (job.as_dict(),), {})

    def done(self) -> bool:
        """True once the job finished (successfully or not)."""
        h = self._h
        if hasattr(h, "done"):
            return h.done()
        ready, _ = self._runner.executor._ray.wait([h], timeout=0)
        return bool(ready)

    def result(self) -> dict:
        """The job's summary (see :func:`run_job`); raises the job's error after its retries."""
        if self.split:
            return self._h.result()
        while True:
            try:
                return self._runner.executor.get(self._h)
            except Exception as exc:
                if is_transient(_cause(exc)) and self._attempt <= self._retries:
                    self._attempt += 1
                    self._runner.executor.recover(exc)
                    self._h = self._runner.executor.submit(run_job, (self.job.as_dict(),), {})
                    continue
                cause = _cause(exc)
                if cause is not exc:
                    raise cause from None
                raise


class Runner:
    """An engine that jobs are submitted to: ``with Runner() as r: h = r.submit(...); ...; h.result()``."""

    def __init__(
        self, engine: str = "local", *, workers: int | None = None, address: str | None = None, retries: int = 2
    ):
        self.executor = make_executor(engine, workers=workers, address=address)
        self.retries = retries
        self._threads = None

    def _drivers(self):
        """Threads that drive split jobs' graphs (each its own :func:`run_graph` on the shared executor)."""
        if self._threads is None:
            from concurrent.futures import ThreadPoolExecutor

            self._threads = ThreadPoolExecutor(max_workers=self.executor.slots, thread_name_prefix="rtaudio-graph")
        return self._threads

    def submit(self, input, cuts, output, *, split: bool = False, **options) -> Handle:
        """Start a soundtrack job; returns at once with a :class:`Handle`.

        ``cuts`` is a cut-list path or a list of ``(start, end)`` segments;
        ``options`` are :func:`rtaudio.jobs.soundtrack.render_soundtrack` keywords.
        ``split=True`` runs the job as a task graph over the workers (a long input;
        :func:`run_split_job`) instead of as one task; the result is the same.
        """
        if not isinstance(split, bool):
            raise ParameterError(f"split={split!r} must be True or False")
        row = {
            "input": os.fspath(input),
            "cuts": cuts if isinstance(cuts, list) else os.fspath(cuts),
            "output": os.fspath(output),
            **{k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in options.items()},
        }
        job = make_job(row, base=os.getcwd(), where="submit()")
        check_jobs([job])
        return Handle(self, job, self.retries, split)

    def run(self, jobs, **kw) -> dict:
        """:func:`run_batch` on this runner's engine."""
        return run_batch(jobs, executor=self.executor, **kw)

    def close(self) -> None:
        """Wait for split jobs' graphs, then close the executor."""
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        self.executor.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_default: Runner | None = None


def submit(
    input,
    cuts,
    output,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    split: bool = False,
    **options,
) -> Handle:
    """Start a soundtrack job in the background (a shared :class:`Runner` per process); see :meth:`Runner.submit`.

    Examples
    --------
    >>> h = submit("talk.mp4", [(0, 12.4), (15.02, 31.7)], "soundtrack.wav", separation="dsp")
    >>> render_video_meanwhile()
    >>> h.result()["output"]
    'soundtrack.wav'
    """
    global _default
    if _default is None or _default.executor.name != engine:
        if _default is not None:
            _default.close()
        _default = Runner(engine, workers=workers, address=address)
    return _default.submit(input, cuts, output, split=split, **options)


def shutdown() -> None:
    """Close the shared runner of :func:`submit`."""
    global _default
    if _default is not None:
        _default.close()
        _default = None


__all__ = [
    "Handle",
    "Job",
    "Runner",
    "check_jobs",
    "make_job",
    "read_jobs",
    "run_batch",
    "run_job",
    "run_split_job",
    "run_split_jobs",
    "shutdown",
    "submit",
]

"""Many soundtrack jobs at once: JSONL job lists, resumable outputs, failure isolation, ``submit``/``result``.

By default each job is one task (:func:`run_job`, the whole soundtrack render of
one input) on a local process pool or Ray (:mod:`rtaudio.jobs.executors`); jobs
run in parallel, the steps inside one job do not.  Only paths, cut lists and
settings travel to a worker and a short summary comes back: the audio is read and
written by the worker itself, so nothing large is pickled.  With ``split=True``
(``rtaudio batch --split-jobs``) each job is a graph of tasks instead
(:mod:`rtaudio.jobs.soundtrack.graph`) spread over all the workers, one job
after the other.

Resuming: a job counts as finished when its output (and its report / muxed video
when asked for) exists.  A worker writes every file under a temporary name in the
same folder (``.NAME.part-<pid>.EXT``) and renames it when complete, so a job
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

#: Per-job options besides input/cuts/output (render_soundtrack keywords).
CALL_OPTIONS = ("report", "mux", "mux_output", "rate", "stream", "fps", "source_start", "separation", "cache",
                "cache_dir")
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

    def outputs(self) -> list[str]:
        """Every file the job writes; all present = finished."""
        return [self.output] + [self.options[k] for k in ("report", "mux_output") if self.options.get(k)]

    def finished(self) -> bool:
        return all(os.path.isfile(p) for p in self.outputs())

    def as_dict(self) -> dict:
        return {"input": self.input, "cuts": self.cuts, "output": self.output, "options": dict(self.options),
                "name": self.name}


def make_job(row: dict, *, base: str = ".", where: str = "job") -> Job:
    """A :class:`Job` from one JSON object; relative paths are taken from ``base``; errors name ``where``."""
    if not isinstance(row, dict):
        raise ParameterError(f"{where}: expected a JSON object like "
                             '{"input": "a.mp4", "cuts": "a.csv", "output": "a.wav"}, got ' f"{row!r}")
    missing = [k for k in ("input", "cuts", "output") if k not in row]
    if missing:
        raise ParameterError(f"{where}: missing {', '.join(map(repr, missing))}; every job needs input, cuts and "
                             "output")
    known = set(CALL_OPTIONS) | set(_param_fields()) | {"input", "cuts", "output", "name"}
    unknown = sorted(set(row) - known)
    if unknown:
        raise ParameterError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; expected input, cuts, "
                             f"output, name, {', '.join(CALL_OPTIONS)} or a soundtrack setting "
                             f"({', '.join(_param_fields())})")
    for k in ("input", "output"):
        if not isinstance(row[k], str) or not row[k]:
            raise ParameterError(f"{where}: {k}={row[k]!r} must be a file path")
    cuts = row["cuts"]
    if not (isinstance(cuts, str) and cuts) and not (isinstance(cuts, list) and cuts):
        raise ParameterError(f"{where}: cuts={cuts!r} must be a cut-list path or a non-empty list of segments")
    resolve = lambda p: p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))
    options = {k: v for k, v in row.items() if k not in ("input", "cuts", "output", "name")}
    for k in PATH_OPTIONS:
        if isinstance(options.get(k), str):
            options[k] = resolve(options[k])
    from rtaudio.jobs.soundtrack.mixdown import AUDIO_FORMATS

    if os.path.splitext(row["output"])[1].lower() not in AUDIO_FORMATS:
        raise ParameterError(f"{where}: output={row['output']!r}: expected a .wav, .flac, .m4a or .aac file")
    return Job(resolve(row["input"]), resolve(cuts) if isinstance(cuts, str) else cuts, resolve(row["output"]),
               options, str(row.get("name") or os.path.basename(row["output"])))


def read_jobs(path: str) -> list[Job]:
    """The jobs of a JSONL file (one JSON object a line; blank and ``#`` lines skipped)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"job list {path!r} does not exist; expected a .jsonl file, one job a line")
    base = os.path.dirname(os.path.abspath(path))
    jobs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParameterError(f"{path} line {n}: not JSON ({exc.msg}); expected one object a line like "
                                     '{"input": "a.mp4", "cuts": "a.csv", "output": "a.wav"}') from None
            jobs.append(make_job(row, base=base, where=f"{path} line {n}"))
    if not jobs:
        raise InputError(f"job list {path!r} holds no jobs; expected one JSON object a line")
    outs = {}
    for j in jobs:
        if j.output in outs:
            raise ParameterError(f"{path}: jobs {outs[j.output]!r} and {j.name!r} both write {j.output!r}")
        outs[j.output] = j.name
    return jobs


# ------------------------------------------------------------------------------------------- the task


def _part(path: str) -> str:
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, f".{stem}.part-{os.getpid()}{ext}")


def run_job(job: dict, render=None) -> dict:
    """Render one job (a :meth:`Job.as_dict`) in this process; return a short summary.

    Every output is written under a temporary name and renamed when complete.
    ``render`` is what renders (default :func:`render_soundtrack`; :func:`run_split_job`
    passes the task-graph version).
    """
    if render is None:
        from rtaudio.jobs.soundtrack.render import render_soundtrack as render

    t0 = time.perf_counter()
    options = dict(job["options"])
    cuts = job["cuts"]
    finals = {"output": job["output"]}
    for k in ("report", "mux_output"):
        if options.get(k):
            finals[k] = options[k]
    for p in finals.values():  # a batch names output folders that may not exist yet
        os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
    parts = {k: _part(p) for k, p in finals.items()}
    cut_file = None
    try:
        if isinstance(cuts, list):
            rows = [{"start": s[0], "end": s[1]} if isinstance(s, (list, tuple)) else s for s in cuts]
            cut_file = _part(os.path.splitext(job["output"])[0] + ".cuts.json")
            with open(cut_file, "w") as f:
                json.dump(rows, f)
            cuts = cut_file
        for k in ("report", "mux_output"):
            if k in parts:
                options[k] = parts[k]
        report = render(job["input"], cuts, parts["output"], **options)
        for k, p in finals.items():
            os.replace(parts[k], p)
    finally:
        for p in list(parts.values()) + ([cut_file] if cut_file else []):
            if os.path.exists(p):
                os.remove(p)
    out = report.get("output", {})
    return {"output": job["output"], "duration_s": out.get("duration_s"), "integrated_lufs": out.get("integrated_lufs"),
            "summary": report.get("summary"), "stems": (report.get("stems") or {}).get("note"),
            "needs_review": report.get("needs_review"), "seconds": round(time.perf_counter() - t0, 3),
            "pid": os.getpid()}


def run_split_job(job: dict, executor, retries: int = 2, progress=None) -> dict:
    """Render one job as a task graph (:mod:`rtaudio.jobs.soundtrack.graph`) over all of ``executor``'s workers.

    Outputs are written and renamed as in :func:`run_job`; ``progress(step, fraction)``
    follows the job's tasks.
    """
    from functools import partial

    from rtaudio.jobs.soundtrack.graph import render_soundtrack_graph

    return run_job(job, partial(render_soundtrack_graph, executor=executor, retries=retries, progress=progress))


# ------------------------------------------------------------------------------------------- batches


def run_batch(jobs, *, engine: str = "local", workers: int | None = None, address: str | None = None,
              retries: int = 2, force: bool = False, progress=None, executor=None, split: bool = False,
              task_progress=None) -> dict:
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
        Run each job as a task graph over all the workers (decode, chunked
        separation, analysis, render groups, mix, measure, write), one job after
        the other: for a few long inputs.  Default: each job is one task, jobs in
        parallel.
    task_progress : callable(step, fraction) or None
        With ``split``: called as the current job's tasks finish.

    Returns
    -------
    dict
        ``jobs``: one row per job (``name``, ``output``, ``status`` done/skipped/failed,
        ``error``, ``error_type``, ``attempts``, ``seconds``, ``result``); ``counts``;
        ``engine``, ``workers``, ``wall_s``.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ParameterError(f"--retries={retries!r} must be a whole number >= 0")
    if isinstance(jobs, (str, os.PathLike)):
        jobs = read_jobs(jobs)
    else:
        jobs = [j if isinstance(j, Job) else make_job(j, where=f"job {i + 1}") for i, j in enumerate(jobs)]
    t0 = time.perf_counter()
    rows: dict[str, dict] = {}
    tasks = []
    done_count = 0
    total = len(jobs)
    for i, job in enumerate(jobs):
        key = f"{i:05d}"
        rows[key] = {"name": job.name, "input": job.input, "output": job.output, "status": "pending", "error": None,
                     "error_type": None, "attempts": 0, "seconds": 0.0, "result": None}
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
        row.update(status="done" if o.ok else "failed", error=o.error, error_type=o.error_type, attempts=o.attempts,
                   seconds=round(o.seconds, 3), result=o.result)
        done_count += 1
        if progress:
            progress(done_count, total, row)

    own = executor is None
    if tasks:
        ex = executor or make_executor(engine, workers=workers, address=address)
        try:
            if split:
                for t in tasks:
                    on_done(_split_outcome(t, ex, retries, task_progress))
            else:
                run_graph(tasks, ex, on_done)
            n_workers = ex.slots
        finally:
            if own:
                ex.close()
    else:
        n_workers = workers or 0
    counts = {s: sum(r["status"] == s for r in rows.values()) for s in ("done", "skipped", "failed")}
    return {"jobs": list(rows.values()), "counts": counts, "engine": engine if own else executor.name,
            "workers": n_workers, "wall_s": round(time.perf_counter() - t0, 3)}


def _split_outcome(task: Task, executor, retries: int, task_progress) -> Outcome:
    """Run one job's graph in this process (its tasks on ``executor``); its failure is its own."""
    t0 = time.perf_counter()
    try:
        result = run_split_job(task.args[0], executor, retries, task_progress)
    except Exception as exc:  # noqa: BLE001 - a job's failure, whatever it is, is its own
        return Outcome(task.key, False, error=str(exc).strip().splitlines()[-1] if str(exc).strip() else
                       type(exc).__name__, error_type=getattr(exc, "error_type", None) or type(exc).__name__,
                       attempts=1, seconds=time.perf_counter() - t0)
    return Outcome(task.key, True, result=result, attempts=1, seconds=time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------- submit API


class Handle:
    """A submitted job: :meth:`result` waits for it (retrying transient faults), :meth:`done` polls."""

    def __init__(self, runner: Runner, job: Job, retries: int):
        self._runner = runner
        self.job = job
        self._retries = retries
        self._attempt = 1
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

    def __init__(self, engine: str = "local", *, workers: int | None = None, address: str | None = None,
                 retries: int = 2):
        self.executor = make_executor(engine, workers=workers, address=address)
        self.retries = retries

    def submit(self, input, cuts, output, **options) -> Handle:
        """Start a soundtrack job; returns at once with a :class:`Handle`.

        ``cuts`` is a cut-list path or a list of ``(start, end)`` segments;
        ``options`` are :func:`rtaudio.jobs.soundtrack.render_soundtrack` keywords.
        """
        row = {"input": os.fspath(input), "cuts": cuts if isinstance(cuts, list) else os.fspath(cuts),
               "output": os.fspath(output), **{k: os.fspath(v) if isinstance(v, os.PathLike) else v
                                               for k, v in options.items()}}
        return Handle(self, make_job(row, base=os.getcwd(), where="submit()"), self.retries)

    def run(self, jobs, **kw) -> dict:
        """:func:`run_batch` on this runner's engine."""
        return run_batch(jobs, executor=self.executor, **kw)

    def close(self) -> None:
        self.executor.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_default: Runner | None = None


def submit(input, cuts, output, *, engine: str = "local", workers: int | None = None, address: str | None = None,
           **options) -> Handle:
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
    return _default.submit(input, cuts, output, **options)


def shutdown() -> None:
    """Close the shared runner of :func:`submit`."""
    global _default
    if _default is not None:
        _default.close()
        _default = None


__all__ = ["Handle", "Job", "Runner", "make_job", "read_jobs", "run_batch", "run_job", "run_split_job", "shutdown",
           "submit"]

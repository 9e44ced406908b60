"""The soundtrack job as one graph of tasks, defined once, run on any executor.

:func:`build_tasks` is the only wiring of the job's steps; the in-process
:func:`~rtaudio.jobs.soundtrack.render.render_soundtrack` runs it on the inline
executor (this process, one task at a time), ``--workers``/``--engine`` and
``batch --split-jobs`` on the local process pool or Ray
(:mod:`rtaudio.jobs.executors`).  The graph (task keys in brackets)::

    [decode] -> [separate] (one streaming Separator; with several workers [part0..partK],
                            overlapping chunks, and [separate] their overlap-add)
             -> [music] [beats] [speech] (analysis; [analyse] alone without separation) -> [plan]
             -> [render0..renderG] (groups of joins) -> [mix] (sum, loudness)
             -> [measure] [naive] [crossfade] -> [report] -> [write] [mux] [review]; [cache]

Tasks pass handles, never whole signals: a signal is a ``.npy`` file (read by
window as a :class:`~.signal.DiskSignal`) in the job's work folder or its cache
entry, and a task's result is its path (analysis arrays: an ``.npz`` through
:mod:`rtaudio.jobs.arrays`) or small values (the plan, the metrics).  So every
task's memory follows a window, wherever it runs; the executors (and Ray's nodes)
must share the work folder's file system.  The output is the same on every
executor: a chunked separation and render groups add in the order one pass does
(measured 0.0 in the tests).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from rtaudio.errors import ParameterError, RtaudioError
from rtaudio.jobs.graph import Ref, Task, run_graph

#: Task key prefix -> the render step it belongs to (for ``progress(step, fraction)`` and the step timings).
STEP_OF = {
    "decode": "decode",
    "part": "separate",
    "separate": "separate",
    "music": "analyse",
    "beats": "analyse",
    "speech": "analyse",
    "analyse": "analyse",
    "plan": "plan",
    "render": "render",
    "mix": "render",
    "measure": "measure",
    "naive": "measure",
    "crossfade": "measure",
    "report": "write",
    "write": "write",
    "mux": "write",
    "review": "write",
    "cache": "analyse",  # stores the analysis: runs right after it
}

STEM_FILES = {"vocals": "dialogue", "accompaniment": "music"}


def signal(path: str):
    """The DiskSignal behind a handle (a ``.npy`` path)."""
    from rtaudio.jobs.soundtrack.signal import DiskSignal

    return DiskSignal(path)


def _arrays(handles) -> dict:
    """The analysis parts (``.npz`` handles, None for none) merged into one dict of arrays."""
    from rtaudio.jobs.arrays import read

    out = {}
    for h in handles:
        if h is not None:
            out.update(read(h))
    return out


def _stems(sep: dict) -> dict | None:
    return None if sep["stems"] is None else {k: signal(v) for k, v in sep["stems"].items()}


# ------------------------------------------------------------------------------------------- the tasks


def decode_task(path: str, stream: int, rate: int, folder: str) -> str:
    """Decode the input's audio track into ``folder/mix.npy`` ((n, channels) float32); return its path."""
    from rtaudio.jobs.soundtrack.steps import decode_checked

    return str(decode_checked(path, stream, rate, folder).path)


def separate_task(mix: str, rate: int, backend: str, folder: str) -> dict:
    """Dialogue and music stems into ``folder`` by one streaming Separator: ``{"stems": {name: path} | None,
    "note": ...}`` (stems None when separation is off or fell back; the note says why)."""
    from rtaudio.jobs.soundtrack.steps import separate

    stems, note = separate(signal(mix), rate, backend, folder)
    return {"stems": None if stems is None else {k: str(v.path) for k, v in stems.items()}, "note": note}


def part_task(mix: str, index: int, segment: int, overlap: int, rate: int, backend: str, folder: str):
    """Separation of chunk ``index`` of the mix (:mod:`rtaudio.jobs.chunked`) as an ``.npz`` in ``folder``;
    None past the end of the input."""
    from rtaudio.jobs.chunked import plan_chunks, separate_chunk

    chunks = plan_chunks(len(signal(mix)), segment, overlap, 1)
    if index >= len(chunks):
        return None
    a, b = chunks[index]
    return separate_chunk(mix, a, b, rate, backend, folder)


def join_task(mix: str, rate: int, backend: str, segment: int, overlap: int, folder: str, *parts) -> dict:
    """Overlap-add the chunks into the dialogue and music stems (what one Separator computes), by chunk."""
    from rtaudio.jobs import separation as sep
    from rtaudio.jobs.arrays import read
    from rtaudio.jobs.chunked import join_chunks_to, plan_chunks, separate_chunk
    from rtaudio.jobs.soundtrack.steps import separator_used

    x = signal(mix)
    chunks = plan_chunks(len(x), segment, overlap, 1)

    def part(i):
        a, b = chunks[i]
        # the graph was planned from the container's duration; a longer decode gets its last chunks here
        return read(parts[i]) if i < len(parts) and parts[i] is not None else separate_chunk(mix, a, b, rate, backend)

    first = part(0)
    if set(STEM_FILES) - set(first):
        return {
            "stems": None,
            "note": f"the separation job returned stems {sorted(first)}, not vocals/accompaniment: the render "
            "treats the full mix as one stem",
        }
    with sep.Separator(sep.SeparationParams(stems=2, backend=backend), rate=rate, channels=x.shape[1]) as probe:
        used = separator_used(probe, backend)
    parts_in_order = (first if i == 0 else part(i) for i in range(len(chunks)))
    stems = join_chunks_to(folder, STEM_FILES, parts_in_order, chunks, overlap, sep.fade(overlap), x.shape[1])
    return {"stems": {k: str(v.path) for k, v in stems.items()}, "note": f"separated by the separation job ({used})"}


def music_task(sep: dict, mix: str, rate: int, folder: str) -> str:
    """Features of the music stem; without stems (separation off or fell back) the whole mix-only analysis."""
    from rtaudio.jobs.arrays import write
    from rtaudio.jobs.soundtrack.features import compute
    from rtaudio.jobs.soundtrack.steps import analyse

    stems = _stems(sep)
    if stems is None:
        x = signal(mix)
        return write(Path(folder) / "analysis.npz", analyse({"mix": x}, rate, len(x) / rate, x).as_arrays())
    return write(Path(folder) / "music.npz", compute(stems["music"], rate).as_arrays("music_"))


def beats_task(sep: dict, mix: str, rate: int, folder: str) -> str | None:
    """Beats, tracked on the mix (None without stems: :func:`music_task` did it all)."""
    from rtaudio.jobs.arrays import write
    from rtaudio.jobs.soundtrack.steps import analyse_beats

    if sep["stems"] is None:
        return None
    return write(Path(folder) / "beats.npz", analyse_beats(signal(mix), rate).as_arrays("beats_"))


def speech_task(sep: dict, rate: int, folder: str) -> str | None:
    """Speech and frame RMS of the dialogue stem (None without stems)."""
    from rtaudio.jobs.arrays import write
    from rtaudio.jobs.soundtrack.steps import analyse_speech

    stems = _stems(sep)
    if stems is None:
        return None
    speech, rms = analyse_speech(stems["dialogue"], rate)
    return write(Path(folder) / "speech.npz", {**speech.as_arrays("speech_"), "dialogue_rms_db": rms})


def analysis_arrays(mix: str, rate: int, sep: dict, parts) -> dict:
    """The analysis parts merged into what the cache stores (``Analysis.as_arrays``)."""
    arrays = _arrays(parts)
    arrays.setdefault("duration", np.array([len(signal(mix)) / rate]))
    arrays.setdefault("separated", np.array([sep["stems"] is not None]))
    return arrays


def plan_task(job, mix: str, sep: dict, cache_args, *parts) -> dict:
    """Merge the analysis, add words (``--words``), plan the joins: ``{"layout", "facts", "params", "timings"}``."""
    from rtaudio.jobs.soundtrack import cache as cache_mod
    from rtaudio.jobs.soundtrack.plan import Analysis
    from rtaudio.jobs.soundtrack.steps import analysis_facts, cached_words, plan_layout

    analysis = Analysis.from_arrays(analysis_arrays(mix, job.rate, sep, parts))
    timings: dict = {}
    if job.params.words and analysis.speech.words is None:
        voice = _stems(sep)["dialogue"] if analysis.separated else signal(mix)
        analysis.speech.words, analysis.speech.words_engine, analysis.speech.word_texts = cached_words(
            cache_mod.Cache(*cache_args),
            voice,
            job.rate,
            job.params.language,
            timings,
            job.params.word_hearings,
            signal(mix) if analysis.separated else None,
        )
    return {
        "layout": plan_layout(job.cut_list, analysis, job.params, job.rate, len(signal(mix))),
        "facts": analysis_facts(analysis),
        "params": job.params,
        "timings": timings,
    }


def _sources(plan_out: dict, sep: dict, mix: str) -> dict:
    """The plan's stems as handles (``mix`` is the decoded mix)."""
    return {name: (mix if name == "mix" else sep["stems"][name]) for name in plan_out["layout"].plan.stems}


def render_task(plan_out: dict, sep: dict, mix: str, first: int, last: int, folder: str) -> dict:
    """Render the pieces of segments ``first..last-1`` (the joins into them), per stem, each into a DiskSignal of
    its output span: ``{stem: (start, path)}``."""
    from rtaudio.jobs.soundtrack.mixdown import piece_span
    from rtaudio.jobs.soundtrack.steps import render_to

    layout = plan_out["layout"]
    out = {}
    for name, path in _sources(plan_out, sep, mix).items():
        mine = [p for p in layout.plan.stems[name] if first <= p.segment < last]
        spans = [piece_span(p, layout.offsets, layout.rate) for p in mine]
        a = max(0, min((s[0] for s in spans), default=0))
        b = min(layout.n_out, max((s[1] for s in spans), default=0))
        if b <= a:
            continue
        dest = Path(folder) / f"render{first}.{name}.npy"
        y = render_to(dest, {name: signal(path)}, {name: mine}, layout.offsets, layout.rate, b - a, start=a)
        out[name] = (a, str(y.path))
    return out


def mix_task(plan_out: dict, channels: int, folder: str, *groups) -> dict:
    """Add the join groups per stem, sum the stems, normalise: ``{"final": path, "loud", "gain", "channels"}``."""
    from rtaudio.jobs.soundtrack.mixdown import normalise
    from rtaudio.jobs.soundtrack.signal import add_spans

    layout, params = plan_out["layout"], plan_out["params"]
    spans = [[(g[name][0], signal(g[name][1])) for g in groups if name in g] for name in layout.plan.stems]
    premix = add_spans(Path(folder) / "premix.npy", spans, layout.n_out, channels)
    final, loud = normalise(
        premix, layout.rate, params.loudness_lufs, params.max_peak_dbfs, dest=Path(folder) / "final.npy"
    )
    gain = 10.0 ** (loud["gain_db"] / 20.0)
    return {"final": str(final.path), "loud": loud, "gain": gain, "channels": int(final.shape[1])}


def measure_task(plan_out: dict, sep: dict, mix: str, mixed: dict) -> list[dict]:
    """The join metrics of the render."""
    from rtaudio.jobs.soundtrack.steps import as_mono, measure_render

    stems_mono = {k: as_mono(signal(v)) for k, v in _sources(plan_out, sep, mix).items()}
    layout = plan_out["layout"]
    return measure_render(signal(mixed["final"]), layout.rate, stems_mono, layout, mixed["gain"])


def baseline_task(name: str, plan_out: dict, mix: str, mixed: dict, folder: str, *parts) -> dict:
    """A baseline rendered into ``folder`` and measured: ``{"rows", "audio": path}``."""
    from rtaudio.jobs.soundtrack.beats import Beats
    from rtaudio.jobs.soundtrack.steps import as_mono, measure_baseline

    x = signal(mix)
    beats = Beats.from_arrays(_arrays(parts), "beats_")
    rows, y = measure_baseline(
        name, x, as_mono(x), plan_out["layout"], mixed["gain"], beats, plan_out["params"], folder
    )
    return {"rows": rows, "audio": str(y.path)}


def report_task(
    job, plan_out: dict, sep: dict, measured, mixed: dict, naive: dict, crossfade: dict, cache_hit: bool, cached
) -> dict:
    """The report (without timings, review, mux); ``cached``: the cache entry's folder when it holds this
    input's analysis (the cache task's result), else None."""
    from rtaudio.jobs.soundtrack.steps import build_report

    return build_report(
        job,
        plan_out["layout"],
        measured,
        {"naive": naive["rows"], "crossfade": crossfade["rows"]},
        plan_out["facts"],
        sep["note"],
        channels=mixed["channels"],
        loud=mixed["loud"],
        cache_hit=cache_hit,
        cache_dir=cached,
    )


def write_task(path: str, mixed: dict, rate: int) -> str:
    from rtaudio.jobs.soundtrack.mixdown import write_audio

    write_audio(path, signal(mixed["final"]), rate)
    return path


def mux_task(video: str, mixed: dict, rate: int, output: str) -> dict:
    from rtaudio.jobs.soundtrack.mux import mux_audio

    return mux_audio(video, signal(mixed["final"]), rate, output)


def review_task(folder: str, report: dict, mixed: dict, naive: dict, rate: int):
    from rtaudio.jobs.soundtrack.review import write_review

    return write_review(folder, report, signal(mixed["final"]), signal(naive["audio"]), rate)


def cache_task(cache_args, rate: int, mix: str, sep: dict, *parts) -> str | None:
    """Store the analysis (and the signals not written there already) in the render cache (what a later render
    reads); return the entry's folder, None when it could not be written."""
    from rtaudio.jobs.soundtrack import cache as cache_mod
    from rtaudio.jobs.soundtrack.steps import save_cached

    store = cache_mod.Cache(*cache_args)
    x = signal(mix)
    stems = _stems(sep) or {"mix": x}
    save_cached(store, stems, x, analysis_arrays(mix, rate, sep, parts), sep["note"])
    return str(store.dir) if store.enabled else None


# ------------------------------------------------------------------------------------------- the graph


def build_tasks(
    job,
    *,
    slots: int,
    folder: str,
    store,
    cache_hit: bool,
    groups: int | None = None,
    review=None,
    mux=None,
    mux_output=None,
    retries: int = 2,
) -> list[Task]:
    """The tasks of one render (see the module docstring), in an order that runs them one at a time.

    ``job`` is a :class:`render.Setup`; ``folder`` the job's work folder (scratch signals); ``store`` its
    cache entry (decoding and separation write there directly when it is on and writable); ``slots``: tasks
    at once (several: the separation in chunks when the backend allows; the render in ``groups``, default
    twice the slots).
    """
    from rtaudio.jobs.soundtrack.steps import stems_folder

    rate = job.rate
    tasks: list[Task] = []

    def add(key, fn, *args):
        return tasks.append(Task(key, fn, args, retries=retries))

    cache_args = (str(store.root), store.dir.name, store.enabled)
    cached = str(store.dir) if store.enabled else None
    if cache_hit:  # the cache's own files, read by window by every task
        meta = store.load_json("meta")

        def path(name):
            return str(store.dir / f"{name}.npy")

        stems = {name: path(name) for name in meta["stems"]}
        mix = path("mix") if "mix" in meta["stored"] else stems["mix"]
        sep = {"stems": None if "mix" in stems else stems, "note": meta["note"]}
        analysis = [str(store.dir / "analysis.npz")]
    else:
        signals = str(stems_folder(store, Path(folder)))  # may turn an unwritable cache off
        cache_args, cached = (
            (str(store.root), store.dir.name, store.enabled),
            (str(store.dir) if store.enabled else None),
        )
        add("decode", decode_task, job.input, job.stream, rate, signals)
        mix = Ref("decode")
        _separation(job, add, mix, signals, folder, slots)
        sep = Ref("separate")
        if job.separation == "none":
            add("analyse", music_task, sep, mix, rate, folder)
            analysis = [Ref("analyse")]
        else:
            add("music", music_task, sep, mix, rate, folder)
            add("beats", beats_task, sep, mix, rate, folder)
            add("speech", speech_task, sep, rate, folder)
            analysis = [Ref("music"), Ref("beats"), Ref("speech")]
        if store.enabled:
            add("cache", cache_task, cache_args, rate, mix, sep, *analysis)
            cached = Ref("cache")
    add("plan", plan_task, job, mix, sep, cache_args, *analysis)
    n_seg = len(job.cut_list.segments)
    groups = max(1, min(n_seg, groups or (2 * slots if slots > 1 else 1)))
    bounds = [round(i * n_seg / groups) for i in range(groups + 1)]
    renders = []
    for g in range(groups):
        add(f"render{g}", render_task, Ref("plan"), sep, mix, bounds[g], bounds[g + 1], folder)
        renders.append(Ref(f"render{g}"))
    add("mix", mix_task, Ref("plan"), int(job.info["channels"]), folder, *renders)
    add("measure", measure_task, Ref("plan"), sep, mix, Ref("mix"))
    for name in ("naive", "crossfade"):
        add(name, baseline_task, name, Ref("plan"), mix, Ref("mix"), folder, *analysis)
    add(
        "report",
        report_task,
        job,
        Ref("plan"),
        sep,
        Ref("measure"),
        Ref("mix"),
        Ref("naive"),
        Ref("crossfade"),
        cache_hit,
        cached,
    )
    if job.output is not None:
        add("write", write_task, job.output, Ref("mix"), rate)
    if review is not None:
        add("review", review_task, review, Ref("report"), Ref("mix"), Ref("naive"), rate)
    if mux is not None:
        add("mux", mux_task, mux, Ref("mix"), rate, mux_output)
    return tasks


def _separation(job, add, mix, signals: str, folder: str, slots: int) -> None:
    """Add the ``separate`` task (stems into ``signals``): with several slots, overlapping chunk tasks (their
    parts in ``folder``) before it when the backend works at the input's rate; else one streaming Separator
    (which also says when separation is off or unavailable)."""
    rate, duration = job.rate, job.info.get("duration")
    plan = None
    if job.separation != "none" and duration and slots > 1:
        try:
            from rtaudio.jobs import separation as sep

            with sep.Separator(
                sep.SeparationParams(stems=2, backend=job.separation), rate=rate, channels=int(job.info["channels"])
            ) as probe:
                if probe.work_rate == rate:
                    plan = probe.segment, probe.overlap
        except (ImportError, RtaudioError):
            plan = None  # the one separation task says why in the report (render.separate)
    if plan is None:
        add("separate", separate_task, mix, rate, job.separation, signals)
        return
    from rtaudio.jobs.chunked import plan_chunks

    segment, overlap = plan
    # planned from the container's duration plus a second; part_task skips chunks past the decoded end
    n_est = int(np.ceil((float(duration) + 1.0) * rate))
    parts = []
    for i in range(len(plan_chunks(n_est, segment, overlap, 1))):
        add(f"part{i}", part_task, mix, i, segment, overlap, rate, job.separation, folder)
        parts.append(Ref(f"part{i}"))
    add("separate", join_task, mix, rate, job.separation, segment, overlap, signals, *parts)


class GraphJob:
    """One render's tasks, ready to run alone or merged with other jobs' into one graph.

    Built by :func:`plan_graph`.  ``tasks`` carry keys prefixed with ``prefix`` so
    several jobs fit one :func:`run_graph`; :meth:`result` turns the outcomes of
    those tasks into the report (or raises the first failed task's error) and
    :meth:`close` removes the work folder (``work``: the ExitStack that holds it).
    """

    def __init__(self, job, tasks: list[Task], prefix: str, work, report, engine: str, workers: int, t_start: float):
        self.job, self.tasks, self.prefix = job, tasks, prefix
        self._work, self._report, self._graph = (
            work,
            report,
            {"engine": engine, "workers": workers, "tasks": len(tasks)},
        )
        self.t_start = t_start

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.tasks]

    def result(self, outcomes: dict) -> dict:
        """The report from this job's task outcomes (keys with the prefix); writes ``report=`` when given."""
        from rtaudio.jobs.soundtrack.steps import write_report

        n = len(self.prefix)
        mine = {k[n:]: outcomes[k] for k in self.keys}
        failed = [o for o in mine.values() if not o.ok and o.error_type != "DependencyFailed"]
        if failed:
            raise _error(failed[0], self.job.input, self.prefix)
        result = mine["report"].result
        for k in ("review", "mux"):
            if k in mine:
                result[k] = mine[k].result
        result["timings"] = timings(mine, time.perf_counter() - self.t_start)
        if self._graph["engine"] != "inline":  # the in-process render's report is as it was
            result["graph"] = dict(self._graph)
        if self._report is not None:
            write_report(self._report, result)
        return result

    def close(self) -> None:
        if self._work is not None:
            self._work.close()
            self._work = None


def timings(outcomes: dict, total_s: float) -> dict:
    """The report's ``timings``: seconds per step (``decode_s``, ... summed over its tasks; ``words_s`` from the
    plan), ``total_s`` and per task (``tasks``)."""
    out: dict[str, float] = {}
    for k, o in outcomes.items():
        step = f"{STEP_OF.get(k.rstrip('0123456789'), 'write')}_s"
        out[step] = out.get(step, 0.0) + o.seconds
    plan = outcomes.get("plan")
    if plan is not None and plan.ok:
        out.update(plan.result.get("timings", {}))
    out["total_s"] = total_s
    return {**{k: round(v, 3) for k, v in out.items()}, "tasks": {k: round(o.seconds, 3) for k, o in outcomes.items()}}


def plan_graph(
    input, cuts, output=None, *, executor, prefix: str = "", groups: int | None = None, retries: int = 2, **options
) -> GraphJob:
    """Check a render's options, probe its input and build its tasks (keys prefixed with ``prefix``).

    Runs in the calling process (the probe and the cut list decide the graph's
    shape); nothing is rendered yet.  Options as :func:`render_soundtrack_graph`.
    """
    t_start = time.perf_counter()
    job, extra = _setup(input, cuts, output, groups, retries, **options)
    return _build(job, extra, executor, prefix, groups, retries, t_start)


def _setup(
    input,
    cuts,
    output,
    groups,
    retries,
    *,
    mux=None,
    mux_output=None,
    report=None,
    review=None,
    rate: int | None = None,
    stream: int = 0,
    fps=None,
    source_start=None,
    params=None,
    separation: str = "auto",
    cache: bool = True,
    cache_dir=None,
    cuts_name=None,
    **settings,
):
    """The checked :class:`render.Setup` and the options the graph needs besides it."""
    from rtaudio.jobs.soundtrack.steps import setup

    if groups is not None and (isinstance(groups, bool) or not isinstance(groups, int) or groups < 1):
        raise ParameterError(f"groups={groups!r} must be a whole number >= 1 (render tasks)", params=("groups",))
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ParameterError(f"retries={retries!r} must be a whole number >= 0", params=("retries",))
    job = setup(
        input,
        cuts,
        output,
        mux=mux,
        mux_output=mux_output,
        report=report,
        review=review,
        rate=rate,
        stream=stream,
        fps=fps,
        source_start=source_start,
        params=params,
        separation=separation,
        settings=settings,
        cuts_name=cuts_name,
    )
    return job, {
        "mux": mux,
        "mux_output": mux_output,
        "report": report,
        "review": review,
        "cache": cache,
        "cache_dir": cache_dir,
    }


def _build(job, extra: dict, executor, prefix: str, groups, retries: int, t_start: float) -> GraphJob:
    import contextlib

    from rtaudio.jobs.soundtrack.signal import work_folder

    store = job.cache(extra["cache"], extra["cache_dir"])
    cache_hit = store.has("analysis.npz") and store.has("meta.json")
    work = contextlib.ExitStack()
    try:
        folder = work.enter_context(work_folder())
        tasks = build_tasks(
            job,
            slots=executor.slots,
            folder=str(folder),
            store=store,
            cache_hit=cache_hit,
            groups=groups,
            review=extra["review"],
            mux=extra["mux"],
            mux_output=extra["mux_output"],
            retries=retries,
        )
    except BaseException:
        work.close()
        raise
    return GraphJob(
        job,
        [prefixed(t, prefix) for t in tasks] if prefix else tasks,
        prefix,
        work,
        extra["report"],
        executor.name,
        executor.slots,
        t_start,
    )


def prefixed(task: Task, prefix: str) -> Task:
    """``task`` with its key and its :class:`Ref` arguments prefixed (to merge several jobs into one graph)."""

    def ref(v):
        return Ref(prefix + v.key) if isinstance(v, Ref) else v

    return Task(
        prefix + task.key,
        task.fn,
        tuple(ref(a) for a in task.args),
        {k: ref(v) for k, v in task.kwargs.items()},
        task.retries,
    )


def render_soundtrack_graph(
    input,
    cuts,
    output=None,
    *,
    executor=None,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    groups: int | None = None,
    retries: int = 2,
    progress=None,
    **options,
) -> dict:
    """:func:`~rtaudio.jobs.soundtrack.render.render_soundtrack` as a task graph on ``executor``; return the report.

    Parameters (besides render_soundtrack's: mux, mux_output, report, review, rate, stream, fps,
    source_start, params, separation, cache, cache_dir and the soundtrack settings)
    ----------------------------------------------------------------------------------------------
    executor : InlineExecutor, LocalExecutor, RayExecutor or None
        Where the tasks run (left open); default a new one from ``engine``/``workers``/``address``.
    groups : int >= 1 or None
        Render tasks (each renders a run of consecutive segments' joins); default twice the workers
        (one with one worker).
    retries : int >= 0
        Retries of a task after a transient fault.
    progress : callable(step, fraction) or None
        Called as tasks finish: the step (decode, separate, analyse, ...) and the fraction of its tasks done.

    The report's ``timings`` hold seconds per step (``decode_s``, ...), per task (``tasks``) and
    ``total_s``; ``graph`` says where it ran (not on the inline executor).  A failed task raises its
    error (its type when it is one of rtaudio's), naming the task; on the inline executor the task's
    own exception, at once.
    """
    from rtaudio.jobs.executors import make_executor

    t_start = time.perf_counter()
    job, extra = _setup(input, cuts, output, groups, retries, **options)  # bad options before a pool starts
    own = executor is None
    ex = executor or make_executor(engine, workers=workers, address=address)
    try:
        graph = _build(job, extra, ex, "", groups, retries, t_start)
        try:
            on_done = _progress(graph.tasks, progress) if progress else None
            outcomes = run_graph(graph.tasks, ex, on_done, fail_fast=ex.name == "inline")
            return graph.result(outcomes)
        finally:
            graph.close()
    finally:
        if own:
            ex.close()


def _progress(tasks, progress):
    """``on_done`` for run_graph that calls ``progress(step, fraction of that step's tasks done)``."""
    total, done = {}, {}
    step = {}
    for t in tasks:
        prefix = t.key.rstrip("0123456789")
        step[t.key] = STEP_OF.get(prefix, "write")
        total[step[t.key]] = total.get(step[t.key], 0) + 1
    if tasks:
        progress(step[tasks[0].key], 0.0)

    def on_done(outcome):
        s = step[outcome.key]
        done[s] = done.get(s, 0) + 1
        progress(s, done[s] / total[s])

    return on_done


def _error(outcome, input, prefix: str = "") -> Exception:
    """The failed task's error as an exception of its own type when it is one of rtaudio's (key without ``prefix``)."""
    from rtaudio import errors

    cls = getattr(errors, outcome.error_type or "", None)
    if not (isinstance(cls, type) and issubclass(cls, RtaudioError)):
        cls = RtaudioError
    exc = cls(
        f"{outcome.error} (soundtrack of {input!r}, task {outcome.key[len(prefix) :]!r}, {outcome.attempts} attempt(s))"
    )
    exc.error_type = outcome.error_type
    return exc


__all__ = ["GraphJob", "build_tasks", "plan_graph", "prefixed", "render_soundtrack_graph"]

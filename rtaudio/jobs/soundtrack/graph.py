"""One soundtrack job as a graph of tasks, run on the batch executors (local process pool or Ray).

The graph (task keys in brackets)::

    [decode] -> [part0..partK] (overlapping separation chunks) -> [separate] (overlap-add)
             -> [music] [beats] [speech] (analysis, in parallel) -> [plan]
             -> [render0..renderG] (groups of joins) -> [mix] (sum, loudness)
             -> [measure] [naive] [crossfade] -> [report] -> [write] [mux] [review]; [cache]

Every task calls the same module-level steps as the in-process
:func:`~rtaudio.jobs.soundtrack.render.render_soundtrack`, so the output is the
same (to float rounding where the overlap-add of chunks or of join groups adds in
another order; measured 0.0 in the tests).  Large arrays never travel as pickled
arguments: with ``out_dir`` (the local pool) a task saves them as ``.npy`` files
in a scratch folder and returns the path, which the next task memory-maps; on Ray
(``out_dir=None``) a task returns the arrays and the next task receives them
from the object store (zero-copy on one node).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from rtaudio.errors import ParameterError, RtaudioError
from rtaudio.jobs.graph import Ref, Task, run_graph

#: Task key prefix -> the render step it belongs to (for ``progress(step, fraction)``).
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
    "cache": "write",
}


# ------------------------------------------------------------------------------------------- array transport


def keep(value, out_dir: str | None, name: str):
    """A task's array (or dict of arrays) for other tasks: ``.npy`` files in ``out_dir``, or the value itself (Ray)."""
    if out_dir is None or value is None:
        return value
    if isinstance(value, dict):
        return {k: keep(v, out_dir, f"{name}.{k}") for k, v in value.items()}
    from rtaudio.jobs.arrays import write

    return write(os.path.join(out_dir, f"{name}.npy"), np.asarray(value))  # a retried task overwrites whole files


def load(stored):
    """What :func:`keep` stored: ``.npy`` paths memory-mapped, ``.npz`` read, dicts walked, values as they are."""
    if isinstance(stored, dict):
        return {k: load(v) for k, v in stored.items()}
    from rtaudio.jobs.arrays import read

    if isinstance(stored, str) and stored.endswith(".npy"):
        x = read(stored)
        return x if x.nbytes >= 1 << 20 else np.array(x)  # small ones (and 0-d strings) as plain arrays
    if isinstance(stored, str) and stored.endswith(".npz"):
        return read(stored)
    return stored


def _merge(parts) -> dict:
    out = {}
    for p in parts:
        out.update(load(p) or {})
    return out


# ------------------------------------------------------------------------------------------- the tasks


def decode_task(path: str, stream: int, rate: int, out_dir: str | None):
    """Decode the input's audio track: the mix, (n, channels) float32."""
    from rtaudio.jobs.soundtrack.render import decode_checked

    return keep(decode_checked(path, stream, rate), out_dir, "mix")


def separate_task(mix, rate: int, backend: str, out_dir: str | None) -> dict:
    """Whole-input separation (backends that cannot be chunked): ``{"stems": ..., "note": ...}``."""
    from rtaudio.jobs.soundtrack.render import separate

    stems, note = separate(np.asarray(load(mix)), rate, backend)
    return {"stems": keep(stems, out_dir, "stem"), "note": note}


def part_task(mix, index: int, segment: int, overlap: int, rate: int, backend: str, out_dir: str | None):
    """Separation of chunk ``index`` of the mix (:mod:`rtaudio.jobs.chunked`); None past the end of the input."""
    from rtaudio.jobs.chunked import plan_chunks, separate_chunk

    x = load(mix)
    chunks = plan_chunks(len(x), segment, overlap, 1)
    if index >= len(chunks):
        return None
    a, b = chunks[index]
    return separate_chunk(x, a, b, rate, backend, out_dir)


def join_task(mix, rate: int, backend: str, segment: int, overlap: int, out_dir: str | None, *parts) -> dict:
    """Overlap-add the chunks into the dialogue and music stems (what one Separator computes)."""
    from rtaudio.jobs import separation as sep
    from rtaudio.jobs.chunked import join_chunks, plan_chunks, separate_chunk
    from rtaudio.jobs.soundtrack.render import dialogue_and_music, separator_used

    x = load(mix)
    chunks = plan_chunks(len(x), segment, overlap, 1)
    stems = []
    for i, (a, b) in enumerate(chunks):
        # the graph was planned from the container's duration; a longer decode gets its last chunks here
        part = parts[i] if i < len(parts) else separate_chunk(x, a, b, rate, backend)
        stems.append(load(part))
    with sep.Separator(sep.SeparationParams(stems=2, backend=backend), rate=rate, channels=x.shape[1]) as probe:
        used = separator_used(probe, backend)
    joined = join_chunks(stems, chunks, overlap, sep.fade(overlap), x.shape)
    tracks, note = dialogue_and_music(joined, len(x), used)
    return {"stems": keep(tracks, out_dir, "stem"), "note": note}


def music_task(sep_out, mix, rate: int, out_dir: str | None):
    """Features of the music stem; without stems (separation fell back) the whole mix-only analysis."""
    from rtaudio.jobs.soundtrack.features import compute
    from rtaudio.jobs.soundtrack.render import analyse

    stems = load(sep_out["stems"]) if sep_out is not None else None
    if stems is None:
        x = np.asarray(load(mix))
        return keep(analyse({"mix": x}, rate, len(x) / rate, x).as_arrays(), out_dir, "analysis")
    return keep(compute(np.asarray(stems["music"]), rate).as_arrays("music_"), out_dir, "music")


def beats_task(sep_out, mix, rate: int, out_dir: str | None):
    """Beats, tracked on the mix (nothing when separation fell back: :func:`music_task` did it all)."""
    from rtaudio.jobs.soundtrack.render import analyse_beats

    if load(sep_out["stems"]) is None:
        return {}
    return keep(analyse_beats(np.asarray(load(mix)), rate).as_arrays("beats_"), out_dir, "beats")


def speech_task(sep_out, rate: int, out_dir: str | None):
    """Speech and frame RMS of the dialogue stem (nothing when separation fell back)."""
    from rtaudio.jobs.soundtrack.render import analyse_speech

    stems = load(sep_out["stems"])
    if stems is None:
        return {}
    speech, rms = analyse_speech(np.asarray(stems["dialogue"]), rate)
    return keep({**speech.as_arrays("speech_"), "dialogue_rms_db": rms}, out_dir, "speech")


def analysis_arrays(mix, rate: int, sep_out, parts) -> dict:
    """The analysis parts merged into what the cache stores (``Analysis.as_arrays``)."""
    x = load(mix)
    arrays = _merge(parts)
    arrays.setdefault("duration", np.array([len(x) / rate]))
    arrays.setdefault("separated", np.array([sep_out is not None and load(sep_out["stems"]) is not None]))
    return arrays


def plan_task(job, mix, sep_out, cache_args, *parts) -> dict:
    """Merge the analysis, add words (``--words``), plan the joins: ``{"layout", "facts", "params"}`` (small)."""
    from rtaudio.jobs.soundtrack import cache as cache_mod
    from rtaudio.jobs.soundtrack.plan import Analysis
    from rtaudio.jobs.soundtrack.render import analysis_facts, cached_words, plan_layout

    x = load(mix)
    analysis = Analysis.from_arrays(analysis_arrays(mix, job.rate, sep_out, parts))
    if job.params.words and analysis.speech.words is None:
        stems = load(sep_out["stems"]) if sep_out is not None else None
        voice = np.asarray(stems["dialogue"]) if analysis.separated else np.asarray(x)
        analysis.speech.words, analysis.speech.words_engine, analysis.speech.word_texts = cached_words(
            cache_mod.Cache(*cache_args),
            voice,
            job.rate,
            job.params.language,
            {},
            job.params.word_hearings,
            x if analysis.separated else None,
        )
    return {
        "layout": plan_layout(job.cut_list, analysis, job.params, job.rate, len(x)),
        "facts": analysis_facts(analysis),
        "params": job.params,
    }


def _sources(plan_out, sep_out, mix) -> dict:
    stems = load(sep_out["stems"]) if sep_out is not None else None
    return {name: (stems[name] if name != "mix" else load(mix)) for name in plan_out["layout"].plan.stems}


def render_task(plan_out, sep_out, mix, first: int, last: int, out_dir: str | None) -> dict:
    """Render the pieces of segments ``first..last-1`` (the joins into them), per stem: ``{stem: (start, audio)}``."""
    from rtaudio.jobs.soundtrack.mixdown import piece_span, render_stem

    layout = plan_out["layout"]
    sources = _sources(plan_out, sep_out, mix)
    out = {}
    for name, pieces in layout.plan.stems.items():
        mine = [p for p in pieces if first <= p.segment < last]
        spans = [piece_span(p, layout.offsets, layout.rate) for p in mine]
        a = max(0, min((s[0] for s in spans), default=0))
        b = min(layout.n_out, max((s[1] for s in spans), default=0))
        if b <= a:
            continue
        y = render_stem(sources[name], mine, layout.offsets, layout.rate, b - a, start=a)
        out[name] = (a, keep(y, out_dir, f"render{first}.{name}"))
    return out


def mix_task(plan_out, channels: int, out_dir: str | None, *groups) -> dict:
    """Add the join groups per stem, sum the stems, normalise: ``{"final", "loud", "gain", "channels"}``."""
    from rtaudio.jobs.soundtrack.render import mix_stems

    layout = plan_out["layout"]

    def stem(name):
        acc = np.zeros((layout.n_out, channels), np.float32)
        for g in groups:
            if name in g:
                a, y = g[name]
                y = load(y)
                acc[a : a + len(y)] += y
        return acc

    final, loud, gain = mix_stems((stem(name) for name in layout.plan.stems), layout.rate, plan_out["params"])
    return {"final": keep(final, out_dir, "final"), "loud": loud, "gain": gain, "channels": int(final.shape[1])}


def measure_task(plan_out, sep_out, mix, mixed) -> list[dict]:
    """The join metrics of the render."""
    from rtaudio.jobs.soundtrack.render import as_mono, measure_render

    sources = _sources(plan_out, sep_out, mix)
    stems_mono = {k: as_mono(np.asarray(v)) for k, v in sources.items()}
    return measure_render(
        np.asarray(load(mixed["final"])), plan_out["layout"].rate, stems_mono, plan_out["layout"], mixed["gain"]
    )


def baseline_task(name: str, plan_out, mix, mixed, keep_audio: bool, out_dir: str | None, *parts) -> dict:
    """A baseline rendered and measured: ``{"rows", "audio"}`` (audio only for the review sheet)."""
    from rtaudio.jobs.soundtrack.beats import Beats
    from rtaudio.jobs.soundtrack.render import as_mono, measure_baseline

    x = np.asarray(load(mix))
    beats = Beats.from_arrays(_merge(parts), "beats_")
    rows, y = measure_baseline(name, x, as_mono(x), plan_out["layout"], mixed["gain"], beats, plan_out["params"])
    return {"rows": rows, "audio": keep(y, out_dir, name) if keep_audio else None}


def report_task(
    job, plan_out, sep_out, measured, mixed, naive, crossfade, cache_hit: bool, cache_dir: str | None
) -> dict:
    """The report (without timings, review, mux)."""
    from rtaudio.jobs.soundtrack.render import build_report

    return build_report(
        job,
        plan_out["layout"],
        measured,
        {"naive": naive["rows"], "crossfade": crossfade["rows"]},
        plan_out["facts"],
        sep_out["note"],
        channels=mixed["channels"],
        loud=mixed["loud"],
        cache_hit=cache_hit,
        cache_dir=cache_dir,
    )


def write_task(path: str, mixed, rate: int) -> str:
    from rtaudio.jobs.soundtrack.mixdown import write_audio

    write_audio(path, np.asarray(load(mixed["final"])), rate)
    return path


def mux_task(video: str, mixed, rate: int, output: str) -> dict:
    from rtaudio.jobs.soundtrack.mux import mux_audio

    return mux_audio(video, np.asarray(load(mixed["final"])), rate, output)


def review_task(folder: str, report: dict, mixed, naive, rate: int):
    from rtaudio.jobs.soundtrack.review import write_review

    return write_review(folder, report, np.asarray(load(mixed["final"])), np.asarray(load(naive["audio"])), rate)


def cache_task(cache_args, rate: int, mix, sep_out, *parts) -> bool:
    """Store the decoded mix, stems and analysis in the render cache (what ``render_soundtrack`` reads)."""
    from rtaudio.jobs.soundtrack import cache as cache_mod
    from rtaudio.jobs.soundtrack.render import save_cached

    x = load(mix)
    store = cache_mod.Cache(*cache_args)
    stems = load(sep_out["stems"])
    stems = {k: np.asarray(v) for k, v in stems.items()} if stems is not None else {"mix": np.asarray(x)}
    save_cached(store, stems, np.asarray(x), analysis_arrays(mix, rate, sep_out, parts), sep_out["note"])
    return store.enabled


# ------------------------------------------------------------------------------------------- the graph


def build_tasks(
    job,
    *,
    slots: int,
    out_dir: str | None,
    store,
    cache_hit: bool,
    groups: int | None = None,
    review=None,
    mux=None,
    mux_output=None,
    retries: int = 2,
) -> list[Task]:
    """The tasks of one render (see the module docstring); ``job`` is a :class:`render.Setup`."""
    from rtaudio.jobs.soundtrack.render import SEPARATION_OFF

    rate = job.rate
    tasks: list[Task] = []

    def add(key, fn, *args):
        return tasks.append(Task(key, fn, args, retries=retries))

    cache_args = (str(store.root), store.dir.name, store.enabled)
    if cache_hit:  # the cache's own files, memory-mapped by every task
        meta = store.load_json("meta")

        def path(name):
            return str(store.dir / f"{name}.npy")

        stems = {name: path(name) for name in meta["stems"]}
        mix = path("mix") if "mix" in meta["stored"] else stems["mix"]
        sep_out = {"stems": None if "mix" in stems else stems, "note": meta["note"]}
        analysis = [str(store.dir / "analysis.npz")]
    else:
        add("decode", decode_task, job.input, job.stream, rate, out_dir)
        mix = Ref("decode")
        sep_out = _separation(job, add, mix, out_dir)
        if sep_out is None:
            sep_out = {"stems": None, "note": SEPARATION_OFF}
            add("analyse", music_task, None, mix, rate, out_dir)
            analysis = [Ref("analyse")]
        else:
            add("music", music_task, sep_out, mix, rate, out_dir)
            add("beats", beats_task, sep_out, mix, rate, out_dir)
            add("speech", speech_task, sep_out, rate, out_dir)
            analysis = [Ref("music"), Ref("beats"), Ref("speech")]
        if store.enabled:
            add("cache", cache_task, cache_args, rate, mix, sep_out, *analysis)
    add("plan", plan_task, job, mix, sep_out, cache_args, *analysis)
    n_seg = len(job.cut_list.segments)
    groups = max(1, min(n_seg, groups or 2 * slots))
    bounds = [round(i * n_seg / groups) for i in range(groups + 1)]
    renders = []
    for g in range(groups):
        add(f"render{g}", render_task, Ref("plan"), sep_out, mix, bounds[g], bounds[g + 1], out_dir)
        renders.append(Ref(f"render{g}"))
    add("mix", mix_task, Ref("plan"), int(job.info["channels"]), out_dir, *renders)
    add("measure", measure_task, Ref("plan"), sep_out, mix, Ref("mix"))
    for name in ("naive", "crossfade"):
        add(
            name,
            baseline_task,
            name,
            Ref("plan"),
            mix,
            Ref("mix"),
            name == "naive" and review is not None,
            out_dir,
            *analysis,
        )
    add(
        "report",
        report_task,
        job,
        Ref("plan"),
        sep_out,
        Ref("measure"),
        Ref("mix"),
        Ref("naive"),
        Ref("crossfade"),
        cache_hit,
        str(store.dir) if store.enabled else None,
    )
    if job.output is not None:
        add("write", write_task, job.output, Ref("mix"), rate)
    if mux is not None:
        add("mux", mux_task, mux, Ref("mix"), rate, mux_output)
    if review is not None:
        add("review", review_task, review, Ref("report"), Ref("mix"), Ref("naive"), rate)
    return tasks


def _separation(job, add, mix, out_dir):
    """Add the separation tasks: overlapping chunks when the backend works at the input's rate, else one task.

    Returns what the analysis tasks take (a Ref), or None when separation is off.
    """
    if job.separation == "none":
        return None
    rate, duration = job.rate, job.info.get("duration")
    plan = None
    if duration:
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
        add("separate", separate_task, mix, rate, job.separation, out_dir)
        return Ref("separate")
    from rtaudio.jobs.chunked import plan_chunks

    segment, overlap = plan
    # planned from the container's duration plus a second; part_task skips chunks past the decoded end
    n_est = int(np.ceil((float(duration) + 1.0) * rate))
    parts = []
    for i in range(len(plan_chunks(n_est, segment, overlap, 1))):
        add(f"part{i}", part_task, mix, i, segment, overlap, rate, job.separation, out_dir)
        parts.append(Ref(f"part{i}"))
    add("separate", join_task, mix, rate, job.separation, segment, overlap, out_dir, *parts)
    return Ref("separate")


class GraphJob:
    """One render's tasks, ready to run alone or merged with other jobs' into one graph.

    Built by :func:`plan_graph`.  ``tasks`` carry keys prefixed with ``prefix`` so
    several jobs fit one :func:`run_graph`; :meth:`result` turns the outcomes of
    those tasks into the report (or raises the first failed task's error) and
    :meth:`close` removes the scratch folder.
    """

    def __init__(self, job, tasks: list[Task], prefix: str, scratch, report, engine: str, workers: int, t_start: float):
        self.job, self.tasks, self.prefix = job, tasks, prefix
        self._scratch, self._report, self._graph = (
            scratch,
            report,
            {"engine": engine, "workers": workers, "tasks": len(tasks)},
        )
        self.t_start = t_start

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.tasks]

    def result(self, outcomes: dict) -> dict:
        """The report from this job's task outcomes (keys with the prefix); writes ``report=`` when given."""
        from rtaudio.jobs.soundtrack.render import write_report

        n = len(self.prefix)
        mine = {k[n:]: outcomes[k] for k in self.keys}
        failed = [o for o in mine.values() if not o.ok and o.error_type != "DependencyFailed"]
        if failed:
            raise _error(failed[0], self.job.input, self.prefix)
        result = mine["report"].result
        for k in ("review", "mux"):
            if k in mine:
                result[k] = mine[k].result
        result["timings"] = {
            "tasks": {k: round(o.seconds, 3) for k, o in mine.items()},
            "total_s": round(time.perf_counter() - self.t_start, 3),
        }
        result["graph"] = dict(self._graph)
        if self._report is not None:
            write_report(self._report, result)
        return result

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


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
    from rtaudio.jobs.soundtrack.render import setup

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
    store = job.cache(extra["cache"], extra["cache_dir"])
    cache_hit = store.has("analysis.npz") and store.has("meta.json")
    scratch = tempfile.TemporaryDirectory(prefix="rtaudio-graph-") if executor.name == "local" else None
    try:
        tasks = build_tasks(
            job,
            slots=executor.slots,
            out_dir=scratch.name if scratch else None,
            store=store,
            cache_hit=cache_hit,
            groups=groups,
            review=extra["review"],
            mux=extra["mux"],
            mux_output=extra["mux_output"],
            retries=retries,
        )
    except BaseException:
        if scratch is not None:
            scratch.cleanup()
        raise
    return GraphJob(
        job,
        [prefixed(t, prefix) for t in tasks] if prefix else tasks,
        prefix,
        scratch,
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
    executor : LocalExecutor or RayExecutor or None
        Where the tasks run (left open); default a new one from ``engine``/``workers``/``address``.
    groups : int >= 1 or None
        Render tasks (each renders a run of consecutive segments' joins); default twice the workers.
    retries : int >= 0
        Retries of a task after a transient fault.
    progress : callable(step, fraction) or None
        Called as tasks finish: the step (decode, separate, analyse, ...) and the fraction of its tasks done.

    The report's ``timings`` hold each task's seconds (``tasks``) and ``total_s``;
    ``graph`` says where it ran.  A failed task raises its error (its type when it is
    one of rtaudio's), naming the task.
    """
    from rtaudio.jobs.executors import make_executor

    t_start = time.perf_counter()
    job, extra = _setup(input, cuts, output, groups, retries, **options)  # bad options before a pool starts
    own = executor is None
    ex = executor or make_executor(engine, workers=workers, address=address)
    try:
        graph = _build(job, extra, ex, "", groups, retries, t_start)
        try:
            outcomes = run_graph(graph.tasks, ex, _progress(graph.tasks, progress) if progress else None)
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

"""The soundtrack job: a source (audio or video) and a cut list in, a seamless soundtrack and a report out.

Steps (each reported to ``progress``):

1. ``decode``: the source's audio track at its own rate (or ``rate``);
2. ``separate``: dialogue and music stems through the separation job when it is
   there, else the full mix is one stem (said in the report's ``stems.note``);
3. ``analyse``: music features and beats, dialogue speech and pauses;
4. ``plan``: snapping, slips and continuous runs (:mod:`.plan`);
5. ``render``: each stem's pieces, the mix, loudness normalisation and limiter;
6. ``measure``: the same metrics for the render, the naive concatenation and a
   plain 50 ms crossfade (:mod:`.metrics`);
7. ``write``: audio, report JSON, review sheet, muxed video.

Steps 1-3 do not depend on the cut list and are cached (:mod:`.cache`), so a
re-render after an edit of the cut list starts at step 4.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

import numpy as np

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.soundtrack import cache as cache_mod
from rtaudio.jobs.soundtrack import metrics as metrics_mod
from rtaudio.jobs.soundtrack.beats import Beats, track
from rtaudio.jobs.soundtrack.cutlist import CutList, read_cut_list
from rtaudio.jobs.soundtrack.features import Features, compute
from rtaudio.jobs.soundtrack.mixdown import (check_output_path, normalise, picture_offsets, render_stem,
                                             write_audio)
from rtaudio.jobs.soundtrack.params import SoundtrackParams
from rtaudio.jobs.soundtrack.plan import Analysis, Planner, beat_alignment, crossfade_pieces, naive_pieces
from rtaudio.jobs.soundtrack.speech import Speech, detect

#: Steps and their share of a typical render's time, for one progress bar.
STEPS = {"decode": 0.08, "separate": 0.35, "analyse": 0.2, "plan": 0.02, "render": 0.1, "measure": 0.17,
         "write": 0.08}
BASELINE_CROSSFADE_S = 0.05
REPORT_KEYS = ("output_time", "beat_phase_error_ms", "spectral_discontinuity", "click", "loudness_step_db",
               "snap_dialogue_ms", "snap_music_ms")

Progress = Callable[[str, float], None]


def _no_progress(step: str, fraction: float) -> None:
    pass


# ---------------------------------------------------------------------------------------------- input


def probe(path: str, stream: int = 0) -> dict:
    """Audio rate/channels/duration, and the video frame rate and start timecode when there is a video."""
    import av

    from rtaudio.sources.av import FileSource

    src = FileSource(path, stream=stream)
    info = {"rate": src.rate, "channels": src.channels, "layout": src.layout, "duration": src.duration_s,
            "fps": None, "timecode": None}
    try:
        container = src._container
        if container.streams.video:
            v = container.streams.video[0]
            rate = v.average_rate or v.guessed_rate
            if rate and 1 <= float(rate) <= 240:  # cover art and the like report 90000 "fps"
                info["fps"] = Fraction(rate.numerator, rate.denominator)
            info["timecode"] = v.metadata.get("timecode") or container.metadata.get("timecode")
        for s in container.streams.data:
            info["timecode"] = info["timecode"] or s.metadata.get("timecode")
    except (av.error.FFmpegError, AttributeError):
        pass
    finally:
        src.close()
    return info


def decode(path: str, stream: int, rate: int | None) -> tuple[np.ndarray, int]:
    """The whole audio track as (n, channels) float32, resampled to ``rate`` if given."""
    from rtaudio.sources.av import FileSource

    src = FileSource(path, stream=stream)
    try:
        blocks = list(src.blocks(lambda event: None))
    finally:
        src.close()
    x = np.concatenate(blocks) if blocks else np.zeros((0, src.channels), np.float32)
    if rate and rate != src.rate:
        import soxr

        x = soxr.resample(x, src.rate, rate).astype(np.float32)
        return np.ascontiguousarray(x if x.ndim == 2 else x[:, None]), rate
    return x, src.rate


# ---------------------------------------------------------------------------------------------- stems


def separate(x: np.ndarray, rate: int, backend: str) -> tuple[dict[str, np.ndarray] | None, str]:
    """Dialogue and music stems through :mod:`rtaudio.jobs.separation`, or (None, why not).

    The separation job's 2-stem output names follow spleeter's: ``vocals`` (speech
    and singing) becomes the dialogue, ``accompaniment`` the music.
    """
    if backend == "none":
        return None, "separation off (--separation none): the render treats the full mix as one stem"
    try:
        from rtaudio.jobs import separation as sep_mod  # issue 5
    except ImportError:
        return None, ("no separation job in this rtaudio (rtaudio.jobs.separation is missing): the render "
                      "treats the full mix as one stem")
    try:
        stems, used = _run_separator(sep_mod, x, rate, backend)
    except ImportError as exc:
        return None, f"separation unavailable ({exc}): the render treats the full mix as one stem"
    vocals = stems.get("vocals")
    music = stems.get("accompaniment")
    if vocals is None or music is None:
        return None, (f"the separation job returned stems {sorted(stems)}, not vocals/accompaniment: the render "
                      "treats the full mix as one stem")
    fix = lambda s: np.ascontiguousarray(np.asarray(s, np.float32).reshape(len(s), -1)[: len(x)])  # noqa: E731
    return {"dialogue": fix(vocals), "music": fix(music)}, f"separated by the separation job ({used})"


def _run_separator(sep_mod, x: np.ndarray, rate: int, backend: str):
    """Run the separation job (:class:`rtaudio.jobs.separation.Separator`, 2 stems) over the whole input."""
    params = sep_mod.SeparationParams(stems=2, backend=backend)
    with sep_mod.Separator(params, rate=rate, channels=x.shape[1]) as separator:
        stems = separator.separate(x, rate)
        name = type(separator.backend).__name__.replace("Backend", "").lower() or backend
        used = f"{name} backend" + (f"; {separator.note}" if separator.note else "")
    return stems, used


# ---------------------------------------------------------------------------------------------- analysis


def analyse(stems: dict[str, np.ndarray], rate: int, duration: float, mix: np.ndarray | None = None) -> Analysis:
    """Features, beats and speech of the stems (``dialogue``/``music`` or ``mix``).

    Beat candidates, both on the mix: the DP tracker (:mod:`.beats`) and rtaudio's
    causal ``beats`` stage; the reliable one whose beats sit best on the onsets wins
    (:func:`~rtaudio.jobs.soundtrack.beats.best`).
    """
    from rtaudio.jobs.soundtrack.beats import best, from_beats_stage

    separated = "music" in stems
    music_x = stems["music"] if separated else stems["mix"]
    music = compute(music_x, rate)
    # the beat is tracked on the mix: it is all there, an estimated music stem only loses transients
    mix_x = mix if mix is not None else music_x
    mix_f = compute(mix, rate) if separated and mix is not None else music
    candidates = [track(mix_f), from_beats_stage(mix_x, rate, mix_f)]  # issue 4's tracker follows tempo changes
    beats = best(candidates, mix_f.onset)
    if separated:
        dialogue_f = compute(stems["dialogue"], rate)
        speech = detect(stems["dialogue"], rate, dialogue_f)
    else:
        dialogue_f = music
        speech = detect(music_x, rate, music)
    return Analysis(duration, separated, music, beats, speech, dialogue_f.rms_db)


def _words(store, dialogue: np.ndarray, rate: int, language: str, timings: dict) -> np.ndarray:
    """Word intervals of the dialogue from the STT stage, cached per language."""
    from rtaudio.errors import RtaudioError
    from rtaudio.jobs.soundtrack.speech import detect_words

    name = f"words-{language}"
    if store.has(f"{name}.npz"):
        return store.load_npz(name)["words"]
    t0 = time.perf_counter()
    try:
        words = detect_words(dialogue, rate, language)
    except (RtaudioError, ImportError) as exc:
        raise type(exc)(f"--words needs rtaudio's speech recognition: {exc}") from None
    timings["words_s"] = time.perf_counter() - t0
    store.save_npz(name, {"words": words})
    return words


def _analysis_arrays(an: Analysis) -> dict:
    arrays = {"duration": np.array([an.duration]), "separated": np.array([an.separated]),
              "dialogue_rms_db": an.dialogue_rms_db}
    arrays.update(an.music.as_arrays("music_"))
    arrays.update(an.beats.as_arrays("beats_"))
    arrays.update(an.speech.as_arrays("speech_"))
    return arrays


def _analysis_from(arrays: dict) -> Analysis:
    return Analysis(float(arrays["duration"][0]), bool(arrays["separated"][0]),
                    Features.from_arrays(arrays, "music_"), Beats.from_arrays(arrays, "beats_"),
                    Speech.from_arrays(arrays, "speech_"), np.asarray(arrays["dialogue_rms_db"]))


# ---------------------------------------------------------------------------------------------- the job


def render_soundtrack(input, cuts, output=None, *, mux=None, mux_output=None, report=None, review=None,
                      rate: int | None = None, stream: int = 0, fps=None, source_start=None,
                      params: SoundtrackParams | None = None, separation: str = "auto", cache: bool = True,
                      cache_dir=None, progress: Progress | None = None, **settings) -> dict:
    """Render a soundtrack that follows a cut list; return the report.

    Parameters
    ----------
    input : path
        The source: any audio or video file FFmpeg reads.
    cuts : path or CutList
        Kept segments (CSV, JSON, CMX 3600 EDL, FCP 7 XML, OTIO), see
        :mod:`rtaudio.jobs.soundtrack.cutlist`.
    output : path or None
        Soundtrack file: ``.wav``, ``.flac`` (24-bit), ``.m4a``/``.aac`` (AAC).
    mux : path or None
        An edited video to put the soundtrack into (its video copied, not re-encoded).
    mux_output : path or None
        Where the muxed video goes (required with ``mux``).
    report : path or None
        Where the report JSON goes.
    review : path or None
        Folder for the review sheet (``index.html``, a picture per join, audio excerpts
        of the flagged joins).
    rate : int or None, Hz
        Output rate; default the input's.
    stream : int
        Audio stream of the input (0 = first).
    fps : str, float or None
        Frame rate for timecodes in the cut list (``"29.97df"``); default the input
        video's rate.
    source_start : str, float or None
        Source time of the input's first sample (seconds or a timecode such as
        ``01:00:00:00``); default the input's own timecode tag, else 0.
    params : SoundtrackParams or None
        Render settings; ``**settings`` override single fields (``music="continuous"``).
    separation : str
        Backend of the separation job (``auto``, ``dsp``, ...), or ``none`` for one stem.
    cache : bool
        Reuse/stored decoded audio, stems and analysis (see :mod:`.cache`).
    cache_dir : path or None
        Cache root; default ``$RTAUDIO_CACHE/soundtrack``.
    progress : callable(step, fraction) or None
        Called as the steps advance (see :data:`STEPS`).

    Returns
    -------
    dict
        The report: ``joins``, ``baselines``, ``output`` and more (see docs/soundtrack.md).
    """
    from rtaudio.jobs.soundtrack.timecode import parse_rate, parse_time

    progress = progress or _no_progress
    params = params or SoundtrackParams()
    if settings:
        try:
            params = replace(params, **settings)
        except TypeError as exc:
            raise ParameterError(f"unknown soundtrack setting: {exc}") from None
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    input = os.fspath(input)
    if output is not None:
        output = check_output_path(output)
    if mux is not None and mux_output is None:
        raise ParameterError("--mux needs the muxed video's path (mux_output, or -o OUT.mp4 next to the audio -o)")
    if mux_output is not None and mux is None:
        raise ParameterError("a muxed video path was given without --mux EDITED_VIDEO")
    if separation not in ("auto", "dsp", "spleeter", "onnx", "none"):
        raise ParameterError(f"separation={separation!r} must be auto, dsp, spleeter, onnx or none")
    info = probe(input, stream)
    out_rate = rate or info["rate"]
    from rtaudio.sources.base import check_rate

    out_rate = check_rate(out_rate, "--rate")
    # ---------------------------------------------------------------- the cut list
    rate_obj = None
    if fps is not None:
        rate_obj = parse_rate(fps)
    elif info["fps"] is not None:
        rate_obj = parse_rate(info["fps"], what="the input's frame rate")
    start_s = Fraction(0)
    start_note = None
    if source_start is not None:
        try:
            start_s = parse_time(source_start, rate_obj)
        except ValueError as exc:
            raise ParameterError(f"--source-start: {exc}") from None
    if isinstance(cuts, CutList):
        cut_list = cuts
    else:
        cut_list = read_cut_list(cuts, fps=rate_obj, duration=info["duration"], source_start=start_s)
    if source_start is None and info.get("timecode") and cut_list.format in ("cmx_3600",):
        start_note = (f"the input carries the start timecode {info['timecode']}; EDL times were read from 0 "
                      "(give --source-start to count from it)")
    # ---------------------------------------------------------------- decode, separate, analyse (cached)
    key = cache_mod.key_for(input, stream=stream, rate=out_rate, separation=separation)
    store = cache_mod.Cache(cache_dir, key, enabled=cache)
    cache_hit = store.has("analysis.npz") and store.has("meta.json")
    if cache_hit:
        progress("decode", 0.0)
        meta = store.load_json("meta")
        stems = {name: np.asarray(store.load_array(name)) for name in meta["stems"]}
        mix = np.asarray(store.load_array("mix")) if "mix" in meta["stored"] else stems.get("mix")
        sep_note = meta["note"]
        analysis = _analysis_from(store.load_npz("analysis"))
        for step in ("decode", "separate", "analyse"):
            progress(step, 1.0)
        timings["load_cache_s"] = time.perf_counter() - t_start
    else:
        t0 = time.perf_counter()
        progress("decode", 0.0)
        mix, _ = decode(input, stream, out_rate)
        if len(mix) == 0:
            raise InputError(f"{input!r} holds no audio samples; expected a non-empty audio track")
        progress("decode", 1.0)
        timings["decode_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        progress("separate", 0.0)
        separated, sep_note = separate(mix, out_rate, separation)
        stems = separated if separated is not None else {"mix": mix}
        progress("separate", 1.0)
        timings["separate_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        analysis = analyse(stems, out_rate, len(mix) / out_rate, mix)
        progress("analyse", 1.0)
        timings["analyse_s"] = time.perf_counter() - t0
        stored = []
        for name, x in stems.items():
            store.save_array(name, x)
        if "mix" not in stems:
            store.save_array("mix", mix)
            stored.append("mix")
        store.save_npz("analysis", _analysis_arrays(analysis))
        store.save_json("meta", {"stems": list(stems), "stored": stored, "note": sep_note})
    if params.words and analysis.speech.words is None:
        analysis.speech.words = _words(store, stems["dialogue" if analysis.separated else "mix"], out_rate,
                                       params.language, timings)
    duration = len(mix) / out_rate
    # the cut list was checked against the container's duration; check again against what decoded
    last = cut_list.segments[-1]
    if float(last.end) > duration + 0.05:
        raise InputError(f"{last.where}: segment ends at {float(last.end):.3f} s, past the end of the decoded "
                         f"audio ({duration:.3f} s)")
    # ---------------------------------------------------------------- plan and render
    t0 = time.perf_counter()
    planner = Planner(cut_list, analysis, params, out_rate)
    reference = None
    if any(seg.overrides for seg in cut_list.segments[1:]):
        plain = CutList([replace(seg, overrides=type(seg.overrides)()) for seg in cut_list.segments], cut_list.path,
                        cut_list.format, cut_list.fps)
        reference = Planner(plain, analysis, params, out_rate).plan().music_at_join
    plan = planner.plan(reference)
    progress("plan", 1.0)
    timings["plan_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_out = int(round(plan.duration * out_rate))
    offsets = picture_offsets(planner.src, planner.starts, out_rate)
    rendered = None
    for name, pieces in plan.stems.items():
        y = render_stem(stems[name], pieces, offsets, out_rate, n_out)
        rendered = y if rendered is None else rendered + y
    final, loud = normalise(rendered, out_rate, params.loudness_lufs, params.max_peak_dbfs)
    gain = 10.0 ** (loud["gain_db"] / 20.0)
    progress("render", 1.0)
    timings["render_s"] = time.perf_counter() - t0
    # ---------------------------------------------------------------- measure (render + baselines)
    t0 = time.perf_counter()
    cut_joins = [j for j in plan.joins if j.kind == "cut"]
    regions = [j.region for j in plan.joins]
    beats = analysis.beats
    as_mono = lambda x: x.mean(axis=1) if x.ndim == 2 and x.shape[1] > 1 else x.reshape(len(x))  # noqa: E731
    stems_mono = {k: as_mono(stems[k]) for k in plan.stems}
    mix_mono = stems_mono["mix"] if "mix" in stems_mono else as_mono(mix)
    measured = metrics_mod.measure(final, out_rate, stems_mono, plan.stems, offsets, regions, gain)
    progress("measure", 0.5)
    baselines = {}
    base_pieces = {"naive": naive_pieces(planner.starts, planner.src),
                   "crossfade": crossfade_pieces(planner.starts, planner.src, BASELINE_CROSSFADE_S)}
    base_audio = {}
    for name, pieces in base_pieces.items():
        y = render_stem(mix, pieces, offsets, out_rate, n_out) * np.float32(gain)
        base_audio[name] = y
        half = BASELINE_CROSSFADE_S / 2 if name == "crossfade" else 0.0
        b_regions = [(j.output_time - half, j.output_time + half) for j in cut_joins]
        b_metrics = metrics_mod.measure(y, out_rate, {"mix": mix_mono}, {"mix": pieces}, offsets, b_regions, gain)
        rows = []
        for j, m in zip(cut_joins, b_metrics):
            m["beat_phase_error_ms"] = None
            if beats.reliable:
                p = beats.period_at(j.src_out)
                err = beat_alignment(beats.times, planner.picture_offset(j.index), planner.picture_offset(j.index + 1),
                                     j.output_time - 2 * p, j.output_time + 2 * p)
                m["beat_phase_error_ms"] = None if err is None else round(err, 1)
            row = {"output_time": round(j.output_time, 4), "beat_phase_error_ms": m.pop("beat_phase_error_ms"), **m,
                   "snap_dialogue_ms": 0.0, "snap_music_ms": 0.0}
            row["reasons"] = review_reasons(row, [], params)
            row["needs_review"] = bool(row["reasons"])
            rows.append(row)
        baselines[name] = {"joins": rows, "summary": summarise(rows)}
    progress("measure", 1.0)
    timings["measure_s"] = time.perf_counter() - t0
    # ---------------------------------------------------------------- the report
    joins = []
    for jp, m in zip(plan.joins, measured):
        row = {
            "output_time": round(jp.output_time, 4),
            "beat_phase_error_ms": jp.beat_phase_error_ms,
            "spectral_discontinuity": m["spectral_discontinuity"],
            "click": m["click"],
            "loudness_step_db": m["loudness_step_db"],
            "snap_dialogue_ms": jp.snap_dialogue_ms,
            "snap_music_ms": jp.snap_music_ms,
            "index": jp.index + 1 if jp.kind == "cut" else None,
            "kind": jp.kind,
            "rule": jp.rule,
            "music_mode": jp.music_mode,
            "snap": jp.snap,
            "source_out": round(jp.src_out, 4),
            "source_in": round(jp.src_in, 4),
            "snap_dialogue_in_ms": jp.snap_dialogue_in_ms,
            "music_slip_ms": jp.music_slip_ms,
            "crossfade_ms": jp.crossfade_ms,
            "music_offsets_s": None if jp.music_offsets is None else [round(v, 6) for v in jp.music_offsets],
            "region": [round(jp.region[0], 4), round(jp.region[1], 4)],
            "click_excess_db": m["click_excess_db"],
            "similarity": jp.similarity,
            "overrides": jp.overrides,
            "notes": jp.notes,
        }
        m["beat_phase_error_ms"] = jp.beat_phase_error_ms
        reasons = review_reasons(m, jp.reasons, params)
        row["needs_review"] = bool(reasons)
        row["reasons"] = reasons
        joins.append(row)
    notes = list(cut_list.notes)
    if start_note:
        notes.append(start_note)
    if analysis.speech.note:
        notes.append(analysis.speech.note)
    result = {
        "input": os.path.abspath(input),
        "cuts": {"path": cut_list.path, "format": cut_list.format, "segments": len(cut_list.segments),
                 "fps": None if cut_list.fps is None else str(cut_list.fps),
                 "lines": [seg.where for seg in cut_list.segments]},
        "stems": {"separated": analysis.separated, "names": list(plan.stems), "note": sep_note},
        "analysis": {"tempo_bpm": round(analysis.beats.tempo_bpm, 2),
                     "beat_confidence": round(analysis.beats.confidence, 3),
                     "beats_reliable": analysis.beats.reliable, "beats": len(analysis.beats.times),
                     "beat_tracker": analysis.beats.tracker,
                     "speech_detector": analysis.speech.method, "speech_segments": len(analysis.speech.segments),
                     "words": None if analysis.speech.words is None else len(analysis.speech.words)},
        "settings": {k: getattr(params, k) for k in params.__dataclass_fields__},
        "joins": joins,
        "summary": summarise(joins),
        "baselines": baselines,
        "output": {"path": None if output is None else os.path.abspath(output),
                   "duration_s": round(n_out / out_rate, 4),
                   "rate": out_rate, "channels": int(final.shape[1]), **loud},
        "needs_review": [j["index"] if j["kind"] == "cut" else f"jump@{j['output_time']:.2f}"
                         for j in joins if j["needs_review"]],
        "notes": notes,
        "cache": {"hit": cache_hit, "dir": str(store.dir) if store.enabled else None},
        "timings": {},
    }
    # ---------------------------------------------------------------- write
    t0 = time.perf_counter()
    if output is not None:
        write_audio(output, final, out_rate)
    if review is not None:
        from rtaudio.jobs.soundtrack.review import write_review

        result["review"] = write_review(review, result, final, base_audio["naive"], out_rate)
    if mux is not None:
        from rtaudio.jobs.soundtrack.mux import mux_audio

        result["mux"] = mux_audio(mux, final, out_rate, mux_output)
    progress("write", 1.0)
    timings["write_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    result["timings"] = {k: round(v, 3) for k, v in timings.items()}
    if report is not None:
        with open(report, "w") as f:
            json.dump(result, f, indent=1, default=_json_default)
    return result


def review_reasons(m: dict, plan_reasons: list[str], params: SoundtrackParams) -> list[str]:
    """Why a join needs review: the planner's reasons and every metric over its threshold."""
    reasons = list(plan_reasons)
    if m["click"]:
        reasons.append(f"click: {m['click_excess_db']:.1f} dB more high-frequency energy than the material")
    if m["spectral_discontinuity"] is not None and m["spectral_discontinuity"] > params.review_spectral:
        reasons.append(f"spectral jump {m['spectral_discontinuity']:.2f}x the signal's own frame-to-frame "
                       f"change (threshold {params.review_spectral})")
    if m["beat_phase_error_ms"] is not None and m["beat_phase_error_ms"] > params.review_beat_ms:
        reasons.append(f"beats {m['beat_phase_error_ms']:.0f} ms off across the join (threshold "
                       f"{params.review_beat_ms:.0f} ms)")
    if m["loudness_step_db"] is not None and abs(m["loudness_step_db"]) > params.review_loudness_db:
        reasons.append(f"loudness steps {m['loudness_step_db']:+.1f} dB (threshold {params.review_loudness_db} dB)")
    return reasons


def summarise(rows: list[dict]) -> dict:
    """Medians and counts over joins: beat-phase error, spectral discontinuity, clicks."""
    def med(key):
        vals = [r[key] for r in rows if r.get(key) is not None]
        return round(float(np.median(np.abs(vals))), 3) if vals else None

    return {"joins": len(rows), "median_beat_phase_error_ms": med("beat_phase_error_ms"),
            "median_spectral_discontinuity": med("spectral_discontinuity"),
            "clicks": sum(1 for r in rows if r.get("click")),
            "median_abs_loudness_step_db": med("loudness_step_db"),
            "needs_review": sum(1 for r in rows if r.get("needs_review"))}


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

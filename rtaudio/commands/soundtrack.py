"""rtaudio soundtrack: a video (or any audio) and a cut list in, a seamless soundtrack out."""

from __future__ import annotations

import os
import sys

NAME = "soundtrack"
ORDER = 40
HELP = "render the soundtrack of an edit from the source and a cut list (snapped, beat-matched joins)"
DESCRIPTION = """\
Render the soundtrack of an edit: the kept segments of INPUT (any audio or video file) joined without
audible seams. Dialogue cuts move (within --tolerance-ms) to the nearest speech pause and get short fades
at zero crossings; music joins where beats, harmony and timbre match, with a one-beat equal-power
crossfade (or plays on with --music continuous, fitted at bar boundaries). The picture is never moved: each
segment's sound stays in sync with it and the output lasts exactly as long as the cut list.

Cut lists: CSV with the header 'start,end' (seconds, 00:01:02.5, or timecode 00:01:02:12 / drop-frame
00:01:02;12), JSON, CMX 3600 EDL, Final Cut Pro 7 XML or .otio. Per-cut overrides for the join into a
segment: CSV columns / JSON fields / OTIO clip metadata["rtaudio"] music (join|crossfade|continuous|hard),
crossfade_ms, snap (true|false), offset_ms.

The report (--report) gives per join: beat-phase error, spectral discontinuity, click, loudness step,
every snap, the same for a naive concatenation and a plain 50 ms crossfade, and flags joins that need
review (--review DIR writes an HTML sheet with pictures and before/after audio).
Decoding, separation and analysis are cached, so a re-render after editing the cut list takes seconds.

One long job across workers: --engine local (a process pool, --workers N) or --engine ray runs the render
as a graph of tasks (decode, separation in overlapping chunks, music/beats/speech analysis, plan, groups of
joins rendered in parallel, mix, measure, write/mux). The output is the same as without --engine, which
renders everything in this process. With one worker the graph costs a little more (arrays go between
tasks as files); it pays when there are idle cores (measured figures in docs/batch.md)."""
EXAMPLES = """examples:
  rtaudio soundtrack talk.mp4 --cuts cuts.csv -o soundtrack.wav
  rtaudio soundtrack talk.mp4 --cuts edit.edl --fps 29.97df -o soundtrack.flac --report report.json
  rtaudio soundtrack talk.mp4 --cuts cuts.csv -o soundtrack.wav --mux edited.mp4 -o final.mp4
  rtaudio soundtrack song.flac --cuts cuts.json --music continuous --loudness web -o short.m4a
  rtaudio soundtrack talk.mp4 --cuts cuts.csv -o out.wav --review review/   # then open review/index.html
  rtaudio soundtrack long.mp4 --cuts cuts.csv -o out.wav --engine local --workers 8   # one job, 8 workers"""

AUDIO_EXT = (".wav", ".flac", ".m4a", ".aac")
VIDEO_EXT = (".mp4", ".mov", ".mkv", ".m4v", ".webm")


def add_arguments(p) -> None:
    from rtaudio.jobs.soundtrack.cutlist import MUSIC_MODES

    p.add_argument("input", help="source audio or video file (the unedited material the cut list refers to)")
    p.add_argument(
        "--cuts",
        required=True,
        metavar="FILE",
        help="cut list: .csv (header start,end), .json, .edl (CMX 3600), .xml (FCP 7) or .otio",
    )
    p.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="FILE",
        help="the soundtrack (.wav, .flac, .m4a, .aac); with --mux, also the muxed video (.mp4, .mov, "
        ".mkv): give -o twice",
    )
    p.add_argument(
        "--mux",
        metavar="EDITED_VIDEO",
        help="edited video to put the soundtrack into; its video stream is copied, not re-encoded",
    )
    g = p.add_argument_group("cut list")
    g.add_argument(
        "--fps",
        metavar="RATE",
        help="frame rate of timecodes in the cut list: 25, 24, 29.97df, 59.94df, 30000/1001 "
        "(default: the input video's rate)",
    )
    g.add_argument(
        "--source-start",
        metavar="TIME",
        help="source time of the input's first frame, e.g. 01:00:00:00 when the EDL counts from 1 h",
    )
    g = p.add_argument_group("joins")
    g.add_argument(
        "--music",
        choices=MUSIC_MODES,
        default="join",
        help="music at cuts: join (beat/harmony matched), crossfade (plain), continuous (plays on, "
        "fitted at bars), hard",
    )
    g.add_argument("--crossfade-ms", type=float, metavar="MS", help="music crossfade length (default: one beat)")
    g.add_argument(
        "--tolerance-ms",
        type=float,
        default=250.0,
        metavar="MS",
        help="how far a join may move to a pause or a beat, and music may slip to meet the beat",
    )
    g.add_argument("--no-snap", action="store_true", help="keep every join exactly at its cut")
    g.add_argument(
        "--words",
        action="store_true",
        help="also snap dialogue cuts to word boundaries found by speech recognition (the stt stage; "
        "slower first render, cached)",
    )
    g.add_argument(
        "--word-hearings",
        type=int,
        choices=(1, 2),
        default=2,
        help="--words: 2 (default) hears the mix (or, unseparated, the dialogue 10 ms later) too and cuts only "
        "where both hearings agree there is no word; 1 halves the recognition time",
    )
    g.add_argument(
        "--dialogue-reach-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="--words: where no pause is within --tolerance-ms, the dialogue switch may move this far to one; "
        "where no word boundary is either, this far to one (flagged for review); default 0: the dialogue stays "
        "within --tolerance-ms of the cut (500 cuts fewer words, moves some switches up to 0.5 s)",
    )
    g.add_argument("--language", default="en", help="dialogue language for --words (ISO 639-1)")
    g.add_argument(
        "--separation",
        choices=("auto", "dsp", "spleeter", "onnx", "none"),
        default="auto",
        help="dialogue/music separation backend; none: the full mix is one stem",
    )
    g = p.add_argument_group("output")
    g.add_argument("--rate", type=int, help="output sample rate (Hz); default the input's")
    g.add_argument("--stream", type=int, default=0, metavar="N", help="audio stream of the input (0 = first)")
    g.add_argument(
        "--loudness",
        dest="loudness_lufs",
        default="-23",
        metavar="LUFS",
        help="integrated loudness target: -23 (broadcast), -14 (web), a number, or off",
    )
    g.add_argument("--max-peak", type=float, default=-1.0, metavar="DBFS", help="sample-peak ceiling (limiter)")
    g.add_argument("--report", metavar="FILE.json", help="write the per-join report")
    g.add_argument("--review", metavar="DIR", help="write a review sheet (index.html, pictures, audio excerpts)")
    g.add_argument("--no-cache", action="store_true", help="do not read or write the analysis cache")
    g.add_argument("--cache-dir", metavar="DIR", help="cache folder (default $RTAUDIO_CACHE/soundtrack)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("workers (one job as a task graph)")
    g.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="run the render as a task graph: local (process pool) or ray; default: all in this process",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="tasks at once (default every CPU); implies --engine local when no engine is given",
    )
    g.add_argument("--address", metavar="ADDR", help="Ray cluster to join (ray://head:10001, auto); --engine ray")


def split_outputs(outputs: list[str], mux: str | None) -> tuple[str | None, str | None]:
    """(soundtrack path, muxed video path) from the -o values."""
    from rtaudio.errors import ParameterError

    audio, video = None, None
    for path in outputs:
        ext = os.path.splitext(path)[1].lower()
        if ext in AUDIO_EXT and audio is None:
            audio = path
        elif ext in VIDEO_EXT and video is None:
            if mux is None:
                raise ParameterError(
                    f"-o {path!r} is a video; a muxed video needs --mux EDITED_VIDEO "
                    "(for the soundtrack alone use .wav, .flac, .m4a or .aac)"
                )
            video = path
        else:
            raise ParameterError(
                f"-o {path!r}: expected one soundtrack (.wav, .flac, .m4a, .aac) and, with --mux, "
                "one video (.mp4, .mov, .mkv)"
            )
    if mux is not None and video is None:
        raise ParameterError("--mux needs the muxed video's path: add -o OUT.mp4")
    if audio is None and video is None:
        raise ParameterError("nothing to write: give -o soundtrack.wav (and/or --mux EDITED.mp4 -o OUT.mp4)")
    return audio, video


def run(args) -> int:
    from rtaudio.errors import ParameterError
    from rtaudio.jobs.soundtrack.params import SoundtrackParams
    from rtaudio.jobs.soundtrack.render import render_soundtrack

    audio_out, video_out = split_outputs(args.output, args.mux)
    params = SoundtrackParams(
        tolerance_ms=args.tolerance_ms,
        music=args.music,
        crossfade_ms=args.crossfade_ms,
        snap=not args.no_snap,
        loudness_lufs=args.loudness_lufs,
        max_peak_dbfs=args.max_peak,
        words=args.words,
        word_hearings=args.word_hearings,
        dialogue_reach_ms=args.dialogue_reach_ms,
        language=args.language,
    )
    kwargs = dict(
        mux=args.mux,
        mux_output=video_out,
        report=args.report,
        review=args.review,
        rate=args.rate,
        stream=args.stream,
        fps=args.fps,
        source_start=args.source_start,
        params=params,
        separation=args.separation,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
    )
    render, executor = render_soundtrack, None
    engine = args.engine or ("local" if args.workers is not None else None)
    if engine is not None:
        from functools import partial

        from rtaudio.jobs.executors import make_executor
        from rtaudio.jobs.soundtrack.graph import render_soundtrack_graph

        executor = make_executor(engine, workers=args.workers, address=args.address)
        render = partial(render_soundtrack_graph, executor=executor)
    elif args.address is not None:
        raise ParameterError(f"--address={args.address!r} is for --engine ray (a Ray cluster)")
    try:
        result = _render(args, render, audio_out, kwargs)
    finally:
        if executor is not None:
            executor.close()
    print(summary_line(result, audio_out, video_out, args.report, args.review), file=sys.stderr)
    return 0


def _render(args, render_soundtrack, audio_out, kwargs) -> dict:
    """Run ``render_soundtrack`` (in process, or the task graph) with the progress bar unless --no-progress."""
    from rtaudio.jobs.soundtrack.steps import STEPS

    if args.no_progress:
        result = render_soundtrack(args.input, args.cuts, audio_out, **kwargs)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        order = list(STEPS)
        with Progress(
            TextColumn("[bold]soundtrack[/] {task.description:<9}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as bar:
            task = bar.add_task("decode", total=1.0)

            def progress(step: str, fraction: float) -> None:
                done = sum(STEPS[s] for s in order[: order.index(step)]) + STEPS[step] * fraction
                bar.update(task, completed=min(1.0, done), description=step)

            result = render_soundtrack(args.input, args.cuts, audio_out, progress=progress, **kwargs)
            bar.update(task, completed=1.0, description="done")
    return result


def summary_line(r: dict, audio_out, video_out, report, review) -> str:
    """What the render did, in a few lines for the terminal."""
    out = r["output"]
    s, naive = r["summary"], r["baselines"]["naive"]["summary"]
    lines = []
    if not r["stems"]["separated"]:
        lines.append(f"note: {r['stems']['note']}")
    else:
        lines.append(f"stems: dialogue + music ({r['stems']['note']})")
    written = [p for p in (audio_out, video_out) if p]
    lufs = out.get("integrated_lufs")
    lines.append(
        f"wrote {', '.join(written)}: {out['duration_s']:.2f} s"
        + (f", {lufs:.1f} LUFS" if lufs is not None else "")
        + (f" (limiter {out['limiter_db']:.1f} dB)" if out.get("limiter_db") else "")
    )
    beat = s["median_beat_phase_error_ms"]
    beat_text = (
        f"; median beat-phase error {beat:.1f} ms (naive cut {naive['median_beat_phase_error_ms']:.1f} ms)"
        if beat is not None and naive["median_beat_phase_error_ms"] is not None
        else ""
    )
    lines.append(
        f"{s['joins']} joins, {s['clicks']} clicks (naive cut {naive['clicks']}){beat_text}; "
        f"{s['needs_review']} need review"
        + (f": {', '.join(str(i) for i in r['needs_review'])}" if r["needs_review"] else "")
    )
    if r.get("mux", {}).get("warning"):
        lines.append(f"warning: {r['mux']['warning']}")
    extra = []
    if report:
        extra.append(f"report in {report}")
    if review:
        extra.append(f"review sheet {r['review']['path']}")
    extra.append("analysis from the cache" if r["cache"]["hit"] else f"took {r['timings']['total_s']:.1f} s")
    lines.append("; ".join(extra))
    return "\n".join(lines)

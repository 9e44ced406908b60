"""rtaudio markers: beats, sections, loudness and speech moments, cut suggestions, as editor markers."""

from __future__ import annotations

import sys

from rtaudio.commands.common import (
    add_input,
    open_input,
    run_with_progress,
    stage_config,
)

NAME = "markers"
ORDER = 45
HELP = "find key moments (beats, sections, speech, cut points) and write editor markers"
DESCRIPTION = """Analyse an input for the moments an editor cares about and write them as markers:
CSV (time,kind,score,label), JSON, or a timeline for an editor through OpenTimelineIO:
.otio, CMX 3600 .edl, FCP 7 .xml (markers at the input's frame rate: the video's, else --fps).

Kinds: beat, downbeat, onset, section, loudness_peak, loudness_drop, silence_start, silence_end,
speech_start, speech_end (when a speech detector is available) and cut_suggestion (ranked by
score: speech pauses on a beat rank highest). Times are seconds from the start of the input."""
EXAMPLES = """examples:
  rtaudio markers song.flac -o markers.csv
  rtaudio markers talk.mp4 -o cuts.edl --kinds cut_suggestion --min-score 0.6
  rtaudio markers clip.mov -o beats.xml --kinds beat,downbeat
  rtaudio markers talk.mp4 -o markers.json --rank --top 20 --kinds cut_suggestion"""

#: The pipeline: levels first (moments listen to it), the optional speech detector, then the key-moment stages.
KEY_STAGES = ("levels", "onsets", "beats", "sections", "moments")


def add_key_options(p) -> None:
    """Options shared by ``markers`` and ``report``."""
    g = p.add_argument_group("analysis")
    g.add_argument(
        "--speech",
        choices=["auto", "on", "off"],
        default="auto",
        help="run the speech detector (vad): auto = when it is installed",
    )
    g.add_argument(
        "--with",
        dest="extra",
        default="",
        metavar="STAGES",
        help="more stages to run after the speech detector, e.g. stt,lid",
    )
    g.add_argument(
        "--sections",
        choices=["offline", "online"],
        default="offline",
        help="section changes from the whole file (steadier) or as the input goes",
    )
    g.add_argument(
        "--beats",
        choices=["offline", "online"],
        default="offline",
        help="beats from the whole file (the causal tracker forwards and backwards, one grid) or as the input goes",
    )
    g.add_argument("--config", metavar="FILE.toml", help="stage parameters, one [stage] table each")
    g.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="STAGE.NAME=VALUE",
        help="set one stage parameter, e.g. -p beats.max_bpm=200 (repeatable)",
    )
    g.add_argument("--nonfinite", choices=["error", "zero"], default="error", help="what to do with NaN/Inf samples")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def key_stages(args, source, extra_first: tuple[str, ...] = ()) -> tuple[list, list[str]]:
    """Build the key-moment pipeline for ``source``; returns (stages, notes for the user)."""
    from rtaudio.errors import MissingDependencyError, ModelError
    from rtaudio.stages import build_stages

    config = stage_config(args)
    config.setdefault("sections", {}).setdefault("mode", args.sections)
    config.setdefault("beats", {}).setdefault("mode", args.beats)
    if config["beats"]["mode"] == "offline":  # offline beats come at the end: decide the cuts on them there
        config.setdefault("moments", {}).setdefault("mode", "offline")
    if "spectrum" in extra_first:  # the report's spectrogram: mel bands, no smoothing
        for k, v in (("scale", "mel"), ("n_mels", 64), ("attack_s", 0.0), ("release_s", 0.0)):
            config.setdefault("spectrum", {}).setdefault(k, v)
    names = list(extra_first) + ["levels"]
    notes = []
    extra = [n.strip() for n in args.extra.split(",") if n.strip()]
    if args.speech != "off" or extra:
        try:
            build_stages(["vad"], sample_rate=source.rate, channels=source.channels, config=config)
            names.append("vad")
        except (MissingDependencyError, ModelError) as exc:
            if args.speech == "on" or extra:
                raise
            notes.append(f"no speech moments: {exc}")
    names += [n for n in extra if n not in names]
    names += [n for n in KEY_STAGES if n not in names]
    stages = build_stages(
        names, sample_rate=source.rate, channels=source.channels, config={k: v for k, v in config.items() if k in names}
    )
    return stages, notes


def video_fps(path: str | None) -> float | None:
    """Frame rate of the first video stream of ``path`` (None: no video, not a file, or unknown)."""
    if not path or path == "-" or "://" in path:
        return None
    try:
        import av

        with av.open(path) as c:
            if not c.streams.video:
                return None
            rate = c.streams.video[0].average_rate or c.streams.video[0].guessed_rate
            return float(rate) if rate else None
    except Exception:  # noqa: BLE001 - probing only; the analysis reports real errors
        return None


def add_arguments(p) -> None:
    add_input(p)
    add_key_options(p)
    p.add_argument(
        "-o", "--output", required=True, help="markers file: .csv, .json, .otio, .edl (CMX 3600) or .xml (FCP 7)"
    )
    p.add_argument(
        "--kinds", default="", metavar="KIND,...", help="keep only these kinds, e.g. beat,downbeat or cut_suggestion"
    )
    p.add_argument("--min-score", type=float, default=0.0, metavar="S", help="drop markers scoring below S (0..1)")
    p.add_argument("--rank", action="store_true", help="order by score (best first) instead of time")
    p.add_argument("--top", type=int, default=0, metavar="N", help="keep the N best-scoring markers (0: all)")
    p.add_argument("--fps", default=None, help="timeline frame rate (default: the video's, else 25)")


def select(markers, kinds: str, min_score: float, rank: bool, top: int):
    """Filter and order markers as the options say; raises ParameterError for unknown kinds."""
    from rtaudio.errors import ParameterError
    from rtaudio.markers import KINDS

    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    bad = [k for k in wanted if k not in KINDS]
    if bad:
        raise ParameterError(f"--kinds {bad[0]!r} is not a marker kind; expected some of {', '.join(KINDS)}")
    if not 0.0 <= min_score <= 1.0:
        raise ParameterError(f"--min-score {min_score} must be in [0, 1]")
    if top < 0:
        raise ParameterError(f"--top {top} must be >= 0")
    out = [m for m in markers if (not wanted or m.kind in wanted) and m.score >= min_score]
    if rank or top:
        out.sort(key=lambda m: (-m.score, m.time))
        if top:
            out = out[:top]
        if not rank:
            out.sort(key=lambda m: (m.time, m.kind))
    else:
        out.sort(key=lambda m: (m.time, m.kind))
    return out


def run(args) -> int:
    from rtaudio.commands.common import LoudnessCatcher, check_outputs, summary
    from rtaudio.engine import Engine
    from rtaudio.events import KeyMoment
    from rtaudio.markers import Marker, format_of, parse_fps, write_markers
    from rtaudio.sinks import ListSink

    fmt = format_of(args.output)  # fail on a bad extension before analysing
    check_outputs(args, **{"-o": args.output})
    if fmt in ("otio", "edl", "fcp7"):
        from rtaudio.errors import require

        require("opentimelineio", "markers")
    select([], args.kinds, args.min_score, args.rank, args.top)  # validate the options early
    fps = parse_fps(args.fps) if args.fps is not None else (video_fps(args.input) or 25.0)
    source = open_input(args)
    stages, notes = key_stages(args, source)
    sink, catcher = ListSink(), LoudnessCatcher()
    engine = Engine(source, stages, [sink, catcher], on_nonfinite=args.nonfinite)
    result = run_with_progress(engine, source, show=not args.no_progress)
    rate = source.rate
    moments = [Marker(e.t / rate, e.kind, float(e.score), e.label) for e in sink.events if isinstance(e, KeyMoment)]
    chosen = select(moments, args.kinds, args.min_score, args.rank, args.top)
    from rtaudio.outputs import atomic

    with atomic(args.output) as tmp:
        write_markers(tmp, chosen, fps=fps, duration_s=result.samples / rate, source=args.input)
    for note in notes:
        print(f"rtaudio: note: {note}", file=sys.stderr)
    print(summary(result, source, None, catcher.value) + f"; {len(chosen)} markers in {args.output}", file=sys.stderr)
    return 0

"""rtaudio speech: the time intervals that hold speech, as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import os
import sys

from rtaudio.commands.common import add_input, check_outputs, run_with_progress, stage_config

NAME = "speech"
ORDER = 20
HELP = "find the time intervals with speech (CSV or JSON)"
DESCRIPTION = """Find the intervals of an input that hold speech, with a gate music cannot fool:
webrtcvad passes candidate frames, Silero VAD verifies them, hysteresis makes segments.

The intervals follow the speech (pauses between words of 150 ms or more show); --padded
writes the padded segments speech-to-text hears instead (pre-roll, hangover, short pauses
bridged). The JSON form is a list of {"start": s, "end": s, "confidence": p}; CSV has the header
start,end,confidence. Times are seconds on the input's clock."""
EXAMPLES = """examples:
  rtaudio speech talk.mp4 -o intervals.csv
  rtaudio speech talk.mp4 -o intervals.json --vad silero
  rtaudio speech talk.mp4 -p vad.interval_min_pause_s=0.3 -o -        # join intervals closer than 0.3 s
  rtaudio speech talk.mp4 --padded -p vad.pre_roll_s=0.2 -o -          # the padded segments stt hears"""


def add_arguments(p) -> None:
    add_input(p)
    g = p.add_argument_group("speech detection")
    g.add_argument(
        "--vad",
        choices=["both", "webrtc", "silero"],
        default="both",
        help="detector: webrtcvad gate + Silero verifier, webrtcvad alone (cheap, fooled by music), or Silero alone",
    )
    g.add_argument(
        "--padded",
        action="store_true",
        help="write the padded segments the stt stage hears (pre-roll, hangover, pauses under "
        "vad.min_silence_s bridged; confidence: mean probability at confirmation) instead of the tight intervals",
    )
    g.add_argument("--config", metavar="FILE.toml", help="stage parameters ([vad] table)")
    g.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="vad.NAME=VALUE",
        help="set one vad parameter, e.g. -p vad.min_silence_s=0.3 (repeatable)",
    )
    g.add_argument("--nonfinite", choices=["error", "zero"], default="error", help="what to do with NaN/Inf samples")
    p.add_argument("-o", "--output", default="-", help="intervals file: .csv or .json ('-': CSV on stdout)")
    p.add_argument("--json", action="store_true", help="write JSON whatever the file name")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def intervals_text(segments, rate: int, as_json: bool) -> str:
    """``segments`` (SpeechSegment events) as the CSV or JSON document."""
    rows = [
        {"start": round(s.start / rate, 3), "end": round(s.end / rate, 3), "confidence": round(float(s.confidence), 3)}
        for s in segments
    ]
    if as_json:
        return json.dumps(rows, indent=1) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["start", "end", "confidence"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def padded_segments(events) -> list:
    """The padded segments (``SpeechStart`` to ``SpeechEnd``) of ``events`` as SpeechSegment events."""
    from rtaudio.events import SpeechEnd, SpeechSegment, SpeechStart

    out, start = [], None
    for e in events:
        if isinstance(e, SpeechStart):
            start = e
        elif isinstance(e, SpeechEnd) and start is not None:
            out.append(SpeechSegment(start.t, e.t, start.confidence))
            start = None
    return out


def output_format(path: str, as_json: bool) -> bool:
    """True for JSON; raises ParameterError for an unknown extension."""
    from rtaudio.errors import ParameterError

    if as_json or path == "-":
        return as_json
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".json"):
        raise ParameterError(f"-o {path!r}: unknown extension {ext or '(none)'!r}; expected .csv or .json")
    return ext == ".json"


def run(args) -> int:
    from rtaudio.commands.common import open_input
    from rtaudio.engine import Engine
    from rtaudio.events import SpeechSegment
    from rtaudio.sinks import ListSink
    from rtaudio.stages import build_stages

    as_json = output_format(args.output, args.json)
    check_outputs(args, **{"-o": args.output})
    config = stage_config(args)
    config.setdefault("vad", {}).setdefault("mode", args.vad)
    source = open_input(args)
    stages = build_stages(["vad"], sample_rate=source.rate, channels=source.channels, config=config)
    sink = ListSink()
    engine = Engine(source, stages, [sink], on_nonfinite=args.nonfinite)
    try:
        result = run_with_progress(engine, source, show=not args.no_progress)
    finally:  # partial intervals are written even when the input breaks
        if args.padded:
            segments = padded_segments(sink.events)
        else:
            segments = [e for e in sink.events if isinstance(e, SpeechSegment)]
        text = intervals_text(segments, source.rate, as_json)
        if args.output == "-":
            sys.stdout.write(text)
        else:
            from rtaudio.outputs import write_text

            write_text(args.output, text)
    speech_s = sum(s.end - s.start for s in segments) / source.rate
    print(
        f"{len(segments)} speech intervals, {speech_s:.1f} s of speech in {result.samples / source.rate:.1f} s "
        f"(analysed in {result.seconds:.2f} s)" + ("" if args.output == "-" else f"; written to {args.output}"),
        file=sys.stderr,
    )
    return 0

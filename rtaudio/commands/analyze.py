"""rtaudio analyze: run the stages over an input as fast as possible, write events as JSON lines."""

from __future__ import annotations

import sys

from rtaudio.commands.common import (
    LoudnessCatcher,
    StopOnSigint,
    add_input,
    add_stage_options,
    check_outputs,
    make_stages,
    open_input,
    run_with_progress,
    summary,
)

NAME = "analyze"
ORDER = 10
HELP = "analyse an input as fast as possible and write events as JSON lines"
DESCRIPTION = """Analyse an input and write its events as JSON lines (schema in the README).

The events file grows as the analysis runs (one whole line at a time, so it can be followed live).
Ctrl-C stops cleanly: the events so far are written, the file ends with an 'end' event
(reason 'stopped') and the exit status is 0. -o may not be the input or the --config file."""
EXAMPLES = """examples:
  rtaudio analyze talk.mp4 -o events.jsonl
  rtaudio analyze https://example.org/radio.mp3 -o radio.jsonl --spectrum-rate 0
  sox in.wav -t raw -e signed -b 16 -c 1 -r 16000 - | rtaudio analyze - --rate 16000 -o -
  rtaudio analyze song.flac -p spectrum.scale=mel -p spectrum.n_fft=4096"""


def add_arguments(p) -> None:
    add_input(p)
    add_stage_options(p)
    p.add_argument("-o", "--output", default="-", help="events file (.jsonl); '-' for stdout")
    p.add_argument(
        "--spectrum-rate",
        type=float,
        default=10.0,
        metavar="HZ",
        help="spectrum frames written per second of audio (0: none)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from rtaudio.engine import Engine
    from rtaudio.sinks.jsonl import JsonlSink

    check_outputs(args, **{"-o": args.output})
    with StopOnSigint() as stop:
        source = open_input(args)
        stages = make_stages(args, source)
        sink = JsonlSink(args.output, spectrum_rate=args.spectrum_rate)
        catcher = LoudnessCatcher()
        engine = Engine(source, stages, [sink, catcher], on_nonfinite=args.nonfinite)
        stop.attach(engine)
        result = run_with_progress(engine, source, show=not args.no_progress)
    print(summary(result, source, args.output, catcher.value), file=sys.stderr)
    return 0

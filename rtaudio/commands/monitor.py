"""rtaudio monitor: live meters and a spectrum in the terminal."""

from __future__ import annotations

import sys

from rtaudio.commands.common import add_input, add_stage_options, make_stages, open_input, summary

NAME = "monitor"
ORDER = 20
HELP = "show live meters and a spectrum in the terminal"
DESCRIPTION = "Watch an input live in the terminal: peak/RMS/loudness meters and a spectrum."
EXAMPLES = """examples:
  rtaudio monitor --device 0              # a microphone or line-in (see: rtaudio devices)
  rtaudio monitor --device "USB" --rate 48000
  rtaudio monitor --url http://127.0.0.1:8000/stream.mp3
  rtaudio monitor song.flac --duration 10  # a file, paced at real time"""


def add_arguments(p) -> None:
    add_input(p, optional=True)
    add_stage_options(p)
    p.add_argument("--device", help="input device index or name substring (see: rtaudio devices)")
    p.add_argument("--url", help="network stream URL")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("-o", "--output", help="also write events to this .jsonl file")


def run(args) -> int:
    from rtaudio.engine import Engine
    from rtaudio.errors import ParameterError
    from rtaudio.sinks.terminal import TerminalView

    if args.input is None and args.device is None and args.url is None:
        raise ParameterError("monitor needs an input: a file, --device D (see: rtaudio devices) or --url U")
    if args.input not in (None, "-") and "://" not in (args.input or ""):
        args.realtime = True  # a monitored file plays at real time
    from rtaudio.commands.common import StopOnSigint, check_outputs

    check_outputs(args, **{"-o": args.output})
    source = open_input(args, device=args.device, url=args.url)
    sinks = [TerminalView()]
    if args.output:
        from rtaudio.sinks.jsonl import JsonlSink

        sinks.append(JsonlSink(args.output))
    engine = Engine(source, make_stages(args, source), sinks, on_nonfinite=args.nonfinite)
    with StopOnSigint() as stop:  # Ctrl-C stops cleanly, even in a job started with SIGINT ignored
        stop.attach(engine)
        result = sinks[0].show(engine, duration=args.duration)
    print(summary(result, source, args.output, None), file=sys.stderr)
    return 0

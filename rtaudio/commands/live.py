"""rtaudio live: show a microphone, line-in, network stream or file live in a window."""

from __future__ import annotations

NAME = "live"
ORDER = 21
HELP = "show a microphone, line-in or stream live in a window (spectrum, meters, speech, captions, beats)"
DESCRIPTION = """Show a microphone, line-in, network stream or file live in a window: spectrum bars, waterfall,
peak/RMS/LUFS meters, and speech, captions, language and beats when those stages run.
A file is paced at real time, silently ('rtaudio play' plays it). With no display use --screenshot,
or 'rtaudio monitor' for a terminal view.
Keys: 1 bars, 2 waterfall, 3 both, M mel/octave bands, Space freeze, Q quit."""
EXAMPLES = """examples:
  rtaudio live --device 0                     # a microphone or line-in (see: rtaudio devices)
  rtaudio live --device "USB" --rate 48000 --mode bars
  rtaudio live --url http://127.0.0.1:8000/stream.mp3
  rtaudio live --device 0 --screenshot mic.png --duration 5   # headless"""


def add_arguments(p) -> None:
    from rtaudio.commands.common import add_input, add_stage_options
    from rtaudio.commands.window import add_window_options

    add_input(p, optional=True)
    p.add_argument("--device", help="input device index or name substring (see: rtaudio devices)")
    p.add_argument("--url", help="network stream URL")
    add_stage_options(p)
    add_window_options(p)


def run(args) -> int:
    from rtaudio.commands.common import open_input
    from rtaudio.commands.window import check_window_args, show
    from rtaudio.errors import ParameterError

    if args.input is None and args.device is None and args.url is None:
        raise ParameterError("live needs an input: --device D (see: rtaudio devices), --url U, or a file")
    given = [name for name, v in (("a file", args.input), ("--device", args.device), ("--url", args.url)) if v]
    if len(given) > 1:
        raise ParameterError(f"live takes one input; got {' and '.join(given)}")
    check_window_args(args, live=args.input is None or args.input == "-" or "://" in args.input)
    if args.input not in (None, "-") and "://" not in args.input:
        args.realtime = True  # a file is shown at real time, as if live
    source = open_input(args, device=args.device, url=args.url)
    return show(args, source)

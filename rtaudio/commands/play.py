"""rtaudio play: play a file (or a video's audio) and show it in a window, in step with the sound."""

from __future__ import annotations

NAME = "play"
ORDER = 22
HELP = "play a file and show its spectrum, meters, speech and beats in a window, in sync with the sound"
DESCRIPTION = """Play an audio file or a video's audio and show it in a window: spectrum bars, waterfall,
peak/RMS/LUFS meters, and speech, captions, language and beats when those stages run.
The picture is delayed by the output latency the sound card reports: what you see is what you hear.
With no output device the picture is paced by the clock; with no display use --screenshot,
or 'rtaudio monitor' for a terminal view.
Keys: 1 bars, 2 waterfall, 3 both, M mel/octave bands, Space freeze, Q quit."""
EXAMPLES = """examples:
  rtaudio play song.flac
  rtaudio play talk.mp4 --stages spectrum,levels,vad --mode waterfall
  rtaudio play song.flac --output-device "USB"      # see: rtaudio devices
  rtaudio play song.flac --screenshot shot.png --duration 8   # headless: save the frame after 8 s"""


def add_arguments(p) -> None:
    from rtaudio.commands.common import add_stage_options
    from rtaudio.commands.window import add_window_options

    p.add_argument("input", help="audio or video file")
    p.add_argument("--stream", type=int, default=0, metavar="N", help="audio stream of a video/container (0 = first)")
    p.add_argument("--output-device", metavar="D", help="output device index or name (default: the system's)")
    p.add_argument("--no-audio", action="store_true", help="do not play; pace the picture by the clock")
    p.add_argument(
        "--buffer", type=float, default=1.0, metavar="S", help="seconds of audio decoded ahead of what is heard"
    )
    add_stage_options(p)
    add_window_options(p)


def run(args) -> int:
    from rtaudio.commands.window import check_window_args, show
    from rtaudio.errors import ParameterError
    from rtaudio.sources.av import FileSource
    from rtaudio.viz.playback import PlaybackSource, WallClock, open_output

    check_window_args(args, live=False)
    if not 0.05 <= args.buffer <= 30:
        raise ParameterError(f"--buffer={args.buffer} must be between 0.05 and 30 seconds")
    if "://" in args.input or args.input == "-":
        raise ParameterError(f"input {args.input!r}: play takes a file; for streams and stdin use: rtaudio live")
    inner = FileSource(args.input, stream=args.stream)
    notice = ""
    player = None
    if not args.no_audio:
        player, why = open_output(args.output_device, rate=inner.rate, channels=inner.channels, buffer_s=args.buffer)
        if player is None:
            notice = f"{why}: showing the picture without sound, paced by the clock"
    output = player if player is not None else WallClock(inner.rate)
    try:
        return show(args, PlaybackSource(inner, output), output=output, notice=notice)
    finally:
        output.close()

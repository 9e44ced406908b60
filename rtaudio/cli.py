"""The ``rtaudio`` command line.

Every verb prints an example in its ``--help``; errors the user can fix are
one line on stderr (``rtaudio: error: ...``) with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from rtaudio import __version__
from rtaudio.errors import RtaudioError


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _add_input(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
    g = p.add_argument_group("input")
    g.add_argument("input", nargs="?" if optional else None,
                   help="audio/video file, URL (http, https, hls, rtsp, rtmp, udp), or '-' for raw PCM on stdin")
    g.add_argument("--stream", type=int, default=0, metavar="N", help="audio stream of a video/container (0 = first)")
    g.add_argument("--realtime", action="store_true", help="pace a file at real time, as if live")
    g.add_argument("--rate", type=int, help="sample rate (Hz) of raw PCM on stdin, or the device rate")
    g.add_argument("--channels", type=int, help="channels of raw PCM on stdin, or of the device")
    g.add_argument("--format", dest="sample_format", default="s16le",
                   help="raw PCM sample format on stdin: u8, s16le, s24le, s32le, f32le, f64le")


def _add_stage_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("analysis")
    g.add_argument("--stages", default="spectrum,levels", help="comma-separated stages to run")
    g.add_argument("--config", metavar="FILE.toml", help="stage parameters, one [stage] table each")
    g.add_argument("-p", "--param", action="append", default=[], metavar="STAGE.NAME=VALUE",
                   help="set one stage parameter, e.g. -p spectrum.n_fft=4096 (repeatable; wins over --config)")
    g.add_argument("--nonfinite", choices=["error", "zero"], default="error",
                   help="what to do with NaN/Inf samples: stop with an error, or replace them by silence")


EXAMPLES = {
    "analyze": """examples:
  rtaudio analyze talk.mp4 -o events.jsonl
  rtaudio analyze https://example.org/radio.mp3 -o radio.jsonl --spectrum-rate 0
  sox in.wav -t raw -e signed -b 16 -c 1 -r 16000 - | rtaudio analyze - --rate 16000 -o -
  rtaudio analyze song.flac -p spectrum.scale=mel -p spectrum.n_fft=4096""",
    "monitor": """examples:
  rtaudio monitor --device 0              # a microphone or line-in (see: rtaudio devices)
  rtaudio monitor --device "USB" --rate 48000
  rtaudio monitor --url http://127.0.0.1:8000/stream.mp3
  rtaudio monitor song.flac --duration 10  # a file, paced at real time""",
    "devices": """examples:
  rtaudio devices""",
    "demo": """examples:
  rtaudio demo                 # writes rtaudio-demo/demo.mp4 and rtaudio-demo/events.jsonl
  rtaudio demo -o /tmp/demo""",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtaudio",
        description="Real-time streaming audio analyzer: spectrum, loudness and more, from files, videos, "
                    "network streams, sound devices and stdin.",
        epilog="Run 'rtaudio VERB --help' for the options and an example of each verb.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"rtaudio {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("analyze", help="analyse an input as fast as possible and write events as JSON lines",
                         description="Analyse an input and write its events as JSON lines (schema in the README).",
                         epilog=EXAMPLES["analyze"], formatter_class=_Formatter)
    _add_input(p)
    _add_stage_options(p)
    p.add_argument("-o", "--output", default="-", help="events file (.jsonl); '-' for stdout")
    p.add_argument("--spectrum-rate", type=float, default=10.0, metavar="HZ",
                   help="spectrum frames written per second of audio (0: none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)

    p = verbs.add_parser("monitor", help="show live meters and a spectrum in the terminal",
                         description="Watch an input live in the terminal: peak/RMS/loudness meters and a spectrum.",
                         epilog=EXAMPLES["monitor"], formatter_class=_Formatter)
    _add_input(p, optional=True)
    _add_stage_options(p)
    p.add_argument("--device", help="input device index or name substring (see: rtaudio devices)")
    p.add_argument("--url", help="network stream URL")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("-o", "--output", help="also write events to this .jsonl file")
    p.set_defaults(func=cmd_monitor)

    p = verbs.add_parser("devices", help="list sound devices", description="List the sound devices PortAudio sees.",
                         epilog=EXAMPLES["devices"], formatter_class=_Formatter)
    p.set_defaults(func=cmd_devices)

    p = verbs.add_parser("demo", help="make a sample video, analyse it, write the events",
                         description="Synthesize a short video (speech over a beat and chords), analyse it and "
                                     "write the results. Needs no data and no network.",
                         epilog=EXAMPLES["demo"], formatter_class=_Formatter)
    p.add_argument("-o", "--output-dir", default="rtaudio-demo", help="folder for the sample and the results")
    p.set_defaults(func=cmd_demo)
    return parser


# -- shared plumbing -------------------------------------------------------------------
def _config(args) -> dict[str, dict]:
    from rtaudio.config import load_toml, parse_override

    config = load_toml(args.config) if args.config else {}
    for text in args.param:
        stage, name, value = parse_override(text)
        config.setdefault(stage, {})[name] = value
    return config


def _open(args, **extra):
    from rtaudio.sources import open_source

    return open_source(args.input, stream=args.stream, realtime=args.realtime, rate=args.rate,
                       channels=args.channels, sample_format=args.sample_format, **extra)


def _stages(args, source):
    from rtaudio.stages import build_stages

    names = [n.strip() for n in args.stages.split(",") if n.strip()]
    return build_stages(names, sample_rate=source.rate, channels=source.channels, config=_config(args))


def _run_with_progress(engine, source, show: bool):
    """Run ``engine``; a progress bar on stderr when the input has a known length."""
    if not show or not source.duration_s or source.live:
        return engine.run()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.console import Console

    total = source.duration_s
    with Progress(TextColumn("[bold]analysing[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed:.1f}/{task.total:.1f} s"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(os.path.basename(source.description), total=total)
        engine.progress = lambda n: progress.update(task, completed=min(total, n / source.rate))
        result = engine.run()
        progress.update(task, completed=total)
    return result


def _summary(result, source, sink_events_path: str | None, loudness) -> str:
    audio_s = result.samples / source.rate
    speed = audio_s / result.seconds if result.seconds > 0 else float("inf")
    pace = f" ({speed:.0f}x real time)" if result.reason == "end" and not source.live else ""
    parts = [f"{result.reason}: {audio_s:.1f} s of audio in {result.seconds:.2f} s{pace}"]
    if loudness is not None:
        parts.append(f"integrated loudness {loudness:.1f} LUFS")
    if result.dropped:
        parts.append(f"{result.dropped} samples dropped")
    if sink_events_path and sink_events_path != "-":
        parts.append(f"events in {sink_events_path}")
    return "; ".join(parts)


class _LoudnessCatcher:
    """A tiny sink that remembers the integrated loudness for the summary line."""

    def __init__(self):
        self.value = None

    def open(self, info):
        pass

    def emit(self, events):
        for e in events:
            if e.TYPE == "loudness":
                self.value = e.integrated_lufs

    def close(self):
        pass


# -- verbs -----------------------------------------------------------------------------
def cmd_analyze(args) -> int:
    from rtaudio.engine import Engine
    from rtaudio.sinks.jsonl import JsonlSink

    source = _open(args)
    stages = _stages(args, source)
    sink = JsonlSink(args.output, spectrum_rate=args.spectrum_rate)
    catcher = _LoudnessCatcher()
    engine = Engine(source, stages, [sink, catcher], on_nonfinite=args.nonfinite)
    result = _run_with_progress(engine, source, show=not args.no_progress)
    print(_summary(result, source, args.output, catcher.value), file=sys.stderr)
    return 0


def cmd_monitor(args) -> int:
    from rtaudio.engine import Engine
    from rtaudio.sinks.terminal import TerminalView

    if args.input is None and args.device is None and args.url is None:
        from rtaudio.errors import ParameterError

        raise ParameterError("monitor needs an input: a file, --device D (see: rtaudio devices) or --url U")
    if args.input not in (None, "-") and "://" not in (args.input or ""):
        args.realtime = True  # a monitored file plays at real time
    source = _open(args, device=args.device, url=args.url)
    sinks = [TerminalView()]
    if args.output:
        from rtaudio.sinks.jsonl import JsonlSink

        sinks.append(JsonlSink(args.output))
    engine = Engine(source, _stages(args, source), sinks, on_nonfinite=args.nonfinite)
    result = sinks[0].show(engine, duration=args.duration)
    print(_summary(result, source, args.output, None), file=sys.stderr)
    return 0


def cmd_devices(args) -> int:
    from rtaudio.sources.device import format_devices

    print(format_devices())
    return 0


def cmd_demo(args) -> int:
    from rtaudio.demo import make_demo
    from rtaudio.engine import Engine
    from rtaudio.sinks.jsonl import JsonlSink
    from rtaudio.sources.av import FileSource
    from rtaudio.stages import DEFAULT_STAGES, build_stages

    out = args.output_dir
    t0 = time.perf_counter()
    video, note = make_demo(out)
    print(f"made {video} ({note}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    source = FileSource(video)
    stages = build_stages(DEFAULT_STAGES, sample_rate=source.rate, channels=source.channels)
    events_path = os.path.join(out, "events.jsonl")
    catcher = _LoudnessCatcher()
    result = Engine(source, stages, [JsonlSink(events_path), catcher]).run()
    print(_summary(result, source, events_path, catcher.value), file=sys.stderr)
    print(f"next: rtaudio monitor {video}   (live meters and spectrum in the terminal)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RtaudioError as exc:
        print(f"rtaudio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rtaudio: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rtaudio analyze x -o - | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())

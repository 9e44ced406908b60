"""Plumbing shared by the command modules: input options, stage options, progress, summaries."""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def add_input(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
    g = p.add_argument_group("input")
    g.add_argument(
        "input",
        nargs="?" if optional else None,
        help="audio/video file, URL (http, https, hls, rtsp, rtmp, udp), or '-' for raw PCM on stdin",
    )
    g.add_argument("--stream", type=int, default=0, metavar="N", help="audio stream of a video/container (0 = first)")
    g.add_argument("--realtime", action="store_true", help="pace a file at real time, as if live")
    g.add_argument("--rate", type=int, help="sample rate (Hz) of raw PCM on stdin, or the device rate")
    g.add_argument("--channels", type=int, help="channels of raw PCM on stdin, or of the device")
    g.add_argument(
        "--format",
        dest="sample_format",
        default="s16le",
        help="raw PCM sample format on stdin: u8, s16le, s24le, s32le, f32le, f64le",
    )


def add_stage_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("analysis")
    g.add_argument("--stages", default="spectrum,levels", help="comma-separated stages to run")
    g.add_argument("--config", metavar="FILE.toml", help="stage parameters, one [stage] table each")
    g.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="STAGE.NAME=VALUE",
        help="set one stage parameter, e.g. -p spectrum.n_fft=4096 (repeatable; wins over --config)",
    )
    g.add_argument(
        "--place",
        action="append",
        default=[],
        metavar="STAGE=WHERE",
        help="where a slow stage (stt, lid) runs: inline, thread (a lane of its own) or process (a lane, "
        "its recogniser in a child process); same events (repeatable)",
    )
    g.add_argument(
        "--nonfinite",
        choices=["error", "zero"],
        default="error",
        help="what to do with NaN/Inf samples: stop with an error, or replace them by silence",
    )


def stage_config(args) -> dict[str, dict]:
    from rtaudio.config import load_toml, parse_override

    config = load_toml(args.config) if args.config else {}
    for text in args.param:
        stage, name, value = parse_override(text)
        config.setdefault(stage, {})[name] = value
    return config


def placement(args) -> dict[str, str]:
    """``--place STAGE=WHERE`` options as ``{stage: where}``."""
    from rtaudio.errors import ParameterError

    out = {}
    for text in getattr(args, "place", None) or []:
        stage, sep, where = text.partition("=")
        if not sep or not stage.strip():
            raise ParameterError(f"--place {text!r} must look like STAGE=WHERE, e.g. --place stt=process")
        out[stage.strip()] = where.strip()
    return out


def open_input(args, **extra):
    from rtaudio.sources import open_source

    return open_source(
        args.input,
        stream=args.stream,
        realtime=args.realtime,
        rate=args.rate,
        channels=args.channels,
        sample_format=args.sample_format,
        **extra,
    )


def make_stages(args, source):
    from rtaudio.stages import build_stages

    names = [n.strip() for n in args.stages.split(",") if n.strip()]
    return build_stages(
        names, sample_rate=source.rate, channels=source.channels, config=stage_config(args), placement=placement(args)
    )


def run_with_progress(engine, source, show: bool):
    """Run ``engine``; a progress bar on stderr when the input has a known length."""
    if not show or not source.duration_s or source.live:
        return engine.run()
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    total = source.duration_s
    with Progress(
        TextColumn("[bold]analysing[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.1f}/{task.total:.1f} s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task(os.path.basename(source.description), total=total)
        engine.progress = lambda n: progress.update(task, completed=min(total, n / source.rate))
        result = engine.run()
        progress.update(task, completed=total)
    return result


def summary(result, source, sink_events_path: str | None, loudness) -> str:
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


class LoudnessCatcher:
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


def option_flags(p: argparse.ArgumentParser) -> dict[str, str]:
    """Each option's destination -> its long flag (``{"fmt": "--format", "stems": "--stems"}``)."""
    return {a.dest: max(a.option_strings, key=len) for a in p._actions if a.option_strings}


def name_flags(message: str, params, flags: dict[str, str]) -> str:
    """``message`` with each ``name=`` of the library parameters ``params`` written as the flag that sets it."""
    for name in params:
        if name in flags:
            message = re.sub(rf"(?<![\w.-]){re.escape(name)}=", f"{flags[name]}=", message)
    return message


def check_outputs(args, **outputs) -> None:
    """Refuse outputs that are one of the run's inputs (``args.input``, ``--config``) or each other, before running."""
    from rtaudio.outputs import check_paths

    inputs = {"the input": getattr(args, "input", None), "--config": getattr(args, "config", None)}
    check_paths(inputs, outputs)


#: True when the process is the ``rtaudio`` program (``cli.main()`` without argv), not a caller of main(argv).
AS_PROGRAM = False


class StopOnSigint:
    """Ctrl-C stops an engine cleanly, wherever the main thread is (no stray KeyboardInterrupt).

    Before :meth:`attach`, SIGINT raises KeyboardInterrupt as usual (nothing is
    written yet); after it, the first SIGINT asks the engine to stop (the output is
    flushed and ends with an ``end`` event, reason ``stopped``) and a second one
    raises KeyboardInterrupt.  In the ``rtaudio`` program a SIGINT after an attached
    run is ignored (the work is done: the exit status stays 0); in a caller of
    ``main(argv)`` the previous handler comes back.
    """

    def __init__(self):
        self.engine = None
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.engine is None or self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.engine.stop()

    def attach(self, engine) -> None:
        self.engine = engine

    def __exit__(self, *exc):
        if self._old is not None:
            done = self.engine is not None and exc[0] is None
            signal.signal(signal.SIGINT, signal.SIG_IGN if done and AS_PROGRAM else self._old)

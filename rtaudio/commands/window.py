"""What ``rtaudio play`` and ``rtaudio live`` share: window options, the window's stages, the run itself.

CLI plumbing around :mod:`rtaudio.viz` (which knows nothing of the command line); not a verb.
"""

from __future__ import annotations

import sys

from rtaudio.commands.common import StopOnSigint, check_outputs, placement, stage_config, summary
from rtaudio.viz.window import WINDOW_DEFAULTS, WINDOW_PLACEMENT


def add_window_options(p) -> None:
    g = p.add_argument_group("window")
    g.add_argument("--size", default="1280x720", metavar="WxH", help="window size in pixels")
    g.add_argument(
        "--mode",
        default="both",
        choices=["both", "bars", "waterfall"],
        help="what to show at the start (keys 1/2/3 switch)",
    )
    g.add_argument("--fps", type=float, default=60.0, help="frames per second")
    g.add_argument("--colormap", default="magma", choices=["magma", "viridis"], help="waterfall colours")
    g.add_argument(
        "--range",
        dest="db_range",
        type=float,
        default=90.0,
        metavar="DB",
        help="dB range of the bars and waterfall, down from 0 dB (full-scale sine)",
    )
    g.add_argument("--screenshot", metavar="PATH.png", help="save the last frame as PNG (works without a display)")
    g.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    g.add_argument("-o", "--output", help="also write the events to this .jsonl file")


def window_stages(args, source):
    """The stages for a window: ``--stages`` with :data:`WINDOW_DEFAULTS` under the user's parameters.

    The spectrum stage is a :class:`~rtaudio.viz.switch.ScaleSwitchStage` (the ``M`` key).
    Returns ``(stages, switch or None, spectrum_lead in samples)``.
    """
    from rtaudio.config import make_params
    from rtaudio.stages import build_stages
    from rtaudio.stages.spectrum import SpectrumParams
    from rtaudio.viz.switch import ScaleSwitchStage

    config = stage_config(args)
    names = [n.strip() for n in args.stages.split(",") if n.strip()]
    for stage, defaults in WINDOW_DEFAULTS.items():
        if stage in names:
            table = config.setdefault(stage, {})
            for key, value in defaults.items():
                table.setdefault(key, value)
    others = [n for n in names if n != "spectrum"]
    built = dict(
        zip(
            others,
            build_stages(
                others,
                sample_rate=source.rate,
                channels=source.channels,
                config={k: v for k, v in config.items() if k != "spectrum"},
                placement={**{k: v for k, v in WINDOW_PLACEMENT.items() if k in others}, **placement(args)},
            ),
            strict=True,
        )
    )
    switch, lead = None, 0
    if "spectrum" in names:
        params = make_params(SpectrumParams, "spectrum", config.get("spectrum", {}))
        switch = ScaleSwitchStage(params, sample_rate=source.rate)
        built["spectrum"] = switch
        lead = params.n_fft // 2
    stages = [built[n] for n in names]
    warm_up(stages, source)
    return stages, switch, lead


def warm_up(stages, source) -> None:
    """Run the numba stages once on silence and reset them, so the first audio does not wait for the JIT cache."""
    import numpy as np

    from rtaudio.stages.base import Frame
    from rtaudio.stages.levels import LevelsStage
    from rtaudio.viz.switch import ScaleSwitchStage

    for stage in stages:
        if isinstance(stage, (ScaleSwitchStage, LevelsStage)):
            n = stage.params.n_fft if isinstance(stage, ScaleSwitchStage) else source.rate // 10
            stage.process(Frame(0, np.zeros((n, source.channels), np.float32), source.rate))
            stage.reset()


def check_window_args(args, *, live: bool) -> None:
    from rtaudio.errors import ParameterError
    from rtaudio.viz.window import parse_size

    parse_size(args.size)
    if args.duration is not None and not args.duration > 0:
        raise ParameterError(f"--duration={args.duration} must be > 0 seconds")
    if not 10 <= args.db_range <= 200:
        raise ParameterError(f"--range={args.db_range} must be between 10 and 200 dB")
    if args.screenshot and live and args.duration is None:
        raise ParameterError("--screenshot of live input needs --duration S (when to take it)")
    if args.screenshot and not str(args.screenshot).lower().endswith(".png"):
        raise ParameterError(f"--screenshot={args.screenshot!r} must be a .png file")
    if args.screenshot:
        check_outputs(args, **{"--screenshot": args.screenshot})


def show(args, source, *, output=None, notice: str = "") -> int:
    """Open the window (errors before any sound starts), run the engine into it, print a summary.

    ``output`` is a :class:`~rtaudio.viz.playback.Player` or
    :class:`~rtaudio.viz.playback.WallClock` for ``play`` (the window follows its clock),
    None for live input (the window shows events as they come).
    """
    from rtaudio.engine import LIVE_QUANTUM_S, Engine
    from rtaudio.viz.model import ViewParams
    from rtaudio.viz.sink import VizSink
    from rtaudio.viz.window import Window, parse_size

    stages, switch, lead = window_stages(args, source)
    sink = VizSink(spectrum_lead=lead if output is not None else 0)
    sinks = [sink]
    if args.output:
        from rtaudio.sinks.jsonl import JsonlSink

        sinks.append(JsonlSink(args.output))
    view = ViewParams(floor_db=-float(args.db_range), colormap=args.colormap)
    window = Window(
        sink,
        size=parse_size(args.size),
        mode=args.mode,
        fps=args.fps,
        view=view,
        headless=bool(args.screenshot),
        title=f"rtaudio {args.verb}: {source.description}",
        scale_switch=switch,
        audio_status=getattr(output, "status", "") if output else "live",
        clock=output.heard if output is not None else None,
    )
    if notice:
        print(f"rtaudio: {notice}", file=sys.stderr)
    # a window wants each frame as soon as it is computed: a small quantum whatever the source's pace
    quantum = max(1, round(LIVE_QUANTUM_S * source.rate))
    engine = Engine(source, stages, sinks, on_nonfinite=args.nonfinite, quantum=quantum)
    if output is not None:
        window.on_frame = lambda w, _t: w.renderer.hud.__setitem__("audio", output.status)
    try:
        # Ctrl-C stops the window (KeyboardInterrupt in its loop), even in a job started with SIGINT ignored
        with StopOnSigint():
            result = window.run(
                engine,
                duration=args.duration,
                screenshot=args.screenshot,
                done=(lambda: output.drained) if output is not None else None,
            )
    finally:
        if output is not None:
            output.close()
        window.close()
    frame_ms = sorted(window.frame_times)[len(window.frame_times) // 2] * 1e3 if window.frame_times else 0.0
    print(summary(result, source, args.output, None), file=sys.stderr)
    shot = f"; screenshot in {args.screenshot}" if args.screenshot else ""
    print(
        f"window: {window.frames} frames, {window.measured_fps:.1f} fps, {window.dropped} dropped, "
        f"{frame_ms:.1f} ms per frame (median){shot}",
        file=sys.stderr,
    )
    if output is not None:
        print(output.status, file=sys.stderr)
    return 0

"""The Python API in one call: analyse a file, URL or array and get the events back."""

from __future__ import annotations

from collections.abc import Sequence

from rtaudio.events import Event

#: Most audio (s) the stages get at once from an array, as from the engine's ring (``ring_seconds``).
RING_S = 4.0


def analyze(
    input,
    *,
    rate: int | None = None,
    stages: Sequence[str] = ("spectrum", "levels"),
    config: dict[str, dict] | None = None,
    stream: int = 0,
    block: int = 4096,
    max_block: int = 16384,
    on_nonfinite: str = "error",
    placement: dict[str, str] | None = None,
) -> list[Event]:
    """Run ``stages`` over ``input`` and return every event, times as source sample indices.

    Parameters
    ----------
    input : str, array_like or Source
        A path or URL, or a :class:`~rtaudio.sources.base.Source` (read by the threaded
        :class:`~rtaudio.engine.Engine`), or samples ((n,) or (n, channels), float in [-1, 1]) with ``rate``
        (run through a :class:`~rtaudio.pipeline.Pipeline` in this thread).
    rate : int, Hz
        Sample rate of an array input.
    stages : names of stages (see ``rtaudio.stages.STAGES``), run in dependency order
    config : ``{stage: {param: value}}`` overriding the stages' defaults
    block, max_block : int > 0, samples
        Size of the blocks an array is fed in, and the pipeline's quantum (at most :data:`RING_S` of
        audio; the events depend on it, never on ``block``).
    placement : ``{stage: "inline" | "thread" | "process"}``, where the slow stages run (same events)
    """
    from rtaudio.engine import Engine
    from rtaudio.events import EndOfInput, SourceInfo
    from rtaudio.pipeline import Pipeline, run_array
    from rtaudio.sinks import ListSink
    from rtaudio.sources import open_source
    from rtaudio.sources.array import ArraySource
    from rtaudio.sources.base import Source
    from rtaudio.stages import build_stages

    if isinstance(input, str):
        source = open_source(input, stream=stream)
    elif isinstance(input, Source):
        source = input
    else:
        source = ArraySource(input, rate, block=block)
    built = build_stages(stages, sample_rate=source.rate, channels=source.channels, config=config, placement=placement)
    if isinstance(input, (str, Source)):
        sink = ListSink()
        Engine(source, built, [sink], max_block=max_block, on_nonfinite=on_nonfinite).run()
        return sink.events
    src = source
    info = SourceInfo(0, src.description, src.rate, src.channels, src.layout, src.duration_s, src.live)
    # at most RING_S of audio per step, as the engine's ring allows a file (the beats stage's downbeats
    # differ when it gets far longer blocks: not yet block-size invariant beyond that)
    quantum = min(max_block, max(int(RING_S * src.rate), 1024))
    pipeline = Pipeline(
        built, src.rate, src.channels, quantum=quantum, on_nonfinite=on_nonfinite, description=src.description
    )
    events = run_array(pipeline, src.samples, block=src.block)
    return [info, *events, EndOfInput(len(src.samples), "end", 0)]

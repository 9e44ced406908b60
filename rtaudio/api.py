"""The Python API in one call: analyse a file, URL or array and get the events back."""

from __future__ import annotations

from collections.abc import Sequence

from rtaudio.events import Event


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
) -> list[Event]:
    """Run ``stages`` over ``input`` and return every event, times as source sample indices.

    Parameters
    ----------
    input : str, array_like or Source
        A path or URL, samples ((n,) or (n, channels), float in [-1, 1]) with ``rate``, or a source.
    rate : int, Hz
        Sample rate of an array input.
    stages : names of stages (see ``rtaudio.stages.STAGES``)
    config : ``{stage: {param: value}}`` overriding the stages' defaults
    block, max_block : int > 0, samples
        Size of the blocks an array is written in, and most samples a stage gets at once.
    """
    from rtaudio.engine import Engine
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
    sink = ListSink()
    built = build_stages(stages, sample_rate=source.rate, channels=source.channels, config=config)
    Engine(source, built, [sink], max_block=max_block, on_nonfinite=on_nonfinite).run()
    return sink.events

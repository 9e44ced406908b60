"""Audio sources: files and videos, network streams, sound devices, raw PCM on stdin.

Every source produces float32 frames (n, channels) with a sample index on the
source clock; :func:`open_source` picks the right one for a CLI argument.
"""

from __future__ import annotations

from rtaudio.sources.base import Source


def open_source(
    spec: str | None = None,
    *,
    device: str | int | None = None,
    url: str | None = None,
    stream: int = 0,
    realtime: bool = False,
    rate: int | None = None,
    channels: int | None = None,
    sample_format: str | None = None,
) -> Source:
    """Open the source named by a CLI argument.

    ``spec`` is a path, a URL (``scheme://``), or ``-`` for raw PCM on stdin;
    ``device`` opens a sound device instead, ``url`` a network stream.
    """
    if device is not None:
        from rtaudio.sources.device import DeviceSource

        return DeviceSource(device, rate=rate, channels=channels)
    if url is None and spec is not None and "://" in spec:
        url = spec
    if url is not None:
        from rtaudio.sources.url import UrlSource

        return UrlSource(url, stream=stream, realtime=realtime)
    if spec == "-":
        from rtaudio.sources.stdin import StdinSource

        return StdinSource(rate=rate, channels=channels, sample_format=sample_format or "s16le", realtime=realtime)
    if spec is None:
        from rtaudio.errors import ParameterError

        raise ParameterError("no input given: pass a file, a URL, '-' for stdin, or --device D")
    from rtaudio.sources.av import FileSource

    return FileSource(spec, stream=stream, realtime=realtime)

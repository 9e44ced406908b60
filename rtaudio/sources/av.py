"""Files and videos through PyAV (FFmpeg): wav, flac, ogg, mp3, m4a, mp4, mkv, mov, webm."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from rtaudio.errors import InputError, ParameterError
from rtaudio.sources.base import PullSource, Report


def _av():
    import av

    return av


def describe_audio_streams(container) -> str:
    parts = [
        f"{i} ({s.codec_context.name}, {s.channels} ch, {s.rate} Hz)" for i, s in enumerate(container.streams.audio)
    ]
    return ", ".join(parts) or "none"


def select_audio_stream(container, stream: int, name: str):
    """The ``stream``-th audio stream (0 = first) of an open container, or a clear error."""
    audio = container.streams.audio
    if not audio:
        others = ", ".join(f"{s.type} {s.codec_context.name}" for s in container.streams) or "none"
        raise InputError(f"{name} has no audio stream (streams: {others}); expected at least one")
    if isinstance(stream, bool) or not isinstance(stream, int) or not 0 <= stream < len(audio):
        raise ParameterError(
            f"--stream={stream!r} does not exist in {name}; audio streams: {describe_audio_streams(container)}"
        )
    return audio[stream]


#: FFmpeg's int16 -> float conversion (libswresample): ``x * (1.0f / (1 << 15))``, exact.
_S16_SCALE = np.float32(1.0 / (1 << 15))


def _direct(frame, layout: str, rate: int, channels: int) -> np.ndarray | None:
    """``frame`` as float32 (n, channels) when it is 16-bit or float audio at ``rate`` in ``layout``
    (or, for mono and stereo, with the channel order unspecified), converted in numpy exactly as
    the resampler does (a copy, a transpose or one exact scaling); None otherwise."""
    if frame.sample_rate != rate or len(frame.layout.channels) != channels:
        return None
    if frame.layout.name != layout and not (channels <= 2 and frame.layout.name.endswith("channels")):
        return None
    fmt = frame.format.name
    if fmt not in ("flt", "fltp", "s16", "s16p"):
        return None
    x = frame.to_ndarray()  # packed: (1, n * channels); planar: (channels, n)
    x = x.T if frame.format.is_planar else x.reshape(-1, channels)
    if fmt.startswith("s16"):
        return x.astype(np.float32) * _S16_SCALE
    return np.ascontiguousarray(x)


def decode_blocks(container, audio_stream, layout: str, rate: int) -> Iterator[np.ndarray]:
    """Decode ``audio_stream`` to float32 (n, channels) blocks, converted to ``layout`` and ``rate``.

    Frames already at ``rate`` in ``layout`` as 16-bit or float samples skip FFmpeg's resampler
    (the same samples, about half the decoding time), until the first frame that needs it.
    """
    av = _av()
    resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
    channels = len(av.AudioLayout(layout).channels)
    direct = True
    for packet in container.demux(audio_stream):
        for frame in packet.decode():
            block = _direct(frame, layout, rate, channels) if direct else None
            if block is not None:
                yield block
                continue
            direct = False  # the resampler from here on: it may keep state between frames
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1, channels)
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1, channels)


class AvSource(PullSource):
    """Audio track ``stream`` (0 = first audio stream) of anything FFmpeg opens.

    Keeps the channel layout (``layout``, ``channels``) for separation; the
    engine derives the mono mix for analysis.
    """

    def __init__(
        self,
        target: str,
        *,
        stream: int = 0,
        realtime: bool = False,
        options: dict | None = None,
        timeout: float | tuple[float, float] | None = None,
    ):
        self.description = target
        self.realtime = realtime
        self._stream_index = stream
        self._options = options or {}
        self._timeout = timeout
        self._container = self._open()
        self._audio = select_audio_stream(self._container, stream, repr(target))
        self.rate = int(self._audio.rate or self._audio.codec_context.sample_rate or 0)
        if self.rate <= 0:
            raise InputError(f"{target!r}: audio stream {stream} has no sample rate; expected a positive rate")
        self.channels = len(self._audio.layout.channels) if self._audio.layout else 1
        self.layout = self._audio.layout.name if self._audio.layout else "mono"
        if self.layout.endswith("channels") and self.channels <= 2:  # unspecified order (e.g. WAV)
            self.layout = "mono" if self.channels == 1 else "stereo"
        self.duration_s = self._duration()

    def _open(self):
        av = _av()
        try:
            return av.open(self.description, options=self._options, timeout=self._timeout)
        except av.error.FileNotFoundError:
            raise InputError(f"input {self.description!r} does not exist") from None
        except (av.error.InvalidDataError, av.error.EOFError) as exc:
            raise InputError(
                f"{self.description!r} is not a readable audio or video file (FFmpeg: {exc.strerror}); "
                "expected a complete wav, flac, ogg, mp3, m4a, mp4, mkv, mov or webm file"
            ) from None
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot open {self.description!r}: {exc}") from None

    def _duration(self) -> float | None:
        s = self._audio
        if s.duration is not None and s.time_base is not None:
            return float(s.duration * s.time_base)
        if self._container.duration:
            return self._container.duration / 1_000_000
        return None

    def blocks(self, report: Report) -> Iterator[np.ndarray]:
        av = _av()
        decoded = 0
        try:
            for block in decode_blocks(self._container, self._audio, self.layout, self.rate):
                decoded += len(block)
                yield block
        except av.error.FFmpegError as exc:
            raise InputError(
                f"{self.description!r}: decoding failed at {decoded / self.rate:.2f} s ({exc}); "
                "the audio before that point was analysed"
            ) from None
        self.check_complete(decoded)

    def check_complete(self, decoded: int) -> None:
        """Raise if far fewer samples decoded than the container declares (a truncated file)."""
        if decoded == 0:
            raise InputError(f"{self.description!r} holds no audio samples; expected a non-empty audio track")
        if self.duration_s and decoded / self.rate < 0.98 * self.duration_s - 0.05:
            raise InputError(
                f"{self.description!r} is truncated: decoded {decoded / self.rate:.2f} s of the "
                f"{self.duration_s:.2f} s its header declares; the audio before that point was analysed"
            )

    def close(self) -> None:
        self._container.close()


def wav_declared_seconds(path: str) -> float | None:
    """Duration (s) a RIFF/WAVE header declares for its data chunk, or None if not a plain WAV header.

    FFmpeg trusts the file size over the header, so a cut-off WAV decodes without
    complaint; comparing with the header is how a truncated WAV is caught.
    """
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size + (size & 1))
                byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else None
            elif cid == b"data":
                if not byte_rate or size in (0, 0xFFFFFFFF):  # streamed WAVs leave the size open
                    return None
                return size / byte_rate
            else:
                f.seek(size + (size & 1), 1)


class FileSource(AvSource):
    """A local audio or video file."""

    def __init__(self, path: str | os.PathLike, *, stream: int = 0, realtime: bool = False):
        path = os.fspath(path)
        if not os.path.exists(path):
            raise InputError(f"input {path!r} does not exist")
        if os.path.isdir(path):
            raise InputError(f"input {path!r} is a directory; expected an audio or video file")
        if os.path.getsize(path) == 0:
            raise InputError(f"input {path!r} is empty (0 bytes); expected an audio or video file")
        super().__init__(path, stream=stream, realtime=realtime)
        declared = wav_declared_seconds(path)
        if declared is not None:
            self.duration_s = declared

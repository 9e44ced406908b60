"""Raw interleaved PCM on standard input (``rtaudio analyze - --rate 16000 --channels 1 --format s16le``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from rtaudio.errors import InputError, ParameterError
from rtaudio.sources.base import PullSource, Report, check_channels, check_rate

#: --format name -> (numpy dtype, scale to [-1, 1], offset)
FORMATS = {
    "u8": (np.dtype("u1"), 1 / 128, -128),
    "s16le": (np.dtype("<i2"), 1 / 32768, 0),
    "s24le": (None, 1 / 8388608, 0),
    "s32le": (np.dtype("<i4"), 1 / 2147483648, 0),
    "f32le": (np.dtype("<f4"), 1.0, 0),
    "f64le": (np.dtype("<f8"), 1.0, 0),
}


def _bytes_per_sample(fmt: str) -> int:
    return 3 if fmt == "s24le" else FORMATS[fmt][0].itemsize


def decode_pcm(raw: bytes, fmt: str, channels: int) -> np.ndarray:
    """Interleaved PCM bytes (a whole number of frames) to float32 (n, channels)."""
    dtype, scale, offset = FORMATS[fmt]
    if fmt == "s24le":
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        x = ints.astype(np.float32) * np.float32(scale)
    else:
        x = np.frombuffer(raw, dtype)
        x = (
            (x.astype(np.float32) + np.float32(offset)) * np.float32(scale)
            if scale != 1.0 or offset
            else x.astype(np.float32)
        )
    return x.reshape(-1, channels)


class StdinSource(PullSource):
    """Raw PCM read from a binary stream (standard input by default)."""

    def __init__(
        self,
        *,
        rate: int | None,
        channels: int | None,
        sample_format: str = "s16le",
        realtime: bool = False,
        stream: BinaryIO | None = None,
        block_frames: int = 4096,
    ):
        if rate is None:
            raise ParameterError("reading raw PCM from stdin ('-') needs --rate (Hz), e.g. --rate 16000")
        self.rate = check_rate(rate)
        self.channels = check_channels(1 if channels is None else channels)
        if sample_format not in FORMATS:
            raise ParameterError(
                f"--format={sample_format!r} is not a PCM format; expected one of {', '.join(FORMATS)}"
            )
        self.format = sample_format
        self.layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        self.description = "stdin"
        self.realtime = realtime
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._frame_bytes = _bytes_per_sample(sample_format) * self.channels
        self._block_bytes = block_frames * self._frame_bytes

    def _reader(self):
        """A read(n) that returns what a live pipe has without waiting for n bytes.

        A real file descriptor is read with ``os.read``: no buffer lock is held while
        waiting, so a stopped run can exit while this thread still waits for input.
        """
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return getattr(self._stream, "read1", self._stream.read)
        return lambda n: os.read(fd, n)

    def blocks(self, report: Report) -> Iterator[np.ndarray]:
        pending = b""
        total = 0
        read = self._reader()
        while True:
            chunk = read(self._block_bytes)
            if not chunk:
                break
            pending += chunk
            whole = len(pending) - len(pending) % self._frame_bytes
            if whole:
                total += whole
                yield decode_pcm(pending[:whole], self.format, self.channels)
                pending = pending[whole:]
        if pending:
            raise InputError(
                f"stdin ended with {len(pending)} stray bytes: not a whole frame of {self.channels} channel(s) "
                f"of {self.format} ({self._frame_bytes} bytes); check --channels and --format"
            )
        if total == 0:
            raise InputError("stdin held no audio (0 bytes); expected raw PCM")

"""A numpy array as a source (Python API, tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rtaudio.errors import InputError
from rtaudio.sources.base import PullSource, Report, check_rate


class ArraySource(PullSource):
    """Play ``samples`` ((n,) or (n, channels), float) at ``rate`` Hz in blocks of ``block`` frames.

    Parameters
    ----------
    samples : array_like, (n,) or (n, channels)
    rate : int > 0, Hz
    block : int > 0, frames
        Size of the blocks written into the ring.
    realtime : bool
        Pace at real time, as if live.
    """

    def __init__(self, samples, rate: int, *, block: int = 4096, realtime: bool = False, name: str = "array"):
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] == 0:
            raise InputError(f"samples of shape {np.shape(samples)} must be (n,) or (n, channels)")
        if len(x) == 0:
            raise InputError(f"{name} holds no samples; expected a non-empty array")
        self.samples = np.ascontiguousarray(x)
        self.rate = check_rate(rate, "rate")
        self.channels = x.shape[1]
        self.layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        self.duration_s = len(x) / self.rate
        self.description = name
        self.block = max(1, int(block))
        self.realtime = realtime

    def blocks(self, report: Report) -> Iterator[np.ndarray]:
        for i in range(0, len(self.samples), self.block):
            yield self.samples[i : i + self.block]

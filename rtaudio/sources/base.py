"""What every source is, and the pump that feeds a ring from a pull source."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from rtaudio.events import Event
from rtaudio.ring import Ring

Report = Callable[[Event], None]


def check_finite(block: np.ndarray, index: int, rate: int, what: str, hint: str = "") -> None:
    """Raise :class:`InputError` naming ``what``, the first NaN/Inf sample's index, time and channel.

    ``block`` is (n, channels) starting at sample ``index`` of ``what`` (at ``rate`` Hz);
    ``hint`` ends the message (how to get past it).
    """
    bad = ~np.isfinite(block)
    if not bad.any():
        return
    from rtaudio.errors import InputError

    bad = bad.reshape(len(block), -1)
    i, c = (int(v) for v in np.argwhere(bad)[0])
    at = index + i
    value = np.asarray(block).reshape(len(block), -1)[i, c]
    raise InputError(
        f"{what}: sample {at} (t={at / rate:.3f} s, channel {c}) is {value}; expected finite samples{hint}"
    )


def first_nonfinite(block: np.ndarray) -> int:
    """Index of the first row of ``block`` holding a NaN or Inf (``len(block)`` when none)."""
    rows = ~np.isfinite(block).reshape(len(block), -1).all(axis=1)
    return int(np.argmax(rows)) if rows.any() else len(block)


class Source:
    """An audio input.

    Attributes
    ----------
    description : str
        What the user named (path, URL, device).
    rate : int, Hz
    channels : int
    layout : str
        Channel layout name (``mono``, ``stereo``, ``5.1``, ...), kept for separation.
    duration_s : float or None
        Known length, None for live input.
    live : bool
        True when audio arrives in real time (device, live stream): the ring drops the
        oldest audio instead of making the producer wait.
    """

    description: str = ""
    rate: int = 0
    channels: int = 1
    layout: str = "mono"
    duration_s: float | None = None
    live: bool = False

    def run(self, ring: Ring, should_stop: Callable[[], bool], report: Report) -> None:
        """Produce audio into ``ring`` until the input ends or ``should_stop()``; raise on fatal errors."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files, sockets and devices."""


class PullSource(Source):
    """A source that is read (file, stream, stdin) rather than called back.

    Subclasses implement :meth:`blocks`; :meth:`run` writes them into the ring,
    waiting for room unless the source is live, and paced at real time when
    ``realtime`` is set.
    """

    realtime: bool = False

    def blocks(self, report: Report) -> Iterator[np.ndarray]:
        """Yield float32 arrays (n, channels) in order."""
        raise NotImplementedError

    def run(self, ring: Ring, should_stop: Callable[[], bool], report: Report) -> None:
        start = time.perf_counter()
        written = 0
        for block in self.blocks(report):
            if should_stop():
                return
            pos = 0
            while pos < len(block):
                piece = block[pos : pos + ring.capacity // 2]
                if self.realtime:
                    lead = written / self.rate - (time.perf_counter() - start)
                    if lead > 0:
                        time.sleep(lead)
                elif not self.live and ring.free < len(piece):  # back-pressure: a file loses nothing
                    # wait for half the ring, not just this piece: fewer hand-offs between the threads
                    while not ring.wait_free(ring.capacity // 2, 0.05):
                        if should_stop():
                            return
                ring.write(piece)
                written += len(piece)
                pos += len(piece)


def check_rate(rate, what: str = "rate") -> int:
    """Validate a sample rate in Hz."""
    from rtaudio.errors import ParameterError

    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or not 1000 <= rate <= 768000:
        raise ParameterError(
            f"{what}={rate!r} must be a sample rate in Hz between 1000 and 768000 (e.g. 48000)", params=(what,)
        )
    return int(rate)


def check_channels(channels, what: str = "channels") -> int:
    from rtaudio.errors import ParameterError

    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or not 1 <= channels <= 64:
        raise ParameterError(
            f"{what}={channels!r} must be an integer number of channels between 1 and 64", params=(what,)
        )
    return int(channels)

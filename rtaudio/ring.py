"""Single-producer single-consumer ring buffer of float32 frames, drop-oldest.

The writer (an audio callback) only copies into a preallocated array and then
publishes its new position; it never blocks, never waits and never allocates
an array.  When the reader falls behind by more than the capacity, the oldest
audio is overwritten: the reader notices it (the positions are monotonic
sample counts), skips what was lost and counts it in :attr:`Ring.dropped`.

Positions are absolute sample indices since the ring was created, so
``read`` also tells where on the source clock a block starts.
"""

from __future__ import annotations

import threading

import numpy as np

from rtaudio.errors import ParameterError


class Ring:
    """SPSC ring of ``capacity`` frames of ``channels`` float32 samples.

    Parameters
    ----------
    capacity : int > 0, frames
    channels : int > 0
    """

    def __init__(self, capacity: int, channels: int = 1):
        if not isinstance(capacity, (int, np.integer)) or capacity <= 0:
            raise ParameterError(f"capacity={capacity!r} must be a positive integer number of frames")
        if not isinstance(channels, (int, np.integer)) or channels <= 0:
            raise ParameterError(f"channels={channels!r} must be a positive integer")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self._written = 0  # frames ever written; only the writer changes it
        self._claimed = 0  # frames the writer is writing or has written (announced before copying)
        self._read = 0  # frames consumed or dropped; only the reader changes it
        self.dropped = 0  # frames lost to overflow, counted by the reader
        self.closed = False  # set by the producer when no more audio will come
        self._want = 0  # free frames a waiting producer needs (0: none waits); see wait_free
        self._room = threading.Event()

    # -- writer side -------------------------------------------------------------
    def write(self, block: np.ndarray) -> None:
        """Copy ``block`` (frames x channels, or 1-D for mono) in; overwrite the oldest frames if full."""
        n = len(block)
        if n == 0:
            return
        written = self._written
        if n > self.capacity:  # only the newest `capacity` frames can survive
            block = block[n - self.capacity :]
            skip = n - self.capacity
        else:
            skip = 0
        m = len(block)
        self._claimed = written + n  # announce first: a reader copying these slots will discard them
        start = (written + skip) % self.capacity
        first = min(m, self.capacity - start)
        if block.ndim == 1:
            self._buf[start : start + first, 0] = block[:first]
            self._buf[: m - first, 0] = block[first:]
        else:
            self._buf[start : start + first] = block[:first]
            self._buf[: m - first] = block[first:]
        self._written = written + n  # publish last: the reader sees whole blocks only

    def wait_free(self, frames: int, timeout: float) -> bool:
        """Wait until ``frames`` can be written without overwriting unread audio, or ``timeout`` s pass.

        For a producer that may wait (a file read faster than real time), never for an audio
        callback. The reader wakes it once, from :meth:`read`, when enough is free, so a
        waiting producer costs no polling. Returns True when there is room.
        """
        if self.free >= frames:
            return True
        self._want = frames
        self._room.clear()
        if self.free >= frames:  # a read came between the check and the clear
            return True
        self._room.wait(timeout)
        return self.free >= frames

    def close(self) -> None:
        """Mark the end of input (producer side)."""
        self.closed = True

    @property
    def written(self) -> int:
        """Frames ever written: the source index of the next frame the writer will write."""
        return self._written

    # -- reader side -------------------------------------------------------------
    @property
    def available(self) -> int:
        """Frames ready to read (at most ``capacity``)."""
        return min(self._written - self._read, self.capacity)

    @property
    def free(self) -> int:
        """Frames that can be written without overwriting unread audio."""
        return self.capacity - (self._written - self._read)

    @property
    def position(self) -> int:
        """Source index of the next frame the reader will get."""
        return max(self._read, self._written - self.capacity)

    def read(self, max_frames: int | None = None) -> tuple[int, np.ndarray]:
        """Take up to ``max_frames`` frames; returns (index of the first frame, a new (n, channels) array).

        Frames overwritten before or while they were copied are skipped and
        added to :attr:`dropped`; the returned index accounts for them.
        """
        n = min(self._written - self._read, self.capacity)
        if max_frames is not None:
            n = min(n, max_frames)
        out = np.empty((n, self.channels), dtype=np.float32)
        index, n = self.read_into(out)
        return index, out[:n]

    def read_into(self, out: np.ndarray) -> tuple[int, int]:
        """Copy up to ``len(out)`` frames into ``out`` ((frames, channels) float32) without allocating.

        Returns (index of the first frame, frames copied): ``out[:n]`` holds them, the rest of ``out``
        is left as it was. Lost frames are skipped and counted in :attr:`dropped`, as in :meth:`read`.
        """
        written = self._written
        lost = max(0, written - self._read - self.capacity)
        if lost:
            self.dropped += lost
            self._read += lost
        n = min(written - self._read, len(out))
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start : start + first]
        if n > first:
            out[first:n] = self._buf[: n - first]
        # The writer may have lapped us during the copy: frames it (over)wrote meanwhile are invalid.
        overrun = max(0, self._claimed - self.capacity - self._read)
        index = self._read
        self._read += n
        if overrun:
            bad = min(overrun, n)
            out[: n - bad] = out[bad:n].copy()  # only after a lap (live input falling behind), never in playback
            index += bad
            self.dropped += bad
            n -= bad
        if self._want and self.free >= self._want:  # wake a producer waiting in wait_free
            self._want = 0
            self._room.set()
        return index, n

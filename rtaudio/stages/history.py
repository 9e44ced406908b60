"""Recent audio of a stage, addressed by absolute sample index, appended to in amortised O(1).

``np.concatenate`` of a 30 s buffer on every 5 ms quantum copies the whole buffer each time (about
0.1 ms per quantum at 16 kHz, holding the GIL): this buffer grows by doubling and drops its head only
now and then.
"""

from __future__ import annotations

import numpy as np


class History:
    """Recent float32 audio at one rate; ``get(a, b)`` is samples ``a..b`` (absolute indices).

    A slice from :meth:`get` is a view: use it before the next :meth:`append` or :meth:`keep_from`.
    """

    def __init__(self):
        self.data = np.zeros(1 << 16, np.float32)
        self.start = 0  # absolute index of data[0]
        self.n = 0

    @property
    def end(self) -> int:
        """Absolute index just past the last sample."""
        return self.start + self.n

    def append(self, index: int, x: np.ndarray) -> None:
        """Add ``x`` starting at absolute ``index``; a gap (dropped audio) restarts the history there."""
        if index != self.end:
            self.start, self.n = index, 0
        if self.n + len(x) > len(self.data):
            grown = np.zeros(max(2 * len(self.data), self.n + len(x)), np.float32)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : self.n + len(x)] = x
        self.n += len(x)

    def get(self, a: int, b: int) -> np.ndarray:
        """Samples ``a..b``, clipped to what is kept (a view)."""
        a, b = max(a, self.start), min(b, self.end)
        return self.data[a - self.start : max(a, b) - self.start]

    def keep_from(self, index: int) -> None:
        """Samples before ``index`` may go (moved out only once they are half the buffer, amortised)."""
        drop = index - self.start
        if drop > 0 and drop >= self.n // 2 and drop > 16384:
            drop = min(drop, self.n)
            self.data[: self.n - drop] = self.data[drop : self.n]
            self.start += drop
            self.n -= drop

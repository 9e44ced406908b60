"""The hand-over from the engine's reader thread to the window: a lock-free queue of timed events.

The engine calls :meth:`VizSink.emit` from its reader thread; the window's
main thread calls :meth:`VizSink.due` once per display frame.  The only shared
object is a :class:`collections.deque`, whose ``append`` and ``popleft`` are
atomic in CPython, so neither side ever waits for the other: a window that
stalls never holds up the analysis (and so never loses audio), and the
engine never holds up a frame.  If the window falls more than ``max_events``
behind, the oldest display events are dropped (and counted): display frames
are lost, audio is not.

Each event is queued with its *display time* (a source sample index): its
latest time field, minus ``spectrum_lead`` samples for spectrum frames, whose
time is the end of an FFT frame (with a lead of half a frame the picture
shows a frame when the middle of it is heard).  When the window follows a
playback clock it takes the events whose display time has been heard; live,
it takes everything that arrived.

Events are immutable; :class:`~rtaudio.events.SpectrumFrame` carries its own
copies of the band arrays (the stage's ``latest`` arrays are rewritten in place
by a kernel that releases the GIL, so they are never shared with the window).
"""

from __future__ import annotations

import heapq
from collections import deque

from rtaudio.events import Event, SpectrumFrame
from rtaudio.sinks import Sink
from rtaudio.viz.model import _display_time


class VizSink(Sink):
    """Queue the engine's events for the window.

    Parameters
    ----------
    spectrum_lead : int >= 0, samples
        Shown this much earlier than their ``t``: spectrum frames (usually ``n_fft // 2``).
    max_events : int > 0
        Most events waiting for display; beyond that the oldest are dropped.

    Attributes
    ----------
    closed : bool
        Set when the engine closed the sink (after its last events).
    """

    def __init__(self, spectrum_lead: int = 0, max_events: int = 50_000):
        self.spectrum_lead = int(spectrum_lead)
        self.max_events = int(max_events)
        self._queue: deque[tuple[int, Event]] = deque()
        self._heap: list[tuple[int, int, Event]] = []  # window thread only
        self._seq = 0
        self.queued = 0  # events ever queued (reader thread)
        self.dropped = 0  # events dropped because the window fell behind (reader thread)
        self.closed = False

    def open(self, info) -> None:
        self.info = info
        self.closed = False

    def emit(self, events: list[Event]) -> None:
        q = self._queue
        lead = self.spectrum_lead
        for e in events:
            t = _display_time(e)
            if lead and isinstance(e, SpectrumFrame):
                t -= lead
            q.append((t, e))
        self.queued += len(events)
        over = len(q) - self.max_events
        while over > 0:  # the window is far behind: drop the oldest display events
            try:
                q.popleft()
            except IndexError:
                break
            self.dropped += 1
            over -= 1

    def close(self) -> None:
        self.closed = True

    def due(self, now: int | float | None) -> list[Event]:
        """Take the events whose display time is ``<= now`` (all of them when ``now`` is None), in display order.

        Called from the window's thread only.  Events move from the shared queue into a heap
        that only this thread touches, so an event that arrived behind a later one (the
        engine orders by start time, the display by end time) is not held up by it.
        """
        q, heap = self._queue, self._heap
        while True:
            try:
                t, e = q.popleft()
            except IndexError:
                break
            heapq.heappush(heap, (t, self._seq, e))
            self._seq += 1
        out = []
        while heap and (now is None or heap[0][0] <= now):
            out.append(heapq.heappop(heap)[2])
        return out

    @property
    def pending(self) -> int:
        """Events waiting for their display time (an estimate while the engine is writing)."""
        return len(self._queue) + len(self._heap)

    @property
    def next_time(self) -> int | None:
        """Display time of the next waiting event that :meth:`due` has seen (None: none)."""
        return self._heap[0][0] if self._heap else None

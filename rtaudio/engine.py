"""The engine: a producer fills the ring, one reader thread drains it through a pipeline into the sinks.

::

    source.run ──> Ring ──> reader thread: Pipeline (resample per rate, stages, slow lane) ──> sinks

The producer is a pull source's pump thread or a device callback; the reader
is the only thread that touches the pipeline and the sinks (the pipeline's slow
lane, when placed, runs its stages in a thread of its own).  Faults become events;
a fatal error (corrupt file, NaN samples) stops the run after the partial
results have been flushed and written, then is raised from :meth:`Engine.run`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rtaudio.errors import ParameterError
from rtaudio.events import EndOfInput, Event, Overflow, SourceInfo, event_time
from rtaudio.pipeline import Pipeline
from rtaudio.ring import Ring
from rtaudio.sinks import Sink
from rtaudio.sources.base import Source
from rtaudio.stages.base import Stage

#: The pipeline's quantum (s) for live and real-time-paced input: the most its events wait for the rest of
#: their quantum.
LIVE_QUANTUM_S = 0.005


@dataclass
class RunResult:
    """How a run ended: ``samples`` read on the source clock, ``dropped`` to overflow, ``reason``."""

    samples: int
    dropped: int
    reason: str
    seconds: float


class Engine:
    """Run ``stages`` over ``source`` and hand their events to ``sinks``.

    Parameters
    ----------
    source : Source
    stages : sequence of Stage
        Run by a :class:`~rtaudio.pipeline.Pipeline` (in dependency order, each at its own rate).
    sinks : sequence of Sink
    ring_seconds : float > 0, s
        Ring capacity. Live input older than this is dropped (and reported) when the reader falls behind.
    max_block : int > 0, samples
        Most samples handed to the stages at once.
    on_nonfinite : {"error", "zero"}
        NaN/Inf samples stop the run with an error naming the first one, or are replaced by 0
        (the count is reported in the end event's reason).
    progress : callable(samples_done) or None
        Called from the reader thread after each block.
    placement, lane_delay_s
        Where the slow stages run, see :class:`~rtaudio.pipeline.Pipeline`. For live or real-time-paced
        input the pipeline is ``live``: spectrum, levels and the other fast stages never wait for a
        slow lane more than ``lane_delay_s`` behind; its late events follow when ready (in time order
        among themselves). Files: every placement gives the same output, in the same order.
    quantum : int > 0, samples, or None
        The pipeline's block grid (events depend on it, not on the ring's timing); None: ``max_block``
        for a file, :data:`LIVE_QUANTUM_S` for live or real-time-paced input (each quantum's events
        wait for its end).
    """

    def __init__(
        self,
        source: Source,
        stages: Sequence[Stage],
        sinks: Sequence[Sink] = (),
        *,
        ring_seconds: float = 4.0,
        max_block: int = 16384,
        on_nonfinite: str = "error",
        progress: Callable[[int], None] | None = None,
        placement: dict[str, str] | None = None,
        lane_delay_s: float = 2.0,
        quantum: int | None = None,
    ):
        if not ring_seconds > 0:
            raise ParameterError(f"ring_seconds={ring_seconds} must be > 0 seconds")
        if not (isinstance(max_block, int) and max_block > 0):
            raise ParameterError(f"max_block={max_block!r} must be a positive integer (samples)")
        paced = bool(source.live or getattr(source, "realtime", False))
        if quantum is None:
            quantum = max(1, round(LIVE_QUANTUM_S * source.rate)) if paced else max_block
        self.source = source
        self.pipeline = Pipeline(
            stages,
            source.rate,
            source.channels,
            quantum=quantum,
            placement=placement,
            lane_delay_s=lane_delay_s,
            live=paced,
            on_nonfinite=on_nonfinite,
            description=source.description,
        )
        self.stages = self.pipeline.stages
        self.sinks = list(sinks)
        self.ring = Ring(max(int(ring_seconds * source.rate), 1024), source.channels)
        self.max_block = max_block
        self.progress = progress
        self._stop = threading.Event()
        self._user_stopped = False
        self._reports: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._pending_reports: list[Event] = []
        self._error: BaseException | None = None
        self._producer: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        self._producer_done = threading.Event()
        self._done = threading.Event()
        self.result: RunResult | None = None

    @property
    def replaced_nonfinite(self) -> int:
        """NaN/Inf samples replaced by silence (``on_nonfinite='zero'``)."""
        return self.pipeline.replaced_nonfinite

    # -- control -----------------------------------------------------------------
    def start(self) -> None:
        """Open the sinks (errors raise here), then start the producer and the reader thread."""
        src = self.source
        self._info = SourceInfo(0, src.description, src.rate, src.channels, src.layout, src.duration_s, src.live)
        self._opened: list[Sink] = []
        try:
            for sink in self.sinks:
                sink.open(self._info)
                self._opened.append(sink)
        except BaseException:
            for sink in self._opened:
                sink.close()
            src.close()
            raise
        self._t0 = time.perf_counter()
        self._producer = threading.Thread(target=self._produce, name="rtaudio-source", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="rtaudio-engine", daemon=True)
        self._reader.start()
        self._producer.start()

    def stop(self) -> None:
        """Ask both threads to finish; what was read is flushed and written."""
        self._user_stopped = True
        self._stop.set()

    @property
    def running(self) -> bool:
        """True until the reader has flushed the stages and closed the sinks."""
        return not self._done.is_set()

    def join(self, timeout: float | None = None) -> RunResult | None:
        """Wait for the end (None if ``timeout`` s passed first); raise the fatal error of the run, if any."""
        # An Event, not Thread.join: a Ctrl-C inside Thread.join can leave the thread looking finished.
        if not self._done.wait(timeout):
            return None
        self._producer.join(5.0)
        if self._error is not None:
            raise self._error
        return self.result

    def run(self) -> RunResult:
        """Start, wait for the end; Ctrl-C stops cleanly with the partial output written."""
        self.start()
        try:
            while not self._done.wait(0.1):
                pass
        except KeyboardInterrupt:
            self.stop()
        return self.join()

    # -- threads -----------------------------------------------------------------
    def _produce(self) -> None:
        try:
            self.source.run(self.ring, self._stop.is_set, self._reports.put)
        except BaseException as exc:  # reported by the reader after flushing
            self._error = exc
            self._stop.set()
        finally:
            self.ring.close()
            self._producer_done.set()

    def _dispatch(self, events: list[Event]) -> None:
        if events:
            for sink in self.sinks:
                sink.emit(events)

    def _drain_reports(self, upto: int | None = None) -> None:
        """Dispatch the source's reports (faults, xruns) up to source index ``upto`` (None: all).

        A report waits until the audio before it has gone through the stages, so the
        output stays in time order.
        """
        while True:
            try:
                self._pending_reports.append(self._reports.get_nowait())
            except queue.Empty:
                break
        due = [e for e in self._pending_reports if upto is None or event_time(e) <= upto]
        if due:
            self._pending_reports = [e for e in self._pending_reports if not (upto is None or event_time(e) <= upto)]
            self._dispatch(due)

    def _read_loop(self) -> None:
        reason = "end"
        try:
            self._dispatch([self._info])
            reason = self._pump()
        except BaseException as exc:
            if self._error is None:
                self._error = exc
            reason = "error"
        finally:
            self._stop.set()
            try:
                self._finish(reason, self._opened)
            except BaseException as exc:
                if self._error is None:
                    self._error = exc
            finally:
                self._done.set()

    def _pump(self) -> str:
        ring, pipeline = self.ring, self.pipeline
        dropped = 0
        while True:
            index, block = ring.read(min(self.max_block, pipeline.room))
            if ring.dropped != dropped:  # in time order with the events, like the source's reports
                self._reports.put(Overflow(index, ring.dropped - dropped))
                dropped = ring.dropped
            if len(block):
                self._dispatch(pipeline.process(index, block))
                self._drain_reports(pipeline.released_to)
                if self.progress is not None:
                    self.progress(index + len(block))
                continue
            # nothing to read: the source may be stalled (a reconnect backoff), so its reports go out now,
            # ahead of the events of the part quantum the pipeline holds (at most one quantum early)
            self._drain_reports(ring.position)
            if self._producer_done.is_set() and ring.available == 0:
                return "error" if self._error is not None else ("stopped" if self._user_stopped else "end")
            if self._user_stopped and ring.available == 0:  # don't wait for a producer blocked on I/O
                return "stopped"
            time.sleep(0.0005)

    def _finish(self, reason: str, sinks: list[Sink]) -> None:
        end = self.ring.position
        events: list[Event] = []
        try:  # a stage failing at the end still leaves the sinks the end event and closed
            events = self.pipeline.finish()
        except BaseException as exc:
            if self._error is None:
                self._error = exc
            reason = "error"
        finally:
            try:
                self.pipeline.close()
            except BaseException as exc:
                if self._error is None:
                    self._error = exc
        self._drain_reports()
        events.append(EndOfInput(end, reason, self.ring.dropped))
        self.result = RunResult(end, self.ring.dropped, reason, time.perf_counter() - self._t0)
        for sink in sinks:
            sink.emit(events)
        for sink in sinks:
            sink.close()
        # closing a decoder under a producer still inside it is unsafe: give it a moment, else leave it
        if self._producer_done.wait(2.0):
            self.source.close()

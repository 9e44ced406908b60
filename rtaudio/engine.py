"""The engine: a producer fills the ring, one reader thread drains it through the stages into the sinks.

::

    source.run ──> Ring ──> reader thread: mono mix / resample per rate ──> stages ──> sinks

The producer is a pull source's pump thread or a device callback; the reader
is the only thread that touches stages and sinks.  Faults become events;
a fatal error (corrupt file, NaN samples) stops the run after the partial
results have been flushed and written, then is raised from :meth:`Engine.run`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import EndOfInput, Event, Overflow, SourceInfo, event_time, retime
from rtaudio.ring import Ring
from rtaudio.sinks import Sink
from rtaudio.sources.base import Source, check_finite, first_nonfinite
from rtaudio.stages.base import Frame, Stage


@dataclass
class RunResult:
    """How a run ended: ``samples`` read on the source clock, ``dropped`` to overflow, ``reason``."""

    samples: int
    dropped: int
    reason: str
    seconds: float


class _RateGroup:
    """Stages sharing one sample rate, with the streaming resampler that feeds them (None at source rate)."""

    def __init__(self, rate: int, source_rate: int, channels: int, stages: list[Stage]):
        self.rate = rate
        self.stages = stages
        self.index = 0
        self.resampler = None
        if rate != source_rate:
            import soxr

            self.resampler = soxr.ResampleStream(source_rate, rate, channels, dtype="float32", quality="HQ")

    def frame(self, index: int, block: np.ndarray, last: bool = False) -> Frame:
        if self.resampler is None:
            return Frame(index, block, self.rate)
        out = self.resampler.resample_chunk(block, last=last)
        frame = Frame(self.index, out.reshape(-1, block.shape[1]), self.rate)
        self.index += len(out)
        return frame


class Engine:
    """Run ``stages`` over ``source`` and hand their events to ``sinks``.

    Parameters
    ----------
    source : Source
    stages : sequence of Stage
        Run in order on every block; each sees its own rate (``stage.rate``, None: the source rate).
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
    ):
        if not ring_seconds > 0:
            raise ParameterError(f"ring_seconds={ring_seconds} must be > 0 seconds")
        if on_nonfinite not in ("error", "zero"):
            raise ParameterError(f"on_nonfinite={on_nonfinite!r} must be 'error' or 'zero'")
        self.source = source
        self.stages = list(stages)
        self.sinks = list(sinks)
        self.ring = Ring(max(int(ring_seconds * source.rate), 1024), source.channels)
        self.max_block = max_block
        self.on_nonfinite = on_nonfinite
        self.progress = progress
        groups: dict[int, list[Stage]] = {}
        for stage in self.stages:
            groups.setdefault(stage.rate or source.rate, []).append(stage)
        self._groups = [_RateGroup(r, source.rate, source.channels, s) for r, s in groups.items()]
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
        self.replaced_nonfinite = 0

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
        ring = self.ring
        dropped = 0
        while True:
            index, block = ring.read(self.max_block)
            if ring.dropped != dropped:
                self._dispatch([Overflow(index, ring.dropped - dropped)])
                dropped = ring.dropped
            if len(block):
                self._process(index, block)
                self._drain_reports(index + len(block))
                if self.progress is not None:
                    self.progress(index + len(block))
                continue
            self._drain_reports(ring.position)
            if self._producer_done.is_set() and ring.available == 0:
                self._drain_reports()
                return "error" if self._error is not None else ("stopped" if self._user_stopped else "end")
            if self._user_stopped and ring.available == 0:  # don't wait for a producer blocked on I/O
                return "stopped"
            time.sleep(0.0005)

    def _process(self, index: int, block: np.ndarray) -> None:
        if not np.isfinite(block).all():
            if self.on_nonfinite == "error":  # the audio before the first bad sample is analysed first
                good = first_nonfinite(block)
                if good:
                    self._process(index, block[:good])
                check_finite(
                    block[good:],
                    index + good,
                    self.source.rate,
                    repr(self.source.description),
                    " (replace them with silence: --nonfinite zero, or on_nonfinite='zero' in Python)",
                )
            block = self._nonfinite(index, block)
        frames = {group.rate: group.frame(index, block) for group in self._groups}
        self._dispatch(self._run_stages(lambda stage, frame: stage.process(frame), frames))

    def _run_stages(self, call, frames: dict[int, Frame]) -> list[Event]:
        """``call(stage, frame)`` for each stage in order; a stage that ``listens`` first observes
        the matching events the stages before it produced for the same block. Returns all events, time-ordered."""
        events: list[Event] = []
        for stage in self.stages:
            rate = stage.rate or self.source.rate
            if stage.listens and events:
                heard = [e for e in events if isinstance(e, stage.listens)]
                if heard:
                    stage.observe(heard)
            if rate not in frames:
                continue
            events.extend(retime(e, self.source.rate, rate) for e in call(stage, frames[rate]))
        if len(self.stages) > 1:  # interleave the stages' events in time, whatever the block size
            events.sort(key=event_time)
        return events

    def _nonfinite(self, index: int, block: np.ndarray) -> np.ndarray:
        """``block`` with NaN/Inf replaced by silence (``on_nonfinite='zero'``), counted."""
        bad = ~np.isfinite(block)
        self.replaced_nonfinite += int(bad.sum())
        return np.where(bad, np.float32(0), block)

    def _finish(self, reason: str, sinks: list[Sink]) -> None:
        self._drain_reports()
        end = self.ring.position
        empty = np.zeros((0, self.source.channels), np.float32)
        tails = {g.rate: g.frame(end, empty, last=True) for g in self._groups if g.resampler is not None}
        tails = {rate: frame for rate, frame in tails.items() if len(frame.samples)}
        events = self._run_stages(lambda stage, frame: stage.process(frame), tails) if tails else []
        # flush every stage; the frame argument is unused, a placeholder keeps one code path
        events += self._run_stages(lambda stage, frame: stage.flush(), {g.rate: None for g in self._groups})
        events.append(EndOfInput(end, reason, self.ring.dropped))
        self.result = RunResult(end, self.ring.dropped, reason, time.perf_counter() - self._t0)
        for sink in sinks:
            sink.emit(events)
        for sink in sinks:
            sink.close()
        # closing a decoder under a producer still inside it is unsafe: give it a moment, else leave it
        if self._producer_done.wait(2.0):
            self.source.close()

"""The pipeline: stages in dependency order over a stream of blocks, one code path for live, file and job.

::

    process(index, block) ──> cut into quanta ──> resample per stage rate ──> stages ──> merge ──> events
                                                                  └─ slow lane (thread) ─┘

:class:`Pipeline` is synchronous: the caller (the threaded :class:`~rtaudio.engine.Engine`, the Python
API, a job) hands it blocks and gets events back, in an order that depends only on the audio:

* The stream is cut at multiples of ``quantum`` samples (source clock) and each quantum goes through
  the stages whole, so the blocks the stages see, and what a listener hears with each, do not depend
  on how the caller split the stream.
* Stages are run in dependency order (a listener after the stages producing what it listens to), see
  :func:`order_stages`; cross-stage constraints are checked here, for the CLI and the API alike.
* A stage whose class sets ``slow = True`` (stt, lid), and any stage listening to one, may run in a
  *lane*: a thread fed with the same quanta and with what it hears from the stages before it, so that
  its decoding never holds up spectrum and levels. Its events are merged back ``lane_delay_s`` behind
  the quantum that produced them, whether it runs in the lane or inline: the output is the same either
  way. When the lane is further behind than that:

  - ``live=False`` (files, the API, jobs: waiting costs nothing): the merge waits for it; the output
    never reorders and is the same for every placement.
  - ``live=True`` (live and real-time-paced input): the merge never waits. The fast stages' events go
    out at once; the slow stages' events of a late quantum go out as soon as the lane hands them
    back, after fast events with later times, with their own times, in time order among themselves
    (and before the slow events of later quanta). While the lane keeps within ``lane_delay_s`` the
    output is the same as with ``live=False``; sorted by time (stably) it always has the same events.
* The events of one quantum are ordered by time (stable, stage order breaks ties).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import Event, event_time, retime
from rtaudio.sources.base import check_finite, first_nonfinite
from rtaudio.stages.base import Frame, Stage, check_placement

#: With ``live=True``, how much audio (s) the slow lane may have queued before feeding it waits (back
#: pressure: a lane slower than real time for longer than this holds up the fast stages).
LIVE_LANE_S = 30.0


def _types(types) -> str:
    return ", ".join(sorted(t.TYPE for t in types))


def order_stages(stages: Sequence[Stage]) -> list[Stage]:
    """``stages`` with each listener after every stage emitting what it listens to.

    Each place goes to the first stage in the given order whose producers have all been placed, so
    an order that is already valid is kept. A stage's ``emits`` names the event types it produces, its ``listens`` those it observes and its
    :meth:`~rtaudio.stages.base.Stage.requires` those it cannot work without. Raises
    :class:`ParameterError` naming the stages when no order satisfies them (a cycle), or when a stage
    requires events no stage produces.
    """
    stages = list(stages)
    producers = {
        i: [j for j, o in enumerate(stages) if j != i and set(o.emits) & set(s.listens)] for i, s in enumerate(stages)
    }
    for s in stages:
        need = set(s.requires())
        missing = {t for t in need if not any(o is not s and t in o.emits for o in stages)}
        if missing:
            raise ParameterError(
                f"stage {s.name!r} needs {_types(missing)} events, which no stage in the pipeline "
                f"({', '.join(o.name for o in stages) or 'none'}) produces; add the stage that does (vad)"
                f"{s.requires_hint()}"
            )
    done: list[int] = []
    left = list(range(len(stages)))
    while left:
        ready = next((i for i in left if all(j in done for j in producers[i])), None)
        if ready is None:
            names = [stages[i].name for i in left]
            raise ParameterError(
                f"stages {', '.join(names)} listen to each other's events in a cycle; no order runs each "
                "after the stages it listens to: drop one of them"
            )
        done.append(ready)
        left.remove(ready)
    return [stages[i] for i in done]


def check_constraints(stages: Sequence[Stage]) -> None:
    """Cross-stage constraints, for every caller (CLI and API): :class:`ParameterError` naming the values."""
    by_name = {s.name: s for s in stages}
    vad, stt = by_name.get("vad"), by_name.get("stt")
    if vad is not None and stt is not None and stt.params.gate:
        check_lag(vad.params, stt.params)


def check_lag(vad_params, stt_params) -> None:
    """The recogniser must lag the input by more than the VAD needs to decide a segment's end."""
    need = vad_params.end_delay_s - stt_params.post_roll_s
    if stt_params.lag_s < need:
        raise ParameterError(
            f"stt.lag_s={stt_params.lag_s} must be >= {need:.3f} s (the VAD reports an end up to "
            f"{vad_params.end_delay_s:.3f} s late with vad.min_silence_s={vad_params.min_silence_s}, less "
            f"stt.post_roll_s={stt_params.post_roll_s}); raise stt.lag_s"
        )


class _RateGroup:
    """The streaming resampler from the source rate to one stage rate (None at the source rate)."""

    def __init__(self, rate: int, source_rate: int, channels: int):
        self.rate = rate
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


_STOP = object()


def _process(stage: Stage, frame: Frame) -> list[Event]:
    return stage.process(frame)


def _flush(stage: Stage, frame: None) -> list[Event]:
    return stage.flush()


class _Lane:
    """The slow stages in a thread of their own: steps go in, each step's events per stage come out, in order."""

    def __init__(self, run_step, depth: int):
        self._run = run_step
        self._in: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="rtaudio-lane", daemon=True)
        self._thread.start()

    def put(self, step) -> None:
        """Queue a step; waits while the lane is ``depth`` steps behind (back pressure, never unbounded)."""
        while True:
            if self.error is not None:
                raise self.error
            try:
                self._in.put(step, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, wait: bool):
        """The next step's result, or None when none is ready (``wait``: block until one is)."""
        while True:
            try:
                return self._out.get(timeout=0.1) if wait else self._out.get_nowait()
            except queue.Empty:
                if self.error is not None:
                    raise self.error from None
                if not wait:
                    return None

    def _loop(self) -> None:
        while True:
            step = self._in.get()
            if step is _STOP:
                return
            try:
                self._out.put(self._run(*step))
            except BaseException as exc:  # raised in the caller's thread by put() and get()
                self.error = exc
                return

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                self._in.put(_STOP, timeout=5.0)
            except queue.Full:
                return
            self._thread.join(5.0)


class Pipeline:
    """Run ``stages`` over a stream of blocks at ``rate`` Hz with ``channels`` channels.

    Parameters
    ----------
    stages : sequence of Stage
        Reordered so that listeners follow the stages they listen to (:func:`order_stages`).
    rate : int > 0, Hz
        Source rate; event times are sample indices on this clock.
    channels : int > 0
    quantum : int > 0, samples
        The stream is processed in blocks cut at multiples of this (source clock): the events and
        their order depend on it, not on how the caller splits the stream. Small for live input
        (each quantum's events wait for its end), large for files (fewer calls).
    placement : {stage name: "inline" | "thread" | "process"}
        Where the slow stages run (:data:`PLACEMENTS`); default: each stage's ``placement`` attribute
        (set by :func:`rtaudio.stages.build_stages`), else "inline". Same events either way.
        ``"process"`` moves the recogniser into a child process when the stage is built
        (:func:`rtaudio.stages.build_stages`); here it means the lane.
    lane_delay_s : float > 0, s
        How far behind the quantum that produced them the slow stages' events are merged; the lane
        may fall this far behind before the merge waits for it (or, ``live``, lets them come late).
    live : bool
        True: the merge never waits for the lane (late slow events come when they are ready, see
        above) and the lane may queue up to :data:`LIVE_LANE_S` of audio before feeding it waits;
        False: the output is the same for every placement.
    on_nonfinite : {"error", "zero"}
        NaN/Inf samples raise an error naming the first one (after the audio before it is analysed),
        or are replaced by 0 and counted in :attr:`replaced_nonfinite`.
    description : str
        The input's name, for error messages.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        rate: int,
        channels: int,
        *,
        quantum: int = 16384,
        placement: dict[str, str] | None = None,
        lane_delay_s: float = 2.0,
        live: bool = False,
        on_nonfinite: str = "error",
        description: str = "the input",
    ):
        if not (isinstance(quantum, int) and quantum > 0):
            raise ParameterError(f"quantum={quantum!r} must be a positive integer (samples)")
        if not lane_delay_s > 0:
            raise ParameterError(f"lane_delay_s={lane_delay_s} must be > 0 seconds")
        if on_nonfinite not in ("error", "zero"):
            raise ParameterError(f"on_nonfinite={on_nonfinite!r} must be 'error' or 'zero'")
        self.stages = order_stages(stages)
        check_constraints(self.stages)
        self.rate, self.channels, self.quantum = rate, channels, quantum
        self.on_nonfinite, self.description = on_nonfinite, description
        given = dict(placement or {})
        names = [s.name for s in self.stages]
        for name, where in given.items():
            check_placement(name, where)
            if name not in names:
                raise ParameterError(f"placement for {name!r}: no such stage in the pipeline ({', '.join(names)})")
        where = [given.get(s.name, getattr(s, "placement", "inline")) for s in self.stages]
        # slow: its class says so, or it listens to a slow stage; its events are merged lane_delay_s late
        slow: list[bool] = []
        for i, s in enumerate(self.stages):
            hears_slow = any(slow[j] and set(o.emits) & set(s.listens) for j, o in enumerate(self.stages[:i]))
            slow.append(bool(getattr(s, "slow", False)) or hears_slow)
        self._slow = slow
        for s, w, is_slow in zip(self.stages, where, slow, strict=True):
            if w != "inline" and not is_slow:
                raise ParameterError(
                    f"placement {s.name}={w!r}: only slow stages run in a lane "
                    f"({', '.join(o.name for o, f in zip(self.stages, slow, strict=True) if f) or 'none here'})"
                )
        laned = [w != "inline" for w in where]
        for i, s in enumerate(self.stages):  # a listener of a laned stage runs in the lane too
            if any(laned[j] and set(o.emits) & set(s.listens) for j, o in enumerate(self.stages[:i])):
                laned[i] = True
        self._laned = laned
        self._inline = [not on for on in laned]
        self._any_slow = any(slow)
        self._lane_rates = {s.rate or rate for s, on in zip(self.stages, laned, strict=True) if on}
        self._delay = max(1, math.ceil(lane_delay_s * rate / quantum)) if any(slow) else 0
        groups = {s.rate or rate for s in self.stages}
        self._groups = {r: _RateGroup(r, rate, channels) for r in sorted(groups)}
        self._buf = np.zeros((quantum, channels), np.float32)
        self._fill = 0  # samples in _buf
        self._pos: int | None = None  # source index just past the audio taken so far
        self._cell = 0  # steps taken
        self._fast: dict[int, list[Event]] = {}  # step -> events of the fast stages
        self._slow_out: dict[int, list[Event]] = {}  # step -> events of the slow stages
        self._released = 0  # steps released
        self._merged = 0  # steps whose slow events are released (== released - delay, unless live and late)
        self.live = bool(live)
        self._ends: dict[int, int] = {}  # step -> source index just past its audio
        #: Source index through which events have been returned.
        self.released_to = 0
        self.replaced_nonfinite = 0
        self._finished = False
        depth = 2 * self._delay + 2
        if self.live:
            depth = max(depth, math.ceil(LIVE_LANE_S * rate / quantum))
        self._lane = _Lane(self._run_lane, depth) if any(laned) else None
        self._lane_sent = 0
        self._lane_got = 0

    # -- feeding ----------------------------------------------------------------------------
    @property
    def room(self) -> int:
        """Samples that complete the current quantum (read this many to avoid copies)."""
        return self.quantum - self._fill if self._fill else self.quantum - (self._pos or 0) % self.quantum

    def process(self, index: int, block: np.ndarray) -> list[Event]:
        """Take ``block`` ((n, channels) float32) starting at source sample ``index``; return the events now due."""
        if self._finished:
            raise ParameterError("process() after finish(): build a new Pipeline for a new stream")
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ParameterError(f"block of shape {block.shape} must be (n, {self.channels})")
        if len(block) and not np.isfinite(block).all():
            if self.on_nonfinite == "error":  # the audio before the first bad sample is analysed first
                good = first_nonfinite(block)
                if good:
                    self._take(index, block[:good])
                check_finite(
                    block[good:],
                    index + good,
                    self.rate,
                    repr(self.description),
                    " (replace them with silence: --nonfinite zero, or on_nonfinite='zero' in Python)",
                )
            bad = ~np.isfinite(block)
            self.replaced_nonfinite += int(bad.sum())
            block = np.where(bad, np.float32(0), block)
        self._take(index, block)
        return self._release(wait=False)

    def _take(self, index: int, block: np.ndarray) -> None:
        if self._pos is not None and index != self._pos and self._fill:  # a gap: what is buffered goes first
            self._step(self._pos - self._fill, self._buf[: self._fill].copy())
            self._fill = 0
        self._pos = index
        pos, n = 0, len(block)
        while pos < n:
            at = index + pos
            edge = (at // self.quantum + 1) * self.quantum  # the next quantum boundary
            take = min(n - pos, edge - at, self.quantum - self._fill)
            if self._fill == 0 and at + take == edge:
                part = block[pos : pos + take]
                self._step(at, part if part.flags.c_contiguous else np.ascontiguousarray(part))
            else:
                self._buf[self._fill : self._fill + take] = block[pos : pos + take]
                self._fill += take
                if at + take == edge:
                    self._step(edge - self._fill, self._buf[: self._fill].copy())
                    self._fill = 0
            pos += take
        self._pos = index + n

    # -- one step ---------------------------------------------------------------------------
    def _frames(self, index: int, block: np.ndarray, last: bool = False) -> dict[int, Frame]:
        return {r: g.frame(index, block, last) for r, g in self._groups.items()}

    def _run(self, which, call, frames, given: list[list[Event]] | None = None) -> list[list[Event]]:
        """``call(stage, frames[stage rate])`` for the stages with ``which[i]`` (others: ``given[i]``, or []).

        Each stage first observes what the stages before it produced in this step; a stage whose rate
        has no frame (no resampler tail) only observes. Returns the events per stage, on the source clock.
        """
        outs: list[list[Event]] = []
        for i, stage in enumerate(self.stages):
            if not which[i]:
                outs.append(given[i] if given is not None else [])
                continue
            if stage.listens:
                heard = [e for out in outs for e in out if isinstance(e, stage.listens)]
                if heard:
                    stage.observe(heard)
            rate = stage.rate or self.rate
            if rate not in frames:
                outs.append([])
                continue
            outs.append([retime(e, self.rate, rate) for e in call(stage, frames[rate])])
        return outs

    def _step(self, index: int, block: np.ndarray) -> None:
        frames = self._frames(index, block)
        self._do(self._cell, _process, frames)
        self._ends[self._cell] = index + len(block)
        self._cell += 1

    def _do(self, cell: int, call, frames) -> None:
        outs = self._run(self._inline, call, frames)
        if not self._any_slow:
            self._fast[cell] = [e for out in outs for e in out]
            self._slow_out[cell] = []
            return
        self._fast[cell] = [e for out, slow in zip(outs, self._slow, strict=True) if not slow for e in out]
        if self._lane is not None:
            rates = self._lane_rates
            self._lane.put((call, {r: f for r, f in frames.items() if r in rates}, outs))
            self._lane_sent += 1
            self._slow_out.setdefault(cell, None)
        else:
            self._slow_out[cell] = [e for out, slow in zip(outs, self._slow, strict=True) if slow for e in out]

    def _run_lane(self, call, frames, outs) -> list[Event]:
        done = self._run(self._laned, call, frames, outs)
        return [e for i, out in enumerate(done) if self._slow[i] for e in out]

    def _collect(self, wait_for: int | None) -> None:
        """Take the lane's finished steps (all up to step ``wait_for``, waiting for them)."""
        if self._lane is None:
            return
        while self._lane_got < self._lane_sent:
            must = wait_for is not None and self._lane_got <= wait_for
            got = self._lane.get(wait=must)
            if got is None:
                return
            self._slow_out[self._lane_got] = got
            self._lane_got += 1

    def _late(self, upto: int) -> list[Event]:
        """The slow events of the late steps before ``upto`` that the lane has handed back, step by step."""
        out: list[Event] = []
        while self._merged < upto and self._slow_out.get(self._merged) is not None:
            out += sorted(self._slow_out.pop(self._merged), key=event_time)
            self._merged += 1
        return out

    def _release(self, wait: bool) -> list[Event]:
        """Events of the steps whose slow part (``delay`` steps earlier) is in; ``wait``: wait for it.

        Not ``live``: a step waits for its slow part. ``live``: it goes without it, and the slow part
        follows when it is in (:meth:`_late`).
        """
        out: list[Event] = []
        if self._lane is not None and self._merged < self._released - self._delay:
            self._collect(None)
            out += self._late(self._released - self._delay)
        while self._released < self._cell:
            j = self._released
            k = j - self._delay
            slow: list[Event] = []
            if k >= 0:
                self._collect(k if wait else None)
                out += self._late(k)
                if self._merged == k and self._slow_out.get(k) is not None:
                    slow = self._slow_out.pop(k)
                    self._merged += 1
                elif not self.live:
                    break
            # sorted() is stable: at equal times, stage order, then fast before slow
            out += sorted(self._fast.pop(j) + slow, key=event_time)
            self.released_to = self._ends.pop(j)
            self._released += 1
        return out

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> list[Event]:
        """End of the stream: the buffered audio, the resamplers' tails, every stage's flush; all events left."""
        if self._finished:
            return []
        self._finished = True
        if self._fill:
            self._step(self._pos - self._fill, self._buf[: self._fill].copy())
            self._fill = 0
        regular = self._cell
        out = self._release(wait=True)
        end = self._pos or 0
        empty = np.zeros((0, self.channels), np.float32)
        tails = {r: g.frame(end, empty, last=True) for r, g in self._groups.items() if g.resampler is not None}
        tails = {r: f for r, f in tails.items() if len(f.samples)}
        if tails:
            self._do(self._cell, _process, tails)
            self._cell += 1
        self._do(self._cell, _flush, dict.fromkeys(self._groups))
        self._cell += 1
        self._collect(self._lane_sent - 1)
        for k in range(self._merged, regular):  # the slow stages' last regular steps (and late ones)
            out += sorted(self._slow_out.pop(k), key=event_time)
        self._merged = regular
        for cell in range(regular, self._cell):  # tails, flush: both parts at once
            out += sorted(self._fast.pop(cell) + self._slow_out.pop(cell), key=event_time)
        self._released = self._cell
        self.released_to = end
        return out

    def close(self) -> None:
        """Stop the lane and close every stage (their ONNX sessions, child processes); idempotent."""
        if self._lane is not None:
            self._lane.stop()
            self._lane = None
        errors = []
        for stage in self.stages:
            try:
                stage.close()
            except Exception as exc:  # noqa: BLE001 - every stage gets closed; the first error is raised
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_blocks(pipeline: Pipeline, blocks: Iterable[np.ndarray]) -> list[Event]:
    """All events of consecutive ``blocks`` ((n, channels) float32 each, from sample 0) through ``pipeline``;
    closes it."""
    events: list[Event] = []
    start = 0
    try:
        for block in blocks:
            events += pipeline.process(start, block)
            start += len(block)
        events += pipeline.finish()
    finally:
        pipeline.close()
    return events


def run_array(pipeline: Pipeline, samples: np.ndarray, block: int = 16384) -> list[Event]:
    """All events of ``samples`` ((n, channels) float32, or anything sliced into such) through ``pipeline``,
    fed in blocks; closes it."""
    return run_blocks(pipeline, (samples[i : i + block] for i in range(0, len(samples), block)))

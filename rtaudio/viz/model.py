"""What the window shows, as plain numbers: the display model, updated by events and by elapsed time.

:class:`DisplayModel` lives in the window's (main) thread only.  Events are
applied with :meth:`DisplayModel.apply` when their time comes (see
:mod:`rtaudio.viz.sink`), and :meth:`DisplayModel.advance` moves the
animations on by ``dt`` seconds of display time.  Every animation is a closed
form of the elapsed time, so the picture after one second is the same at 30,
60 or 144 frames per second:

* a bar falls towards its new level as ``target + (shown - target) * exp(-dt / release_s)``
  and jumps up at once (the spectrum stage already smooths the attack);
* a bar's peak marker holds for ``peak_hold_s``, then falls like a dropped ball,
  ``peak0 - gravity * (age - hold)**2 / 2`` dB, until it rests on its bar;
* meters rise at once and fall linearly at ``meter_fall_db_per_s``;
* the beat pulse decays as ``exp(-age / beat_decay_s)``.

Nothing here imports pygame; :mod:`rtaudio.viz.render` draws the model.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import (
    EndOfInput,
    Event,
    KeyMoment,
    Language,
    Levels,
    Overflow,
    PartialTranscript,
    SourceFault,
    SourceInfo,
    SourceRecovered,
    SpectrumBands,
    SpectrumFrame,
    SpeechEnd,
    SpeechSegment,
    SpeechStart,
    Tempo,
    Transcript,
    Xrun,
)

#: KeyMoment kinds that make the beat pulse flash.
BEAT_KINDS = ("beat", "downbeat")


@dataclass(frozen=True)
class ViewParams:
    """How the window draws.

    Attributes
    ----------
    floor_db, top_db : float, dB re a full-scale sine
        Range of the spectrum bars and the waterfall colours. Default -90 .. 0.
    release_s : float > 0, seconds
        Time constant of a bar falling to a lower level. Default 0.12.
    peak_hold_s : float >= 0, seconds
        How long a bar's peak marker stays before it falls. Default 0.8.
    peak_gravity_db_s2 : float > 0, dB/s^2
        Acceleration of a falling peak marker. Default 120.
    meter_floor_db : float < 0, dB
        Bottom of the peak/RMS/loudness meters. Default -60.
    meter_fall_db_per_s : float > 0, dB/s
        Fall rate of the meters (they rise at once). Default 24.
    meter_hold_s : float >= 0, seconds
        Hold of the peak meter's marker. Default 1.5.
    waterfall_px_per_s : float > 0, pixels per second of audio
        Scroll speed of the waterfall and the time strip. Default 100.
    beat_decay_s : float > 0, seconds
        Decay time constant of the beat pulse. Default 0.15.
    caption_lines : int >= 1
        Final caption lines kept on screen. Default 2.
    colormap : {"magma", "viridis"}
        Waterfall and bar colours. Default "magma".
    """

    floor_db: float = -90.0
    top_db: float = 0.0
    release_s: float = 0.12
    peak_hold_s: float = 0.8
    peak_gravity_db_s2: float = 120.0
    meter_floor_db: float = -60.0
    meter_fall_db_per_s: float = 24.0
    meter_hold_s: float = 1.5
    waterfall_px_per_s: float = 100.0
    beat_decay_s: float = 0.15
    caption_lines: int = 2
    colormap: str = "magma"

    def __post_init__(self):
        if not (math.isfinite(self.floor_db) and math.isfinite(self.top_db) and self.floor_db < self.top_db):
            raise ParameterError(f"floor_db={self.floor_db} must be a finite level below top_db={self.top_db} dB")
        for name in ("release_s", "peak_gravity_db_s2", "meter_fall_db_per_s", "waterfall_px_per_s", "beat_decay_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise ParameterError(f"{name}={value!r} must be a finite number > 0")
        for name in ("peak_hold_s", "meter_hold_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < math.inf):
                raise ParameterError(f"{name}={value!r} must be a finite time >= 0 seconds")
        if not (isinstance(self.meter_floor_db, (int, float)) and -math.inf < self.meter_floor_db < 0):
            raise ParameterError(f"meter_floor_db={self.meter_floor_db!r} must be a finite level < 0 dB")
        if isinstance(self.caption_lines, bool) or not isinstance(self.caption_lines, int) or self.caption_lines < 1:
            raise ParameterError(f"caption_lines={self.caption_lines!r} must be an integer >= 1")
        from rtaudio.viz.colormap import COLORMAPS

        if self.colormap not in COLORMAPS:
            raise ParameterError(f"colormap={self.colormap!r} must be one of {', '.join(COLORMAPS)}")


class Meter:
    """One level meter (dB): rises at once, falls linearly; a marker holds the maximum for ``hold_s``."""

    def __init__(self, floor_db: float, fall_db_per_s: float, hold_s: float):
        self.floor_db, self.fall, self.hold_s = floor_db, fall_db_per_s, hold_s
        self.target = self.shown = self.mark = -math.inf
        self.mark_age = 0.0
        self.value = -math.inf  # the last reported value, for the number next to the meter

    def set(self, value_db: float) -> None:
        self.value = value_db
        self.target = value_db if math.isfinite(value_db) else -math.inf
        if self.target > self.shown:
            self.shown = self.target
        if self.shown >= self.mark:
            self.mark, self.mark_age = self.shown, 0.0

    def advance(self, dt: float) -> None:
        if self.shown > self.target:
            self.shown = max(self.target, self.shown - self.fall * dt)
        over = self.mark_age + dt - max(self.mark_age, self.hold_s)
        self.mark_age += dt
        if over > 0:
            self.mark -= self.fall * over
        if self.mark < self.shown:
            self.mark = self.shown


class DisplayModel:
    """The state the window draws (main thread only).

    Parameters
    ----------
    view : ViewParams, optional

    Attributes
    ----------
    rate : int, Hz
        Source sample rate (from :class:`~rtaudio.events.SourceInfo`; 48000 until then).
    centers_hz : ndarray (n_bands,) float64, Hz
        Band centres (empty before :class:`~rtaudio.events.SpectrumBands`).
    scale : str
        ``"octave"`` or ``"mel"``.
    shown, peaks : ndarray (n_bands,) float64, dB
        Bar heights and peak markers as drawn now.
    now : int, samples
        Source time the picture shows (the latest event applied, or the playback clock).
    frozen : bool
        While True the spectrum, waterfall and meters keep their picture; speech, captions,
        language and beats still update.
    """

    def __init__(self, view: ViewParams | None = None):
        self.view = view or ViewParams()
        v = self.view
        self.rate = 48000
        self.source = ""
        self.duration_s: float | None = None
        self.live = False
        self.centers_hz = np.zeros(0)
        self.scale = "octave"
        self._set_bands(0)
        self.now = 0
        self.clock_s = 0.0  # display time, seconds (sum of dt)
        self.frozen = False
        self._held_spectrum: SpectrumFrame | None = None  # the latest ones that came while frozen
        self._held_levels: Levels | None = None
        self.meters = {
            name: Meter(v.meter_floor_db, v.meter_fall_db_per_s, v.meter_hold_s if name == "peak" else 0.0)
            for name in ("peak", "rms", "momentary", "short_term")
        }
        self.speaking = False
        self.speech_confidence = 0.0
        self.speech_spans: deque[list] = deque(maxlen=64)  # [start, end or None] in samples
        self.captions: deque[str] = deque(maxlen=v.caption_lines)
        self.partial = ""
        self.language: Language | None = None
        self.tempo: Tempo | None = None
        self.beat_age = math.inf  # seconds since the last beat
        self.beat_strength = 0.0  # 1.0 downbeat, 0.7 beat (times the score)
        self.moments: deque[KeyMoment] = deque(maxlen=512)
        self.dropped_samples = 0
        self.xruns = 0
        self.status = ""
        self.ended = False
        self.events_applied = 0
        # waterfall columns not yet drawn: [(column, bands_db)], column = floor(t / rate * px_per_s)
        self._columns: list[tuple[int, np.ndarray]] = []
        self._col: int | None = None
        self._col_bands: np.ndarray | None = None

    # -- spectrum ---------------------------------------------------------------------
    def _set_bands(self, n: int) -> None:
        floor = self.view.floor_db - 1.0
        self.target = np.full(n, floor)
        self.shown = np.full(n, floor)
        self.peaks = np.full(n, floor)
        self._peak0 = np.full(n, floor)
        self._peak_age = np.zeros(n)

    @property
    def n_bands(self) -> int:
        return len(self.centers_hz)

    def band_of(self, freq_hz: float) -> int:
        """Index of the band whose centre is nearest ``freq_hz`` on a log axis."""
        if not self.n_bands:
            raise ParameterError("no spectrum bands yet: the model has not seen a spectrum_bands event")
        return int(np.argmin(np.abs(np.log2(self.centers_hz / freq_hz))))

    # -- events -----------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Take one event into the picture (called when its display time has come)."""
        self.events_applied += 1
        t = _display_time(event)
        if t > self.now:
            self.now = t
        if isinstance(event, SpectrumFrame):
            if len(event.bands_db) != self.n_bands:
                return
            if self.frozen:
                self._held_spectrum = event
                return
            np.copyto(self.target, event.bands_db)
            np.maximum(self.shown, self.target, out=self.shown)
            rise = self.target >= self.peaks
            if rise.any():  # a new peak: hold it from now
                self._peak0[rise] = self.target[rise]
                self._peak_age[rise] = 0.0
                self.peaks[rise] = self.target[rise]
            self._waterfall(t, event.bands_db)
        elif isinstance(event, Levels):
            if self.frozen:
                self._held_levels = event
                return
            self.meters["peak"].set(event.peak_dbfs)
            self.meters["rms"].set(event.rms_dbfs)
            self.meters["momentary"].set(event.momentary_lufs)
            self.meters["short_term"].set(event.short_term_lufs)
        elif isinstance(event, SpectrumBands):
            if len(event.centers_hz) != self.n_bands or event.scale != self.scale:
                self.centers_hz = np.asarray(event.centers_hz, np.float64)
                self.scale = event.scale
                self._set_bands(len(self.centers_hz))
                self._flush_column()
        elif isinstance(event, SpeechStart):
            self.speaking, self.speech_confidence = True, float(event.confidence)
            self.speech_spans.append([event.t, None])
        elif isinstance(event, SpeechEnd):
            self.speaking = False
            if self.speech_spans and self.speech_spans[-1][1] is None:
                self.speech_spans[-1][1] = event.t
        elif isinstance(event, SpeechSegment):
            if not (
                self.speech_spans
                and self.speech_spans[-1][0] <= event.start
                and (self.speech_spans[-1][1] is None or self.speech_spans[-1][1] >= event.end)
            ):
                self.speech_spans.append([event.start, event.end])
        elif isinstance(event, PartialTranscript):
            self.partial = event.text.strip()
        elif isinstance(event, Transcript):
            text = event.text.strip()
            if text:
                self.captions.append(text)
            self.partial = ""
        elif isinstance(event, Language):
            self.language = event
        elif isinstance(event, Tempo):
            self.tempo = event
        elif isinstance(event, KeyMoment):
            self.moments.append(event)
            if event.kind in BEAT_KINDS:
                self.beat_age = 0.0
                base = 1.0 if event.kind == "downbeat" else 0.7
                self.beat_strength = base * (0.5 + 0.5 * min(1.0, max(0.0, float(event.score))))
        elif isinstance(event, SourceInfo):
            self.rate, self.source = event.rate, event.source
            self.duration_s, self.live = event.duration_s, event.live
        elif isinstance(event, Overflow):
            self.dropped_samples += event.dropped
        elif isinstance(event, Xrun):
            self.xruns += event.count
        elif isinstance(event, SourceFault):
            self.status = f"stream fault: {event.message} (attempt {event.attempt})"
        elif isinstance(event, SourceRecovered):
            self.status = f"stream recovered after {event.attempt} attempt(s)"
        elif isinstance(event, EndOfInput):
            self.ended = True

    def set_frozen(self, frozen: bool) -> None:
        """Freeze (or thaw) the spectrum, waterfall and meters; thawing shows the latest values at once."""
        self.frozen = bool(frozen)
        if not self.frozen:
            held, self._held_spectrum, self._held_levels = (self._held_spectrum, self._held_levels), None, None
            for event in held:
                if event is not None:
                    self.events_applied -= 1
                    self.apply(event)

    def set_now(self, t: int) -> None:
        """Move the display time (samples) forward to the playback clock."""
        if t > self.now:
            self.now = int(t)

    # -- waterfall --------------------------------------------------------------------
    def _waterfall(self, t: int, bands: np.ndarray) -> None:
        col = int(math.floor(t / self.rate * self.view.waterfall_px_per_s))
        if self._col is not None and col == self._col:
            np.maximum(self._col_bands, bands, out=self._col_bands)  # keep short events visible
            self._columns.append((col, self._col_bands))
            return
        if self._col is not None and 0 < col - self._col <= 4:  # a small gap: repeat the new column
            for c in range(self._col + 1, col):
                self._columns.append((c, bands.copy()))
        self._col, self._col_bands = col, bands.copy()
        self._columns.append((col, self._col_bands))

    def _flush_column(self) -> None:
        self._col, self._col_bands = None, None

    def take_columns(self) -> list[tuple[int, np.ndarray]]:
        """Waterfall columns to draw since the last call: ``[(column, bands_db)]`` (a column may repeat, updated)."""
        cols, self._columns = self._columns, []
        return cols

    # -- time ------------------------------------------------------------------------
    def advance(self, dt: float) -> None:
        """Move the animations on by ``dt`` seconds of display time."""
        if dt <= 0:
            return
        v = self.view
        self.clock_s += dt
        self.beat_age += dt
        if self.frozen:
            return
        # bars: exponential fall towards the target
        k = math.exp(-dt / v.release_s)
        self.shown = np.maximum(self.target, self.target + (self.shown - self.target) * k)
        # peaks: hold, then fall with constant acceleration from the value they were set at
        age0 = self._peak_age
        age1 = age0 + dt
        self._peak_age = age1
        fall = 0.5 * v.peak_gravity_db_s2 * np.maximum(0.0, age1 - v.peak_hold_s) ** 2
        self.peaks = np.maximum(self._peak0 - fall, self.shown)  # a falling marker comes to rest on its bar
        for meter in self.meters.values():
            meter.advance(dt)

    @property
    def beat_pulse(self) -> float:
        """Brightness of the beat pulse in [0, 1]."""
        if not math.isfinite(self.beat_age):
            return 0.0
        return self.beat_strength * math.exp(-self.beat_age / self.view.beat_decay_s)

    def recent_moments(self, span_s: float) -> list[KeyMoment]:
        """Key moments in the last ``span_s`` seconds before :attr:`now`."""
        lo = self.now - span_s * self.rate
        return [m for m in self.moments if lo <= m.t <= self.now]


def _display_time(event: Event) -> int:
    """When an event may be shown: its latest time field (an interval shows once it is over)."""
    return max(getattr(event, name) for name in event.TIME_FIELDS)

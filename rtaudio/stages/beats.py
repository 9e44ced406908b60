"""The ``beats`` stage: online tempo, beats and downbeats as key moments.

Runs at 16 kHz: log-mel spectral flux (:mod:`rtaudio.stages.odf`, 100 frames per
second) plus a fifth of the low-band flux feeds the causal multi-agent tracker of
:mod:`rtaudio.stages.beat_tracker`; each reported beat gets a bar position from
:mod:`rtaudio.stages.meter`.  Events, times on the source clock:

* ``KeyMoment(kind="beat")``: ``score`` = the tracker's confidence, ``label`` = the tempo (``"128 BPM"``);
* ``KeyMoment(kind="downbeat")`` at the same time as its beat: ``score`` = the meter's
  confidence, ``label`` = ``"bar N"`` (N counts from 1);
* ``Tempo(t, bpm, confidence)`` with every beat (``BeatsParams.tempo_events``).

Beats are reported a little after they happen: normally one search window
(<= 12 % of a beat plus 20 ms) later, and up to ``max_delay_s`` later when the
tracker locks on (it then reports the beats that led to the lock).  The events
are therefore not in time order with the other stages' events.

``mode="offline"`` (what ``rtaudio markers`` and ``rtaudio report`` use on files)
reports nothing while the input goes and, at its end (or at a gap in it), the beats
of :mod:`rtaudio.stages.beat_offline`: the causal tracker run forwards and
backwards, stitched into one grid and refined by dynamic programming.  It keeps
the ODF (8 bytes per 10 ms: 2.9 MB per hour).  Downbeats there are the offline
beats within 70 ms of a downbeat of the forward (causal) run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import Event, KeyMoment, Tempo
from rtaudio.stages.base import Frame, Stage, check_params, check_sample_rate
from rtaudio.stages.beat_offline import offline_beats
from rtaudio.stages.beat_tracker import Beat, BeatTracker
from rtaudio.stages.meter import BarTracker, chroma, chroma_matrix, cosine_distance
from rtaudio.stages.odf import OdfParams, OnsetEnvelope

#: Rate (Hz) the onset, beat and section stages run at; the engine resamples once for all three.
RATE = 16000
#: The ODF peak of a sharp onset comes this long (s) before the onset itself (measured on click
#: tracks at 16 kHz with the default :class:`~rtaudio.stages.odf.OdfParams`); reported times add it.
ODF_LEAD_S = 0.018
#: Audio (s) kept for the chroma of beat intervals.
AUDIO_KEEP_S = 12.0
CHROMA_FFT = 2048


def _check_rate(frame: Frame, stage: str) -> None:
    if frame.rate != RATE:
        raise ParameterError(f"frame rate {frame.rate} Hz does not match the {stage} stage's rate {RATE} Hz")


def _number(value, name: str, lo: float, hi: float | None = None) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
    ):
        raise ParameterError(f"{name}={value!r} must be a number")
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ParameterError(f"{name}={value!r} must be {rng}")
    return float(value)


@dataclass(frozen=True)
class BeatsParams:
    """Parameters of the ``beats`` stage.

    Attributes
    ----------
    min_bpm, max_bpm : float, BPM
        Tempo range the tracker considers (default 30 to 240; ``max_bpm`` at most 600).
    beats_per_bar : int in {0, 2, .., 7}
        Bar length for downbeats; 0 (default) picks 3 or 4 from the music.
    max_delay_s : float in [0.5, 10], s
        Latest a beat may be reported after it happened (default 4).
    min_confidence : float in [0, 1]
        Beats are reported only while the tracker's confidence is at least this (default 0.05).
    low_weight : float >= 0
        Weight of the low-band (< 150 Hz) flux added to the full-band flux (default 0.2).
    tempo_events : bool
        Also emit a :class:`~rtaudio.events.Tempo` with every beat (default True).
    mode : {"online", "offline"}
        Report beats as the input goes (causal), or all at its end from the whole input
        (the module docstring; default "online").
    """

    min_bpm: float = 30.0
    max_bpm: float = 240.0
    beats_per_bar: int = 0
    max_delay_s: float = 4.0
    min_confidence: float = 0.05
    low_weight: float = 0.2
    tempo_events: bool = True
    mode: str = "online"

    def __post_init__(self):
        if self.mode not in ("online", "offline"):
            raise ParameterError(f"mode={self.mode!r} must be 'online' or 'offline'")
        lo = _number(self.min_bpm, "min_bpm", 1.0)
        hi = _number(self.max_bpm, "max_bpm", 1.0, 600.0)
        if not hi >= 2 * lo:
            raise ParameterError(f"max_bpm={self.max_bpm!r} must be at least twice min_bpm={self.min_bpm!r}")
        if self.beats_per_bar not in (0, 2, 3, 4, 5, 6, 7) or isinstance(self.beats_per_bar, bool):
            raise ParameterError(f"beats_per_bar={self.beats_per_bar!r} must be 0 (automatic) or an integer in 2..7")
        _number(self.max_delay_s, "max_delay_s", 0.5, 10.0)
        _number(self.min_confidence, "min_confidence", 0.0, 1.0)
        _number(self.low_weight, "low_weight", 0.0)
        if not isinstance(self.tempo_events, (bool, np.bool_)):
            raise ParameterError(f"tempo_events={self.tempo_events!r} must be True or False")


class BeatsStage(Stage):
    """Online beat tracking: beats, downbeats and tempo (see the module docstring).

    Parameters
    ----------
    params : BeatsParams
    sample_rate : int > 0, Hz
        The source rate (the stage itself always runs at 16 kHz).
    """

    name = "beats"
    emits = (KeyMoment, Tempo)
    rate = RATE

    def __init__(self, params: BeatsParams | None = None, *, sample_rate: int = RATE):
        self.params = check_params(params, BeatsParams)
        check_sample_rate(sample_rate)
        self.odf_params = OdfParams()
        self._odf = OnsetEnvelope(self.odf_params, sample_rate=RATE)
        self.fps = self._odf.fps
        p = self.params
        self.tracker = BeatTracker(
            self.fps, min_bpm=p.min_bpm, max_bpm=p.max_bpm, max_delay_s=p.max_delay_s, min_confidence=p.min_confidence
        )
        self.bars = BarTracker(p.beats_per_bar)
        self.offline = p.mode == "offline"
        if self.offline:
            self._offline_tracker = BeatTracker(
                self.fps,
                min_bpm=p.min_bpm,
                max_bpm=p.max_bpm,
                max_delay_s=p.max_delay_s,
                min_confidence=p.min_confidence,
            )
        self._chroma_m = chroma_matrix(CHROMA_FFT, RATE)
        self._keep = int(AUDIO_KEEP_S * RATE)
        self._lead = int(round(ODF_LEAD_S * RATE))
        self.reset()

    def reset(self) -> None:
        self._odf.reset()
        self.tracker.reset()
        self.bars.reset()
        size = self.tracker.size
        self._centers = np.zeros(size, np.int64)
        self._low = np.zeros(size)
        self._audio = np.zeros(self._keep, np.float32)
        self._audio_end = 0  # stage-clock index just past the newest kept sample
        self._audio_start = 0  # first index kept since the last (re)start
        self._next_center: int | None = None
        self._beats: list[tuple[int, float]] = []  # (time, bass cue) of the last beats
        self._chromas: list[np.ndarray] = []
        self._count = 0
        self._bar_no = 0
        self._bar_no_offline = 0
        self._new_segment()

    def _new_segment(self) -> None:
        """Offline mode: start keeping a new stretch of ODF (at the start and after a gap)."""
        self._seg_odf: list[float] = []
        self._seg_level: list[float] = []  # each ODF frame's level (dB)
        self._seg_center = 0  # stage-clock centre of the stretch's first ODF frame
        self._seg_fwd: list[Beat] = []  # the causal (forward) run's beats
        self._seg_down: list[tuple[int, float]] = []  # its downbeats: (time, score)

    # -- audio kept for chroma ------------------------------------------------------
    def _keep_audio(self, index: int, x: np.ndarray) -> None:
        """Write ``x`` into the ring (position = stage-clock index modulo its size)."""
        if index != self._audio_end:
            self._audio[:] = 0.0
            self._audio_start = index
        n, size = len(x), self._keep
        if n >= size:
            x, index = x[-size:], index + n - size
            n = size
        at = index % size
        first = min(n, size - at)
        self._audio[at : at + first] = x[:first]
        self._audio[: n - first] = x[first:]
        self._audio_end = index + n

    def _segment(self, a: int, b: int) -> np.ndarray:
        lo = max(self._audio_end - self._keep, self._audio_start)
        a, b = max(a, lo), min(b, self._audio_end)
        if b <= a:
            return np.zeros(0, np.float32)
        return np.take(self._audio, np.arange(a, b) % self._keep)

    # -- processing -------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Event]:
        """Analyse a block of any size at 16 kHz; return the beats (and downbeats, tempi) it confirms."""
        _check_rate(frame, "beats")
        x = frame.mono
        if not len(x):
            return []
        self._keep_audio(frame.index, x)
        events: list[Event] = []
        done: list[Event] = []  # offline mode: the events of a stretch that ended at a gap
        hop = self.odf_params.hop
        size = self.tracker.size
        for center, flux, low, level in self._odf.push(frame.index, x):
            if self._next_center is not None and center != self._next_center:  # a gap: start over
                if self.offline:
                    done.extend(self._offline_events())
                self.tracker.reset()
                self.bars.reset()
                self._beats, self._chromas, self._count = [], [], 0
            self._next_center = center + hop
            n = self.tracker.n
            self._centers[n % size] = center
            self._low[n % size] = low
            value = flux + self.params.low_weight * low
            if self.offline:
                if not self._seg_odf:
                    self._seg_center = center
                self._seg_odf.append(value)
                self._seg_level.append(level)
            for beat in self.tracker.push(value):
                events.extend(self._report(beat))
        return done if self.offline else events

    def _time(self, f: float) -> int:
        i = int(math.floor(f))
        size = self.tracker.size
        return int(round(self._centers[i % size] + (f - i) * self.odf_params.hop)) + self._lead

    def _report(self, beat) -> list[Event]:
        t = self._time(beat.frame)
        if self.offline:
            self._seg_fwd.append(beat)
        i = int(round(beat.frame))
        size = self.tracker.size
        lo = max(i - 3, self.tracker.n - size)
        bass = (
            float(max(self._low[k % size] for k in range(lo, min(i + 4, self.tracker.n))))
            if lo < self.tracker.n
            else 0.0
        )
        # harmonic cue of the previous beat, now that the interval after it is known
        if self._beats:
            c = chroma(self._segment(self._beats[-1][0], t), self._chroma_m, CHROMA_FFT)
            self._chromas.append(c)
            if len(self._chromas) >= 2:
                prev_bass = self._beats[-1][1]
                self.bars.observe(self._count - 1, cosine_distance(self._chromas[-2], self._chromas[-1]), prev_bass)
            self._chromas = self._chromas[-2:]
        self._beats = (self._beats + [(t, bass)])[-2:]
        index = self._count
        self._count += 1
        bpm = beat.bpm
        out: list[Event] = [KeyMoment(t, "beat", round(beat.confidence, 3), f"{bpm:.0f} BPM")]
        down, conf = self.bars.is_downbeat(index)
        if down and index >= 2:
            self._bar_no += 1
            out.append(KeyMoment(t, "downbeat", round(conf, 3), f"bar {self._bar_no}"))
            if self.offline:
                self._seg_down.append((t, conf))
        if self.params.tempo_events:
            out.append(Tempo(t, round(bpm, 2), round(beat.confidence, 3)))
        return out

    def flush(self) -> list[Event]:
        """End of input: report the last beats, which had found their onset but no later one yet (offline
        mode: all the beats of the input since its last gap)."""
        if self.offline:
            return self._offline_events()
        events: list[Event] = []
        for beat in self.tracker.flush():
            events.extend(self._report(beat))
        return events

    def _offline_events(self) -> list[Event]:
        """Offline mode: the events of the stretch of input kept so far (then forgotten)."""
        if not self._seg_odf:
            return []
        for beat in self.tracker.flush():  # the forward run's last beats
            self._report(beat)
        beats = offline_beats(
            np.array(self._seg_odf), self._offline_tracker, fwd=self._seg_fwd, level_db=np.array(self._seg_level)
        )
        hop, rate = self.odf_params.hop, RATE
        downs = np.array([d[0] for d in self._seg_down], np.int64)
        near = int(0.070 * rate)
        out: list[Event] = []
        for beat in beats:
            t = int(round(self._seg_center + beat.frame * hop)) + self._lead
            conf = round(beat.confidence, 3)
            out.append(KeyMoment(t, "beat", conf, f"{beat.bpm:.0f} BPM"))
            if len(downs):
                j = int(np.argmin(np.abs(downs - t)))
                if abs(int(downs[j]) - t) <= near:
                    self._bar_no_offline += 1
                    out.append(KeyMoment(t, "downbeat", round(self._seg_down[j][1], 3), f"bar {self._bar_no_offline}"))
            if self.params.tempo_events:
                out.append(Tempo(t, round(beat.bpm, 2), conf))
        self._new_segment()
        return out

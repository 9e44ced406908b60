"""Beats for the soundtrack renderer: rtaudio's offline beat tracker, with a confidence for aligning joins.

The beats are those ``rtaudio markers`` and ``rtaudio report`` give: the ``beats`` stage in
offline mode (:mod:`rtaudio.stages.beat_offline`: the causal tracker run forwards and
backwards, stitched, refined by dynamic programming), run on the mix; downbeats are the
stage's.  The confidence is how periodic the renderer's own onset strength
(:func:`~rtaudio.jobs.soundtrack.features.onset_strength`) is at the tracked beat period
(:func:`rtaudio.stages.beat_offline.periodicity`): the tracker finds a "beat" in speech too,
and its own confidence (how well a beat agent predicts onsets) is as high on speech (0.2-0.4)
as on sung or light music (0.15-0.4), while this one keeps them apart (dev corpus, docs/soundtrack.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rtaudio.jobs.soundtrack.features import ANALYSIS_RATE, HOP, Features
from rtaudio.stages.beat_offline import majority_interval, periodicity

FPS = ANALYSIS_RATE / HOP  # onset frames per second
PRIOR_BPM = 120.0
BEATS_PER_BAR = 4
#: Confidence at or above which joins are aligned on beats (the onset strength's periodicity at the beat
#: period, :func:`rtaudio.stages.beat_offline.periodicity`).  Dev corpus: songs and loops with a beat
#: 0.18-0.38, a sung scale over a light accompaniment 0.13, a solo brass lick 0.06, a tempo ramp 0.0,
#: speech (27 clips of 8-60 s) at most 0.07.
RELIABLE_CONFIDENCE = 0.12
#: A beat whose neighbours (within :data:`GRID_REACH_BEATS` beats) lie off its multiples of the beat period by
#: more than this share of the period (median) is off the grid (:meth:`Beats.on_grid`).
GRID_TOLERANCE = 0.1
#: How many beat periods either side of a beat :meth:`Beats.on_grid` reads its neighbours over.
GRID_REACH_BEATS = 3
#: Half-width (s) of the window whose time-weighted median interval is the local beat period for
#: :meth:`Beats.on_grid` (the offline tracker's ``level_s``: a glitch of a few seconds does not move it).
GRID_LEVEL_S = 8.0


@dataclass
class Beats:
    """Beats of a signal.

    Attributes
    ----------
    times : ndarray float64, seconds
        Beat times, increasing.
    downbeats : ndarray float64, seconds
        The first beat of each bar (a subset of ``times``).
    tempo_bpm : float
        Median tempo (0 when no beats).
    confidence : float in [-1, 1]
        How periodic the onsets are at the tracked tempo (median over 12-s windows of
        the normalised onset autocorrelation at the beat period and its first multiples);
        below about 0.12 there is no steady beat (see :data:`RELIABLE_CONFIDENCE`).
    onset : ndarray float32
        The onset strength the beats were tracked on (one value per analysis frame).
    tracker : str
        The tracker that gave the beats (``offline``: the ``beats`` stage's offline mode).
    min_confidence : float
        Confidence from which the beat is steady enough to align joins on.
    """

    times: np.ndarray
    downbeats: np.ndarray
    tempo_bpm: float
    confidence: float
    onset: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    tracker: str = "offline"
    min_confidence: float = RELIABLE_CONFIDENCE

    @property
    def reliable(self) -> bool:
        """True when there are at least 4 beats and the beat is steady enough to align joins on."""
        return len(self.times) >= 4 and self.confidence >= self.min_confidence

    def period_at(self, t: float) -> float:
        """Local beat period (s) around time ``t``: median of the 4 nearest beat intervals, an interval of
        about k median periods (``tempo_bpm``; a beat left out by :meth:`on_grid`) counted as k."""
        if len(self.times) < 2:
            return 60.0 / PRIOR_BPM
        intervals = np.diff(self.times)
        centres = self.times[:-1] + intervals / 2
        near = intervals[np.argsort(np.abs(centres - t))[:4]]
        if self.tempo_bpm > 0:
            near = near / np.maximum(1.0, np.round(near * self.tempo_bpm / 60.0))
        return float(np.median(near))

    def on_grid(self, tolerance: float = GRID_TOLERANCE) -> Beats:
        """These beats without those off the grid their neighbours lie on (see :func:`on_grid`); the
        rest (tempo, confidence, onset) unchanged, downbeats kept where their beat is."""
        keep = on_grid(self.times, tolerance)
        times = self.times[keep]
        downs = self.downbeats[np.isin(self.downbeats, times)]
        return Beats(times, downs, self.tempo_bpm, self.confidence, self.onset, self.tracker, self.min_confidence)

    def between(self, t0: float, t1: float) -> np.ndarray:
        """Beats in ``[t0, t1]`` (s)."""
        i0, i1 = np.searchsorted(self.times, [t0, t1], side="left")
        i1 = np.searchsorted(self.times, t1, side="right")
        return self.times[i0:i1]

    def as_arrays(self, prefix: str) -> dict:
        return {
            f"{prefix}times": self.times,
            f"{prefix}downbeats": self.downbeats,
            f"{prefix}scalars": np.array([self.tempo_bpm, self.confidence, self.min_confidence]),
            f"{prefix}onset": self.onset,
            f"{prefix}tracker": np.array(self.tracker),
        }

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> Beats:
        tempo, conf, least = np.asarray(arrays[f"{prefix}scalars"]).tolist()
        return cls(
            np.asarray(arrays[f"{prefix}times"]),
            np.asarray(arrays[f"{prefix}downbeats"]),
            tempo,
            conf,
            np.asarray(arrays[f"{prefix}onset"]),
            str(arrays[f"{prefix}tracker"]),
            least,
        )


def local_periods(times: np.ndarray, level_s: float = GRID_LEVEL_S) -> np.ndarray:
    """Beat period (s) at each of ``times`` (s, increasing, at least 2): the time-weighted median of the
    intervals whose middle lies within ``level_s`` of it (the interval most of that time is beaten at, so
    a stretch of inserted off-beats shorter than the rest of the window does not halve it)."""
    iv = np.diff(times)
    return majority_interval(iv, times[:-1] + iv / 2, level_s, at=times, centred=False)


def on_grid(times: np.ndarray, tolerance: float = GRID_TOLERANCE, reach: float = GRID_REACH_BEATS) -> np.ndarray:
    """Mask of the beats (``times``, s, increasing) that lie on one grid with their neighbours.

    A beat's misfit is the median, over the other kept beats within ``reach`` local periods
    (:func:`local_periods`), of their distance to the nearest multiple (at least 1) of that period
    from it, in periods.  The beat that fits worst is dropped while its misfit exceeds
    ``tolerance``; a tracker that went over to the off-beats for a stretch (the demo video's
    decoded audio: off-beats 0.25 s apart after 8 s at 120 BPM) leaves the beats that are on the beat.
    A beat with fewer than 2 neighbours in reach is kept (nothing to judge it by).
    """
    times = np.asarray(times, np.float64)
    n = len(times)
    keep = np.ones(n, bool)
    if n < 4:
        return keep
    period = local_periods(times)
    lo = np.searchsorted(times, times - reach * period, side="left")
    hi = np.searchsorted(times, times + reach * period, side="right")

    def misfit(i: int) -> float:
        j = np.arange(lo[i], hi[i])
        j = j[keep[j] & (j != i)]
        if len(j) < 2:
            return 0.0
        d = np.abs(times[j] - times[i]) / period[i]
        return float(np.median(np.abs(d - np.maximum(1.0, np.round(d)))))

    bad = np.array([misfit(i) for i in range(n)])
    span = reach * float(period.max())
    while True:
        i = int(np.argmax(np.where(keep, bad, -1.0)))
        if bad[i] <= tolerance:
            return keep
        keep[i] = False
        k0, k1 = np.searchsorted(times, [times[i] - span, times[i] + span])
        for k in range(k0, min(n, k1 + 1)):  # the beats that read this one
            if keep[k] and lo[k] <= i < hi[k]:
                bad[k] = misfit(k)


def track(x: np.ndarray, rate: int, features: Features) -> Beats:
    """Beats of the signal ``x`` (what :func:`rtaudio.api.analyze` takes: samples (n, channels) at ``rate`` Hz,
    or a DiskSignal) by the ``beats`` stage's offline mode, with the periodicity of ``features.onset`` (the
    same signal's onset strength) at their period as the confidence."""
    from rtaudio.api import analyze
    from rtaudio.jobs.soundtrack.signal import stage_input

    events = analyze(stage_input(x, rate), rate=rate, stages=["beats"], config={"beats": {"mode": "offline"}})
    moments = [e for e in events if e.TYPE == "key_moment"]
    times = np.array(sorted(e.t / rate for e in moments if e.kind == "beat"))
    if len(times) < 2:
        return Beats(times, times[:1], 0.0, 0.0, features.onset)
    downs = np.array(sorted(e.t / rate for e in moments if e.kind == "downbeat"))
    confidence = periodicity(features.onset.astype(np.float64), times * FPS, FPS)
    return Beats(
        times,
        downs if len(downs) >= 2 else times[::BEATS_PER_BAR],
        60.0 / float(np.median(np.diff(times))),
        confidence,
        features.onset,
    )

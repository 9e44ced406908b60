"""Offline beat tracking for the soundtrack renderer: local tempo by onset autocorrelation, beats by DP.

The method is Ellis' (2007, "Beat tracking by dynamic programming") with a
tempo that may drift:

1. the onset strength (:func:`~rtaudio.jobs.soundtrack.features.onset_strength`)
   is autocorrelated in 12-s windows every 2 s; each beat period between 40 and
   240 BPM scores the mean autocorrelation at its first four multiples (a comb,
   so the beat wins over the bar and the half-bar), weighted by a log-normal tempo
   prior centred on 120 BPM (one octave wide);
2. a Viterbi path through those scores, with a cost for tempo jumps, gives the
   local beat period of every frame;
3. beats are the frames maximising ``sum(onset at beats) - tightness * sum(log(interval / period)^2)``
   (dynamic programming over the whole signal: the DP of the offline beat tracker,
   :func:`rtaudio.stages.beat_offline.dynamic_programme`), refined to a fraction of a
   frame by a parabola through the onset strength.

Downbeats: a 4/4 meter is assumed; the bar phase is the one whose beats carry
the most harmonic change (chroma) and low-frequency onset energy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rtaudio.jobs.soundtrack.features import ANALYSIS_RATE, HOP, Features
from rtaudio.stages.beat_offline import dynamic_programme

FPS = ANALYSIS_RATE / HOP  # onset frames per second
MIN_BPM, MAX_BPM = 40.0, 240.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0
WINDOW_S, WINDOW_HOP_S = 12.0, 2.0
COMB = 4  # multiples of the beat period summed in the tempo score
TIGHTNESS = 100.0
BEATS_PER_BAR = 4
#: Confidence at or above which joins are aligned on beats.  Dev corpus (mixes): songs and loops with a
#: beat 0.23-0.44, a sung scale over a light accompaniment 0.13, a solo brass lick 0.09, speech 0.04.
RELIABLE_CONFIDENCE = 0.12


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
    confidence : float in [0, 1]
        How periodic the onsets are at the tracked tempo (median over 12-s windows of
        the normalised onset autocorrelation at the beat period and its first multiples);
        below about 0.12 there is no steady beat (see :data:`RELIABLE_CONFIDENCE`).
    onset : ndarray float32
        The onset strength the beats were tracked on (one value per analysis frame).
    tracker : str
        ``dp`` (this module's offline tracker) or ``beats-stage`` (rtaudio's causal
        ``beats`` stage, see :func:`from_beats_stage`).
    min_confidence : float
        Confidence from which the beat is steady enough to align joins on (each tracker
        has its own scale).
    """

    times: np.ndarray
    downbeats: np.ndarray
    tempo_bpm: float
    confidence: float
    onset: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    tracker: str = "dp"
    min_confidence: float = RELIABLE_CONFIDENCE

    @property
    def reliable(self) -> bool:
        """True when there are at least 4 beats and the beat is steady enough to align joins on."""
        return len(self.times) >= 4 and self.confidence >= self.min_confidence

    def period_at(self, t: float) -> float:
        """Local beat period (s) around time ``t``: median of the 4 nearest beat intervals."""
        if len(self.times) < 2:
            return 60.0 / PRIOR_BPM
        intervals = np.diff(self.times)
        centres = self.times[:-1] + intervals / 2
        near = np.argsort(np.abs(centres - t))[:4]
        return float(np.median(intervals[near]))

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


def _autocorr(x: np.ndarray, max_lag: int) -> np.ndarray:
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n + 1)))
    spec = np.fft.rfft(x, size)
    ac = np.fft.irfft(spec * np.conj(spec), size)[: max_lag + 1]
    return ac


def local_periods(onset: np.ndarray) -> tuple[np.ndarray, float]:
    """Beat period (frames, float) of every frame, and the median normalised autocorrelation at it."""
    n = len(onset)
    lag_min = int(np.floor(60.0 / MAX_BPM * FPS))
    lag_max = int(np.ceil(60.0 / MIN_BPM * FPS))
    lags = np.arange(lag_min, lag_max + 1)
    bpm = 60.0 * FPS / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    win = int(WINDOW_S * FPS)
    step = int(WINDOW_HOP_S * FPS)
    starts = list(range(0, max(1, n - win + 1), step)) or [0]
    if starts[-1] + win < n:
        starts.append(max(0, n - win))
    scores, norms = [], []
    for s in starts:
        seg = onset[s : s + win].astype(np.float64)
        seg = seg - seg.mean()
        m = len(seg)
        ac = _autocorr(seg, min(m - 1, COMB * lag_max)) if m > 8 else np.zeros(1)
        if len(ac) <= lag_max or ac[0] <= 1e-12:
            scores.append(np.zeros(len(lags)))
            norms.append(np.zeros(len(lags)))
            continue
        ac = ac / (m - np.arange(len(ac)))  # unbiased: every lag weighs the same
        ac = ac / ac[0]
        # comb: a beat period also shows at its multiples; summing them favours the beat over the bar
        comb = np.zeros(len(lags))
        count = np.zeros(len(lags))
        for k in range(1, COMB + 1):
            ok = k * lags < min(len(ac), m // 2)
            comb[ok] += ac[k * lags[ok]]
            count[ok] += 1
        comb = comb / np.maximum(count, 1)
        norms.append(comb)
        scores.append(np.maximum(comb, 0.0) * prior)
    scores = np.array(scores)
    norms = np.array(norms)
    # Viterbi over lag states; cost of a tempo change proportional to its size in octaves
    log_lags = np.log2(lags)
    jump = np.abs(log_lags[:, None] - log_lags[None, :])
    trans = -8.0 * jump
    emis = np.log(scores / np.maximum(scores.max(axis=1, keepdims=True), 1e-12) + 1e-3)
    acc = emis[0].copy()
    back = np.zeros(scores.shape, np.int64)
    for w in range(1, len(scores)):
        cand = acc[:, None] + trans
        back[w] = np.argmax(cand, axis=0)
        acc = cand[back[w], np.arange(len(lags))] + emis[w]
    path = np.empty(len(scores), np.int64)
    path[-1] = int(np.argmax(acc))
    for w in range(len(scores) - 1, 0, -1):
        path[w - 1] = back[w, path[w]]
    chosen = lags[path].astype(np.float64)
    # parabolic refinement of each window's lag
    refined = chosen.copy()
    for w, i in enumerate(path):
        if 0 < i < len(lags) - 1:
            a, b, c = scores[w, i - 1], scores[w, i], scores[w, i + 1]
            den = a - 2 * b + c
            if den < 0:
                refined[w] = chosen[w] + 0.5 * (a - c) / den
    centres = np.array(starts) + min(win, n) / 2
    period = np.interp(np.arange(n), centres, refined)
    confidence = float(np.median(norms[np.arange(len(path)), path])) if len(path) else 0.0
    return period, max(0.0, min(1.0, confidence))


def track(features: Features) -> Beats:
    """Beats of a signal from its :class:`Features` (see the module docstring)."""
    onset = features.onset.astype(np.float64)
    n = len(onset)
    empty = Beats(np.zeros(0), np.zeros(0), 0.0, 0.0, features.onset)
    if n < int(2 * FPS) or onset.max(initial=0.0) <= 1e-9:
        return empty
    period, confidence = local_periods(onset)
    norm = onset / (onset.std() + 1e-12)
    # local score: onset smoothed by a Gaussian of width period/32 (as librosa does)
    p0 = float(np.median(period))
    half = max(1, int(round(p0)))
    k = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (k * 32.0 / p0) ** 2)
    local = np.convolve(norm, kernel, mode="same")
    score, back = dynamic_programme(local, period, period, TIGHTNESS)
    # last beat: the last local maximum of the score above half the median of the maxima
    peaks = np.nonzero((score[1:-1] > score[:-2]) & (score[1:-1] >= score[2:]))[0] + 1
    if len(peaks) == 0:
        return empty
    good = peaks[score[peaks] >= 0.5 * np.median(score[peaks])]
    t = int(good[-1] if len(good) else peaks[-1])
    frames = [t]
    while back[t] >= 0:
        t = int(back[t])
        frames.append(t)
    frames = np.array(frames[::-1])
    # trim weak beats at both ends (silence before/after the music)
    strength = local[frames]
    threshold = 0.5 * np.sqrt(np.mean(strength**2))
    keep = np.nonzero(strength >= threshold)[0]
    if len(keep) == 0:
        return empty
    frames = frames[keep[0] : keep[-1] + 1]
    # sub-frame refinement on the local score
    refined = frames.astype(np.float64)
    for i, f in enumerate(frames):
        if 0 < f < n - 1:
            a, b, c = local[f - 1], local[f], local[f + 1]
            den = a - 2 * b + c
            if den < 0:
                refined[i] = f + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    times = refined * HOP / ANALYSIS_RATE
    tempo = 60.0 / float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    downbeats = times[_bar_phase(features, frames) :: BEATS_PER_BAR] if len(times) >= BEATS_PER_BAR else times[:1]
    return Beats(times, downbeats, tempo, confidence, features.onset)


def _bar_phase(features: Features, frames: np.ndarray) -> int:
    """Which of the first BEATS_PER_BAR beats starts a bar: most chroma change and bass onset."""
    if len(frames) < 2 * BEATS_PER_BAR:
        return 0
    chroma = features.chroma
    bounds = np.append(frames, min(len(chroma), frames[-1] + int(np.median(np.diff(frames)))))
    sync = np.array(
        [chroma[a:b].mean(axis=0) if b > a else chroma[a] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    )
    unit = sync / (np.linalg.norm(sync, axis=1, keepdims=True) + 1e-9)
    change = np.concatenate([[0.0], 1.0 - np.sum(unit[1:] * unit[:-1], axis=1)])
    low = features.mel_db[:, :8]
    bass = np.concatenate([[0.0], np.maximum(0.0, low[1:] - low[:-1]).mean(axis=1)])
    bass_at = np.array([bass[max(0, f - 2) : f + 3].max() for f in frames])

    def z(v):
        return (v - v.mean()) / (v.std() + 1e-9)

    total = z(change) + z(bass_at)
    return int(np.argmax([total[k::BEATS_PER_BAR].mean() for k in range(BEATS_PER_BAR)]))


#: Median beat confidence of rtaudio's ``beats`` stage from which its beats are used (its docs: speech
#: gives 0.2-0.4; dev corpus music 0.6-0.8).
STAGE_RELIABLE_CONFIDENCE = 0.5


def from_beats_stage(x: np.ndarray, rate: int, features: Features) -> Beats | None:
    """Beats from rtaudio's causal ``beats`` stage (it follows tempo changes), or None when it cannot run."""
    try:
        from rtaudio.api import analyze
        from rtaudio.jobs.soundtrack.signal import stage_input

        events = analyze(stage_input(x, rate), rate=rate, stages=["beats"])
    except Exception:  # the stage is optional here: the DP tracker is always there
        return None
    moments = [e for e in events if e.TYPE == "key_moment"]
    times = np.array(sorted(e.t / rate for e in moments if e.kind == "beat"))
    if len(times) < 4:
        return None
    scores = [e.score for e in moments if e.kind == "beat"]
    downs = np.array(sorted(e.t / rate for e in moments if e.kind == "downbeat"))
    tempo = 60.0 / float(np.median(np.diff(times)))
    return Beats(
        times,
        downs if len(downs) >= 2 else times[::BEATS_PER_BAR],
        tempo,
        float(np.median(scores)),
        features.onset,
        "beats-stage",
        STAGE_RELIABLE_CONFIDENCE,
    )


def salience(onset: np.ndarray, times: np.ndarray) -> float:
    """Onset strength on the beats over onset strength half way between them (a tracker-independent
    score of how well ``times`` (s) sit on the rhythm of ``onset``); 0 with fewer than 4 beats."""
    if len(times) < 4 or not len(onset):
        return 0.0
    n = len(onset)

    def peak(t):
        f = np.clip(np.rint(np.asarray(t) * ANALYSIS_RATE / HOP).astype(np.int64), 1, n - 2)
        return np.maximum(np.maximum(onset[f - 1], onset[f]), onset[f + 1])

    return float(peak(times).mean() / (peak((times[:-1] + times[1:]) / 2).mean() + 1e-9))


def best(candidates: list[Beats | None], onset: np.ndarray) -> Beats:
    """The reliable candidate whose beats sit best on ``onset`` (:func:`salience`); else the first."""
    ok = [b for b in candidates if b is not None]
    reliable = [b for b in ok if b.reliable]
    if not reliable:
        return ok[0]
    return max(reliable, key=lambda b: salience(onset, b.times))

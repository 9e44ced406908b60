"""Offline beats: the causal tracker run forwards and backwards, stitched into one grid, refined by DP.

What ``rtaudio markers`` and ``rtaudio report`` use on files (``BeatsParams.mode = "offline"``);
the live ``beats`` stage stays causal.  Given the whole onset-detection function (ODF):

1. **Two causal runs.** :class:`~rtaudio.stages.beat_tracker.BeatTracker` over the ODF
   forwards (exactly what the live stage reports, end-of-input beats included) and over the
   reversed ODF.  Each run is late where the tempo changes the way it follows slowly: the
   forward run after a large speed-up, the backward run (which reads a slow-down as a
   speed-up) before a large slow-down; each is settled at its own end.
2. **One grid.** Beats of the two runs within ``agree_s`` of each other are agreed points.
   Between two agreed points (and before the first, after the last) each run offers its own
   beats; the one kept scores more: mean ODF peak at its beats and at the closing agreed beat
   (relative to the 95th percentile of the ODF, capped at 1.5), times the tracker's log-normal
   tempo prior at its median interval.  The forward run is kept unless the backward one scores
   ``margin`` times more; before the first agreed point it is the other way round.  Switching
   only at agreed points keeps one grid (no mixing of two metrical levels or phases).
3. **Tempo.** The local beat period of that grid, without its single inserted beats
   (:func:`drop_inserted`: a beat whose two intervals together make the grid's period there, as
   where both runs took the same off-beat once): running median of ``median_beats``
   intervals; each abrupt change of tempo in it is kept only where the new tempo's grid holds
   more ODF than the old one's over the stretch it lasts (:func:`hold_tempo`: a run that went
   over to a cross-rhythm leaves the tempo where it was; changes of metrical level are the
   stitching's); then the time-weighted median over ``+-level_s`` (centred windows, narrowing at the
   ends of the grid to no less than ``+-END_WINDOW_S``).
4. **DP.** Ellis' dynamic programme over the ODF with that period chooses the final beats
   between the grid's first and last beat, with Ellis' tightness scaled to the ODF's frame
   rate (it was set for librosa's 43 frames per second; the local score grows with the frame
   rate) and, across a change of tempo kept, either period for the interval that spans it.
   Beats further than ``cover_s`` from every beat of the forward run are dropped (where the
   causal stage reports nothing, silence, noise, the offline beats are silent too), and each
   beat takes the confidence of the nearest forward beat.
5. **Ends.** Given the level of each frame, beats at either end more than ``end_db`` under the
   median level at the beats are dropped (:func:`trim_ends`: the music has faded or its last
   chord is decaying; the ODF still has onsets there).
6. **No lock.** Where under ``min_agreed`` of the forward beats are agreed points, neither run
   locked and the grid is no guide: the DP takes the period of the ODF's autocorrelation
   (:func:`tempo_curve`) over the whole input instead (:func:`dp_tempo`).

:func:`periodicity` says how periodic an ODF is at a beat sequence's period (the soundtrack's
confidence for aligning joins on the beats).

Measured (``benchmarks/keys_eval.py --offline``, see docs/keys.md): beat F >= 0.95 on the 36
click tracks at 60-200 BPM and every change between two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from rtaudio.errors import ParameterError
from rtaudio.stages.beat_tracker import PRIOR_BPM, PRIOR_OCTAVES, Beat, BeatTracker


@dataclass(frozen=True)
class OfflineBeatParams:
    """Parameters of the offline beat estimate (see the module docstring).

    Attributes
    ----------
    agree_s : float > 0, s
        Beats of the two runs this close are one agreed point (default 0.04).
    margin : float >= 1
        Score ratio by which the other run must win a stretch (default 1.1).
    median_beats : int >= 1 (odd)
        Beat intervals in the running median that gives the DP its local period (default 5).
    tightness : float > 0
        Ellis' cost of an interval off the local period at librosa's 43 frames per second (default 100,
        librosa's); the DP scales it to the ODF's frame rate (:data:`ELLIS_FPS`).
    level_s : float >= 0, s
        Half-width of the window whose time-weighted median interval is the DP's local period: a
        causal run that halves, doubles or drifts for less than this does not move it, a tempo
        change that lasts longer does (default 8; 0: the running median of ``median_beats`` alone).
    cover_s : float > 0, s
        Beats further than this (or one beat) from every beat of the forward run are dropped
        (default 2: after a speed-up to 3x, that run may hit only every third second).
    jump : float > 0
        Log ratio of a grid interval to the tempo before it beyond which it starts a change of
        tempo that :func:`hold_tempo` tests (default 0.15: a ramp of 7 % per second moves less
        between two beats).
    agree_tol : float > 0
        Log ratio within which intervals count as the same tempo (default 0.04).
    min_agreed : float in [0, 1]
        Fraction of the forward run's beats that must be agreed points for the runs to count as
        locked (default 0.4: music measured 0.5-1, speech 0.05-0.41); below it their grid is no
        guide and the DP's period comes from the ODF's autocorrelation (:func:`tempo_curve`).
    end_db : float > 0, dB
        Beats at either end whose level (the loudest frame within 30 ms) is more than this below the
        median level at the beats are dropped: the music has faded or decayed there (default 20).
    insert_tol : float > 0
        Log ratio within which two grid intervals together count as one beat period (the intervals
        beside them and the time-weighted median over ``+-level_s``): the beat between them was
        inserted and the DP's period leaves it out (:func:`drop_inserted`; default 0.1).
    """

    agree_s: float = 0.04
    margin: float = 1.1
    median_beats: int = 5
    tightness: float = 100.0
    cover_s: float = 2.0
    level_s: float = 8.0
    jump: float = 0.15
    agree_tol: float = 0.04
    min_agreed: float = 0.4
    end_db: float = 20.0
    insert_tol: float = 0.1

    def __post_init__(self):
        for name, lo in (
            ("agree_s", 0.0),
            ("tightness", 0.0),
            ("cover_s", 0.0),
            ("jump", 0.0),
            ("agree_tol", 0.0),
            ("end_db", 0.0),
            ("insert_tol", 0.0),
        ):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= lo:
                raise ParameterError(f"{name}={v!r} must be a number > {lo}")
        if not isinstance(self.level_s, (int, float)) or isinstance(self.level_s, bool) or not self.level_s >= 0:
            raise ParameterError(f"level_s={self.level_s!r} must be a number >= 0")
        if (
            not isinstance(self.min_agreed, (int, float))
            or isinstance(self.min_agreed, bool)
            or not 0 <= self.min_agreed <= 1
        ):
            raise ParameterError(f"min_agreed={self.min_agreed!r} must be a number in [0, 1]")
        if not isinstance(self.margin, (int, float)) or isinstance(self.margin, bool) or not self.margin >= 1.0:
            raise ParameterError(f"margin={self.margin!r} must be a number >= 1")
        if (
            not isinstance(self.median_beats, int)
            or isinstance(self.median_beats, bool)
            or self.median_beats < 1
            or self.median_beats % 2 == 0
        ):
            raise ParameterError(f"median_beats={self.median_beats!r} must be an odd integer >= 1")


def run_tracker(odf: np.ndarray, tracker: BeatTracker) -> list[Beat]:
    """Every beat ``tracker`` (reset first) reports over ``odf``, end-of-input beats included, in frame order."""
    tracker.reset()
    out: list[Beat] = []
    for value in odf:
        out += tracker.push(float(value))
    out += tracker.flush()
    return sorted(out, key=lambda b: b.frame)


def backward(odf: np.ndarray, tracker: BeatTracker) -> list[Beat]:
    """The tracker over the reversed ``odf``; beats mapped back to forward frames, in frame order."""
    n = len(odf)
    beats = run_tracker(np.ascontiguousarray(odf[::-1]), tracker)
    return sorted((Beat(n - 1 - b.frame, b.bpm, b.confidence) for b in beats), key=lambda b: b.frame)


def _prior(period: float, fps: float) -> float:
    return math.exp(-0.5 * (math.log2(period * PRIOR_BPM / (60.0 * fps)) / PRIOR_OCTAVES) ** 2)


def agreed_points(fwd: np.ndarray, bwd: np.ndarray, tol: float) -> np.ndarray:
    """Beats of ``fwd`` with a beat of ``bwd`` within ``tol`` (frames; both increasing)."""
    fwd, bwd = np.asarray(fwd, float), np.asarray(bwd, float)
    if not len(fwd) or not len(bwd):
        return np.zeros(0)
    j = np.searchsorted(bwd, fwd)
    near = np.minimum(
        np.abs(bwd[np.clip(j - 1, 0, len(bwd) - 1)] - fwd), np.abs(bwd[np.clip(j, 0, len(bwd) - 1)] - fwd)
    )
    return fwd[near <= tol]


def stitch(odf: np.ndarray, fps: float, fwd: np.ndarray, bwd: np.ndarray, params: OfflineBeatParams) -> np.ndarray:
    """One grid (frames) from the forward beats ``fwd`` and backward beats ``bwd`` (frames, increasing)."""
    fwd, bwd = np.asarray(fwd, float), np.asarray(bwd, float)
    if len(fwd) < 2 or len(bwd) < 2:
        return fwd if len(fwd) >= len(bwd) else bwd
    n = len(odf)
    tol = params.agree_s * fps
    pk = np.minimum(odf / (np.percentile(odf, 95) + 1e-12), 1.5)

    def evidence(beats) -> float:
        vals = [pk[max(0, int(round(f)) - 2) : int(round(f)) + 3].max() for f in beats if 0 <= round(f) < n]
        return float(np.mean(vals)) if vals else 0.0

    agreed = agreed_points(fwd, bwd, tol)
    if not len(agreed):
        return fwd
    out = list(agreed)
    bounds = [-np.inf, *agreed, np.inf]
    for r, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        f_in = fwd[(fwd > lo + tol) & (fwd < hi - tol)]
        b_in = bwd[(bwd > lo + tol) & (bwd < hi - tol)]
        if not len(f_in) and not len(b_in):
            continue
        ends = [hi] if math.isfinite(hi) else []

        def score(c, ends=ends, lo=lo):
            seq = np.concatenate([[lo] if math.isfinite(lo) else [], c, ends])
            e = evidence(list(c) + ends)
            return e * _prior(float(np.median(np.diff(seq))), fps) if len(seq) > 1 else e

        sf, sb = score(f_in), score(b_in)
        if r == 0:  # before the first agreed point the backward run is the settled one
            out += list(f_in if sf > params.margin * sb else b_in)
        else:
            out += list(b_in if sb > params.margin * sf else f_in)
    return np.array(sorted(out))


#: Window and hop (s) of the autocorrelation tempo (:func:`tempo_curve`, :func:`periodicity`), beat
#: periods (BPM) it considers, and the multiples of a period its comb averages.
AC_WINDOW_S, AC_HOP_S = 12.0, 2.0
AC_MIN_BPM, AC_MAX_BPM = 40.0, 240.0
AC_COMB = 4
#: Width (octaves) of the log-normal tempo prior (centred on the tracker's :data:`PRIOR_BPM`) that weighs the
#: autocorrelation tempo: Ellis' and librosa's (``std_bpm=1``); the causal tracker's is wider.
AC_PRIOR_OCTAVES = 1.0


def _windows(n: int, fps: float) -> list[int]:
    win, step = int(AC_WINDOW_S * fps), int(AC_HOP_S * fps)
    starts = list(range(0, max(1, n - win + 1), step)) or [0]
    if starts[-1] + win < n:
        starts.append(max(0, n - win))
    return starts


def _autocorr(seg: np.ndarray) -> np.ndarray:
    """Unbiased autocorrelation of ``seg`` (mean removed), 1 at lag 0; zeros for a constant ``seg``."""
    seg = seg - seg.mean()
    m = len(seg)
    size = 1 << int(np.ceil(np.log2(2 * m + 1)))
    spec = np.fft.rfft(seg, size)
    ac = np.fft.irfft(spec * np.conj(spec), size)[:m]
    if m < 8 or ac[0] <= 1e-12:
        return np.zeros(m)
    ac = ac / (m - np.arange(m))
    return ac / ac[0]


def _comb(ac: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Mean autocorrelation at the first :data:`AC_COMB` multiples of each lag (frames, fractional) that fit
    in the first half of the window."""
    m = len(ac)
    total, count = np.zeros(len(lags)), np.zeros(len(lags))
    for k in range(1, AC_COMB + 1):
        ok = k * lags < m // 2
        total[ok] += np.interp(k * lags[ok], np.arange(m), ac)
        count[ok] += 1
    return total / np.maximum(count, 1)


def tempo_curve(odf: np.ndarray, fps: float) -> np.ndarray:
    """Beat period (frames) of every frame from the ODF's autocorrelation (Ellis 2007, with a drifting tempo).

    Each 12-s window (every 2 s) scores the periods of 40-240 BPM by the mean autocorrelation at their
    first four multiples (a comb: the beat wins over the bar and the half-bar) times a log-normal
    tempo prior (:data:`AC_PRIOR_OCTAVES`); a Viterbi path with a cost for tempo jumps (8 per octave) picks one
    period per window, refined by a parabola, interpolated between window centres.
    """
    n = len(odf)
    lags = np.arange(int(np.floor(60.0 / AC_MAX_BPM * fps)), int(np.ceil(60.0 / AC_MIN_BPM * fps)) + 1)
    prior = np.exp(-0.5 * (np.log2(lags * PRIOR_BPM / (60.0 * fps)) / AC_PRIOR_OCTAVES) ** 2)
    starts = _windows(n, fps)
    win = int(AC_WINDOW_S * fps)
    scores = np.array(
        [np.maximum(_comb(_autocorr(np.asarray(odf[s : s + win], float)), lags), 0.0) * prior for s in starts]
    )
    log_lags = np.log2(lags)
    trans = -8.0 * np.abs(log_lags[:, None] - log_lags[None, :])
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
    chosen = lags[path].astype(float)
    for w, i in enumerate(path):
        if 0 < i < len(lags) - 1:
            a, b, c = scores[w, i - 1], scores[w, i], scores[w, i + 1]
            den = a - 2 * b + c
            if den < 0:
                chosen[w] += 0.5 * (a - c) / den
    centres = np.array(starts) + min(win, n) / 2
    return np.interp(np.arange(n), centres, chosen)


def periodicity(odf: np.ndarray, frames: np.ndarray, fps: float) -> float:
    """How periodic the ODF is at the beat period of ``frames`` (beat frames, increasing): the median over the
    12-s windows (every 2 s) that hold beats of the mean autocorrelation at the local beat period and its
    first multiples, in [-1, 1] (0 with fewer than 4 beats).  Songs with a beat give 0.15-0.6, speech
    under 0.1 (see docs/keys.md)."""
    frames = np.asarray(frames, float)
    if len(frames) < 4:
        return 0.0
    n, win = len(odf), int(AC_WINDOW_S * fps)
    mids, iv = (frames[1:] + frames[:-1]) / 2, np.diff(frames)
    vals = []
    for s in _windows(n, fps):
        m = min(win, n - s)
        if frames[-1] < s or frames[0] > s + m:
            continue
        period = float(np.interp(s + m / 2, mids, iv))
        vals.append(float(_comb(_autocorr(np.asarray(odf[s : s + m], float)), np.array([period]))[0]))
    return float(np.median(vals)) if vals else 0.0


#: Frames per second of librosa's default onset envelope (22050 Hz, hop 512), for which Ellis' tightness
#: (100) is set: the DP's local score sums the ODF over a window of fixed duration, so it grows with the
#: frame rate, and the tightness is scaled by the same factor to weigh timing against it as there.
ELLIS_FPS = 22050 / 512


@njit(cache=True, nogil=True)
def dynamic_programme(local, period, other, tightness):  # pragma: no cover - compiled
    """Ellis' beat DP over the local score ``local`` with two periods (frames) per frame (``period``,
    ``other``: an interval pays for the nearer one; pass ``period`` twice for one): cumulative score and
    back-links (-1 where a beat starts the chain)."""
    n = len(local)
    score = np.zeros(n)
    back = -np.ones(n, np.int64)
    for t in range(n):
        p, q = period[t], other[t]
        lo = t - int(np.round(2.0 * max(p, q)))
        hi = t - int(np.round(0.5 * min(p, q)))
        best = -1e300
        arg = -1
        for tau in range(max(0, lo), hi + 1):
            d = min(np.log((t - tau) / p) ** 2, np.log((t - tau) / q) ** 2)
            v = score[tau] - tightness * d
            if v > best:
                best = v
                arg = tau
        if arg >= 0 and best > 0.0:
            score[t] = local[t] + best
            back[t] = arg
        else:
            score[t] = local[t]
    return score, back


#: Half-width (s) under which the centred window of :func:`majority_interval` does not narrow at the ends of the grid:
#: a stretch at another metrical level in the last (or first) beats does not set the period there alone.
END_WINDOW_S = 2.0


def majority_interval(
    iv: np.ndarray,
    mids: np.ndarray,
    half: float,
    at: np.ndarray | None = None,
    centred: bool = True,
    floor: float = 0.0,
) -> np.ndarray:
    """Time-weighted running median of the intervals ``iv`` (at their middles ``mids``) over ``+-half`` (the
    same unit, frames or s), at each of ``at`` (default ``mids``): the interval most of that time is beaten at
    (a step in tempo stays a step where both sides last ``half``).
    ``centred`` (with ``at`` = ``mids``): the window stays centred (narrower near the ends, down to ``+-floor``,
    then cut off), so a steady ramp in tempo is not biased there; otherwise it is cut off at the ends
    (one-sided there). A window holding no interval takes them all."""
    at = mids if at is None else np.asarray(at, float)
    out = np.empty(len(at))
    lo, hi = mids[0], mids[-1]
    for i, m in enumerate(at):
        width = min(half, max(floor, min(m - lo, hi - m))) if centred else half
        sel = np.abs(mids - m) <= width
        w = np.sort(iv[sel]) if sel.any() else np.sort(iv)
        out[i] = w[np.searchsorted(np.cumsum(w), 0.5 * w.sum())]
    return out


def _comb_evidence(pk: np.ndarray, period: float, a: float, b: float) -> float:
    """Mean of ``pk`` (its largest value +-2 frames) on the best-aligned grid of ``period`` (frames) over
    frames ``a`` to ``b``."""
    n, best = len(pk), 0.0
    for ph in range(max(1, int(round(period)))):
        at = np.round(np.arange(a + ph, b, period)).astype(int)
        at = at[(at >= 0) & (at < n)]
        if len(at):
            best = max(best, float(np.mean([pk[max(0, f - 2) : f + 3].max() for f in at])))
    return best


#: Interval ratios that change the metrical level of one pulse, not the tempo.
_LEVELS = tuple(math.log(k) for k in (2, 3, 1 / 2, 1 / 3))


def hold_tempo(
    iv: np.ndarray, grid: np.ndarray, odf: np.ndarray, params: OfflineBeatParams
) -> tuple[np.ndarray, list[int]]:
    """The grid's intervals ``iv`` (frames), each change of tempo kept only where the old tempo no longer fits.

    A jump of more than ``jump`` (log ratio) from the tempo before, lasting until the intervals come
    back within ``agree_tol`` of it, is a change of tempo unless its ratio is 2, 3, 1/2 or 1/3 (a
    change of metrical level, which the stitching decided). Over that stretch the best-aligned grid
    of the old tempo and of the new one each hold some ODF (mean, relative to its 95th percentile,
    capped at 1.5); the old tempo goes on unless the new one holds more. A run that locked on a
    cross-rhythm (a dotted pattern at 4/3 of the tempo, say) leaves the beat where it was; a real
    change, where the old grid misses most onsets, is kept. Returns the intervals and the indices of
    the changes of tempo kept (not those of metrical level).
    """
    pk = np.minimum(odf / (np.percentile(odf, 95) + 1e-12), 1.5)
    out, kept = iv.copy(), []
    i = 1
    while i < len(out):
        old = out[i - 1]
        if abs(math.log(iv[i] / old)) <= params.jump:
            i += 1
            continue
        j = i
        while j < len(iv) and abs(math.log(iv[j] / old)) > params.agree_tol:
            j += 1
        new = float(np.median(iv[i:j]))
        r = math.log(new / old)
        if min(abs(r - k) for k in _LEVELS) > params.agree_tol:
            if _comb_evidence(pk, old, grid[i], grid[j]) >= _comb_evidence(pk, new, grid[i], grid[j]):
                out[i:j] = old
            else:
                kept.append(i)
        i = j
    return out, kept


def drop_inserted(grid: np.ndarray, tol: float, half: float) -> np.ndarray:
    """``grid`` (frames, increasing) without its single inserted beats (a causal run that took an off-beat once).

    A beat is inserted where its two intervals together are within ``tol`` (log ratio) of the interval
    most of the time within ``+-half`` frames is beaten at (:func:`majority_interval`, the window cut off at the
    ends) and of the grid's interval before them and after them (of the one there is at an end of the
    grid). Two or more short intervals in a row (a stretch at another metrical level) and two intervals
    that together make a gap of two beats (a missed beat on either side) are kept."""
    g = np.asarray(grid, float)
    if len(g) < 3 or half <= 0:
        return g
    mids = (g[1:] + g[:-1]) / 2
    ref = list(np.interp(g, mids, majority_interval(np.diff(g), mids, half, centred=False)))
    g = list(g)
    i = 1
    while i < len(g) - 1:
        span = g[i + 1] - g[i - 1]
        near = [g[k + 1] - g[k] for k in (i - 2, i + 1) if 0 <= k and k + 1 < len(g)]
        if near and all(abs(math.log(span / r)) <= tol for r in [*near, ref[i]]):
            del g[i], ref[i]
        else:
            i += 1
    return np.array(g)


def dp_grid(odf: np.ndarray, grid: np.ndarray, params: OfflineBeatParams, fps: float = 100.0) -> np.ndarray:
    """Ellis' DP over ``odf`` with the local period of ``grid`` (frames): beat frames (fractional) from
    the grid's first to its last beat.

    The period is the grid's (single inserted beats left out, :func:`drop_inserted`; running median of
    ``median_beats`` intervals, changes of tempo held
    by :func:`hold_tempo`, then the time-weighted median over ``+-level_s``). The tightness is
    ``tightness`` at librosa's frame rate (scaled by ``fps / ELLIS_FPS``), and 0 for the interval
    across each change of tempo kept (a new tempo starts at any phase)."""
    grid = np.asarray(grid, float)
    n = len(odf)
    grid = drop_inserted(grid, params.insert_tol, params.level_s * fps)
    if len(grid) < 4:
        return grid
    iv = np.diff(grid)
    h = params.median_beats // 2
    iv = np.array([np.median(iv[max(0, i - h) : i + h + 1]) for i in range(len(iv))])
    iv, changes = hold_tempo(iv, grid, odf, params)
    mids = (grid[1:] + grid[:-1]) / 2
    if params.level_s > 0:
        iv = majority_interval(iv, mids, params.level_s * fps, floor=END_WINDOW_S * fps)
    period = np.interp(np.arange(n), mids, iv)
    other = period.copy()
    for i in changes:  # from the last beat of the old tempo to the first of the new one: either period
        a, b = int(grid[i - 1] + 0.5 * iv[i - 1]), int(grid[min(i + 1, len(grid) - 1)] + 0.5 * iv[i])
        a, b = max(0, a), max(0, min(n, b))
        period[a:b], other[a:b] = iv[i - 1], iv[i]
    return _dp(odf, period, other, params.tightness * fps / ELLIS_FPS, grid[0], grid[-1], float(np.median(iv)))


def dp_tempo(odf: np.ndarray, params: OfflineBeatParams, fps: float = 100.0) -> np.ndarray:
    """Ellis' DP over all of ``odf`` with the autocorrelation's period (:func:`tempo_curve`): beat frames
    (fractional), for input where the causal runs never locked."""
    period = tempo_curve(odf, fps)
    return _dp(odf, period, period, params.tightness * fps / ELLIS_FPS, 0.0, len(odf) - 1.0, float(np.median(period)))


def _dp(odf, period, other, tightness, first, last, p0) -> np.ndarray:
    """The DP's beats from about frame ``first`` to about ``last``, refined to a fraction of a frame (``p0``:
    the typical period, frames, for the width of the ODF's smoothing)."""
    n = len(odf)
    half = max(1, int(round(p0)))
    k = np.arange(-half, half + 1)
    local = np.convolve(odf / (odf.std() + 1e-12), np.exp(-0.5 * (k * 32.0 / p0) ** 2), mode="same")
    score, back = dynamic_programme(local, period, other, tightness)
    last = min(int(round(last)), n - 1)
    lo, hi = max(0, last - int(0.5 * period[last])), min(n, last + int(0.5 * period[last]) + 1)
    t = lo + int(np.argmax(score[lo:hi]))
    first = first - 0.5 * period[min(int(round(first)), n - 1)]
    frames = [t]
    while back[t] >= 0 and back[t] >= first:
        t = int(back[t])
        frames.append(t)
    frames = frames[::-1]
    out = np.array(frames, float)
    for i, f in enumerate(frames):  # sub-frame position: a parabola through the ODF peak
        if 0 < f < n - 1:
            a, b, c = odf[f - 1], odf[f], odf[f + 1]
            den = a - 2 * b + c
            if den < 0:
                out[i] = f + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return out


def trim_ends(frames: np.ndarray, level_db: np.ndarray, end_db: float) -> np.ndarray:
    """``frames`` without the beats at either end whose level (the loudest of ``level_db`` within 3 frames)
    is more than ``end_db`` under the median level at the beats (a fade-out, a decaying last chord)."""
    if len(frames) < 2 or not len(level_db):
        return frames
    n = len(level_db)
    lev = np.array([level_db[max(0, int(round(f)) - 3) : min(n, int(round(f)) + 4)].max() for f in frames])
    loud = np.nonzero(lev >= np.median(lev) - end_db)[0]
    return frames[loud[0] : loud[-1] + 1] if len(loud) else frames[:0]


def offline_beats(
    odf: np.ndarray,
    tracker: BeatTracker,
    params: OfflineBeatParams | None = None,
    fwd: list[Beat] | None = None,
    level_db: np.ndarray | None = None,
) -> list[Beat]:
    """Beats of the whole ``odf`` (see the module docstring), with the local tempo and the confidence of
    the nearest beat of the forward run.

    Parameters
    ----------
    odf : ndarray, one value per frame (``tracker.fps`` frames per second)
    tracker : BeatTracker
        Runs the causal passes (it is reset before each).
    params : OfflineBeatParams, optional
    fwd : list of Beat, optional
        The forward run's beats when the caller already has them (they are computed otherwise).
    level_db : ndarray, optional
        Level (dB) of each ODF frame: beats at the ends where the music has faded are dropped
        (:func:`trim_ends`).
    """
    params = params or OfflineBeatParams()
    odf = np.asarray(odf, float)
    fps = tracker.fps
    fwd = run_tracker(odf, tracker) if fwd is None else sorted(fwd, key=lambda b: b.frame)
    bwd = backward(odf, tracker)
    if not fwd:
        return []
    f_at, b_at = np.array([b.frame for b in fwd]), np.array([b.frame for b in bwd])
    grid = stitch(odf, fps, f_at, b_at, params)
    agreed = agreed_points(f_at, b_at, params.agree_s * fps)
    if len(agreed) >= params.min_agreed * len(f_at):
        frames = dp_grid(odf, grid, params, fps)
    else:  # the runs never locked: their grid is no guide to the tempo
        frames = dp_tempo(odf, params, fps)
    if level_db is not None:
        frames = trim_ends(frames, np.asarray(level_db, float), params.end_db)
    if not len(frames):
        return []
    at = np.array([b.frame for b in fwd])
    out: list[Beat] = []
    for i, f in enumerate(frames):
        lo, hi = frames[max(0, i - 1)], frames[min(len(frames) - 1, i + 1)]
        period = (hi - lo) / max(1, min(i + 1, len(frames) - 1) - max(0, i - 1)) if len(frames) > 1 else 0.0
        j = int(np.argmin(np.abs(at - f))) if len(at) else -1
        if period <= 0 or j < 0 or abs(at[j] - f) > max(period, params.cover_s * fps):
            continue  # the forward (causal) run had no beat near: no beat there either
        out.append(Beat(float(f), 60.0 * fps / period, fwd[j].confidence))
    return out

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
3. **DP.** Ellis' dynamic programme (:func:`rtaudio.jobs.soundtrack.beats._dynamic_programme`)
   over the ODF with the local beat period of that grid (running median of ``median_beats``
   intervals, then the time-weighted median over ``+-level_s``) chooses the final beats between the grid's first and last beat; beats further
   than ``cover_s`` from every beat of the forward run are dropped (where the causal stage
   reports nothing, silence, noise, the offline beats are silent too), and each beat takes
   the confidence of the nearest forward beat.

Measured (``benchmarks/keys_eval.py --offline``, see docs/keys.md): beat F >= 0.95 on the 36
click tracks at 60-200 BPM and every change between two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
        Ellis' cost of an interval off the local period (default 100, librosa's).
    level_s : float >= 0, s
        Half-width of the window whose time-weighted median interval is the DP's local period: a
        causal run that halves, doubles or drifts for less than this does not move it, a tempo
        change that lasts longer does (default 8; 0: the running median of ``median_beats`` alone).
    cover_s : float > 0, s
        Beats further than this (or one beat) from every beat of the forward run are dropped
        (default 2: after a speed-up to 3x, that run may hit only every third second).
    """

    agree_s: float = 0.04
    margin: float = 1.1
    median_beats: int = 5
    tightness: float = 100.0
    cover_s: float = 2.0
    level_s: float = 8.0

    def __post_init__(self):
        for name, lo in (("agree_s", 0.0), ("tightness", 0.0), ("cover_s", 0.0)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= lo:
                raise ParameterError(f"{name}={v!r} must be a number > {lo}")
        if not isinstance(self.level_s, (int, float)) or isinstance(self.level_s, bool) or not self.level_s >= 0:
            raise ParameterError(f"level_s={self.level_s!r} must be a number >= 0")
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

    j = np.searchsorted(bwd, fwd)
    near = np.minimum(
        np.abs(bwd[np.clip(j - 1, 0, len(bwd) - 1)] - fwd), np.abs(bwd[np.clip(j, 0, len(bwd) - 1)] - fwd)
    )
    agreed = fwd[near <= tol]
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


def _majority(iv: np.ndarray, mids: np.ndarray, half: float) -> np.ndarray:
    """Time-weighted running median of the intervals ``iv`` (frames, at ``mids``) over ``+-half`` frames: the
    interval most of that time is beaten at (a step in tempo stays a step where both sides last ``half``)."""
    out = iv.copy()
    log = np.log(iv)
    for i, m in enumerate(mids):
        sel = np.abs(mids - m) <= half
        order = np.argsort(log[sel])
        w = iv[sel][order]
        out[i] = float(np.exp(log[sel][order][np.searchsorted(np.cumsum(w), 0.5 * w.sum())]))
    return out


def dp_grid(odf: np.ndarray, grid: np.ndarray, params: OfflineBeatParams, fps: float = 100.0) -> np.ndarray:
    """Ellis' DP over ``odf`` with the local period of ``grid`` (frames): beat frames (fractional) from
    the grid's first to its last beat."""
    from rtaudio.jobs.soundtrack.beats import _dynamic_programme

    grid = np.asarray(grid, float)
    n = len(odf)
    if len(grid) < 4:
        return grid
    iv = np.diff(grid)
    h = params.median_beats // 2
    iv = np.array([np.median(iv[max(0, i - h) : i + h + 1]) for i in range(len(iv))])
    mids = (grid[1:] + grid[:-1]) / 2
    if params.level_s > 0:
        iv = _majority(iv, mids, params.level_s * fps)
    period = np.interp(np.arange(n), mids, iv)
    p0 = float(np.median(iv))
    half = max(1, int(round(p0)))
    k = np.arange(-half, half + 1)
    local = np.convolve(odf / (odf.std() + 1e-12), np.exp(-0.5 * (k * 32.0 / p0) ** 2), mode="same")
    score, back = _dynamic_programme(local, period, params.tightness)
    last = min(int(round(grid[-1])), n - 1)
    lo, hi = max(0, last - int(0.5 * period[last])), min(n, last + int(0.5 * period[last]) + 1)
    t = lo + int(np.argmax(score[lo:hi]))
    first = grid[0] - 0.5 * period[min(int(round(grid[0])), n - 1)]
    frames = [t]
    while back[t] >= 0 and back[t] >= first:
        t = int(back[t])
        frames.append(t)
    out = np.array(frames[::-1], float)
    for i, f in enumerate(frames[::-1]):  # sub-frame position: a parabola through the ODF peak
        if 0 < f < n - 1:
            a, b, c = odf[f - 1], odf[f], odf[f + 1]
            den = a - 2 * b + c
            if den < 0:
                out[i] = f + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return out


def offline_beats(
    odf: np.ndarray, tracker: BeatTracker, params: OfflineBeatParams | None = None, fwd: list[Beat] | None = None
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
    """
    params = params or OfflineBeatParams()
    odf = np.asarray(odf, float)
    fps = tracker.fps
    fwd = run_tracker(odf, tracker) if fwd is None else sorted(fwd, key=lambda b: b.frame)
    bwd = backward(odf, tracker)
    if not fwd:
        return []
    grid = stitch(odf, fps, np.array([b.frame for b in fwd]), np.array([b.frame for b in bwd]), params)
    frames = dp_grid(odf, grid, params, fps)
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

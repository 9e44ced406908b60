"""A causal beat tracker: competing beat hypotheses ("agents"), each a small Kalman filter.

The tracker eats one onset-detection-function (ODF) value per frame and reports
beats a little after they happen; it never looks further ahead than that.

How it works
------------
* **Agents.** Each agent is one hypothesis: the time of its next beat, the log
  of the current beat interval and how fast that log changes per frame
  (tempo velocity).  An extended Kalman filter updates the three from the ODF
  peak it finds near each predicted beat, so an agent follows accelerating or
  slowing music without lag (a tempo that changes by a constant factor per
  second is tracked exactly).
* **Evidence.** At each predicted beat an agent scores the ODF within +-3 frames
  of its prediction (relative to the recent peak level, capped).  An agent that
  finds no peak in its window coasts on its prediction; a peak further away (up
  to 35 % of a beat) spawns a child agent with the interval that peak implies:
  that is how an abrupt tempo change is followed within a beat or two.  An agent
  that was quiet between its beats (see below) and misses after two or more strong
  onsets on an even grid since its last hit spawns a child on that grid instead
  (80 -> 200 BPM: the first onset after its last beat gives the new interval).
* **Induction.** Every 0.25 s while nothing is locked (every second after), the
  autocorrelation of the last 5 s of ODF proposes the three likeliest periods;
  for each, the tracker walks back through the ODF peaks from the best-aligned
  grid (allowing drift), fits the interval and its trend, and starts an agent
  with that history.
* **Choice.** The agent with the best score wins: mean evidence x hit rate^2 x
  a log-normal tempo prior (120 BPM, 1.2 octaves) x a long-term tempogram
  salience (a 20 s exponential average of autocorrelations, ignored while the
  winning agent's tempo is changing fast).  A challenger must beat the incumbent
  by 15 %.  An agent's evidence and hit rate are running means over about 4 s;
  those of an agent born while another one wins (where the music may have
  changed) are plain means over its first beats (it is judged on its own beats).
* **Change points.** Each induction compares the autocorrelation of the last 4 s of ODF
  with the long-term tempogram (cosine over the lags of the tempo range, once the tempogram
  holds 8 s).  Below 0.5 the rhythm has changed (measured: steady clicks 0.82-0.97, steady
  synthesized music 0.58 and up; a change of tempo dips to 0.09-0.5 within 1.5-3 s): the
  tempogram follows fast (2 s), its weight in the scores drops to 0, and every agent is
  judged on its beats since the change (plain means from there).  Without it, the 20 s
  tempogram kept the old tempo salient for seconds after a speed-up by 3/2 or more.  The
  winner's own beats give more cues, all where it was quiet between its beats (ratio below
  0.5, see below): an onset as strong as its beat comes between two (128 -> 200 BPM, where
  the autocorrelations agree: every agent judged on its beats since); it misses after a
  faster grid began at its last hit (the child above); or, for 2 beats in a row, the
  points that split its interval in 2 (or 3) hold onsets as strong as its beats: the
  tempo doubled (tripled), and the agent 2 (3) times faster starts at the same phase
  with those beats as history (100 -> 200 BPM, where every other click still fits the
  old agent and the autocorrelations agree).  Music whose off-beats carry onsets all
  along is not quiet between its beats: on the synthesized and corpus music of
  ``benchmarks/keys_eval.py`` these fire only at a real change (beat_and_chords
  140 -> 100 BPM), never in steady music or syncopated drums (measured).  The
  last two are change points in full: every agent is judged on its hits since the
  change (an agent induced within 2 s on its history since), and the tempogram weighs
  nothing for 2 s (it has not heard the new tempo yet).
* **Skipped beats.** Each agent also keeps the strongest ODF value between its
  beats against the value at its beats.  When that ratio passes 0.75 and another
  agent 2 or 3 times faster hits with quiet between its own beats, the slower
  agent skips beats: its score drops (by up to 80 %; in full once its subdivisions
  made the tempo double).  That is how a click track that speeds up to a multiple of
  the old tempo (75 -> 150 BPM) is followed, where every other click still fits the
  old agent.
* **Output.** The winner's beats are reported once they are confirmed by a
  later hit (a single coasted beat between two hits counts, two in a row do
  not); when a new agent takes over, the beats of its recent history that lie
  after the last reported beat are reported too, at most ``max_delay_s`` late.

Everything is a deterministic function of the ODF sequence, so streaming
equals batch.  Costs: about 50 us per ODF frame (100 frames/s) in Python, measured on the click
tracks of ``benchmarks/keys_eval.py``, plus one small numba-compiled autocorrelation per induction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numba import njit

#: Log-normal tempo prior: centre (BPM) and width (octaves).
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 1.2
#: Frames of the tight window that scores a prediction (either side).
SCORE_TOL = 3
#: Cap of one beat's evidence (multiples of the recent ODF peak level).
EVIDENCE_CAP = 3.0


@dataclass
class Beat:
    """A reported beat: ``frame`` (fractional ODF frame index), the tracker's ``bpm`` there, and ``confidence`` in [0, 1]."""

    frame: float
    bpm: float
    confidence: float


@njit(cache=True, nogil=True)
def _acf(e, maxlag):  # pragma: no cover - compiled
    """Autocorrelation of ``e`` for lags 0 .. maxlag - 1 (zero past its length)."""
    n = e.shape[0]
    r = np.zeros(maxlag)
    for k in range(min(maxlag, n)):
        s = 0.0
        for i in range(n - k):
            s += e[i] * e[i + k]
        r[k] = s
    return r


@njit(cache=True, nogil=True)
def _comb(r, lo, hi, limit, tol_frac):  # pragma: no cover - compiled
    """Comb salience ``S[k] = max r[k +- tol] + 0.5 max r[2k +- tol]`` for k in [lo, hi]; lags >= ``limit`` are unknown."""
    limit = min(limit, r.shape[0])  # numba does not check bounds
    S = np.zeros(hi + 1)
    for k in range(lo, hi + 1):
        tol = max(1, int(round(tol_frac * k)))
        v = -1e300
        for j in range(k - tol, k + tol + 1):
            if 0 <= j < limit and r[j] > v:
                v = r[j]
        if v == -1e300:
            v = 0.0
        if 2 * k + tol < limit:
            w = -1e300
            for j in range(2 * k - tol, 2 * k + tol + 1):
                if r[j] > w:
                    w = r[j]
            v += 0.5 * w
        S[k] = v
    return S


@njit(cache=True, nogil=True)
def _detrend(x, width):  # pragma: no cover - compiled
    """``max(0, x - moving average)`` minus its mean: the ODF's peaks, for autocorrelation."""
    n = x.shape[0]
    half = width // 2
    e = np.zeros(n)
    c = np.zeros(n + 1)
    for i in range(n):
        c[i + 1] = c[i] + x[i]
    for i in range(n):
        a = max(0, i - half)
        b = min(n, i + half + 1)
        v = x[i] - (c[b] - c[a]) / width
        e[i] = v if v > 0.0 else 0.0
    m = e.mean()
    for i in range(n):
        e[i] -= m
    return e


@njit(cache=True, nogil=True)
def _best_phase(x, period):  # pragma: no cover - compiled
    """Offset ``ph`` (frames back from the last) maximising the ODF summed on the grid ``len-1-ph - k*period`` (+-1 frame, half weight)."""
    n = x.shape[0]
    best = 0
    bv = -1.0
    for ph in range(period):
        v = 0.0
        i = n - 1 - ph
        while i >= 0:
            v += x[i]
            if i > 0:
                v += 0.5 * x[i - 1]
            if i + 1 < n:
                v += 0.5 * x[i + 1]
            i -= period
        if v > bv:
            bv = v
            best = ph
    return best


@njit(cache=True, nogil=True)
def _cosine(a, b):  # pragma: no cover - compiled
    """Cosine of the vectors ``a`` and ``b`` (0 if either is zero), summed in order (the same answer every time)."""
    ab = aa = bb = 0.0
    for i in range(a.shape[0]):
        ab += a[i] * b[i]
        aa += a[i] * a[i]
        bb += b[i] * b[i]
    return ab / math.sqrt(aa * bb) if aa > 0.0 and bb > 0.0 else 0.0


def _line_slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y on x."""
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sxx if sxx > 0 else 0.0


def _parabola(x: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares ``(c2, c1)`` of ``y = c2 x^2 + c1 x + c0`` (zeros if degenerate).

    Plain Python arithmetic on purpose: LAPACK's results can depend on memory alignment, and
    the tracker must give the same answer every time (streaming equals batch, run after run).
    """
    n = float(len(x))
    s1 = sum(x)
    s2 = sum(v * v for v in x)
    s3 = sum(v**3 for v in x)
    s4 = sum(v**4 for v in x)
    t0 = sum(y)
    t1 = sum(a * b for a, b in zip(x, y, strict=True))
    t2 = sum(a * a * b for a, b in zip(x, y, strict=True))
    # normal equations [[s4 s3 s2] [s3 s2 s1] [s2 s1 n]] (c2 c1 c0) = (t2 t1 t0), by Cramer's rule
    det = s4 * (s2 * n - s1 * s1) - s3 * (s3 * n - s1 * s2) + s2 * (s3 * s1 - s2 * s2)
    if abs(det) < 1e-12:
        return 0.0, 0.0
    d2 = t2 * (s2 * n - s1 * s1) - s3 * (t1 * n - s1 * t0) + s2 * (t1 * s1 - s2 * t0)
    d1 = s4 * (t1 * n - t0 * s1) - t2 * (s3 * n - s1 * s2) + s2 * (s3 * t0 - t1 * s2)
    return d2 / det, d1 / det


class _Agent:
    """One beat hypothesis (see the module docstring). Times in frames."""

    __slots__ = (
        "id",
        "last",
        "nb",
        "nl",
        "vel",
        "c",
        "avg",
        "hitrate",
        "hits",
        "misses",
        "score",
        "quality",
        "hist",
        "due",
        "steps",
        "hitval",
        "mid",
        "fresh",
        "subdiv",
        "sub_m",
        "sub_quiet",
        "mid_before",
    )

    def __init__(self, ident: int, last: float, period: float):
        self.id = ident
        self.last = float(last)  # the last finalised beat
        self.nb = float(last) + period  # predicted next beat
        self.nl = math.log(period)  # log of the interval that ends at nb
        self.vel = 0.0  # d nl / d frame
        # covariance of (nb, nl, vel), upper triangle: bb, bl, bv, ll, lv, vv
        self.c = [1.0, 0.0, 0.0, 0.03**2, 0.0, 0.0002**2]
        self.avg = 0.0
        self.hitrate = 0.5
        self.hits = 0
        self.misses = 0
        self.score = 0.0
        self.quality = 0.0
        self.hist: list[tuple[float, bool]] = []  # (beat frame, found a peak)
        self.due = 0
        self.steps = 0
        self.hitval = 0.0  # running mean ODF value at its hits (absolute)
        self.fresh = False  # born where the music may have changed: a child, or induced while another agent won
        self.mid = 0.0  # strongest ODF between its beats / ODF at its beats, running mean over its hits
        self.subdiv = (
            0  # consecutive hits whose interval's 1/2 (sub_m = 2) or 1/3 and 2/3 (3) hold onsets as strong as the beat
        )
        self.sub_m = 0
        self.sub_quiet = False  # ... and the agent was quiet between its beats when that run began
        self.mid_before = 0.0  # ``mid`` before its last update

    @property
    def period(self) -> float:
        return math.exp(self.nl)


class BeatTracker:
    """Causal multi-agent beat tracker over an ODF sampled at ``fps`` frames per second.

    Parameters
    ----------
    fps : float > 0, frames per second
    min_bpm, max_bpm : float, BPM
        Tempo range (default 30 to 240).
    max_delay_s : float > 0, s
        Latest a beat may be reported after it happened (default 4 s: when the
        tracker locks, the beats that led to the lock are reported at once).
    min_confidence : float in [0, 1]
        Beats are reported only while :attr:`confidence` is at least this (default 0.05).
    rhythm_floor : float >= 0
        Comb salience at or below which the ODF counts as not periodic (default 0.2; see
        :attr:`confidence`).

    Notes
    -----
    Call :meth:`push` once per ODF frame; it returns the beats confirmed by that
    frame, as :class:`Beat` with fractional frame indices (the caller maps them
    to time).  :attr:`bpm` is the current tempo estimate (0 when not locked).
    """

    HISTORY_S = 8.0
    INDUCT_S = 5.0
    TEMPOGRAM_TAU_S = 20.0
    TEMPOGRAM_FAST_S = 2.0
    TEMPOGRAM_WIN_S = 4.0
    SALIENCE_WEIGHT = 0.7
    STEADY_VEL = 2e-4  # log-interval change per frame that counts as "tempo moving" (2 %/s at 100 fps)
    HYSTERESIS = 1.15
    CHANGE_COS = 0.5  # cosine of the recent autocorrelation and the tempogram below which the rhythm has changed
    CHANGE_HOLD_S = 2.0  # a change point seen in the winner's beats holds that state at least this long (s)
    RHYTHM_TAU_S = 3.0
    SKIP_RATIO = 0.75  # strongest onset between an agent's beats / at its beats, above which it may skip beats
    SKIP_PENALTY = 0.8  # ... and its score is scaled down by up to this much (see _skips)
    SKIP_RAMP = 0.1  # ... reached at a ratio of SKIP_RATIO + SKIP_RAMP
    INNER_ALPHA = 0.5  # per hit: how fast that ratio follows a change
    SUBDIV_BEATS = 2  # beats with loud subdivisions after quiet that make the winner's tempo 2 or 3 times faster
    MAX_AGENTS = 12
    VEL_MAX = 0.0015
    R0 = 1.5**2  # measurement variance of a peak time (frames^2)
    Q_BEAT, Q_LOG, Q_VEL = 0.3**2, 0.01**2, (2e-6) ** 2

    def __init__(
        self,
        fps: float,
        *,
        min_bpm: float = 30.0,
        max_bpm: float = 240.0,
        max_delay_s: float = 4.0,
        min_confidence: float = 0.05,
        rhythm_floor: float = 0.2,
    ):
        self.fps = float(fps)
        self.min_confidence = min_confidence
        self.rhythm_floor = rhythm_floor
        self.min_p = 60.0 * self.fps / max_bpm
        self.max_p = 60.0 * self.fps / min_bpm
        self.size = int(self.HISTORY_S * self.fps)
        self.max_delay = max_delay_s * self.fps
        self._tg_len = 2 * int(self.max_p) + 8
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self.buf = np.zeros(self.size)
        self.n = 0
        self._m = self._w = self._pk = self._pw = 0.0
        self.mean = 0.0
        self.peak_level = 1e-12
        self.agents: list[_Agent] = []
        self.best: _Agent | None = None
        self._next_id = 0
        self.last_emit = -1e18
        self._emit_key: tuple | None = None
        self._tg: np.ndarray | None = None
        self._tg_last = 0
        self._tg_sal: np.ndarray | None = None
        self._tg_max = 1.0
        self.changed = False
        self._change_until = 0
        self._change_from = 0.0
        self._tg_first = 0
        self.rhythm = 0.0
        self.rhythm_level = 0.0
        self.median = 0.0
        self._rh_seen = False
        self._rh_last = 0

    # -- helpers ------------------------------------------------------------------
    def _val(self, m: int) -> float:
        return self.buf[m % self.size]

    def _window(self, lo: int, hi: int) -> np.ndarray:
        """ODF frames lo .. hi - 1 (all within the history)."""
        idx = np.arange(lo, hi) % self.size
        return self.buf[idx]

    def prior(self, period: float) -> float:
        return math.exp(-0.5 * (math.log2(period * PRIOR_BPM / (60.0 * self.fps)) / PRIOR_OCTAVES) ** 2)

    def _prior_array(self, periods: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * (np.log2(periods * PRIOR_BPM / (60.0 * self.fps)) / PRIOR_OCTAVES) ** 2)

    def salience(self, period: float) -> float:
        """Long-term tempogram salience of ``period`` (frames), in [0, 1] (1 before any tempogram)."""
        if self._tg_sal is None:
            return 1.0
        k = int(round(period))
        if k < 1 or k + 1 >= len(self._tg_sal):
            return 0.0
        return max(0.0, float(self._tg_sal[k - 1 : k + 2].max()) / self._tg_max)

    @property
    def bpm(self) -> float:
        """Current tempo (BPM) of the winning agent, extrapolated to now with its tempo trend; 0 if none."""
        ag = self.best
        if ag is None:
            return 0.0
        p = ag.period
        return 60.0 * self.fps / math.exp(ag.nl - ag.vel * (ag.nb - 0.5 * p - self.n))

    def bpm_at(self, frame: float) -> float:
        """Tempo (BPM) of the winning agent at ODF frame ``frame`` (its tempo trend extrapolated); 0 if none."""
        ag = self.best
        if ag is None:
            return 0.0
        return 60.0 * self.fps / math.exp(ag.nl - ag.vel * (ag.nb - 0.5 * ag.period - frame))

    @property
    def confidence(self) -> float:
        """Confidence in [0, 1] of the current beat hypothesis: its evidence, times how periodic the ODF is.

        The second factor is the larger of two cues, each mapped onto [0, 1]:

        * periodicity: :attr:`rhythm_level` (the comb salience of the ODF's autocorrelation
          over the last 5 s, averaged over about 3 s) from [``rhythm_floor``,
          ``rhythm_floor`` + 0.25]; on the dev corpus stationary noise and rain read
          0.13-0.27, speech 0.15-0.32, music with a beat 0.2-1.1;
        * sparseness: log10 of (ODF at the agent's hits / median ODF of the last 4 s) from
          [0.6, 1.2]; noise and rain read 0.24-0.58, speech 0.5-1.5, dense music 0.5-1.1,
          drums and clicks 2-8 (this keeps an accelerating snare, whose autocorrelation smears).
        """
        if self.best is None:
            return 0.0
        periodic = min(1.0, max(0.0, (self.rhythm_level - self.rhythm_floor) / 0.25))
        ratio = self.best.hitval / max(self.median, 1e-12)
        sparse = min(1.0, max(0.0, (math.log10(max(ratio, 1e-12)) - 0.6) / 0.6))
        return (1.0 - math.exp(-self.best.quality)) * max(periodic, sparse)

    # -- per frame ----------------------------------------------------------------
    def push(self, value: float) -> list[Beat]:
        """Add one ODF value; return the beats this frame confirms (oldest first)."""
        n = self.n
        self.buf[n % self.size] = value
        self.n = n + 1
        a = 1.0 / (2.0 * self.fps)
        self._m = (1 - a) * self._m + a * value
        self._w = (1 - a) * self._w + a
        self.mean = self._m / self._w
        if n >= 2:
            y0, y1 = self._val(n - 2), self._val(n - 1)
            if y1 >= y0 and y1 > value and y1 > self.mean:
                self._pk = 0.9 * self._pk + 0.1 * y1
                self._pw = 0.9 * self._pw + 0.1
        self.peak_level = self._pk / self._pw if self._pw > 0 else max(self.mean, 1e-12)

        changed = False
        for ag in list(self.agents):
            if n >= ag.due:
                self._step(ag, n)
                changed = True
        if changed:
            self.agents = [
                g
                for g in self.agents
                if g.misses <= 3
                and not (g.steps >= 6 and g.hitrate < 0.3)
                and 0.8 * self.min_p < g.period < 1.25 * self.max_p
            ]
        every = 25 if (self.best is None or self.best.quality < 1.0) else 100
        if n % every == 0 and n >= self.fps:
            self._induct(n)
            changed = True
        if changed:
            self._dedup()
            self._choose()
        return self._emit(n) if self.best is not None else []

    def _skips(self, ag: _Agent) -> float:
        """Factor in (0, 1] on ``ag``'s score: below 1 when onsets as strong as its beats lie between them
        and another agent, 2 or 3 times faster, hits them with quiet between its own beats (``ag`` skips
        beats: what the old agent does when a click track speeds up to a multiple of its tempo)."""
        if ag.mid <= self.SKIP_RATIO:
            return 1.0
        for g in self.agents:
            if g is not ag and g.mid < self.SKIP_RATIO - 0.25 and g.hitrate > 0.6:
                k = ag.period / g.period
                if abs(k - 2.0) < 0.1 or abs(k - 3.0) < 0.15:
                    return 1.0 - self.SKIP_PENALTY * min(1.0, (ag.mid - self.SKIP_RATIO) / self.SKIP_RAMP)
        return 1.0

    def _choose(self) -> None:
        if not self.agents:
            self.best = None
            return
        eff = {g.id: g.score * self._skips(g) for g in self.agents}
        best = max(self.agents, key=lambda g: (eff[g.id], -g.id))
        inc = self.best
        if inc is not None and inc in self.agents and best is not inc and eff[best.id] < self.HYSTERESIS * eff[inc.id]:
            best = inc
        self.best = best if best.quality > 0.15 else None

    def _emit(self, n: int) -> list[Beat]:
        ag = self.best
        key = (ag.id, ag.steps, len(ag.hist))
        if key == self._emit_key:
            return []
        self._emit_key = key
        h = ag.hist
        hits = [i for i, (_, hit) in enumerate(h) if hit]
        if not hits:
            return []
        p = ag.period
        out = []
        conf = self.confidence
        if conf < self.min_confidence:
            return []
        for i in range(hits[0], hits[-1] + 1):
            b, hit = h[i]
            if not hit and ((i > 0 and not h[i - 1][1]) or (i + 1 < len(h) and not h[i + 1][1])):
                continue  # two coasted beats in a row: the agent may have lost the beat there
            if b > self.last_emit + 0.6 * p and b >= n - self.max_delay:
                out.append(Beat(b, self.bpm_at(b), conf))
                self.last_emit = b
        return out

    def flush(self) -> list[Beat]:
        """End of input: the winner's last beats that found a peak but were still waiting for a later one."""
        ag = self.best
        if ag is None or self.confidence < self.min_confidence:
            return []
        out = []
        for b, hit in ag.hist:
            if hit and b > self.last_emit + 0.6 * ag.period and b >= self.n - self.max_delay:
                out.append(Beat(b, self.bpm_at(b), self.confidence))
                self.last_emit = b
        return out

    def _peak_near(self, lo: float, hi: float, pred: float, sigma: float, n: int) -> int:
        """The ODF local maximum in [lo, hi] (above the mean) that is largest after a Gaussian weight around ``pred``; -1 if none."""
        a = max(int(math.ceil(lo)), n - self.size + 2)
        b = min(int(math.floor(hi)), n - 2)
        best, bw = -1, 0.0
        thr = self.mean
        for m in range(a, b + 1):
            v = self._val(m)
            if v >= self._val(m - 1) and v > self._val(m + 1) and v > thr:
                wv = v * math.exp(-0.5 * ((m - pred) / sigma) ** 2)
                if wv > bw:
                    bw, best = wv, m
        return best

    def _tight(self, at: float, n: int) -> float:
        """Largest ODF value within +-SCORE_TOL frames of ``at`` (Gaussian-weighted)."""
        ip = int(round(at))
        best = 0.0
        for k in range(max(ip - SCORE_TOL - 1, n - self.size + 2), min(ip + SCORE_TOL + 1, n - 1) + 1):
            v = self._val(k) * math.exp(-0.5 * ((k - at) / SCORE_TOL) ** 2)
            if v > best:
                best = v
        return best

    def _inner(self, a: float, b: float, n: int) -> float:
        """Largest ODF value strictly between beats ``a`` and ``b`` (more than SCORE_TOL + 1 frames from both)."""
        lo = max(int(math.floor(a)) + SCORE_TOL + 2, n - self.size + 1)
        hi = min(int(math.ceil(b)) - SCORE_TOL - 2, n - 1)
        if hi < lo:
            return 0.0
        return float(self._window(lo, hi + 1).max())

    def _refine(self, m: int) -> float:
        y0, y1, y2 = self._val(m - 1), self._val(m), self._val(m + 1)
        den = y0 - 2 * y1 + y2
        d = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        return m + max(-0.5, min(0.5, d))

    def _window_bounds(self, ag: _Agent) -> tuple[float, float]:
        p = ag.period
        sb = ag.c[0] + self.R0
        return min(max(3.0, 2.5 * math.sqrt(sb)), 0.12 * p), sb

    def _set_due(self, ag: _Agent) -> None:
        win, _ = self._window_bounds(ag)
        ag.due = int(math.ceil(ag.nb + win + 2))

    def _step(self, ag: _Agent, n: int) -> None:
        """The window around ``ag``'s predicted beat has passed: find the beat, update, score."""
        p = ag.period
        pred = ag.nb
        win, sb = self._window_bounds(ag)
        sigma = max(math.sqrt(sb), 0.04 * p, 1.5)
        m = self._peak_near(pred - win, pred + win, pred, sigma, n)
        r = max(self.peak_level, 1e-12)
        e_abs = self._tight(pred, n)
        e = min(e_abs / r, EVIDENCE_CAP)
        prev = ag.last
        e_mid = self._inner(prev, pred, n)
        if m >= 0:
            obs = self._refine(m)
            strength = min(self._val(m) / r, 1.5)
            self._update(ag, obs, self.R0 / max(strength, 0.3))
            ag.hitval = self._val(m) if ag.hitval == 0.0 else 0.8 * ag.hitval + 0.2 * self._val(m)
            ag.misses = 0
            ag.hits += 1
            hit = 1.0
        else:
            outer = 0.35 * p
            hi = pred + min(outer, 25.0)
            # a parent that was quiet between its beats: two or more strong onsets on an even grid since its last
            # hit are beats of a new, faster tempo (80 -> 200, 120 -> 200 BPM); not where it heard off-beats all
            # along (music with eighth notes), nor for a single onset (a syncopated beat)
            # (quiet until at most one beat ago: the change may have begun before the last hit)
            quiet = min(ag.mid, ag.mid_before) < self.SKIP_RATIO - 0.25
            anchor, run = self._new_grid(ag, hi, 0.7 * r, n) if quiet else (0.0, [])
            if len(self.agents) < self.MAX_AGENTS + 2:
                if run:
                    interval = (run[-1] - anchor) / len(run)
                    if self.min_p <= interval <= self.max_p:
                        self._spawn_child(ag, run[-1], interval, run[:-1])
                        if ag is self.best and ag.steps > 8:
                            self._change(n, anchor)  # the winner missed where a faster grid began: a change point
                else:
                    mo = self._peak_near(pred - outer, hi, pred, 1e9, n)
                    if mo >= 0 and self._val(mo) > 0.7 * r and self.min_p <= mo - prev <= self.max_p:
                        self._spawn_child(ag, float(mo), mo - prev)
            ag.misses += 1
            hit = 0.0
        ag.steps += 1
        ag.hist.append((ag.nb, hit > 0))
        if len(ag.hist) > 12:
            del ag.hist[:-12]
        ag.last = ag.nb
        self._predict(ag)
        # running means over about 4 s; over the first beats of a fresh agent (born where the music may have
        # changed), the plain mean, so it is judged on its own beats within a few of them rather than on
        # its start values (not for the agents induced before anything won: a plain mean there made the
        # first seconds of dense music unstable, Vibe Ace 0.851 instead of 0.883 over all beats)
        alpha = 1.0 - math.exp(-p / self.fps / 4.0)
        if ag.fresh:
            alpha = max(alpha, 1.0 / (1.0 + ag.steps))
        ag.avg += alpha * (e - ag.avg)
        if hit:  # evidence between its beats, against the beat's, over the last few beats
            quiet = ag.mid < self.SKIP_RATIO - 0.25
            loud = self.SKIP_RATIO * max(e_abs, 1e-12)
            sub = next(
                (m for m in (2, 3) if all(self._tight(prev + j * (obs - prev) / m, n) >= loud for j in range(1, m))), 0
            )
            if sub and sub == ag.sub_m:
                ag.subdiv += 1
            else:
                ag.subdiv, ag.sub_m, ag.sub_quiet = int(sub > 0), sub, quiet
            ag.mid_before = ag.mid
            ag.mid += self.INNER_ALPHA * (min(e_mid / max(e_abs, 1e-12), 2.0) - ag.mid)
            if ag is self.best and ag.steps > 8 and quiet and ag.mid > self.SKIP_RATIO:
                # the winner was quiet between its beats and an onset as strong as its beat came between
                # two: a change point too (every agent is judged on its beats from here)
                for g in self.agents:
                    g.fresh, g.steps = True, 0
        ag.hitrate += alpha * (hit - ag.hitrate)
        self._rescore(ag)
        self._set_due(ag)
        if hit and ag is self.best and ag.subdiv >= self.SUBDIV_BEATS and ag.sub_quiet:
            self._subdivide(ag, n)

    def _subdivide(self, ag: _Agent, n: int) -> None:
        """The winner ``ag`` was quiet between its beats, then for its last ``SUBDIV_BEATS`` beats the points
        that split its interval in ``ag.sub_m`` (2 or 3) held onsets as strong as its beats: the tempo doubled
        or tripled (100 -> 200 BPM, where every other click still fits ``ag``).  Start the faster agent at the
        same phase, its history the beats and subdivisions of that run; ``ag`` now counts as skipping beats
        (see :meth:`_skips`) and every agent is judged on its beats from here.
        """
        k, ag.subdiv = ag.sub_m, 0
        period = ag.period / k
        if period < self.min_p or len(ag.hist) < self.SUBDIV_BEATS + 1:
            return
        beats = [b for b, _ in ag.hist[-(self.SUBDIV_BEATS + 1) :]]
        hist: list[tuple[float, bool]] = [(beats[0], True)]
        for a, b in pairwise(beats):
            for j in range(1, k):
                at = a + j * (b - a) / k
                m = self._peak_near(at - SCORE_TOL, at + SCORE_TOL, at, SCORE_TOL, n)
                hist.append((self._refine(m) if m >= 0 else at, m >= 0))
            hist.append((b, True))
        d = _Agent(self._next_id, hist[-1][0], period)
        self._next_id += 1
        d.vel, d.c = ag.vel, list(ag.c)
        d.hist, d.fresh = hist, True
        d.hits = sum(h for _, h in hist)
        d.hitrate = d.hits / len(hist)
        d.avg, d.hitval = ag.avg, ag.hitval
        ratios = [self._inner(a, b, n) / max(self._tight(b, n), 1e-12) for (a, _), (b, _) in pairwise(hist)]
        d.mid = d.mid_before = min(float(np.mean(ratios)), 2.0)
        self._rescore(d)
        self._set_due(d)
        self.agents.append(d)
        ag.mid = max(ag.mid, self.SKIP_RATIO + self.SKIP_RAMP)
        self._change(n, beats[0])

    def _change(self, n: int, since: float) -> None:
        """A change point seen in the winner's beats, after its beat ``since`` (frame): every agent is judged on
        its beats from here (an agent induced in the next ``CHANGE_HOLD_S`` on its beats after ``since``), and the
        tempogram, which has not heard the new rhythm yet, follows fast and weighs nothing meanwhile."""
        self.changed = True
        self._change_until = n + int(self.CHANGE_HOLD_S * self.fps)
        self._change_from = since
        for g in self.agents:
            g.fresh, g.steps = True, 0
            g.hits = sum(1 for b, h in g.hist if h and b >= since - SCORE_TOL)
            self._rescore(g)

    def _new_grid(self, ag: _Agent, hi: float, level: float, n: int) -> tuple[float, list[float]]:
        """``(anchor, onsets)``: ``ag``'s last hit, and the onsets above ``level`` (refined, at least two) on the even
        grid that starts there: the first one after ``anchor + 0.8 min_p`` and no later than ``hi``, then those
        continuing its spacing, up to now; ``(0, [])`` if there are fewer than two."""
        hits = [b for b, h in ag.hist if h]
        if not hits:
            return 0.0, []
        a = hits[-1]
        lo = a + 0.8 * self.min_p
        first = -1
        for k in range(max(int(math.ceil(lo)), n - self.size + 2), min(int(math.floor(hi)), n - 2) + 1):
            v = self._val(k)
            if v > level and v >= self._val(k - 1) and v > self._val(k + 1):
                first = k
                break
        if first < 0:
            return 0.0, []
        run = [self._refine(first)]
        d = run[0] - a
        while run[-1] + d + SCORE_TOL <= n - 2:
            at = run[-1] + d
            k = self._peak_near(at - SCORE_TOL, at + SCORE_TOL, at, SCORE_TOL, n)
            if k < 0 or self._val(k) <= level:
                break
            run.append(self._refine(k))
        return (a, run) if len(run) >= 2 else (0.0, [])

    def _spawn_child(self, parent: _Agent, beat: float, interval: float, grid: list[float] = ()) -> None:
        """A child of ``parent`` whose last beat is ``beat`` (the onsets of ``grid`` before it, since the parent's last beat)."""
        c = _Agent(self._next_id, beat - interval, interval)
        self._next_id += 1
        c.nb = beat
        c.fresh = True
        c.avg = 0.8 * parent.avg
        c.mid, c.mid_before = parent.mid, parent.mid_before
        c.hitrate = parent.hitrate
        c.hits = 1 + len(grid)
        first = grid[0] if grid else beat
        c.hist = [h for h in parent.hist if h[0] < first - SCORE_TOL] + [(g, True) for g in grid] + [(beat, True)]
        c.last = beat
        self._predict(c)
        self._rescore(c)
        self._set_due(c)
        self.agents.append(c)

    def _rescore(self, ag: _Agent) -> None:
        ag.quality = max(ag.avg, 0.0) * ag.hitrate**2 * (1.0 - math.exp(-ag.hits / 3.0)) * 0.5 ** max(0, ag.misses - 1)
        vb = self.best.vel if self.best is not None else 0.0
        w = 0.0 if self.changed else self.SALIENCE_WEIGHT * math.exp(-0.5 * (vb / self.STEADY_VEL) ** 2)
        ag.score = ag.quality * self.prior(ag.period) * (1.0 - w + w * self.salience(ag.period))

    # -- Kalman filter on (next beat, log interval, velocity) --------------------------
    def _update(self, ag: _Agent, z: float, r: float) -> None:
        bb, bl, bv, ll, lv, vv = ag.c
        s = bb + r
        k0, k1, k2 = bb / s, bl / s, bv / s
        y = z - ag.nb
        ag.nb += k0 * y
        ag.nl += k1 * y
        ag.vel = max(-self.VEL_MAX, min(self.VEL_MAX, ag.vel + k2 * y))
        # C - K (row 0 of C)
        ag.c = [bb - k0 * bb, bl - k0 * bl, bv - k0 * bv, ll - k1 * bl, lv - k1 * bv, vv - k2 * bv]

    def _predict(self, ag: _Agent) -> None:
        p = math.exp(ag.nl)
        nl = ag.nl + ag.vel * p
        pn = math.exp(nl)
        ag.nb += pn
        ag.nl = nl
        bb, bl, bv, ll, lv, vv = ag.c
        # F = [[1, pn, pn p], [0, 1, p], [0, 0, 1]]; C' = F C F^T + Q
        f01, f02, f12 = pn, pn * p, p
        r0 = (bb + f01 * bl + f02 * bv, bl + f01 * ll + f02 * lv, bv + f01 * lv + f02 * vv)  # row 0 of F C
        r1 = (bl + f12 * bv, ll + f12 * lv, lv + f12 * vv)  # row 1 of F C
        r2 = (bv, lv, vv)
        nbb = r0[0] + f01 * r0[1] + f02 * r0[2] + self.Q_BEAT
        nbl = r0[1] + f12 * r0[2]
        nbv = r0[2]
        nll = r1[1] + f12 * r1[2] + self.Q_LOG
        nlv = r1[2]
        nvv = r2[2] + self.Q_VEL * p
        ag.c = [nbb, nbl, nbv, nll, nlv, nvv]

    # -- bookkeeping --------------------------------------------------------------------
    def _dedup(self) -> None:
        keep: list[_Agent] = []
        for a in sorted(self.agents, key=lambda g: (-g.score, g.id)):
            dup = False
            for b in keep:
                if abs(a.nl - b.nl) < 0.05:
                    bp = b.period
                    ph = (a.nb - b.nb) % bp
                    if min(ph, bp - ph) < 0.1 * bp:
                        dup = True
                        break
            if not dup:
                keep.append(a)
        self.agents = keep[: self.MAX_AGENTS]

    def _update_tempogram(self, x: np.ndarray, n: int) -> None:
        w = min(len(x), int(self.TEMPOGRAM_WIN_S * self.fps))
        if w < 2 * self.min_p:
            return
        e = _detrend(np.ascontiguousarray(x[-w:]), 15)
        r = _acf(e, self._tg_len)
        if r[0] <= 0:
            return
        r /= r[0]
        dt = (n - self._tg_last) / self.fps if self._tg is not None else 1e9
        b = self.best
        steady = b is not None and b.misses < 2 and b.hitrate > 0.6
        if self._tg is not None and n - self._tg_first >= 2 * w:
            lo = int(self.min_p)
            changed = _cosine(r[lo:], self._tg[lo:]) < self.CHANGE_COS or n < self._change_until
            if changed and not self.changed:
                for g in self.agents:  # judged on their beats since the change from now on
                    g.fresh, g.steps = True, 0
            self.changed = changed
        steady = steady and not self.changed
        a = 1.0 - math.exp(-dt / (self.TEMPOGRAM_TAU_S if steady else self.TEMPOGRAM_FAST_S))
        if self._tg is None:
            self._tg_first = n
        self._tg = r if self._tg is None else (1 - a) * self._tg + a * r
        self._tg_last = n
        sal = _comb(self._tg, int(self.min_p), int(self.max_p), min(w, self._tg_len), 0.03)
        np.maximum(sal, 0.0, out=sal)
        self._tg_sal = sal
        self._tg_max = max(float(sal.max()), 1e-12)

    def _induct(self, n: int) -> None:
        """Propose agents from the autocorrelation of the last ``INDUCT_S`` seconds."""
        length = min(n, int(self.INDUCT_S * self.fps))
        x = self._window(n - length, n)
        max_p = int(min(self.max_p, 0.6 * length))
        min_p = int(self.min_p)
        if max_p <= min_p:
            return
        e = _detrend(x, 15)
        r = _acf(e, 2 * max_p + 8)
        if r[0] <= 0:
            return
        r /= r[0]
        self._update_tempogram(x, n)
        sal = _comb(r, min_p, max_p, length, 0.05)
        self.rhythm = float(sal[min_p:].max())
        self.median = float(np.median(x[-min(length, int(self.fps * 4)) :]))
        ks = np.arange(min_p, max_p + 1)
        weighted = sal[min_p:] * self._prior_array(ks)
        order = np.argsort(-weighted, kind="stable")
        dt = (n - self._rh_last) / self.fps
        self._rh_last = n
        a = 1.0 - math.exp(-dt / self.RHYTHM_TAU_S) if self._rh_seen else 1.0
        self._rh_seen = True
        self.rhythm_level += a * (self.rhythm - self.rhythm_level)
        cands: list[int] = []
        for i in order:
            if weighted[i] <= 0 or len(cands) >= 3:
                break
            k = int(ks[i])
            if all(abs(math.log(k / c)) > 0.08 for c in cands):
                cands.append(k)
        for period in cands:
            agent = self._agent_from_history(x, n, length, period)
            if agent is None:
                continue
            dup = False
            for a in self.agents:
                if abs(a.nl - agent.nl) < 0.06:
                    ap = a.period
                    ph = (a.nb - agent.nb) % ap
                    if min(ph, ap - ph) < 0.15 * ap:
                        dup = True
                        break
            if not dup:
                agent.fresh = self.best is not None  # proposed against a winner: the music may have changed
                self.agents.append(agent)

    def _agent_from_history(self, x: np.ndarray, n: int, length: int, period: int) -> _Agent | None:
        """Walk back through the ODF peaks from the best-aligned grid of ``period``; fit an agent to them."""
        ph = _best_phase(x, period)
        pos: list[float] = []
        sup: list[bool] = []
        target = float(length - 1 - ph)
        pc = float(period)
        mean = self.mean
        while target >= 1 and len(pos) < 10:
            rad = max(3.0, 0.15 * pc)
            j0 = max(int(math.ceil(target - rad)), 1)
            j1 = min(int(target + rad), length - 2)
            bj, bw = -1, 0.0
            for j in range(j0, j1 + 1):
                if x[j] >= x[j - 1] and x[j] > x[j + 1] and x[j] > mean:
                    wv = x[j] * math.exp(-0.5 * ((j - target) / (0.5 * rad)) ** 2)
                    if wv > bw:
                        bw, bj = wv, j
            if bj >= 0:
                y0, y1, y2 = x[bj - 1], x[bj], x[bj + 1]
                den = y0 - 2 * y1 + y2
                p = bj + (max(-0.5, min(0.5, 0.5 * (y0 - y2) / den)) if den < 0 else 0.0)
                if pos and sup[-1]:
                    pc = 0.5 * pc + 0.5 * (pos[-1] - p)
                pos.append(p)
                sup.append(True)
            else:
                pos.append(target)
                sup.append(False)
            target = pos[-1] - pc
        if not pos:
            return None
        pos.reverse()
        sup.reverse()
        ks = [float(i) for i, ok in enumerate(sup) if ok]
        ps = [p for p, ok in zip(pos, sup, strict=True) if ok]
        pfit = float(period)
        if len(ks) >= 2:
            slope = _line_slope(ks, ps)
            if abs(slope / period - 1) < 0.1:
                pfit = slope
        vel = 0.0
        if len(ks) >= 3:
            c2, c1 = _parabola(ks, ps)
            ik = 2 * c2 * (len(pos) - 1) + c1
            if ik > 0:
                vel = max(-self.VEL_MAX, min(self.VEL_MAX, 2 * c2 / ik**2))
                pn = ik * math.exp(vel * ik * 0.5)
                if abs(pn / pfit - 1) < 0.25:
                    pfit = pn
                else:
                    vel = 0.0
        base = float(n - length)
        ag = _Agent(self._next_id, base + pos[-1], pfit)
        self._next_id += 1
        ag.vel = vel
        ag.hist = [(base + p, s) for p, s in zip(pos, sup, strict=True)][-8:]
        # after a change point seen in the winner's beats, judged on its beats since (not on a fit across it)
        since = self._change_from - SCORE_TOL if n < self._change_until else -math.inf
        recent = [s for b, s in ag.hist if b >= since]
        ag.hits = int(sum(recent))
        ag.hitrate = ag.hits / max(len(recent), 1)
        r = max(self.peak_level, 1e-12)
        ev, mid = [], []
        for (p1, _), (p2, hit) in pairwise(ag.hist):
            if p1 < since:
                continue
            j = int(round(p2 - base))
            w = x[max(j - SCORE_TOL, 0) : max(j + SCORE_TOL + 1, 0)]
            v = float(w.max()) if len(w) else 0.0
            ev.append(min(v / r, EVIDENCE_CAP))
            lo, hi = int(math.floor(p1 - base)) + SCORE_TOL + 2, int(math.ceil(p2 - base)) - SCORE_TOL - 2
            if hit and v > 0 and 0 <= lo <= hi < len(x):
                mid.append(min(float(x[lo : hi + 1].max()) / v, 2.0))
        if ev:
            ag.avg = float(np.mean(ev))
        if mid:
            ag.mid = float(np.mean(mid[-3:]))
        ag.mid_before = ag.mid
        self._rescore(ag)
        self._set_due(ag)
        return ag

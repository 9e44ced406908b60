"""The ``moments`` stage: loudness peaks and drops, silences, speech starts/ends, and cut suggestions.

It analyses no audio itself: it listens to the events of the stages before it in
the pipeline (``levels`` is required; ``vad``, ``beats`` and ``sections`` are used
when they run) and turns them into :class:`~rtaudio.events.KeyMoment` events:

``loudness_peak``
    the momentary loudness (400 ms) is a local maximum over +-``peak_window_s`` and
    at least ``peak_lu`` above the short-term loudness (3 s) around it; score grows
    with the excess (12 LU -> 1), label ``"+8 LU"``.
``loudness_drop``
    the momentary loudness falls by at least ``drop_lu`` within 1 s from a level
    above ``-40 LUFS``; score = fall / 30 LU, label ``"-18 LU"``.
``silence_start`` / ``silence_end``
    the RMS of every 100 ms hop stays below ``silence_dbfs`` for at least
    ``min_silence_s``; the start is reported once that long, the end when sound
    returns (label: the duration).
``speech_start`` / ``speech_end``
    from the VAD's :class:`~rtaudio.events.SpeechStart` / :class:`~rtaudio.events.SpeechEnd`
    (score: the VAD's confidence; 1 for ends).
``cut_suggestion``
    places where an editor can cut, ranked by ``score``:

    ============================================  =====================  =====
    candidate                                      where                 score
    ============================================  =====================  =====
    a speech pause (>= ``min_pause_s``) with a     the beat nearest the  0.8 + 0.2 x beat confidence
    beat (score >= ``beat_min_score``) inside it   pause's middle
    a speech pause without a beat                  the pause's middle    0.5 + 0.2 x min(1, pause / 1 s)
    a silence (no speech around) with a beat       the beat nearest the  0.6 + 0.2 x beat confidence
                                                   silence's middle
    a silence without a beat                       its middle            0.55
    a section change                               the downbeat within   0.4 + 0.3 x section score
                                                   +-0.5 s, else itself  (+ 0.1 on a downbeat)
    a loudness drop                                the drop              0.3 + 0.15 x drop score
    ============================================  =====================  =====

    Candidates inside speech (between a speech start and its end) are dropped; of
    two candidates closer than ``min_cut_gap_s`` the better one stays.  A candidate
    is decided ``decide_after_s`` after its time (beats arrive up to 4 s late), the
    rest at the end of input; with ``mode="offline"`` every candidate is decided at the
    end of input (for beats and sections that come only then: their offline modes).

Times are on the source clock (the stage runs at the source rate and reads the
time from its frames).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

from rtaudio.errors import ParameterError
from rtaudio.events import Event, KeyMoment, Levels, SpeechEnd, SpeechStart
from rtaudio.stages.base import Frame, Stage, check_params, check_sample_rate
from rtaudio.stages.beats import _number


@dataclass(frozen=True)
class MomentsParams:
    """Parameters of the ``moments`` stage (see the module docstring).

    Attributes
    ----------
    peak_lu : float >= 0, LU
        Excess of momentary over short-term loudness for a loudness peak (default 6).
    peak_window_s : float > 0, s
        Half-width of the window a loudness peak must dominate (default 1.5).
    drop_lu : float > 0, LU
        Fall within 1 s that makes a loudness drop (default 15).
    silence_dbfs : float, dBFS
        RMS below which a hop is silent (default -50).
    min_silence_s : float > 0, s
        Shortest silence reported (default 0.5).
    min_pause_s : float > 0, s
        Shortest speech pause that suggests a cut (default 0.3).
    min_cut_gap_s : float >= 0, s
        Closest two cut suggestions may be (default 1.0).
    decide_after_s : float >= 4.5, s
        Delay before a cut candidate is decided (default 6).
    beat_min_score : float in [0, 1]
        Beats scoring below this (the tracker's confidence: speech and noise give low ones)
        do not count for "on a beat" (default 0.3).
    mode : {"online", "offline"}
        Decide cut candidates ``decide_after_s`` late, or all at the end of input (default "online").
    """

    peak_lu: float = 6.0
    peak_window_s: float = 1.5
    drop_lu: float = 15.0
    silence_dbfs: float = -50.0
    min_silence_s: float = 0.5
    min_pause_s: float = 0.3
    min_cut_gap_s: float = 1.0
    decide_after_s: float = 6.0
    beat_min_score: float = 0.3
    mode: str = "online"

    def __post_init__(self):
        if self.mode not in ("online", "offline"):
            raise ParameterError(f"mode={self.mode!r} must be 'online' or 'offline'")
        _number(self.peak_lu, "peak_lu", 0.0)
        _number(self.peak_window_s, "peak_window_s", 0.1, 30.0)
        _number(self.drop_lu, "drop_lu", 1.0)
        _number(self.silence_dbfs, "silence_dbfs", -200.0, 0.0)
        _number(self.min_silence_s, "min_silence_s", 0.05)
        _number(self.min_pause_s, "min_pause_s", 0.05)
        _number(self.min_cut_gap_s, "min_cut_gap_s", 0.0)
        _number(self.decide_after_s, "decide_after_s", 4.5, 600.0)
        _number(self.beat_min_score, "beat_min_score", 0.0, 1.0)


class MomentsStage(Stage):
    """Key moments from other stages' events (see the module docstring).

    Parameters
    ----------
    params : MomentsParams
    sample_rate : int > 0, Hz
        The source rate; the stage runs at it.

    Raises
    ------
    ParameterError
        (from :meth:`process`) no ``levels`` event arrived in the first second: the
        ``levels`` stage must run before this one.
    """

    name = "moments"
    emits = (KeyMoment,)
    rate = None
    listens = (Levels, SpeechStart, SpeechEnd, KeyMoment)

    def __init__(self, params: MomentsParams | None = None, *, sample_rate: int):
        self.params = check_params(params, MomentsParams)
        check_sample_rate(sample_rate)
        self.sample_rate = int(sample_rate)
        self.reset()

    def reset(self) -> None:
        self._levels: list[Levels] = []  # recent hops (a few seconds)
        self._heard_levels = False
        self._now = 0
        self._out: list[Event] = []
        self._silence_from: int | None = None
        self._silence_reported = False
        self._speaking_since: int | None = None
        self._speech_end: tuple[int, float] | None = None  # last speech end (t, conf)
        self._speech: list[tuple[int, int]] = []  # closed speech intervals
        self._ever_speech = False
        self._beats: list[tuple[int, float]] = []  # (t, confidence), sorted
        self._downbeats: list[int] = []
        self._cands: list[tuple[int, float, str, str]] = []  # (t, score, label, origin)
        self._silences: list[tuple[int, int]] = []
        self._last_peak = -(10**18)
        self._cuts: list[tuple[int, float, str]] = []
        self._pauses: list[tuple[int, int]] = []  # speech pauses (start, end)
        self._dropping = False
        self._prev_t = 0  # end of the previous levels hop

    # -- listening ---------------------------------------------------------------------
    def observe(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Levels):
                self._heard_levels = True
                self._on_levels(e)
            elif isinstance(e, SpeechStart):
                self._out.append(KeyMoment(e.t, "speech_start", round(float(e.confidence), 3), "speech"))
                self._ever_speech = True
                if self._speech_end is not None:
                    t_end = self._speech_end[0]
                    if (e.t - t_end) >= self.params.min_pause_s * self.sample_rate:
                        self._pauses.append((t_end, e.t))
                        self._add_pause(t_end, e.t, "speech pause")
                self._speaking_since = e.t
                self._speech_end = None
            elif isinstance(e, SpeechEnd):
                self._out.append(KeyMoment(e.t, "speech_end", 1.0, "speech"))
                if self._speaking_since is not None:
                    self._speech.append((self._speaking_since, e.t))
                self._speaking_since = None
                self._speech_end = (e.t, 1.0)
            elif isinstance(e, KeyMoment):
                if e.kind == "beat" and e.score >= self.params.beat_min_score:
                    i = bisect_left(self._beats, (e.t, -1.0))
                    self._beats.insert(i, (e.t, float(e.score)))
                elif e.kind == "downbeat":
                    self._downbeats.insert(bisect_left(self._downbeats, e.t), e.t)
                elif e.kind == "section":
                    self._cands.append((e.t, 0.4 + 0.3 * float(e.score), "section change", "section"))

    def _add_pause(self, a: int, b: int, origin: str) -> None:
        self._cands.append(((a + b) // 2, 0.0, f"{(b - a) / self.sample_rate:.1f} s", origin + f"|{a}|{b}"))

    def _on_levels(self, e: Levels) -> None:
        p = self.params
        rate = self.sample_rate
        self._levels.append(e)
        keep = int((2 * p.peak_window_s + 2.0) * rate)
        while self._levels and self._levels[0].t < e.t - keep:
            self._levels.pop(0)
        # silence
        silent = e.rms_dbfs < p.silence_dbfs
        hop_start, self._prev_t = self._prev_t, e.t
        if silent:
            if self._silence_from is None:
                self._silence_from = hop_start
            dur = e.t - self._silence_from
            if not self._silence_reported and dur >= p.min_silence_s * rate:
                self._out.append(KeyMoment(self._silence_from, "silence_start", 1.0, "silence"))
                self._silence_reported = True
        elif self._silence_from is not None:
            start, end = self._silence_from, hop_start
            if self._silence_reported:
                self._out.append(KeyMoment(end, "silence_end", 1.0, f"{(end - start) / rate:.1f} s"))
                self._silences.append((start, end))
                self._add_pause(start, end, "silence")
            self._silence_from = None
            self._silence_reported = False
        self._loudness(e)

    def _loudness(self, e: Levels) -> None:
        p = self.params
        rate = self.sample_rate
        lv = self._levels
        # peak: the hop half a window back is the max of +-window and exceeds its short-term loudness
        win = int(p.peak_window_s * rate)
        mid_t = e.t - win
        idx = [i for i, l in enumerate(lv) if abs(l.t - mid_t) <= rate // 20]
        if idx:
            c = lv[idx[0]]
            around = [l.momentary_lufs for l in lv if abs(l.t - c.t) <= win]
            if (
                math.isfinite(c.momentary_lufs)
                and c.momentary_lufs >= max(around)
                and c.momentary_lufs > -40.0
                and math.isfinite(c.short_term_lufs)
            ):
                excess = c.momentary_lufs - c.short_term_lufs
                if excess >= p.peak_lu and c.t - self._last_peak > win:
                    self._last_peak = c.t
                    self._out.append(
                        KeyMoment(c.t, "loudness_peak", round(min(1.0, excess / 12.0), 3), f"+{excess:.0f} LU")
                    )
        # drop: momentary now vs the max of the last second
        past = [l.momentary_lufs for l in lv if e.t - rate <= l.t < e.t and math.isfinite(l.momentary_lufs)]
        if past:
            top = max(past)
            now = e.momentary_lufs if math.isfinite(e.momentary_lufs) else -120.0
            fall = top - now
            if top > -40.0 and fall >= p.drop_lu and not self._dropping:
                self._dropping = True
                score = min(1.0, fall / 30.0)
                self._out.append(KeyMoment(e.t, "loudness_drop", round(score, 3), f"-{fall:.0f} LU"))
                self._cands.append((e.t, 0.3 + 0.15 * score, "after a drop", "drop"))
            elif fall < p.drop_lu / 2:
                self._dropping = False

    # -- deciding cut suggestions ------------------------------------------------------------
    def _nearest_beat(self, lo: int, hi: int, at: int) -> tuple[int, float] | None:
        i = bisect_left(self._beats, (lo, -1.0))
        best = None
        while i < len(self._beats) and self._beats[i][0] <= hi:
            if best is None or abs(self._beats[i][0] - at) < abs(best[0] - at):
                best = self._beats[i]
            i += 1
        return best

    def _in_speech(self, t: int) -> bool:
        for a, b in self._speech:
            if a < t < b:
                return True
        return self._speaking_since is not None and t > self._speaking_since

    def _decide(self, cand: tuple[int, float, str, str]) -> tuple[int, float, str] | None:
        t, score, label, origin = cand
        rate = self.sample_rate
        if origin.startswith(("speech pause", "silence")):
            kind, a, b = origin.split("|")
            a, b = int(a), int(b)
            gap = (b - a) / rate
            if kind == "silence" and any(u <= b and v >= a for u, v in self._pauses):
                return None  # the speech pause over the same gap stands for it
            beat = self._nearest_beat(a, b, t)
            if kind == "speech pause":
                if beat is not None:
                    return beat[0], 0.8 + 0.2 * beat[1], f"pause on beat ({gap:.1f} s)"
                return t, 0.5 + 0.2 * min(1.0, gap), f"speech pause ({gap:.1f} s)"
            if beat is not None:
                return beat[0], 0.6 + 0.2 * beat[1], f"silence, on beat ({gap:.1f} s)"
            return t, 0.55, f"silence ({gap:.1f} s)"
        if self._in_speech(t):
            return None
        if origin == "section":
            i = bisect_left(self._downbeats, t - rate // 2)
            if i < len(self._downbeats) and abs(self._downbeats[i] - t) <= rate // 2:
                return self._downbeats[i], score + 0.1, "section change, on downbeat"
            return t, score, label
        return t, score, label

    def _flush_cands(self, upto: int | None) -> list[Event]:
        rate = self.sample_rate
        due = [c for c in self._cands if upto is None or c[0] <= upto]
        if not due:
            return []
        self._cands = [c for c in self._cands if not (upto is None or c[0] <= upto)]
        gap = int(self.params.min_cut_gap_s * rate)
        decided = [d for d in (self._decide(c) for c in due) if d is not None]
        new: list[tuple[int, float, str]] = []
        for t, score, label in sorted(decided, key=lambda d: (-d[1], d[0])):  # better first
            if any(abs(u - t) < gap for u, _, _ in self._cuts + new):
                continue
            new.append((t, round(min(1.0, score), 3), label))
        self._cuts += new
        self._cuts = self._cuts[-64:]
        return [KeyMoment(t, "cut_suggestion", s, label) for t, s, label in sorted(new)]

    # -- frames ------------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Event]:
        """Report the moments the events heard so far make certain; ``frame`` only gives the time."""
        self._now = frame.end
        if not self._heard_levels and self._now > self.sample_rate:
            raise ParameterError(
                "the moments stage needs the levels stage before it in the pipeline "
                "(e.g. stages=levels,beats,moments); no levels event arrived in the first second",
                params=("stages",),
            )
        out, self._out = self._out, []
        if self.params.mode == "online":
            out += self._flush_cands(self._now - int(self.params.decide_after_s * self.sample_rate))
        return out

    def flush(self) -> list[Event]:
        """End of input: report a silence still open, and decide every remaining cut candidate."""
        out, self._out = self._out, []
        if self._silence_from is not None and self._silence_reported:
            end = self._levels[-1].t if self._levels else self._now
            out.append(KeyMoment(end, "silence_end", 1.0, f"{(end - self._silence_from) / self.sample_rate:.1f} s"))
            self._add_pause(self._silence_from, end, "silence")
        out += self._flush_cands(None)
        return out

"""Where each join happens, per stem: snapping to pauses and beats, music slips, continuous runs.

The picture is never moved: segment ``k`` plays source ``[s_k, e_k]`` at output
``[O_k, O_k + e_k - s_k]``, and the output lasts exactly as long as the cut list.
Snapping moves where the *sound* switches from one segment to the next, the way
an editor makes an L- or J-cut, so each segment's sound stays in sync with its
picture:

* **dialogue**: the switch moves by ``d`` (within the tolerance) to where both
  sides are in a pause: segment ``k`` is heard up to ``O_{k+1} + d`` (source
  ``e_k + d``), segment ``k+1`` from there (source ``s_{k+1} + d``).  With
  separated stems the two sides may move apart (``a`` out, ``b`` in) when no
  shared pause exists: a short gap in the dialogue, or an overlap where only one
  side speaks.  Fades of ``dialogue_fade_ms`` end and start at zero crossings.
* **music** (``join``): the incoming music may *slip* against its picture by up
  to the tolerance so that its beats continue the outgoing music's (the beats of
  one tracking pass over the whole source, so both sides count beats the same
  way); the one-beat equal-power crossfade starts on a beat of the outgoing
  music, at the candidate (beat, slip) whose harmony (chroma) and timbre (mel
  spectrum) match best across the crossfade.
* **music** (``continuous``): a run of segments joined this way plays the music
  of the run's first segment on; what the cuts removed is removed from the music
  at bar boundaries instead, with one jump where the bars before and after the
  jump sound most alike (one-beat crossfade).

The plan is cheap (no audio is touched); a re-render after a cut-list edit
only re-plans and re-renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rtaudio.jobs.soundtrack.beats import Beats
from rtaudio.jobs.soundtrack.cutlist import CutList
from rtaudio.jobs.soundtrack.features import Features
from rtaudio.jobs.soundtrack.params import SoundtrackParams
from rtaudio.jobs.soundtrack.speech import Speech, outside, refine_words

#: Edge fade (s) at the very start and end of the output.
EDGE_FADE_S = 0.005
#: Share of a segment a join may reach into (so neighbouring joins never meet).
REACH = 0.45
#: Longest default crossfade (s): one beat, but no more than this for slow music.
MAX_BEAT_CROSSFADE_S = 0.6


@dataclass
class Analysis:
    """What the planner knows about the source (all times in source seconds).

    Attributes
    ----------
    duration : float, s
    separated : bool
        True: ``dialogue`` and ``music`` stems; False: one ``mix`` stem.
    music : Features
        Features of the music stem (the mix when not separated).
    beats : Beats
        Beats of the music stem.
    speech : Speech
        Speech of the dialogue stem (the mix when not separated).
    dialogue_rms_db : ndarray
        Frame RMS of the dialogue stem (dB), for the least-speech fallback.
    """

    duration: float
    separated: bool
    music: Features
    beats: Beats
    speech: Speech
    dialogue_rms_db: np.ndarray

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for the cache and for tasks (:meth:`from_arrays` reads them back)."""
        arrays = {
            "duration": np.array([self.duration]),
            "separated": np.array([self.separated]),
            "dialogue_rms_db": self.dialogue_rms_db,
        }
        arrays.update(self.music.as_arrays("music_"))
        arrays.update(self.beats.as_arrays("beats_"))
        arrays.update(self.speech.as_arrays("speech_"))
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> Analysis:
        return cls(
            float(arrays["duration"][0]),
            bool(arrays["separated"][0]),
            Features.from_arrays(arrays, "music_"),
            Beats.from_arrays(arrays, "beats_"),
            Speech.from_arrays(arrays, "speech_"),
            np.asarray(arrays["dialogue_rms_db"]),
        )


@dataclass
class Piece:
    """One stretch of a stem in the output, ``[out0, out1]`` (s).

    It plays the source in sync with the picture of segment ``segment``, shifted
    by ``slip`` seconds (source time = output time + picture offset of the
    segment + slip; the renderer takes the picture offset in whole samples, so
    an unslipped piece lands on exactly the samples the cut list names).
    ``fade_in`` seconds from ``out0`` and ``fade_out`` seconds up to ``out1`` are
    faded with ``shape_in``/``shape_out``: ``power`` (equal-power crossfade,
    sin/cos) or ``cosine`` (raised cosine, for short fades); ``zc_in``/``zc_out``
    move that edge to the nearest zero crossing of the source (within 2 ms).
    """

    out0: float
    out1: float
    segment: int
    slip: float
    fade_in: float
    fade_out: float
    shape_in: str = "power"
    shape_out: str = "power"
    zc_in: bool = False
    zc_out: bool = False


@dataclass
class Transition:
    """A switch inside a stem: the current piece ends at ``a_end`` (faded over ``a_fade``),
    the next one starts at ``b_start`` (faded in over ``b_fade``) playing segment
    ``segment``'s source slipped by ``slip`` seconds."""

    a_end: float
    b_start: float
    a_fade: float
    b_fade: float
    segment: int
    slip: float
    shape: str
    zero_cross: bool


@dataclass
class JoinPlan:
    """What happens at one join (between segment ``index`` and ``index + 1``, 0-based).

    Times in seconds; ``*_ms`` fields in milliseconds relative to the cut.
    """

    index: int
    kind: str  # "cut" or "music_jump"
    output_time: float
    src_out: float
    src_in: float
    rule: str  # "dialogue+music", "dialogue", "music"
    music_mode: str
    snap: bool
    snap_dialogue_ms: float | None = None
    snap_dialogue_in_ms: float | None = None
    snap_music_ms: float | None = None
    music_slip_ms: float | None = None
    crossfade_ms: float | None = None
    region: tuple[float, float] = (0.0, 0.0)
    music_switch: float | None = None  # output time the music switches (crossfade start)
    music_offsets: tuple[float, float] | None = None  # source minus output time of the outgoing, incoming music
    beat_phase_error_ms: float | None = None
    similarity: float | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overrides: dict = field(default_factory=dict)


@dataclass
class Plan:
    """Pieces per stem and the joins, for one render."""

    stems: dict[str, list[Piece]]
    joins: list[JoinPlan]
    duration: float
    segment_starts: list[float]
    music_offsets: list[float]  # per segment: source minus output time of its music (s)
    music_at_join: list[tuple[int, float]] = field(default_factory=list)  # (segment, slip) playing into each join


# ---------------------------------------------------------------------------------------------- helpers


def _window_mean(values: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Mean of feature frames between source times t0 and t1 (s); zeros outside the signal."""
    f0 = max(0, int(Features.frame_of(t0)))
    f1 = min(len(values), int(Features.frame_of(t1)) + 1)
    if f1 <= f0:
        shape = values.shape[1:] if values.ndim > 1 else ()
        return np.zeros(shape, np.float64)
    return values[f0:f1].astype(np.float64).mean(axis=0)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def similarity(music: Features, a_src: tuple[float, float], b_src: tuple[float, float]) -> tuple[float, float, float]:
    """(chroma cosine, timbre cosine, level difference dB) of two source windows of the music stem."""
    ca = _window_mean(music.chroma, *a_src)
    cb = _window_mean(music.chroma, *b_src)
    ma = _window_mean(music.mel_db, *a_src)
    mb = _window_mean(music.mel_db, *b_src)
    timbre = _cos(ma - ma.mean(), mb - mb.mean()) if ma.size and mb.size else 0.0
    la = float(_window_mean(music.rms_db, *a_src))
    lb = float(_window_mean(music.rms_db, *b_src))
    return _cos(ca, cb), timbre, abs(la - lb)


def beat_alignment(
    beats: np.ndarray, off_a: float, off_b: float, t0: float, t1: float, period: float | None = None
) -> float | None:
    """How far apart (ms) the outgoing and incoming beats fall around a join: the median, over the outgoing
    beats in output ``[t0, t1]``, of the distance to the nearest incoming beat.

    The outgoing music plays source ``t + off_a`` at output time ``t`` (its beats read on
    past the cut in the source), the incoming ``t + off_b``; ``beats`` are source times.
    0 when the incoming beats continue the outgoing ones; None with fewer than 2 beats
    on either side.  With ``period`` (s), beats may be missing (:meth:`Beats.on_grid` left
    some out): where the nearest incoming beat is a period or more away (a hole), the distance
    is to the nearest multiple of ``period`` from it (the phase difference); None when it is
    more than two periods away.  Where the incoming beats are all there, the same as without.
    """
    a = beats - off_a
    a = a[(a >= t0) & (a <= t1)]
    b = beats - off_b
    b = b[(b >= t0 - 1.0) & (b <= t1 + 1.0)]
    if len(a) < 2 or len(b) < 2:
        return None
    d = a[:, None] - b[None, :]
    d = d[np.arange(len(a)), np.argmin(np.abs(d), axis=1)]  # to the nearest incoming beat
    if period is None or period <= 0:
        return float(1000.0 * np.median(np.abs(d)))
    d = d[np.abs(d) <= 2.0 * period + 1e-9]
    if not len(d):
        return None
    return float(1000.0 * np.median(np.abs(d - period * np.round(d / period))))


def _holes_filled(t: np.ndarray, period: float) -> np.ndarray:
    """Beat times ``t`` (s, increasing) and, where no beat is within a quarter ``period`` (s) of a
    beat's neighbour one period before or after it (a beat left out), that neighbour."""
    if len(t) < 2:
        return t
    near = np.concatenate([t - period, t + period])
    gap = np.min(np.abs(near[:, None] - t[None, :]), axis=1) > 0.25 * period
    return np.unique(np.concatenate([t, near[gap & (near > t[0]) & (near < t[-1])]]))


#: How far (s) a dialogue switch may reach into a word of the STT stage before it counts as inside it.
WORD_SLACK_S = 0.02
#: How far (s) a switch keeps from the words around a pause between them (at most half the pause):
#: Whisper's word edges move by 20-230 ms between two hearings of the same speech (docs/soundtrack.md).
WORD_EDGE_S = 0.1
#: Speech the detectors hear for this long (s) with no word of the recogniser within WORD_EDGE_S counts
#: as a word it missed: no place for a switch.
MISSED_SPEECH_S = 0.15


def _pause_candidates(pauses: np.ndarray, cut: float, lo: float, hi: float, base: float) -> list[float]:
    """Shifts d in [lo, hi] (s) that put source time ``cut + d`` inside a pause, keeping its margin.

    ``pauses`` rows are ``(start, end, margin)``; for each pause the point nearest to
    ``cut + base``; sorted by distance from ``base``.
    """
    out = []
    for p0, p1, margin in pauses:
        a, b = p0 + margin - cut, p1 - margin - cut
        if p0 <= 0.0:
            a = p0 - cut  # the source start: no speech before it
        a, b = max(a, lo), min(b, hi)
        if a <= b:
            out.append(float(np.clip(base, a, b)))
    return sorted(set(out), key=lambda d: abs(d - base))


# ---------------------------------------------------------------------------------------------- planner


class Planner:
    """Builds a :class:`Plan` from a cut list, the analysis and the settings."""

    def __init__(self, cuts: CutList, analysis: Analysis, params: SoundtrackParams, rate: int):
        self.cuts = cuts
        self.an = analysis
        self.p = params
        self.rate = rate
        self.tol = params.tolerance_ms / 1000.0
        self.src, self.starts = segment_table(cuts, rate)
        self.lengths = [e - s for s, e in self.src]
        self.duration = float(self.starts[-1])
        #: The beats the music joins align on: the tracker's, without those off the grid of their neighbours.
        self.beats = analysis.beats.on_grid()
        margin = params.pause_margin_ms / 1000.0
        pauses = analysis.speech.pauses(params.min_pause_ms / 1000.0)
        self.words = analysis.speech.words if params.words else None
        texts = analysis.speech.word_texts
        self.word_texts = (
            texts if self.words is not None and texts is not None and len(texts) == len(self.words) else None
        )
        if self.words is not None and params.word_refine_ms > 0:
            self.words = refine_words(self.words, analysis.dialogue_rms_db, params.word_refine_ms / 1000.0)
        rows, touching = [], []
        if self.words is not None and len(self.words):
            # a pause of the detectors inside a word (a stop closure, a dip of the voice) is no place to cut
            pauses = outside(pauses, self.words, WORD_SLACK_S)
            w = self.words
            gaps = np.stack([w[:-1, 1], np.maximum(w[:-1, 1], w[1:, 0])], axis=1)
            wide = gaps[:, 1] - gaps[:, 0] >= params.min_pause_ms / 1000.0
            touching = [(g0, g1, 0.0) for g0, g1 in gaps[~wide]]  # words that touch: a boundary, no pause
            # speech the recogniser heard no word in (a missed word, or the detector's hangover) stays uncut
            missed = outside(analysis.speech.segments, w, -WORD_EDGE_S)
            missed = missed[missed[:, 1] - missed[:, 0] >= MISSED_SPEECH_S]
            for g0, g1 in outside(gaps[wide], missed, -WORD_EDGE_S):
                if g1 - g0 >= params.min_pause_ms / 1000.0:
                    rows.append((g0, g1, min(WORD_EDGE_S, (g1 - g0) / 2)))
        rows += [(p0, p1, margin) for p0, p1 in pauses]
        #: Pauses (start, end, margin) s: the detectors' outside words, and the gaps between words.
        self.pauses = np.array(sorted(rows), dtype=np.float64).reshape(-1, 3)
        #: Boundaries between touching words (start, end, 0) s: used where no pause is within reach.
        self.boundaries = np.array(sorted(touching), dtype=np.float64).reshape(-1, 3)

    def picture_offset(self, k: int) -> float:
        """Source time minus output time of segment ``k`` in sync with its picture (s)."""
        return self.src[k][0] - self.starts[k]

    def segment_at(self, t: float) -> int:
        """Segment whose picture is on screen at output time ``t``."""
        return int(np.clip(np.searchsorted(self.starts, t, side="right") - 1, 0, len(self.src) - 1))

    # ------------------------------------------------------------------ settings of a join

    def join_settings(self, j: int) -> tuple[str, bool, float, float | None, dict]:
        """(music mode, snap, offset s, crossfade s or None, overrides) of join ``j`` (into segment j+1)."""
        o = self.cuts.segments[j + 1].overrides
        mode = o.music or self.p.music
        snap = self.p.snap if o.snap is None else o.snap
        offset = (o.offset_ms or 0.0) / 1000.0
        xfade = o.crossfade_ms if o.crossfade_ms is not None else self.p.crossfade_ms
        return mode, snap, offset, (None if xfade is None else xfade / 1000.0), o.as_dict()

    def bounds(self, j: int) -> tuple[float, float]:
        """How far join ``j`` may reach before (< 0) and after (> 0) the cut (s)."""
        e, s = self.src[j][1], self.src[j + 1][0]
        lo = -REACH * self.lengths[j]
        hi = REACH * self.lengths[j + 1]
        lo = max(lo, -s)  # the incoming side cannot start before the source does
        hi = min(hi, self.an.duration - e)  # the outgoing side cannot run past the source end
        return min(0.0, lo), max(0.0, hi)

    # ------------------------------------------------------------------ dialogue

    def dialogue_switch(self, j: int, snap: bool, base: float, separated: bool, jp: JoinPlan) -> tuple[float, float]:
        """(a, b): the outgoing side ends at cut + a, the incoming starts at cut + b (s)."""
        e, s = self.src[j][1], self.src[j + 1][0]
        lo, hi = self.bounds(j)
        lo_t, hi_t = max(lo, base - self.tol), min(hi, base + self.tol)
        if base < lo or base > hi:
            jp.notes.append(f"offset {1000 * base:+.0f} ms reaches past the neighbouring joins; clamped")
            base = float(np.clip(base, lo, hi))
            lo_t, hi_t = max(lo, base - self.tol), min(hi, base + self.tol)
        if not snap:
            if self.inside_speech(e + base) or self.inside_speech(s + base):
                what = f"cuts a word: {self.word_text(e + base, s + base)}" if self.words is not None else None
                jp.reasons.append(f"{what or 'dialogue cut inside speech'} (snapping off)")
            return base, base
        found = self.switch_place(e, s, (lo_t, hi_t), (lo, hi), base, separated, jp)
        if found is not None:
            return found
        # no pause: the least speech energy on both sides
        rms = self.an.dialogue_rms_db
        grid = np.arange(lo_t, hi_t + 1e-9, 0.005)
        if len(grid) == 0:
            grid = np.array([base])
        fa = np.clip(Features.frame_of(e + grid), 0, len(rms) - 1)
        fb = np.clip(Features.frame_of(s + grid), 0, len(rms) - 1)
        level = np.maximum(rms[fa], rms[fb]) + 0.01 * np.abs(grid - base) * 1000.0 / max(self.tol * 1000.0, 1.0)
        d = float(grid[int(np.argmin(level))])
        if self.inside_speech(e + d) or self.inside_speech(s + d):
            if self.words is not None:
                jp.reasons.append(
                    f"cuts a word: {self.word_text(e + d, s + d)}; no pause or word boundary within "
                    f"{self.p.tolerance_ms:.0f} ms (the dialogue switches at its quietest point)"
                )
            else:
                jp.reasons.append(
                    f"no speech pause within {self.p.tolerance_ms:.0f} ms: the dialogue cut stays "
                    "inside speech (moved to its quietest point)"
                )
        return d, d

    def switch_place(
        self,
        e: float,
        s: float,
        near: tuple[float, float],
        bounds: tuple[float, float],
        base: float,
        separated: bool,
        jp: JoinPlan,
    ) -> tuple[float, float] | None:
        """(a, b) with both switch points between words (s from the cut), or None.

        Tried in order: a pause within ``near`` (the tolerance), with ``words`` a pause within
        ``dialogue_reach_ms`` of ``base`` (inside ``bounds``), a boundary between two touching words
        within the tolerance, one within the reach.  A pause is the safer place (on the tuning set
        1 in 75 switches in pauses cut a word, 15 in 73 at touching boundaries), so a farther pause
        comes first; a touching boundary past the tolerance is flagged (docs/soundtrack.md).
        """
        tol_ms = self.p.tolerance_ms
        reach = self.p.dialogue_reach_ms / 1000.0
        spans = [near]
        if self.words is not None and reach > self.tol:
            spans.append((max(bounds[0], base - reach), min(bounds[1], base + reach)))
        places = [(self.pauses, False)]
        if len(self.boundaries):
            places.append((np.concatenate([self.pauses, self.boundaries]), True))
        for rows, touching in places:
            for span in spans:
                found = self._switch_at(rows, e, s, span[0], span[1], base, separated, jp)
                if found is None:
                    continue
                far = span is not near
                moved = 1000 * max(abs(found[0] - base), abs(found[1] - base))
                if touching and far:
                    jp.reasons.append(
                        f"far switch between words: no pause within {self.p.dialogue_reach_ms:.0f} ms or word "
                        f"boundary within {tol_ms:.0f} ms; the dialogue switches {moved:.0f} ms from the cut, "
                        "between two touching words"
                    )
                elif touching:
                    jp.notes.append(f"no pause within {tol_ms:.0f} ms: the dialogue switches between words")
                elif far:
                    jp.notes.append(
                        f"no pause within {tol_ms:.0f} ms: the dialogue switches in a pause {moved:.0f} ms away"
                    )
                return found
        return None

    def _switch_at(
        self, pauses: np.ndarray, e: float, s: float, lo_t: float, hi_t: float, base: float, separated: bool, jp
    ) -> tuple[float, float] | None:
        """(a, b) with both switch points in ``pauses`` rows (start, end, margin), or None."""
        speech = self.an.speech
        near_a = pauses[(pauses[:, 1] >= e + lo_t) & (pauses[:, 0] <= e + hi_t)]
        near_b = pauses[(pauses[:, 1] >= s + lo_t) & (pauses[:, 0] <= s + hi_t)]
        cand_a = _pause_candidates(near_a, e, lo_t, hi_t, base)
        cand_b = _pause_candidates(near_b, s, lo_t, hi_t, base)
        # a shared pause: both sides silent at the same output time
        common = []
        for pa in near_a:
            for pb in near_b:
                a0, a1 = pa[0] + pa[2] - e, pa[1] - pa[2] - e
                b0, b1 = pb[0] + pb[2] - s, pb[1] - pb[2] - s
                if pa[0] <= 0.0:
                    a0 = pa[0] - e
                if pb[0] <= 0.0:
                    b0 = pb[0] - s
                lo_c, hi_c = max(a0, b0, lo_t), min(a1, b1, hi_t)
                if lo_c <= hi_c:
                    common.append(float(np.clip(base, lo_c, hi_c)))
        if common:
            d = min(common, key=lambda v: abs(v - base))
            return d, d
        if separated and cand_a and cand_b:
            best = None
            for a in cand_a[:6]:
                for b in cand_b[:6]:
                    if a > b and speech.speaking(e + b, e + a) and speech.speaking(s + b, s + a):
                        continue  # both would speak at once in the overlap
                    cost = abs(a - base) + abs(b - base) + 0.5 * abs(a - b)
                    if best is None or cost < best[0]:
                        best = (cost, a, b)
            if best is not None:
                kind = "a gap" if best[2] > best[1] else "an overlap"
                jp.notes.append(
                    f"no pause shared by both sides: the dialogue switches with {kind} of "
                    f"{1000 * abs(best[2] - best[1]):.0f} ms"
                )
                return best[1], best[2]
        return None

    def dialogue_switch_checked(
        self, j: int, snap: bool, base: float, separated: bool, jp: JoinPlan
    ) -> tuple[float, float]:
        """:meth:`dialogue_switch`, and with ``words`` a review reason wherever a switch point is left inside a word."""
        a, b = self.dialogue_switch(j, snap, base, separated, jp)
        if self.words is not None and not any(r.startswith(("cuts a word", "dialogue cut")) for r in jp.reasons):
            e, s = self.src[j][1], self.src[j + 1][0]
            if self.inside_speech(e + a) or self.inside_speech(s + b):
                jp.reasons.append(f"cuts a word: {self.word_text(e + a, s + b)}")
        return a, b

    def word_text(self, t_out: float, t_in: float) -> str:
        """The words (source times, s) that switch points at source ``t_out`` and ``t_in`` fall inside."""
        parts = []
        for side, t in (("outgoing", t_out), ("incoming", t_in)):
            w = self.words
            k = np.flatnonzero((w[:, 0] + WORD_SLACK_S < t) & (t < w[:, 1] - WORD_SLACK_S))
            if len(k):
                w0, w1 = w[k[0]]
                text = self.word_texts[k[0]] if self.word_texts is not None else ""
                what = f"word {text!r}" if text else "word"
                if " " in text:  # words two hearings split in different places count as one (agreed_words)
                    what = f"words {text!r} (the two hearings split them differently)"
                parts.append(f"the {side} switch at {t:.2f} s is inside the {what} at {w0:.2f}-{w1:.2f} s")
        return "; ".join(parts)

    def inside_speech(self, t: float) -> bool:
        """Whether a dialogue cut at source time ``t`` falls inside speech (inside a word, with words)."""
        speech = self.an.speech
        if self.words is not None:
            w = self.words
            return bool(np.any((w[:, 0] + WORD_SLACK_S < t) & (t < w[:, 1] - WORD_SLACK_S)))
        return speech.speaking(t - 0.01, t + 0.01)

    # ------------------------------------------------------------------ music

    def crossfade_length(self, xfade: float | None, period: float | None, lo: float, hi: float) -> float:
        """The music crossfade (s): ``xfade``, else one beat (at most :data:`MAX_BEAT_CROSSFADE_S`), else 250 ms."""
        length = xfade if xfade is not None else (min(period, MAX_BEAT_CROSSFADE_S) if period else 0.25)
        length = float(np.clip(length, 0.005, 2.0))
        return max(0.005, min(length, hi - lo))

    def music_switch(
        self, j: int, mode: str, snap: bool, base: float, xfade: float | None, off_a: float, jp: JoinPlan
    ) -> tuple[float, float, float]:
        """(crossfade start c, length L, slip of the incoming music) in output seconds for join ``j``.

        ``join``: the slips that put the incoming beats on the outgoing ones
        (:meth:`rhythm_slips`), the crossfade starting on a beat of the outgoing music;
        among (start, slip) pairs the one whose chroma and timbre match best over the
        crossfade, with small penalties for moving and slipping.
        """
        T = self.starts[j + 1]
        s = self.src[j + 1][0]
        lo, hi = self.bounds(j)
        base = float(np.clip(base, lo, hi))
        beats = self.beats
        reliable = beats.reliable
        period = beats.period_at(T + off_a) if reliable else None
        if mode == "hard":
            L = min(self.p.dialogue_fade_ms / 1000.0, max(0.002, hi - lo))
        else:
            L = self.crossfade_length(xfade, period, lo, hi)
        off_b0 = s - T  # incoming offset without slip
        lo_t, hi_t = max(lo, base - self.tol - L / 2), min(hi, base + self.tol + L / 2)
        # crossfade starts: the outgoing beats (output time) inside the reach
        a_beats = beats.times - off_a
        starts = a_beats[(a_beats >= T + lo_t) & (a_beats + L <= T + hi_t)] if reliable else np.zeros(0)
        centre = T + base - L / 2
        if mode in ("hard", "crossfade") or not snap:
            c = centre
            if snap and len(starts):
                c = float(starts[np.argmin(np.abs(starts - centre))])
            c = float(np.clip(c, T + lo, T + hi - L))
            return c, L, 0.0
        slips = [0.0]
        if reliable:
            slips = self.rhythm_slips(T, off_a, off_b0, period)
            if not slips:
                jp.reasons.append(
                    f"beat phase cannot be matched within {self.p.tolerance_ms:.0f} ms (beat {1000 * period:.0f} ms)"
                )
                slips = [0.0]
        else:
            jp.notes.append("no steady beat: matched on harmony and timbre only")
        if len(starts):
            positions = [float(c) for c in starts]
        else:
            if reliable:
                jp.notes.append(
                    "no beat of the outgoing music within reach: the crossfade start is matched on harmony and timbre"
                )
            grid = np.arange(T + lo_t, T + hi_t - L + 1e-9, 0.02)
            positions = [float(c) for c in grid] or [float(np.clip(centre, T + lo, T + hi - L))]
        cands = [(c, d) for c in positions for d in slips]
        best = None
        for c, slip in cands:
            off_b = off_b0 + slip
            if c + off_b < 0 or c + L + off_a > self.an.duration:
                continue
            ctx = max(L, 0.2)
            chroma, timbre, level = similarity(
                self.an.music,
                (c - ctx / 2 + off_a, c + L + ctx / 2 + off_a),
                (c - ctx / 2 + off_b, c + L + ctx / 2 + off_b),
            )
            score = (
                chroma
                + timbre
                - 0.02 * level
                - 0.3 * abs(slip) / max(self.tol, 1e-3)
                - 0.3 * abs(c + L / 2 - T - base) / max(self.tol, 1e-3)
            )
            if best is None or score > best[0]:
                best = (score, c, slip, chroma, timbre)
        if best is None:
            c = float(np.clip(centre, T + lo, T + hi - L))
            return c, L, 0.0
        jp.similarity = round((best[3] + best[4]) / 2, 3)
        return best[1], L, best[2]

    def rhythm_slips(self, T: float, off_a: float, off_b: float, period: float, keep: int = 2) -> list[float]:
        """Slips (s, within the tolerance) that put the incoming beats on the outgoing ones, best first.

        Candidates are the differences between an outgoing beat and an incoming beat
        (both tracked over the whole source, so their phase is consistent) near the cut,
        (a beat :meth:`Beats.on_grid` left out stands in a period from its neighbour,
        :func:`_holes_filled`); each is scored by :func:`beat_alignment` over two beats
        each side of the cut.
        """
        times = self.beats.times
        win = (T - 2 * period, T + 2 * period)
        a = times - off_a
        a = a[(a >= win[0]) & (a <= win[1])]
        b = times - off_b
        b = b[(b >= win[0] - self.tol - 2 * period) & (b <= win[1] + self.tol + 2 * period)]
        a, b = _holes_filled(a, period), _holes_filled(b, period)
        cands = sorted({round(float(y - x), 4) for x in a for y in b if abs(y - x) <= self.tol + 1e-9})
        scored = []
        for d in cands:
            err = beat_alignment(times, off_a, off_b + d, *win, period)
            if err is not None:
                scored.append((err + 5.0 * abs(d) / max(self.tol, 1e-3), d))
        scored.sort()
        return [d for _, d in scored[:keep]]

    # ------------------------------------------------------------------ continuous runs

    def fit_run(self, k: int, m: int, seg: int, slip: float, jumps: list[JoinPlan]) -> list[Transition]:
        """Bar jumps (as transitions) fitting the music of segments k..m, played on from segment ``seg``'s
        source slipped by ``slip``, to the run's length; at most one jump."""
        offset = self.picture_offset(seg) + slip
        out0, out1 = self.starts[k], self.starts[m + 1]
        natural_end = self.src[m][1]  # where the music of the run would be at out1 without the cuts
        R = natural_end - (out1 + offset)  # what the cuts removed
        beats = self.beats
        if R <= 1e-3:
            return []
        downs = beats.downbeats if beats.reliable and len(beats.downbeats) >= 2 else np.zeros(0)
        if len(downs) >= 2:
            bar = float(np.median(np.diff(downs)))
            grid = downs
        else:
            bar = 2.0
            grid = np.arange(0.0, self.an.duration, bar)
        if R < bar / 2:
            return []
        pts = grid[(grid >= out0 + offset) & (grid <= natural_end + bar)]
        best = None
        for x in pts:
            t = x - offset  # output time of the jump: inside the run
            if t < out0 + 0.1 or t > out1 - 0.1:
                continue
            ys = pts[pts > x]
            if not len(ys):
                continue
            y = float(ys[np.argmin(np.abs((ys - x) - R))])
            if abs((y - x) - R) > bar / 2 + 1e-6:
                continue
            ch1, tb1, _ = similarity(self.an.music, (x - bar, x), (y - bar, y))
            ch2, tb2, _ = similarity(self.an.music, (x, x + bar), (y, y + bar))
            score = (ch1 + ch2 + tb1 + tb2) / 4 - 0.1 * abs((y - x) - R) / bar
            if best is None or score > best[0]:
                best = (score, float(x), y)
        if best is None:
            self.run_notes.append(
                f"continuous music over segments {k + 1}-{m + 1}: no bar jump removes "
                f"{R:.2f} s inside the run; the music plays on from where it was"
            )
            return []
        _, x, y = best
        period = beats.period_at(x) if beats.reliable else 0.5
        L = min(period, 1.0)
        t = x - offset
        jp = JoinPlan(
            index=self.segment_at(t),
            kind="music_jump",
            output_time=t,
            src_out=x,
            src_in=y,
            rule="music",
            music_mode="continuous",
            snap=True,
            snap_music_ms=None,
            music_slip_ms=round(1000 * (slip + y - x), 1),
            crossfade_ms=round(1000 * L, 1),
            region=(t, t + L),
            music_switch=t,
            similarity=round(best[0], 3),
            music_offsets=(offset, offset + y - x),
        )
        jp.notes.append(
            f"continuous music: {y - x:.2f} s ({(y - x) / bar:.0f} bars) removed at the bar at {x:.2f} s of the source"
        )
        if beats.reliable:
            err = beat_alignment(
                beats.times, offset, offset + y - x, t + L / 2 - 2 * period, t + L / 2 + 2 * period, period
            )
            jp.beat_phase_error_ms = None if err is None else round(err, 1)
        jumps.append(jp)
        return [Transition(t + L, t, L, L, seg, slip + (y - x), "power", False)]

    # ------------------------------------------------------------------ the plan

    def plan(self, reference: list[tuple[int, float]] | None = None) -> Plan:
        """The plan.

        Parameters
        ----------
        reference : list of (segment, slip) or None
            ``music_at_join`` of the plan without per-cut overrides.  A join without an
            override of its own then decides as in that plan, so an override changes
            its own join (and how the music enters the next segment) but no decision
            after it; the joins after it report what that does to them.
        """
        n = len(self.src)
        separated = self.an.separated
        fade = self.p.dialogue_fade_ms / 1000.0
        dialogue_tr: list[Transition] = []
        music_tr: list[Transition] = []  # the mix stem's when not separated
        joins: list[JoinPlan] = []
        jumps: list[JoinPlan] = []
        self.run_notes: list[str] = []
        music = (0, 0.0)  # (segment, slip) the music currently plays
        music_state = [music]
        at_join: list[tuple[int, float]] = []
        run_start = 0
        modes = [self.join_settings(j)[0] for j in range(n - 1)]
        for j in range(n - 1):
            mode, snap, base, xfade, overrides = self.join_settings(j)
            T = self.starts[j + 1]
            e, s = self.src[j][1], self.src[j + 1][0]
            jp = JoinPlan(
                index=j,
                kind="cut",
                output_time=T,
                src_out=e,
                src_in=s,
                rule="",
                music_mode=mode,
                snap=snap,
                overrides=overrides,
            )
            near = self.tol + 0.3
            talk = self.an.speech.speaking(e - near, e + near) or self.an.speech.speaking(s - near, s + near)
            if separated:
                # the "vocals" stem holds singing too: where the VAD hears no speech it joins with the music
                # (not across continuous music: its bar jumps are laid on the music stem only)
                sung = not talk and self.an.speech.method != "energy" and mode != "continuous"
                jp.rule = "music" if sung else "dialogue+music"
            else:
                # one stem: dialogue rules where someone speaks near the cut, music rules elsewhere
                if self.an.speech.method == "energy":
                    talk = talk and not self.an.beats.reliable  # energy takes any sound for speech
                jp.rule = "dialogue" if talk else "music"
            joins.append(jp)
            at_join.append(music)
            region = [T, T]
            if jp.rule != "music":
                a, b = self.dialogue_switch_checked(j, snap, base, separated, jp)
                jp.snap_dialogue_ms = round(1000 * a, 1)
                if abs(b - a) > 1e-9:
                    jp.snap_dialogue_in_ms = round(1000 * b, 1)
                tr = Transition(T + a, T + b, fade, fade, j + 1, 0.0, "cosine", True)
                (dialogue_tr if separated else music_tr).append(tr)
                region = [T + min(a, b) - fade, T + max(a, b) + fade]
                if not separated:
                    music = (j + 1, 0.0)
                    run_start = j + 1
            if jp.rule != "dialogue":
                if mode == "continuous":
                    jp.notes.append("continuous music: the music plays on across this cut")
                    off = self.picture_offset(music[0]) + music[1]
                    jp.music_offsets = (off, off)
                    if self.beats.reliable:
                        jp.beat_phase_error_ms = 0.0  # the music is not cut here
                    if j + 1 == n - 1 or modes[j + 1] != "continuous":
                        trs = self.fit_run(run_start, j + 1, music[0], music[1], jumps)
                        music_tr.extend(trs)
                        if trs:
                            music = (trs[-1].segment, trs[-1].slip)
                else:
                    off_a = self.picture_offset(music[0]) + music[1]
                    decide = music if reference is None or overrides or j >= len(reference) else reference[j]
                    off_decide = self.picture_offset(decide[0]) + decide[1]
                    c, L, slip = self.music_switch(j, mode, snap, base, xfade, off_decide, jp)
                    off_b = self.picture_offset(j + 1) + slip
                    jp.music_offsets = (off_a, off_b)
                    if self.beats.reliable:
                        p = self.beats.period_at(e)
                        err = beat_alignment(self.beats.times, off_a, off_b, c + L / 2 - 2 * p, c + L / 2 + 2 * p, p)
                        jp.beat_phase_error_ms = None if err is None else round(err, 1)
                    jp.snap_music_ms = round(1000 * (c + L / 2 - T), 1)
                    jp.music_slip_ms = round(1000 * slip, 1)
                    jp.crossfade_ms = round(1000 * L, 1)
                    jp.music_switch = c
                    music_tr.append(Transition(c + L, c, L, L, j + 1, slip, "power", mode == "hard"))
                    if separated and jp.rule == "music":  # the vocals stem follows the music
                        dialogue_tr.append(Transition(c + L, c, L, L, j + 1, slip, "power", mode == "hard"))
                        jp.notes.append("no speech near the cut: the vocals stem is joined with the music")
                    region = [c, c + L] if jp.rule == "music" else [min(region[0], c), max(region[1], c + L)]
                    music = (j + 1, slip)
                    run_start = j + 1
            music_state.append(music)
            jp.region = (float(region[0]), float(region[1]))
            if jp.snap_dialogue_ms is not None and abs(jp.snap_dialogue_ms) > 0.5:
                jp.notes.append(f"dialogue switch moved {jp.snap_dialogue_ms:+.0f} ms to a pause")
        if joins and self.run_notes:
            joins[-1].notes.extend(self.run_notes)
        all_joins = sorted(joins + jumps, key=lambda x: x.output_time)
        stems: dict[str, list[Piece]] = {}
        if separated:
            stems["dialogue"] = build_pieces(dialogue_tr, self.duration)
            stems["music"] = build_pieces(sorted(music_tr, key=lambda t: t.b_start), self.duration)
        else:
            stems["mix"] = build_pieces(sorted(music_tr, key=lambda t: t.b_start), self.duration)
        offsets = [self.picture_offset(k) + sl for k, sl in music_state]
        return Plan(stems, all_joins, self.duration, list(self.starts[:-1]), offsets, at_join)


def segment_table(cuts: CutList, rate: int) -> tuple[list[tuple[float, float]], list[float]]:
    """Source (start, end) and output start of every segment, on the sample grid of ``rate`` (s)."""
    from rtaudio.jobs.soundtrack.timecode import to_samples

    src, starts, pos = [], [0.0], 0
    for seg in cuts.segments:
        a, b = to_samples(seg.start, rate), to_samples(seg.end, rate)
        src.append((a / rate, b / rate))
        pos += b - a
        starts.append(pos / rate)
    return src, starts


def build_pieces(transitions: list[Transition], duration: float) -> list[Piece]:
    """Pieces of one stem from its transitions in output order (the first piece plays segment 0)."""
    pieces = []
    cur = Piece(0.0, duration, 0, 0.0, EDGE_FADE_S, EDGE_FADE_S, "cosine", "cosine")
    for tr in transitions:
        cur.out1 = tr.a_end
        cur.fade_out = tr.a_fade
        cur.shape_out = tr.shape
        cur.zc_out = tr.zero_cross
        pieces.append(cur)
        cur = Piece(
            tr.b_start, duration, tr.segment, tr.slip, tr.b_fade, EDGE_FADE_S, tr.shape, "cosine", zc_in=tr.zero_cross
        )
    pieces.append(cur)
    return pieces


def naive_pieces(starts: list[float], src: list[tuple[float, float]]) -> list[Piece]:
    """Plain concatenation: each segment exactly at its cut, no fades."""
    return [Piece(starts[k], starts[k] + (e - s), k, 0.0, 0.0, 0.0, "cosine", "cosine") for k, (s, e) in enumerate(src)]


def crossfade_pieces(starts: list[float], src: list[tuple[float, float]], length: float = 0.05) -> list[Piece]:
    """Each cut as a plain equal-power crossfade of ``length`` seconds centred on the cut."""
    out = []
    n = len(src)
    for k, (s, e) in enumerate(src):
        o0, o1 = starts[k], starts[k] + (e - s)
        fin = 0.0 if k == 0 else length
        fout = 0.0 if k == n - 1 else length
        out.append(Piece(o0 - fin / 2, o1 + fout / 2, k, 0.0, fin, fout, "power", "power"))
    return out

"""Settings of a soundtrack render (one frozen dataclass, validated)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rtaudio.errors import ParameterError
from rtaudio.jobs.soundtrack.cutlist import MUSIC_MODES

#: Named loudness targets (LUFS).
LOUDNESS_TARGETS = {"broadcast": -23.0, "ebu": -23.0, "web": -14.0, "streaming": -14.0}


def parse_loudness(value) -> float | None:
    """A loudness target: ``-23``, ``-14``, a number (LUFS), ``broadcast``, ``web``, or ``off``/None."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("off", "none", "no"):
            return None
        if text in LOUDNESS_TARGETS:
            return LOUDNESS_TARGETS[text]
        try:
            value = float(text)
        except ValueError:
            raise ParameterError(
                f"loudness_lufs={value!r} must be a target in LUFS (e.g. -23, -14), "
                "'broadcast' (-23), 'web' (-14) or 'off'",
                params=("loudness_lufs",),
            ) from None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not -70.0 <= value <= 0.0
    ):
        raise ParameterError(
            f"loudness_lufs={value!r} must be a target between -70 and 0 LUFS (e.g. -23, -14)",
            params=("loudness_lufs",),
        )
    return float(value)


@dataclass(frozen=True)
class SoundtrackParams:
    """How a soundtrack is rendered.

    Attributes
    ----------
    tolerance_ms : float >= 0, ms, default 250
        How far a join may move from the cut (snapping), and how far the music of a
        segment may slip against its picture to meet the beat of the previous one.
    music : str, default "join"
        Music mode of every join without an override: ``join`` (beat, harmony and
        timbre matched, one-beat equal-power crossfade), ``crossfade`` (plain
        equal-power crossfade at the cut), ``continuous`` (the music plays on and is
        fitted to the new length at bar boundaries), ``hard`` (cut, anti-click fade).
    crossfade_ms : float > 0 or None, ms, default None
        Music crossfade length; None: one beat (250 ms where there is no steady beat).
    snap : bool, default True
        Move joins to speech pauses and beats.
    dialogue_fade_ms : float > 0, ms, default 5
        Fade at each dialogue cut (from/to a zero crossing).
    min_pause_ms : float > 0, ms, default 80
        Shortest silence a dialogue cut may be moved into.
    pause_margin_ms : float >= 0, ms, default 25
        Distance a dialogue cut keeps from the speech around its pause.
    words : bool, default False
        Also snap dialogue cuts to word boundaries, found by rtaudio's ``stt`` stage
        (Whisper's word timestamps where its model is found, else pocketsphinx for English,
        vosk for other languages with a model; the report's ``analysis.words_engine``): a cut in
        connected speech, with no pause within the tolerance, then lands between two
        words instead of inside one.  Costs a speech recognition pass over the dialogue
        (cached with the analysis).
    word_refine_ms : float >= 0, ms, default 0 (off)
        With ``words``: each boundary between two touching words moves to the quietest
        point of the dialogue within this distance (Whisper's word times are often 50-200 ms
        off); 0 uses the recogniser's times as they are.
    word_hearings : {1, 2}, default 2
        With ``words``: how often the recogniser hears the dialogue.  2: a second hearing of the
        dialogue played 10 ms later, and only the places between words both hearings agree on
        count (two words whose boundary they place more than 40 ms apart count as one); doubles
        the recognition pass.
    dialogue_reach_ms : float >= 0, ms, default 0 (off)
        With ``words`` and ``snap``: where no pause is within ``tolerance_ms``, how far the
        dialogue switch may move to reach one (before a boundary between two touching words within
        the tolerance); where there is neither, how far it may move to such a boundary (flagged for
        review).  At or below ``tolerance_ms`` (the default): the switch stays within the tolerance,
        so the dialogue follows the cuts; 500 cuts fewer words but moves some switches up to half a
        second off the cut (docs/soundtrack.md).
    language : str, default "en"
        Language of the dialogue for ``words``.
    loudness_lufs : float or None, LUFS, default -23
        Integrated loudness (EBU R128) of the output; None leaves the level alone.
    max_peak_dbfs : float <= 0, dBFS, default -1
        Sample-peak ceiling: a louder target is met with a limiter (5 ms attack,
        look-ahead), never by clipping.
    review_beat_ms, review_spectral, review_loudness_db : float
        A join needs review when its beat-phase error exceeds ``review_beat_ms``
        (default 35 ms), its spectral discontinuity ``review_spectral`` (1.5x the
        signal's own frame-to-frame change), or its loudness step ``review_loudness_db``
        (6 dB); a click or a cut left inside a word ("cuts a word") always needs review.  With
        ``words``, a join that switches the dialogue is not judged by the spectral jump or the
        loudness step (on the mix they hear the speech start and stop; docs/soundtrack.md).
    """

    tolerance_ms: float = 250.0
    music: str = "join"
    crossfade_ms: float | None = None
    snap: bool = True
    dialogue_fade_ms: float = 5.0
    min_pause_ms: float = 80.0
    pause_margin_ms: float = 25.0
    words: bool = False
    word_refine_ms: float = 0.0
    word_hearings: int = 2
    dialogue_reach_ms: float = 0.0
    language: str = "en"
    loudness_lufs: float | None = -23.0
    max_peak_dbfs: float = -1.0
    review_beat_ms: float = 35.0
    review_spectral: float = 1.5
    review_loudness_db: float = 6.0

    def __post_init__(self):
        def number(name, low, high, *, allow_none=False, open_low=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > low if open_low else v >= low) and v <= high
            if not ok:
                rel = ">" if open_low else ">="
                raise ParameterError(f"{name}={v!r} must be a number {rel} {low} and <= {high}")

        number("tolerance_ms", 0.0, 5000.0)
        number("crossfade_ms", 0.0, 10000.0, allow_none=True, open_low=True)
        number("dialogue_fade_ms", 0.0, 200.0, open_low=True)
        number("min_pause_ms", 0.0, 5000.0, open_low=True)
        number("pause_margin_ms", 0.0, 1000.0)
        number("word_refine_ms", 0.0, 1000.0)
        number("dialogue_reach_ms", 0.0, 5000.0)
        number("max_peak_dbfs", -60.0, 0.0)
        number("review_beat_ms", 0.0, 1000.0)
        number("review_spectral", 0.0, 100.0)
        number("review_loudness_db", 0.0, 100.0)
        if self.music not in MUSIC_MODES:
            raise ParameterError(f"music={self.music!r} must be one of {', '.join(MUSIC_MODES)}")
        if not isinstance(self.words, bool):
            raise ParameterError(f"words={self.words!r} must be True or False")
        if self.word_hearings not in (1, 2) or isinstance(self.word_hearings, bool):
            raise ParameterError(f"word_hearings={self.word_hearings!r} must be 1 or 2")
        if not isinstance(self.snap, bool):
            raise ParameterError(f"snap={self.snap!r} must be True or False")
        object.__setattr__(self, "loudness_lufs", parse_loudness(self.loudness_lufs))

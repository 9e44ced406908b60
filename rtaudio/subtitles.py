"""Subtitles from transcripts: words -> cues with sane line length and duration, written as SRT, WebVTT or JSON.

Cue rules (:class:`CueRules`): a cue holds at most ``max_lines`` lines of at most
``max_chars`` characters and lasts at most ``max_s``; a new cue starts at each
utterance and after a pause of ``split_pause_s``; a cue shown shorter than ``min_s``
is held longer when the next cue leaves room. Lines are broken between words (a
single word longer than a line gets a line of its own). SRT goes through the ``srt``
library, WebVTT through ``webvtt-py``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass

from rtaudio.errors import MissingDependencyError, ParameterError
from rtaudio.events import Transcript


@dataclass(frozen=True)
class CueRules:
    """Limits of one subtitle cue.

    Attributes
    ----------
    max_chars : int >= 10, default 42
        Characters per line (42 is the common broadcast limit).
    max_lines : int >= 1, default 2
    max_s : float > 0, default 7.0, seconds
        Longest time a cue stays on screen.
    min_s : float >= 0, default 1.0, seconds
        Shortest time a cue stays on screen (when the next cue leaves room).
    split_pause_s : float > 0, default 1.0, seconds
        A pause this long between words starts a new cue.
    """

    max_chars: int = 42
    max_lines: int = 2
    max_s: float = 7.0
    min_s: float = 1.0
    split_pause_s: float = 1.0

    def __post_init__(self):
        if not (isinstance(self.max_chars, int) and self.max_chars >= 10):
            raise ParameterError(f"max_chars={self.max_chars!r} must be an integer >= 10")
        if not (isinstance(self.max_lines, int) and self.max_lines >= 1):
            raise ParameterError(f"max_lines={self.max_lines!r} must be an integer >= 1")
        if not self.max_s > 0 or not 0 <= self.min_s <= self.max_s:
            raise ParameterError(
                f"max_s={self.max_s!r} and min_s={self.min_s!r} must satisfy 0 <= min_s <= max_s, max_s > 0 (seconds)"
            )
        if not self.split_pause_s > 0:
            raise ParameterError(f"split_pause_s={self.split_pause_s!r} must be > 0 seconds")


@dataclass
class Cue:
    """One subtitle: [``start``, ``end``) in seconds and its ``lines``."""

    start: float
    end: float
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _fits(lines: list[str], word: str, rules: CueRules) -> list[str] | None:
    """``lines`` with ``word`` appended (on the last line or a new one), or None if the cue is full."""
    if lines and len(lines[-1]) + 1 + len(word) <= rules.max_chars:
        return lines[:-1] + [lines[-1] + " " + word]
    if len(lines) < rules.max_lines:
        return lines + [word]
    return None


def cues(transcripts: Sequence[Transcript], rate: int, rules: CueRules = CueRules()) -> list[Cue]:
    """Cut ``transcripts`` (times in samples at ``rate`` Hz) into cues that keep ``rules``."""
    out: list[Cue] = []
    for tr in transcripts:
        words = [(w.start / rate, w.end / rate, w.word) for w in tr.words] or [
            (tr.start / rate, tr.end / rate, tr.text)
        ]
        cue: Cue | None = None
        for start, end, word in words:
            lines = None
            if cue is not None and start - cue.end < rules.split_pause_s and end - cue.start <= rules.max_s:
                lines = _fits(cue.lines, word, rules)
            if lines is None:
                cue = Cue(start, end, [word])
                out.append(cue)
            else:
                cue.lines, cue.end = lines, end
    for i, cue in enumerate(out):  # hold short cues longer, never into the next one
        nxt = out[i + 1].start if i + 1 < len(out) else float("inf")
        if cue.end - cue.start < rules.min_s:
            cue.end = max(cue.end, min(cue.start + rules.min_s, nxt))
        cue.end = min(cue.end, cue.start + rules.max_s)
    return out


def to_srt(items: Sequence[Cue]) -> str:
    try:
        import srt
    except ImportError as exc:
        raise MissingDependencyError("srt is not installed; install it with: pip install 'rtaudio[speech]'") from exc
    td = datetime.timedelta
    return srt.compose(
        [srt.Subtitle(i + 1, td(seconds=c.start), td(seconds=c.end), c.text) for i, c in enumerate(items)]
    )


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_vtt(items: Sequence[Cue]) -> str:
    try:
        import webvtt
    except ImportError as exc:
        raise MissingDependencyError(
            "webvtt-py is not installed; install it with: pip install 'rtaudio[speech]'"
        ) from exc
    vtt = webvtt.WebVTT()
    for c in items:
        vtt.captions.append(webvtt.Caption(_vtt_time(c.start), _vtt_time(c.end), c.text))
    return vtt.content


def to_json(transcripts: Sequence[Transcript], rate: int) -> str:
    """The utterances with their words, times in seconds: ``[{"start", "end", "text", "engine", "language", "words": [...]}]``."""
    rows = [
        {
            "start": round(t.start / rate, 3),
            "end": round(t.end / rate, 3),
            "text": t.text,
            "engine": t.engine,
            "language": t.language,
            "words": [
                {
                    "start": round(w.start / rate, 3),
                    "end": round(w.end / rate, 3),
                    "word": w.word,
                    "confidence": round(float(w.confidence), 3),
                }
                for w in t.words
            ],
        }
        for t in transcripts
    ]
    return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"

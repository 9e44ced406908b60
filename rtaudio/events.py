"""Typed events: everything a stage or source reports.

Times are integer sample indices on the source clock (``t``, ``start``,
``end``); :func:`to_record` turns an event into the JSONL contract: one flat
mapping, ``type`` first, times in seconds.  Each class lists its time fields in
``TIME_FIELDS`` so the engine can move a stage's times onto the source clock
when the stage runs at another sample rate.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Event:
    """Base class; ``TYPE`` is the ``type`` field of the JSONL record."""

    TYPE: ClassVar[str] = "event"
    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("t",)


@dataclass(frozen=True)
class SourceInfo(Event):
    """The input was opened. ``t`` is always 0."""

    TYPE: ClassVar[str] = "source"
    t: int
    source: str
    rate: int
    channels: int
    layout: str
    duration_s: float | None
    live: bool


@dataclass(frozen=True)
class SpectrumBands(Event):
    """Centre frequencies (Hz) of the bands that the following ``spectrum`` events hold."""

    TYPE: ClassVar[str] = "spectrum_bands"
    t: int
    scale: str
    centers_hz: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class SpectrumFrame(Event):
    """Smoothed band levels (dB) and peak hold (dB) for the frame ending at ``t``."""

    TYPE: ClassVar[str] = "spectrum"
    t: int
    bands_db: np.ndarray = field(repr=False)
    peaks_db: np.ndarray = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SpectrumFrame)
            and self.t == other.t
            and np.array_equal(self.bands_db, other.bands_db)
            and np.array_equal(self.peaks_db, other.peaks_db)
        )


@dataclass(frozen=True)
class Levels(Event):
    """Meters at ``t``: sample peak and RMS over the last hop (dBFS), EBU R128 momentary and short-term loudness (LUFS)."""

    TYPE: ClassVar[str] = "levels"
    t: int
    peak_dbfs: float
    rms_dbfs: float
    momentary_lufs: float
    short_term_lufs: float


@dataclass(frozen=True)
class Loudness(Event):
    """Summary at end of input: integrated loudness (LUFS, BS.1770-4 gating) and maximum sample peak (dBFS)."""

    TYPE: ClassVar[str] = "loudness"
    t: int
    integrated_lufs: float
    max_peak_dbfs: float


@dataclass(frozen=True)
class Overflow(Event):
    """The reader fell behind: ``dropped`` samples before ``t`` were lost (drop-oldest)."""

    TYPE: ClassVar[str] = "overflow"
    t: int
    dropped: int


@dataclass(frozen=True)
class Xrun(Event):
    """The sound device reported ``count`` input overruns before ``t``: audio lost inside the driver (amount unknown)."""

    TYPE: ClassVar[str] = "xrun"
    t: int
    count: int


@dataclass(frozen=True)
class SourceFault(Event):
    """The source failed at ``t``; ``retry_in_s`` > 0 means a reconnect is scheduled, 0 means given up."""

    TYPE: ClassVar[str] = "source_fault"
    t: int
    message: str
    attempt: int
    retry_in_s: float


@dataclass(frozen=True)
class SourceRecovered(Event):
    """The source reconnected at ``t`` after ``attempt`` tries."""

    TYPE: ClassVar[str] = "source_recovered"
    t: int
    attempt: int


@dataclass(frozen=True)
class EndOfInput(Event):
    """Analysis finished at ``t`` (samples seen); ``reason`` is ``end``, ``stopped`` or ``error``."""

    TYPE: ClassVar[str] = "end"
    t: int
    reason: str
    dropped: int


# -- speech (stages/vad.py, stages/stt.py) ------------------------------------------------
@dataclass(frozen=True)
class SpeechStart(Event):
    """Speech began at ``t`` (pre-roll included) with the detector's ``confidence`` in [0, 1]."""

    TYPE: ClassVar[str] = "speech_start"
    t: int
    confidence: float


@dataclass(frozen=True)
class SpeechEnd(Event):
    """Speech ended at ``t`` (hangover included)."""

    TYPE: ClassVar[str] = "speech_end"
    t: int


@dataclass(frozen=True)
class SpeechSegment(Event):
    """A whole speech interval [``start``, ``end``) with its mean ``confidence``; reported at its end."""

    TYPE: ClassVar[str] = "speech"
    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("start", "end")
    start: int
    end: int
    confidence: float


@dataclass(frozen=True)
class Word(Event):
    """One recognised word in [``start``, ``end``) with the recogniser's ``confidence``."""

    TYPE: ClassVar[str] = "word"
    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("start", "end")
    start: int
    end: int
    word: str
    confidence: float


@dataclass(frozen=True)
class PartialTranscript(Event):
    """Live caption: the words heard so far in the current utterance (may still change)."""

    TYPE: ClassVar[str] = "partial"
    t: int
    text: str


@dataclass(frozen=True)
class Transcript(Event):
    """A final utterance [``start``, ``end``) with its words (each with source-clock times)."""

    TYPE: ClassVar[str] = "transcript"
    TIME_FIELDS: ClassVar[tuple[str, ...]] = ("start", "end")
    start: int
    end: int
    text: str
    words: tuple[Word, ...] = ()
    engine: str = ""
    language: str = ""  # ISO 639-1 code of the transcript ("" where the recogniser does not say)


# -- language (stages/lid.py) ----------------------------------------------------------------
@dataclass(frozen=True)
class Language(Event):
    """Spoken language decided at ``t``: ISO 639-1 code (or ``unknown``), its probability, the top 3."""

    TYPE: ClassVar[str] = "language"
    t: int
    language: str
    probability: float
    top: tuple[tuple[str, float], ...] = ()
    speech_s: float = 0.0


# -- key moments (stages/keys*.py) -----------------------------------------------------------
@dataclass(frozen=True)
class KeyMoment(Event):
    """A moment an editor cares about: ``kind`` (beat, downbeat, onset, section, loudness_peak,
    speech_start, speech_end, cut_suggestion, ...), ``score`` in [0, 1], a short ``label``."""

    TYPE: ClassVar[str] = "key_moment"
    t: int
    kind: str
    score: float
    label: str = ""


@dataclass(frozen=True)
class Tempo(Event):
    """Tempo estimate at ``t``: beats per minute and confidence in [0, 1]."""

    TYPE: ClassVar[str] = "tempo"
    t: int
    bpm: float
    confidence: float


def event_time(event: Event) -> int:
    """The first time field of ``event`` (its ``t`` or ``start``), for ordering."""
    return getattr(event, event.TIME_FIELDS[0])


def retime(event: Event, source_rate: int, stage_rate: int) -> Event:
    """Move ``event``'s time fields from a stage's clock (``stage_rate``, Hz) onto the source clock."""
    if source_rate == stage_rate:
        return event
    changes = {name: int(round(getattr(event, name) * source_rate / stage_rate)) for name in event.TIME_FIELDS}
    for f in dataclasses.fields(event):  # nested events (a transcript's words) move too
        value = getattr(event, f.name)
        if isinstance(value, tuple) and value and isinstance(value[0], Event):
            changes[f.name] = tuple(retime(v, source_rate, stage_rate) for v in value)
    return dataclasses.replace(event, **changes)


def _plain(value, digits: int, rate: int):
    if isinstance(value, Event):  # nested: its own fields, times in seconds, no type
        record = to_record(value, rate, digits)
        record.pop("type")
        return record
    if isinstance(value, np.ndarray):
        if value.ndim == 1 and value.dtype.kind == "f" and np.isfinite(value).all():  # fast path: spectrum frames
            return [round(v, digits) for v in value.tolist()]
        return [_plain(v, digits, rate) for v in value.tolist()]
    if isinstance(value, (tuple, list)):
        return [_plain(v, digits, rate) for v in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return -999.0 if value < 0 else 999.0
        return round(value, digits)
    if isinstance(value, np.integer):
        return int(value)
    return value


_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}  # per event class: (field name, is a time field)


def to_record(event: Event, rate: int, digits: int = 2) -> dict:
    """The JSONL record of ``event``: ``type`` first, time fields in seconds (6 decimals), floats rounded to ``digits``.

    Infinite levels (digital silence) are written as -999.0; NaN as null.
    """
    fields = _FIELDS.get(type(event))
    if fields is None:
        fields = _FIELDS[type(event)] = tuple((f.name, f.name in event.TIME_FIELDS) for f in dataclasses.fields(event))
    record: dict = {"type": event.TYPE}
    for name, is_time in fields:
        value = getattr(event, name)
        if is_time:
            record[name] = round(value / rate, 6)
        elif type(value) is float and math.isfinite(value):  # the common case, as _plain writes it
            record[name] = round(value, digits)
        else:
            record[name] = _plain(value, digits, rate)
    return record

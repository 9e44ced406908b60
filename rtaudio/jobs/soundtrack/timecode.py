"""Frame rates and times in cut lists: seconds, clock times and SMPTE timecode (drop-frame included).

Times are kept exact as :class:`fractions.Fraction` seconds until they become
sample indices (:func:`to_samples`), so a 29.97 drop-frame timecode lands on the
same sample whatever the path it took.

Accepted time notations (:func:`parse_time`):

* seconds: ``12``, ``12.5``, ``1e1``;
* clock time: ``MM:SS``, ``MM:SS.mmm``, ``HH:MM:SS``, ``HH:MM:SS.mmm``;
* SMPTE timecode ``HH:MM:SS:FF`` (non-drop-frame unless the rate is given as drop-frame)
  or ``HH:MM:SS;FF`` / ``HH:MM:SS,FF`` (drop-frame, 29.97 and 59.94 only), which needs
  a frame rate (:func:`parse_rate`).  A ``.`` is always a decimal point (clock time).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from rtaudio.errors import ParameterError

#: The NTSC rates (and their names) that are exactly 1000/1001 of a whole rate.
_NTSC = {
    24: Fraction(24000, 1001),
    30: Fraction(30000, 1001),
    60: Fraction(60000, 1001),
    48: Fraction(48000, 1001),
    120: Fraction(120000, 1001),
}


@dataclass(frozen=True)
class FrameRate:
    """A video frame rate.

    Attributes
    ----------
    fps : Fraction > 0, frames per second
        Exact rate (``30000/1001`` for 29.97).
    drop_frame : bool
        Timecode labels skip frame numbers to follow the clock (29.97 and 59.94 only).
    """

    fps: Fraction
    drop_frame: bool = False

    @property
    def nominal(self) -> int:
        """Frames per timecode second (30 for 29.97)."""
        return int(round(self.fps))

    def __str__(self) -> str:
        text = f"{float(self.fps):.3f}".rstrip("0").rstrip(".")
        return text + (" drop-frame" if self.drop_frame else "")


def exact_rate(value: float | Fraction) -> Fraction:
    """``value`` fps as an exact fraction: 29.97 -> 30000/1001, 25 -> 25, 23.976 -> 24000/1001."""
    value = Fraction(value)
    for _whole, ntsc in _NTSC.items():
        if abs(value - ntsc) < Fraction(1, 200):
            return ntsc
    if abs(value - round(value)) < Fraction(1, 1000):
        return Fraction(round(value))
    return value.limit_denominator(1001)


def parse_rate(text: str | float | int, what: str = "--fps") -> FrameRate:
    """A frame rate from ``25``, ``29.97``, ``29.97df``, ``30000/1001``, ``59.94df``.

    Raises
    ------
    ParameterError
        Not a positive rate, or ``df`` on a rate other than 29.97 / 59.94.
    """
    raw = text
    drop = False
    if isinstance(text, str):
        text = text.strip().lower()
        for suffix in ("df", "-df", " df", "drop"):
            if text.endswith(suffix):
                drop, text = True, text[: -len(suffix)].strip()
                break
        else:
            for suffix in ("ndf", "-ndf"):
                if text.endswith(suffix):
                    text = text[: -len(suffix)].strip()
        try:
            value = Fraction(text) if "/" in text else Fraction(float(text))
        except (ValueError, ZeroDivisionError):
            raise ParameterError(
                f"{what}={raw!r} is not a frame rate; expected e.g. 25, 29.97, 29.97df, 30000/1001 or 59.94df"
            ) from None
    else:
        try:
            value = Fraction(text)
        except (TypeError, ValueError):
            raise ParameterError(f"{what}={raw!r} is not a frame rate; expected a positive number") from None
    if not 0 < value <= 1000:
        raise ParameterError(f"{what}={raw!r} must be a frame rate between 0 and 1000 frames per second")
    fps = exact_rate(value)
    if drop and fps not in (_NTSC[30], _NTSC[60]):
        raise ParameterError(f"{what}={raw!r}: drop-frame exists only at 29.97 and 59.94 fps")
    return FrameRate(fps, drop)


def frames_from_timecode(hh: int, mm: int, ss: int, ff: int, rate: FrameRate) -> int:
    """Frame number of a SMPTE timecode label (SMPTE 12M drop-frame counting when ``rate.drop_frame``).

    Raises
    ------
    ValueError
        A field is out of range, or the label is one drop-frame skips (``00:01:00;00``).
    """
    nominal = rate.nominal
    if not (0 <= mm < 60 and 0 <= ss < 60 and 0 <= ff < nominal and hh >= 0):
        raise ValueError(f"fields out of range (minutes and seconds < 60, frames < {nominal})")
    total_minutes = 60 * hh + mm
    frames = (3600 * hh + 60 * mm + ss) * nominal + ff
    if rate.drop_frame:
        drop = 2 * nominal // 30  # 2 labels per minute at 29.97, 4 at 59.94
        if ss == 0 and ff < drop and mm % 10 != 0:
            raise ValueError(f"drop-frame timecode skips frames 0-{drop - 1} at the start of minute {mm}")
        frames -= drop * (total_minutes - total_minutes // 10)
    return frames


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_SMPTE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;,])(\d{2,3})$")


MAX_SECONDS = 366 * 86400  # times beyond a year are typing errors (1e400 would overflow a float)


def parse_time(text, rate: FrameRate | None) -> Fraction:
    """Seconds (exact) from a number, a clock time or a SMPTE timecode; see the module docstring.

    Raises
    ------
    ValueError
        The text is none of the accepted notations, or a timecode comes without a frame rate;
        the message says what was expected (the caller adds where it was).
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a time")
    if isinstance(text, (int, float)):
        if not math.isfinite(text) or abs(text) > MAX_SECONDS:
            raise ValueError(f"{text!r} is not a finite time within a year")
        return Fraction(str(text)) if isinstance(text, float) else Fraction(text)
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a time; expected seconds or a timecode")
    s = text.strip()
    if _NUMBER.match(s):
        value = Fraction(s)
        if abs(value) > MAX_SECONDS:
            raise ValueError(f"{s!r} is not a time: beyond {MAX_SECONDS} s (a year)")
        return value
    m = _SMPTE.match(s)
    if m:
        hh, mm, ss, sep, ff = m.groups()
        if rate is None:
            raise ValueError(f"timecode {s!r} needs a frame rate: give fps= (e.g. 25, 29.97df) or 'fps' in the file")
        drop = sep in ";," or rate.drop_frame
        if drop and rate.fps not in (_NTSC[30], _NTSC[60]):
            raise ValueError(
                f"timecode {s!r} is drop-frame (';') but the frame rate is {rate}; "
                "drop-frame exists only at 29.97 and 59.94"
            )
        frames = frames_from_timecode(int(hh), int(mm), int(ss), int(ff), FrameRate(rate.fps, drop))
        return Fraction(frames) / rate.fps
    m = _CLOCK.match(s)
    if m:
        hh, mm, ss = m.groups()
        if int(mm) >= 60 and hh is not None or Fraction(ss) >= 60:
            raise ValueError(f"clock time {s!r} has minutes or seconds of 60 or more")
        return 3600 * int(hh or 0) + 60 * int(mm) + Fraction(ss)
    raise ValueError(
        f"{text!r} is not a time; expected seconds (12.5), a clock time (00:01:02.500) "
        "or a timecode (00:01:02:12, drop-frame 00:01:02;12)"
    )


def to_samples(seconds: Fraction | float, rate: int) -> int:
    """Nearest sample index of ``seconds`` at ``rate`` Hz (halves round up)."""
    x = Fraction(seconds) * rate
    return int(math.floor(x + Fraction(1, 2)))


def format_seconds(seconds: Fraction | float) -> str:
    """``12.345`` style text for error messages (ms resolution, no trailing zeros)."""
    return f"{float(seconds):.3f}".rstrip("0").rstrip(".")

"""The JSONL sink: the output contract (one object per line, ``type`` first, times in seconds)."""

from __future__ import annotations

import json
import math
import sys
from typing import TextIO

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import Event, SourceInfo, SpectrumFrame, to_record
from rtaudio.sinks import Sink

_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(..., ensure_ascii=False) builds on every call


#: Hundredths with a ready JSON text: -130.00 .. 30.00 (spectrum levels); others are written one by one.
_LOW, _HIGH = -13000, 3000
_TEXTS: np.ndarray | None = None


def _texts() -> np.ndarray:
    """``repr(k / 100)`` for ``k`` in ``_LOW .. _HIGH``, an object array made on first use (~5 ms)."""
    global _TEXTS
    if _TEXTS is None:
        _TEXTS = np.array([repr(k / 100) for k in range(_LOW, _HIGH + 1)], dtype=object)
    return _TEXTS


def rounded_texts(values: np.ndarray) -> list[str] | None:
    """The JSON texts of ``round(v, 2)`` for each ``v`` of ``values``, as ``json.dumps`` writes them.

    Vectorised: ``k = rint(100 v)`` is Python's ``round(v, 2) * 100`` (the exact value rounded) wherever
    the float product ``100 v`` is not a half-integer (rounding the product never crosses one: they
    are floats; a margin of 1e-6 is kept), and then ``round(v, 2) == k / 100`` exactly, whose text is
    looked up. Values at a half, -0.0 and values outside -130 .. 30 go through ``round`` one by one. Returns None when a
    value is not finite (JSON writes those as -999.0, 999.0 or null: the caller's generic path).
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and nan are not fast, and checked below
        y = v * 100.0
        k = np.rint(y)
        index = k - _LOW
        fast = (np.abs(y - k) < 0.5 - 1e-6) & (index >= 0) & (index <= _HIGH - _LOW) & ~((k == 0) & np.signbit(v))
    texts = _texts()[np.where(fast, index, 0).astype(np.intp)]
    for i in np.flatnonzero(~fast).tolist():
        x = float(v[i])
        if not math.isfinite(x):
            return None
        texts[i] = repr(round(x, 2))
    return texts.tolist()


def spectrum_lines(events: list[SpectrumFrame], rate: int) -> list[str]:
    """``json.dumps(to_record(e, rate), ensure_ascii=False)`` for each spectrum frame, in one vectorised pass."""
    arrays = [a for e in events for a in (e.bands_db, e.peaks_db)]
    texts = rounded_texts(np.concatenate(arrays)) if arrays and all(a.ndim == 1 for a in arrays) else None
    if texts is None:
        return [_ENCODER.encode(to_record(e, rate)) for e in events]
    lines, pos = [], 0
    for e in events:
        nb, np_ = len(e.bands_db), len(e.peaks_db)
        t = float(round(e.t / rate, 6))  # to_record's time field
        lines.append(
            f'{{"type": "{SpectrumFrame.TYPE}", "t": {t!r}, "bands_db": [{", ".join(texts[pos : pos + nb])}], '
            f'"peaks_db": [{", ".join(texts[pos + nb : pos + nb + np_])}]}}'
        )
        pos += nb + np_
    return lines


def spectrum_line(event: SpectrumFrame, rate: int) -> str:
    """:func:`spectrum_lines` of one frame."""
    return spectrum_lines([event], rate)[0]


class JsonlSink(Sink):
    """Write events as JSON lines to ``path`` (``-`` for stdout).

    Parameters
    ----------
    path : str
    spectrum_rate : float >= 0, Hz
        Spectrum frames kept per second of source time (0: none). Frames are
        kept by source time, so the file is the same however fast the input ran.
    """

    def __init__(self, path: str = "-", *, spectrum_rate: float = 10.0):
        if not spectrum_rate >= 0:
            raise ParameterError(f"spectrum_rate={spectrum_rate} must be >= 0 frames per second")
        self.path = path
        self.spectrum_rate = spectrum_rate
        self._file: TextIO | None = None
        self._last_bucket = -1
        self.lines = 0

    def open(self, info: SourceInfo) -> None:
        super().open(info)
        try:
            self._file = sys.stdout if self.path == "-" else open(self.path, "w", encoding="utf-8")
        except OSError as exc:
            raise ParameterError(f"cannot write events to {self.path!r}: {exc.strerror}") from None

    def _keep(self, event: Event) -> bool:
        if not isinstance(event, SpectrumFrame):
            return True
        if self.spectrum_rate == 0:
            return False
        bucket = int(event.t * self.spectrum_rate // self.info.rate)
        if bucket > self._last_bucket:
            self._last_bucket = bucket
            return True
        return False

    def emit(self, events: list[Event]) -> None:
        rate = self.info.rate
        kept = [e for e in events if self._keep(e)]
        spectra = iter(spectrum_lines([e for e in kept if type(e) is SpectrumFrame], rate))
        lines = [next(spectra) if type(e) is SpectrumFrame else _ENCODER.encode(to_record(e, rate)) for e in kept]
        if lines:
            try:
                self._file.write("\n".join(lines) + "\n")
                self._file.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise ParameterError(f"cannot write events to {self.path!r}: {exc.strerror or exc}") from None
            self.lines += len(lines)

    def close(self) -> None:
        f, self._file = self._file, None
        if f is not None and f is not sys.stdout:
            try:
                f.close()
            except OSError as exc:
                raise ParameterError(f"cannot write events to {self.path!r}: {exc.strerror or exc}") from None

"""The JSONL sink: the output contract (one object per line, ``type`` first, times in seconds)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from rtaudio.errors import ParameterError
from rtaudio.events import Event, SourceInfo, SpectrumFrame, to_record
from rtaudio.sinks import Sink

_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(..., ensure_ascii=False) builds on every call


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
        lines = [_ENCODER.encode(to_record(e, self.info.rate)) for e in events if self._keep(e)]
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

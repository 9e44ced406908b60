"""A spectrum stage whose band scale (octave or mel) the window can switch while it runs.

Both scales are analysed all the time (one numba kernel call each per hop,
tens of microseconds), and only the chosen one's events go out, so a switch
is seamless: the next block starts with a
:class:`~rtaudio.events.SpectrumBands` event of the new scale and continues
with frames whose smoothing and peaks are already settled.

The window's thread calls :meth:`ScaleSwitchStage.request`; that only stores a
string, which the engine's reader thread picks up at its next block (no lock:
one attribute store is atomic).
"""

from __future__ import annotations

import dataclasses

from rtaudio.errors import ParameterError
from rtaudio.events import Event, SpectrumBands
from rtaudio.stages.base import Frame, Stage
from rtaudio.stages.spectrum import SCALES, SpectrumParams, SpectrumStage


class ScaleSwitchStage(Stage):
    """The ``spectrum`` stage in both scales, emitting the events of the one chosen.

    Parameters
    ----------
    params : SpectrumParams
        Parameters of the stage; ``params.scale`` is the scale at the start, the other
        scale uses the same parameters.
    sample_rate : int > 0, Hz
    """

    name = "spectrum"
    rate = None

    def __init__(self, params: SpectrumParams | None = None, *, sample_rate: int):
        params = SpectrumParams() if params is None else params
        self.stages = {
            scale: SpectrumStage(dataclasses.replace(params, scale=scale), sample_rate=sample_rate) for scale in SCALES
        }
        self.params = params
        self.sample_rate = sample_rate
        self._wanted = params.scale
        self._active = params.scale

    @property
    def scale(self) -> str:
        """The scale whose events go out now."""
        return self._active

    @property
    def active(self) -> SpectrumStage:
        return self.stages[self._active]

    def request(self, scale: str) -> None:
        """Switch to ``scale`` (``"octave"`` or ``"mel"``) from the next block on; safe from any thread."""
        if scale not in SCALES:
            raise ParameterError(f"scale={scale!r} must be one of {', '.join(SCALES)}")
        self._wanted = scale

    def toggle(self) -> str:
        """Request the other scale; returns it."""
        other = next(s for s in SCALES if s != self._wanted)
        self.request(other)
        return other

    def process(self, frame: Frame) -> list[Event]:
        wanted = self._wanted
        switched = wanted != self._active
        self._active = wanted
        events: list[Event] = []
        for scale, stage in self.stages.items():
            out = stage.process(frame)
            if scale == wanted:
                events = out
        if switched:
            stage = self.stages[wanted]
            events = [e for e in events if not isinstance(e, SpectrumBands)]
            events.insert(
                0, SpectrumBands(t=frame.index, scale=wanted, centers_hz=tuple(float(f) for f in stage.centers_hz))
            )
        return events

    def flush(self) -> list[Event]:
        return []

    def reset(self) -> None:
        for stage in self.stages.values():
            stage.reset()
        self._active = self._wanted

    @property
    def latest(self):
        return self.active.latest

    @property
    def latest_t(self):
        return self.active.latest_t

    @property
    def centers_hz(self):
        return self.active.centers_hz

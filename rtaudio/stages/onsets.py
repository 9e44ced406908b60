"""The ``onsets`` stage: note and hit onsets from the spectral flux, with an adaptive threshold.

At 16 kHz, on the ODF of :mod:`rtaudio.stages.odf` (100 frames per second), frame
``m`` is an onset when, ``post`` frames later (20 ms by default):

* it is the largest value from ``m - pre_max`` to ``m + post``;
* it exceeds the mean of ``m - pre_avg .. m + post`` by ``delta``, where ``delta`` is
  ``max(delta_rel * P, delta_abs)`` and ``P`` the running level of the ODF's peaks
  (an exponential average of its local maxima): the threshold follows the music's
  dynamics, and near-silence or steady noise stays below ``delta_abs``;
* it is at least ``wait`` frames after the previous onset.

Each onset is a ``KeyMoment(kind="onset")`` whose ``score`` is ``1 - exp(-v / P)``
(``v``: the ODF value; a typical hit scores about 0.6, a soft one less) and whose
``label`` is ``"low"`` when most of its flux is below 150 Hz (kick, bass), else empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import Event, KeyMoment
from rtaudio.stages.base import Frame, Stage, check_params, check_sample_rate
from rtaudio.stages.beats import ODF_LEAD_S, RATE, _check_rate, _number
from rtaudio.stages.odf import OdfParams, OnsetEnvelope


@dataclass(frozen=True)
class OnsetsParams:
    """Parameters of the ``onsets`` stage (frames are 10 ms).

    Attributes
    ----------
    pre_max : int >= 1, frames
        Frames before a candidate it must exceed (default 3).
    post : int >= 1, frames
        Frames after it it must exceed; also the stage's latency (default 2).
    pre_avg : int >= 1, frames
        Frames before it in the mean the threshold starts from (default 10).
    delta_rel : float >= 0
        Threshold above that mean, as a fraction of the running peak level (default 0.1).
    delta_abs : float >= 0
        Smallest threshold, ODF units (default 0.005: the flux peaks of white noise at -60 dBFS).
    wait : int >= 0, frames
        Smallest distance between onsets (default 3).
    low_weight : float >= 0
        Weight of the low-band flux in the ODF (default 0.2, as the beat tracker).
    """

    pre_max: int = 3
    post: int = 2
    pre_avg: int = 10
    delta_rel: float = 0.1
    delta_abs: float = 0.005
    wait: int = 3
    low_weight: float = 0.2

    def __post_init__(self):
        for name in ("pre_max", "post", "pre_avg", "wait"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if name == "wait" else 1):
                raise ParameterError(f"{name}={v!r} must be an integer >= {0 if name == 'wait' else 1} (frames)")
        _number(self.delta_rel, "delta_rel", 0.0)
        _number(self.delta_abs, "delta_abs", 0.0)
        _number(self.low_weight, "low_weight", 0.0)


class OnsetsStage(Stage):
    """Onset detection (see the module docstring).

    Parameters
    ----------
    params : OnsetsParams
    sample_rate : int > 0, Hz
        The source rate (the stage runs at 16 kHz).
    """

    name = "onsets"
    emits = (KeyMoment,)
    rate = RATE

    def __init__(self, params: OnsetsParams | None = None, *, sample_rate: int = RATE):
        self.params = check_params(params, OnsetsParams)
        check_sample_rate(sample_rate)
        self.odf_params = OdfParams()
        self._odf = OnsetEnvelope(self.odf_params, sample_rate=RATE)
        p = self.params
        self._size = p.pre_avg + p.post + p.pre_max + 4
        self._lead = int(round(ODF_LEAD_S * RATE))
        self.reset()

    def reset(self) -> None:
        self._odf.reset()
        self._v = np.zeros(self._size)
        self._lowv = np.zeros(self._size)
        self._t = np.zeros(self._size, np.int64)
        self._n = 0
        self._next: int | None = None
        self._last = -(10**9)
        self._pk = self._pw = 0.0
        self._m = self._w = 0.0

    def process(self, frame: Frame) -> list[Event]:
        """Analyse a block of any size at 16 kHz; return the onsets confirmed in it."""
        _check_rate(frame, "onsets")
        if not len(frame.samples):
            return []
        p = self.params
        events: list[Event] = []
        size = self._size
        for center, flux, low, _ in self._odf.push(frame.index, frame.mono):
            if self._next is not None and center != self._next:
                self._n = 0
                self._last = -(10**9)
            self._next = center + self.odf_params.hop
            v = flux + p.low_weight * low
            n = self._n
            self._v[n % size] = v
            self._lowv[n % size] = p.low_weight * low
            self._t[n % size] = center
            self._n = n + 1
            # running mean and peak level (peaks above the mean)
            self._m = 0.995 * self._m + 0.005 * v
            self._w = 0.995 * self._w + 0.005
            mean = self._m / self._w
            if n >= 2:
                y0, y1 = self._v[(n - 2) % size], self._v[(n - 1) % size]
                if y1 >= y0 and y1 > v and y1 > mean:
                    self._pk = 0.9 * self._pk + 0.1 * y1
                    self._pw = 0.9 * self._pw + 0.1
            m = n - p.post
            if m - p.pre_avg < 0:
                continue
            vm = self._v[m % size]
            if vm <= 0.0:
                continue
            ok = True
            for k in range(m - p.pre_max, n + 1):
                if k != m and self._v[k % size] > vm:
                    ok = False
                    break
            if not ok or m - self._last < p.wait:
                continue
            avg = sum(self._v[k % size] for k in range(m - p.pre_avg, n + 1)) / (n + 1 - m + p.pre_avg)
            level = self._pk / self._pw if self._pw > 0 else vm
            if vm < avg + max(p.delta_rel * level, p.delta_abs):
                continue
            self._last = m
            score = 1.0 - math.exp(-vm / max(level, 1e-12))
            label = "low" if self._lowv[m % size] > 0.5 * vm else ""
            events.append(KeyMoment(int(self._t[m % size]) + self._lead, "onset", round(score, 3), label))
        return events

    def flush(self) -> list[Event]:
        """Nothing pending: the last ``post`` frames cannot be confirmed and are dropped."""
        return []

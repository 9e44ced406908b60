"""Downbeats: which beat of the bar each reported beat is, from harmonic change and bass hits.

Chords tend to change, and kick drums tend to land, on the first beat of a bar.
For every beat the :class:`BarTracker` gets two cues:

* ``change``: the cosine distance between the chroma of the beat interval before
  the beat and the one after it (known one beat later);
* ``bass``: the low-band onset strength at the beat, relative to its running mean.

It keeps, for bars of 3 and of 4 beats, an exponential average of
``change + 0.5 * bass`` per position in the bar, and calls the position with the
largest average the downbeat.  A bar of 3 wins only if its contrast (best minus
mean position) beats the bar of 4 by 30 % (4/4 is the common case).  Confidence
is that contrast relative to the best average, in [0, 1].

:func:`chroma_matrix` and :func:`chroma` give the 12-bin pitch-class profile used
for the harmonic cue.
"""

from __future__ import annotations

import numpy as np

from rtaudio.dsp.chroma import chroma_filterbank
from rtaudio.dsp.windows import window

#: Weight of a beat in the per-position averages.
ALPHA = 0.15
#: Frequency range (Hz) the chroma uses.
CHROMA_FMIN, CHROMA_FMAX = 60.0, 2000.0


def chroma_matrix(n_fft: int, sample_rate: int) -> np.ndarray:
    """(12, n_fft // 2 + 1) weights mapping FFT power to pitch classes (C = 0), each bin in
    [CHROMA_FMIN, CHROMA_FMAX] to its nearest class (:func:`rtaudio.dsp.chroma.chroma_filterbank`)."""
    return chroma_filterbank(sample_rate, n_fft, CHROMA_FMIN, CHROMA_FMAX, spread="nearest")


def chroma(x: np.ndarray, matrix: np.ndarray, n_fft: int, frames: int = 4) -> np.ndarray:
    """Mean chroma (12,) of mono ``x`` from up to ``frames`` Hann windows of ``n_fft`` samples, L2-normalised (zeros if silent)."""
    win = window("hann", n_fft, periodic=False)
    if len(x) < n_fft:
        x = np.concatenate([x, np.zeros(n_fft - len(x), x.dtype)])
    starts = np.unique(np.linspace(0, len(x) - n_fft, frames).astype(int))
    acc = np.zeros(matrix.shape[1])
    for s in starts:
        spec = np.fft.rfft(win * x[s : s + n_fft])
        acc += spec.real**2 + spec.imag**2
    c = matrix @ np.sqrt(acc)
    norm = float(np.sqrt(c @ c))
    return c / norm if norm > 0 else c


class BarTracker:
    """Per-beat bar position and downbeat decision (see the module docstring).

    Parameters
    ----------
    beats_per_bar : {0, 2, 3, 4, 5, 6, 7}
        Fixed bar length, or 0 to choose between 3 and 4.
    """

    def __init__(self, beats_per_bar: int = 0):
        self.fixed = int(beats_per_bar)
        self.reset()

    def reset(self) -> None:
        self.count = 0  # beats seen
        self.acc = {m: np.zeros(m) for m in ((self.fixed,) if self.fixed else (3, 4))}
        self.bass_mean = 0.0

    def meter(self) -> tuple[int, int, float]:
        """(beats per bar, position of the downbeat modulo it, confidence in [0, 1])."""
        best = None
        for m, a in self.acc.items():
            contrast = float(a.max() - a.mean())
            score = contrast * (1.0 if m != 3 else 1 / 1.3)
            if best is None or score > best[0]:
                best = (score, m, int(np.argmax(a)), contrast / max(float(a.max()), 1e-12))
        _, m, pos, conf = best
        return m, pos, max(0.0, min(1.0, conf))

    def observe(self, index: int, change: float, bass: float) -> None:
        """Cues of beat number ``index`` (0 = first beat): ``change`` in [0, 1], ``bass`` >= 0."""
        self.bass_mean = bass if self.count == 0 else 0.9 * self.bass_mean + 0.1 * bass
        self.count += 1
        cue = change + (0.5 * bass / self.bass_mean if self.bass_mean > 0 else 0.0)
        cue = min(cue, 3.0)
        for m, a in self.acc.items():
            p = index % m
            a[p] += ALPHA * (cue - a[p])

    def is_downbeat(self, index: int) -> tuple[bool, float]:
        """Whether beat number ``index`` starts a bar, with the confidence of the current meter estimate."""
        m, pos, conf = self.meter()
        return index % m == pos, conf


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(a, b) for L2-normalised vectors, 0 when either is all zeros; in [0, 1] for non-negative vectors."""
    if not a.any() or not b.any():
        return 0.0
    return max(0.0, min(1.0, 1.0 - float(a @ b)))


__all__ = ["BarTracker", "chroma", "chroma_matrix", "cosine_distance"]

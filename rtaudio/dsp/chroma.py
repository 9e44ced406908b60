"""Pitch-class (chroma) filter bank over rfft bins, equal temperament with A4 = 440 Hz."""

from __future__ import annotations

import numpy as np

from rtaudio.dsp.filterbanks import fft_frequencies
from rtaudio.errors import ParameterError


def chroma_filterbank(
    sample_rate: float, n_fft: int, fmin: float, fmax: float, *, spread: str = "nearest"
) -> np.ndarray:
    """Weights mapping rfft bins to the 12 pitch classes (C = 0, C# = 1, ..., B = 11).

    A bin of frequency ``f`` in ``[fmin, fmax]`` Hz has MIDI pitch ``p = 69 + 12 log2(f / 440)``.
    ``spread="nearest"``: weight 1 on class ``round(p) mod 12``; ``spread="linear"``: weights
    ``1 - frac`` on ``floor(p) mod 12`` and ``frac`` on the next class (``frac = p - floor(p)``).
    Bins outside ``[fmin, fmax]`` get no weight.

    Returns
    -------
    ndarray (12, n_fft // 2 + 1) float64
    """
    if spread not in ("nearest", "linear"):
        raise ParameterError(f"spread={spread!r} must be 'nearest' or 'linear'")
    freqs = fft_frequencies(sample_rate, n_fft)
    bins = np.flatnonzero((freqs >= fmin) & (freqs <= fmax))
    pitch = 69.0 + 12.0 * np.log2(freqs[bins] / 440.0)
    m = np.zeros((12, len(freqs)))
    if spread == "nearest":
        m[np.round(pitch).astype(int) % 12, bins] = 1.0
    else:
        k = np.floor(pitch)
        frac = pitch - k
        k = k.astype(int)
        m[k % 12, bins] = 1.0 - frac
        m[(k + 1) % 12, bins] = frac
    return m

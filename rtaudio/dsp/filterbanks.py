"""Frequency scales and filter banks over rfft bins: mel (Slaney or HTK) and fractional octave.

A bank is a dense ``(bands, n_fft // 2 + 1)`` float64 matrix ``W``; band power is ``W @ |X|**2``.
"""

from __future__ import annotations

import numpy as np

from rtaudio.errors import ParameterError

_F_SP = 200.0 / 3  # Slaney: Hz per mel below 1 kHz
_LOGSTEP = np.log(6.4) / 27.0  # Slaney: log-Hz per mel above 1 kHz


def hz_to_mel(f, *, htk: bool = False):
    """Mel of ``f`` (Hz, array-like), float64.

    Slaney (librosa ``htk=False``): 1 mel per 200/3 Hz below 1 kHz (15 mel at 1 kHz), logarithmic
    above; HTK: ``2595 * log10(1 + f / 700)``.
    """
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / _LOGSTEP, f / _F_SP)


def mel_to_hz(m, *, htk: bool = False):
    """Inverse of :func:`hz_to_mel`: Hz of ``m`` (mel, array-like), float64."""
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= 15.0, 1000.0 * np.exp(_LOGSTEP * (m - 15.0)), m * _F_SP)


def mel_frequencies(n: int, fmin: float, fmax: float, *, htk: bool = False) -> np.ndarray:
    """``n`` frequencies (Hz, float64) evenly spaced on the mel scale from ``fmin`` to ``fmax`` Hz."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk), n), htk=htk)


def fft_frequencies(sample_rate: float, n_fft: int) -> np.ndarray:
    """Centre frequency (Hz, float64) of each of the ``n_fft // 2 + 1`` rfft bins."""
    return np.arange(n_fft // 2 + 1) * sample_rate / n_fft


def mel_filterbank(
    sample_rate: float, n_fft: int, n_mels: int, fmin: float, fmax: float, *, htk: bool = False, norm: str | None = None
) -> np.ndarray:
    """Triangular mel filters over the rfft bins, as ``librosa.filters.mel``.

    Parameters
    ----------
    sample_rate : float > 0, Hz
    n_fft : int > 0, samples
    n_mels : int > 0
    fmin, fmax : float, Hz
        Lower edge of the first filter and upper edge of the last (not clipped here).
    htk : bool
        HTK mel formula instead of Slaney's.
    norm : None or "slaney"
        ``None``: peak weight 1; ``"slaney"``: each filter scaled by ``2 / (upper - lower edge)``
        in Hz (constant area).

    Returns
    -------
    ndarray (n_mels, n_fft // 2 + 1) float64
        Filter ``k`` rises from edge ``k`` to centre ``k + 1`` and falls to edge ``k + 2`` of
        :func:`mel_frequencies` ``(n_mels + 2, fmin, fmax)``.
    """
    if norm not in (None, "slaney"):
        raise ParameterError(f"norm={norm!r} must be None or 'slaney'")
    freqs = fft_frequencies(sample_rate, n_fft)
    pts = mel_frequencies(n_mels + 2, fmin, fmax, htk=htk)
    lower = (freqs - pts[:-2, None]) / (pts[1:-1] - pts[:-2])[:, None]
    upper = (pts[2:, None] - freqs) / (pts[2:] - pts[1:-1])[:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (pts[2:] - pts[:-2]))[:, None]
    return weights


def octave_bands(
    sample_rate: float, n_fft: int, fmin: float, fmax: float, bands_per_octave: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fractional-octave bands (IEC 61260 base-2 layout) over the rfft bins.

    Band ``k`` is centred at ``fmin * 2**(k / bands_per_octave)`` Hz with edges
    ``1 / (2 * bands_per_octave)`` octave either side; there are as many bands as have their
    centre in ``[fmin, fmax]``.

    Returns
    -------
    centers_hz : ndarray (bands,) float64, Hz
    weights : ndarray (bands, n_fft // 2 + 1) float64
        1 for each bin whose frequency ``f`` is in ``[lower edge, upper edge)``, else 0.
    """
    bpo = bands_per_octave
    n_bands = int(np.floor(bpo * np.log2(fmax / fmin) + 1e-9)) + 1
    k = np.arange(n_bands + 1)
    centers = fmin * 2.0 ** (k[:-1] / bpo)
    edges = fmin * 2.0 ** ((k - 0.5) / bpo)
    freqs = fft_frequencies(sample_rate, n_fft)
    weights = ((freqs >= edges[:-1, None]) & (freqs < edges[1:, None])).astype(np.float64)
    return centers, weights


def fill_empty_bands(
    weights: np.ndarray, centers_hz: np.ndarray, sample_rate: float, n_fft: int, *, how: str = "interpolate"
) -> np.ndarray:
    """Drop the DC bin from every band, then give each band left without a bin one or two bins.

    Bands narrower than the bin spacing (low frequencies) catch no bin.  ``how="interpolate"``:
    such a band interpolates linearly between the two bins around its centre (so neighbouring
    narrow bands still differ); ``how="nearest"``: it takes the bin nearest its centre with
    weight 1.  Neither ever uses bin 0.

    Parameters
    ----------
    weights : ndarray (bands, n_fft // 2 + 1) float64, changed in place
    centers_hz : ndarray (bands,), Hz
    sample_rate : float > 0, Hz
    n_fft : int > 0, samples
    how : {"interpolate", "nearest"}

    Returns
    -------
    ndarray: ``weights``
    """
    if how not in ("interpolate", "nearest"):
        raise ParameterError(f"how={how!r} must be 'interpolate' or 'nearest'")
    n_bins = weights.shape[1]
    weights[:, 0] = 0.0
    df = sample_rate / n_fft
    for b in np.flatnonzero(~weights.any(axis=1)):
        if how == "nearest":
            weights[b, max(1, min(n_bins - 1, int(round(centers_hz[b] * n_fft / sample_rate))))] = 1.0
            continue
        pos = max(centers_hz[b] / df, 1.0)
        j0 = min(int(np.floor(pos)), n_bins - 1)
        frac = pos - j0
        if j0 + 1 < n_bins and frac > 0:
            weights[b, j0] = 1.0 - frac
            weights[b, j0 + 1] = frac
        else:
            weights[b, j0] = 1.0
    return weights

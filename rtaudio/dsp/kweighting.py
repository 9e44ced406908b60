"""The BS.1770 K-weighting filter (loudness pre-filter) at any sample rate."""

from __future__ import annotations

import math

import numpy as np


def k_weighting_sos(sample_rate: float) -> np.ndarray:
    """BS.1770 K-weighting filter for ``sample_rate`` as two biquads.

    The coefficients are pyloudnorm's (0.2, ``Meter(rate).integrated_loudness``):
    the BS.1770 high shelf (+4 dB, 1500 Hz, Q = 1/sqrt 2) and the RLB high-pass
    (38 Hz, Q = 0.5), each designed from its analog prototype with the RBJ
    cookbook bilinear formulas, so they exist for any sample rate.  At 48 kHz they
    are within 1.1e-4 of the BS.1770-4 table for the shelf; the high-pass is
    normalised to unit gain at Nyquist where the table (and libebur128) use
    ``b = [1, -2, 1]``: on a 1 kHz tone this meter (like pyloudnorm) reads about
    0.04 LU below libebur128 at 44.1 / 48 kHz and about 0.11 LU below at 16 kHz.

    Parameters
    ----------
    sample_rate : float > 0, Hz

    Returns
    -------
    sos : ndarray (2, 6) float64
        ``[b0, b1, b2, 1, a1, a2]`` per section (scipy's ``sos`` layout): shelf, then high-pass.
    """
    sos = np.zeros((2, 6))
    # High shelf: G = 4 dB, fc = 1500 Hz, Q = 1/sqrt(2).
    A = 10 ** (4.0 / 40.0)
    w0 = 2.0 * math.pi * 1500.0 / sample_rate
    alpha = math.sin(w0) / (2.0 * (1 / math.sqrt(2)))
    c, sa = math.cos(w0), 2 * math.sqrt(A) * alpha
    b = [A * ((A + 1) + (A - 1) * c + sa), -2 * A * ((A - 1) + (A + 1) * c), A * ((A + 1) + (A - 1) * c - sa)]
    a = [(A + 1) - (A - 1) * c + sa, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - sa]
    sos[0] = [b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]]
    # High-pass: fc = 38 Hz, Q = 0.5.
    w0 = 2.0 * math.pi * 38.0 / sample_rate
    alpha = math.sin(w0) / (2.0 * 0.5)
    c = math.cos(w0)
    b = [(1 + c) / 2, -(1 + c), (1 + c) / 2]
    a = [1 + alpha, -2 * c, 1 - alpha]
    sos[1] = [b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]]
    return sos

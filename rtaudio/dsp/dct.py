"""DCT-II as a matrix (cepstra, MFCC-like timbre features)."""

from __future__ import annotations

import numpy as np

from rtaudio.errors import ParameterError


def dct_matrix(n_out: int, n_in: int, *, norm: str | None = None) -> np.ndarray:
    """The first ``n_out`` rows of the ``n_in``-point DCT-II, float64 ``(n_out, n_in)``.

    ``norm=None``: ``D[k, i] = cos(pi * k * (2 i + 1) / (2 n_in))`` (half of scipy's unnormalised
    DCT-II); ``norm="ortho"``: scaled by ``sqrt(2 / n_in)``, row 0 by ``sqrt(1 / n_in)``
    (orthonormal, as ``scipy.fft.dct(norm="ortho")`` and librosa's MFCC).
    """
    if norm not in (None, "ortho"):
        raise ParameterError(f"norm={norm!r} must be None or 'ortho'")
    k = np.arange(n_out)[:, None]
    i = np.arange(n_in)[None, :]
    d = np.cos(np.pi * k * (2 * i + 1) / (2 * n_in))
    if norm == "ortho":
        d *= np.sqrt(2.0 / n_in)
        d[0] /= np.sqrt(2.0)
    return d

"""Analysis windows."""

from __future__ import annotations

import numpy as np

from rtaudio.errors import ParameterError

WINDOWS = ("hann", "hamming", "blackman", "rect")


def window(name: str, n: int, *, periodic: bool = True, dtype=np.float64) -> np.ndarray:
    """The window ``name`` of ``n`` samples.

    Parameters
    ----------
    name : {"hann", "hamming", "blackman", "rect"}
    n : int > 0, samples
    periodic : bool
        ``True``: the DFT-even form for spectral analysis (period ``n``, as
        ``scipy.signal.get_window(name, n)``); ``False``: the symmetric form (period ``n - 1``,
        as ``np.hanning(n)``).
    dtype : numpy float dtype

    Returns
    -------
    ndarray (n,) of ``dtype``, values in [0, 1] (``[1.0]`` when ``n == 1``)
    """
    if name not in WINDOWS:
        raise ParameterError(f"window={name!r} must be one of {', '.join(WINDOWS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ParameterError(f"n={n!r} must be a positive integer (samples)")
    if name == "rect" or n == 1:
        return np.ones(n, dtype)
    if periodic:
        phase = 2.0 * np.pi * np.arange(n) / n
        c0, c1, c2 = {"hann": (0.5, -0.5, 0.0), "hamming": (0.54, -0.46, 0.0), "blackman": (0.42, -0.5, 0.08)}[name]
    else:  # numpy's own form (np.hanning, np.hamming, np.blackman), to the last bit
        phase = np.pi * np.arange(1 - n, n, 2) / (n - 1)
        c0, c1, c2 = {"hann": (0.5, 0.5, 0.0), "hamming": (0.54, 0.46, 0.0), "blackman": (0.42, 0.5, 0.08)}[name]
    w = c0 + c1 * np.cos(phase)
    if c2:
        w = w + c2 * np.cos(2.0 * phase)
    return w.astype(dtype, copy=False)

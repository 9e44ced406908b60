"""Framing, short-time Fourier transform and its inverse (overlap-add), along the last axis."""

from __future__ import annotations

import numpy as np

from rtaudio.dsp.windows import window as make_window
from rtaudio.errors import ParameterError


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{name}={value!r} must be a positive integer (samples)")
    return int(value)


def frames(x: np.ndarray, length: int, hop: int, *, pad_start: int = 0, count: int | None = None) -> np.ndarray:
    """Frames of ``length`` samples every ``hop`` samples along the last axis of ``x``.

    Parameters
    ----------
    x : ndarray (..., n)
    length, hop : int > 0, samples
    pad_start : int >= 0, samples
        Zeros put in front of ``x``: frame ``i`` starts at sample ``i * hop - pad_start`` of ``x``.
    count : int >= 0 or None
        Number of frames; zeros are appended as far as they need. ``None``: every frame that
        fits in the padded signal.

    Returns
    -------
    ndarray (..., count, length), dtype of ``x``: a read-only view (of a padded copy when padding is needed).
    """
    length, hop = _positive("length", length), _positive("hop", hop)
    if pad_start < 0:
        raise ParameterError(f"pad_start={pad_start!r} must be >= 0 samples")
    x = np.asarray(x)
    n = x.shape[-1] + pad_start
    if count is None:
        count = 0 if n < length else 1 + (n - length) // hop
    if count < 0:
        raise ParameterError(f"count={count!r} must be >= 0 frames")
    total = (count - 1) * hop + length if count else 0
    if pad_start or total > n:
        padded = np.zeros(x.shape[:-1] + (max(total, n),), x.dtype)
        padded[..., pad_start:n] = x
        x = padded
    return np.lib.stride_tricks.sliding_window_view(x, length, axis=-1)[..., ::hop, :][..., :count, :]


def spectra(framed: np.ndarray, window: str = "hann") -> np.ndarray:
    """rfft of each windowed frame of ``framed`` ((..., length) float32): (..., length // 2 + 1) complex64.

    The window is the periodic one of :func:`rtaudio.dsp.windows.window`, in float32.
    """
    import scipy.fft

    framed = np.asarray(framed, np.float32)
    w = make_window(window, framed.shape[-1], dtype=np.float32)
    return scipy.fft.rfft(framed * w, axis=-1, workers=-1).astype(np.complex64, copy=False)


def stft(
    x: np.ndarray, n_fft: int, hop: int, *, pad_start: int = 0, count: int | None = None, window: str = "hann"
) -> np.ndarray:
    """Short-time Fourier transform of ``x`` ((..., n) float32) along its last axis.

    Frames as :func:`frames` (``pad_start`` zeros in front, ``count`` frames, zeros after), each
    windowed and transformed by :func:`spectra`; no scaling.

    Returns
    -------
    ndarray (..., count, n_fft // 2 + 1) complex64
    """
    return spectra(frames(np.asarray(x, np.float32), n_fft, hop, pad_start=pad_start, count=count), window)


def istft(
    spec: np.ndarray,
    n_fft: int,
    hop: int,
    *,
    length: int,
    offset: int = 0,
    window: str = "hann",
    normalize: bool = True,
) -> np.ndarray:
    """Inverse of :func:`stft`: irfft of each frame, times the window, overlap-added.

    Parameters
    ----------
    spec : ndarray (..., frames, n_fft // 2 + 1) complex
    n_fft, hop : int > 0, samples; ``hop`` divides ``n_fft``
    length : int >= 0, samples
        Samples returned.
    offset : int >= 0, samples
        First sample returned (the ``pad_start`` of the forward transform).
    window : str
        Synthesis window (periodic, as :func:`rtaudio.dsp.windows.window`).
    normalize : bool
        ``True``: weighted overlap-add, divided by the sum of the squared windows at each sample
        (floored at 1e-8), which inverts :func:`stft` exactly where frames cover the signal.
        ``False``: plain overlap-add (for Hann at hop ``n_fft / 4`` that is 1.5 times the signal).

    Returns
    -------
    ndarray (..., length) float32
    """
    import scipy.fft

    n_fft, hop = _positive("n_fft", n_fft), _positive("hop", hop)
    if n_fft % hop:
        raise ParameterError(f"hop={hop} must divide n_fft={n_fft} (samples)")
    w = make_window(window, n_fft, dtype=np.float32)
    framed = scipy.fft.irfft(spec, n=n_fft, axis=-1, workers=-1).astype(np.float32, copy=False)
    framed *= w
    lead, count, k = framed.shape[:-2], framed.shape[-2], n_fft // hop
    out = np.zeros(lead + ((count + k - 1) * hop,), np.float32)
    for j in range(k):  # one hop-sized slice of every frame at a time
        out[..., j * hop : (j + count) * hop] += framed[..., j * hop : (j + 1) * hop].reshape(lead + (-1,))
    if normalize:
        w2 = w * w
        norm = np.zeros(out.shape[-1], np.float32)
        for j in range(k):
            norm[j * hop : (j + count) * hop] += np.tile(w2[j * hop : (j + 1) * hop], count)
        out /= np.maximum(norm, 1e-8)
    return out[..., offset : offset + length]

"""Features of the spoken-language-ID model: per-window normalised log-mel, numpy only.

This one function is used by the runtime stage (:mod:`rtaudio.stages.lid`) and by the training
recipe (``models/langid/train.py``), so the model sees the same numbers in both places.
"""

from __future__ import annotations

import numpy as np

from rtaudio.dsp.filterbanks import mel_filterbank
from rtaudio.dsp.frames import frames as framed
from rtaudio.dsp.windows import window

#: Sample rate the features are defined at, Hz.
RATE = 16000
#: Analysis window, samples (25 ms).
WIN = 400
#: FFT size, samples.
NFFT = 512
#: Hop between feature frames, samples (10 ms).
HOP = 160
#: Mel bands (triangles on the HTK mel scale, peak weight 1).
N_MELS = 40
#: Band edges of the filterbank, Hz.
FMIN, FMAX = 60.0, 7600.0
#: Floor added before the log, so digital silence is finite.
FLOOR = 1e-6


_FB = mel_filterbank(RATE, NFFT, N_MELS, FMIN, FMAX, htk=True).T.astype(np.float32)  # (NFFT // 2 + 1, N_MELS)
_WINDOW = window("hann", WIN, dtype=np.float32)


def n_frames(n_samples: int) -> int:
    """Feature frames for ``n_samples`` samples at :data:`RATE` (0 when shorter than one window)."""
    return 0 if n_samples < WIN else 1 + (n_samples - WIN) // HOP


def log_mel(x: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Log-mel features of one window of speech, normalised per window (CMVN).

    Parameters
    ----------
    x : ndarray (n,) float, in [-1, 1], sampled at :data:`RATE` Hz
        Mono audio; n >= :data:`WIN` samples.
    normalize : bool
        Subtract each band's mean over the window and divide by the standard deviation
        across all bands and frames (per-utterance CMVN), which removes the channel's
        and the synthesizer's fixed spectral colouring.

    Returns
    -------
    ndarray (frames, N_MELS) float32
        One row per 10 ms hop (:func:`n_frames`).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"log_mel expects mono audio (n,), got shape {x.shape}")
    t = n_frames(len(x))
    if t == 0:
        raise ValueError(f"log_mel needs at least {WIN} samples ({WIN / RATE * 1000:.0f} ms), got {len(x)}")
    frames = framed(x, WIN, HOP, count=t)
    frames = frames - frames.mean(axis=1, keepdims=True)  # remove DC per frame
    spec = np.fft.rfft(frames * _WINDOW, n=NFFT, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    feats = np.log(power @ _FB + FLOOR)
    if normalize:
        feats = feats - feats.mean(axis=0, keepdims=True)
        feats = feats / (feats.std() + 1e-5)
    return feats.astype(np.float32)

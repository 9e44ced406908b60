"""Frame features of a whole signal for the soundtrack renderer: log-mel, chroma, MFCC, RMS, onset strength.

Everything runs at :data:`ANALYSIS_RATE` (22050 Hz) on the mono mix with hop
:data:`HOP` (256 samples, 11.6 ms) and a 2048-sample Hann window centred on
the frame time ``k * HOP / ANALYSIS_RATE`` seconds.  The STFT is taken in
chunks so a long input never holds the full spectrogram (a 10-minute input
keeps about 16 MB of features).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtaudio.dsp.chroma import chroma_filterbank
from rtaudio.dsp.dct import dct_matrix
from rtaudio.dsp.filterbanks import mel_filterbank
from rtaudio.dsp.frames import frames as dsp_frames
from rtaudio.dsp.frames import spectra
from rtaudio.dsp.windows import window

#: Rate (Hz) the analysis runs at.
ANALYSIS_RATE = 22050
#: Hop (samples at ANALYSIS_RATE) between frames: 11.6 ms.
HOP = 256
#: FFT / window length (samples): 93 ms, enough for chroma down to about 100 Hz.
N_FFT = 2048
#: Mel bands of the log-mel spectrogram.
N_MELS = 64
#: MFCCs kept (timbre).
N_MFCC = 13
#: Floor of the log-mel spectrogram relative to its maximum (dB).
TOP_DB = 80.0


@dataclass
class Features:
    """Frame features of one signal.

    Attributes
    ----------
    mel_db : ndarray (frames, N_MELS) float32, dB
        Log-mel power, floored at ``max - TOP_DB``.
    chroma : ndarray (frames, 12) float32
        Pitch-class energy, each frame scaled to unit max (0 for silence).
    mfcc : ndarray (frames, N_MFCC) float32
        DCT-II of ``mel_db`` (timbre).
    rms_db : ndarray (frames,) float32, dBFS
        RMS over the window.
    onset : ndarray (frames,) float32
        Onset strength: half-wave rectified log-mel flux, detrended, >= 0.
    """

    mel_db: np.ndarray
    chroma: np.ndarray
    mfcc: np.ndarray
    rms_db: np.ndarray
    onset: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.rms_db)

    @staticmethod
    def frame_of(seconds: float | np.ndarray) -> np.ndarray | int:
        """Nearest frame index of a time (s)."""
        f = np.rint(np.asarray(seconds) * ANALYSIS_RATE / HOP).astype(np.int64)
        return int(f) if f.ndim == 0 else f

    @staticmethod
    def time_of(frame: float | np.ndarray) -> float | np.ndarray:
        """Time (s) of a frame index."""
        return np.asarray(frame, dtype=np.float64) * HOP / ANALYSIS_RATE

    def as_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{k}": getattr(self, k) for k in ("mel_db", "chroma", "mfcc", "rms_db", "onset")}

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> Features:
        return cls(**{k: np.asarray(arrays[f"{prefix}{k}"]) for k in ("mel_db", "chroma", "mfcc", "rms_db", "onset")})


_BANKS: dict = {}


def filter_banks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mel bank (N_MELS, bins), chroma bank (12, bins), DCT matrix (N_MFCC, N_MELS)), float32, cached.

    Mel: HTK scale, 30 Hz to 0.95 Nyquist, Slaney area norm; chroma: 60 Hz to 5 kHz, each bin
    spread linearly over its two nearest pitch classes; DCT: orthonormal DCT-II.
    """
    if "banks" in _BANKS:
        return _BANKS["banks"]
    mel = mel_filterbank(ANALYSIS_RATE, N_FFT, N_MELS, 30.0, ANALYSIS_RATE / 2 * 0.95, htk=True, norm="slaney")
    chroma = chroma_filterbank(ANALYSIS_RATE, N_FFT, 60.0, 5000.0, spread="linear")
    dct = dct_matrix(N_MFCC, N_MELS, norm="ortho")
    _BANKS["banks"] = (mel.astype(np.float32), chroma.astype(np.float32), dct.astype(np.float32))
    return _BANKS["banks"]


def to_analysis_rate(x: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at ANALYSIS_RATE from (n,) or (n, ch) audio (or a DiskSignal) at ``rate`` Hz."""
    from rtaudio.jobs.soundtrack.signal import mono_at

    return mono_at(x, rate, ANALYSIS_RATE)


def compute(x: np.ndarray, rate: int, *, chunk_frames: int = 4096, top_db: float | None = TOP_DB) -> Features:
    """Features of ``x`` ((n,) or (n, ch) float at ``rate`` Hz), one frame every HOP samples at ANALYSIS_RATE.

    Frame ``k`` is centred on ``k * HOP`` (the signal is zero-padded by N_FFT/2 on
    both sides); there are ``len // HOP + 1`` frames.  ``top_db=None`` leaves the
    log-mel spectrogram unfloored (for a caller that floors several pieces alike).
    """
    y = to_analysis_rate(x, rate)  # an array, or for a DiskSignal x a (n, 1) DiskSignal read by chunk
    mel_bank, chroma_bank, dct = filter_banks()
    pad = N_FFT // 2
    frames = len(y) // HOP + 1
    mel_pow = np.empty((frames, N_MELS), np.float32)
    chroma = np.empty((frames, 12), np.float32)
    rms = np.empty(frames, np.float32)
    win_norm = float(np.sum(window("hann", N_FFT, dtype=np.float32) ** 2))
    for f0 in range(0, frames, chunk_frames):
        f1 = min(frames, f0 + chunk_frames)
        span = _span(y, f0 * HOP - pad, (f1 - 1) * HOP - pad + N_FFT)  # frames centred on k * HOP
        block = dsp_frames(span, N_FFT, HOP, count=f1 - f0)
        spec = spectra(block, "hann")
        power = (spec.real**2 + spec.imag**2).astype(np.float32)
        mel_pow[f0:f1] = power @ mel_bank.T
        c = np.sqrt(power) @ chroma_bank.T
        chroma[f0:f1] = c
        rms[f0:f1] = np.sqrt(np.mean(block[:, pad - HOP : pad + HOP] ** 2, axis=1) + 1e-20)
    mel_db = 10.0 * np.log10(mel_pow + 1e-12)
    if top_db is not None:
        mel_db = np.maximum(mel_db, float(mel_db.max(initial=-120.0)) - top_db)
    mel_db = mel_db.astype(np.float32)
    peak = chroma.max(axis=1, keepdims=True)
    energy = mel_pow.sum(axis=1, keepdims=True)
    chroma = np.where((peak > 0) & (energy > 1e-8 * win_norm), chroma / np.maximum(peak, 1e-12), 0.0).astype(np.float32)
    mfcc = (mel_db @ dct.T).astype(np.float32)
    rms_db = (20.0 * np.log10(rms + 1e-10)).astype(np.float32)
    return Features(mel_db, chroma, mfcc, rms_db, onset_strength(mel_db))


def _span(y, a: int, b: int) -> np.ndarray:
    """``y[a:b]`` (an array, or a (n, 1) DiskSignal) as (b - a,) float32, zeros outside the signal."""
    out = np.zeros(b - a, np.float32)
    lo, hi = max(0, a), min(len(y), b)
    if hi > lo:
        part = y[lo:hi]
        out[lo - a : hi - a] = part if part.ndim == 1 else part[:, 0]
    return out


def onset_strength(mel_db: np.ndarray) -> np.ndarray:
    """Half-wave rectified log-mel flux (lag 1), mean over bands, minus its 1-s moving average, >= 0."""
    if len(mel_db) < 2:
        return np.zeros(len(mel_db), np.float32)
    flux = np.maximum(0.0, mel_db[1:] - mel_db[:-1]).mean(axis=1)
    flux = np.concatenate([[0.0], flux])
    width = max(3, int(round(1.0 * ANALYSIS_RATE / HOP)) | 1)
    kernel = np.ones(width) / width
    trend = np.convolve(np.pad(flux, width // 2, mode="edge"), kernel, mode="valid")[: len(flux)]
    return np.maximum(0.0, flux - trend).astype(np.float32)


def frame_distance(mel_db: np.ndarray) -> np.ndarray:
    """Frame-to-frame spectral change: RMS difference (dB) of consecutive log-mel frames; d[k] is k-1 -> k."""
    if len(mel_db) < 2:
        return np.zeros(len(mel_db), np.float32)
    d = np.sqrt(np.mean((mel_db[1:] - mel_db[:-1]) ** 2, axis=1))
    return np.concatenate([[0.0], d]).astype(np.float32)

"""The onset detection function (ODF) the onset and beat stages share: log-mel spectral flux.

Per frame of ``n_fft`` samples every ``hop`` samples (default 1024 / 160 at 16 kHz:
a 64 ms window, 100 frames per second) one numba kernel does::

    window -> |rfft|**2 (the spectrum stage's radix-2 kernel) -> mel bands (magnitude)
    -> L[b] = log10(1 + gamma * mag[b]) -> flux = mean_b max(0, L[b] - max3(L_prev)[b])

``max3(L_prev)`` is the previous frame's log spectrum max-filtered over three
neighbouring bands (SuperFlux, Boeck & Widmer 2013): vibrato and slow glides
then give little flux, a new note or a hit gives a lot.  The kernel also
returns the flux of the bands below ``low_hz`` (kick drums: a cue for
downbeats) and the frame's log energy (dB).

Everything is computed one frame at a time in a fixed order, so the output does
not depend on how the input was split into blocks (streaming equals batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from rtaudio.dsp.filterbanks import fill_empty_bands, mel_filterbank, mel_frequencies
from rtaudio.dsp.windows import window
from rtaudio.errors import ParameterError
from rtaudio.stages.base import HopFramer
from rtaudio.stages.spectrum import _fft_tables, _rfft_power, band_power, sparse_bands


@dataclass(frozen=True)
class OdfParams:
    """Parameters of :class:`OnsetEnvelope`.

    Attributes
    ----------
    n_fft : int, power of two >= 64, samples
        Frame length at the stage rate (default 1024: 64 ms at 16 kHz).
    hop : int in (0, n_fft], samples
        Distance between frames (default 160: 10 ms at 16 kHz, 100 frames per second).
    n_mels : int >= 4
        Mel bands (default 64).
    fmin, fmax : float, Hz
        Band range (default 30 to 8000 Hz; ``fmax`` is clipped to the Nyquist frequency).
    gamma : float > 0
        Log compression ``log10(1 + gamma * magnitude)``; magnitudes are normalised so a
        full-scale sine in one band reads 1 (default 1000).
    low_hz : float > fmin, Hz
        Upper edge of the "low" flux (default 150 Hz).
    """

    n_fft: int = 1024
    hop: int = 160
    n_mels: int = 64
    fmin: float = 30.0
    fmax: float = 8000.0
    gamma: float = 1000.0
    low_hz: float = 150.0

    def __post_init__(self):
        n = self.n_fft
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 64 or n & (n - 1):
            raise ParameterError(f"n_fft={n!r} must be a power of two >= 64 samples")
        if not isinstance(self.hop, (int, np.integer)) or isinstance(self.hop, bool) or not 0 < self.hop <= n:
            raise ParameterError(f"hop={self.hop!r} must be an integer in (0, n_fft={n}] samples")
        if not isinstance(self.n_mels, (int, np.integer)) or self.n_mels < 4:
            raise ParameterError(f"n_mels={self.n_mels!r} must be an integer >= 4")
        if not 0 < self.fmin < self.fmax:
            raise ParameterError(f"fmin={self.fmin!r} and fmax={self.fmax!r} must satisfy 0 < fmin < fmax (Hz)")
        if not self.gamma > 0:
            raise ParameterError(f"gamma={self.gamma!r} must be > 0")
        if not self.fmin < self.low_hz:
            raise ParameterError(f"low_hz={self.low_hz!r} must be above fmin={self.fmin} Hz")


def mel_weights(n_fft: int, sample_rate: int, n_mels: int, fmin: float, fmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Triangular mel filters (Slaney scale, peak 1) and their centre frequencies.

    A filter too narrow to catch any FFT bin takes the bin nearest its centre, so none is empty.

    Returns
    -------
    centers_hz : ndarray (n_mels,), Hz
    weights : ndarray (n_mels, n_fft // 2 + 1) float64
    """
    fmax = min(fmax, sample_rate / 2)
    centers = mel_frequencies(n_mels + 2, fmin, fmax)[1:-1]
    w = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
    return centers, fill_empty_bands(w, centers, sample_rate, n_fft, how="nearest")


@njit(cache=True, nogil=True)
def _odf_kernel(
    x,
    window,
    bitrev,
    twr,
    twi,
    spr,
    spi,
    re,
    im,
    power,
    band_start,
    band_count,
    band_offset,
    band_flat,
    scale,
    gamma,
    n_low,
    prev,
    cur,
    out,
):  # pragma: no cover - compiled
    """One frame: ``out[0]`` = flux, ``out[1]`` = low-band flux, ``out[2]`` = energy (dB); ``cur`` -> ``prev``."""
    _rfft_power(x, window, bitrev, twr, twi, spr, spi, re, im, power)
    nb = band_start.shape[0]
    energy = 0.0
    for k in range(power.shape[0]):
        energy += power[k]
    for b in range(nb):
        p = band_power(power, b, band_start, band_count, band_offset, band_flat)
        cur[b] = math.log10(1.0 + gamma * math.sqrt(p * scale))
    flux = 0.0
    low = 0.0
    for b in range(nb):
        ref = prev[b]
        if b > 0 and prev[b - 1] > ref:
            ref = prev[b - 1]
        if b + 1 < nb and prev[b + 1] > ref:
            ref = prev[b + 1]
        d = cur[b] - ref
        if d > 0.0:
            flux += d
            if b < n_low:
                low += d
        prev[b] = cur[b]
    out[0] = flux / nb
    out[1] = low / max(n_low, 1)
    out[2] = 10.0 * math.log10(energy * scale + 1e-12)


class OnsetEnvelope:
    """Streaming log-mel spectral flux, one value per hop.

    Parameters
    ----------
    params : OdfParams
    sample_rate : int > 0, Hz

    Notes
    -----
    :meth:`push` returns, per complete frame, ``(t, flux, low_flux, energy_db)``: ``t`` is the
    frame's centre (samples, the caller's clock), ``flux`` and ``low_flux`` are >= 0
    (mean log10 rise per band), ``energy_db`` the frame energy (dB re a full-scale sine).
    The first frame has no predecessor: its flux is computed against silence.
    """

    def __init__(self, params: OdfParams, *, sample_rate: int):
        self.params = params
        self.sample_rate = int(sample_rate)
        n = params.n_fft
        self.fps = self.sample_rate / params.hop
        self._window = window("hann", n)
        self._tables = _fft_tables(n)
        self._re = np.zeros(n // 2)
        self._im = np.zeros(n // 2)
        self._power = np.zeros(n // 2 + 1)
        centers, w = mel_weights(n, self.sample_rate, params.n_mels, params.fmin, params.fmax)
        self.centers_hz = centers
        self._bands = sparse_bands(w)
        self._n_low = int(np.sum(centers < params.low_hz))
        # |X|^2 of a full-scale sine = (sum w / 2)^2: normalise to 1
        self._scale = 1.0 / (np.sum(self._window) / 2) ** 2
        self._prev = np.zeros(params.n_mels)
        self._cur = np.zeros(params.n_mels)
        self._out = np.zeros(3)
        self._framer = HopFramer(n, params.hop)
        self.reset()

    def reset(self) -> None:
        self._framer.reset()
        self._prev[:] = 0.0

    def push(self, index: int, samples: np.ndarray) -> list[tuple[int, float, float, float]]:
        """Feed mono ``samples`` (n,) starting at ``index``; return one tuple per frame completed."""
        out = []
        half = self.params.n_fft // 2
        bitrev, twr, twi, spr, spi = self._tables
        start, count, offset, flat = self._bands
        for end, buf in self._framer.push(index, samples):
            _odf_kernel(
                buf[:, 0],
                self._window,
                bitrev,
                twr,
                twi,
                spr,
                spi,
                self._re,
                self._im,
                self._power,
                start,
                count,
                offset,
                flat,
                self._scale,
                float(self.params.gamma),
                self._n_low,
                self._prev,
                self._cur,
                self._out,
            )
            out.append((end - half, float(self._out[0]), float(self._out[1]), float(self._out[2])))
        return out

    @property
    def last_log_mel(self) -> np.ndarray:
        """The last frame's log-compressed mel magnitudes (n_mels,), a view overwritten by the next frame."""
        return self._prev


def onset_envelope(x: np.ndarray, sample_rate: int, params: OdfParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The whole ODF of a mono signal at once: ``(times_s, flux)`` (for tests, benchmarks and reports)."""
    env = OnsetEnvelope(params or OdfParams(), sample_rate=sample_rate)
    rows = env.push(0, np.ascontiguousarray(x, dtype=np.float32))
    if not rows:
        return np.zeros(0), np.zeros(0)
    a = np.asarray(rows)
    return a[:, 0] / sample_rate, a[:, 1]

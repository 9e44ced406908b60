"""The ``spectrum`` stage: the visualisation path, fused into one numba kernel per frame.

Per frame of ``n_fft`` samples (every ``hop`` samples) the kernel does:
window -> real FFT (iterative radix-2, an ``n_fft/2``-point complex FFT plus a
split step) -> bin power -> log-frequency bands (fractional octave or mel) ->
dB -> attack/release smoothing -> peak hold.  Every buffer and table is built
once in :class:`SpectrumStage`; a frame is one call of an ``@njit(cache=True)``
kernel that writes into them and allocates nothing.

Level definition (dB)
---------------------
With ``w`` the window (length ``N = n_fft``) and ``X = rfft(w * x)``, bin power
is ``|X[j]|**2`` for ``j = 0 .. N/2`` and band ``k`` has power
``P[k] = sum_j W[k, j] * |X[j]|**2`` (``W``: the band weights, see
:func:`band_weights`).  The level is::

    L[k] = 10 * log10(P[k] / P_ref),   P_ref = N * sum(w**2) / 4

``P_ref`` is the one-sided power of a full-scale sine (amplitude 1), so a
0 dBFS sine whose window main lobe lies inside one band reads 0 dB in that
band, whatever the window.  Levels are clamped below at ``floor_db`` (digital
silence reads exactly ``floor_db``).

:func:`spectrum_reference` (and :class:`SpectrumReference`) is the same
computation in plain numpy, ``np.fft.rfft`` based; it is the reference the
tests hold the kernel to (within 1e-4 dB) and the benchmark's baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from rtaudio.dsp import windows
from rtaudio.dsp.filterbanks import fill_empty_bands, mel_filterbank, mel_frequencies, octave_bands
from rtaudio.dsp.windows import WINDOWS
from rtaudio.errors import ParameterError
from rtaudio.events import Event, SpectrumBands, SpectrumFrame
from rtaudio.stages.base import Frame, HopFramer, Stage, check_params, check_sample_rate

SCALES = ("octave", "mel")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class SpectrumParams:
    """Parameters of the ``spectrum`` stage.

    Attributes
    ----------
    n_fft : int, power of two >= 64, samples
        Frame (and FFT) length. Default 2048 (42.7 ms at 48 kHz).
    hop : int in (0, n_fft], samples
        Distance between frames; one :class:`~rtaudio.events.SpectrumFrame` per hop. Default 512.
    window : {"hann", "hamming", "blackman", "rect"}
        Analysis window (periodic form). Default ``"hann"``.
    scale : {"octave", "mel"}
        Band layout. ``"octave"``: fractional-octave bands, band ``k`` centred at
        ``fmin * 2**(k / bands_per_octave)`` Hz with edges ``1 / (2 * bands_per_octave)`` octave
        either side; as many bands as have their centre in ``[fmin, fmax]``.
        ``"mel"``: ``n_mels`` triangular filters evenly spaced on the Slaney mel scale between
        ``fmin`` and ``fmax`` (librosa's ``mel(htk=False, norm=None)``: peak weight 1, no area
        normalisation). Default ``"octave"``.
    bands_per_octave : int >= 1
        Bands per octave for ``scale="octave"``. Default 6 (1/6 octave).
    n_mels : int >= 1
        Number of mel bands for ``scale="mel"``. Default 64.
    fmin : float > 0, Hz
        Lowest band centre (octave) or lower edge of the first filter (mel). Default 20.0.
    fmax : float > fmin, Hz, or None
        Highest band centre (octave) or upper edge of the last filter (mel). ``None``:
        ``min(20000, sample_rate / 2)``. A value above ``sample_rate / 2`` is clipped to it.
        Default ``None``.
    attack_s : float >= 0, seconds
        Time constant of the smoothing while the level rises (0: none). The per-frame
        coefficient is ``exp(-hop / (sample_rate * attack_s))``, so a step response reaches
        1 - 1/e (63 %) of the step after ``attack_s`` whatever the hop. Default 0.01.
    release_s : float >= 0, seconds
        Time constant of the smoothing while the level falls. Default 0.3.
    peak_hold_s : float >= 0, seconds
        How long a peak of the smoothed level is held before it decays. Default 1.0.
    peak_decay_db_per_s : float >= 0, dB/s
        Fall rate of a peak after the hold. Default 20.0.
    floor_db : float < 0, dB
        Lowest level reported (silence reads exactly this). Default -120.0.
    """

    n_fft: int = 2048
    hop: int = 512
    window: str = "hann"
    scale: str = "octave"
    bands_per_octave: int = 6
    n_mels: int = 64
    fmin: float = 20.0
    fmax: float | None = None
    attack_s: float = 0.01
    release_s: float = 0.3
    peak_hold_s: float = 1.0
    peak_decay_db_per_s: float = 20.0
    floor_db: float = -120.0

    def __post_init__(self):
        n_fft, hop = self.n_fft, self.hop
        if not _is_int(n_fft) or n_fft < 64 or n_fft & (n_fft - 1):
            raise ParameterError(f"n_fft={n_fft!r} must be a power of two >= 64 (samples)")
        if not _is_int(hop) or not 0 < hop <= n_fft:
            raise ParameterError(f"hop={hop!r} must be an integer in (0, n_fft={n_fft}] samples")
        if self.window not in WINDOWS:
            raise ParameterError(f"window={self.window!r} must be one of {', '.join(WINDOWS)}")
        if self.scale not in SCALES:
            raise ParameterError(f"scale={self.scale!r} must be one of {', '.join(SCALES)}")
        if not _is_int(self.bands_per_octave) or self.bands_per_octave < 1:
            raise ParameterError(f"bands_per_octave={self.bands_per_octave!r} must be an integer >= 1")
        if not _is_int(self.n_mels) or self.n_mels < 1:
            raise ParameterError(f"n_mels={self.n_mels!r} must be an integer >= 1")
        if not _is_real(self.fmin) or not 0 < self.fmin < math.inf:
            raise ParameterError(f"fmin={self.fmin!r} must be a finite frequency > 0 Hz")
        if self.fmax is not None and (not _is_real(self.fmax) or not self.fmin < self.fmax < math.inf):
            raise ParameterError(f"fmax={self.fmax!r} must be None or a finite frequency > fmin={self.fmin} Hz")
        for name in ("attack_s", "release_s", "peak_hold_s"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 <= value < math.inf:
                raise ParameterError(f"{name}={value!r} must be a finite time >= 0 seconds")
        d = self.peak_decay_db_per_s
        if not _is_real(d) or not 0 <= d < math.inf:
            raise ParameterError(f"peak_decay_db_per_s={d!r} must be a finite rate >= 0 dB/s")
        if not _is_real(self.floor_db) or not -math.inf < self.floor_db < 0:
            raise ParameterError(f"floor_db={self.floor_db!r} must be a finite level < 0 dB")


# ---------------------------------------------------------------------------
# Tables (built once per stage; shared by the kernel and the numpy reference)
# ---------------------------------------------------------------------------


def _resolve_fmax(params: SpectrumParams, sample_rate: int) -> float:
    nyquist = sample_rate / 2
    fmax = min(20000.0, nyquist) if params.fmax is None else min(float(params.fmax), nyquist)
    if not params.fmin < fmax:
        raise ParameterError(f"fmin={params.fmin} must be below fmax={fmax} Hz (at most sample_rate/2={nyquist} Hz)")
    return fmax


def band_weights(params: SpectrumParams, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre frequencies and the dense band-weight matrix of ``params`` at ``sample_rate``.

    Parameters
    ----------
    params : SpectrumParams
    sample_rate : int > 0, Hz

    Returns
    -------
    centers_hz : ndarray (n_bands,) float64, Hz
    weights : ndarray (n_bands, n_fft // 2 + 1) float64
        Band power is ``weights @ |rfft(w * x)|**2``. Octave: weight 1 for each bin whose
        frequency ``f`` is in ``[lo, hi)``. Mel: librosa-style triangles, peak 1.  A band that
        gets no bin that way (narrower than the bin spacing, at low frequencies) instead
        interpolates linearly between the two bins around its centre, so no band is empty and
        neighbouring narrow bands still differ.  Bin 0 (DC) is never used.
    """
    fmax = _resolve_fmax(params, sample_rate)
    if params.scale == "octave":
        centers, weights = octave_bands(sample_rate, params.n_fft, params.fmin, fmax, params.bands_per_octave)
    else:
        centers = mel_frequencies(params.n_mels + 2, params.fmin, fmax)[1:-1]
        weights = mel_filterbank(sample_rate, params.n_fft, params.n_mels, params.fmin, fmax)
    fill_empty_bands(weights, centers, sample_rate, params.n_fft, how="interpolate")
    return centers, weights


def sparse_bands(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's sparse form of a dense band-weight matrix.

    Returns ``(start, count, offset, flat)``: band ``k`` is
    ``sum(flat[offset[k] : offset[k] + count[k]] * power[start[k] : start[k] + count[k]])``.
    Each band's span runs from its first to its last non-zero bin.
    """
    n_bands = len(weights)
    start = np.zeros(n_bands, np.int64)
    count = np.zeros(n_bands, np.int64)
    parts = []
    for b, row in enumerate(weights):
        nz = np.flatnonzero(row)
        start[b], count[b] = nz[0], nz[-1] - nz[0] + 1
        parts.append(row[nz[0] : nz[-1] + 1])
    offset = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
    return start, count, offset, np.ascontiguousarray(np.concatenate(parts))


@njit(cache=True, nogil=True, inline="always")
def band_power(power, b, band_start, band_count, band_offset, band_flat):
    """Power of band ``b``: its weights (:func:`sparse_bands` form) times ``power`` (a 1-D power spectrum,
    or a column view of one), summed bin by bin from the lowest (the order every kernel relies on)."""
    p = 0.0
    j0 = band_start[b]
    o = band_offset[b]
    for i in range(band_count[b]):
        p += band_flat[o + i] * power[j0 + i]
    return p


def _coefficients(params: SpectrumParams, sample_rate: int) -> dict:
    """Per-frame constants: smoothing coefficients, hold/decay in samples, reference power."""

    def coef(tau: float) -> float:
        return 0.0 if tau == 0 else math.exp(-params.hop / (sample_rate * tau))

    window = windows.window(params.window, params.n_fft)
    pref = params.n_fft * float(np.sum(window**2)) / 4.0
    return dict(
        window=window,
        pref=pref,
        floor_db=float(params.floor_db),
        floor_power=pref * 10.0 ** (params.floor_db / 10.0),
        a_att=coef(params.attack_s),
        a_rel=coef(params.release_s),
        hop=float(params.hop),
        hold=float(params.peak_hold_s) * sample_rate,
        decay=float(params.peak_decay_db_per_s) / sample_rate,
    )


# ---------------------------------------------------------------------------
# The numba kernel
# ---------------------------------------------------------------------------

# Layout of the kernel's float parameter vector.
_P_PREF, _P_FLOOR_DB, _P_FLOOR_POWER, _P_ATT, _P_REL, _P_HOP, _P_HOLD, _P_DECAY = range(8)


def _fft_tables(n_fft: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tables of the real FFT of ``n_fft`` points done as an ``m = n_fft/2``-point complex FFT.

    Returns
    -------
    bitrev : ndarray (m,) int64
        Bit-reversal permutation of ``0 .. m-1``.
    twr, twi : ndarray (m - 1,) float64
        Stage twiddles, real and imaginary parts: the stage of size ``s`` (2, 4, .., m) uses
        ``exp(-2j pi k / s)``, ``k < s/2``, stored from offset ``s/2 - 1``.
    spr, spi : ndarray (m/2 + 1,) float64
        Twiddles ``exp(-2j pi k / n_fft)``, ``k <= m/2``, of the real split step.
    """
    m = n_fft // 2
    bits = m.bit_length() - 1
    idx = np.arange(m)
    bitrev = np.zeros(m, np.int64)
    for b in range(bits):
        bitrev |= ((idx >> b) & 1) << (bits - 1 - b)
    stages, size = [], 2
    while size <= m:
        stages.append(np.exp(-2j * np.pi * np.arange(size // 2) / size))
        size *= 2
    tw = np.concatenate(stages)
    sp = np.exp(-2j * np.pi * np.arange(m // 2 + 1) / n_fft)
    return (
        bitrev,
        np.ascontiguousarray(tw.real),
        np.ascontiguousarray(tw.imag),
        np.ascontiguousarray(sp.real),
        np.ascontiguousarray(sp.imag),
    )


@njit(cache=True, nogil=True)
def _rfft_power(x, window, bitrev, twr, twi, spr, spi, re, im, power):
    """``power[:] = |rfft(window * x)|**2`` for ``n_fft = 2 * len(re)`` (>= 8); ``re``/``im`` are scratch.

    The even/odd samples are packed into one complex sequence of ``m = n_fft/2`` points in
    bit-reversed order, transformed by an iterative radix-2 FFT (done two stages per pass,
    "radix-2^2"), then split into the spectrum of the real input.  Real and imaginary parts
    are kept in separate arrays and the inner loops index with unsigned integers: that lets
    LLVM vectorise them (numba adds a negative-index check to signed indices).
    """
    m = re.shape[0]
    one = np.uint64(1)
    two = np.uint64(2)
    four = np.uint64(4)
    # pack, fused with the first pass (stages of size 2 and 4: all twiddles are 1 or -1j)
    for g in range(m // 4):
        s = 4 * g
        i = bitrev[s]
        a0r = x[2 * i] * window[2 * i]
        a0i = x[2 * i + 1] * window[2 * i + 1]
        i = bitrev[s + 1]
        a1r = x[2 * i] * window[2 * i]
        a1i = x[2 * i + 1] * window[2 * i + 1]
        i = bitrev[s + 2]
        a2r = x[2 * i] * window[2 * i]
        a2i = x[2 * i + 1] * window[2 * i + 1]
        i = bitrev[s + 3]
        a3r = x[2 * i] * window[2 * i]
        a3i = x[2 * i + 1] * window[2 * i + 1]
        b0r = a0r + a1r
        b0i = a0i + a1i
        b1r = a0r - a1r
        b1i = a0i - a1i
        b2r = a2r + a3r
        b2i = a2i + a3i
        cr = a2r - a3r
        ci = a2i - a3i
        re[s] = b0r + b2r
        im[s] = b0i + b2i
        re[s + 2] = b0r - b2r
        im[s + 2] = b0i - b2i
        re[s + 1] = b1r + ci  # b1 + (-1j) * c
        im[s + 1] = b1i - cr
        re[s + 3] = b1r - ci
        im[s + 3] = b1i + cr
    # passes of two radix-2 stages: sizes 2h and 4h, h = 4, 16, 64, ...
    mu = np.uint64(m)
    h = four
    while four * h <= mu:
        o1 = h - one  # twiddles of the size-2h stage
        o2 = two * h - one  # twiddles of the size-4h stage
        for g in range(mu // (four * h)):
            s = np.uint64(g) * four * h
            for k in range(h):
                w1r = twr[o1 + k]
                w1i = twi[o1 + k]
                w2r = twr[o2 + k]
                w2i = twi[o2 + k]
                i0 = s + k
                i1 = i0 + h
                i2 = i1 + h
                i3 = i2 + h
                a0r = re[i0]
                a0i = im[i0]
                p = re[i1]
                q = im[i1]
                a1r = p * w1r - q * w1i
                a1i = p * w1i + q * w1r
                a2r = re[i2]
                a2i = im[i2]
                p = re[i3]
                q = im[i3]
                a3r = p * w1r - q * w1i
                a3i = p * w1i + q * w1r
                b0r = a0r + a1r
                b0i = a0i + a1i
                b1r = a0r - a1r
                b1i = a0i - a1i
                p = a2r + a3r
                q = a2i + a3i
                b2r = p * w2r - q * w2i
                b2i = p * w2i + q * w2r
                p = a2r - a3r
                q = a2i - a3i
                cr = p * w2r - q * w2i  # twiddle of index k + h in the size-4h stage is -1j * w2
                ci = p * w2i + q * w2r
                re[i0] = b0r + b2r
                im[i0] = b0i + b2i
                re[i2] = b0r - b2r
                im[i2] = b0i - b2i
                re[i1] = b1r + ci
                im[i1] = b1i - cr
                re[i3] = b1r - ci
                im[i3] = b1i + cr
        h *= four
    if h < mu:  # an odd number of stages: one radix-2 stage of size 2h = m is left
        o = h - one
        for k in range(h):
            wr = twr[o + k]
            wi = twi[o + k]
            p = re[k + h]
            q = im[k + h]
            br = p * wr - q * wi
            bi = p * wi + q * wr
            ar = re[k]
            ai = im[k]
            re[k] = ar + br
            im[k] = ai + bi
            re[k + h] = ar - br
            im[k + h] = ai - bi
    # real split: with Z the complex FFT, E = (Z[k] + conj Z[m-k]) / 2, O = -1j (Z[k] - conj Z[m-k]) / 2,
    # X[k] = E + W^k O and X[m-k] = conj(E - W^k O), W = exp(-2j pi / n_fft)
    power[0] = (re[0] + im[0]) ** 2
    power[m] = (re[0] - im[0]) ** 2
    for k in range(one, mu // two + one):
        j = mu - k
        a = re[k]
        b = im[k]
        c = re[j]
        d = im[j]
        er = 0.5 * (a + c)
        ei = 0.5 * (b - d)
        orr = 0.5 * (b + d)
        oi = 0.5 * (c - a)
        wr = spr[k]
        wi = spi[k]
        tr = wr * orr - wi * oi
        ti = wr * oi + wi * orr
        power[k] = (er + tr) ** 2 + (ei + ti) ** 2
        power[j] = (er - tr) ** 2 + (ei - ti) ** 2


@njit(cache=True, nogil=True)
def _ballistics(level, smooth, peak, age, a_att, a_rel, hop, hold, decay, floor_db):
    """One frame of smoothing and peak hold for one band.

    Parameters
    ----------
    level : float, dB
        This frame's level.
    smooth, peak : float, dB
        State: smoothed level and held peak.
    age : float, samples
        State: time since the peak was last set.
    a_att, a_rel : float in [0, 1)
        Per-frame smoothing coefficients (attack when ``level > smooth``, release otherwise).
    hop, hold : float, samples
    decay : float >= 0, dB per sample
    floor_db : float, dB

    Returns
    -------
    (smooth, peak, age) : the new state.
    """
    a = a_att if level > smooth else a_rel
    smooth = a * smooth + (1.0 - a) * level
    new_age = age + hop
    over = new_age - max(age, hold)  # samples of this hop that lie past the hold
    if over > 0.0:
        peak -= decay * over
    if peak < floor_db:
        peak = floor_db
    if smooth >= peak:
        peak = smooth
        new_age = 0.0
    return smooth, peak, new_age


@njit(cache=True, nogil=True)
def _spectrum_kernel(
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
    fparams,
    smooth,
    peak,
    age,
):
    """Analyse one frame ``x`` (n_fft samples) into ``smooth``/``peak`` (dB, in place). Allocates nothing."""
    _rfft_power(x, window, bitrev, twr, twi, spr, spi, re, im, power)
    pref = fparams[_P_PREF]
    floor_db = fparams[_P_FLOOR_DB]
    floor_power = fparams[_P_FLOOR_POWER]
    a_att = fparams[_P_ATT]
    a_rel = fparams[_P_REL]
    hop = fparams[_P_HOP]
    hold = fparams[_P_HOLD]
    decay = fparams[_P_DECAY]
    for b in range(band_start.shape[0]):
        p = band_power(power, b, band_start, band_count, band_offset, band_flat)
        level = 10.0 * math.log10(p / pref) if p > floor_power else floor_db
        smooth[b], peak[b], age[b] = _ballistics(
            level, smooth[b], peak[b], age[b], a_att, a_rel, hop, hold, decay, floor_db
        )


#: Most frames transformed at once by :func:`_rfft_power_lanes`, and fewest worth it: on an AVX2 core
#: (2048 points) 4 and 8 lanes are no faster than one frame at a time, 16 ~15 % and 32 ~25 % faster.
LANES = 32
MIN_LANES = 16


@njit(cache=True, nogil=True)
def _rfft_power_lanes(y, offsets, window, bitrev, twr, twi, spr, spi, re, im, power):
    """:func:`_rfft_power` of the frames ``y[offsets[l] : offsets[l] + n_fft]``, ``l < len(offsets)``, at once.

    The same operations in the same order as :func:`_rfft_power` for each frame (so bit-identical),
    with the frame as the innermost loop: ``re``, ``im`` (m, lanes) and ``power`` (m + 1, lanes) hold
    one frame per column, and LLVM vectorises that loop across frames.
    """
    m = re.shape[0]
    L = re.shape[1]
    for g in range(m // 4):
        s = 4 * g
        i0 = 2 * bitrev[s]
        i1 = 2 * bitrev[s + 1]
        i2 = 2 * bitrev[s + 2]
        i3 = 2 * bitrev[s + 3]
        for lane in range(L):
            o = offsets[lane]
            a0r = y[o + i0] * window[i0]
            a0i = y[o + i0 + 1] * window[i0 + 1]
            a1r = y[o + i1] * window[i1]
            a1i = y[o + i1 + 1] * window[i1 + 1]
            a2r = y[o + i2] * window[i2]
            a2i = y[o + i2 + 1] * window[i2 + 1]
            a3r = y[o + i3] * window[i3]
            a3i = y[o + i3 + 1] * window[i3 + 1]
            b0r = a0r + a1r
            b0i = a0i + a1i
            b1r = a0r - a1r
            b1i = a0i - a1i
            b2r = a2r + a3r
            b2i = a2i + a3i
            cr = a2r - a3r
            ci = a2i - a3i
            re[s, lane] = b0r + b2r
            im[s, lane] = b0i + b2i
            re[s + 2, lane] = b0r - b2r
            im[s + 2, lane] = b0i - b2i
            re[s + 1, lane] = b1r + ci
            im[s + 1, lane] = b1i - cr
            re[s + 3, lane] = b1r - ci
            im[s + 3, lane] = b1i + cr
    h = 4
    while 4 * h <= m:
        o1 = h - 1
        o2 = 2 * h - 1
        for g in range(m // (4 * h)):
            s = g * 4 * h
            for k in range(h):
                w1r = twr[o1 + k]
                w1i = twi[o1 + k]
                w2r = twr[o2 + k]
                w2i = twi[o2 + k]
                i0 = s + k
                i1 = i0 + h
                i2 = i1 + h
                i3 = i2 + h
                for lane in range(L):
                    a0r = re[i0, lane]
                    a0i = im[i0, lane]
                    p = re[i1, lane]
                    q = im[i1, lane]
                    a1r = p * w1r - q * w1i
                    a1i = p * w1i + q * w1r
                    a2r = re[i2, lane]
                    a2i = im[i2, lane]
                    p = re[i3, lane]
                    q = im[i3, lane]
                    a3r = p * w1r - q * w1i
                    a3i = p * w1i + q * w1r
                    b0r = a0r + a1r
                    b0i = a0i + a1i
                    b1r = a0r - a1r
                    b1i = a0i - a1i
                    p = a2r + a3r
                    q = a2i + a3i
                    b2r = p * w2r - q * w2i
                    b2i = p * w2i + q * w2r
                    p = a2r - a3r
                    q = a2i - a3i
                    cr = p * w2r - q * w2i
                    ci = p * w2i + q * w2r
                    re[i0, lane] = b0r + b2r
                    im[i0, lane] = b0i + b2i
                    re[i2, lane] = b0r - b2r
                    im[i2, lane] = b0i - b2i
                    re[i1, lane] = b1r + ci
                    im[i1, lane] = b1i - cr
                    re[i3, lane] = b1r - ci
                    im[i3, lane] = b1i + cr
        h *= 4
    if h < m:
        o = h - 1
        for k in range(h):
            wr = twr[o + k]
            wi = twi[o + k]
            for lane in range(L):
                p = re[k + h, lane]
                q = im[k + h, lane]
                br = p * wr - q * wi
                bi = p * wi + q * wr
                ar = re[k, lane]
                ai = im[k, lane]
                re[k, lane] = ar + br
                im[k, lane] = ai + bi
                re[k + h, lane] = ar - br
                im[k + h, lane] = ai - bi
    for lane in range(L):
        power[0, lane] = (re[0, lane] + im[0, lane]) ** 2
        power[m, lane] = (re[0, lane] - im[0, lane]) ** 2
    for k in range(1, m // 2 + 1):
        j = m - k
        wr = spr[k]
        wi = spi[k]
        for lane in range(L):
            a = re[k, lane]
            b = im[k, lane]
            c = re[j, lane]
            d = im[j, lane]
            er = 0.5 * (a + c)
            ei = 0.5 * (b - d)
            orr = 0.5 * (b + d)
            oi = 0.5 * (c - a)
            tr = wr * orr - wi * oi
            ti = wr * oi + wi * orr
            power[k, lane] = (er + tr) ** 2 + (ei + ti) ** 2
            power[j, lane] = (er - tr) ** 2 + (ei - ti) ** 2


@njit(cache=True, nogil=True)
def _spectrum_frames(
    y,
    n,
    hop,
    window,
    bitrev,
    twr,
    twi,
    spr,
    spi,
    re1,
    im1,
    power1,
    band_start,
    band_count,
    band_offset,
    band_flat,
    fparams,
    smooth,
    peak,
    age,
    out_bands,
    out_peaks,
):
    """:func:`_spectrum_kernel` on the ``n`` frames ``y[i * hop : i * hop + n_fft]``, the FFTs up to
    ``LANES`` frames at a time while at least ``MIN_LANES`` are left (bit-identical), the rest one by
    one (scratch ``re1``, ``im1``, ``power1``); row ``i`` of ``out_bands`` / ``out_peaks``
    (n, n_bands) gets the state after frame ``i``."""
    m = bitrev.shape[0]
    pref = fparams[_P_PREF]
    floor_db = fparams[_P_FLOOR_DB]
    floor_power = fparams[_P_FLOOR_POWER]
    a_att = fparams[_P_ATT]
    a_rel = fparams[_P_REL]
    hop_f = fparams[_P_HOP]
    hold = fparams[_P_HOLD]
    decay = fparams[_P_DECAY]
    size = window.shape[0]
    lanes = 0
    first = 0
    while n - first >= MIN_LANES:
        if min(LANES, n - first) != lanes:  # the first group, and a shorter last one
            lanes = min(LANES, n - first)
            re = np.empty((m, lanes))
            im = np.empty((m, lanes))
            power = np.empty((m + 1, lanes))
            offsets = np.empty(lanes, np.int64)
        for lane in range(lanes):
            offsets[lane] = (first + lane) * hop
        _rfft_power_lanes(y, offsets, window, bitrev, twr, twi, spr, spi, re, im, power)
        for lane in range(lanes):
            column = power[:, lane]
            for b in range(band_start.shape[0]):
                p = band_power(column, b, band_start, band_count, band_offset, band_flat)
                level = 10.0 * math.log10(p / pref) if p > floor_power else floor_db
                smooth[b], peak[b], age[b] = _ballistics(
                    level, smooth[b], peak[b], age[b], a_att, a_rel, hop_f, hold, decay, floor_db
                )
            out_bands[first + lane, :] = smooth
            out_peaks[first + lane, :] = peak
        first += lanes
    for i in range(first, n):  # too few frames left for the lanes to pay: one at a time
        _spectrum_kernel(
            y[i * hop : i * hop + size],
            window,
            bitrev,
            twr,
            twi,
            spr,
            spi,
            re1,
            im1,
            power1,
            band_start,
            band_count,
            band_offset,
            band_flat,
            fparams,
            smooth,
            peak,
            age,
        )
        out_bands[i, :] = smooth
        out_peaks[i, :] = peak


# ---------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------


class SpectrumStage(Stage):
    """Log-frequency spectrum for display: band levels (dB, smoothed) and peak hold, one frame per hop.

    Parameters
    ----------
    params : SpectrumParams, optional
        Defaults to ``SpectrumParams()``.
    sample_rate : int > 0, Hz
        Rate of the frames the stage will get (the source rate; ``rate`` is ``None``).

    Notes
    -----
    :meth:`process` emits, on the first frame after construction or :meth:`reset`, one
    :class:`~rtaudio.events.SpectrumBands` (``t`` = end index of that frame), then one
    :class:`~rtaudio.events.SpectrumFrame` per hop whose ``t`` is the index just past the frame's
    last sample.  Smoothing and peak state start at ``floor_db``.  Levels are defined in the
    module docstring.
    """

    name = "spectrum"
    emits = (SpectrumBands, SpectrumFrame)
    rate = None

    def __init__(self, params: SpectrumParams | None = None, *, sample_rate: int):
        params = check_params(params, SpectrumParams)
        check_sample_rate(sample_rate)
        self.params = params
        self.sample_rate = int(sample_rate)
        self.hop = params.hop
        self.centers_hz, dense = band_weights(params, self.sample_rate)
        self.n_bands = len(self.centers_hz)
        self._start, self._count, self._offset, self._flat = sparse_bands(dense)
        c = _coefficients(params, self.sample_rate)
        self._window = c["window"]
        self._fparams = np.zeros(8)
        self._fparams[_P_PREF] = c["pref"]
        self._fparams[_P_FLOOR_DB] = c["floor_db"]
        self._fparams[_P_FLOOR_POWER] = c["floor_power"]
        self._fparams[_P_ATT] = c["a_att"]
        self._fparams[_P_REL] = c["a_rel"]
        self._fparams[_P_HOP] = c["hop"]
        self._fparams[_P_HOLD] = c["hold"]
        self._fparams[_P_DECAY] = c["decay"]
        self._bitrev, self._twr, self._twi, self._spr, self._spi = _fft_tables(params.n_fft)
        self._re = np.zeros(params.n_fft // 2)
        self._im = np.zeros(params.n_fft // 2)
        self._power = np.zeros(params.n_fft // 2 + 1)
        self._smooth = np.empty(self.n_bands)
        self._peak = np.empty(self.n_bands)
        self._age = np.empty(self.n_bands)
        self._framer = HopFramer(params.n_fft, params.hop)
        self.reset()
        self._frames(np.zeros(0, np.float32), 0)  # load the compiled kernel now, not in the first block

    def _frames(self, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Analyse the ``n`` frames ``y[i * hop : i * hop + n_fft]``; ``(bands_db, peaks_db)``, (n, n_bands) dB."""
        bands = np.empty((n, self.n_bands))
        peaks = np.empty((n, self.n_bands))
        _spectrum_frames(
            y,
            n,
            self.hop,
            self._window,
            self._bitrev,
            self._twr,
            self._twi,
            self._spr,
            self._spi,
            self._re,
            self._im,
            self._power,
            self._start,
            self._count,
            self._offset,
            self._flat,
            self._fparams,
            self._smooth,
            self._peak,
            self._age,
            bands,
            peaks,
        )
        return bands, peaks

    def reset(self) -> None:
        """Forget all state (framing, smoothing, peaks), as if newly built."""
        self._framer.reset()
        self._smooth.fill(self.params.floor_db)
        self._peak.fill(self.params.floor_db)
        self._age.fill(0.0)
        self._announced = False
        self.latest_t: int | None = None

    def analyze_frame(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the kernel on one frame and update the smoothing and peak state.

        Parameters
        ----------
        x : ndarray (n_fft,) float32, C-contiguous
            One frame of mono samples in [-1, 1].

        Returns
        -------
        bands_db, peaks_db : ndarray (n_bands,) float64, dB
            The stage's own state arrays (not copies): overwritten by the next frame.
        """
        if x.shape != self._window.shape:
            raise ParameterError(f"x has shape {x.shape}; analyze_frame expects ({self.params.n_fft},) samples")
        _spectrum_kernel(
            x,
            self._window,
            self._bitrev,
            self._twr,
            self._twi,
            self._spr,
            self._spi,
            self._re,
            self._im,
            self._power,
            self._start,
            self._count,
            self._offset,
            self._flat,
            self._fparams,
            self._smooth,
            self._peak,
            self._age,
        )
        return self._smooth, self._peak

    @property
    def latest(self) -> tuple[np.ndarray, np.ndarray]:
        """The last ``(bands_db, peaks_db)``, dB, as read-only views that each frame updates in place.

        Before any frame both hold ``floor_db``; ``latest_t`` is the end index of the last frame
        (``None`` before any).  Copy them to keep a snapshot.
        """
        bands, peaks = self._smooth.view(), self._peak.view()
        bands.flags.writeable = False
        peaks.flags.writeable = False
        return bands, peaks

    def process(self, frame: Frame) -> list[Event]:
        """Analyse a block of any size; return the events of the frames it completes."""
        if frame.rate != self.sample_rate:
            raise ParameterError(
                f"frame rate {frame.rate} Hz does not match sample_rate={self.sample_rate} Hz of the spectrum stage"
            )
        first_end, span, n = self._framer.push_all(frame.index, frame.mono)
        if n == 0:
            return []
        events: list[Event] = []
        if not self._announced:
            events.append(
                SpectrumBands(t=first_end, scale=self.params.scale, centers_hz=tuple(float(f) for f in self.centers_hz))
            )
            self._announced = True
        bands, peaks = self._frames(span.reshape(-1), n)
        hop = self.hop
        self.latest_t = first_end + (n - 1) * hop
        events.extend(SpectrumFrame(first_end + i * hop, bands[i], peaks[i]) for i in range(n))
        return events

    def flush(self) -> list[Event]:
        """Nothing is pending: a partial frame is not analysed."""
        return []


# ---------------------------------------------------------------------------
# The numpy reference
# ---------------------------------------------------------------------------


class SpectrumReference:
    """The stage's computation in plain numpy (``np.fft.rfft``, a dense band matrix), one frame per call.

    Parameters
    ----------
    params : SpectrumParams, optional
    sample_rate : int > 0, Hz
    """

    def __init__(self, params: SpectrumParams | None = None, *, sample_rate: int):
        self.params = SpectrumParams() if params is None else params
        self.centers_hz, self.weights = band_weights(self.params, sample_rate)
        self.c = _coefficients(self.params, sample_rate)
        n = len(self.centers_hz)
        self.smooth = np.full(n, self.params.floor_db)
        self.peak = np.full(n, self.params.floor_db)
        self.age = np.zeros(n)

    def levels(self, x: np.ndarray) -> np.ndarray:
        """Unsmoothed band levels (dB) of one frame ``x`` (n_fft samples)."""
        c = self.c
        spec = np.fft.rfft(np.asarray(x, np.float64) * c["window"])
        power = spec.real**2 + spec.imag**2
        p = self.weights @ power
        return np.where(
            p > c["floor_power"], 10.0 * np.log10(np.maximum(p, c["floor_power"]) / c["pref"]), c["floor_db"]
        )

    def step(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame: levels, smoothing, peak hold; returns ``(bands_db, peaks_db)`` (state arrays)."""
        c = self.c
        level = self.levels(x)
        a = np.where(level > self.smooth, c["a_att"], c["a_rel"])
        self.smooth = a * self.smooth + (1.0 - a) * level
        new_age = self.age + c["hop"]
        over = new_age - np.maximum(self.age, c["hold"])
        self.peak = np.where(over > 0, self.peak - c["decay"] * over, self.peak)
        self.peak = np.maximum(self.peak, c["floor_db"])
        rise = self.smooth >= self.peak
        self.peak = np.where(rise, self.smooth, self.peak)
        self.age = np.where(rise, 0.0, new_age)
        return self.smooth, self.peak


def spectrum_reference(
    signal: np.ndarray, params: SpectrumParams | None = None, *, sample_rate: int, index: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numpy reference of the whole ``spectrum`` stage on a complete signal.

    Parameters
    ----------
    signal : ndarray (n,) float, mono samples in [-1, 1]
    params : SpectrumParams, optional
    sample_rate : int > 0, Hz
    index : int >= 0, samples
        Index of ``signal[0]`` on the stage's clock.

    Returns
    -------
    ends : ndarray (n_frames,) int64, samples
        ``t`` of each frame (index just past its last sample).
    bands_db, peaks_db : ndarray (n_frames, n_bands) float64, dB
    """
    ref = SpectrumReference(params, sample_rate=sample_rate)
    n_fft, hop = ref.params.n_fft, ref.params.hop
    ends = np.arange(n_fft, len(signal) + 1, hop, dtype=np.int64)
    bands = np.empty((len(ends), len(ref.centers_hz)))
    peaks = np.empty_like(bands)
    for i, end in enumerate(ends):
        bands[i], peaks[i] = ref.step(signal[end - n_fft : end])
    return ends + index, bands, peaks

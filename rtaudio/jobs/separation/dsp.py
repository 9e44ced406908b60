"""The ``dsp`` separation backend: vocals (speech, singing) against accompaniment, without any weights.

The accompaniment is modelled from two cues that music has and a voice lacks, in the magnitude
spectrogram ``V`` of the mono mix (frames x bins):

- **repetition** (REPET-SIM, Rafii & Pardo 2012): for every frame, the ``neighbors`` most similar
  frames at least ``min_distance_s`` away (cosine similarity); a low percentile of their magnitudes
  (instead of REPET's median) is the repeating part: beats, riffs, loops and chords come back, a
  voice saying new words does not, and the low percentile keeps the voice that rides on some of
  the similar frames out of the model;
- **steadiness** (the harmonic half of harmonic/percussive separation, Fitzgerald 2010): a low
  percentile over ``harmonic_s`` along time is what is sustained in each bin: held notes and pads,
  which a voice's gliding pitch and syllables are not.

The accompaniment spectrogram ``M`` is the larger of the two (at most ``V``); the vocals get a
Wiener mask with over-subtraction, ``S = max(V² - a M², 0)``, ``mask = S / (S + a M²)``, and the
accompaniment the complement, so the two stems add back to the input exactly (up to float32
rounding: the STFT is linear and the synthesis is the same for both). Bins below ``highpass_hz``
and above ``max_hz`` go to the accompaniment (a dialogue stem is high-passed at 80-100 Hz in any case; bass and kick live
there). The mask is computed once on the mono mix and applied to every channel.

What it can and cannot do: two stems only (vocals/accompaniment). It has no model of drums, bass
or piano, so it refuses 4 and 5 stems rather than pretending. Quality is far below spleeter's
(measured in ``benchmarks/separation_eval.py``; see ``docs/separation.md``); it is the fallback when
no pretrained model is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtaudio.dsp.frames import istft, stft
from rtaudio.errors import ParameterError

#: What the dsp backend separates.
STEMS = ("vocals", "accompaniment")


@dataclass(frozen=True)
class DspParams:
    """Parameters of the dsp backend (defaults tuned on the dev corpus, speech over music at 0 dB).

    Attributes
    ----------
    window_s : float > 0, seconds
        STFT window length; rounded to the nearest power of two in samples (128 ms -> 2048 at 16 kHz,
        4096 at 44.1/48 kHz). The hop is a quarter window.
    harmonic_s : float > 0, seconds
        Length of the time window over which a bin must be steady to count as sustained music.
    percentile : float in (0, 100)
        Percentile of the magnitudes (over the time window, and over the similar frames) taken as
        the accompaniment: low values keep the voice out of the accompaniment model.
    neighbors : int >= 1
        Similar frames that form the repeating model (REPET-SIM's k).
    min_distance_s : float >= 0, seconds
        Similar frames must be at least this far apart in time.
    oversubtraction : float >= 1
        Weight ``a`` of the accompaniment power in the vocals' Wiener mask.
    highpass_hz : float >= 0, Hz
        Bins below this go wholly to the accompaniment (0: none).
    max_hz : float > 0, Hz
        The masks are estimated up to this frequency; above it everything goes to the accompaniment
        (spleeter does the same above 11 kHz). Halves the cost at 44.1/48 kHz; a voice has little
        energy up there.
    """

    window_s: float = 0.128
    harmonic_s: float = 0.25
    percentile: float = 25.0
    neighbors: int = 20
    min_distance_s: float = 0.5
    oversubtraction: float = 2.0
    highpass_hz: float = 90.0
    max_hz: float = 11025.0

    def __post_init__(self):
        for name in ("window_s", "harmonic_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ParameterError(f"dsp.{name}={v!r} must be a positive number of seconds")
        if not (isinstance(self.percentile, (int, float)) and 0 < self.percentile < 100):
            raise ParameterError(f"dsp.percentile={self.percentile!r} must be a number between 0 and 100")
        if isinstance(self.neighbors, bool) or not isinstance(self.neighbors, int) or self.neighbors < 1:
            raise ParameterError(f"dsp.neighbors={self.neighbors!r} must be a positive integer")
        if not (isinstance(self.min_distance_s, (int, float)) and self.min_distance_s >= 0):
            raise ParameterError(f"dsp.min_distance_s={self.min_distance_s!r} must be >= 0 seconds")
        if not (isinstance(self.oversubtraction, (int, float)) and self.oversubtraction >= 1):
            raise ParameterError(f"dsp.oversubtraction={self.oversubtraction!r} must be a number >= 1")
        if not (isinstance(self.max_hz, (int, float)) and self.max_hz > self.highpass_hz):
            raise ParameterError(f"dsp.max_hz={self.max_hz!r} must be a frequency in Hz above highpass_hz")
        if not (isinstance(self.highpass_hz, (int, float)) and self.highpass_hz >= 0):
            raise ParameterError(f"dsp.highpass_hz={self.highpass_hz!r} must be >= 0 Hz")


def window_length(rate: int, window_s: float) -> int:
    """STFT length in samples: ``window_s`` rounded to the nearest power of two (at least 64)."""
    return max(64, 2 ** int(round(math.log2(max(window_s * rate, 1.0)))))


def _kernels():
    from numba import njit, prange

    @njit(cache=True, inline="always")
    def _select(buf, n, rank):  # pragma: no cover - compiled
        """The ``rank``-th smallest of ``buf[:n]`` (partial selection sort, in place; rank is small)."""
        for i in range(rank + 1):
            m = i
            for j in range(i + 1, n):
                if buf[j] < buf[m]:
                    m = j
            buf[i], buf[m] = buf[m], buf[i]
        return buf[rank]

    @njit(cache=True, parallel=True)
    def time_percentile(v, width, rank):  # pragma: no cover - compiled
        """Per bin, the ``rank``-th smallest of the ``width`` frames centred on each frame (edges clipped)."""
        t_count, f_count = v.shape
        out = np.empty_like(v)
        half = width // 2
        for f in prange(f_count):
            buf = np.empty(width, v.dtype)
            for t in range(t_count):
                lo = max(0, t - half)
                hi = min(t_count, t + half + 1)
                n = hi - lo
                for i in range(n):
                    buf[i] = v[lo + i, f]
                out[t, f] = _select(buf, n, min(rank, n - 1))
        return out

    @njit(cache=True, parallel=True)
    def neighbor_percentile(v, nn, rank):  # pragma: no cover - compiled
        """Per frame and bin, the ``rank``-th smallest magnitude among the frames ``nn[t]``."""
        t_count, f_count = v.shape
        k = nn.shape[1]
        out = np.empty_like(v)
        for t in prange(t_count):
            low = np.empty((rank + 1, f_count), v.dtype)  # the rank+1 smallest so far, sorted, per bin
            filled = 0
            for i in range(k):
                row = v[nn[t, i]]
                if filled <= rank:  # insertion while filling
                    for f in range(f_count):
                        x = row[f]
                        j = filled
                        while j > 0 and low[j - 1, f] > x:
                            low[j, f] = low[j - 1, f]
                            j -= 1
                        low[j, f] = x
                    filled += 1
                else:
                    for f in range(f_count):
                        x = row[f]
                        if x < low[rank, f]:
                            j = rank
                            while j > 0 and low[j - 1, f] > x:
                                low[j, f] = low[j - 1, f]
                                j -= 1
                            low[j, f] = x
            for f in range(f_count):
                out[t, f] = low[rank, f]
        return out

    return time_percentile, neighbor_percentile


_KERNELS = None


def kernels():
    """The numba kernels (compiled on first use, cached on disk)."""
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = _kernels()
    return _KERNELS


def similar_frames(v: np.ndarray, neighbors: int, min_distance: int) -> np.ndarray:
    """Indices (frames, k) of the ``k`` frames most similar to each frame (cosine), ``min_distance`` apart."""
    count = len(v)
    norm = v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-9)
    sim = norm @ norm.T
    idx = np.arange(count)
    sim[np.abs(idx[:, None] - idx[None, :]) < max(min_distance, 1)] = -2.0  # never itself
    k = max(1, min(neighbors, count - 1))
    return np.argpartition(-sim, k - 1, axis=1)[:, :k].astype(np.int64)


def vocals_mask(v: np.ndarray, rate: int, hop: int, n_fft: int, p: DspParams) -> np.ndarray:
    """Soft mask (frames, bins) in [0, 1] of the vocals, from the mono magnitude ``v``."""
    time_percentile, neighbor_percentile = kernels()
    count = len(v)
    width = max(3, int(round(p.harmonic_s * rate / hop)) | 1)
    steady = time_percentile(v, width, int(p.percentile / 100 * (width - 1)))
    if count >= 2:
        nn = similar_frames(v, p.neighbors, int(round(p.min_distance_s * rate / hop)))
        repeating = neighbor_percentile(v, nn, int(p.percentile / 100 * (nn.shape[1] - 1)))
        music = np.minimum(np.maximum(steady, repeating), v)
    else:  # one frame: nothing to compare with, all of it is "steady"
        music = np.minimum(steady, v)
    a_m2 = p.oversubtraction * music * music
    s2 = np.maximum(v * v - a_m2, 0.0)
    mask = s2 / (s2 + a_m2 + 1e-12)
    if p.highpass_hz > 0:
        mask[:, : int(math.ceil(p.highpass_hz * n_fft / rate))] = 0.0
    return mask.astype(np.float32)


class DspBackend:
    """Weight-free vocals/accompaniment separation (see the module docstring).

    Parameters
    ----------
    params : DspParams
    stems : int
        Must be 2; 4 and 5 stems need a spleeter model.
    """

    name = "dsp"
    rate = None  # works at the input's rate
    segment_s = 30.0  # enough repetitions of a bar for the repeating model
    overlap_s = 2.0
    #: The stems add back to the input within this (max abs, float32 rounding of STFT/iSTFT).
    sum_tolerance = 1e-4

    def __init__(self, params: DspParams | None = None, *, stems: int = 2):
        if stems != 2:
            raise ParameterError(
                f"stems={stems}: the dsp backend separates 2 stems only (vocals, accompaniment); it has no model "
                "of drums, bass or piano. 4 and 5 stems need a pretrained spleeter model (backend='spleeter' or "
                "'onnx'; see 'rtaudio models list')",
                params=("stems", "backend"),
            )
        self.params = params or DspParams()
        self.stems = STEMS
        self.model = {
            "name": "dsp",
            "weights": None,
            "method": "REPET-SIM + steady-bin percentile model, Wiener mask with over-subtraction",
        }

    def separate(self, x: np.ndarray, rate: int) -> np.ndarray:
        """Stems of ``x`` ((n, channels) float32 at ``rate`` Hz): (2, n, channels) float32, vocals first."""
        n, channels = x.shape
        n_fft = window_length(rate, self.params.window_s)
        hop = n_fft // 4
        count = -(-(n + n_fft) // hop) + 1  # n_fft zeros in front, at least n_fft behind
        specs = [stft(x[:, c], n_fft, hop, pad_start=n_fft, count=count) for c in range(channels)]
        bins = min(n_fft // 2 + 1, int(math.ceil(self.params.max_hz * n_fft / rate)) + 1)
        mono = sum(np.abs(s[:, :bins]) for s in specs) / channels if channels > 1 else np.abs(specs[0][:, :bins])
        mask = np.zeros(specs[0].shape, np.float32)  # vocals: nothing above max_hz
        mask[:, :bins] = vocals_mask(np.ascontiguousarray(mono, np.float32), rate, hop, n_fft, self.params)
        out = np.empty((2, n, channels), np.float32)
        for c, spec in enumerate(specs):
            out[0, :, c] = istft(spec * mask, n_fft, hop, length=n, offset=n_fft)
            out[1, :, c] = x[:, c] - out[0, :, c]  # the complement: exactly what the mask left
        return out

    def close(self) -> None:
        pass

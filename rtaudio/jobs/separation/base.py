"""What the separation backends and the job share: segment cross-fades, level normalisation, channel pairs.

The leaf of :mod:`rtaudio.jobs.separation`: the backends (``dsp``, ``onnx``, ``tf``) and the job
(:mod:`.job`) import from here and from :mod:`rtaudio.models.spleeter` (the model formats), never from
each other. A backend is an object with ``name``, ``stems`` (tuple of str), ``rate`` (Hz, or None for the
input's), ``segment_s`` and ``overlap_s`` (seconds), ``model`` (dict for the summary),
``separate(x, rate) -> (stems, n, channels) float32`` and ``close()``; ``level_normalize = True`` asks the
job to raise quiet segments (:func:`level_gain`).
"""

from __future__ import annotations

import numpy as np

#: spleeter's U-Nets were trained on mastered music: a quiet input (speech recorded at -50 dBFS) gives
#: almost everything to the accompaniment. Segments quieter than this RMS are raised to it before the
#: network and the stems lowered back by the same gain (the stems stay linear in the input).
LEVEL_TARGET_RMS = 0.1  # -20 dBFS
LEVEL_MAX_GAIN = 100.0  # +40 dB


def level_gain(seg: np.ndarray) -> float:
    """The gain that raises ``seg`` to :data:`LEVEL_TARGET_RMS` (1 for louder or silent segments, at most +40 dB)."""
    rms = float(np.sqrt(np.mean(np.square(seg, dtype=np.float64)))) if seg.size else 0.0
    if rms < 1e-7 or rms >= LEVEL_TARGET_RMS:
        return 1.0
    return min(LEVEL_TARGET_RMS / rms, LEVEL_MAX_GAIN)


def fade(n: int) -> np.ndarray:
    """sin² fade-in of ``n`` samples, (n, 1) float32; 1 - fade is the matching fade-out."""
    return (np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / max(n, 1)) ** 2).astype(np.float32)[:, None]


def channel_pairs(channels: int) -> list[tuple[int, int]]:
    """spleeter works on stereo: channels in pairs (0, 1), (2, 3), ...; a lone channel pairs with itself."""
    return [(c, min(c + 1, channels - 1)) for c in range(0, channels, 2)]


def to_pairs(x: np.ndarray):
    """Yield (pair of channel indices, (n, 2) array) for :func:`channel_pairs`."""
    for a, b in channel_pairs(x.shape[1]):
        yield (a, b), np.ascontiguousarray(x[:, [a, b]])


def from_pairs(results, stems: int, n: int, channels: int) -> np.ndarray:
    """Put per-pair stems (stems, n, 2) back into (stems, n, channels); a lone channel gets the pair's mean."""
    out = np.empty((stems, n, channels), np.float32)
    for (a, b), y in results:
        if a == b:
            out[:, :, a] = y.mean(axis=2)
        else:
            out[:, :, a] = y[:, :, 0]
            out[:, :, b] = y[:, :, 1]
    return out

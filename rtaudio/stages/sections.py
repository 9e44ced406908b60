"""The ``sections`` stage: where the music changes (verse to chorus, music to talk, ...).

Every 0.1 s (16 kHz, 4096-sample Hann frames) the stage computes a chroma vector
(12 pitch classes) and 12 MFCCs (DCT of 40 log-mel bands, c0 dropped); both are
L2-normalised, concatenated and averaged over 0.5 s blocks.  The novelty of block
``c`` is Foote's checkerboard kernel (Gaussian-tapered, half-width ``kernel_s``)
over the cosine self-similarity of the blocks around it: high where the blocks
before ``c`` resemble each other, the blocks after it too, and the two groups do
not.  A boundary is a local maximum of the novelty over ``+-min_gap_s / 2`` that
exceeds ``threshold`` (in [0, 1]) and the running mean by one standard deviation.

``mode="online"`` reports a boundary ``kernel_s + min_gap_s / 2`` after it (the
kernel needs the blocks after it); ``mode="offline"`` keeps the block features
(48 floats per 0.5 s: 0.35 MB per hour) and at the end of input computes the
novelty over the whole file at two kernel sizes (``kernel_s`` and twice it, averaged)
and picks boundaries with the same rules: steadier, at the cost of reporting
only at the end.

Each boundary is ``KeyMoment(kind="section", score=novelty, label=letter)``; the
letter names the section that starts there: a section whose mean features are
within cosine similarity ``repeat_similarity`` of an earlier one gets that one's
letter (A, B, A, C, ...); the input starts in section A.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtaudio.dsp.dct import dct_matrix
from rtaudio.dsp.windows import window
from rtaudio.errors import ParameterError
from rtaudio.events import Event, KeyMoment
from rtaudio.stages.base import Frame, HopFramer, Stage, check_params, check_sample_rate
from rtaudio.stages.beats import RATE, _check_rate, _number
from rtaudio.stages.meter import chroma_matrix
from rtaudio.stages.odf import mel_weights

FFT = 4096
HOP = 1600  # 0.1 s
PER_BLOCK = 5  # hops per 0.5 s block
BLOCK_S = HOP * PER_BLOCK / RATE


@dataclass(frozen=True)
class SectionsParams:
    """Parameters of the ``sections`` stage.

    Attributes
    ----------
    mode : {"online", "offline"}
        Report as the input goes, or once at its end from the whole file (default "online").
    kernel_s : float in [2, 60], s
        Half-width of the novelty kernel (default 6 s): changes closer together than this blur.
    min_gap_s : float in [1, 120], s
        Shortest section (default 8 s).
    threshold : float in [0, 1]
        Smallest novelty of a boundary (default 0.15).
    repeat_similarity : float in [0, 1]
        Cosine similarity above which a section reuses an earlier section's letter (default 0.92).
    """

    mode: str = "online"
    kernel_s: float = 6.0
    min_gap_s: float = 8.0
    threshold: float = 0.15
    repeat_similarity: float = 0.92

    def __post_init__(self):
        if self.mode not in ("online", "offline"):
            raise ParameterError(f"mode={self.mode!r} must be 'online' or 'offline'")
        _number(self.kernel_s, "kernel_s", 2.0, 60.0)
        _number(self.min_gap_s, "min_gap_s", 1.0, 120.0)
        _number(self.threshold, "threshold", 0.0, 1.0)
        _number(self.repeat_similarity, "repeat_similarity", 0.0, 1.0)


def _kernel(half: int) -> np.ndarray:
    """Foote's checkerboard kernel, (2 half, 2 half), Gaussian taper, sum of |weights| = 1."""
    idx = np.arange(-half, half) + 0.5
    g = np.exp(-0.5 * (idx / (0.5 * half)) ** 2)
    sign = np.sign(idx)
    k = np.outer(g * sign, g * sign)
    return k / np.abs(k).sum()


def _local_ssm(blk: np.ndarray) -> np.ndarray:
    """Cosine self-similarity of the rows of ``blk`` after removing their mean (so the contrast does not
    depend on how alike all the music is)."""
    c = blk - blk.mean(axis=0)
    nrm = np.linalg.norm(c, axis=1, keepdims=True)
    c = c / np.where(nrm > 0, nrm, 1.0)
    return c @ c.T


def novelty(features: np.ndarray, half: int) -> np.ndarray:
    """Checkerboard novelty of each row of ``features`` (n, d; rows L2-normalised), zero where the kernel does not fit."""
    n = len(features)
    out = np.zeros(n)
    if n < 2 * half:
        return out
    ker = _kernel(half)
    for c in range(half, n - half + 1):
        out[c] = float(np.sum(ker * _local_ssm(features[c - half : c + half])))
    return np.maximum(out, 0.0)  # a clean change between two self-similar halves reads ~1


def pick_peaks(nov: np.ndarray, gap: int, threshold: float) -> list[int]:
    """Indices of local maxima over +-gap/2 above ``threshold`` and mean + std of the novelty; at least ``gap`` apart."""
    if not len(nov):
        return []
    floor = max(threshold, float(nov.mean() + nov.std()))
    half = max(1, gap // 2)
    peaks = []
    for c in np.argsort(-nov):
        if nov[c] < floor:
            break
        lo, hi = max(0, c - half), min(len(nov), c + half + 1)
        if nov[c] < nov[lo:hi].max():
            continue
        if all(abs(c - p) >= gap for p in peaks):
            peaks.append(int(c))
    return sorted(peaks)


class SectionsStage(Stage):
    """Section boundaries from novelty on chroma and MFCC self-similarity (see the module docstring).

    Parameters
    ----------
    params : SectionsParams
    sample_rate : int > 0, Hz
        The source rate (the stage runs at 16 kHz).
    """

    name = "sections"
    emits = (KeyMoment,)
    rate = RATE

    def __init__(self, params: SectionsParams | None = None, *, sample_rate: int = RATE):
        self.params = check_params(params, SectionsParams)
        check_sample_rate(sample_rate)
        self._window = window("hann", FFT, periodic=False)
        self._chroma = chroma_matrix(FFT, RATE)
        _, mel = mel_weights(FFT, RATE, 40, 40.0, 7600.0)
        self._mel = mel
        self._dct = dct_matrix(13, 40)
        self._half = max(2, int(round(self.params.kernel_s / BLOCK_S)))
        self._gap = max(2, int(round(self.params.min_gap_s / BLOCK_S)))
        self._framer = HopFramer(FFT, HOP)
        self.reset()

    def reset(self) -> None:
        self._framer.reset()
        self._acc = np.zeros(24)
        self._acc_n = 0
        self._block_start: int | None = None
        self._blocks: list[np.ndarray] = []  # features of complete blocks
        self._starts: list[int] = []  # stage-clock index where each block starts
        self._nov: list[float] = []
        self._reported: list[int] = []  # block indices of reported boundaries
        self._letters: list[tuple[np.ndarray, str]] = []
        self._sec_start = 0
        self._next_end: int | None = None

    def _features(self, x: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(self._window * x)
        power = spec.real**2 + spec.imag**2
        c = self._chroma @ np.sqrt(power)
        mfcc = self._dct @ np.log10(1e-10 + self._mel @ power)
        c_n, m_n = np.linalg.norm(c), np.linalg.norm(mfcc[1:])
        c = c / c_n if c_n > 0 else c
        m = mfcc[1:] / m_n if m_n > 0 else mfcc[1:]
        return np.concatenate([c, m])

    def process(self, frame: Frame) -> list[Event]:
        """Analyse a block of any size at 16 kHz; return the boundaries it confirms (online mode)."""
        _check_rate(frame, "sections")
        events: list[Event] = []
        for end, buf in self._framer.push(frame.index, frame.mono):
            if self._next_end is not None and end != self._next_end:  # a gap: start over
                self.reset()
                self._framer.reset(end - FFT)  # keep this frame's framing
            self._next_end = end + HOP
            if self._acc_n == 0:
                self._block_start = end - FFT // 2
            self._acc += self._features(buf[:, 0].astype(np.float64))
            self._acc_n += 1
            if self._acc_n == PER_BLOCK:
                f = self._acc / PER_BLOCK
                nrm = np.linalg.norm(f)
                self._blocks.append(f / nrm if nrm > 0 else f)
                self._starts.append(self._block_start)
                self._acc[:] = 0.0
                self._acc_n = 0
                if self.params.mode == "online":
                    events.extend(self._online())
        return events

    def _online(self) -> list[Event]:
        h, n = self._half, len(self._blocks)
        c = n - h  # newest block whose kernel fits
        if c < h:
            return []
        feats = np.asarray(self._blocks[c - h : c + h])
        ker = _kernel(h)
        while len(self._nov) < c:  # novelty index = block index
            self._nov.append(0.0)
        self._nov.append(max(0.0, float(np.sum(ker * _local_ssm(feats)))))
        # decide the block gap/2 behind the newest novelty value
        half = self._gap // 2
        d = len(self._nov) - 1 - half
        if d < h:
            return []
        nov = np.asarray(self._nov)
        v = nov[d]
        window = nov[max(0, d - half) : d + half + 1]
        seen = nov[: d + 1]
        floor = max(self.params.threshold, float(seen.mean() + seen.std()) if len(seen) > 4 else 1.0)
        if v < floor or v < window.max():
            return []
        block = d  # novelty value d belongs to the kernel centred at the start of block d
        if self._reported and block - self._reported[-1] < self._gap:
            return []
        self._reported.append(block)
        return [self._boundary(block, float(v))]

    def _boundary(self, block: int, score: float) -> KeyMoment:
        """The event for a boundary at the start of block ``block``; names the section before it too."""
        if not self._letters:  # the input starts in section A
            self._letter(np.asarray(self._blocks[self._sec_start : block]).mean(axis=0))
        self._sec_start = block
        label = self._letter(np.asarray(self._blocks[block : block + self._gap]).mean(axis=0))
        return KeyMoment(int(self._starts[block]), "section", round(min(1.0, score), 3), label)

    def _letter(self, mean: np.ndarray) -> str:
        nrm = np.linalg.norm(mean)
        m = mean / nrm if nrm > 0 else mean
        for vec, name in self._letters:
            if float(vec @ m) >= self.params.repeat_similarity:
                return name
        name = chr(ord("A") + len(self._letters)) if len(self._letters) < 26 else f"S{len(self._letters) + 1}"
        self._letters.append((m, name))
        return name

    def flush(self) -> list[Event]:
        """Offline mode: boundaries of the whole input; online mode: nothing (the last ``kernel_s`` cannot be judged)."""
        if self.params.mode != "offline" or len(self._blocks) < 2 * self._half:
            return []
        feats = np.asarray(self._blocks)
        nov = novelty(feats, self._half)
        nov2 = novelty(feats, 2 * self._half)
        if nov2.any():
            both = nov2 > 0
            nov = np.where(both, 0.5 * (nov + nov2), nov)
        events = []
        for c in pick_peaks(nov, self._gap, self.params.threshold):
            events.append(self._boundary(c, float(nov[c])))
        return events

"""Dialogue from a 2-stem separation: the vocals stem kept only where the speech detector hears speech.

spleeter's "vocals" stem takes singing as well as speech. For dialogue, the vocals stem is passed
through the project's speech detector (:class:`rtaudio.stages.vad.VADStage`: webrtcvad gate, Silero
verifier, hysteresis); where it hears no speech, the vocals go to the music stem instead, with short
cross-fades (50 ms) at each switch. The two outputs add up to vocals + accompaniment exactly.

This is the cheap approach measured in ``benchmarks/separation_eval.py dialogue`` (see
docs/separation.md): it removes singing *between* utterances, not singing under speech.
"""

from __future__ import annotations

import numpy as np

from rtaudio.errors import ParameterError


def speech_spans(x: np.ndarray, rate: int, params=None) -> list[tuple[int, int]]:
    """Speech intervals [start, end) in samples of ``x`` ((n,) or (n, channels) at ``rate`` Hz).

    Runs :class:`~rtaudio.stages.vad.VADStage` (default :class:`~rtaudio.stages.vad.VADParams`) on the
    mean of the channels resampled to 16 kHz.
    """
    import soxr

    from rtaudio.events import SpeechSegment
    from rtaudio.stages.base import Frame
    from rtaudio.stages.vad import VAD_RATE, VADStage

    mono = np.asarray(x, np.float32)
    mono = mono.mean(axis=1) if mono.ndim == 2 else mono
    if rate != VAD_RATE:
        mono = soxr.resample(mono, rate, VAD_RATE).astype(np.float32)
    stage = VADStage(params)
    block = VAD_RATE  # one second per call; the stage frames internally
    events = []
    for i in range(0, len(mono), block):
        events += stage.process(Frame(i, mono[i : i + block, None], VAD_RATE))
    events += stage.flush()
    scale = rate / VAD_RATE
    return [(int(round(e.start * scale)), int(round(e.end * scale))) for e in events if isinstance(e, SpeechSegment)]


def gate(n: int, spans: list[tuple[int, int]], rate: int, fade_s: float = 0.05) -> np.ndarray:
    """A gain (n,) float32 in [0, 1]: 1 inside ``spans``, 0 outside, smooth ramps of ``fade_s`` s centred on each edge."""
    if not (isinstance(fade_s, (int, float)) and 0 <= fade_s < 10):
        raise ParameterError(f"fade_s={fade_s!r} must be a number of seconds in [0, 10)")
    g = np.zeros(n, np.float32)
    for a, b in spans:
        g[max(0, a) : min(n, b)] = 1.0
    k = int(round(fade_s * rate))
    if k > 1:  # smoothed with a Hann kernel of k samples: each edge becomes a monotone ramp of k samples
        kernel = np.hanning(k + 2)[1:-1].astype(np.float32)
        start = (k - 1) // 2  # 'full' then cut: 'same' returns max(n, k) samples
        g = np.convolve(g, kernel / kernel.sum())[start : start + n].astype(np.float32)
    return np.clip(g, 0.0, 1.0)


def dialogue_and_music(
    vocals: np.ndarray, accompaniment: np.ndarray, rate: int, *, fade_s: float = 0.05, vad_params=None
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(dialogue, music, speech spans): the vocals where speech is heard, the rest added to the accompaniment."""
    vocals = np.asarray(vocals, np.float32)
    accompaniment = np.asarray(accompaniment, np.float32)
    if vocals.shape != accompaniment.shape:
        raise ParameterError(f"vocals {vocals.shape} and accompaniment {accompaniment.shape} must have one shape")
    spans = speech_spans(vocals, rate, vad_params)
    g = gate(len(vocals), spans, rate, fade_s)
    g = g[:, None] if vocals.ndim == 2 else g
    dialogue = vocals * g
    return dialogue, accompaniment + (vocals - dialogue), spans

"""Synthetic test signals, shared by tests, benchmarks and the demo.

All functions return float32 arrays in [-1, 1]; durations in seconds, rates in Hz.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np

from rtaudio.errors import MissingDependencyError


def tone(freq: float, duration: float, rate: int, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """A sine of ``freq`` Hz, (n,) float32."""
    t = np.arange(int(round(duration * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def chirp(f0: float, f1: float, duration: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    """A logarithmic sweep from ``f0`` to ``f1`` Hz."""
    t = np.arange(int(round(duration * rate))) / rate
    k = np.log(f1 / f0) / duration
    return (amplitude * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)).astype(np.float32)


def noise(duration: float, rate: int, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    """White Gaussian noise with standard deviation ``amplitude``."""
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(round(duration * rate)))).astype(np.float32)


def clicks(
    times: np.ndarray | list[float], duration: float, rate: int, amplitude: float = 0.8, click_s: float = 0.005
) -> np.ndarray:
    """Short decaying 1.5 kHz blips at ``times`` (s): a click track."""
    out = np.zeros(int(round(duration * rate)), np.float32)
    n = int(click_s * rate)
    blip = (amplitude * np.exp(-np.arange(n) / (n / 5)) * np.sin(2 * np.pi * 1500 * np.arange(n) / rate)).astype(
        np.float32
    )
    for t in times:
        i = int(round(t * rate))
        if 0 <= i < len(out):
            m = min(n, len(out) - i)
            out[i : i + m] += blip[:m]
    return out


def speech(text: str, rate: int, voice: str = "en-us", words_per_minute: int = 150) -> np.ndarray:
    """``text`` spoken by espeak-ng, resampled to ``rate``; raises if espeak-ng is missing."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependencyError("espeak-ng is not installed; install it with: apt-get install espeak-ng")
    import soundfile as sf
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "speech.wav")
        subprocess.run(
            [exe, "-v", voice, "-s", str(words_per_minute), "-w", path, text], check=True, capture_output=True
        )
        x, sr = sf.read(path, dtype="float32")
    if x.ndim > 1:
        x = x.mean(axis=1)
    return soxr.resample(x, sr, rate).astype(np.float32)


def beat_and_chords(duration: float, rate: int, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """A drum pattern (kick on beats, hat on off-beats) over a I-V-vi-IV chord loop, (n,) float32."""
    n = int(round(duration * rate))
    t = np.arange(n) / rate
    beat = 60.0 / bpm
    out = np.zeros(n, np.float32)
    rng = np.random.default_rng(seed)
    # chords: one per bar of 4 beats
    roots = [261.63, 392.00, 440.00, 349.23]  # C, G, A, F
    thirds = [4, 4, 3, 4]
    bar = 4 * beat
    for k in range(int(np.ceil(duration / bar))):
        i0, i1 = int(k * bar * rate), min(n, int((k + 1) * bar * rate))
        if i0 >= n:
            break
        root, third = roots[k % 4], thirds[k % 4]
        tt = t[i0:i1] - k * bar
        env = np.minimum(1.0, tt / 0.02) * np.exp(-tt / 3.0)
        for semis in (0, third, 7):
            f = root * 2 ** (semis / 12)
            out[i0:i1] += (0.06 * env * np.sin(2 * np.pi * f * tt)).astype(np.float32)
    # kick on every beat, hat between
    kick_n, hat_n = int(0.15 * rate), int(0.04 * rate)
    kt = np.arange(kick_n) / rate
    kick = (0.5 * np.exp(-kt / 0.04) * np.sin(2 * np.pi * (50 + 80 * np.exp(-kt / 0.02)) * kt)).astype(np.float32)
    hat = (0.08 * np.exp(-np.arange(hat_n) / rate / 0.01) * rng.standard_normal(hat_n)).astype(np.float32)
    for k in range(int(duration / beat) + 1):
        for start, sound in ((k * beat, kick), ((k + 0.5) * beat, hat)):
            i = int(round(start * rate))
            if i < n:
                m = min(len(sound), n - i)
                out[i : i + m] += sound[:m]
    return out

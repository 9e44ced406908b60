"""Separation speed: 60 s of 44.1 kHz stereo music, per backend, against a plain STFT + inverse STFT.

Run: ``python -m pytest benchmarks/test_bench_separation.py --benchmark-only``. Each benchmark records
``realtime_factor`` (seconds of audio per second, from the mean). The baseline is the least any
spectral-mask method pays (one STFT and one inverse STFT per channel, numpy/scipy). The onnx
benchmark runs when the test model exported by ``tests/_separation_fixtures.py`` is cached (its
weights are random, but its cost is that of spleeter's real 2-stem U-Net). Quality and memory are
measured by ``benchmarks/separation_eval.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtaudio.dsp.frames import istft, stft
from rtaudio.jobs.separation import SeparationParams, Separator
from rtaudio.testing import beat_and_chords, noise

RATE = 44100
SECONDS = 60.0
ONNX_TEST_MODEL = (
    Path(__file__).resolve().parents[1] / ".pytest_cache/d/rtaudio-separation/spleeter-2stems-test-v1-onnx"
)


@pytest.fixture(scope="module")
def audio():
    one = beat_and_chords(SECONDS, RATE) + noise(SECONDS, RATE, 0.02)
    return np.stack([one, np.roll(one, 441)], axis=1).astype(np.float32)


def _record(benchmark, stats):
    """Record ``realtime_factor`` from ``stats`` (``bench_stats``; None under ``--benchmark-disable``: nothing)."""
    if stats is None:
        return
    benchmark.extra_info["realtime_factor"] = round(SECONDS / stats.mean, 1)


def test_baseline_stft_istft(benchmark, bench_stats, audio):
    n = len(audio)
    count = -(-(n + 4096) // 1024) + 1  # the DSP backend's padding: 4096 zeros in front, at least 4096 behind

    def roundtrip():
        return [
            istft(stft(audio[:, c], 4096, 1024, pad_start=4096, count=count), 4096, 1024, length=n, offset=4096)
            for c in range(2)
        ]

    benchmark.pedantic(roundtrip, rounds=3, iterations=1)
    _record(benchmark, bench_stats(benchmark))


def test_dsp_separation(benchmark, bench_stats, audio):
    Separator(SeparationParams(backend="dsp"), rate=RATE, channels=2).separate(audio[: RATE * 3])  # compile
    benchmark.pedantic(
        lambda: Separator(SeparationParams(backend="dsp"), rate=RATE, channels=2).separate(audio),
        rounds=3,
        iterations=1,
    )
    _record(benchmark, bench_stats(benchmark))


@pytest.mark.skipif(not ONNX_TEST_MODEL.exists(), reason="no exported test model (run tests/test_separation_onnx.py)")
def test_onnx_separation(benchmark, bench_stats, audio):
    from rtaudio.jobs.separation.onnx import OnnxBackend

    backend = OnnxBackend(ONNX_TEST_MODEL)
    benchmark.pedantic(
        lambda: Separator(SeparationParams(), rate=RATE, channels=2, backend=backend).separate(audio),
        rounds=3,
        iterations=1,
    )
    _record(benchmark, bench_stats(benchmark))

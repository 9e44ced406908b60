"""Levels stage speed: 60 s of 48 kHz stereo, against pyloudnorm's integrated loudness on the same array.

Run: ``python -m pytest benchmarks/test_bench_levels.py --benchmark-only``.
Each benchmark records ``realtime_factor`` (seconds of audio per second of CPU,
from the mean) and, for the stage, the cost per 100 ms hop in its extra info.
The stage does more than the baseline (per-hop peak, RMS, momentary and
short-term loudness besides the integrated loudness) and works streaming.
"""

from __future__ import annotations

import numpy as np
import pytest

from rtaudio.stages.base import Frame
from rtaudio.stages.levels import LevelsStage

pyln = pytest.importorskip("pyloudnorm", reason="pyloudnorm (the baseline) is in the dev extra")

RATE = 48000
SECONDS = 60.0


@pytest.fixture(scope="module")
def audio():
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal((int(RATE * SECONDS), 2))
    return x.astype(np.float32)


def _levels(x, block):
    stage = LevelsStage(sample_rate=RATE, channels=x.shape[1])
    events = []
    for i in range(0, len(x), block):
        events += stage.process(Frame(i, x[i : i + block], RATE))
    return events, stage.flush()[0]


def _record(benchmark, stats, hops=None):
    """Real-time factor (and cost per hop) into ``extra_info`` from ``stats`` (``bench_stats``; None: nothing)."""
    if stats is None:
        return
    mean = stats.mean
    benchmark.extra_info["audio_s"] = SECONDS
    benchmark.extra_info["realtime_factor"] = round(SECONDS / mean, 1)
    if hops:
        benchmark.extra_info["us_per_hop"] = round(mean / hops * 1e6, 2)


@pytest.mark.benchmark(group="levels")
@pytest.mark.parametrize("block", [1024, 48000], ids=["block1024", "block48000"])
def test_levels_stage(benchmark, bench_stats, audio, block):
    _levels(audio[:RATE], block)  # compile / warm up
    events, summary = benchmark.pedantic(_levels, args=(audio, block), rounds=10, iterations=1)
    assert len(events) == int(SECONDS * 10)
    assert abs(summary.integrated_lufs - pyln.Meter(RATE).integrated_loudness(audio.astype(np.float64))) < 0.1
    _record(benchmark, bench_stats(benchmark), hops=len(events))


@pytest.mark.benchmark(group="levels")
def test_pyloudnorm_integrated(benchmark, bench_stats, audio):
    x = audio.astype(np.float64)
    meter = pyln.Meter(RATE)
    benchmark.pedantic(meter.integrated_loudness, args=(x,), rounds=10, iterations=1)
    _record(benchmark, bench_stats(benchmark))

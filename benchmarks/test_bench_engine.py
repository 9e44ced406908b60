"""Engine throughput on a 10-minute file with spectrum + levels, pinned to one core.

Baseline in the same run: decoding the same file with PyAV alone (what the
analysis adds on top of reading the file). The goal (issue 16) is ``rtaudio analyze`` at >= 300x
real time on one core; its benchmark is ``benchmarks/analyze_throughput.py`` (the whole CLI, against
decode-only, CPU and wall seconds); this one times the engine alone.

    .venv/bin/python -m pytest benchmarks/test_bench_engine.py --benchmark-only
"""

import os

import pytest

from rtaudio.engine import Engine
from rtaudio.sources.av import FileSource
from rtaudio.stages import build_stages

SECONDS = 600.0


@pytest.fixture(autouse=True)
def one_core():
    """Pin this process (all its threads) to one core, so the figure is per core."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    yield
    os.sched_setaffinity(0, before)


def _analyse(path):
    source = FileSource(path)
    stages = build_stages(["spectrum", "levels"], sample_rate=source.rate, channels=source.channels)
    return Engine(source, stages).run()


def _decode(path):
    source = FileSource(path)
    n = sum(len(b) for b in source.blocks(lambda e: None))
    source.close()
    return n


@pytest.mark.benchmark(group="engine-10min", min_rounds=3, warmup=False)
def test_engine_spectrum_levels(benchmark, bench_stats, ten_minute_flac):
    _analyse(ten_minute_flac)  # compile numba kernels (cached) outside the timing
    result = benchmark.pedantic(_analyse, args=(ten_minute_flac,), rounds=3, iterations=1)
    assert result.samples == int(SECONDS * 48000)
    if stats := bench_stats(benchmark):
        benchmark.extra_info["x_real_time"] = round(SECONDS / stats.median, 1)


@pytest.mark.benchmark(group="engine-10min", min_rounds=3, warmup=False)
def test_baseline_decode_only(benchmark, bench_stats, ten_minute_flac):
    n = benchmark.pedantic(_decode, args=(ten_minute_flac,), rounds=3, iterations=1)
    assert n == int(SECONDS * 48000)
    if stats := bench_stats(benchmark):
        benchmark.extra_info["x_real_time"] = round(SECONDS / stats.median, 1)

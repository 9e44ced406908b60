"""What the pipeline costs over calling the stages by hand: spectrum + levels on 60 s of 48 kHz noise.

Run: ``python -m pytest benchmarks/test_bench_pipeline.py --benchmark-only -s -p no:randomly``.
The direct loop calls each stage's ``process`` on consecutive blocks and ``flush`` at the end (the
baseline); the pipeline run feeds the same blocks through :func:`rtaudio.pipeline.run_array` (quanta,
non-finite check, routing, ordering); the two alternate, 5 rounds. Quantum 16384 samples (files) and
240 (5 ms, live input). ``extra_info``: real-time factors (medians) and ``ratio``, pipeline over direct.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from rtaudio.pipeline import Pipeline, run_array
from rtaudio.stages import build_stages
from rtaudio.stages.base import Frame

RATE = 48000


@pytest.fixture(scope="module")
def noise():
    x = np.random.default_rng(0).normal(0, 0.1, (60 * RATE, 1)).astype(np.float32)
    build_stages(["spectrum"], sample_rate=RATE, channels=1)[0].process(Frame(0, x[:4096], RATE))  # numba warm-up
    return x


def _direct(x, quantum):
    stages = build_stages(["spectrum", "levels"], sample_rate=RATE, channels=1)
    n = 0
    for i in range(0, len(x), quantum):
        for s in stages:
            n += len(s.process(Frame(i, x[i : i + quantum], RATE)))
    return n + sum(len(s.flush()) for s in stages)


def _pipeline(x, quantum):
    stages = build_stages(["spectrum", "levels"], sample_rate=RATE, channels=1)
    return len(run_array(Pipeline(stages, RATE, 1, quantum=quantum), x, block=quantum))


@pytest.mark.parametrize("quantum", [16384, 240])
def test_pipeline_overhead(benchmark, noise, quantum):
    """The pipeline's run is the benchmark; the direct loop is timed alternately with it (same load)."""
    direct, piped = [], []

    def both():
        t0 = time.perf_counter()
        n_direct = _direct(noise, quantum)
        t1 = time.perf_counter()
        n_piped = _pipeline(noise, quantum)
        direct.append(t1 - t0)
        piped.append(time.perf_counter() - t1)
        assert n_direct == n_piped

    benchmark.pedantic(both, rounds=5, iterations=1)
    d, p = float(np.median(direct)), float(np.median(piped))
    benchmark.extra_info.update(direct_x=round(60 / d), pipeline_x=round(60 / p), ratio=round(p / d, 2))
    print(f"\nquantum={quantum}: {benchmark.extra_info}")

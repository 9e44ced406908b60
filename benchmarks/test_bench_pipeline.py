"""What the pipeline costs over calling the stages by hand: spectrum + levels on 60 s of 48 kHz noise.

Run: ``python -m pytest benchmarks/test_bench_pipeline.py --benchmark-only -s -p no:randomly``.
``direct`` calls each stage's ``process`` on consecutive blocks and ``flush`` at the end (the
baseline); ``pipeline`` feeds the same blocks through :func:`rtaudio.pipeline.run_array` (quanta,
non-finite check, routing, ordering). Quantum 16384 samples (files) and 240 (5 ms, live input).
``extra_info``: real-time factor; ``ratio`` the pipeline's time over the direct loop's, same session.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from rtaudio.pipeline import Pipeline, run_array
from rtaudio.stages import build_stages
from rtaudio.stages.base import Frame

RATE = 48000
_TIMES: dict[tuple[str, int], float] = {}


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
@pytest.mark.parametrize("how", ["direct", "pipeline"])
def test_pipeline_overhead(benchmark, noise, how, quantum):
    run = _direct if how == "direct" else _pipeline
    t0 = time.perf_counter()
    events = benchmark.pedantic(run, args=(noise, quantum), rounds=3, iterations=1)
    _TIMES[how, quantum] = (time.perf_counter() - t0) / 3
    benchmark.extra_info.update(events=events, realtime_x=round(60 / benchmark.stats.stats.median))
    if how == "pipeline" and ("direct", quantum) in _TIMES:
        benchmark.extra_info["ratio"] = round(_TIMES["pipeline", quantum] / _TIMES["direct", quantum], 2)
    print(f"\n{how} quantum={quantum}: {benchmark.extra_info}")

"""Language-ID cost per 1 s window on one core: features + ONNX model, against the features alone.

Run: ``python -m pytest benchmarks/test_bench_lid.py --benchmark-only``.
onnxruntime is held to one thread. The stage runs one 2 s window per 0.5 s hop of speech by
default, i.e. about 2 s of audio through the model per 1 s of speech: both sizes are measured.
``extra_info`` holds the cost in ms per window and the ratio to the feature baseline.
"""

from __future__ import annotations

import pytest

from rtaudio.stages.lid import SHIPPED, LangidModel
from rtaudio.stages.lid_features import RATE, log_mel
from rtaudio.testing import noise

pytestmark = pytest.mark.skipif(not SHIPPED.exists(), reason="models/langid/langid.onnx is not built")
_BASE: dict[float, float] = {}


@pytest.fixture(scope="module")
def model():
    return LangidModel(SHIPPED)


@pytest.mark.parametrize("seconds", [1.0, 2.0])
def test_features_only(benchmark, seconds):
    x = noise(seconds, RATE, 0.1, seed=0)
    benchmark(log_mel, x)
    _BASE[seconds] = benchmark.stats.stats.mean
    benchmark.extra_info["ms_per_window"] = round(1000 * benchmark.stats.stats.mean, 3)


@pytest.mark.parametrize("seconds", [1.0, 2.0])
def test_window(benchmark, model, seconds):
    x = noise(seconds, RATE, 0.1, seed=0)
    benchmark(model.logprobs, x)
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["ms_per_window"] = round(1000 * mean, 3)
    if seconds in _BASE:
        benchmark.extra_info["ratio_to_features"] = round(mean / _BASE[seconds], 2)

"""Language-ID cost per 1 s window on one core: features + ONNX model, against the features alone.

Run: ``python -m pytest benchmarks/test_bench_lid.py --benchmark-only``.
onnxruntime is held to one thread. ``test_window[langid]`` is the shipped phonotactic model (phone
recognition + n-gram features + a linear model; the stage gives it each second of speech once), on
espeak-ng speech; ``test_window[acoustic]`` is the earlier log-mel TDNN
(``models/langid/acoustic``), which the stage runs on one 2 s window per 0.5 s hop, i.e. about 2 s of
audio per 1 s of speech: both sizes are measured. ``extra_info`` holds the cost in ms per window and
the ratio to the log-mel feature baseline.

``test_voxlingua107_window`` runs the VoxLingua107 ECAPA-TDNN at full size (60 mels, 1024 channels,
107 outputs; ``rtaudio.models.voxlingua``) with random weights, exported to ONNX in the same run
(needs torch and onnx; the export time and file size go to ``extra_info``), against rtaudio's own
model in the same run (``ratio_to_langid``).
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from pathlib import Path

import pytest

from rtaudio.models.langid import SHIPPED
from rtaudio.stages.lid import LangidModel
from rtaudio.stages.lid_features import RATE, log_mel
from rtaudio.testing import noise, speech

pytestmark = pytest.mark.skipif(not SHIPPED.exists(), reason="rtaudio/models/data/langid/langid.onnx is not built")
ACOUSTIC = Path(__file__).resolve().parents[1] / "models" / "langid" / "acoustic" / "langid.onnx"
_BASE: dict[float, float] = {}
_OWN: dict[float, float] = {}


def _speech(seconds: float):
    """``seconds`` of espeak-ng speech (noise where espeak-ng is missing), 16 kHz."""
    import shutil

    import numpy as np

    if shutil.which("espeak-ng") is None:
        return noise(seconds, RATE, 0.1, seed=0)
    x = speech("the committee will meet again on thursday to discuss the new budget for the city", RATE)
    return np.resize(x, int(seconds * RATE))


@pytest.fixture(scope="module", params=["langid", "acoustic"])
def model(request):
    return request.param, LangidModel(SHIPPED if request.param == "langid" else ACOUSTIC)


@pytest.mark.parametrize("seconds", [1.0, 2.0])
def test_features_only(benchmark, bench_stats, seconds):
    x = noise(seconds, RATE, 0.1, seed=0)
    benchmark(log_mel, x)
    if stats := bench_stats(benchmark):
        _BASE[seconds] = stats.mean
        benchmark.extra_info["ms_per_window"] = round(1000 * stats.mean, 3)


@pytest.mark.parametrize("seconds", [1.0, 2.0])
def test_window(benchmark, bench_stats, model, seconds):
    name, model = model
    x = _speech(seconds)
    benchmark(model.logprobs, x)
    if not (stats := bench_stats(benchmark)):
        return
    mean = stats.mean
    benchmark.extra_info["ms_per_window"] = round(1000 * mean, 3)
    if name == "langid":
        _OWN[seconds] = stats.min
    if seconds in _BASE:
        benchmark.extra_info["ratio_to_features"] = round(mean / _BASE[seconds], 2)


@pytest.fixture(scope="module")
def voxlingua(tmp_path_factory):
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnx") is None:
        pytest.skip("torch/onnx not installed (make train-deps)")
    from rtaudio.models.voxlingua import export_random

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_random(tmp_path_factory.mktemp("voxlingua107"))
        model = LangidModel(path)
    return model, time.perf_counter() - t0, path.stat().st_size


@pytest.mark.parametrize("seconds", [1.0, 2.0])
def test_voxlingua107_window(benchmark, bench_stats, voxlingua, seconds):
    model, export_s, size = voxlingua
    x = noise(seconds, RATE, 0.1, seed=0)
    benchmark.pedantic(model.logprobs, (x,), rounds=10, warmup_rounds=1)
    benchmark.extra_info.update(export_and_load_s=round(export_s, 2), onnx_mb=round(size / 1e6, 1))
    if not (stats := bench_stats(benchmark)):
        return
    benchmark.extra_info["ms_per_window"] = round(1000 * stats.mean, 3)
    if seconds in _OWN:  # of the minima: the 2-core machine is shared, medians move with its load
        benchmark.extra_info["ratio_to_langid"] = round(stats.min / _OWN[seconds], 1)

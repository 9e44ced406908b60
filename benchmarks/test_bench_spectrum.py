"""Cost of one spectrum frame: the fused numba kernel vs the plain numpy reference, in the same run.

One frame = 2048-point Hann window + real FFT + 1/6-octave bands (60 bands, 20 Hz - 20 kHz at
48 kHz) + dB + attack/release smoothing + peak hold, with all tables precomputed on both sides.
The goal is numba >= 3x faster than numpy.  Run explicitly (``benchmarks/`` is not a testpath)::

    .venv/bin/python -m pytest benchmarks/test_bench_spectrum.py --benchmark-only

``extra_info`` records the real-time factor: hop duration (512 samples = 10.67 ms) / cost per frame.
"""

import numpy as np
import pytest

from rtaudio.stages.spectrum import SpectrumParams, SpectrumReference, SpectrumStage

RATE = 48000
PARAMS = SpectrumParams(n_fft=2048, hop=512, scale="octave", bands_per_octave=6)


@pytest.fixture(scope="module")
def frame():
    return (0.1 * np.random.default_rng(0).standard_normal(PARAMS.n_fft)).astype(np.float32)


def _record(benchmark, stats):
    """Cost per frame and real-time factor into ``extra_info`` from ``stats`` (``bench_stats``; None: nothing)."""
    if stats is None:
        return
    benchmark.extra_info["median_us"] = stats.median * 1e6
    benchmark.extra_info["realtime_factor"] = (PARAMS.hop / RATE) / stats.median


@pytest.mark.benchmark(group="spectrum-frame")
def test_spectrum_frame_numba(benchmark, bench_stats, frame):
    stage = SpectrumStage(PARAMS, sample_rate=RATE)
    stage.analyze_frame(frame)  # compile / load the cache outside the timing
    bands, _ = benchmark(stage.analyze_frame, frame)
    assert bands.shape == (60,)
    _record(benchmark, bench_stats(benchmark))


@pytest.mark.benchmark(group="spectrum-frame")
def test_spectrum_frame_numpy(benchmark, bench_stats, frame):
    ref = SpectrumReference(PARAMS, sample_rate=RATE)
    bands, _ = benchmark(ref.step, frame)
    assert bands.shape == (60,)
    _record(benchmark, bench_stats(benchmark))

"""Cost of the device audio callback per JACK period: 256 frames of stereo float32 into the ring.

What is timed is the callback rtaudio gives PortAudio (:class:`rtaudio.sources.device._Capture`:
the overflow check and ``Ring.write``), called as sounddevice calls it.  Baseline in the same
run: ``np.copyto`` of the same block into a preallocated array (the least any copy can cost).

pytest-benchmark reports the median; the p99 comes from 10 000 calls timed one by one with
``time.perf_counter_ns`` (each figure includes one timer read, ~30-60 ns, shown as
``timer_overhead_ns``) and is stored in ``extra_info`` and printed (use ``-s``).  A 256-frame
period lasts 5333 µs at 48 kHz; the callback must stay far below it.

    .venv/bin/python -m pytest benchmarks/test_bench_callback.py --benchmark-only -s
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from rtaudio.ring import Ring
from rtaudio.sources.device import _Capture

FRAMES, CHANNELS, RATE = 256, 2, 48000
RING_FRAMES = 4 * RATE  # the engine's default ring: 4 s
CALLS = 10_000


def _flags():
    """A real sounddevice.CallbackFlags with no flag set (what the callback gets on a clean period)."""
    import sounddevice

    return sounddevice.CallbackFlags()


def _block():
    return np.random.default_rng(0).uniform(-0.5, 0.5, (FRAMES, CHANNELS)).astype(np.float32)


def per_call_ns(fn, args, calls: int = CALLS) -> np.ndarray:
    """Time ``fn(*args)`` ``calls`` times, one by one (ns each, timer read included)."""
    clock = time.perf_counter_ns
    out = np.empty(calls, np.int64)
    for _ in range(1000):  # warm up caches and the branch predictor
        fn(*args)
    for i in range(calls):
        t0 = clock()
        fn(*args)
        out[i] = clock() - t0
    return out


def timer_overhead_ns() -> float:
    clock = time.perf_counter_ns
    d = [-(clock() - clock()) for _ in range(CALLS)]
    return float(np.median(d))


def _record(benchmark, name: str, ns: np.ndarray) -> None:
    median_us, p99_us = np.median(ns) / 1e3, np.percentile(ns, 99) / 1e3
    benchmark.extra_info.update(
        per_call_median_us=round(float(median_us), 3),
        per_call_p99_us=round(float(p99_us), 3),
        per_call_max_us=round(float(ns.max()) / 1e3, 3),
        timer_overhead_ns=round(timer_overhead_ns(), 1),
        period_us=round(FRAMES / RATE * 1e6, 1),
    )
    print(
        f"\n{name}: median {median_us:.3f} us, p99 {p99_us:.3f} us per {FRAMES}-frame stereo block "
        f"(timer read {benchmark.extra_info['timer_overhead_ns']} ns included)"
    )


@pytest.mark.benchmark(group="device-callback")
def test_callback_ring_write(benchmark):
    capture = _Capture(Ring(RING_FRAMES, CHANNELS))
    args = (_block(), FRAMES, None, _flags())
    benchmark(capture, *args)
    ns = per_call_ns(capture, args)
    _record(benchmark, "callback -> ring.write", ns)
    base = per_call_ns(np.copyto, (np.empty((FRAMES, CHANNELS), np.float32), args[0]))
    ratio = float(np.median(ns) / np.median(base))
    benchmark.extra_info["median_vs_copyto"] = round(ratio, 2)
    print(
        f"  vs np.copyto baseline in the same test: median {np.median(base) / 1e3:.3f} us, "
        f"p99 {np.percentile(base, 99) / 1e3:.3f} us; ratio {ratio:.2f}x"
    )
    assert capture.overflows == 0


@pytest.mark.benchmark(group="device-callback")
def test_baseline_copyto(benchmark):
    dst = np.empty((FRAMES, CHANNELS), np.float32)
    src = _block()
    benchmark(np.copyto, dst, src)
    _record(benchmark, "baseline np.copyto", per_call_ns(np.copyto, (dst, src)))

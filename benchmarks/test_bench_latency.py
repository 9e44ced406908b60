"""Live latency: from a sample entering JACK to the spectrum event that shows it leaving the engine.

Set-up: the private dummy-driver JACK server of ``tests/conftest.py`` (48 kHz, 256-frame
periods); a JACK client (the player) plays digital silence into the analyzer's input
port, and on request a 1 kHz tone burst (-6 dBFS, 4 periods).  It records
``time.perf_counter()`` in its process callback when it writes the burst's first period:
that is when the burst enters JACK.  The analyzer is the real chain:
``DeviceSource`` (PortAudio, ``blocksize=0``) -> ring -> ``Engine`` reader ->
``SpectrumStage(n_fft=1024, hop=256)`` -> a sink that records ``perf_counter()`` when the
first ``SpectrumFrame`` whose 1 kHz band rises 20 dB above the floor (-120 dB: digital
silence) reaches it.  Repeated for ``BURSTS`` bursts at random spacing; median and p95 in
ms go to ``extra_info`` and are printed.  Goal: under 15 ms.

Notes
-----
* Frames end every 256 samples, aligned with the JACK periods (both start at index 0), so
  a burst is visible as soon as the period that carries it is analysed; with a real sound
  card add the capture buffering the dummy driver does not have (one period, 5.3 ms).
* The display smoothing is kept at its default attack (10 ms) and the release is shortened
  (10 ms) only so that the band falls back quickly between bursts; with a silent floor the
  attack does not delay crossing the threshold.
* The figure includes the engine reader's 0.5 ms polling sleep and the Python callback
  overhead of JACK-Client and sounddevice.

    .venv/bin/python -m pytest benchmarks/test_bench_latency.py --benchmark-only -s
"""

from __future__ import annotations

import importlib.util
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rtaudio.engine import Engine
from rtaudio.events import SpectrumFrame
from rtaudio.sinks import Sink
from rtaudio.sources.device import DeviceSource
from rtaudio.stages.base import Frame
from rtaudio.stages.spectrum import SpectrumParams, SpectrumStage

# The session JACK server fixture lives in tests/conftest.py (outside this folder): load it here.
_spec = importlib.util.spec_from_file_location(
    "rtaudio_tests_conftest", Path(__file__).resolve().parents[1] / "tests" / "conftest.py"
)
_conftest = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
jack_server = _conftest.jack_server

BURSTS = 40
BURST_PERIODS = 4
TONE_HZ = 1000.0
AMP = 10 ** (-6 / 20)
RISE_DB = 20.0  # a band "shows the burst" when it is this far above the floor
GOAL_MS = 15.0
WAIT_S = 10.0  # bound on every wait


class BurstPlayer:
    """A JACK client writing silence, or a tone burst when :meth:`fire` is called."""

    def __init__(self, server):
        self.client = server.client("rtaudio-bench-player")
        self.rate = self.client.samplerate
        self.port = self.client.outports.register("out")
        period = self.client.blocksize
        t = np.arange(BURST_PERIODS * period) / self.rate
        self.burst = (AMP * np.sin(2 * math.pi * TONE_HZ * t)).astype(np.float32).reshape(BURST_PERIODS, period)
        self.fired: list[float] = []  # perf_counter() when each burst's first period was written
        self._request = False
        self._left = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def fire(self) -> None:
        self._request = True

    def _process(self, frames: int) -> None:
        out = self.port.get_array()
        if self._request and self._left == 0:
            self._request = False
            self._left = BURST_PERIODS
            self.fired.append(time.perf_counter())
        if self._left:
            out[:] = self.burst[BURST_PERIODS - self._left]
            self._left -= 1
        else:
            out.fill(0.0)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


class DetectSink(Sink):
    """Records ``perf_counter()`` when a spectrum frame first shows the burst after :attr:`waiting` is set."""

    def __init__(self, band: int, threshold_db: float):
        self.band = band
        self.threshold_db = threshold_db
        self.waiting = False
        self.loud = False
        self.detected: list[float] = []

    def emit(self, events) -> None:
        now = time.perf_counter()
        for e in events:
            if isinstance(e, SpectrumFrame):
                self.loud = bool(e.bands_db[self.band] > self.threshold_db)
                if self.loud and self.waiting:
                    self.detected.append(now)
                    self.waiting = False


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT_S} s waiting for {what}")
        time.sleep(0.001)


@pytest.mark.jack
@pytest.mark.benchmark(group="live-latency")
def test_jack_to_spectrum_event_latency(benchmark, jack_server):
    rate = jack_server.rate
    params = SpectrumParams(n_fft=1024, hop=jack_server.period, release_s=0.01)
    stage = SpectrumStage(params, sample_rate=rate)
    stage.process(Frame(0, np.zeros((params.n_fft, 1), np.float32), rate))  # compile the kernel first
    stage.reset()
    band = int(np.argmin(np.abs(np.log2(stage.centers_hz / TONE_HZ))))
    sink = DetectSink(band, params.floor_db + RISE_DB)
    source = DeviceSource(jack_server.device, channels=1)
    engine = Engine(source, [stage], [sink])

    probe = jack_server.client("rtaudio-bench-probe")
    player = BurstPlayer(jack_server)
    before = {p.name for p in probe.get_ports(is_input=True, is_audio=True)}
    engine.start()
    try:
        _wait(
            lambda: [p for p in probe.get_ports(is_input=True, is_audio=True) if p.name not in before],
            "the analyzer's JACK input port",
        )
        port = next(p for p in probe.get_ports(is_input=True, is_audio=True) if p.name not in before)
        probe.connect(player.port, port)
        _wait(lambda: stage.latest_t is not None, "the first spectrum frame")

        def bursts() -> list[float]:
            rng = random.Random(0)
            latencies = []
            for i in range(BURSTS):
                _wait(lambda: not sink.loud, "the band to fall back after a burst")
                time.sleep(rng.uniform(0.02, 0.06))  # random phase against the JACK cycle
                sink.waiting = True
                player.fire()
                _wait(lambda i=i: len(sink.detected) > i, f"burst {i} to show in the spectrum")
                latencies.append(sink.detected[i] - player.fired[i])
            return latencies

        latencies = benchmark.pedantic(bursts, rounds=1, iterations=1)
    finally:
        engine.stop()
        player.close()
        probe.close()
    result = engine.join(WAIT_S)
    ms = np.array(latencies) * 1e3
    median, p95 = float(np.median(ms)), float(np.percentile(ms, 95))
    benchmark.extra_info.update(
        bursts=len(ms),
        latency_median_ms=round(median, 3),
        latency_p95_ms=round(p95, 3),
        latency_min_ms=round(float(ms.min()), 3),
        latency_max_ms=round(float(ms.max()), 3),
        goal_ms=GOAL_MS,
        goal_met=p95 < GOAL_MS,
        jack_period=jack_server.period,
        rate=rate,
        n_fft=params.n_fft,
        hop=params.hop,
        dropped=result.dropped if result else None,
    )
    print(
        f"\nJACK -> spectrum event latency over {len(ms)} bursts: median {median:.2f} ms, p95 {p95:.2f} ms "
        f"(min {ms.min():.2f}, max {ms.max():.2f}); goal < {GOAL_MS} ms "
        f"({'met' if p95 < GOAL_MS else 'NOT met'} at p95); period {jack_server.period / rate * 1e3:.2f} ms"
    )
    assert len(ms) == BURSTS and (ms > 0).all()

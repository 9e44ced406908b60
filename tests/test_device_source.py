"""DeviceSource: live capture through a real (dummy-driver) JACK server, device lookup and its errors."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rtaudio.engine import Engine
from rtaudio.errors import DeviceError, ParameterError
from rtaudio.events import Levels, SpectrumFrame, Xrun
from rtaudio.ring import Ring
from rtaudio.sinks import ListSink
from rtaudio.sources.device import (
    DeviceSource,
    _Capture,
    format_devices,
    list_devices,
    resolve_input_device,
)
from rtaudio.stages.base import Frame, Stage
from rtaudio.testing import tone

AMP = 10 ** (-6 / 20)  # -6 dBFS peak
SINE_RMS_DBFS = -6 - 10 * math.log10(2)  # -9.03 dBFS
WAIT_S = 30.0  # upper bound of every wait on live audio (a loaded 2-core machine can be slow)


def wait_for(condition, timeout: float = WAIT_S, what: str = "condition"):
    """Poll ``condition()`` every 10 ms until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Collect(Stage):
    """Keeps every block it sees; ``end`` is the index just past the last sample."""

    name = "collect"

    def __init__(self):
        self.blocks: list[tuple[int, np.ndarray]] = []
        self.end = 0
        self.onset: int | None = None  # first index where the signal is on (|x| > 0.1)

    def process(self, frame: Frame) -> list:
        self.blocks.append((frame.index, frame.samples.copy()))
        if self.onset is None:
            loud = np.flatnonzero(np.abs(frame.samples).max(axis=1) > 0.1)
            if len(loud):
                self.onset = frame.index + int(loud[0])
        self.end = frame.end
        return []

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples with index in [start, stop), (n, channels), concatenated (gaps are skipped)."""
        parts = [b[max(0, start - i) : max(0, stop - i)] for i, b in self.blocks if i < stop and i + len(b) > start]
        return np.concatenate(parts)


class Player:
    """A JACK client playing a sine per output port; ``freqs`` may change while it plays."""

    def __init__(self, server, freqs: list[float], amplitude: float = AMP):
        self.client = server.client("rtaudio-test-player")
        self.rate = self.client.samplerate
        self.freqs = list(freqs)
        self.amplitude = amplitude
        self.ports = [self.client.outports.register(f"out_{i}") for i in range(len(freqs))]
        self.n = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        for port, f in zip(self.ports, self.freqs, strict=True):
            phase = 2 * math.pi * f * self.n / self.rate
            port.get_array()[:] = tone(f, frames / self.rate, self.rate, self.amplitude, phase)
        self.n += frames

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def dominant_hz(x: np.ndarray, rate: int, n: int = 8192) -> tuple[float, float]:
    """Frequency (Hz) of the largest bin of the mean Hann-windowed power spectrum of ``n``-sample
    segments of ``x`` (Welch, half overlap), and the bin width (Hz).  Short segments keep the
    phase jumps of a dropped period (on a loaded machine) from smearing the peak."""
    window = np.hanning(n)
    starts = range(0, len(x) - n + 1, n // 2)
    power = sum(np.abs(np.fft.rfft(x[i : i + n] * window)) ** 2 for i in starts)
    return float(np.argmax(power)) * rate / n, rate / n


@pytest.mark.jack
def test_live_capture_through_jack(jack_server):
    from rtaudio.stages.levels import LevelsStage
    from rtaudio.stages.spectrum import SpectrumStage

    rate = jack_server.rate
    source = DeviceSource(jack_server.device, channels=2)
    assert (source.rate, source.channels, source.live) == (rate, 2, True)

    collect = Collect()
    spectrum = SpectrumStage(sample_rate=rate)
    levels = LevelsStage(sample_rate=rate, channels=2)
    for stage in (spectrum, levels):  # compile the numba kernels before audio flows
        stage.process(Frame(0, np.zeros((4096, 2), np.float32), rate))
        stage.reset()
    sink = ListSink()
    engine = Engine(source, [collect, spectrum, levels], [sink])

    probe = jack_server.client("rtaudio-test-probe")
    player = Player(jack_server, [1000.0, 1000.0])
    try:
        before = {p.name for p in probe.get_ports(is_input=True, is_audio=True)}
        engine.start()

        def new_ports():  # PortAudio registers them one by one once the stream is open
            ports = sorted(p.name for p in probe.get_ports(is_input=True, is_audio=True) if p.name not in before)
            return ports if len(ports) >= 2 else None

        ours = wait_for(new_ports, what="the analyzer's two JACK input ports")
        assert len(ours) == 2, ours
        for out, port in zip(player.ports, ours, strict=True):
            probe.connect(out, port)

        # Phase A: 1 kHz on both channels.  Phase B: 2.5 kHz left, 1 kHz right.
        wait_for(lambda: collect.onset is not None and collect.end > collect.onset + rate, what="1 s of tone")
        flip = collect.end
        player.freqs = [2500.0, 1000.0]
        wait_for(lambda: collect.end > flip + rate // 2, what="0.5 s after the frequency change")
    finally:
        engine.stop()
        player.close()
        probe.close()
    result = engine.join(WAIT_S)
    assert result is not None and result.reason == "stopped", result

    onset = collect.onset
    a = collect.samples(onset + rate // 5, flip)  # steady phase A, away from the switch-on
    b = collect.samples(collect.end - rate // 4, collect.end)  # the last 0.25 s: phase B
    for ch in range(2):
        f, df = dominant_hz(a[:, ch], rate)
        assert abs(f - 1000.0) <= df, (ch, f)
        rms_db = 10 * math.log10(np.mean(a[:, ch].astype(np.float64) ** 2))
        assert abs(rms_db - SINE_RMS_DBFS) < 0.5, (ch, rms_db)
    for ch, want in enumerate([2500.0, 1000.0]):
        f, df = dominant_hz(b[:, ch], rate)
        assert abs(f - want) <= df, (ch, f, want)

    # The real stages agree: loudest band holds 1 kHz, RMS ~ -9 dBFS (events fully inside phase A).
    steady = [
        e
        for e in sink.events
        if isinstance(e, SpectrumFrame) and onset + spectrum.params.n_fft + rate // 10 <= e.t <= flip
    ]
    assert len(steady) > 10
    centers = spectrum.centers_hz
    half = 2 ** (1 / (2 * spectrum.params.bands_per_octave))
    for e in steady:
        k = int(np.argmax(e.bands_db))
        assert centers[k] / half <= 1000.0 < centers[k] * half, (centers[k], e.t)
    hop = int(round(levels.params.hop_s * rate))  # samples per Levels event
    meters = [e for e in sink.events if isinstance(e, Levels) and onset + hop < e.t - hop and e.t <= flip]
    assert len(meters) >= 5
    for e in meters:
        assert abs(e.rms_dbfs - SINE_RMS_DBFS) < 1.0, e
        assert abs(e.peak_dbfs - (-6.0)) < 0.5, e


@pytest.mark.jack
def test_list_and_format_devices(jack_server):
    devices = list_devices()
    jack = devices[jack_server.device]
    assert jack["hostapi"] == jack_server.hostapi
    assert jack["max_input_channels"] == 2 and jack["default_samplerate"] == jack_server.rate
    text = format_devices()
    assert f"{jack_server.device} {jack['name']}  ({jack_server.hostapi}, 2 in, 2 out, 48000 Hz)" in text
    assert format_devices([]).startswith("no sound devices found")


@pytest.mark.jack
def test_device_by_name_and_host_api(jack_server):
    name = list_devices()[jack_server.device]["name"]
    for spec in (name.upper(), "jack", str(jack_server.device)):
        assert DeviceSource(spec).index == jack_server.device


@pytest.mark.jack
def test_unknown_device_name_lists_devices(jack_server):
    with pytest.raises(DeviceError) as err:
        DeviceSource("no-such-microphone")
    msg = str(err.value)
    assert "input device 'no-such-microphone' not found; available input devices:" in msg
    assert f"{jack_server.device} 'system' ({jack_server.hostapi}, 2 in)" in msg


@pytest.mark.jack
def test_device_index_out_of_range(jack_server):
    with pytest.raises(DeviceError, match=r"input device 99 does not exist; available input devices: .*system"):
        DeviceSource(99)


@pytest.mark.jack
def test_rate_mismatch_with_jack_server(jack_server):
    with pytest.raises(DeviceError) as err:
        DeviceSource(jack_server.device, rate=44100)
    msg = str(err.value)
    assert "rate=44100 Hz" in msg and "the device's rate is 48000 Hz" in msg and "jackd with -r 44100" in msg


@pytest.mark.jack
def test_too_many_channels(jack_server):
    with pytest.raises(DeviceError, match=r"channels=3 is more than device .* offers \(2 input channels\)"):
        DeviceSource(jack_server.device, channels=3)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        (dict(rate=0), "rate=0 must be a sample rate"),
        (dict(channels=0), "channels=0 must be an integer number of channels"),
        (dict(blocksize=-1), "blocksize=-1 must be an integer >= 0"),
        (dict(latency="fast"), "latency='fast' must be 'low', 'high'"),
    ],
)
def test_bad_parameters(kwargs, text):
    with pytest.raises(ParameterError, match=text):
        DeviceSource(None, **kwargs)  # checked before any device lookup


# -- device lookup, on a made-up device list (no audio server needed) -----------------------------


def _dev(index, name, hostapi="ALSA", ins=2, outs=2, default_input=False):
    return dict(
        index=index,
        name=name,
        hostapi=hostapi,
        max_input_channels=ins,
        max_output_channels=outs,
        default_samplerate=44100.0,
        default_input=default_input,
        default_output=False,
    )


DEVICES = [
    _dev(0, "HDA Intel PCH: ALC892 Analog (hw:0,0)"),
    _dev(1, "HDA Intel PCH: HDMI 0 (hw:0,3)", ins=0),
    _dev(2, "USB Mic (hw:1,0)", ins=1),
    _dev(3, "pulse"),
    _dev(4, "default", default_input=True),
]


@pytest.mark.parametrize(
    "spec, index",
    [
        (None, 4),
        (2, 2),
        ("2", 2),
        ("usb", 2),
        ("DEFAULT", 4),
        ("ALC892", 0),
        ("pulse", 3),
    ],
)
def test_resolve_input_device(spec, index):
    assert resolve_input_device(spec, DEVICES)["index"] == index


def test_resolve_ambiguous_name():
    with pytest.raises(DeviceError, match=r"input device 'hw' is ambiguous: it matches 0 .*2 'USB Mic"):
        resolve_input_device("hw", DEVICES)


def test_resolve_prefers_the_host_api_default_among_matches():
    """PortAudio lists every JACK client as a device: "jack" means the server's own (system) device."""
    jack = "JACK Audio Connection Kit"
    devices = DEVICES + [
        dict(_dev(5, "system", jack), hostapi_default_input=True),
        _dev(6, "PortAudio", jack),
        _dev(7, "player", jack),
    ]
    assert resolve_input_device("jack", devices)["index"] == 5
    with pytest.raises(DeviceError, match=r"input device 'jack' is ambiguous"):
        resolve_input_device("jack", [d for d in devices if d["index"] != 5])


def test_resolve_output_only_device():
    with pytest.raises(DeviceError, match=r"device 1 'HDA Intel PCH: HDMI 0 \(hw:0,3\)' \(ALSA\) has no input"):
        resolve_input_device(1, DEVICES)
    with pytest.raises(DeviceError, match=r"input device 'HDMI' not found"):
        resolve_input_device("HDMI", DEVICES)


def test_resolve_without_input_devices():
    with pytest.raises(DeviceError, match=r"no default input device; available input devices: none"):
        resolve_input_device(None, [])


# -- the callback -----------------------------------------------------------------------------------


def test_callback_writes_ring_and_counts_overflows():
    ring = Ring(1024, 2)
    capture = _Capture(ring)
    block = np.arange(512, dtype=np.float32).reshape(256, 2)
    capture(block, 256, None, _Flags(input_overflow=False))
    capture(block, 256, None, _Flags(input_overflow=True))
    assert capture.overflows == 1
    index, out = ring.read()
    assert index == 0 and np.array_equal(out, np.concatenate([block, block]))


class _Flags:
    """Stand-in for sounddevice.CallbackFlags."""

    def __init__(self, input_overflow: bool):
        self.input_overflow = input_overflow

    def __bool__(self):
        return self.input_overflow


@pytest.mark.jack
def test_overflows_reported_from_run_not_callback(jack_server):
    source = DeviceSource(jack_server.device)
    ring = Ring(48000, source.channels)
    reports = []
    stop = threading.Event()

    def fake_overflows():
        wait_for(lambda: source._capture is not None and ring.available > 0, what="audio in the ring")
        source._capture.overflows += 2  # as the callback would on two flagged blocks
        wait_for(lambda: reports, what="the overflow report")
        stop.set()

    helper = threading.Thread(target=fake_overflows, daemon=True)
    helper.start()
    source.run(ring, stop.is_set, reports.append)
    helper.join(WAIT_S)
    # A loaded machine may add real overflows (JACK xruns) to the two made-up ones.
    assert reports and all(isinstance(r, Xrun) for r in reports)
    assert source.overflows >= 2 and sum(r.count for r in reports) == source.overflows
    assert source._stream is None  # closed by run


# -- the sound server dies while capturing (own server, own process: PortAudio cannot recover) -----

SERVER_DEATH = r"""
import os, shutil, signal, subprocess, sys, time
import jack

name = f"rtaudio-death-{os.getpid()}"
os.environ["JACK_DEFAULT_SERVER"] = name
server = subprocess.Popen([shutil.which("jackd"), "--no-realtime", "--name", name, "-d", "dummy", "-r", "48000",
                           "-p", "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
jack.set_error_function(lambda msg: None)
deadline = time.monotonic() + 30
while True:
    try:
        jack.Client("probe", servername=name, no_start_server=True).close()
        break
    except jack.JackError:
        assert time.monotonic() < deadline, "jackd did not start"
        time.sleep(0.1)

from rtaudio.engine import Engine  # imports sounddevice lazily: PortAudio starts after jackd
from rtaudio.errors import DeviceError
from rtaudio.sources.device import DeviceSource

engine = Engine(DeviceSource("jack"), [], [])
engine.start()
deadline = time.monotonic() + 30
while engine.ring.available == 0:
    assert time.monotonic() < deadline, "no audio"
    time.sleep(0.01)
server.send_signal(signal.SIGTERM)
server.wait(30)
try:
    print("result", engine.join(60), flush=True)
except DeviceError as exc:
    print("DeviceError:", exc, flush=True)
for leftover in __import__("glob").glob(f"/dev/shm/jack_sem.*_{name}_*"):  # the abandoned client's semaphore
    os.unlink(leftover)
"""


@pytest.mark.slow
@pytest.mark.jack
def test_server_death_is_a_clear_error_and_the_process_exits(tmp_path):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    script = tmp_path / "death.py"
    script.write_text(SERVER_DEATH)
    env = {k: v for k, v in os.environ.items() if k not in ("JACK_DEFAULT_SERVER", "RTAUDIO_TEST_JACK_SERVER")}
    try:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process hung after its JACK server died; output: {exc.stdout!r} {exc.stderr!r}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DeviceError: device 0 'system' (JACK Audio Connection Kit) stopped delivering audio" in done.stdout, (
        done.stdout,
        done.stderr[-2000:],
    )

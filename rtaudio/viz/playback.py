"""Playing a file while it is analysed, and the clock that keeps the picture in step with the sound.

::

    file (PyAV) ──> PlaybackSource.run (pump thread) ──┬──> engine ring ──> stages ──> VizSink
                                                       └──> output ring ──> PortAudio callback ──> speakers
                                                             (back-pressure: paces the whole chain)

The pump writes each decoded block into the engine's ring and into the
:class:`~rtaudio.ring.Ring` of the output; when that is full it waits, so decoding and
analysis run at most ``buffer_s`` ahead of what is heard.  The PortAudio output
callback only copies from the buffer into PortAudio's (zeros where the buffer
ran dry, counted) and notes which sample it handed over and the time PortAudio
says that block reaches the DAC (``outputBufferDacTime``, which PortAudio derives
from the output latency the stream reports).  :meth:`Player.heard` turns that into
the source sample being heard *now*; the window shows an event only once its
time has been heard, so the picture is delayed by exactly the output latency.

With no output device, :class:`WallClock` paces the pump by the system clock
instead (``lead_s`` ahead) and says which sample "would be heard now".
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from rtaudio.errors import DeviceError, MissingDependencyError
from rtaudio.ring import Ring
from rtaudio.sources.base import PullSource, Report, Source

#: How long the pump sleeps while it waits for room in the output's ring (seconds).
WAIT_S = 0.002
#: How often the pump, waiting for room in the engine's ring, checks for a stop (seconds).
STOP_CHECK_S = 0.05


class _Playout:
    """The output callback: copy from the ring into PortAudio's buffer, zeros after its last frame; no allocation.

    Notes (first index, frames, DAC time, callback time) of the last audio played in :attr:`mark`, and
    counts in :attr:`underruns` the callbacks that found fewer frames than they needed before the ring
    was closed (silence was played).
    """

    __slots__ = ("ring", "mark", "underruns")

    def __init__(self, ring: Ring):
        self.ring = ring
        self.mark = None
        self.underruns = 0

    def __call__(self, outdata, frames, time_info, status) -> None:
        pos, n = self.ring.read_into(outdata)
        if n < len(outdata):
            outdata[n:] = 0.0
            if not self.ring.closed:
                self.underruns += 1
        if n:  # a dry callback keeps the mark of the last audio played
            self.mark = (pos, n, time_info.outputBufferDacTime, time_info.currentTime)


def _sounddevice():
    from rtaudio.sources.device import _sounddevice as sd

    return sd()


def output_devices() -> list[dict]:
    """The devices PortAudio can play to (see :func:`rtaudio.sources.device.list_devices`)."""
    from rtaudio.sources.device import list_devices

    return [d for d in list_devices() if d["max_output_channels"] > 0]


def _describe(d: dict) -> str:
    return f"{d['index']} {d['name']!r} ({d['hostapi']}, {d['max_output_channels']} out)"


def resolve_output_device(device: str | int | None, devices: list[dict]) -> dict | None:
    """The output device that ``device`` names (None: the default one, or None if there is none).

    ``device`` is an index, or a case-insensitive part of ``"name, host API"``; where
    it matches several devices of which one is its host API's default output, that one
    (``"jack"`` finds the JACK server's ``system`` device among the other JACK clients).
    A named device that is not there raises :class:`DeviceError` listing the output devices.
    """
    outputs = [d for d in devices if d["max_output_channels"] > 0]
    listing = ", ".join(_describe(d) for d in outputs) or "none"
    if device is None:
        default = [d for d in outputs if d["default_output"]]
        return default[0] if default else (outputs[0] if outputs else None)
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device.strip())
    if isinstance(device, int) and not isinstance(device, bool):
        for d in outputs:
            if d["index"] == device:
                return d
        raise DeviceError(f"output device {device} does not exist or cannot play; output devices: {listing}")
    if not isinstance(device, str):
        raise DeviceError(f"--output-device={device!r} must be a device index or a name; output devices: {listing}")
    from rtaudio.sources.device import match_device_name

    return match_device_name(device, outputs, "output", f"output devices: {listing}", _describe)


class Player:
    """Plays source audio through a PortAudio output stream and tells which sample is heard now.

    Parameters
    ----------
    device : dict
        The output device (an entry of :func:`output_devices`).
    rate : int > 0, Hz
        The source's sample rate; if the device cannot play it, the audio is resampled (soxr)
        to the device's default rate.
    channels : int > 0
        The source's channels: mono is played on two channels; more than the device has are
        folded to mono.
    buffer_s : float > 0, seconds
        Output buffer: how far decoding and analysis may run ahead of the sound.
    latency : {"low", "high"} or float, seconds
        PortAudio's suggested output latency.

    Attributes
    ----------
    latency : float, seconds
        The output latency the stream reports.
    out_rate : int, Hz
    out_channels : int
    """

    def __init__(self, device: dict, *, rate: int, channels: int, buffer_s: float = 1.0, latency: str | float = "low"):
        sd = _sounddevice()
        self.rate, self.channels = int(rate), int(channels)
        self.device = device
        self.out_channels = min(2, int(device["max_output_channels"]))
        self.out_rate = self.rate
        try:
            sd.check_output_settings(
                device=device["index"], channels=self.out_channels, dtype="float32", samplerate=self.rate
            )
        except sd.PortAudioError:
            self.out_rate = int(round(device["default_samplerate"]))
        self._resampler = None
        if self.out_rate != self.rate:
            import soxr

            self._resampler = soxr.ResampleStream(
                self.rate, self.out_rate, self.out_channels, dtype="float32", quality="HQ"
            )
        self.buffer = Ring(max(4096, int(buffer_s * self.out_rate)), self.out_channels)  # written only when free
        self._playout = _Playout(self.buffer)
        try:
            self.stream = sd.OutputStream(
                device=device["index"],
                samplerate=self.out_rate,
                channels=self.out_channels,
                dtype="float32",
                blocksize=0,
                latency=latency,
                callback=self._playout,
            )
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot open output device {_describe(device)} at {self.out_rate} Hz: {exc}") from None
        self.latency = float(self.stream.latency)
        self.description = f"{device['name']} ({device['hostapi']})"
        self._prefill = min(self.buffer.capacity // 2, int(0.1 * self.out_rate))
        self._started = False
        self._lock = threading.Lock()  # start/close from two threads (never taken by the callback)
        self._closed = False

    @property
    def status(self) -> str:
        """A short note for the window's header."""
        text = f"audio out {self.latency * 1e3:.1f} ms"
        if self._playout.underruns:
            text += f", {self._playout.underruns} underruns"
        return text

    def convert(self, block: np.ndarray) -> np.ndarray:
        """Source block (n, channels) -> the output's channels and rate."""
        if block.ndim == 1:
            block = block[:, None]
        ch, out = block.shape[1], self.out_channels
        if ch != out:
            if ch == 1:
                block = np.repeat(block, out, axis=1)
            else:
                mono = block.mean(axis=1, dtype=np.float32, keepdims=True)
                block = np.repeat(mono, out, axis=1)
        block = np.ascontiguousarray(block, dtype=np.float32)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block).reshape(-1, out)
        return block

    def _start(self) -> None:
        with self._lock:
            if not self._started and not self._closed:
                self.stream.start()
                self._started = True

    def write(self, block: np.ndarray, should_stop: Callable[[], bool]) -> bool:
        """Queue source ``block`` for playing, waiting for room (that paces the caller). False: stopped."""
        data = self.convert(block)
        pos = 0
        while pos < len(data):
            free = self.buffer.free
            if free == 0:
                if not self._started:
                    self._start()
                if should_stop() or self._closed:
                    return False
                time.sleep(WAIT_S)
                continue
            take = min(free, len(data) - pos)
            self.buffer.write(data[pos : pos + take])
            pos += take
        if not self._started and self.buffer.written >= self._prefill:
            self._start()
        return True

    def finish(self) -> None:
        """No more audio: flush the resampler, let the stream play out what is queued."""
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros((0, self.out_channels), np.float32), last=True)
            tail = tail.reshape(-1, self.out_channels)
            pos = 0
            while pos < len(tail) and not self._closed:
                take = min(self.buffer.free, len(tail) - pos)
                self.buffer.write(tail[pos : pos + take])
                pos += take
                if pos < len(tail):
                    self._start()
                    time.sleep(WAIT_S)
        self.buffer.close()
        self._start()

    def heard(self) -> float | None:
        """The source sample index being heard now (None before the first callback)."""
        mark = self._playout.mark
        if mark is None:
            return None
        pos, n, dac, cur = mark
        try:
            now = self.stream.time
        except Exception:  # noqa: BLE001 - a closed stream: the last position stands
            now = dac
        if dac > 0 and now > 0:
            out_index = pos + (now - dac) * self.out_rate
        elif cur > 0 and now > 0:
            out_index = pos + (now - cur - self.latency) * self.out_rate
        else:  # no timing from the host API: the frames handed over, less the latency
            out_index = pos + n - self.latency * self.out_rate
        out_index = min(out_index, pos + n)  # silence after a dry buffer is not audio
        return max(0.0, out_index) * self.rate / self.out_rate

    @property
    def drained(self) -> bool:
        """Everything queued has been handed over and should have been heard."""
        if not self.buffer.closed or self.buffer.position < self.buffer.written:
            return False
        heard = self.heard()
        return heard is None or heard * self.out_rate / self.rate >= self.buffer.written - 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            try:
                if self._started:
                    self.stream.abort()
                self.stream.close()
            except Exception:  # noqa: BLE001 - closing a broken stream: nothing left to save
                pass


class WallClock:
    """Paces playback by the system clock when there is no output device.

    Parameters
    ----------
    rate : int > 0, Hz
    lead_s : float >= 0, seconds
        How far the pump (and so the analysis) may run ahead of the clock.
    """

    def __init__(self, rate: int, lead_s: float = 0.5):
        self.rate = int(rate)
        self.lead_s = float(lead_s)
        self._t0: float | None = None
        self._written = 0
        self._finished = False
        self.status = "no audio out: clock-paced"
        self._closed = False

    def write(self, block: np.ndarray, should_stop: Callable[[], bool]) -> bool:
        if self._t0 is None:
            self._t0 = time.perf_counter()
        self._written += len(block)
        while self._written / self.rate - (time.perf_counter() - self._t0) > self.lead_s:
            if should_stop() or self._closed:
                return False
            time.sleep(min(0.01, self._written / self.rate - (time.perf_counter() - self._t0) - self.lead_s + 0.001))
        return True

    def finish(self) -> None:
        self._finished = True

    def heard(self) -> float | None:
        if self._t0 is None:
            return None
        return min(self._written, (time.perf_counter() - self._t0) * self.rate)

    @property
    def drained(self) -> bool:
        h = self.heard()
        return self._finished and h is not None and h >= self._written

    def close(self) -> None:
        self._closed = True


class PlaybackSource(Source):
    """A file source whose audio is also played (or paced by a clock) while the engine analyses it.

    Parameters
    ----------
    inner : PullSource
        The file (``FileSource``); its ``realtime`` is ignored: the output paces the pump.
    output : Player or WallClock
    """

    def __init__(self, inner: PullSource, output: Player | WallClock):
        self.inner = inner
        self.output = output
        self.description = inner.description
        self.rate, self.channels, self.layout = inner.rate, inner.channels, inner.layout
        self.duration_s = inner.duration_s
        self.live = False

    def run(self, ring, should_stop: Callable[[], bool], report: Report) -> None:
        step = max(256, min(4096, ring.capacity // 4))
        out = self.output
        for block in self.inner.blocks(report):
            pos = 0
            while pos < len(block):
                piece = block[pos : pos + step]
                # the engine lags (it should not: it runs far faster than real time): its reads wake us
                while not ring.wait_free(len(piece), STOP_CHECK_S):
                    if should_stop():
                        return
                if should_stop():
                    return
                ring.write(piece)
                if not out.write(piece, should_stop):
                    return
                pos += len(piece)
        out.finish()

    def close(self) -> None:
        self.inner.close()


def open_output(
    device: str | int | None, *, rate: int, channels: int, buffer_s: float = 1.0, latency: str | float = "low"
) -> tuple[Player | None, str]:
    """The player for ``device`` (None: the default output), or (None, why) when there is no output device.

    A device the user named but that cannot be found or opened raises :class:`DeviceError`;
    with no device named, a missing or unusable default gives ``(None, reason)`` so that the
    picture can still be shown, paced by the clock.
    """
    try:
        devices = output_devices()
    except MissingDependencyError as exc:
        if device is not None:
            raise
        return None, str(exc)
    chosen = resolve_output_device(device, devices)
    if chosen is None:
        return None, "no audio output device found"
    try:
        return Player(chosen, rate=rate, channels=channels, buffer_s=buffer_s, latency=latency), ""
    except DeviceError as exc:
        if device is not None:
            raise
        return None, str(exc)


def describe_latency(player: Player | None) -> str:
    if player is None:
        return "no output"
    ms = player.latency * 1e3
    return f"{player.description}, output latency {ms:.1f} ms" if math.isfinite(ms) else player.description

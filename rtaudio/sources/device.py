"""Sound devices (microphone, line-in, a JACK server) through PortAudio (``sounddevice``).

The audio callback only copies: it hands PortAudio's block to :meth:`Ring.write
<rtaudio.ring.Ring.write>` and returns.  Input overflows that PortAudio flags
are counted in an integer attribute and reported later by :meth:`DeviceSource.run`
(on the producer thread, never from the callback).

``sounddevice`` is imported where it is used, so ``import rtaudio`` stays
light and works without PortAudio installed.

Notes
-----
PortAudio enumerates its host APIs and devices once, when it is initialised
(on ``import sounddevice``).  A sound server started later (e.g. ``jackd``) is
seen only after ``sounddevice._terminate(); sounddevice._initialize()``, which
must not be done while a stream is open; this module never does it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from rtaudio.errors import DeviceError, MissingDependencyError, ParameterError
from rtaudio.events import Xrun
from rtaudio.ring import Ring
from rtaudio.sources.base import Report, Source, check_channels, check_rate

#: How often :meth:`DeviceSource.run` looks at ``should_stop`` and the stream (seconds).
POLL_S = 0.01
#: Least time between two input-overflow reports (seconds).
REPORT_EVERY_S = 1.0
#: How long closing a stream may take before it is abandoned (seconds).
CLOSE_TIMEOUT_S = 5.0


def _sounddevice():
    """Import ``sounddevice``, or raise :class:`MissingDependencyError` saying what to install."""
    try:
        import sounddevice
    except OSError as exc:  # the Python package is there, the PortAudio library is not
        raise MissingDependencyError(
            f"the PortAudio library is missing ({exc}); install it with: sudo apt-get install libportaudio2"
        ) from exc
    except ImportError as exc:
        raise MissingDependencyError(
            "sounddevice is not installed; install it with: pip install sounddevice "
            "(and the PortAudio library: sudo apt-get install libportaudio2)"
        ) from exc
    return sounddevice


def list_devices() -> list[dict]:
    """Every sound device PortAudio sees.

    Returns
    -------
    list of dict
        One per device, in PortAudio's order, with keys ``index`` (int), ``name`` (str),
        ``hostapi`` (str, e.g. ``"ALSA"``, ``"JACK Audio Connection Kit"``),
        ``max_input_channels`` and ``max_output_channels`` (int),
        ``default_samplerate`` (float, Hz), ``default_input`` and ``default_output`` (bool:
        the device PortAudio opens when none is named), ``hostapi_default_input`` and
        ``hostapi_default_output`` (bool: its host API's default, e.g. JACK's ``system`` device
        among the many JACK clients PortAudio also lists).

    Raises
    ------
    MissingDependencyError
        sounddevice or the PortAudio library is not installed.
    """
    sd = _sounddevice()
    hostapis = sd.query_hostapis()
    default_in, default_out = _default_indices(sd)
    return [
        {
            "index": i,
            "name": d["name"],
            "hostapi": hostapis[d["hostapi"]]["name"],
            "max_input_channels": int(d["max_input_channels"]),
            "max_output_channels": int(d["max_output_channels"]),
            "default_samplerate": float(d["default_samplerate"]),
            "default_input": i == default_in,
            "default_output": i == default_out,
            "hostapi_default_input": i == hostapis[d["hostapi"]]["default_input_device"],
            "hostapi_default_output": i == hostapis[d["hostapi"]]["default_output_device"],
        }
        for i, d in enumerate(sd.query_devices())
    ]


def _default_indices(sd) -> tuple[int, int]:
    """(default input, default output) device indices; -1 where there is none."""
    out = []
    for kind in ("input", "output"):
        try:
            out.append(int(sd.query_devices(kind=kind)["index"]))
        except (sd.PortAudioError, ValueError, KeyError):
            out.append(-1)
    return out[0], out[1]


def format_devices(devices: list[dict] | None = None) -> str:
    """The device table printed by ``rtaudio devices``.

    One line per device: a mark (``>`` default input, ``<`` default output, ``*`` both),
    the index, the name, the host API, the input/output channel counts and the default
    sample rate, e.g. ``*  0 system  (JACK Audio Connection Kit, 2 in, 2 out, 48000 Hz)``.

    Parameters
    ----------
    devices : list of dict, optional
        As returned by :func:`list_devices` (default: the devices there are now).
    """
    if devices is None:
        devices = list_devices()
    if not devices:
        return (
            "no sound devices found (is the sound server running? PortAudio only sees servers "
            "that were running when it was initialised)"
        )
    width = max(len(str(d["index"])) for d in devices)
    lines = []
    for d in devices:
        mark = {(True, True): "*", (True, False): ">", (False, True): "<"}.get(
            (d["default_input"], d["default_output"]), " "
        )
        lines.append(
            f"{mark} {d['index']:>{width}} {d['name']}  ({d['hostapi']}, {d['max_input_channels']} in, "
            f"{d['max_output_channels']} out, {d['default_samplerate']:g} Hz)"
        )
    lines.append("> default input, < default output, * both")
    return "\n".join(lines)


def _describe(d: dict) -> str:
    return f"{d['index']} {d['name']!r} ({d['hostapi']}, {d['max_input_channels']} in)"


def _available(inputs: list[dict]) -> str:
    return ", ".join(_describe(d) for d in inputs) or "none (no device with input channels was found)"


def match_device_name(name: str, candidates: list[dict], kind: str, listing: str, describe) -> dict:
    """The one device of ``candidates`` that ``name`` names, for inputs and outputs alike.

    ``name`` is a case-insensitive part of ``"name, host API"``; an exact name wins. Where
    several match and one of them is its host API's default ``kind`` device, that one
    (``"jack"`` matches every JACK client; the server's own device is meant).

    Parameters
    ----------
    kind : {"input", "output"}
    listing : str
        Ends the "not found" message, e.g. ``"available input devices: ..."``.
    describe : callable (dict) -> str
        One device in the "ambiguous" message.
    """
    key = name.strip().lower()
    exact = [d for d in candidates if d["name"].lower() == key]
    found = exact or [d for d in candidates if key in f"{d['name']}, {d['hostapi']}".lower()]
    if not found:
        raise DeviceError(f"{kind} device {name!r} not found; {listing}")
    if len(found) > 1:
        preferred = [d for d in found if d.get(f"hostapi_default_{kind}")]
        if len(preferred) == 1:
            return preferred[0]
        raise DeviceError(
            f"{kind} device {name!r} is ambiguous: it matches {', '.join(describe(d) for d in found)}; "
            "name one by its index or a longer part of its name"
        )
    return found[0]


def resolve_input_device(device: str | int | None, devices: list[dict]) -> dict:
    """Pick the input device that ``device`` names among ``devices``.

    Parameters
    ----------
    device : int, str or None
        ``None``: the default input device.  An int (or a string of digits): the
        device index.  Any other string: a case-insensitive substring of the
        device's ``"name, host API"`` (so ``"JACK"`` finds the JACK device); a
        device whose name equals it exactly (ignoring case) wins over other matches.
    devices : list of dict
        As returned by :func:`list_devices`.

    Returns
    -------
    dict
        The chosen entry of ``devices``.

    Raises
    ------
    DeviceError
        The device is unknown, ambiguous or has no input channels; the message
        lists the available input devices.
    """
    inputs = [d for d in devices if d["max_input_channels"] > 0]
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device.strip())
    if device is None:
        chosen = [d for d in inputs if d["default_input"]]
        if not chosen:
            raise DeviceError(f"no default input device; available input devices: {_available(inputs)}")
        return chosen[0]
    if isinstance(device, bool) or not isinstance(device, (int, str)):
        raise DeviceError(
            f"device={device!r} must be a device index (int) or a name (str); "
            f"available input devices: {_available(inputs)}"
        )
    if isinstance(device, int):
        for d in devices:
            if d["index"] == device:
                if d["max_input_channels"] <= 0:
                    raise DeviceError(
                        f"device {device} {d['name']!r} ({d['hostapi']}) has no input channels; "
                        f"available input devices: {_available(inputs)}"
                    )
                return d
        raise DeviceError(f"input device {device} does not exist; available input devices: {_available(inputs)}")
    return match_device_name(device, inputs, "input", f"available input devices: {_available(inputs)}", _describe)


class _Capture:
    """The audio callback: copy the block into the ring, count PortAudio's input overflows.

    Called by PortAudio's audio thread as ``capture(indata, frames, time, status)``;
    does nothing else (no allocation of its own, no lock, no logging).

    Attributes
    ----------
    overflows : int
        Callbacks that PortAudio flagged with ``input_overflow`` (audio lost before it got here).
    """

    __slots__ = ("write", "overflows")

    def __init__(self, ring: Ring):
        self.write = ring.write
        self.overflows = 0

    def __call__(self, indata, frames, time_info, status) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        self.write(indata)


class DeviceSource(Source):
    """Live input from a sound device (microphone, line-in, a JACK server) via PortAudio.

    Parameters
    ----------
    device : int, str or None
        Device index, or a case-insensitive part of its name (or of ``"name, host API"``:
        ``"JACK"`` picks the JACK device), or None for the default input device.
        See :func:`resolve_input_device`; ``rtaudio devices`` lists them.
    rate : int in [1000, 768000], Hz, optional
        Sample rate; default: the device's default rate.  A JACK device only supports
        the server's rate.
    channels : int in [1, 64], optional
        Channels to capture; default ``min(2, max_input_channels)``.
    blocksize : int >= 0, frames
        Frames per callback; 0 (default) lets the host choose (with JACK: the server's period).
    latency : {"low", "high"} or float >= 0, seconds
        PortAudio's suggested input latency. Default ``"low"``.

    Attributes
    ----------
    index : int
        The PortAudio device index.
    overflows : int
        Input overflows PortAudio reported during the last :meth:`run`.

    Raises
    ------
    DeviceError
        Unknown, ambiguous or output-only device, or settings the device does not support
        (the message names the value and what the device offers).
    ParameterError
        A malformed ``rate``, ``channels``, ``blocksize`` or ``latency``.
    MissingDependencyError
        sounddevice or the PortAudio library is missing.
    """

    live = True

    def __init__(
        self,
        device: str | int | None = None,
        *,
        rate: int | None = None,
        channels: int | None = None,
        blocksize: int = 0,
        latency: str | float = "low",
    ):
        if rate is not None:
            rate = check_rate(rate)
        if channels is not None:
            channels = check_channels(channels)
        if isinstance(blocksize, bool) or not isinstance(blocksize, int) or blocksize < 0:
            raise ParameterError(f"blocksize={blocksize!r} must be an integer >= 0 frames (0: the host's choice)")
        if not (
            latency in ("low", "high")
            or (isinstance(latency, (int, float)) and not isinstance(latency, bool) and 0 <= latency < 10)
        ):
            raise ParameterError(f"latency={latency!r} must be 'low', 'high' or a number of seconds in [0, 10)")
        sd = _sounddevice()
        info = resolve_input_device(device, list_devices())
        self.index = info["index"]
        self.name = info["name"]
        self.hostapi = info["hostapi"]
        self.description = f"device {self.index} {self.name!r} ({self.hostapi})"
        max_in = info["max_input_channels"]
        default_rate = int(round(info["default_samplerate"]))
        self.rate = default_rate if rate is None else rate
        self.channels = min(2, max_in) if channels is None else channels
        if self.channels > max_in:
            raise DeviceError(
                f"channels={self.channels} is more than {self.description} offers ({max_in} input channels)"
            )
        self.layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        self.duration_s = None
        self.blocksize = blocksize
        self.latency = latency
        self.overflows = 0
        self._stream = None
        self._capture: _Capture | None = None
        try:
            sd.check_input_settings(device=self.index, channels=self.channels, dtype="float32", samplerate=self.rate)
        except sd.PortAudioError as exc:
            raise DeviceError(self._settings_error(exc, default_rate)) from exc

    def _settings_error(self, exc: Exception, default_rate: int) -> str:
        msg = f"{self.description} cannot capture {self.channels} channels at rate={self.rate} Hz: {exc}"
        if "sample rate" in str(exc).lower():
            msg += f"; the device's rate is {default_rate} Hz"
            if "jack" in self.hostapi.lower():
                msg += (
                    f" (a JACK server runs at one rate: use rate={default_rate}, or restart jackd with -r {self.rate})"
                )
            else:
                msg += f" (try rate={default_rate})"
        return msg

    def run(self, ring: Ring, should_stop: Callable[[], bool], report: Report) -> None:
        """Capture into ``ring`` until ``should_stop()`` returns True.

        Opens the input stream, then checks ``should_stop`` and the stream every
        :data:`POLL_S` seconds.  Input overflows flagged by PortAudio (with JACK: any
        xrun of the server) are reported as :class:`~rtaudio.events.Xrun` events
        (audio was lost inside the driver, capture goes on), at most one per
        :data:`REPORT_EVERY_S` seconds with the count.  The stream is closed on the way out.

        Parameters
        ----------
        ring : Ring
            Must have ``channels`` channels.
        should_stop : callable () -> bool
        report : callable (Event) -> None

        Raises
        ------
        DeviceError
            The stream cannot be opened or started, or stops delivering audio (device
            unplugged, sound server gone); the message names the device.
        """
        sd = _sounddevice()
        if ring.channels != self.channels:
            raise ParameterError(f"ring has {ring.channels} channels; {self.description} captures {self.channels}")
        capture = self._capture = _Capture(ring)
        self.overflows = 0
        self._reported_at = -math.inf
        try:
            stream = sd.InputStream(
                device=self.index,
                samplerate=self.rate,
                channels=self.channels,
                dtype="float32",
                blocksize=self.blocksize,
                latency=self.latency,
                callback=capture,
            )
        except sd.PortAudioError as exc:
            raise DeviceError(
                f"cannot open {self.description} at {self.rate} Hz, {self.channels} channels: {exc}"
            ) from exc
        self._stream = stream
        try:
            try:
                stream.start()
            except sd.PortAudioError as exc:
                raise DeviceError(f"cannot start {self.description}: {exc}") from exc
            while not should_stop():
                time.sleep(POLL_S)
                self._report_overflows(ring, report)
                if not stream.active and not should_stop():
                    msg = f"{self.description} stopped delivering audio (device unplugged or sound server gone?)"
                    if not self._release():
                        msg += (
                            "; PortAudio could not release it and cannot be used again in this process "
                            "(restart rtaudio once the device or server is back)"
                        )
                    raise DeviceError(msg)
            self._report_overflows(ring, report, final=True)
        finally:
            self._release()

    def _report_overflows(self, ring: Ring, report: Report, final: bool = False) -> None:
        """Report the overflows counted since the last report (producer thread, not the callback).

        At most one report per :data:`REPORT_EVERY_S` seconds (a first one at once), and
        one at the end (``final``) for what is left.
        """
        count = self._capture.overflows
        now = time.monotonic()
        if count == self.overflows or (not final and now - self._reported_at < REPORT_EVERY_S):
            return
        new = count - self.overflows
        self.overflows = count
        self._reported_at = now
        report(Xrun(ring.written, new))

    def _release(self) -> bool:
        """Close the stream if one is open; False if PortAudio hung doing so (see :meth:`close`)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return True
        done = threading.Event()

        def close():
            stream.close(ignore_errors=True)
            done.set()

        threading.Thread(target=close, name="rtaudio-device-close", daemon=True).start()
        if done.wait(CLOSE_TIMEOUT_S):
            return True
        # PortAudio's JACK host API blocks forever on a stream whose server died, and would
        # block (or abort) again in sounddevice's exit handler: leave PortAudio as it is.
        sd = _sounddevice()
        sd._initialized = 0
        return False

    def close(self) -> None:
        """Stop and close the stream if one is open.

        Gives up after :data:`CLOSE_TIMEOUT_S` seconds (PortAudio hangs closing a JACK stream
        whose server died): the stream is then abandoned, and PortAudio is left uninitialised
        at exit so that the process can still end.
        """
        self._release()

"""Shared fixtures: a real JACK audio server, and the real-audio corpus.

``jack_server`` (session scope) starts a private ``jackd`` with the dummy driver
(no sound card needed) under its own server name, so it never touches a user's
server.  While it runs, ``JACK_DEFAULT_SERVER`` names it, so PortAudio
(``sounddevice``, hence :class:`rtaudio.sources.device.DeviceSource`) and
``jack.Client`` both talk to it.  Use it like::

    def test_something(jack_server):
        player = jack_server.client("player")      # a jack.Client on this server
        source = DeviceSource(jack_server.device)  # PortAudio's JACK device
        assert source.rate == jack_server.rate

Mark such tests ``@pytest.mark.jack``.  Caveats (PortAudio's JACK host API): close every
stream before the session ends; a process can use one JACK server only; and a test
that kills a server must do it in a child process (PortAudio then hangs or aborts),
see ``test_device_source.py``.

``corpus`` is the folder of real recordings (``RTAUDIO_CORPUS``, default
``<repo>/../shared/corpus``); tests that need it skip when it is absent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

JACK_RATE = 48000  # Hz
JACK_PERIOD = 256  # frames per period (5.3 ms at 48 kHz)
JACK_START_TIMEOUT_S = 30.0  # generous: a loaded 2-core machine can be slow to start jackd
SHARED_ENV = "RTAUDIO_TEST_JACK_SERVER"  # name of the server the fixture runs (see jack_server)


@dataclass
class JackServer:
    """A running ``jackd`` (dummy driver) that tests can play into and capture from.

    Attributes
    ----------
    name : str
        JACK server name (also in ``JACK_DEFAULT_SERVER`` while the fixture is active).
    rate : int, Hz
        Server sample rate; PortAudio streams on it must use this rate.
    period : int, frames
        Frames per JACK period (the callback block size with ``blocksize=0``).
    device : int
        PortAudio's index of the JACK device (for ``DeviceSource`` / ``sounddevice``).
    hostapi : str
        PortAudio's name of the JACK host API.
    log : Path or None
        jackd's stdout and stderr (None when the server is shared from another fixture copy).
    process : subprocess.Popen or None
        The jackd process (None when shared).
    """

    name: str
    rate: int
    period: int
    device: int
    hostapi: str
    log: Path | None
    process: subprocess.Popen | None

    def client(self, name: str):
        """A new, not yet activated ``jack.Client`` on this server (the caller closes it)."""
        import jack

        return jack.Client(name, servername=self.name, no_start_server=True)


def _log_tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _jack_device(sounddevice) -> tuple[int, str] | None:
    """(PortAudio device index, host API name) of the JACK device, or None if PortAudio sees none."""
    for api in sounddevice.query_hostapis():
        if "jack" in api["name"].lower() and api["devices"]:
            default = api["default_input_device"]
            return (default if default >= 0 else api["devices"][0]), api["name"]
    return None


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """A private ``jackd -d dummy -r 48000 -p 256`` for the whole session (see :class:`JackServer`).

    Skips when ``jackd`` or the ``jack`` (JACK-Client) / ``sounddevice`` packages are
    missing; fails with jackd's log when it is installed but does not start.
    PortAudio is re-initialised after the server is up (so that it sees the JACK
    device) and when the server stops (so that it forgets it); no stream may be
    open at those moments.

    One process can use only one JACK server (libjack and PortAudio crash with two),
    so while its server runs the fixture names it in ``RTAUDIO_TEST_JACK_SERVER``,
    and another copy of this fixture in the same process (``benchmarks/`` loads this
    file too) reuses that server instead of starting one.
    """
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (apt-get install jackd2); needed for live-device tests")
    try:
        import jack
        import sounddevice
    except (ImportError, OSError) as exc:
        pytest.skip(f"JACK-Client or sounddevice/PortAudio is not usable: {exc}")

    running = os.environ.get(SHARED_ENV)
    if running:  # another copy of this fixture owns a server: use it, leave it alone
        probe = jack.Client("rtaudio-probe", servername=running, no_start_server=True)
        rate, period = probe.samplerate, probe.blocksize
        probe.close()
        found = _jack_device(sounddevice)
        if found is None:
            pytest.fail(f"{SHARED_ENV}={running!r} is set, but PortAudio sees no JACK device")
        yield JackServer(running, rate, period, found[0], found[1], None, None)
        return

    name = f"rtaudio-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    old_env = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [jackd, "--no-realtime", "--name", name, "-d", "dummy", "-r", str(JACK_RATE), "-p", str(JACK_PERIOD)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    jack.set_error_function(lambda msg: None)  # quiet "cannot connect" while the server starts
    try:
        deadline = time.monotonic() + JACK_START_TIMEOUT_S
        while True:  # wait until the server accepts clients
            if proc.poll() is not None:
                pytest.fail(f"jackd exited with status {proc.returncode} at start; log:\n{_log_tail(log)}")
            try:
                probe = jack.Client("rtaudio-probe", servername=name, no_start_server=True)
            except jack.JackError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jackd did not accept clients within {JACK_START_TIMEOUT_S} s; log:\n{_log_tail(log)}")
                time.sleep(0.1)
                continue
            rate, period = probe.samplerate, probe.blocksize
            probe.close()
            break
        jack.set_error_function(None)
        sounddevice._terminate()  # PortAudio lists host APIs once: make it see the new server
        sounddevice._initialize()
        found = _jack_device(sounddevice)
        if found is None:
            pytest.fail(
                f"PortAudio sees no JACK device after jackd started (host APIs: "
                f"{[h['name'] for h in sounddevice.query_hostapis()]}); "
                "is libportaudio2 built with JACK support?"
            )
        os.environ[SHARED_ENV] = name
        yield JackServer(name, rate, period, found[0], found[1], log, proc)
    finally:
        os.environ.pop(SHARED_ENV, None)
        # PortAudio's JACK host API asserts (aborting the process) if it is terminated after the
        # server died: let go of the server first, stop it, then let PortAudio enumerate again.
        try:
            sounddevice._terminate()
        except Exception:  # noqa: BLE001 - best effort: the session is ending anyway
            pass
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if old_env is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old_env
        sounddevice._initialize()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real-audio corpus folder: ``RTAUDIO_CORPUS``, or ``<repo>/../shared/corpus``; skips when absent."""
    path = Path(os.environ.get("RTAUDIO_CORPUS") or Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus")
    if not path.is_dir():
        pytest.skip(f"real-audio corpus not found at {path} (set RTAUDIO_CORPUS to its folder)")
    return path.resolve()


@contextlib.contextmanager
def _session_env(name: str, value: str):
    """Set ``os.environ[name]`` (seen by subprocesses too) for the block; yield the old value, then restore it."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield old
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """A fresh ``RTAUDIO_CACHE`` for the session: no test reads or writes the user's ``~/.cache/rtaudio``.

    Set in ``os.environ`` (not monkeypatched) so subprocesses of the tests use it too; a test
    that needs an empty cache of its own still sets ``RTAUDIO_CACHE`` itself.
    """
    with _session_env("RTAUDIO_CACHE", str(tmp_path_factory.mktemp("rtaudio-cache"))):
        yield


def pytest_collection_modifyitems(config, items):
    """Mark tests by what they start, so ``make check`` can leave them out: ``jack`` (a JACK server),
    ``ray`` (a Ray cluster) and ``spleeter`` (TensorFlow's venv), from the fixtures and parameters a test uses."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "jack_server" in fixtures:
            item.add_marker(pytest.mark.jack)
        if "ray_cluster" in fixtures or params.get("engine") == "ray":
            item.add_marker(pytest.mark.ray)
        if "onnx_model" in fixtures:  # an ONNX export of a spleeter test model, built with TensorFlow
            item.add_marker(pytest.mark.spleeter)


WHISPER_ENV = "RTAUDIO_WHISPER_MODEL"
NO_WHISPER = "/nonexistent/rtaudio-tests-run-without-whisper"


@pytest.fixture(scope="session", autouse=True)
def whisper_env():
    """Whisper is the default lid backend and stt engine wherever its model is installed. Tests not marked
    ``whisper`` run the light models instead (they were written for them, and a Whisper load costs seconds):
    ``$RTAUDIO_WHISPER_MODEL`` names a folder that does not exist, so the registry finds no Whisper model
    and ``auto`` falls back as it does for a user without one. Yields the variable's own value (or None)."""
    with _session_env(WHISPER_ENV, NO_WHISPER) as old:
        yield old


@pytest.fixture(autouse=True)
def _whisper_for_whisper_tests(request, whisper_env):
    """Tests marked ``whisper`` see the user's own ``$RTAUDIO_WHISPER_MODEL`` (or none): the real lookup."""
    if request.node.get_closest_marker("whisper") is None:
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        if whisper_env is None:
            mp.delenv(WHISPER_ENV, raising=False)
        else:
            mp.setenv(WHISPER_ENV, whisper_env)
        yield

"""The pygame window, drawn headless (SDL's dummy drivers): pixels from known signals and events,
keys, resizing, screenshots, the playback clock, and ``rtaudio play`` through a real JACK server."""

import os
from itertools import pairwise

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import math  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from rtaudio.errors import DeviceError, ParameterError  # noqa: E402
from rtaudio.events import (  # noqa: E402
    KeyMoment,
    Language,
    PartialTranscript,
    SourceInfo,
    SpeechEnd,
    SpeechStart,
    Tempo,
    Transcript,
)
from rtaudio.ring import Ring  # noqa: E402
from rtaudio.stages.base import Frame  # noqa: E402
from rtaudio.stages.levels import LevelsParams, LevelsStage  # noqa: E402
from rtaudio.stages.spectrum import SpectrumParams  # noqa: E402
from rtaudio.testing import tone  # noqa: E402
from rtaudio.viz import render  # noqa: E402
from rtaudio.viz.colormap import lightness, lut  # noqa: E402
from rtaudio.viz.model import DisplayModel, ViewParams  # noqa: E402
from rtaudio.viz.playback import WallClock, _Playout, resolve_output_device  # noqa: E402
from rtaudio.viz.sink import VizSink  # noqa: E402
from rtaudio.viz.switch import ScaleSwitchStage  # noqa: E402
from rtaudio.viz.window import Window  # noqa: E402

RATE = 48000
SIZE = (1280, 720)
BACKGROUND = {render.PANEL, render.GRID}  # what an empty bars plot is painted with


class Rig:
    """A window fed by real spectrum and levels stages (no engine: blocks are pushed by hand)."""

    def __init__(self, scale="octave", size=SIZE, mode="both"):
        self.switch = ScaleSwitchStage(SpectrumParams(scale=scale, hop=256, release_s=0.05), sample_rate=RATE)
        self.levels = LevelsStage(LevelsParams(hop_s=0.02), sample_rate=RATE, channels=1)
        self.sink = VizSink()
        info = SourceInfo(0, "test.wav", RATE, 1, "mono", None, True)
        self.sink.open(info)
        self.sink.emit([info])
        self.window = Window(self.sink, size=size, mode=mode, scale_switch=self.switch)
        self.index = 0

    def feed(self, x: np.ndarray, block: int = 1000) -> None:
        for i in range(0, len(x), block):
            frame = Frame(self.index, x[i : i + block, None], RATE)
            self.sink.emit(self.switch.process(frame) + self.levels.process(frame))
            self.index += len(x[i : i + block])

    def draw(self, frames: int = 2, dt: float = 1 / 60) -> None:
        for _ in range(frames):
            self.window.step(dt)

    @property
    def r(self):
        return self.window.renderer

    @property
    def pixels(self) -> np.ndarray:
        return pygame.surfarray.array3d(self.window.screen)  # (w, h, 3)

    def px(self, x: int, y: int) -> tuple:
        return tuple(int(v) for v in self.window.screen.get_at((int(x), int(y)))[:3])

    def bar_pixels(self, k: int) -> np.ndarray:
        """The pixels down the middle of band ``k``'s bar column, (height, 3)."""
        rect = self.r.band_rect(k)
        return self.pixels[rect.centerx, rect.top : rect.bottom]

    def lit(self, k: int) -> int:
        """How many pixels of band ``k``'s column are painted by a bar or a peak marker."""
        col = self.bar_pixels(k)
        return int(sum(tuple(int(v) for v in p) not in BACKGROUND for p in col))

    def close(self):
        self.window.close()


@pytest.fixture
def rig():
    made = []

    def make(**kw):
        made.append(Rig(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize("scale", ["octave", "mel"])
def test_tone_lights_its_band_and_not_an_octave_away(rig, scale):
    r = rig(scale=scale)
    r.feed(tone(1000.0, 0.5, RATE, amplitude=0.5))
    r.draw()
    model = r.window.model
    assert model.scale == scale
    k = model.band_of(1000.0)
    below, above = model.band_of(500.0), model.band_of(2000.0)
    assert below < k < above
    assert r.lit(k) > 0.8 * r.r.band_rect(k).height  # a -6 dB tone: a bar nearly to the top
    assert r.lit(below) == 0 and r.lit(above) == 0
    # the waterfall's newest column: bright at 1 kHz, dark an octave either way
    wf = r.r.waterfall_plot
    n = model.n_bands

    def row(band):
        return wf.bottom - 1 - round(band / (n - 1) * (wf.height - 1))

    x = wf.right - 2
    light = [lightness(np.array(r.px(x, row(b)))) for b in (below, k, above)]
    assert light[1] > 80 and light[0] < 20 and light[2] < 20, light


def test_silence_draws_no_bars(rig):
    r = rig()
    r.feed(np.zeros(RATE // 2, np.float32))
    r.draw()
    assert r.window.model.n_bands > 50
    assert all(r.lit(k) == 0 for k in range(r.window.model.n_bands))
    assert r.px(*r.r.lamp_center) == render.LAMP_OFF


def test_bars_fall_smoothly_after_the_tone_stops(rig):
    r = rig()
    r.feed(tone(1000.0, 0.5, RATE))
    r.draw()
    k = r.window.model.band_of(1000.0)
    full = r.lit(k)
    r.feed(np.zeros(RATE // 10, np.float32))
    heights = []
    for _ in range(6):
        r.draw(frames=3)
        heights.append(r.lit(k))
    assert full > heights[0] and all(a >= b for a, b in pairwise(heights)) and heights[-1] < full / 2, (
        full,
        heights,
    )


def test_speech_events_light_and_darken_the_lamp(rig):
    r = rig()
    r.feed(np.zeros(4800, np.float32))
    r.draw()
    assert r.px(*r.r.lamp_center) == render.LAMP_OFF
    r.sink.emit([SpeechStart(2400, 0.9)])
    r.draw()
    assert r.px(*r.r.lamp_center) == render.LAMP_ON
    r.sink.emit([SpeechEnd(4800)])
    r.draw()
    assert r.px(*r.r.lamp_center) == render.LAMP_OFF


def _bright(pixels: np.ndarray, level: int) -> int:
    return int((pixels.min(axis=-1) >= level).sum())


def test_captions_partial_then_final(rig):
    r = rig()
    r.feed(np.zeros(4800, np.float32))
    r.draw()
    cap = r.r.captions

    def region():
        return r.pixels[cap.left : cap.right, cap.top : cap.bottom]

    assert _bright(region(), 175) == 0  # only the dim hint
    r.sink.emit([PartialTranscript(4800, "hello wor")])
    r.draw()
    partial = region()
    assert _bright(partial, 175) > 50 and _bright(partial, 215) == 0  # grey text: a partial caption
    r.sink.emit([Transcript(0, 4800, "Hello world, this is a caption.")])
    r.draw()
    final = region()
    assert _bright(final, 215) > 100  # white text: the final line
    assert r.window.model.partial == "" and list(r.window.model.captions) == ["Hello world, this is a caption."]


def test_language_tempo_and_key_moments_appear(rig):
    r = rig()
    r.feed(np.zeros(RATE, np.float32))
    r.draw()
    info = r.r.info_panel
    before = r.pixels[info.left : info.right, info.top : info.bottom].copy()
    t = r.index
    r.sink.emit(
        [
            Language(t, "de", 0.82, (("de", 0.82), ("nl", 0.1))),
            Tempo(t, 128.0, 0.9),
            KeyMoment(t, "downbeat", 1.0),
            KeyMoment(t - RATE // 2, "section", 0.9, "chorus"),
        ]
    )
    r.draw(frames=1)
    after = r.pixels[info.left : info.right, info.top : info.bottom]
    assert (np.abs(after.astype(int) - before).sum(axis=-1) > 60).sum() > 300  # language and tempo text
    model = r.window.model
    assert model.language.language == "de"
    assert model.beat_pulse == pytest.approx(math.exp(-(1 / 60) / model.view.beat_decay_s), rel=1e-6)
    # the beat pulse fades, whatever the frame rate: 0.3 s later it is e^-2 of its start
    r.draw(frames=18, dt=1 / 60)
    assert model.beat_pulse == pytest.approx(math.exp(-(0.3 + 1 / 60) / model.view.beat_decay_s), rel=1e-6)
    # the section tick sits 0.5 s left of the strip's right edge, in its colour
    s = r.r.strip
    x = s.right - 1 - 0.5 * model.view.waterfall_px_per_s
    colors = {r.px(x + dx, s.bottom - 3) for dx in (-1, 0, 1)}
    assert render.MOMENT_COLORS["section"] in colors, colors


def test_animations_do_not_depend_on_the_frame_rate():
    tone_frame = SpectrumParams(hop=256)
    from rtaudio.stages.spectrum import SpectrumStage

    stage = SpectrumStage(tone_frame, sample_rate=RATE)
    events = stage.process(Frame(0, tone(1000.0, 0.2, RATE)[:, None], RATE))
    results = []
    for fps in (30, 60, 144):
        model = DisplayModel()
        for e in events:
            model.apply(e)
        model.apply(
            type(events[-1])(
                t=events[-1].t + 256, bands_db=np.full(model.n_bands, -120.0), peaks_db=np.full(model.n_bands, -120.0)
            )
        )
        for _ in range(fps * 3 // 2):  # 1.5 s
            model.advance(1.0 / fps)
        results.append((model.shown.copy(), model.peaks.copy()))
    for shown, peaks in results[1:]:
        np.testing.assert_allclose(shown, results[0][0], atol=1e-9)
        np.testing.assert_allclose(peaks, results[0][1], atol=1e-9)
    k = int(np.argmax(results[0][1]))
    v = ViewParams()
    top = events[-1].bands_db[k]
    assert results[0][1][k] == pytest.approx(top - 0.5 * v.peak_gravity_db_s2 * (1.5 - v.peak_hold_s) ** 2)


def test_keys_switch_mode_freeze_and_scale(rig):
    r = rig()
    r.feed(tone(1000.0, 0.3, RATE))
    r.draw()
    w = r.window
    for key, mode in ((pygame.K_1, "bars"), (pygame.K_2, "waterfall"), (pygame.K_3, "both")):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        r.draw(frames=1)
        assert r.r.mode == mode
        assert (r.r.bars_plot is None) == (mode == "waterfall") and (r.r.waterfall_plot is None) == (mode == "bars")
    k = w.model.band_of(1000.0)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" ", scancode=0))
    r.feed(np.zeros(RATE // 2, np.float32))
    r.draw(frames=30)
    assert w.model.frozen and r.lit(k) > 0.8 * r.r.band_rect(k).height  # frozen: the bar stays
    w.key(pygame.K_SPACE)
    r.draw(frames=30)
    assert tuple(r.bar_pixels(k)[-3]) in BACKGROUND and r.lit(k) <= 2  # thawed: no bar, only its peak marker
    n_octave = w.model.n_bands
    w.key(pygame.K_m)
    r.feed(tone(1000.0, 0.1, RATE))
    r.draw()
    assert w.model.scale == "mel" and w.model.n_bands == 64 != n_octave
    assert r.lit(w.model.band_of(1000.0)) > 0


@pytest.mark.parametrize("size", [(640, 400), (1920, 1080), (320, 200)])
def test_window_survives_a_resize(rig, size):
    r = rig()
    r.feed(tone(1000.0, 0.5, RATE))
    r.draw()
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=size, w=size[0], h=size[1]))
    r.draw()
    assert r.window.screen.get_size() == size and r.r.size == size
    k = r.window.model.band_of(1000.0)
    assert r.lit(k) > 0.5 * r.r.band_rect(k).height
    assert r.lit(r.window.model.band_of(500.0)) == 0
    wf = r.r.waterfall_plot
    assert wf.right <= size[0] and r.r.captions.bottom <= size[1]
    n = r.window.model.n_bands  # the waterfall kept its history: the tone's row is still bright
    y = wf.bottom - 1 - round(k / (n - 1) * (wf.height - 1))
    column = lightness(r.pixels[wf.right - 3, wf.top : wf.bottom])
    assert abs(wf.top + int(np.argmax(column)) - y) <= 1 and column.max() > 40, (y, column)


def test_sink_orders_by_display_time_and_drops_when_far_behind():
    sink = VizSink(spectrum_lead=1024, max_events=5)
    from rtaudio.events import Levels, SpectrumFrame

    spec = SpectrumFrame(t=5000, bands_db=np.zeros(3), peaks_db=np.zeros(3))
    lev = Levels(4500, -6.0, -9.0, -10.0, -10.0)
    sink.emit([lev, spec])  # the engine's order; the spectrum frame is due earlier (5000 - 1024)
    assert sink.due(4000) == [spec]
    assert sink.due(4499) == [] and sink.due(4500) == [lev]
    sink.emit([Levels(t, -6.0, -9.0, -10.0, -10.0) for t in range(10)])
    assert sink.dropped == 5 and [e.t for e in sink.due(None)] == [5, 6, 7, 8, 9]


def test_colormap_is_perceptual():
    for name in ("magma", "viridis"):
        table = lut(name, 256)
        assert table.shape == (256, 3) and table.dtype == np.uint8
        light = lightness(table)  # brighter for more, monotonically (8-bit rounding may repeat an entry)
        assert np.all(np.diff(light) >= 0) and np.all(np.diff(light[::4]) > 0), name
    mpl = pytest.importorskip("matplotlib")
    for name, tol in (("magma", 3), ("viridis", 6)):
        ref = np.round(np.asarray(mpl.colormaps[name](np.linspace(0, 1, 256)))[:, :3] * 255)
        assert np.abs(lut(name, 256).astype(int) - ref).max() <= tol, name
    with pytest.raises(ParameterError, match="colormap='jet' must be one of magma, viridis"):
        lut("jet")


def test_playout_copies_from_the_ring_and_counts_underruns():
    """The output callback fills PortAudio's buffer from the engine's Ring type, zeros where it ran dry."""
    ring = Ring(8, 2)
    play = _Playout(ring)
    when = SimpleNamespace(outputBufferDacTime=2.0, currentTime=1.9)
    block = np.arange(12, dtype=np.float32).reshape(6, 2)
    ring.write(block)
    out = np.full((4, 2), 9.0, np.float32)
    play(out, 4, when, None)
    assert play.mark == (0, 4, 2.0, 1.9) and np.array_equal(out, block[:4]) and play.underruns == 0
    ring.write(block)  # wraps around the end
    out = np.full((10, 2), 9.0, np.float32)
    play(out, 10, when, None)
    assert play.mark[:2] == (4, 8) and play.underruns == 1
    assert np.array_equal(out[:2], block[4:]) and np.array_equal(out[2:8], block) and not out[8:].any()
    ring.close()  # the end of the audio: a dry callback is not an underrun, and keeps the last mark
    play(out, 10, when, None)
    assert play.underruns == 1 and play.mark[:2] == (4, 8) and not out.any()


def test_wall_clock_paces_and_tells_the_time():
    clock = WallClock(1000, lead_s=0.05)
    assert clock.heard() is None
    t0 = time.perf_counter()
    for _ in range(10):
        assert clock.write(np.zeros((20, 1), np.float32), lambda: False)
    assert time.perf_counter() - t0 >= 0.14  # 0.2 s of audio written 0.05 s ahead
    assert 140 <= clock.heard() <= 200
    clock.finish()
    time.sleep(0.07)
    assert clock.drained


def test_output_device_names():
    devices = [
        {"index": 0, "name": "HDA Intel: ALC", "hostapi": "ALSA", "max_output_channels": 2, "default_output": False},
        {
            "index": 1,
            "name": "system",
            "hostapi": "JACK Audio Connection Kit",
            "max_output_channels": 2,
            "default_output": True,
        },
        {"index": 2, "name": "mic", "hostapi": "ALSA", "max_output_channels": 0, "default_output": False},
    ]
    assert resolve_output_device(None, devices)["index"] == 1
    assert resolve_output_device("jack", devices)["index"] == 1 and resolve_output_device("0", devices)["index"] == 0
    with pytest.raises(
        DeviceError,
        match=r"output device 'usb' not found; output devices: 0 'HDA Intel: ALC' "
        r"\(ALSA, 2 out\), 1 'system'",
    ):
        resolve_output_device("usb", devices)
    with pytest.raises(DeviceError, match="output device 2 does not exist or cannot play"):
        resolve_output_device(2, devices)
    assert resolve_output_device(None, devices[2:]) is None


# -- the commands ------------------------------------------------------------------------------


def cli(*args, env=None, timeout=90):
    proc = subprocess.run([sys.executable, "-m", "rtaudio.cli", *args], capture_output=True, timeout=timeout, env=env)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def no_display_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER")
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def tone_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("window") / "tone.wav"
    x = tone(1000.0, 2.0, RATE, amplitude=0.5)
    sf.write(path, np.stack([x, x], axis=1), RATE)
    return path


def lit_in_screenshot(path, freq_hz: float) -> tuple[float, float]:
    """Fractions of the bar column lit in the band holding ``freq_hz`` and an octave below, in a saved frame."""
    rig = Rig()
    try:
        rig.feed(np.zeros(4096, np.float32))
        rig.draw(frames=1)
        shot = pygame.image.load(os.fspath(path))
        assert shot.get_size() == SIZE
        rig.window.screen.blit(shot, (0, 0))
        k = rig.window.model.band_of(freq_hz)
        height = rig.r.band_rect(k).height
        return rig.lit(k) / height, rig.lit(rig.window.model.band_of(freq_hz / 2)) / height
    finally:
        rig.close()


@pytest.mark.slow
def test_play_without_display_says_so(tone_wav):
    code, _, err = cli("play", str(tone_wav), "--no-audio", env=no_display_env())
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        "rtaudio: error: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set); render "
        "headless with --screenshot PATH --duration S, or watch in the terminal with: rtaudio monitor"
    )


@pytest.mark.slow
def test_play_screenshot_headless(tone_wav, tmp_path):
    shot = tmp_path / "shot.png"
    code, _, err = cli(
        "play", str(tone_wav), "--no-audio", "--screenshot", str(shot), "--duration", "1.0", env=no_display_env()
    )
    assert code == 0, err
    assert "window:" in err and f"screenshot in {shot}" in err
    lit, octave_below = lit_in_screenshot(shot, 1000.0)
    # the tone's band stands high and dominates; the octave below stays low (an xrun under load is a click,
    # which lights neighbouring bands for a moment, so "exactly dark" would depend on the machine's load)
    assert lit > 0.8 and octave_below < lit / 2, (lit, octave_below)  # a -6 dB tone: a bar nearly to the top


@pytest.mark.slow
def test_play_without_output_device_says_so_and_still_draws(tone_wav, tmp_path):
    env = no_display_env(JACK_DEFAULT_SERVER="rtaudio-no-such-server", JACK_NO_START_SERVER="1")
    probe = subprocess.run(
        [sys.executable, "-c", "from rtaudio.viz.playback import output_devices; print(len(output_devices()))"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    if probe.stdout.strip() != b"0":
        pytest.skip("this machine has an audio output device")
    shot = tmp_path / "shot.png"
    code, _, err = cli("play", str(tone_wav), "--screenshot", str(shot), "--duration", "1.2", env=env)
    assert code == 0, err
    notice = [line for line in err.splitlines() if line.startswith("rtaudio:")]
    assert notice == ["rtaudio: no audio output device found: showing the picture without sound, paced by the clock"]
    assert lit_in_screenshot(shot, 1000.0)[0] > 0.8


@pytest.mark.parametrize(
    "args, message",
    [
        (["play", "{wav}", "--size", "big"], "--size='big' must be WIDTHxHEIGHT in pixels, e.g. 1280x720"),
        (["play", "{wav}", "--screenshot", "x.jpg"], "--screenshot='x.jpg' must be a .png file"),
        (["play", "http://example.org/a.mp3"], "play takes a file; for streams and stdin use: rtaudio live"),
        (
            ["play", "{wav}", "--no-audio", "--screenshot", "/nonexistent-dir/x.png", "--duration", "0.2"],
            "--screenshot='/nonexistent-dir/x.png' cannot be written",
        ),
        (["live"], "live needs an input: --device D (see: rtaudio devices), --url U, or a file"),
        (
            ["live", "--url", "http://127.0.0.1:9/x", "--screenshot", "x.png"],
            "--screenshot of live input needs --duration S (when to take it)",
        ),
        (
            ["play", "{wav}", "--output-device", "no-such-card"],
            "output device 'no-such-card' not found; output devices:",
        ),
    ],
)
def test_bad_window_arguments(tone_wav, args, message):
    env = no_display_env(JACK_DEFAULT_SERVER="rtaudio-no-such-server", JACK_NO_START_SERVER="1")
    code, _, err = cli(*[a.replace("{wav}", str(tone_wav)) for a in args], env=env)
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("rtaudio: error: ") and message in err, err


def test_live_file_screenshot(tone_wav, tmp_path):
    shot = tmp_path / "live.png"
    code, _, err = cli(
        "live", str(tone_wav), "--screenshot", str(shot), "--duration", "0.8", "--mode", "bars", env=no_display_env()
    )
    assert code == 0, err
    assert shot.stat().st_size > 10_000


# -- through a real JACK server ---------------------------------------------------------------


class Recorder:
    """A JACK client recording what arrives on its two input ports."""

    def __init__(self, server):
        self.client = server.client("rtaudio-test-recorder")
        self.ports = [self.client.inports.register(f"in_{i}") for i in range(2)]
        self.blocks: list[np.ndarray] = []
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        self.blocks.append(np.stack([p.get_array().copy() for p in self.ports], axis=1))

    def audio(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros((0, 2), np.float32)

    def close(self):
        self.client.deactivate()
        self.client.close()


@pytest.mark.slow
@pytest.mark.jack
@pytest.mark.parametrize("rate, channels", [(48000, 2), (44100, 1)], ids=["48k-stereo", "44k1-mono-resampled"])
def test_play_through_jack(jack_server, tmp_path, rate, channels):
    tone_wav = tmp_path / "tone.wav"
    x = tone(1000.0, 2.0, rate, amplitude=0.5)
    sf.write(tone_wav, np.stack([x] * channels, axis=1), rate)
    rec = Recorder(jack_server)
    probe = jack_server.client("rtaudio-test-window-probe")
    shot = tmp_path / "jack.png"
    env = no_display_env(JACK_DEFAULT_SERVER=jack_server.name)
    before = {p.name for p in probe.get_ports(is_output=True, is_audio=True)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtaudio.cli",
            "play",
            str(tone_wav),
            "--output-device",
            "jack",
            "--screenshot",
            str(shot),
        ],
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        ours = []
        while len(ours) < 2 and time.monotonic() < deadline and proc.poll() is None:
            ours = sorted(p.name for p in probe.get_ports(is_output=True, is_audio=True) if p.name not in before)
            time.sleep(0.01)
        if len(ours) < 2:
            proc.kill()
            pytest.fail(
                f"the player's JACK output ports did not appear ({ours}); its stderr: {proc.communicate()[1].decode()}"
            )
        for out, port in zip(ours, rec.ports, strict=True):
            probe.connect(out, port)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        rec.close()
        probe.close()
    err = err.decode()
    assert proc.returncode == 0, err
    assert "no audio output" not in err and "end: 2.0 s of audio" in err, err
    heard = rec.audio()  # at the JACK server's rate, whatever the file's
    for ch in range(2):  # a mono file plays on both channels
        loud = np.flatnonzero(np.abs(heard[:, ch]) > 0.1)
        assert len(loud) > 0.5 * RATE, f"less than 0.5 s of the 2 s tone reached the recorder's channel {ch}"
        seg = heard[loud[0] : loud[-1], ch]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        assert abs(np.argmax(spectrum) * RATE / len(seg) - 1000.0) < 5.0
    assert np.abs(heard).max() == pytest.approx(0.5, abs=0.01)  # played at the file's level, not clipped
    lit, octave_below = lit_in_screenshot(shot, 1000.0)  # the last frame: the tone's end, still falling
    assert lit > 0 and octave_below == 0


class TonePlayer:
    """A JACK client playing a steady 1 kHz sine at -6 dBFS on one output port."""

    def __init__(self, server):
        self.client = server.client("rtaudio-test-tone")
        self.port = self.client.outports.register("out")
        self.phase = 0
        self.rate = self.client.samplerate
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        n = np.arange(self.phase, self.phase + frames)
        self.port.get_array()[:] = 0.5 * np.sin(2 * np.pi * 1000.0 * n / self.rate)
        self.phase += frames

    def close(self):
        self.client.deactivate()
        self.client.close()


@pytest.mark.jack
def test_live_device_through_jack(jack_server, tmp_path):
    player = TonePlayer(jack_server)
    probe = jack_server.client("rtaudio-test-window-probe-live")
    shot = tmp_path / "live.png"
    before = {p.name for p in probe.get_ports(is_input=True, is_audio=True)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rtaudio.cli",
            "live",
            "--device",
            str(jack_server.device),
            "--channels",
            "1",
            "--screenshot",
            str(shot),
            "--duration",
            "120",  # an upper bound: the test stops it with Ctrl-C once the tone is steady
        ],
        stderr=subprocess.PIPE,
        # a hang dumps every thread's stack to stderr on SIGABRT (see below)
        env=no_display_env(JACK_DEFAULT_SERVER=jack_server.name, PYTHONFAULTHANDLER="1"),
        # started as a script's background job is: with SIGINT ignored, which Python then leaves ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 30
        ours = []
        while not ours and time.monotonic() < deadline and proc.poll() is None:
            ours = [p.name for p in probe.get_ports(is_input=True, is_audio=True) if p.name not in before]
            time.sleep(0.01)
        if not ours:
            proc.kill()
            pytest.fail(f"the analyzer's JACK input port did not appear; its stderr: {proc.communicate()[1].decode()}")
        probe.connect(player.port, ours[0])
        # steady state, whatever the load: 2 s of tone delivered by JACK (counted in its frames, not wall time)
        start = player.phase
        while player.phase - start < 2 * player.rate and time.monotonic() < deadline + 60 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # the window stops and saves its last frame
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler writes where each thread is
            try:
                err = proc.communicate(timeout=10)[1]
            except subprocess.TimeoutExpired:
                proc.kill()
                err = proc.communicate()[1]
            pytest.fail(f"live did not stop within 60 s of Ctrl-C; its stderr: {err.decode()}")
    finally:
        if proc.poll() is None:
            proc.kill()
        player.close()
        probe.close()
    err = err.decode()
    assert proc.returncode == 0, err
    assert "stopped:" in err and "window:" in err, err
    lit, octave_below = lit_in_screenshot(shot, 1000.0)
    # the tone's band stands high and dominates; the octave below stays low (an xrun under load is a click,
    # which lights neighbouring bands for a moment, so "exactly dark" would depend on the machine's load)
    assert lit > 0.8 and octave_below < lit / 2, (lit, octave_below)

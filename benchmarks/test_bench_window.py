"""The window: render cost per frame, whether it holds 60 fps, and audio-to-pixel latency through JACK.

Run explicitly (``benchmarks/`` is not a test path)::

    .venv/bin/python -m pytest benchmarks/test_bench_window.py --benchmark-only -s

Everything draws headless (SDL's ``dummy`` video driver): ``display.flip`` costs almost nothing
there, so on a real display add the copy to the screen (and the compositor's frame) to the figures.

* **render cost** (group ``window-frame``): one display frame of the full window (bars, waterfall,
  strip, meters, speech, captions, language, tempo) fed by the real spectrum and levels stages on
  music-like audio, 1/60 s of audio per frame; against the floor of any pygame frame (fill + flip)
  at the same size, in the same run.  ``extra_info``: median wall ms per frame, main-thread CPU ms
  per frame (``time.thread_time``), and the fraction of one core that costs at 60 fps.
* **holds 60 fps**: ``play``'s whole chain in this process (file pump paced by the clock, engine
  reader thread, window in the main thread) for 6 s: frames drawn, measured fps, dropped frames.
* **live latency** (JACK, 48 kHz, 256-frame periods): a JACK client plays a click into the
  analyzer's input; the time from the cycle that carries it to the flip of the first frame whose
  1.5 kHz bar is lit.  Goal: under 40 ms.
* **playback sync** (JACK): ``play``'s chain plays a file of clicks to a JACK client that notes
  when each click passes through JACK; the offset from there to the flip of the first frame that
  shows it.  The window aims the picture at the click's DAC time (what PortAudio reports, here two
  periods after the cycle) to within half a frame.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from rtaudio.engine import LIVE_QUANTUM_S, Engine  # noqa: E402
from rtaudio.events import KeyMoment, Language, PartialTranscript, SourceInfo, SpeechStart, Tempo, Transcript  # noqa: E402
from rtaudio.sinks import ListSink  # noqa: E402
from rtaudio.stages.base import Frame  # noqa: E402
from rtaudio.stages.levels import LevelsParams, LevelsStage  # noqa: E402
from rtaudio.stages.spectrum import SpectrumParams  # noqa: E402
from rtaudio.testing import beat_and_chords, clicks, noise  # noqa: E402
from rtaudio.viz import render  # noqa: E402
from rtaudio.viz.sink import VizSink  # noqa: E402
from rtaudio.viz.switch import ScaleSwitchStage  # noqa: E402
from rtaudio.viz.window import (
    WINDOW_DEFAULTS,  # noqa: E402
    Window,  # noqa: E402
)

# The session JACK server fixture lives in tests/conftest.py (outside this folder): load it here.
_spec = importlib.util.spec_from_file_location(
    "rtaudio_tests_conftest", Path(__file__).resolve().parents[1] / "tests" / "conftest.py"
)
_conftest = sys.modules.get(_spec.name)
if _conftest is None:
    _conftest = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_conftest)
jack_server = _conftest.jack_server

RATE = 48000
FPS = 60
GOAL_MS = 40.0
BACKGROUND = {render.PANEL, render.GRID}
CLICK_HZ = 1500.0  # rtaudio.testing.clicks: decaying 1.5 kHz blips


def window_stages(rate=RATE, channels=1):
    params = SpectrumParams(**WINDOW_DEFAULTS["spectrum"])
    switch = ScaleSwitchStage(params, sample_rate=rate)
    levels = LevelsStage(LevelsParams(**WINDOW_DEFAULTS["levels"]), sample_rate=rate, channels=channels)
    for stage in (switch, levels):  # load the numba kernels outside the timing
        stage.process(Frame(0, np.zeros((params.n_fft, channels), np.float32), rate))
        stage.reset()
    return [switch, levels], switch, params.n_fft // 2


def thread_cpu_ms(times):
    return float(np.median(np.asarray(times)) * 1e3)


# -- render cost -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def music_events():
    seconds = 24.0
    x = beat_and_chords(seconds, RATE) + noise(seconds, RATE, 0.003)
    stages, _, _ = window_stages()
    events = [SourceInfo(0, "music.wav", RATE, 1, "mono", seconds, False)]
    for i in range(0, len(x), 1024):
        frame = Frame(i, x[i : i + 1024, None], RATE)
        for stage in stages:
            events += stage.process(frame)
    beat = RATE // 2
    events += [KeyMoment(k * beat, "downbeat" if k % 4 == 0 else "beat", 0.9) for k in range(int(seconds * 2))]
    events += [
        SpeechStart(RATE, 0.9),
        Language(2 * RATE, "en", 0.93, (("en", 0.93), ("de", 0.04))),
        Tempo(2 * RATE, 120.0, 0.9),
    ]
    for k in range(1, int(seconds) // 2):
        events.append(PartialTranscript(2 * k * RATE, f"partial words of line {k}"))
        events.append(
            Transcript(
                2 * k * RATE - RATE,
                2 * k * RATE + RATE // 2,
                f"Caption line number {k}, a sentence of ordinary length.",
            )
        )
    return events


def _frame_loop(size, events):
    sink = VizSink(spectrum_lead=1024)
    sink.open(events[0])
    sink.emit(events)
    clock = [0.0]
    window = Window(sink, size=size, clock=lambda: clock[0])
    cpu = []

    def frame():
        c0 = time.thread_time()
        clock[0] += RATE / FPS
        window.step(1.0 / FPS)
        cpu.append(time.thread_time() - c0)

    for _ in range(3 * FPS):  # fill the waterfall a little, warm the text cache, show the first caption (3 s)
        frame()
    cpu.clear()
    return window, frame, cpu


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
@pytest.mark.benchmark(group="window-frame")
def test_render_full_window(benchmark, bench_stats, size, music_events):
    window, frame, cpu = _frame_loop(size, music_events)
    benchmark.pedantic(frame, rounds=900, iterations=1)
    cpu_ms = thread_cpu_ms(cpu)
    benchmark.extra_info.update(
        size=f"{size[0]}x{size[1]}",
        cpu_ms_per_frame=round(cpu_ms, 3),
        core_fraction_at_60fps=round(cpu_ms * FPS / 1e3, 3),
    )
    if stats := bench_stats(benchmark):
        benchmark.extra_info["median_ms"] = round(stats.median * 1e3, 3)
        print(
            f"\nfull window {size[0]}x{size[1]}: median {stats.median * 1e3:.2f} ms per frame, main-thread CPU "
            f"{cpu_ms:.2f} ms -> {cpu_ms * FPS / 10:.1f} % of one core at {FPS} fps"
        )
    assert window.model.n_bands == 60 and window.model.captions
    window.close()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
@pytest.mark.benchmark(group="window-frame")
def test_render_baseline_fill_flip(benchmark, bench_stats, size):
    pygame.display.init()
    screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    cpu = []

    def frame():
        c0 = time.thread_time()
        screen.fill(render.BG)
        pygame.display.flip()
        cpu.append(time.thread_time() - c0)

    benchmark.pedantic(frame, rounds=900, iterations=1)
    cpu_ms = thread_cpu_ms(cpu)
    benchmark.extra_info.update(
        size=f"{size[0]}x{size[1]}",
        cpu_ms_per_frame=round(cpu_ms, 3),
        core_fraction_at_60fps=round(cpu_ms * FPS / 1e3, 3),
    )
    if stats := bench_stats(benchmark):
        benchmark.extra_info["median_ms"] = round(stats.median * 1e3, 3)
    pygame.display.quit()


# -- holds 60 fps with the engine running -------------------------------------------------------


#: stages of the 60 fps runs: the window's own (the baseline), and with speech, language and captions from
#: Whisper (placed as ``play`` places them: WINDOW_PLACEMENT, the recognisers in child processes)
#: ``whisper_nice0``: the same with Whisper's child processes at the parent's priority
#: (``BackgroundProxy.nice = 0``, as before it existed), the baseline of that change in the same run
CHAINS = {
    "window": ["levels"],
    "whisper": ["levels", "vad", "lid", "stt"],
    "whisper_nice0": ["levels", "vad", "lid", "stt"],
}
WHISPER_CONFIG = {"stt": {"engine": "whisper"}, "lid": {"backend": "whisper"}}


def _talk(seconds: float) -> np.ndarray:
    from rtaudio.testing import speech

    parts = []
    for text in (
        "the committee will meet again on thursday to discuss the new budget",
        "the mayor said that she expects a long and difficult meeting",
        "open the window please",
    ):
        parts += [speech(text, RATE), np.zeros(RATE // 2, np.float32)]
    return np.resize(np.concatenate(parts), int(seconds * RATE))


@pytest.mark.benchmark(group="window-60fps")
@pytest.mark.parametrize("chain", list(CHAINS))
def test_play_chain_holds_60_fps(benchmark, tmp_path, chain, monkeypatch):
    """``play``'s chain for ``SECONDS`` s on speech; ``whisper`` adds vad, lid and stt on Whisper (skips without it)."""
    from rtaudio.sources.av import FileSource
    from rtaudio.stages import build_stages
    from rtaudio.viz.playback import PlaybackSource, WallClock
    from rtaudio.viz.window import WINDOW_PLACEMENT

    if chain == "whisper_nice0":
        monkeypatch.setattr("rtaudio.worker.BackgroundProxy.nice", 0)
    seconds = 12.0
    path = tmp_path / "talk.wav"
    x = _talk(seconds) + noise(seconds, RATE, 0.003)
    sf.write(path, np.stack([x, x], 1), RATE)
    inner = FileSource(str(path))
    clock = WallClock(inner.rate)
    stages, switch, lead = window_stages(channels=2)
    names = CHAINS[chain][1:]
    if names:
        from rtaudio.models.whisper import resolve_whisper

        try:
            resolve_whisper()
        except Exception as exc:  # noqa: BLE001 - the reason is shown
            pytest.skip(f"no Whisper model: {exc}")
        stages += build_stages(
            names,
            sample_rate=RATE,
            channels=2,
            config=WHISPER_CONFIG,
            placement={k: v for k, v in WINDOW_PLACEMENT.items() if k in names},
        )
    sink = VizSink(spectrum_lead=lead)
    window = Window(sink, size=(1280, 720), fps=FPS, clock=clock.heard, scale_switch=switch)
    flips: list[float] = []
    window.on_frame = lambda _w, flipped: flips.append(flipped)
    seen = ListSink()
    engine = Engine(PlaybackSource(inner, clock), stages, [sink, seen], quantum=round(LIVE_QUANTUM_S * RATE))
    cpu0, wall0 = time.process_time(), time.perf_counter()

    def run():
        return window.run(engine, duration=seconds)

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    wall = time.perf_counter() - wall0
    process_cpu = (time.process_time() - cpu0) / wall
    draw_ms = float(np.median(window.frame_times) * 1e3)
    stop_s = time.perf_counter() - flips[-1]  # the last frame to the engine's end: what quitting waits for
    gaps = np.diff(np.asarray(flips[FPS:])) * 1e3  # after the first second
    load = os.getloadavg()[0]
    benchmark.extra_info.update(
        chain=",".join(["spectrum", *CHAINS[chain]]),
        frames=window.frames,
        fps=round((len(flips) - 1) / (flips[-1] - flips[0]), 2),
        dropped=window.dropped,
        longest_frame_gap_ms=round(float(gaps.max()), 1),
        draw_ms_median=round(draw_ms, 3),
        process_cores=round(process_cpu, 3),
        audio_dropped=result.dropped,
        stop_s=round(stop_s, 2),
        captions=sum(e.TYPE in ("transcript", "partial") for e in seen.events),
        languages=sum(e.TYPE == "language" for e in seen.events),
        load_1min=round(load, 2),
    )
    print(f"\nplay chain {chain}, {seconds:.0f} s, load {load:.1f}: {benchmark.extra_info}")
    window.close()
    assert result.dropped == 0


# -- latency through JACK -----------------------------------------------------------------------


class ClickPlayer:
    """A JACK client writing silence, or one click (``rtaudio.testing.clicks``) when :meth:`fire` is called."""

    def __init__(self, server):
        self.client = server.client("rtaudio-bench-clicker")
        self.port = self.client.outports.register("out")
        self.period = self.client.blocksize
        n = 4 * self.period
        self.click = clicks([0.0], n / self.client.samplerate, self.client.samplerate).reshape(4, self.period)
        self.fired: list[float] = []
        self._request = False
        self._left = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def fire(self):
        self._request = True

    def _process(self, frames):
        out = self.port.get_array()
        if self._request and self._left == 0:
            self._request = False
            self._left = 4
            self.fired.append(time.perf_counter())
        if self._left:
            out[:] = self.click[4 - self._left]
            self._left -= 1
        else:
            out.fill(0.0)

    def close(self):
        self.client.deactivate()
        self.client.close()


class BarWatch:
    """After each flip: is the bar of ``freq_hz`` lit up to ``level_db``? Records the flips where it lights up."""

    def __init__(self, freq_hz: float, level_db: float):
        self.freq_hz, self.level_db = freq_hz, level_db
        self.lit = False
        self.onsets: list[float] = []

    def __call__(self, window, flipped: float) -> None:
        model, r = window.model, window.renderer
        if not model.n_bands:
            return
        rect = r.band_rect(model.band_of(self.freq_hz))
        y = min(int(r._y_of_db(self.level_db, r.bars_plot)) + 1, rect.bottom - 2)
        lit = tuple(window.screen.get_at((rect.centerx, y))[:3]) not in BACKGROUND
        if lit and not self.lit:
            self.onsets.append(flipped)
        self.lit = lit


#: a click's 1.5 kHz band first shows (just above the -90 dB floor), and shows as a flash (above -40 dB;
#: it peaks at about -30 dB)
LEVELS_DB = (-89.0, -40.0)


def watches():
    both = [BarWatch(CLICK_HZ, level) for level in LEVELS_DB]

    def on_frame(window, flipped):
        for w in both:
            w(window, flipped)

    return both, on_frame


def _stats(ms: np.ndarray) -> dict:
    return dict(
        n=len(ms),
        median_ms=round(float(np.median(ms)), 2),
        p95_ms=round(float(np.percentile(ms, 95)), 2),
        min_ms=round(float(ms.min()), 2),
        max_ms=round(float(ms.max()), 2),
    )


def _wait_ports(probe, before, count, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        ports = sorted(p.name for p in probe.get_ports(is_audio=True) if p.name not in before)
        if len(ports) >= count:
            return ports
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.mark.jack
@pytest.mark.benchmark(group="window-latency")
def test_live_click_to_pixel_latency(benchmark, jack_server):
    from rtaudio.sources.device import DeviceSource

    bursts = 40
    stages, switch, _ = window_stages()
    sink = VizSink()
    window = Window(sink, size=(1280, 720), fps=FPS)
    (watch, flash), window.on_frame = watches()
    source = DeviceSource(jack_server.device, channels=1)
    engine = Engine(source, stages, [sink])
    probe = jack_server.client("rtaudio-bench-window-probe")
    player = ClickPlayer(jack_server)
    before = {p.name for p in probe.get_ports(is_input=True, is_audio=True)}
    engine.start()
    try:
        port = _wait_ports(
            probe, before | {p.name for p in probe.get_ports(is_output=True)}, 1, "the analyzer's JACK input port"
        )[0]
        probe.connect(player.port, port)

        flashes = []

        def run():
            rng = random.Random(0)
            latencies = []
            deadline = time.monotonic() + 120
            next_fire = time.perf_counter() + 0.5
            waiting = False
            while len(latencies) < bursts and time.monotonic() < deadline:
                window.step()
                now = time.perf_counter()
                if waiting and len(watch.onsets) > len(latencies) and len(flash.onsets) > len(latencies):
                    latencies.append(watch.onsets[len(latencies)] - player.fired[len(latencies)])
                    flashes.append(flash.onsets[len(latencies) - 1] - player.fired[len(latencies) - 1])
                    waiting = False
                    next_fire = now + 0.25 + rng.uniform(0.0, 0.1)  # the bar falls back; random phase
                elif not waiting and now >= next_fire and not watch.lit:
                    player.fire()
                    waiting = True
                window.wait_next()
            return latencies

        latencies = benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        engine.stop()
        player.close()
        probe.close()
    engine.join(10)
    window.close()
    ms = np.asarray(latencies) * 1e3
    stats = _stats(ms)
    flash_stats = _stats(np.asarray(flashes) * 1e3)
    benchmark.extra_info.update(
        stats,
        goal_ms=GOAL_MS,
        goal_met=stats["p95_ms"] < GOAL_MS,
        flash=flash_stats,
        period=jack_server.period,
        rate=jack_server.rate,
        fps=FPS,
        dropped=window.dropped,
    )
    print(
        f"\nlive click -> pixel through JACK over {len(ms)} clicks: first visible median {stats['median_ms']} ms, "
        f"p95 {stats['p95_ms']} ms (min {stats['min_ms']}, max {stats['max_ms']}); as a flash (> -40 dB) "
        f"median {flash_stats['median_ms']} ms, p95 {flash_stats['p95_ms']} ms; goal < {GOAL_MS} ms; "
        f"{window.dropped} frames dropped"
    )
    assert len(ms) == bursts and (ms > 0).all()


class Recorder:
    """A JACK client noting, for each click passing through its input, ``perf_counter()`` at the click's sample."""

    def __init__(self, server):
        self.client = server.client("rtaudio-bench-window-ear")
        self.rate = self.client.samplerate
        self.port = self.client.inports.register("in")
        self.arrivals: list[float] = []
        self._quiet = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames):
        now = time.perf_counter()
        x = self.port.get_array()
        loud = np.flatnonzero(np.abs(x) > 0.05)
        if len(loud) and self._quiet >= frames * 8:
            self.arrivals.append(now + loud[0] / self.rate)
        self._quiet = 0 if len(loud) else self._quiet + frames

    def close(self):
        self.client.deactivate()
        self.client.close()


@pytest.mark.jack
@pytest.mark.benchmark(group="window-latency")
def test_playback_click_to_pixel_sync(benchmark, jack_server, tmp_path):
    from rtaudio.sources.av import FileSource
    from rtaudio.viz.playback import PlaybackSource, open_output

    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.3, 0.45, 40)) + 0.5
    path = tmp_path / "clicks.wav"
    sf.write(path, clicks(times, float(times[-1] + 1.0), RATE), RATE)
    inner = FileSource(str(path))
    probe = jack_server.client("rtaudio-bench-window-probe2")
    before = {p.name for p in probe.get_ports(is_audio=True)}
    ear = Recorder(jack_server)
    before |= {p.name for p in ear.client.get_ports(is_audio=True)}
    player, why = open_output("jack", rate=inner.rate, channels=inner.channels)
    assert player is not None, why
    stages, switch, lead = window_stages()
    sink = VizSink(spectrum_lead=lead)
    window = Window(sink, size=(1280, 720), fps=FPS, clock=player.heard)
    (watch, flash), watch_frame = watches()
    dac_lead = []

    def on_frame(w, flipped):
        watch_frame(w, flipped)
        mark = player._playout.mark
        if mark is not None:
            dac_lead.append(mark[2] - mark[3])

    window.on_frame = on_frame
    engine = Engine(PlaybackSource(inner, player), stages, [sink])
    try:
        ports = _wait_ports(probe, before, 2, "the player's JACK output ports")
        outs = [p for p in ports if "out" in p.split(":")[-1]]
        probe.connect(outs[0], ear.port)

        def run():
            return window.run(engine, done=lambda: player.drained)

        benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        player.close()
        ear.close()
        probe.close()
    window.close()
    arrivals = np.asarray(ear.arrivals)
    assert len(arrivals) == len(times), (len(arrivals), len(times))
    dac_ms = float(np.median(dac_lead) * 1e3)
    results = {}
    for name, w in (("first_visible", watch), ("flash", flash)):
        onsets = np.asarray(w.onsets)
        offsets = []  # each click: the first onset within 100 ms either side of it
        for a in arrivals:
            near = onsets[np.abs(onsets - a) < 0.1]
            if len(near):
                offsets.append(near[0] - a)
        ms = np.asarray(offsets) * 1e3
        results[name] = dict(_stats(ms), vs_dac=_stats(ms - dac_ms))
    benchmark.extra_info.update(
        results,
        clicks=len(times),
        dac_after_cycle_ms=round(dac_ms, 2),
        reported_latency_ms=round(player.latency * 1e3, 2),
        fps=FPS,
        frame_ms=round(1e3 / FPS, 2),
        dropped=window.dropped,
    )
    print(
        f"\nplayback, {len(times)} clicks; PortAudio puts the DAC {dac_ms:.2f} ms after the JACK cycle "
        f"(reported output latency {player.latency * 1e3:.2f} ms); {window.dropped} frames dropped"
    )
    for name, r in results.items():
        print(
            f"  {name}: {r['n']} shown; flip - click in JACK: median {r['median_ms']} ms, p95 {r['p95_ms']} ms "
            f"(min {r['min_ms']}, max {r['max_ms']}); flip - DAC time: median {r['vs_dac']['median_ms']} ms"
        )
    assert all(r["n"] == len(times) for r in results.values())

"""Make docs/window.png: the live window on synthesized audio (espeak-ng speech over a drum-and-chords loop).

    .venv/bin/python docs/window_screenshot.py [docs/window.png]

The audio is analysed first by the real stages (``spectrum`` and ``levels`` as the window runs
them, plus whichever of ``vad``, ``stt``, ``lid``, ``keys`` can be built here; the others are
skipped with a note), then the window plays the events back at real time, 60 frames per second,
paced by the clock exactly as ``rtaudio play --no-audio`` does, and saves its frame at ``AT_S``.
Analysing first keeps stages that hold the GIL for long stretches (pocketsphinx) from costing the
window frames, so the header's fps and dropped-frame counters show the window's own performance.
Nothing but synthesized audio is used.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from rtaudio.engine import Engine  # noqa: E402
from rtaudio.errors import RtaudioError  # noqa: E402
from rtaudio.sinks import ListSink  # noqa: E402
from rtaudio.sources.av import FileSource  # noqa: E402
from rtaudio.stages import build_stages  # noqa: E402
from rtaudio.stages.levels import LevelsParams, LevelsStage  # noqa: E402
from rtaudio.stages.spectrum import SpectrumParams  # noqa: E402
from rtaudio.testing import beat_and_chords, noise, speech  # noqa: E402
from rtaudio.viz.sink import VizSink  # noqa: E402
from rtaudio.viz.switch import ScaleSwitchStage  # noqa: E402
from rtaudio.viz.window import (
    WINDOW_DEFAULTS,  # noqa: E402
    Window,  # noqa: E402
)

RATE = 48000
SECONDS = 14.0
AT_S = 10.2  # the moment shown: the second sentence is being spoken
LINES = (
    (2.2, "Welcome back. Today we look at the spectrum of a drum loop."),
    (8.6, "Each kick lights up the low bands."),
)


def synthesize(path: str) -> None:
    x = 0.3 * beat_and_chords(SECONDS, RATE) + noise(SECONDS, RATE, 0.001)
    for start, text in LINES:
        s = speech(text, RATE)
        i = int(start * RATE)
        x[i : i + len(s)] += 0.9 * s[: len(x) - i]
    sf.write(path, np.stack([x, np.roll(x, 48)], axis=1), RATE)


def analyse(path: str):
    source = FileSource(path)
    stages = [
        ScaleSwitchStage(SpectrumParams(**WINDOW_DEFAULTS["spectrum"]), sample_rate=source.rate),
        LevelsStage(LevelsParams(**WINDOW_DEFAULTS["levels"]), sample_rate=source.rate, channels=source.channels),
    ]
    for name in ("vad", "stt", "lid", "keys"):
        try:
            stages += build_stages([name], sample_rate=source.rate, channels=source.channels)
        except RtaudioError as exc:
            print(f"skipping stage {name}: {exc}", file=sys.stderr)
    sink = ListSink()
    Engine(source, stages, [sink]).run()
    return sink.events, stages[0].params.n_fft // 2


def main(out: str = "docs/window.png") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "talk.wav")
        synthesize(wav)
        events, lead = analyse(wav)
    sink = VizSink(spectrum_lead=lead)
    sink.open(events[0])
    sink.emit(events)
    t0 = [None]

    def clock():
        if t0[0] is None:
            t0[0] = time.perf_counter()
        return (time.perf_counter() - t0[0]) * RATE

    window = Window(sink, size=(1280, 720), clock=clock, title="rtaudio play")
    while clock() < AT_S * RATE:
        window.step()
        window.wait_next()
    window.save(out)
    print(f"{out}: {window.frames} frames, {window.measured_fps:.1f} fps, {window.dropped} dropped", file=sys.stderr)
    window.close()


if __name__ == "__main__":
    main(*sys.argv[1:])

"""How far the spectrum falls behind real time while stt and lid decode, per placement of the slow stages.

Run: ``python -m pytest benchmarks/test_bench_lane.py --benchmark-only -s -p no:randomly``, or repeated:
``PYTHONPATH=. python benchmarks/test_bench_lane.py base process --repeat 3``.
20 s of espeak-ng speech with pauses at 48 kHz is played at real time (``ArraySource(realtime=True)``,
10 ms blocks) through the threaded :class:`~rtaudio.engine.Engine` with stages
``spectrum,levels,vad,lid,stt`` (pocketsphinx, onnx lid) and a 5 ms pipeline quantum, the slow stages
placed ``inline`` (the reader thread), ``thread`` (the pipeline's lane) or ``process`` (the lane, the
recognisers in child processes); ``process_late`` is ``process`` with ``lane_delay_s=0.1``, so that
the lane is often further behind than that (as it is behind 2 s on a loaded machine, where a decode
takes seconds) and the merge's policy shows; the baseline ``base`` runs ``spectrum,levels,vad`` alone (what the
machine's own load does to the same measurement, in the same session). A sink notes when each
spectrum frame arrives.

``extra_info``: ``stall_ms``, the longest lateness of a spectrum frame beyond the run's smallest, counted
from when its audio arrived (the end of the 10 ms source block that carries the frame's last sample:
a frame cannot come earlier, and the steady latency of the ring and quantum is not a stall); frames of
the first ``WARMUP_S`` left out (numba compiles, models load on first use); ``p99_ms`` the 99th
percentile of the same; ``behind_frame_ms`` the same counted from the frame's end instead (it adds up
to one source block); ``same_events`` whether the run's events (every
field, in order) equal the inline run's of the same session; ``same_sorted`` whether they do once
sorted (the engine's pipeline is ``live`` here: a lane more than ``lane_delay_s`` behind lets the fast
events go first, its own come late, see :mod:`rtaudio.pipeline`).
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

from rtaudio.engine import Engine
from rtaudio.events import SpectrumFrame
from rtaudio.sinks import ListSink
from rtaudio.sources.array import ArraySource
from rtaudio.stages import build_stages

pytest.importorskip("pocketsphinx")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
RATE = 48000
BLOCK = RATE // 100  # 10 ms source blocks, as a JACK period or sound card buffer delivers them
STAGES = ["spectrum", "levels", "vad", "lid", "stt"]
CONFIG = {"stt": {"engine": "pocketsphinx"}, "lid": {"backend": "onnx"}}
WARMUP_S = 2.0
_EVENTS: dict[str, list] = {}


def talk_audio() -> np.ndarray:
    """20 s of espeak-ng speech with 1 s pauses, mono float32 at :data:`RATE`."""
    from rtaudio.testing import speech

    parts = []
    for text in (
        "the committee will meet again on thursday to discuss the new budget",
        "the mayor said that she expects a long and difficult meeting",
        "open the window please",
    ):
        parts += [speech(text, RATE), np.zeros(RATE, np.float32)]
    return np.resize(np.concatenate(parts), 20 * RATE)


@pytest.fixture(scope="module")
def talk():
    return talk_audio()


class _Clock(ListSink):
    """A ListSink that notes the arrival time of each spectrum frame."""

    def emit(self, events):
        now = time.perf_counter()
        super().emit(events)
        self.arrivals.extend((now, e.t) for e in events if isinstance(e, SpectrumFrame))

    def open(self, info):
        self.arrivals = []
        super().open(info)


def _record(events):
    return [e for e in events if e.TYPE != "end"]


def run_paced(talk: np.ndarray, where: str) -> _Clock:
    """``talk`` through the threaded engine at real time with the slow stages placed per ``where``."""
    sink = _Clock()
    source = ArraySource(talk, RATE, block=BLOCK, realtime=True)
    place = where.split("_")[0]
    placement = {} if place in ("base", "inline") else {"stt": place, "lid": place}
    delay = 0.1 if where == "process_late" else 2.0
    names = STAGES[:3] if where == "base" else STAGES
    config = {} if where == "base" else CONFIG
    stages = build_stages(names, sample_rate=RATE, channels=1, config=config, placement=placement)
    Engine(source, stages, [sink], quantum=RATE // 200, lane_delay_s=delay).run()
    return sink


def stall(sink: _Clock) -> dict:
    """Stall figures (ms) of one run: see the module docstring."""
    kept = [(a, t) for a, t in sink.arrivals if t >= WARMUP_S * RATE]
    arrivals = np.array([a for a, _ in kept])
    ends = np.array([t for _, t in kept])
    behind_frame = (arrivals - ends / RATE) * 1000
    behind_frame -= behind_frame.min()
    available_s = np.ceil(ends / BLOCK) * BLOCK / RATE  # the end of the source block carrying the frame's end
    late = (arrivals - available_s) * 1000
    late -= late.min()
    return {
        "stall_ms": round(float(late.max()), 1),
        "p99_ms": round(float(np.percentile(late, 99)), 2),
        "behind_frame_ms": round(float(behind_frame.max()), 1),
        "frames": len(late),
        "transcripts": sum(e.TYPE == "transcript" for e in sink.events),
    }


@pytest.mark.parametrize("where", ["base", "inline", "thread", "process", "process_late"])
def test_spectrum_stall_while_recognising(benchmark, talk, where):
    runs = []
    benchmark.pedantic(lambda: runs.append(run_paced(talk, where)), rounds=1, iterations=1)
    sink = runs[-1]
    _EVENTS[where] = _record(sink.events)
    benchmark.extra_info.update(stall(sink))
    benchmark.extra_info["load_1min"] = round(os.getloadavg()[0], 2)  # the machine's own load, for the record
    if where != "base" and "inline" in _EVENTS:
        benchmark.extra_info["same_events"] = _EVENTS[where] == _EVENTS["inline"]
        benchmark.extra_info["same_sorted"] = sorted(_EVENTS[where], key=repr) == sorted(_EVENTS["inline"], key=repr)
    print(f"\n{where}: {benchmark.extra_info}")


if __name__ == "__main__":  # repeated runs: python benchmarks/test_bench_lane.py base process --repeat 3
    import argparse

    parser = argparse.ArgumentParser(description="Spectrum stall per placement, repeated (see the module docstring).")
    parser.add_argument("where", nargs="+", choices=["base", "inline", "thread", "process", "process_late"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per placement (default 3)")
    args = parser.parse_args()
    audio = talk_audio()
    for _ in range(args.repeat):
        for name in args.where:
            print(name, stall(run_paced(audio, name)), f"load {os.getloadavg()[0]:.2f}", flush=True)

"""What a recogniser in the reader thread does to the process's other threads, and what a child process costs.

Run: ``python -m pytest benchmarks/test_bench_worker.py --benchmark-only -s``.
A 1 ms ticker thread (standing in for the window's frame loop) runs while ``rtaudio.api.analyze``
transcribes 20 s of espeak-ng speech with pocketsphinx (``stt``) and identifies its language
(``lid``), with the recognisers in the reader thread (placement ``inline``) or in child processes
(placement ``process``, the pipeline's lane). ``extra_info``: the ticker's longest stall and 99th-percentile gap (ms), and the
run's wall time; ``overhead`` is the process run's time over the thread run's in the same session.
"""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

from rtaudio.api import analyze

pytest.importorskip("pocketsphinx")
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
_WALL: dict[str, float] = {}


@pytest.fixture(scope="module")
def talk():
    from rtaudio.testing import speech

    x = speech(
        "the committee will meet again on thursday to discuss the new budget for the city and the "
        "schools, and the mayor said that she expects a long and difficult meeting",
        16000,
    )
    return np.resize(np.concatenate([x, np.zeros(8000, np.float32)]), 20 * 16000)


def _with_ticker(fn):
    gaps, stop = [], threading.Event()

    def tick():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    t = threading.Thread(target=tick)
    t.start()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    stop.set()
    t.join()
    return wall, np.array(gaps) * 1000


@pytest.mark.parametrize("worker", ["thread", "process"])
def test_ticker_during_recognition(benchmark, talk, worker):
    cfg = {
        "stt": {"gate": "false", "engine": "pocketsphinx"},
        "lid": {"gate": "energy", "backend": "onnx"},
    }
    where = "inline" if worker == "thread" else "process"
    result = {}

    def run():
        result["wall"], result["gaps"] = _with_ticker(
            lambda: analyze(talk, rate=16000, stages=["lid", "stt"], config=cfg, placement={"stt": where, "lid": where})
        )

    benchmark.pedantic(run, rounds=1, iterations=1)
    gaps = result["gaps"]
    _WALL[worker] = result["wall"]
    benchmark.extra_info.update(
        max_stall_ms=round(float(gaps.max()), 1),
        p99_gap_ms=round(float(np.percentile(gaps, 99)), 2),
        wall_s=round(result["wall"], 2),
    )
    if worker == "process" and "thread" in _WALL:
        benchmark.extra_info["overhead"] = round(_WALL["process"] / _WALL["thread"], 2)
    print(f"\n{worker}: {benchmark.extra_info}")


def test_ticker_during_whisper(benchmark, talk):
    """Whisper lid + stt (the window commands' setting: worker=process, asynchronous), with live captions."""
    pytest.importorskip("faster_whisper")
    from rtaudio.errors import ModelError
    from rtaudio.models.whisper import resolve_whisper

    try:
        resolve_whisper()
    except ModelError as exc:
        pytest.skip(str(exc))
    cfg = {"stt": {"engine": "whisper"}, "lid": {"backend": "whisper"}}
    result = {}

    def run():
        result["wall"], result["gaps"] = _with_ticker(
            lambda: analyze(
                talk,
                rate=16000,
                stages=["vad", "lid", "stt"],
                config=cfg,
                placement={"stt": "process", "lid": "process"},
            )
        )

    benchmark.pedantic(run, rounds=1, iterations=1)
    gaps = result["gaps"]
    benchmark.extra_info.update(
        max_stall_ms=round(float(gaps.max()), 1),
        p99_gap_ms=round(float(np.percentile(gaps, 99)), 2),
        wall_s=round(result["wall"], 2),
    )
    print(f"\nwhisper process: {benchmark.extra_info}")

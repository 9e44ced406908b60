"""VAD gate cost on ``video/talking-with-pauses.mp4`` (42 s, speech with long pauses), dev corpus.

Run: ``python -m pytest benchmarks/test_bench_vad.py --benchmark-only``.

Each benchmark runs the vad stage over the whole 16 kHz track in 4096-sample blocks
and records ``us_per_30ms`` (mean CPU time per 30 ms of audio, the issue's unit),
``verified_fraction`` (share of 32 ms chunks that reached Silero) and the real-time
factor. Baselines in the same run: Silero on every chunk (``mode=silero``) and
webrtcvad alone (``mode=webrtc``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rtaudio.stages.base import Frame
from rtaudio.stages.vad import VADParams, VADStage

sys.path.insert(0, str(Path(__file__).parent))
from speech_eval import corpus_dir, talking_video_16k

BLOCK = 4096


@pytest.fixture(scope="module")
def talk():
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("real-audio corpus not found (set RTAUDIO_CORPUS)")
    return talking_video_16k(corpus)


def _run(stage, x):
    stage.reset()
    events = []
    for i in range(0, len(x), BLOCK):
        events += stage.process(Frame(i, x[i : i + BLOCK, None], 16000))
    return events + stage.flush()


@pytest.mark.benchmark(group="vad")
@pytest.mark.parametrize("mode", ["both", "silero", "webrtc"])
def test_vad_gate_cost(benchmark, bench_stats, talk, mode):
    stage = VADStage(VADParams(mode=mode, aggressiveness=3 if mode == "webrtc" else 1))
    _run(stage, talk[:16000])  # warm up
    events = benchmark.pedantic(_run, args=(stage, talk), rounds=5, iterations=1)
    seconds = len(talk) / 16000
    benchmark.extra_info["verified_fraction"] = round(stage.verified / stage.chunks, 3)
    benchmark.extra_info["segments"] = sum(e.TYPE == "speech" for e in events)
    assert benchmark.extra_info["segments"] > 0
    if stats := bench_stats(benchmark):
        benchmark.extra_info["us_per_30ms"] = round(stats.mean / (seconds / 0.03) * 1e6, 1)
        benchmark.extra_info["realtime_factor"] = round(seconds / stats.mean, 1)

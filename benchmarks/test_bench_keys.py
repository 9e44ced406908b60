"""Cost of the key-moment stages together (onsets, beats, sections, moments; levels feeding moments), on one core.

Run: ``python -m pytest benchmarks/test_bench_keys.py --benchmark-only``.

The process is pinned to one CPU (``os.sched_setaffinity``) for the whole module.
Input: 60 s of music at 16 kHz (the stages' rate; the corpus' Vibe Ace when
``RTAUDIO_CORPUS`` has it, else ``rtaudio.testing.beat_and_chords``) fed in 1024-sample
blocks straight to the stages (no decoding, no resampling).  Each benchmark records
``realtime_factor`` (seconds of audio per second, from the mean).  Baseline in the
same run: librosa's offline ``onset_strength`` + ``beat_track`` + ``onset_detect`` on
the same array (it sees the whole file at once and does less: no downbeats, sections,
loudness moments or cut suggestions).  Goal: the stages together >= 100x real time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from rtaudio.stages import build_stages
from rtaudio.stages.base import Frame

RATE = 16000
SECONDS = 60.0
BLOCK = 1024
STAGES = ["levels", "onsets", "beats", "sections", "moments"]


@pytest.fixture(scope="module", autouse=True)
def one_core():
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    yield
    os.sched_setaffinity(0, before)


@pytest.fixture(scope="module")
def music():
    corpus = Path(os.environ.get("RTAUDIO_CORPUS") or Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus")
    path = corpus / "music" / "Kevin_MacLeod_-_Vibe_Ace.ogg"
    if path.is_file():
        import av

        with av.open(str(path)) as c:
            rs = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            parts = [g.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for g in rs.resample(fr)]
        x = np.concatenate(parts)[: int(RATE * SECONDS)]
    else:
        from rtaudio.testing import beat_and_chords

        x = beat_and_chords(SECONDS, RATE)
    return np.ascontiguousarray(x, dtype=np.float32)[:, None]


def _run(names, x):
    stages = build_stages(names, sample_rate=RATE, channels=1, config={"sections": {"mode": "offline"}})
    count = 0
    for i in range(0, len(x), BLOCK):
        frame = Frame(i, x[i : i + BLOCK], RATE)
        events = []
        for st in stages:
            if st.listens and events:
                st.observe([e for e in events if isinstance(e, st.listens)])
            events += st.process(frame)
        count += len(events)
    for st in stages:
        count += len(st.flush())
    return count


def _record(benchmark, stats, seconds, cpu_s=None):
    """Real-time factors into ``extra_info`` from ``stats`` (``bench_stats``; None: nothing timed, nothing)."""
    if stats is None:
        return
    mean = stats.mean
    benchmark.extra_info["audio_s"] = seconds
    benchmark.extra_info["realtime_factor"] = round(seconds / mean, 1)
    if cpu_s is not None:  # CPU time of one more run: what the work costs when the core is shared
        benchmark.extra_info["realtime_factor_cpu"] = round(seconds / cpu_s, 1)
    print(f"\n{benchmark.name}: {benchmark.extra_info}")


def _cpu(fn, *args):
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


@pytest.mark.benchmark(group="keys")
def test_key_moment_stages_together(benchmark, bench_stats, music):
    _run(STAGES, music[: RATE * 5])  # compile / warm up
    n = benchmark.pedantic(_run, args=(STAGES, music), rounds=3, iterations=1)
    assert n > 100
    _record(benchmark, bench_stats(benchmark), len(music) / RATE, _cpu(_run, STAGES, music))


@pytest.mark.benchmark(group="keys")
@pytest.mark.parametrize("name", ["onsets", "beats", "sections"])
def test_each_stage(benchmark, bench_stats, music, name):
    _run([name], music[: RATE * 5])
    benchmark.pedantic(_run, args=([name], music), rounds=3, iterations=1)
    _record(benchmark, bench_stats(benchmark), len(music) / RATE, _cpu(_run, [name], music))


@pytest.mark.benchmark(group="keys")
def test_librosa_offline_baseline(benchmark, bench_stats, music):
    librosa = pytest.importorskip("librosa", reason="librosa (the baseline) is in the dev extra")
    y = music[:, 0]

    def go():
        env = librosa.onset.onset_strength(y=y, sr=RATE)
        librosa.beat.beat_track(onset_envelope=env, sr=RATE)
        librosa.onset.onset_detect(onset_envelope=env, sr=RATE)

    go()
    benchmark.pedantic(go, rounds=3, iterations=1)
    _record(benchmark, bench_stats(benchmark), len(y) / RATE, _cpu(go))

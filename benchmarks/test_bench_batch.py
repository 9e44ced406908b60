"""Batch soundtrack jobs: speed-up from 1 to 2 workers, local pool and Ray side by side, engine overheads.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_batch.py --benchmark-only -s``

Inputs: 8 synthesized 20-second MP4s (320x180 H.264, AAC 48 kHz stereo; beat and chords,
different tempo each) with 4 kept segments each; every job renders with the ``dsp``
separation and no cache, so each run does the whole work.  Every configuration runs
once (``pedantic``); the 1-worker run of the same engine in the same session is the
baseline of each speed-up (and one Separator in the calling process the baseline of the
chunked separation of a 10-minute input).  The trivial job is :func:`rtaudio.jobs.probes.noop`.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time

import numpy as np
import pytest

from rtaudio.jobs import probes
from rtaudio.jobs.batch import run_batch
from rtaudio.jobs.executors import make_executor

N_JOBS = 8
SECONDS = 20.0
RATE = 48000
RESULTS: dict = {}


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory):
    from rtaudio.demo import write_demo_video
    from rtaudio.testing import beat_and_chords

    folder = tmp_path_factory.mktemp("batch-bench")
    for i in range(N_JOBS):
        x = beat_and_chords(SECONDS, RATE, bpm=100 + 5 * i, seed=i).astype(np.float32)
        write_demo_video(str(folder / f"in{i}.mp4"), np.stack([x, 0.8 * x], 1), RATE)
    return folder


def _jobs(folder, out):
    (folder / out).mkdir(exist_ok=True)
    return [
        {
            "input": str(folder / f"in{i}.mp4"),
            "cuts": [[0, 4.2], [6.1, 9.0], [11.3, 15.8], [16.4, 19.5]],
            "output": str(folder / out / f"o{i}.wav"),
            "separation": "dsp",
            "cache": False,
        }
        for i in range(N_JOBS)
    ]


def _run(folder, engine, workers):
    out = f"{engine}-{workers}"
    shutil.rmtree(folder / out, ignore_errors=True)
    summary = run_batch(_jobs(folder, out), engine=engine, workers=workers)
    assert summary["counts"]["done"] == N_JOBS, summary
    task_s = [r["seconds"] for r in summary["jobs"]]
    RESULTS[out] = {
        "wall_s": summary["wall_s"],
        "median_task_s": statistics.median(task_s),
        "sum_task_s": round(sum(task_s), 2),
    }
    return summary


def _overhead(engine):
    t0 = time.perf_counter()
    with make_executor(engine, workers=2) as ex:
        first = ex.get(ex.submit(probes.noop, (1,)))
        start_s = time.perf_counter() - t0
        lat = []
        for _ in range(50):
            t = time.perf_counter()
            ex.get(ex.submit(probes.noop, (1,)))
            lat.append(time.perf_counter() - t)
        t = time.perf_counter()
        hs = [ex.submit(probes.noop, (i,)) for i in range(500)]
        assert [ex.get(h) for h in hs][-1] == 499 and first == 1
        per_task_ms = (time.perf_counter() - t) / 500 * 1e3
    return {
        "startup_s": round(start_s, 2),
        "round_trip_ms": round(statistics.median(lat) * 1e3, 2),
        "throughput_ms_per_task": round(per_task_ms, 3),
    }


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_bench_batch_speedup(benchmark, batch_inputs, engine):
    if engine == "ray":
        pytest.importorskip("ray")
    one = _run(batch_inputs, engine, 1)
    two = benchmark.pedantic(_run, args=(batch_inputs, engine, 2), rounds=1, iterations=1)
    for i in range(N_JOBS):  # the same bytes whatever the engine or worker count
        a = (batch_inputs / f"{engine}-1" / f"o{i}.wav").read_bytes()
        assert a == (batch_inputs / f"{engine}-2" / f"o{i}.wav").read_bytes()
    RESULTS[f"{engine}-speedup"] = round(one["wall_s"] / two["wall_s"], 2)
    print(
        f"\n{engine}: 1 worker {one['wall_s']:.2f} s, 2 workers {two['wall_s']:.2f} s, "
        f"speed-up {RESULTS[f'{engine}-speedup']}x; "
        + json.dumps({k: v for k, v in RESULTS.items() if k.startswith(engine)})
    )


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_bench_engine_overhead(benchmark, engine):
    if engine == "ray":
        pytest.importorskip("ray")
    res = benchmark.pedantic(_overhead, args=(engine,), rounds=1, iterations=1)
    RESULTS[f"{engine}-overhead"] = res
    print(f"\n{engine} overhead on a trivial task: {json.dumps(res)}")


@pytest.fixture(scope="module")
def ten_minutes():
    from rtaudio.testing import beat_and_chords, noise

    minute = beat_and_chords(60.0, RATE, bpm=112) * 0.5 + noise(60.0, RATE, 0.003)
    audio = np.tile(minute, 10)
    return np.stack([audio, np.roll(audio, 50)], axis=1).astype(np.float32)


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_bench_chunked_separation(benchmark, ten_minutes, engine):
    """10 minutes, 48 kHz stereo, dsp: one Separator in this process vs 30-s chunk tasks on 1 and 2 workers."""
    from rtaudio.jobs import separation as sep
    from rtaudio.jobs.chunked import separate_chunked

    if engine == "ray":
        pytest.importorskip("ray")
    if "single_separator_s" not in RESULTS:
        t = time.perf_counter()
        with sep.Separator(sep.SeparationParams(stems=2, backend="dsp"), rate=RATE, channels=2) as s:
            s.separate(ten_minutes, RATE)
        RESULTS["single_separator_s"] = round(time.perf_counter() - t, 2)
    times = {}
    for workers in (1, 2):
        with make_executor(engine, workers=workers) as ex:
            t = time.perf_counter()
            if workers == 2:
                benchmark.pedantic(separate_chunked, args=(ten_minutes, RATE, ex), rounds=1, iterations=1)
            else:
                separate_chunked(ten_minutes, RATE, ex)
            times[workers] = round(time.perf_counter() - t, 2)
    RESULTS[f"{engine}-chunked-separation"] = {
        "1_worker_s": times[1],
        "2_workers_s": times[2],
        "speedup": round(times[1] / times[2], 2),
    }
    print(
        f"\n10-min dsp separation on {engine}: single Separator {RESULTS['single_separator_s']} s; chunked "
        f"{json.dumps(RESULTS[f'{engine}-chunked-separation'])}"
    )

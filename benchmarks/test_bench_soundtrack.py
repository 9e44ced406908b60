"""Soundtrack render time: a 10-minute video with 50 cuts, separation excluded and included, and a re-render.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_soundtrack.py --benchmark-only -s``

The input is a 10-minute MP4 (64x48 video at 2 fps, AAC stereo 48 kHz audio: a beat-and-chords
music bed with espeak-ng speech every few seconds), made once per session. Each render runs once
(``pedantic``, one round: a render is seconds to minutes). Printed: the time of each step and the
real-time factor; the baseline in the same run is decoding the audio alone (what any render pays).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

RATE = 48000
MINUTES = 10


@pytest.fixture(scope="module")
def ten_minute_video(tmp_path_factory):
    return make_ten_minute_video(tmp_path_factory.mktemp("st-bench"))


def make_ten_minute_video(folder):
    """(video path, cut-list path) in ``folder``: the 10-minute MP4 and 50 cuts described above."""
    import av

    from rtaudio.testing import beat_and_chords, noise, speech

    path = folder / "ten-minutes.mp4"
    minute = beat_and_chords(60.0, RATE, bpm=112) * 0.5 + noise(60.0, RATE, 0.003)
    try:
        lines = [
            speech(t, RATE)
            for t in (
                "the results came in late on tuesday evening",
                "nobody expected the river to rise so quickly",
                "we will meet again at the station tomorrow",
            )
        ]
    except Exception:  # espeak-ng missing: music only
        lines = []
    audio = np.tile(minute, MINUTES)
    rng = np.random.default_rng(0)
    t = 2.0
    while lines and t < MINUTES * 60 - 5:
        line = lines[rng.integers(len(lines))]
        i = int(t * RATE)
        audio[i : i + len(line)] += 0.8 * line[: len(audio) - i]
        t += len(line) / RATE + rng.uniform(1.0, 4.0)
    stereo = np.stack([audio, np.roll(audio, 50)], axis=1).astype(np.float32)
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=2)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=RATE, layout="stereo")
        from rtaudio.jobs.soundtrack.mixdown import encode_aac_frames

        for k in range(MINUTES * 60 * 2):
            img = np.full((48, 64, 3), k % 255, np.uint8)
            for packet in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        for packet in encode_aac_frames(a, stereo, RATE):
            out.mux(packet)
    # 50 cuts: 51 kept segments of 4-10 s with 1-5 s removed between them
    segs, pos = [], 1.0
    while len(segs) < 51:
        length = rng.uniform(4.0, 10.0)
        segs.append((pos, pos + length))
        pos += length + rng.uniform(1.0, 5.0)
    assert pos < MINUTES * 60
    cuts = folder / "cuts.csv"
    cuts.write_text("start,end\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in segs))
    return str(path), str(cuts)


def _run(benchmark, fn):
    return benchmark.pedantic(fn, rounds=1, iterations=1)


def test_decode_only_baseline(benchmark, ten_minute_video):
    from rtaudio.jobs.soundtrack.steps import decode

    path, _ = ten_minute_video
    x, rate = _run(benchmark, lambda: decode(path, 0, None))
    assert len(x) / rate == pytest.approx(MINUTES * 60, abs=0.5)


@pytest.mark.parametrize("separation", ["none", "auto"])
def test_render_ten_minutes_fifty_cuts(benchmark, ten_minute_video, tmp_path, separation):
    from rtaudio.jobs.soundtrack import render_soundtrack

    path, cuts = ten_minute_video
    out = tmp_path / "soundtrack.wav"
    t0 = time.perf_counter()
    report = _run(
        benchmark, lambda: render_soundtrack(path, cuts, out, separation=separation, cache_dir=tmp_path / "cache")
    )
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = render_soundtrack(path, cuts, tmp_path / "again.wav", separation=separation, cache_dir=tmp_path / "cache")
    second = time.perf_counter() - t0
    assert again["cache"]["hit"]
    assert len(report["joins"]) >= 50
    print(
        f"\nseparation={separation}: {first:.1f} s ({MINUTES * 60 / first:.0f}x real time); steps "
        f"{report['timings']}; stems: {report['stems']['note'][:80]}"
    )
    print(f"re-render from the cache: {second:.1f} s; steps {again['timings']}")
    print(f"summary {report['summary']}; naive {report['baselines']['naive']['summary']}")
    benchmark.extra_info.update({"seconds": first, "rerender_s": second, "timings": report["timings"]})
    os.remove(out)

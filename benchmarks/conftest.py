"""Shared benchmark inputs (synthesized, cached per session)."""

import os

import numpy as np
import pytest
import soundfile as sf

from rtaudio.testing import beat_and_chords, noise


@pytest.fixture(scope="session")
def ten_minute_flac(tmp_path_factory):
    """10 minutes of 48 kHz stereo music-like audio as FLAC (what a user would analyse)."""
    path = tmp_path_factory.mktemp("bench") / "ten-minutes.flac"
    rate, minute = 48000, 60.0
    one = beat_and_chords(minute, rate) + noise(minute, rate, 0.01)
    with sf.SoundFile(path, "w", rate, 2, subtype="PCM_16") as f:
        for k in range(10):
            f.write(np.stack([one, np.roll(one, 100 * k)], axis=1) * 0.8)
    return os.fspath(path)


@pytest.fixture(scope="session")
def bench_stats():
    """``bench_stats(benchmark)``: the timings of a finished benchmark (``.mean``, ``.median``, ``.min``, s), or
    None under ``--benchmark-disable`` (one plain run, nothing timed): record figures only when there are some."""

    def stats(benchmark):
        return None if benchmark.stats is None else benchmark.stats.stats

    return stats

"""Whole-length signals on disk, read by window (issue 13): the windowed steps give what the in-memory ones give."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rtaudio.jobs.soundtrack import metrics, mixdown
from rtaudio.jobs.soundtrack.plan import Piece
from rtaudio.jobs.soundtrack.signal import WINDOW, DiskSignal, Mono, SignalWriter, mono_at, write_signal

RATE = 48000


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(seconds * RATE), 2)).astype(np.float32) * 0.3
    x[: RATE // 2] *= 4.0  # loud enough that the limiter works
    return x


def test_a_disk_signal_reads_back_every_slice_of_what_was_written(tmp_path):
    x = _signal(3.0)
    s = write_signal(tmp_path / "x.npy", [x[:1000], x[1000:70001], x[70001:]], 2)
    assert s.shape == x.shape and len(s) == len(x)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), x)  # a plain .npy
    for a, b in [(0, 10), (999, 1002), (len(x) - 5, len(x) + 100), (-20, None), (50, 40)]:
        np.testing.assert_array_equal(s[a:b], x[a:b])
    np.testing.assert_array_equal(Mono(s)[5 : WINDOW + 9], x[5 : WINDOW + 9].mean(axis=1))
    np.testing.assert_array_equal(Mono(s)[100:200], x[100:200].mean(axis=1))
    with pytest.raises(TypeError, match="a DiskSignal takes slices with step 1, not 2"):
        s[::2]
    with pytest.raises(TypeError, match="a DiskSignal takes slices of samples, not 3"):
        s[3]


def test_a_signal_appears_only_when_complete(tmp_path):
    w = SignalWriter(tmp_path / "x.npy", 2)
    w.write(np.zeros((10, 2), np.float32))
    assert not (tmp_path / "x.npy").exists()  # written under a temporary name
    w.abort()
    assert os.listdir(tmp_path) == []


def test_a_disk_signal_refuses_what_is_not_float32_frames(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float64))
    with pytest.raises(ValueError, match=r"x.npy' holds float64 \(4, 2\); expected a C-order \(n, channels\) float32"):
        DiskSignal(tmp_path / "x.npy")


def test_the_streamed_mono_resample_equals_the_one_pass_one(tmp_path):
    x = _signal(25.0, seed=1)  # more than two windows
    s = write_signal(tmp_path / "x.npy", [x], 2)
    for target in (22050, 16000, RATE):
        np.testing.assert_array_equal(mono_at(s, RATE, target)[:, 0], mono_at(x, RATE, target))


def _pieces() -> tuple[list[Piece], list[int], int]:
    pieces = [  # (out0, out1, segment, slip, fade_in, fade_out): two crossfades, zero-crossing edges
        Piece(0.0, 9.02, 0, 0.0, 0.0, 0.04, zc_out=True),
        Piece(8.98, 14.5, 1, 0.01, 0.04, 0.03, shape_in="cosine", zc_in=True),
        Piece(14.47, 25.0, 2, 0.0, 0.03, 0.01),
    ]
    return pieces, [1000, -2000, 30000], int(25.0 * RATE)


def test_rendering_by_window_equals_one_render(tmp_path):
    x = _signal(28.0, seed=2)
    s = write_signal(tmp_path / "x.npy", [x], 2)
    pieces, offsets, n_out = _pieces()
    whole = mixdown.render_stem(x, pieces, offsets, RATE, n_out)
    from rtaudio.jobs.soundtrack.steps import render_to

    by_window = render_to(tmp_path / "y.npy", {"mix": s}, {"mix": pieces}, offsets, RATE, n_out)
    np.testing.assert_array_equal(by_window[:], whole)
    part = mixdown.render_stem(s, pieces, offsets, RATE, 3 * RATE, start=8 * RATE)  # a window over a join
    np.testing.assert_array_equal(part, whole[8 * RATE : 11 * RATE])


def test_normalising_by_window_equals_one_pass(tmp_path):
    x = _signal(23.0, seed=3)
    s = write_signal(tmp_path / "x.npy", [x], 2)
    y, facts = mixdown.normalise(x, RATE, -16.0, -1.0)
    ys, facts_s = mixdown.normalise(s, RATE, -16.0, -1.0, dest=tmp_path / "y.npy")
    assert facts["limiter_db"] > 0.5  # the limiter worked
    assert facts_s == facts
    assert np.max(np.abs(ys[:] - y)) <= 2.0**-24  # float rounding of the windowed moving average at most


def test_loudness_steps_of_far_apart_joins_equal_one_at_a_time():
    x = _signal(30.0, seed=4)
    x[RATE * 10 :] *= 0.5
    regions = [(4.0, 4.05), (10.0, 10.02), (20.0, 20.1), (29.95, 29.99)]
    expected = [metrics.loudness_step(x, RATE, r) for r in regions]
    assert metrics.loudness_steps(x, RATE, regions) == expected
    assert expected[1] == pytest.approx(-6.0, abs=0.2) and expected[3] is None


def test_close_joins_are_measured_once_per_stretch():
    x = _signal(12.0, seed=5)
    regions = [(3.0 + 0.01 * k, 3.005 + 0.01 * k) for k in range(200)]  # 200 joins in 2 s
    steps = metrics.loudness_steps(x, RATE, regions)
    one = [metrics.loudness_step(x, RATE, r) for r in regions]
    assert np.allclose(steps, one, atol=0.01)  # only the filter's start differs (earlier: more settled)


def test_the_array_store_keeps_what_it_was_given_and_writes_whole_files_only(tmp_path):
    from rtaudio.jobs.arrays import Store, read, write

    store = Store(tmp_path)
    assert str(read(store.put(np.array("vad+energy")))) == "vad+energy"  # 0-d stays 0-d
    assert read(store.put(np.array("x"))).shape == ()
    handle = store.put({"a": np.arange(3), "b": np.ones((2, 2))}, "parts")
    assert handle == str(tmp_path / "parts.npz")
    assert {k: v.tolist() for k, v in read(handle).items()} == {"a": [0, 1, 2], "b": [[1.0, 1.0], [1.0, 1.0]]}
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match="Object arrays cannot be saved when allow_pickle=False"):
        write(tmp_path / "bad.npy", np.array([object()], dtype=object))
    assert sorted(os.listdir(tmp_path)) == before  # neither the file nor its temporary name
    temporary = Store()
    folder = temporary.folder
    temporary.put(np.zeros(3))
    temporary.close()
    assert not os.path.exists(folder)


def test_a_render_removes_the_work_folders_of_killed_renders(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from rtaudio.jobs.soundtrack.signal import work_folder
    from rtaudio.outputs import HOST

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"rtaudio-soundtrack-{int(dead.stdout)}-{HOST}-abc"
    stale.mkdir()
    (stale / "mix.npy").write_bytes(b"x")
    mine = tmp_path / f"rtaudio-soundtrack-{os.getpid()}-{HOST}-def"  # a live process's folder stays
    mine.mkdir()
    with work_folder() as folder:
        assert folder.is_dir() and folder.name.startswith(f"rtaudio-soundtrack-{os.getpid()}-{HOST}-")
        assert not stale.exists() and mine.exists()
    assert not folder.exists()


def test_chunks_joined_by_chunk_equal_the_whole_join(tmp_path):
    """The graph's streaming overlap-add (``join_chunks_to``) gives the bits of the in-memory one."""
    from rtaudio.jobs.chunked import join_chunks, join_chunks_to, plan_chunks

    n, segment, overlap = 100_003, 30_000, 2_000
    chunks = plan_chunks(n, segment, overlap, 1)
    assert len(chunks) == 4
    rng = np.random.default_rng(5)
    parts = [
        {s: rng.standard_normal((b - a, 2)).astype(np.float32) for s in ("vocals", "accompaniment")} for a, b in chunks
    ]
    fade = (np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2).astype(np.float32)[:, None]
    whole = join_chunks(parts, chunks, overlap, fade, (n, 2))
    names = {"vocals": "dialogue", "accompaniment": "music"}
    streamed = join_chunks_to(tmp_path, names, iter(parts), chunks, overlap, fade, 2)
    for stem, name in names.items():
        assert isinstance(streamed[name], DiskSignal) and streamed[name].shape == (n, 2)
        np.testing.assert_array_equal(streamed[name][:], whole[stem], err_msg=name)


def test_spans_added_by_window_equal_one_sum(tmp_path):
    """``add_spans`` (the graph's mix of render groups) across window edges: the floats of one in-memory sum."""
    from rtaudio.jobs.soundtrack.signal import add_spans

    n = 2 * WINDOW + 1234
    rng = np.random.default_rng(6)

    def span(a, b):
        return a, rng.standard_normal((b - a, 1)).astype(np.float32)

    stems = [[span(0, WINDOW + 10), span(WINDOW - 500, n - 7)], [span(100, 2 * WINDOW + 50)]]
    expected = None
    for spans in stems:
        acc = np.zeros((n, 1), np.float32)
        for a, y in spans:
            acc[a : a + len(y)] += y
        expected = acc if expected is None else expected + acc
    as_files = [[(a, write_signal(tmp_path / f"{k}-{a}.npy", [y], 1)) for a, y in s] for k, s in enumerate(stems)]
    got = add_spans(tmp_path / "sum.npy", as_files, n, 1)
    np.testing.assert_array_equal(got[:], expected)

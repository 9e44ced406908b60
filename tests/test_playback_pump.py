"""The playback pump's back-pressure on the engine's ring: it waits (Ring.wait_free) while the ring is full."""

import threading

import numpy as np

from rtaudio.ring import Ring
from rtaudio.sources.array import ArraySource
from rtaudio.viz.playback import PlaybackSource, WallClock


def _pump(x, ring, stop, block):
    source = PlaybackSource(ArraySource(x, 1000, block=block), WallClock(1000, lead_s=1e9))  # no pacing
    thread = threading.Thread(target=source.run, args=(ring, stop.is_set, lambda e: None))
    thread.start()
    return thread


def test_a_slow_reader_gets_every_frame_in_order():
    x = np.arange(5000, dtype=np.float32).reshape(-1, 1) / 5000
    ring = Ring(1024, 1)
    stop = threading.Event()
    thread = _pump(x, ring, stop, block=700)  # pieces of 256, 256, 188 frames
    got = []
    while thread.is_alive() or ring.available:
        index, block = ring.read(100)  # far smaller reads than the pump's pieces: it must wait for room
        assert index == sum(len(b) for b in got)
        got.append(block)
        stop.wait(0.001)
    thread.join()
    assert ring.dropped == 0
    np.testing.assert_array_equal(np.concatenate(got), x)


def test_a_stop_ends_the_wait_for_room():
    ring = Ring(1024, 1)
    stop = threading.Event()
    thread = _pump(np.zeros((5000, 1), np.float32), ring, stop, block=512)  # pieces of 256
    while ring.free:  # nobody reads: the ring fills, then the pump waits
        stop.wait(0.001)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert ring.written == 1024 and ring.dropped == 0

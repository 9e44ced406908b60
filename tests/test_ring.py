"""Ring buffer: order kept, nothing lost below capacity, exact drop count above it."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtaudio.errors import ParameterError
from rtaudio.ring import Ring


def _drain(ring, chunk=None):
    parts, index = [], None
    while ring.available:
        i, block = ring.read(chunk)
        index = i if index is None else index
        parts.append(block)
    return index, (np.concatenate(parts) if parts else np.zeros((0, ring.channels), np.float32))


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 64),
    channels=st.integers(1, 3),
    ops=st.lists(st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(1, 50))), max_size=30),
)
def test_order_kept_and_drops_counted_exactly(capacity, channels, ops):
    """Interleaved writes and reads: what is read is the written sequence minus exactly `dropped` oldest frames."""
    ring = Ring(capacity, channels)
    counter = 0
    got_index, got = [], []
    for n_write, n_read in ops:
        block = np.arange(counter, counter + n_write, dtype=np.float32)[:, None] * np.ones(channels, np.float32)
        counter += n_write
        ring.write(block)
        index, out = ring.read(n_read)
        got_index.extend(range(index, index + len(out)))
        got.append(out)
    index, out = _drain(ring)
    if len(out):
        got_index.extend(range(index, index + len(out)))
    got.append(out)
    got = np.concatenate(got) if got else np.zeros((0, channels))
    # values equal their source index: order kept and the index is right
    assert np.array_equal(got[:, 0], np.array(got_index, dtype=np.float32))
    assert all(np.array_equal(got[:, c], got[:, 0]) for c in range(channels))
    assert got_index == sorted(got_index)
    assert len(got) + ring.dropped == counter


@settings(max_examples=100, deadline=None)
@given(capacity=st.integers(1, 64), sizes=st.lists(st.integers(0, 20), max_size=20))
def test_nothing_lost_below_capacity(capacity, sizes):
    ring = Ring(capacity)
    expected = []
    counter = 0
    for n in sizes:
        n = min(n, ring.free)
        ring.write(np.arange(counter, counter + n, dtype=np.float32))
        expected.extend(range(counter, counter + n))
        counter += n
        if ring.free == 0:
            _, out = ring.read()
            assert out[:, 0].tolist() == expected[: len(out)]
            expected = expected[len(out) :]
    _, out = _drain(ring)
    assert out[:, 0].tolist() == expected
    assert ring.dropped == 0


@settings(max_examples=100, deadline=None)
@given(capacity=st.integers(1, 64), total=st.integers(0, 500), block=st.integers(1, 70))
def test_exact_drop_count_when_never_read(capacity, total, block):
    ring = Ring(capacity)
    data = np.arange(total, dtype=np.float32)
    for i in range(0, total, block):
        ring.write(data[i : i + block])
    index, out = _drain(ring)
    kept = min(total, capacity)
    assert ring.dropped == total - kept
    assert out[:, 0].tolist() == data[total - kept :].tolist()
    if kept:
        assert index == total - kept


def test_concurrent_writer_and_reader_lose_nothing_but_counted():
    """A real writer thread and reader thread: every frame is read once or counted as dropped, in order."""
    ring = Ring(256, 2)
    total, block = 200_000, 37
    data = np.repeat(np.arange(total, dtype=np.float32)[:, None], 2, axis=1)

    def writer():
        for i in range(0, total, block):
            ring.write(data[i : i + block])
        ring.close()

    thread = threading.Thread(target=writer)
    thread.start()
    last, count = -1, 0
    while not (ring.closed and ring.available == 0):
        index, out = ring.read()
        if len(out):
            assert np.array_equal(out[:, 0], np.arange(index, index + len(out), dtype=np.float32))
            assert index > last
            last = index + len(out) - 1
            count += len(out)
    thread.join()
    assert count + ring.dropped == total


def test_a_producer_waiting_for_room_loses_nothing_and_is_woken_by_reads():
    """A writer that waits in wait_free before each write (a file's pump) never overwrites unread audio."""
    ring = Ring(256, 1)
    total, block = 100_000, 37
    data = np.arange(total, dtype=np.float32)
    waits = []

    def writer():
        for i in range(0, total, block):
            piece = data[i : i + block]
            if ring.free < len(piece):
                waits.append(ring.wait_free(ring.capacity // 2, 5.0))
            ring.write(piece)
        ring.close()

    thread = threading.Thread(target=writer)
    thread.start()
    got = []
    while not (ring.closed and ring.available == 0):
        index, out = ring.read(50)
        got.append(out[:, 0])
    thread.join()
    assert ring.dropped == 0
    assert np.array_equal(np.concatenate(got), data)
    assert waits and all(waits)  # it did wait, and each wait ended with room (woken, not timed out)


def test_wait_free_without_a_reader_times_out_false():
    ring = Ring(64, 1)
    ring.write(np.zeros(60, np.float32))
    assert ring.wait_free(4, 0.01)
    assert not ring.wait_free(5, 0.01)


@pytest.mark.parametrize("capacity", [0, -3, 2.5, "8"])
def test_bad_capacity_is_named(capacity):
    with pytest.raises(ParameterError, match=f"capacity={capacity!r} must be a positive integer"):
        Ring(capacity)

"""The stages' audio history: what get() returns equals the plain concatenation, across growth and trims."""

import numpy as np

from rtaudio.stages.history import History


def test_history_equals_the_concatenated_signal_across_growth_and_trims():
    rng = np.random.default_rng(3)
    signal = rng.standard_normal(400_000).astype(np.float32)
    h, pos = History(), 1000  # starts at absolute index 1000
    kept_from = pos
    while pos - 1000 < len(signal):
        n = int(rng.integers(1, 5000))
        h.append(pos, signal[pos - 1000 : pos - 1000 + n])
        pos = min(pos + n, 1000 + len(signal))
        if rng.random() < 0.1:
            kept_from = max(kept_from, pos - int(rng.integers(0, 100_000)))
            h.keep_from(kept_from)
        a = int(rng.integers(kept_from, pos + 1))
        b = int(rng.integers(a, pos + 1))
        np.testing.assert_array_equal(h.get(a, b), signal[a - 1000 : b - 1000])
    assert h.end == pos
    assert h.start <= kept_from


def test_history_restarts_after_a_gap_and_clips_to_what_it_holds():
    h = History()
    h.append(0, np.ones(100, np.float32))
    h.append(500, np.full(10, 2.0, np.float32))  # 400 samples were dropped: start again at 500
    assert (h.start, h.end) == (500, 510)
    np.testing.assert_array_equal(h.get(0, 1000), np.full(10, 2.0, np.float32))
    assert len(h.get(505, 505)) == 0

"""Streaming equals batch for the key-moment stages: blocks of 1, 160, 1023, 4096 samples or the whole input."""

import numpy as np
import pytest

from rtaudio.api import analyze
from rtaudio.events import KeyMoment, Tempo
from rtaudio.testing import beat_and_chords, noise

RATE = 16000
STAGES = ["levels", "onsets", "beats", "sections", "moments"]
CONFIG = {"sections": {"kernel_s": 2.0, "min_gap_s": 2.0}}


def _signal(seconds):
    """Drums and chords, a change of texture half-way, then a silence: every kind of moment."""
    half = seconds / 2
    a = beat_and_chords(half, RATE, bpm=120)
    b = 0.5 * beat_and_chords(half - 1.0, RATE, bpm=120, seed=2) + noise(half - 1.0, RATE, 0.05, seed=3)
    return np.concatenate([a, b.astype(np.float32), np.zeros(RATE, np.float32)])


def _moments(events):
    """Key moments and tempi in a canonical order (stages report late, so arrival order depends on the blocks)."""
    found = [e for e in events if isinstance(e, (KeyMoment, Tempo))]
    return sorted(found, key=lambda e: (e.t, type(e).__name__, getattr(e, "kind", "")))


@pytest.fixture(scope="module")
def long_batch():
    x = _signal(16.0)
    return x, _moments(analyze(x, rate=RATE, stages=STAGES, config=CONFIG, block=len(x), max_block=len(x)))


def test_the_signal_has_every_kind(long_batch):
    kinds = {e.kind for e in long_batch[1] if isinstance(e, KeyMoment)}
    assert {"beat", "downbeat", "onset", "section", "silence_start"} <= kinds, kinds


@pytest.mark.parametrize("block", [160, 1023, 4096])
def test_stream_equals_batch(long_batch, block):
    x, expected = long_batch
    got = _moments(analyze(x, rate=RATE, stages=STAGES, config=CONFIG, block=block, max_block=block))
    assert got == expected


@pytest.mark.slow
def test_one_sample_blocks_on_a_short_input():
    x = _signal(5.0)[: int(4.0 * RATE)]
    whole = _moments(analyze(x, rate=RATE, stages=STAGES, config=CONFIG, block=len(x), max_block=len(x)))
    ones = _moments(analyze(x, rate=RATE, stages=STAGES, config=CONFIG, block=1, max_block=1))
    assert ones == whole
    assert any(e.kind == "beat" for e in whole if isinstance(e, KeyMoment))


def test_offline_sections_match_the_online_ones_on_a_clear_change():
    """Two textures, 10 s then 12 s: both modes put the one boundary within 1 s of the change (online needs
    ``kernel_s + min_gap_s / 2`` = 10 s after it)."""
    a = beat_and_chords(10.0, RATE, bpm=120)
    b = (noise(12.0, RATE, 0.2, seed=5) + 0.3 * np.sin(2 * np.pi * 330 * np.arange(12 * RATE) / RATE)).astype(
        np.float32
    )
    x = np.concatenate([a, b])
    for mode in ("online", "offline"):
        events = analyze(x, rate=RATE, stages=["sections"], config={"sections": {"mode": mode}})
        secs = [e for e in events if isinstance(e, KeyMoment)]
        assert len(secs) == 1, (mode, secs)
        assert abs(secs[0].t / RATE - 10.0) <= 1.0 and secs[0].label == "B"


def test_stream_equals_batch_through_the_resampler():
    """A 44.1 kHz source: the stages get 16 kHz from the engine's streaming resampler, still block-invariant."""
    x = beat_and_chords(10.0, 44100, bpm=120)
    whole = _moments(analyze(x, rate=44100, stages=STAGES, config=CONFIG, block=len(x), max_block=len(x)))
    blocks = _moments(analyze(x, rate=44100, stages=STAGES, config=CONFIG, block=1023, max_block=1023))
    assert blocks == whole and any(e.kind == "beat" for e in whole if isinstance(e, KeyMoment))


def test_same_input_same_moments_every_time():
    """The tracker is chaotic on noise (many weak hypotheses): it must still be a deterministic function of its input."""
    x = np.concatenate([noise(6.0, RATE, 0.3, seed=1), _signal(8.0)])
    runs = [_moments(analyze(x, rate=RATE, stages=STAGES, config=CONFIG)) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("block", [160, 4096])
def test_offline_beats_and_moments_stream_equals_batch(long_batch, block):
    """What markers and report run: offline sections, beats and moments, all reported at the end of input."""
    x, _ = long_batch
    config = {**CONFIG, "sections": {**CONFIG["sections"], "mode": "offline"}}
    config.update(beats={"mode": "offline"}, moments={"mode": "offline"})
    whole = _moments(analyze(x, rate=RATE, stages=STAGES, config=config, block=len(x), max_block=len(x)))
    got = _moments(analyze(x, rate=RATE, stages=STAGES, config=config, block=block, max_block=block))
    assert got == whole and any(e.kind == "beat" for e in whole if isinstance(e, KeyMoment))

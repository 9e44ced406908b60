"""The JSONL sink's fast spectrum line is byte for byte the generic record's JSON."""

import json

import numpy as np
import pytest

from rtaudio.events import SpectrumFrame, to_record
from rtaudio.sinks.jsonl import rounded_texts, spectrum_line, spectrum_lines


def _generic(event, rate):
    return json.dumps(to_record(event, rate), ensure_ascii=False)


def test_spectrum_lines_of_a_block_equal_the_generic_records():
    rng = np.random.default_rng(8)
    events = [SpectrumFrame(512 * i, rng.uniform(-140, 40, 61), rng.uniform(-140, 40, 61)) for i in range(5)]
    events.append(SpectrumFrame(512 * 5, rng.uniform(-140, 40, 10), np.array([])))  # other lengths
    assert spectrum_lines(events, 48000) == [_generic(e, 48000) for e in events]
    events.append(SpectrumFrame(512 * 6, np.array([np.nan]), np.array([-np.inf])))  # not finite: all generic
    assert spectrum_lines(events, 48000) == [_generic(e, 48000) for e in events]


def test_spectrum_line_equals_the_generic_record_on_random_levels():
    rng = np.random.default_rng(7)
    for t in (0, 1, 2048, 2048 + 512 * 12345, 48000 * 3600 + 7):
        bands = rng.uniform(-130.0, 10.0, 61)
        peaks = np.round(rng.uniform(-120.0, 6.0, 61), rng.integers(0, 4))
        event = SpectrumFrame(t, bands, peaks)
        for rate in (48000, 44100, 11025):
            assert spectrum_line(event, rate) == _generic(event, rate)


# values where rint(100 v) and Python's correctly rounded round(v, 2) can disagree, signed zeros, extremes
EDGES = [0.125, 1.005, 2.675, 0.285, 1.115, -0.0, 0.0, -0.004, 0.004, -0.005, 0.005, -120.0, -119.995, -130.0]
EDGES += [-130.004, -130.006, 30.0, 30.004, 30.006, 5e-3, 1e7, 3e7, 1e12, -1e300, 1.7e308, 5e-324]


@pytest.mark.parametrize("value", EDGES)
def test_rounded_texts_match_json_of_round_on_edge_values(value):
    assert rounded_texts(np.array([value])) == [json.dumps(round(value, 2))]
    event = SpectrumFrame(512, np.array([value, 1.0]), np.array([-1.0, value]))
    assert spectrum_line(event, 48000) == _generic(event, 48000)


def test_rounded_texts_on_every_half_hundredth():
    """``k / 100 + 0.005`` for k in -12000..1000: the float either side of each half decides the rounding."""
    halves = np.arange(-12000, 1000) / 100 + 0.005
    values = np.concatenate([halves, np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf)])
    assert rounded_texts(values) == [json.dumps(round(float(v), 2)) for v in values]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_values_the_fast_path_cannot_write_take_the_generic_one(bad):
    assert rounded_texts(np.array([1.0, bad])) is None
    event = SpectrumFrame(512, np.array([bad, -3.0]), np.array([-3.0, -2.0]))
    assert spectrum_line(event, 48000) == _generic(event, 48000)

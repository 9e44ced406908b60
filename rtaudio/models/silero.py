"""Silero VAD's ONNX model (the vad stage's speech verifier): where it is and how it is checked.

``silero-vad`` is looked up as every model is (:mod:`rtaudio.models.lookup`); the installed
``silero-vad`` wheel carries it (``pip install --no-deps silero-vad``: its torch dependencies are not
needed, onnxruntime runs the model).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rtaudio.errors import ModelError
from rtaudio.models.lookup import ModelSpec, find

FIX = "install it with: pip install --no-deps silero-vad   (or point $RTAUDIO_SILERO_VAD to silero_vad.onnx)"


#: Files of the silero-vad wheel we run, best first: the sequence export scores many chunks in one
#: call (same probabilities as the streaming export, about half the cost per chunk).
SILERO_FILES = ("silero_vad_16k_sequence.onnx", "silero_vad.onnx")


def _packaged_silero() -> Path | None:
    """The ``data`` folder of the installed ``silero_vad`` wheel, found without importing it (that imports torch)."""
    try:
        found = importlib.util.find_spec("silero_vad")
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    for folder in found.submodule_search_locations:
        data = Path(folder) / "data"
        if any((data / name).is_file() for name in SILERO_FILES):
            return data
    return None


def _onnx_file(path: Path) -> Path:
    """``path`` itself, or the best Silero file inside the folder ``path``."""
    if not path.is_dir():
        return path
    for name in SILERO_FILES:
        if (path / name).is_file():
            return path / name
    raise ModelError(f"silero-vad model folder {str(path)!r} holds none of {', '.join(SILERO_FILES)}; {FIX}")


def _check_silero(path: Path) -> None:
    path = _onnx_file(path)
    with open(path, "rb") as f:
        head = f.read(64)
    # an ONNX file is a protobuf ModelProto: it starts with field 1 (ir_version, varint) = byte 0x08
    if not head or head[0] != 0x08:
        raise ModelError(f"silero-vad model {str(path)!r} is not an ONNX file; expected silero_vad.onnx; {FIX}")


SPEC = ModelSpec(
    name="silero-vad",
    description="Silero VAD v5 (ONNX, 16 kHz): the speech verifier of the vad stage",
    env="RTAUDIO_SILERO_VAD",
    fix=FIX,
    packaged=_packaged_silero,
    check=_check_silero,
)


def silero_model_path(path: str | None = None) -> Path:
    """The Silero VAD ONNX file (see the module docstring for the lookup order)."""
    return _onnx_file(find(SPEC, path))

"""Language-ID models: rtaudio's own ``langid`` (package data) and the ``voxlingua107`` export, found and checked.

A model is an ONNX file with a ``labels.json`` (or ``<name>.json``) beside it; a folder holding
``langid.onnx`` also works. ``langid`` ships inside the package (``rtaudio/models/data/langid/``, written
there by ``models/langid/train_phonotactic.py``; see ``models/langid/MODEL_CARD.md``) and is found through
:mod:`importlib.resources`, so an installed wheel carries it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rtaudio.errors import ModelError
from rtaudio.models.lookup import ModelSpec, find

#: The shipped model: package data of rtaudio (``rtaudio/models/data/langid/``), installed with the wheel.
SHIPPED = Path(str(resources.files("rtaudio.models") / "data" / "langid" / "langid.onnx"))
FIX = (
    "rtaudio's own model ships inside the package as rtaudio/models/data/langid/langid.onnx (+ labels.json); "
    "reinstall rtaudio, or rebuild it with: pip install -e .[train] && python models/langid/train_phonotactic.py, "
    "or pass --langid-model PATH / set $RTAUDIO_LANGID_MODEL"
)


def model_file(path: Path) -> Path:
    return path / "langid.onnx" if path.is_dir() else path


def labels_file(path: Path) -> Path:
    path = model_file(path)
    own = path.with_suffix(".json")
    return own if own.exists() else path.with_name("labels.json")


def check_model(path: Path, fix: str = FIX) -> None:
    onnx = model_file(path)
    if not onnx.is_file():
        raise ModelError(f"langid model {str(onnx)!r} does not exist; {fix}")
    if onnx.stat().st_size < 64:
        raise ModelError(
            f"langid model {str(onnx)!r} is {onnx.stat().st_size} bytes, too small to be an ONNX "
            f"model (truncated download?); {fix}"
        )
    labels = labels_file(path)
    if not labels.is_file():
        raise ModelError(f"langid model {str(onnx)!r} has no label map: expected {str(labels)!r}; {fix}")


def _packaged() -> Path | None:
    return SHIPPED if SHIPPED.exists() else None


SPEC = ModelSpec(
    name="langid",
    description="rtaudio's own spoken-language-ID model (ONNX, 9 languages; see models/langid/MODEL_CARD.md)",
    env="RTAUDIO_LANGID_MODEL",
    fix=FIX,
    packaged=_packaged,
    check=check_model,
)


VOX_FIX = (
    "convert SpeechBrain's VoxLingua107 model once with: pip install 'rtaudio[export]' && "
    "rtaudio models export-langid voxlingua107 (needs the network once, or --checkpoint DIR); "
    "or pass --langid-model PATH / set $RTAUDIO_VOXLINGUA107_MODEL"
)

VOXLINGUA_SPEC = ModelSpec(
    name="voxlingua107",
    description="SpeechBrain's VoxLingua107 ECAPA-TDNN (107 languages) as ONNX, made by "
    "'rtaudio models export-langid voxlingua107'",
    env="RTAUDIO_VOXLINGUA107_MODEL",
    fix=VOX_FIX,
    check=lambda path: check_model(path, VOX_FIX),
)
#: The catalogue entries, by name.
SPECS = {SPEC.name: SPEC, VOXLINGUA_SPEC.name: VOXLINGUA_SPEC}


def resolve_model(name_or_path: str | None) -> Path:
    """The ONNX file for ``name_or_path``: a registry name (``"langid"``, ``"voxlingua107"``), or a path to a file
    or folder."""
    if not name_or_path or name_or_path == "langid":
        return model_file(find(SPEC))
    p = Path(name_or_path)
    if p.exists() or "/" in name_or_path or name_or_path.endswith(".onnx"):
        return model_file(find(SPEC, p))
    if name_or_path not in SPECS:
        raise ModelError(
            f"langid model {name_or_path!r} is neither a file nor a known name ({', '.join(SPECS)}); {FIX}"
        )
    return model_file(find(SPECS[name_or_path]))

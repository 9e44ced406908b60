"""pocketsphinx's US English model (it ships in the pocketsphinx wheel): its catalogue entry and its parts."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from rtaudio.errors import ModelError
from rtaudio.models.lookup import ModelSpec, find


def _packaged_pocketsphinx() -> Path | None:
    try:
        spec = importlib.util.find_spec("pocketsphinx")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "model" / "en-us"
        if path.is_dir():
            return path
    return None


def check_pocketsphinx_model(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` holds a pocketsphinx model: acoustic model folder, LM, dictionary."""
    parts = pocketsphinx_parts(path)
    missing = [what for what, p in parts.items() if p is None]
    if missing:
        raise ModelError(
            f"pocketsphinx model folder {str(path)!r} lacks {', '.join(missing)}; expected a folder "
            "with an acoustic model (mdef, means, ...), a language model (*.lm.bin) and a "
            "dictionary (*.dict), like pocketsphinx's model/en-us"
        )


def pocketsphinx_parts(path: Path) -> dict[str, Path | None]:
    if not path.is_dir():
        return {"acoustic model": None, "language model": None, "dictionary": None}
    hmm = next((p for p in [path, *sorted(path.iterdir())] if p.is_dir() and (p / "mdef").is_file()), None)
    lm = next((p for p in sorted(path.glob("*.lm.bin")) if "phone" not in p.name), None)
    return {"acoustic model": hmm, "language model": lm, "dictionary": next(iter(sorted(path.glob("*.dict"))), None)}


SPEC = ModelSpec(
    name="pocketsphinx-en",
    description="pocketsphinx US English (acoustic model, LM, dictionary; ships in the pocketsphinx wheel)",
    env="RTAUDIO_POCKETSPHINX_MODEL",
    fix="install it with: pip install 'rtaudio[speech]'   (pocketsphinx carries its English model)",
    packaged=_packaged_pocketsphinx,
    check=check_pocketsphinx_model,
)


def find_pocketsphinx(path: str | os.PathLike | None = None) -> Path:
    """The pocketsphinx English model folder."""
    return find(SPEC, path)

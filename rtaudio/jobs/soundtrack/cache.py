"""A folder cache for the expensive, cut-list-independent part of a render: decoded audio, stems, analysis.

A key is the input file's identity (absolute path, size, modification time),
the audio stream, the render rate, the separation backend and
:data:`ANALYSIS_VERSION`; editing the cut list keeps the key, so a re-render
after an edit skips decoding, separation and analysis.  Entries live in
``$RTAUDIO_CACHE/soundtrack/<key>/`` (default ``~/.cache/rtaudio/soundtrack``)
as ``.npy`` arrays (read by window as :class:`~.signal.DiskSignal`; decoding and
separation write them there directly) and one ``.npz`` of analysis; a
10-minute 48 kHz stereo input takes about 230 MB per stored signal.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

#: Bump when features, beats or speech detection change what they compute.
ANALYSIS_VERSION = "soundtrack-analysis-5"


def default_dir() -> Path:
    base = os.environ.get("RTAUDIO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rtaudio"
    )
    return Path(base) / "soundtrack"


def key_for(path: str, *, stream: int, rate: int, separation: str) -> str:
    st = os.stat(path)
    ident = json.dumps([os.path.abspath(path), st.st_size, st.st_mtime_ns, stream, rate, separation, ANALYSIS_VERSION])
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


class Cache:
    """One cache entry (a folder); ``enabled=False`` makes every lookup miss and stores nothing."""

    def __init__(self, root: str | os.PathLike | None, key: str, enabled: bool = True):
        self.root = Path(root) if root else default_dir()
        self.dir = self.root / key
        self.enabled = enabled

    def has(self, name: str) -> bool:
        return self.enabled and (self.dir / name).exists()

    def load_array(self, name: str) -> np.ndarray:
        return np.load(self.dir / f"{name}.npy", mmap_mode="r")

    def save_array(self, name: str, x: np.ndarray) -> None:
        """Store ``x`` (an array, or a DiskSignal: nothing to do when it is this entry's file already)."""
        from rtaudio.jobs.arrays import write
        from rtaudio.jobs.soundtrack.signal import DiskSignal, blocks_of, write_signal

        if not self.enabled:
            return
        target = self.dir / f"{name}.npy"
        if isinstance(x, DiskSignal):
            if x.path.resolve() != target.resolve():
                self._safely(lambda: write_signal(target, blocks_of(x), x.shape[1]))
            return
        self._safely(lambda: write(target, x))

    def load_npz(self, name: str) -> dict:
        from rtaudio.jobs.arrays import read

        return read(self.dir / f"{name}.npz")

    def save_npz(self, name: str, arrays: dict) -> None:
        from rtaudio.jobs.arrays import write

        if not self.enabled:
            return
        self._safely(lambda: write(self.dir / f"{name}.npz", arrays))

    def load_json(self, name: str) -> dict:
        with open(self.dir / f"{name}.json") as f:
            return json.load(f)

    def save_json(self, name: str, data: dict) -> None:
        from rtaudio.outputs import write_text

        if not self.enabled:
            return
        self._safely(lambda: write_text(self.dir / f"{name}.json", json.dumps(data), "the render cache"))

    def _safely(self, write) -> None:
        """Run ``write`` (atomic: :mod:`rtaudio.jobs.arrays`, :func:`rtaudio.outputs.write_text`) into the entry."""
        from rtaudio.errors import ParameterError

        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            write()
        except (OSError, ParameterError):
            # a cache that cannot be written only costs time; the render goes on
            self.enabled = False

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

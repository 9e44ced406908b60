"""A folder cache for the expensive, cut-list-independent part of a render: decoded audio, stems, analysis.

A key is the input file's identity (absolute path, size, modification time),
the audio stream, the render rate, the separation backend and
:data:`ANALYSIS_VERSION`; editing the cut list keeps the key, so a re-render
after an edit skips decoding, separation and analysis.  Entries live in
``$RTAUDIO_CACHE/soundtrack/<key>/`` (default ``~/.cache/rtaudio/soundtrack``)
as ``.npy`` arrays (memory-mapped on reading) and one ``.npz`` of analysis; a
10-minute 48 kHz stereo input takes about 230 MB per stored signal.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

#: Bump when features, beats or speech detection change what they compute.
ANALYSIS_VERSION = "soundtrack-analysis-4"


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
        from rtaudio.jobs.soundtrack.signal import DiskSignal, blocks_of

        if not self.enabled:
            return
        target = self.dir / f"{name}.npy"
        if isinstance(x, DiskSignal):
            if x.path.resolve() != target.resolve():
                self._atomic(f"{name}.npy", lambda f: _save_blocks(f, x, blocks_of(x)))
            return
        self._atomic(f"{name}.npy", lambda f: np.save(f, np.ascontiguousarray(x)))

    def load_npz(self, name: str) -> dict:
        with np.load(self.dir / f"{name}.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def save_npz(self, name: str, arrays: dict) -> None:
        if not self.enabled:
            return
        self._atomic(f"{name}.npz", lambda f: np.savez(f, **arrays))

    def load_json(self, name: str) -> dict:
        with open(self.dir / f"{name}.json") as f:
            return json.load(f)

    def save_json(self, name: str, data: dict) -> None:
        if not self.enabled:
            return
        self._atomic(f"{name}.json", lambda f: f.write(json.dumps(data).encode()))

    def _atomic(self, filename: str, write) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, self.dir / filename)
        except OSError:
            # a cache that cannot be written only costs time; the render goes on
            self.enabled = False

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _save_blocks(f, x, blocks) -> None:
    """Write a (n, channels) float32 ``.npy`` to the open file ``f`` block by block."""
    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": tuple(x.shape)})
    for block in blocks:
        f.write(np.ascontiguousarray(block, np.float32).tobytes())

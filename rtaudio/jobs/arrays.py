"""One array store for the jobs: arrays and dicts of arrays as ``.npy`` / ``.npz`` files, each written whole.

Every write goes to a temporary name in the same folder and is renamed when
complete (:func:`rtaudio.outputs.atomic`), so a reader (another task, a retried
task, the next render reading the cache) never sees half a file, and a killed
writer leaves no file under the final name.  Used by the local executor's
``put`` (:mod:`rtaudio.jobs.executors`), the soundtrack graph's task results,
the chunked separation's parts and the soundtrack cache.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import numpy as np


def write(path: str | os.PathLike, value, what: str = "an array file") -> str:
    """Store ``value`` at ``path``: an array as ``.npy``, a dict of arrays as ``.npz``; return the path.

    An OSError (full disk, unwritable folder) propagates after the temporary file is removed.
    """
    from rtaudio.outputs import atomic

    path = os.fspath(path)
    with atomic(path, what, errors=()) as tmp, open(tmp, "wb") as f:
        if isinstance(value, dict):
            np.savez(f, **value)
        else:
            np.save(f, np.asarray(value), allow_pickle=False)  # (not ascontiguousarray: it makes 0-d arrays 1-d)
    return path


def read(path: str | os.PathLike, mmap: bool = True):
    """What :func:`write` stored: a ``.npy`` array (memory-mapped read-only unless ``mmap=False``) or a
    ``.npz`` dict of arrays (read whole)."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


class Store:
    """A folder of stored values: :meth:`put` a value, get a handle (its path) to :func:`read` anywhere
    on this machine; the folder is temporary unless given, and :meth:`close` removes a temporary one."""

    def __init__(self, folder: str | os.PathLike | None = None, prefix: str = "rtaudio-jobs-"):
        self._tmp = None if folder is not None else tempfile.TemporaryDirectory(prefix=prefix)
        self.folder = os.fspath(folder) if folder is not None else self._tmp.name

    def put(self, value, name: str | None = None) -> str:
        """Store ``value`` (array or dict of arrays) as ``name`` (default: a fresh name); return the handle."""
        ext = ".npz" if isinstance(value, dict) else ".npy"
        return write(os.path.join(self.folder, (name or uuid.uuid4().hex) + ext), value)

    get = staticmethod(read)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

"""Output safety: no output over an input or over another output; every file appears whole.

- :func:`check_paths` compares a run's inputs and outputs after resolving real
  paths (``..``, symlinks, hard links) before anything runs, and raises a
  :class:`ParameterError` naming both paths of a clash.
- :func:`atomic` gives a temporary name in the final file's folder
  (``.NAME.part-<pid>-<host>.EXT``, so format-by-extension writers still work) and renames
  it over the final name only when the block ends without an error: a kill leaves
  no file or the previous complete one.
- :func:`remove_stale` deletes temporary files left by processes of this machine
  that no longer run (``<host>`` tells machines apart on shared storage).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket

from rtaudio.errors import ParameterError

_PART = re.compile(r"^\..+\.part-(\d+)(?:-([0-9a-f]{6}))?(\.[A-Za-z0-9]+)?$")
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]  # this machine, in temporary names


def part_name(path: str | os.PathLike, pid: int | None = None) -> str:
    """The temporary name of ``path``: ``DIR/.STEM.part-PID-HOST.EXT`` (same folder, same extension)."""
    folder, name = os.path.split(os.fspath(path))
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, f".{stem}.part-{os.getpid() if pid is None else pid}-{HOST}{ext}")


def _key(path: str) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` are one file: the same real path, or (both existing) the same inode."""
    a, b = os.fspath(a), os.fspath(b)
    if _key(a) == _key(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


class Claims:
    """Paths a run reads and writes, keyed by real path and inode, to find clashes in one pass.

    :meth:`read` and :meth:`write` record a path with a label (``"-o"``,
    ``"jobs.jsonl line 3: report"``); :meth:`write` raises a :class:`ParameterError`
    naming both paths when the file is already claimed.  ``None``, ``"-"`` and URLs
    are ignored.
    """

    def __init__(self):
        self._reads: dict = {}
        self._writes: dict = {}

    @staticmethod
    def _keys(path: str) -> list:
        keys = [("path", _key(path))]
        try:
            st = os.stat(path)
            keys.append(("inode", st.st_dev, st.st_ino))
        except OSError:
            pass
        return keys

    def read(self, label: str, path) -> None:
        if _is_file_path(path):
            for k in self._keys(os.fspath(path)):
                self._reads.setdefault(k, (label, os.fspath(path)))

    def write(self, label: str, path) -> None:
        if not _is_file_path(path):
            return
        path = os.fspath(path)
        keys = self._keys(path)
        for k in keys:
            if k in self._reads:
                ki, pi = self._reads[k]
                raise ParameterError(
                    f"{label} {path!r} is the same file as {ki} {pi!r}; writing it would destroy the input: "
                    "choose another output path"
                )
            if k in self._writes:
                kp, pp = self._writes[k]
                raise ParameterError(
                    f"{label} {path!r} and {kp} {pp!r} are the same file; each output needs its own path"
                )
        for k in keys:
            self._writes[k] = (label, path)


def check_paths(inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Refuse a run that would write over one of its inputs or write one file twice.

    Parameters
    ----------
    inputs, outputs : dict
        Label (``"the input"``, ``"--cuts"``, ``"-o"``) -> path; ``None`` values, ``"-"``
        and URLs are ignored.  Real paths are compared (``..``, symlinks) and, for
        files that exist, inodes (hard links).
    """
    claims = Claims()
    for label, path in inputs.items():
        claims.read(label, path)
    for label, path in outputs.items():
        claims.write(label, path)


def check_writable(path: str | os.PathLike, what: str) -> str:
    """``path``'s folder exists and is writable (checked before a long run), else a :class:`ParameterError`."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ParameterError(f"{what}={path!r}: the folder {folder!r} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"{what}={path!r}: the folder {folder!r} is not writable")
    if os.path.isdir(path):
        raise ParameterError(f"{what}={path!r} is a folder; expected a file path")
    return path


def _is_file_path(p) -> bool:
    if p is None:
        return False
    p = os.fspath(p)
    return bool(p) and p != "-" and "://" not in p


@contextlib.contextmanager
def atomic(path: str | os.PathLike, what: str = "-o", errors: tuple = (OSError,)):
    """Yield a temporary path next to ``path``; rename it to ``path`` when the block succeeds.

    On an error (or a KeyboardInterrupt) the temporary file is removed and ``path``
    is untouched; stale temporary files of dead processes in the folder go first.
    A full disk or an unwritable folder (an ``errors`` exception) is a
    :class:`ParameterError` naming ``path``.
    """
    path = os.fspath(path)
    remove_stale(os.path.dirname(os.path.abspath(path)))
    tmp = part_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except errors as exc:
        _remove(tmp)
        raise ParameterError(f"cannot write {what} {path!r}: {getattr(exc, 'strerror', None) or exc}") from None
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str | os.PathLike, text: str, what: str = "-o") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic(path, what) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def alive(pid: int) -> bool:
    """True while process ``pid`` runs on this machine: a zombie counts as gone, one that cannot be told
    apart from a running process (another user's) as running. Linux reads ``/proc``, elsewhere ``kill(pid, 0)``."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            return state not in (b"Z", b"X")
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            pass
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def remove_stale(folder: str | os.PathLike) -> list[str]:
    """Remove ``.NAME.part-PID-HOST.EXT`` files in ``folder`` whose process (on this machine) no longer runs.

    Files of other machines (another ``HOST``) are left alone; returns the removed paths.
    """
    folder = os.fspath(folder) or "."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for name in names:
        m = _PART.match(name)
        if m and m.group(2) in (None, HOST) and not alive(int(m.group(1))):
            p = os.path.join(folder, name)
            if os.path.isfile(p):
                _remove(p)
                removed.append(p)
    return removed


__all__ = [
    "Claims",
    "alive",
    "atomic",
    "check_paths",
    "check_writable",
    "part_name",
    "remove_stale",
    "same_file",
    "write_text",
]

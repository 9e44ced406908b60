"""Whole-length signals of a render kept on disk and read by window, so memory follows the window, not the input.

A :class:`DiskSignal` is a ``.npy`` file of (n, channels) float32 read with
``pread`` (never memory-mapped: mapped pages would count in the process's
resident memory as they are read).  It slices like an array: ``s[a:b]`` returns
an in-memory copy of those samples, so code that only slices (:func:`render_stem`,
the join metrics) takes either.  A :class:`SignalWriter` appends blocks and closes
into a DiskSignal; the file appears whole (written under a temporary name, then
renamed).  :class:`Mono` is the channel mean of a signal, computed per slice.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

#: Samples per window when a step walks a whole signal (10 s at 48 kHz; about 8 MB of stereo float64 work).
WINDOW = 480_000


class DiskSignal:
    """A (n, channels) float32 ``.npy`` file, read by slice."""

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            self._offset = f.tell()
        if dtype != np.float32 or fortran or len(shape) != 2:
            raise ValueError(f"{str(self.path)!r} holds {dtype} {shape}; expected a C-order (n, channels) float32")
        self.shape = tuple(int(v) for v in shape)
        self._fd = os.open(self.path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, tuple):  # s[a:b, c]
            return self[key[0]][(slice(None),) + key[1:]]
        if not isinstance(key, slice):
            raise TypeError(f"a DiskSignal takes slices of samples, not {key!r}")
        a, b, step = key.indices(len(self))
        if step != 1:
            raise TypeError(f"a DiskSignal takes slices with step 1, not {step}")
        n, ch = max(0, b - a), self.shape[1]
        out = np.empty((n, ch), np.float32)
        if n:
            view = memoryview(out).cast("B")
            done, start = 0, self._offset + a * ch * 4
            while done < view.nbytes:
                got = os.preadv(self._fd, [view[done:]], start + done)
                if got <= 0:
                    raise OSError(f"{str(self.path)!r} ended before sample {b} of {len(self)}")
                done += got
        return out

    def __array__(self, dtype=None, copy=None):
        x = self[:]
        return x if dtype is None else x.astype(dtype)

    def windows(self, size: int = WINDOW):
        """(start, samples) of consecutive windows of ``size`` samples."""
        for a in range(0, len(self), size):
            yield a, self[a : a + size]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self):
        try:
            self.close()
        except (OSError, AttributeError):
            pass


class SignalWriter:
    """Append (n, channels) float32 blocks to a ``.npy`` file; :meth:`close` returns it as a :class:`DiskSignal`."""

    def __init__(self, path: str | os.PathLike, channels: int):
        self.path = Path(path)
        self.channels = int(channels)
        self.n = 0
        from rtaudio.outputs import part_name, remove_stale

        remove_stale(self.path.parent)
        self._tmp = part_name(self.path)
        self._f = open(self._tmp, "wb")
        self._header_len = self._write_header()

    def _write_header(self) -> int:
        self._f.seek(0)
        header = {"descr": "<f4", "fortran_order": False, "shape": (self.n, self.channels)}
        np.lib.format.write_array_header_1_0(self._f, header)  # padded so the length may grow in place
        return self._f.tell()

    def write(self, block: np.ndarray) -> None:
        x = np.ascontiguousarray(block, dtype=np.float32).reshape(len(block), self.channels)
        self._f.write(x.tobytes())
        self.n += len(x)

    def close(self) -> DiskSignal:
        end = self._f.tell()
        if self._write_header() != self._header_len:  # never: numpy pads the header for the shape to grow
            raise RuntimeError(f"the .npy header of {str(self.path)!r} changed length")
        self._f.seek(end)
        self._f.close()
        os.replace(self._tmp, self.path)
        return DiskSignal(self.path)

    def abort(self) -> None:
        self._f.close()
        try:
            os.unlink(self._tmp)
        except OSError:
            pass


@contextlib.contextmanager
def work_folder(prefix: str = "rtaudio-soundtrack-"):
    """A temporary folder (a Path) for one render's signals, removed after; the folders that renders killed
    on this machine left behind (their process gone) are removed first."""
    from rtaudio.outputs import HOST, alive

    root = tempfile.gettempdir()
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)-{HOST}-")
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            m = pattern.match(name)
            if m and not alive(int(m.group(1))):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-{HOST}-") as folder:
        yield Path(folder)


def write_signal(path: str | os.PathLike, blocks, channels: int) -> DiskSignal:
    """A DiskSignal at ``path`` made of the (n, channels) ``blocks``."""
    w = SignalWriter(path, channels)
    try:
        for block in blocks:
            w.write(block)
    except BaseException:
        w.abort()
        raise
    return w.close()


class Mono:
    """The channel mean of a (n, channels) signal (array or DiskSignal), computed per slice: ``m[a:b]`` is (b-a,).

    The last window read (``WINDOW`` samples from the first slice outside it) is kept, so many short
    slices in order (the joins of a render) read the file once."""

    ndim = 1

    def __init__(self, signal):
        self.signal = signal
        self._n = len(signal)
        self._at, self._held = 0, np.zeros(0, np.float32)

    def __len__(self) -> int:
        return self._n

    @property
    def shape(self) -> tuple[int]:
        return (self._n,)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice) and key.step in (None, 1):
            a, b, _ = key.indices(self._n)
            b = max(a, b)
            at, held = self._at, self._held
            if not (at <= a and b <= at + len(held)) and b - a <= WINDOW:
                self._at, self._held = at, held = a, self._mean(self.signal[a : a + WINDOW])
            if at <= a and b <= at + len(held):
                return held[a - at : b - at].copy()
        return self._mean(self.signal[key])

    @staticmethod
    def _mean(x: np.ndarray) -> np.ndarray:
        return x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]


def mono_of(signal):
    """(n,) mean over channels: an array for an array, a :class:`Mono` for a DiskSignal."""
    if isinstance(signal, DiskSignal):
        return Mono(signal)
    return signal.mean(axis=1) if signal.ndim == 2 and signal.shape[1] > 1 else signal.reshape(len(signal))


def add_spans(dest, signals: list[list[tuple[int, object]]], n: int, channels: int):
    """A DiskSignal at ``dest`` of ``n`` samples: the sum over ``signals`` (in order) of each one's spans, written by
    window.  ``signals[k]`` is a list of ``(start, x)``: ``x`` (array or DiskSignal) sits at samples
    ``[start, start + len(x))`` and its spans add in order onto zeros (what rendering them into one array gives)."""
    writer = SignalWriter(dest, channels)
    try:
        for a in range(0, n, WINDOW):
            m = min(WINDOW, n - a)
            total = None
            for spans in signals:
                acc = np.zeros((m, channels), np.float32)
                for start, x in spans:
                    lo, hi = max(a, start), min(a + m, start + len(x))
                    if hi > lo:
                        acc[lo - a : hi - a] += x[lo - start : hi - start]
                total = acc if total is None else total + acc
            writer.write(total if total is not None else np.zeros((m, channels), np.float32))
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def blocks_of(signal, size: int = WINDOW):
    """Consecutive windows of ``size`` samples of an array or a DiskSignal."""
    for a in range(0, len(signal), size):
        yield signal[a : a + size]


def mono_at(signal, rate: int, target: int) -> np.ndarray:
    """(n,) float32 channel mean of ``signal`` resampled from ``rate`` to ``target`` Hz (soxr, one pass; a
    DiskSignal gives a (n, 1) DiskSignal of it in a temporary file, streamed: the same samples)."""
    import soxr

    if isinstance(signal, DiskSignal):
        folder = tempfile.mkdtemp(prefix="rtaudio-mono-")
        path = os.path.join(folder, "mono.npy")
        try:
            return write_signal(path, (c[:, None] for c in mono_chunks(signal, rate, target)), 1)
        finally:  # the open DiskSignal keeps reading its file after the name is gone
            if os.path.exists(path):
                os.unlink(path)
            os.rmdir(folder)
    mono = signal if signal.ndim == 1 else signal.mean(axis=1)
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    return mono if rate == target else soxr.resample(mono, rate, target).astype(np.float32)


def mono_chunks(signal, rate: int, target: int, size: int = WINDOW):
    """Consecutive chunks of ``size`` samples (the last shorter) of the channel mean of a DiskSignal resampled
    from ``rate`` to ``target`` Hz by a soxr stream (what :func:`soxr.resample` gives in one pass)."""
    import soxr

    mono, n = Mono(signal), len(signal)
    stream = None if rate == target else soxr.ResampleStream(rate, target, 1, dtype="float32")
    pending, held = [], 0
    for a in range(0, n, WINDOW):
        part = np.ascontiguousarray(mono[a : a + WINDOW], np.float32)
        if stream is not None:
            part = stream.resample_chunk(part, last=a + WINDOW >= n)
        pending.append(part)
        held += len(part)
        if held >= size:
            buf = np.concatenate(pending)
            k = (len(buf) // size) * size
            yield from (buf[i : i + size] for i in range(0, k, size))
            pending, held = [buf[k:]], len(buf) - k
    if held:
        yield np.concatenate(pending)


def stage_input(signal, rate: int, block: int = 4096):
    """What :func:`rtaudio.api.analyze` takes for ``signal``: the array, or a source reading a DiskSignal by
    window in the blocks an array source would write (``block`` samples)."""
    if not isinstance(signal, DiskSignal):
        return np.ascontiguousarray(signal, dtype=np.float32)
    from rtaudio.sources.array import ArraySource

    class SignalSource(ArraySource):
        def __init__(self):  # noqa: D107 - ArraySource's attributes, without holding the samples
            self.samples = signal
            self.rate = rate
            self.channels = signal.shape[1]
            self.layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
            self.duration_s = len(signal) / rate
            self.description = str(signal.path)
            self.block = block
            self.realtime = False

        def blocks(self, report):
            step = block * max(1, WINDOW // block)
            for a in range(0, len(signal), step):
                w = signal[a : a + step]
                for i in range(0, len(w), block):
                    yield w[i : i + block]

    return SignalSource()

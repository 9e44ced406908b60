"""One long input's separation as a task graph: overlapping chunks on parallel workers, joined by overlap-add.

The input is stored once (:meth:`put`: a ``.npy`` file the local workers memory-map,
or a Ray object) and every chunk task reads its own slice.  A chunk is one
of the :class:`~rtaudio.jobs.separation.Separator`'s own segments (``segment``
samples, advancing by ``segment - overlap``; 30 s and 2 s for ``dsp``), separated
whole, and the join is the Separator's own sin²/cos² cross-fade over the overlap,
so the result is what one Separator computes over the whole input, to float
rounding (checked in ``tests/test_batch.py``).  Local workers write
their stems to ``.npy`` files and return the path; Ray workers return arrays
through the object store.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.jobs.graph import Task, run_graph


def plan_chunks(n: int, segment: int, overlap: int, segments_per_chunk: int) -> list[tuple[int, int]]:
    """Sample ranges ``[start, end)`` of the chunks; neighbours overlap by ``overlap`` samples."""
    if segments_per_chunk < 1:
        raise ParameterError(f"segments_per_chunk={segments_per_chunk!r} must be >= 1")
    step = segment - overlap
    chunks = []
    start = 0
    while True:
        end = min(n, start + (segments_per_chunk - 1) * step + segment)
        chunks.append((start, end))
        if end >= n:
            return chunks
        start = end - overlap


def separate_chunk(stored, start: int, end: int, rate: int, backend: str, out_dir: str | None = None):
    """Separate ``x[start:end]`` (``x`` as stored by an executor's ``put``) into 2 stems.

    Returns ``{stem: array}``, or with ``out_dir`` the path of an ``.npz`` holding them.
    """
    from rtaudio.jobs import separation as sep
    from rtaudio.jobs.executors import fetch

    x = np.ascontiguousarray(fetch(stored)[start:end], dtype=np.float32)
    # the whole chunk as one segment (no overlap inside): exactly what a Separator computes for that segment
    params = sep.SeparationParams(stems=2, backend=backend, segment_s=len(x) / rate, overlap_s=0.0)
    with sep.Separator(params, rate=rate, channels=x.shape[1]) as s:
        stems = s.separate(x, rate)
    if out_dir is None:
        return stems
    from rtaudio.jobs.arrays import write

    return write(os.path.join(out_dir, f"stems-{start}-{end}.npz"), stems)  # a retried task overwrites it whole


def join_chunks(
    parts: list[dict], chunks: list[tuple[int, int]], overlap: int, fade: np.ndarray, shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Overlap-add the chunks' stems (``parts[i]`` is ``{stem: array}`` of ``chunks[i]``) into ``shape`` arrays.

    Each chunk fades in under the previous one's faded-out tail (the Separator's
    ``fade``, ``overlap`` samples long), so the sum is what one Separator computes.
    """
    result = {}
    for i, ((a, b), part) in enumerate(zip(chunks, parts, strict=True)):
        for name, y in part.items():
            acc = result.setdefault(name, np.zeros(shape, np.float32))
            y = np.array(y, np.float32)
            if i > 0 and overlap:  # fade in under the previous chunk's faded-out tail
                y[:overlap] *= fade
            if i < len(chunks) - 1 and overlap:
                y[-overlap:] *= 1.0 - fade
            acc[a:b] += y
    return result


def join_chunks_to(
    folder, names: dict[str, str], parts, chunks: list[tuple[int, int]], overlap: int, fade: np.ndarray, channels: int
) -> dict:
    """:func:`join_chunks` by chunk into DiskSignals ``folder/NAME.npy`` (``names``: stem -> NAME): memory holds
    one chunk, not the input.  ``parts`` yields each chunk's ``{stem: array}`` in order; the sums are the same
    floats as :func:`join_chunks` (each chunk added onto zeros plus the previous chunk's faded tail).
    Returns ``{NAME: DiskSignal}``."""
    from pathlib import Path

    from rtaudio.jobs.soundtrack.signal import SignalWriter

    writers = {s: SignalWriter(Path(folder) / f"{name}.npy", channels) for s, name in names.items()}
    tails: dict = {}
    try:
        for i, ((a, b), part) in enumerate(zip(chunks, parts, strict=True)):
            last = i == len(chunks) - 1
            for s, w in writers.items():
                y = np.array(part[s], np.float32).reshape(b - a, channels)
                if i > 0 and overlap:
                    y[:overlap] *= fade
                if not last and overlap:
                    y[-overlap:] *= 1.0 - fade
                acc = np.zeros((b - a, channels), np.float32)
                if s in tails:
                    acc[: len(tails[s])] += tails[s]
                acc += y
                keep = 0 if last else overlap
                w.write(acc[: len(acc) - keep])
                tails[s] = acc[len(acc) - keep :]
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    return {names[s]: w.close() for s, w in writers.items()}


def separate_chunked(x: np.ndarray, rate: int, executor, *, backend: str = "dsp") -> dict[str, np.ndarray]:
    """2-stem separation of ``x`` ((n, channels) float32) as parallel chunk tasks on ``executor``.

    Parameters
    ----------
    x : ndarray, (n, channels) float32
    rate : int, Hz
    executor : LocalExecutor or RayExecutor
    backend : str
        Separation backend (``dsp`` needs no weights).

    Returns
    -------
    dict
        ``{"vocals": (n, channels), "accompaniment": (n, channels)}``.
    """
    from rtaudio.jobs import separation as sep

    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or not len(x):
        raise ParameterError(f"x has shape {x.shape}; expected (samples, channels) with samples > 0")
    with sep.Separator(sep.SeparationParams(stems=2, backend=backend), rate=rate, channels=x.shape[1]) as probe:
        if probe.work_rate != rate:
            raise ParameterError(
                f"backend {backend!r} works at {probe.work_rate} Hz; chunked separation needs a "
                f"backend working at the input's rate ({rate} Hz), e.g. dsp"
            )
        segment, overlap, fade = probe.segment, probe.overlap, sep.fade(probe.overlap)
    chunks = plan_chunks(len(x), segment, overlap, 1)
    stored = executor.put(x)
    tmp = tempfile.TemporaryDirectory(prefix="rtaudio-chunks-") if executor.name == "local" else None
    try:
        tasks = [
            Task(f"chunk{i}", separate_chunk, (stored, a, b, rate, backend, tmp.name if tmp else None))
            for i, (a, b) in enumerate(chunks)
        ]
        out = run_graph(tasks, executor)
        bad = [o for o in out.values() if not o.ok]
        if bad:
            raise RuntimeError(f"chunk {bad[0].key} failed: {bad[0].error_type}: {bad[0].error}")
        parts = []
        for i in range(len(chunks)):
            part = out[f"chunk{i}"].result
            if isinstance(part, str):
                from rtaudio.jobs.arrays import read

                part = read(part)
            parts.append(part)
        result = join_chunks(parts, chunks, overlap, fade, x.shape)
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()

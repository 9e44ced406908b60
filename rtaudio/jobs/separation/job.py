"""Stem separation on buffered segments: the :class:`Separator` job, its parameters and its backend.

One :class:`Separator` holds one backend (one model session) for the whole job and takes audio in
blocks of any size: it cuts the stream into overlapping segments at the backend's rate, separates
each, and cross-fades the overlaps (sin²/cos², summing to one), so memory stays bounded by a segment
whatever the input's length, and a live stream comes out a segment behind. The stems come back at
the input's rate with the input's channels, and exactly as many samples as went in.

Backends (``backend=``):

``spleeter``
    Deezer's spleeter models with TensorFlow (extra ``[spleeter]``, its own venv: it pins
    numpy<2), through spleeter's own model code, in one TF session for the job.
``onnx``
    A spleeter checkpoint exported to ONNX (``rtaudio models export-spleeter``), run with onnxruntime;
    the STFT and inverse STFT are done in numpy exactly as spleeter does them.
``dsp``
    No weights: a repeating-pattern and steady-bin model of the accompaniment with a Wiener mask
    (2 stems only; see :mod:`rtaudio.jobs.separation.dsp`).
``auto``
    onnx, then spleeter, when a real pretrained model is installed; otherwise dsp, and
    :attr:`Separator.note` says so in one line.

Models are found through :mod:`rtaudio.models.registry` (``spleeter-2stems``, ``spleeter-4stems``,
``spleeter-5stems`` and their ``-onnx`` exports; formats in :mod:`rtaudio.models.spleeter`). Models
built by rtaudio's tests carry a ``RTAUDIO_TEST_MODEL`` file: ``auto`` never picks them and their
output is labelled as such.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rtaudio.errors import InputError, ModelError, ParameterError
from rtaudio.jobs.separation.base import fade, level_gain
from rtaudio.models import registry
from rtaudio.models.spleeter import STEM_NAMES, is_test_model
from rtaudio.outputs import check_paths, part_name, remove_stale, write_text
from rtaudio.sources.base import check_finite

BACKENDS = ("auto", "spleeter", "onnx", "dsp")


# ----------------------------------------------------------------------------------------- params


@dataclass(frozen=True)
class SeparationParams:
    """What to separate and how.

    Attributes
    ----------
    stems : {2, 4, 5}
        Stem count, named as spleeter names them (:data:`STEM_NAMES`).
    backend : {"auto", "spleeter", "onnx", "dsp"}
    model : str or None
        Model folder (spleeter checkpoint folder, or an exported ONNX folder); None = the registry's.
    segment_s : float > 0 or None, seconds
        Segment length; None = the backend's default (dsp 30 s, spleeter 23.8 s, onnx 23.8 s).
    overlap_s : float >= 0 or None, seconds
        Cross-fade between segments; None = the backend's default (2 s dsp, 1 s spleeter/onnx).
    frames : int or None
        onnx only: STFT frames per network call, a multiple of 64 (64 = 1.49 s for low latency,
        512 = spleeter's own). None = 512.
    dsp : DspParams or None
        dsp backend parameters (None = defaults).
    dialogue : bool
        2 stems, ``auto``/``onnx``, no ``model``: separate *dialogue* from music, i.e. the vocals stem
        keeps speech and the singing goes to the accompaniment, with ``spleeter-2stems-dialogue``
        (spleeter fine-tuned for dialogue, built by ``make dialogue-model``) when it is built; else
        plain spleeter (its vocals keep the singing), saying so in the note.
    """

    stems: int = 2
    backend: str = "auto"
    model: str | None = None
    segment_s: float | None = None
    overlap_s: float | None = None
    frames: int | None = None
    dsp: object = field(default=None)
    dialogue: bool = False

    def __post_init__(self):
        if not isinstance(self.dialogue, bool):
            raise ParameterError(f"dialogue={self.dialogue!r} must be True or False", params=("dialogue",))
        if isinstance(self.stems, bool) or self.stems not in STEM_NAMES:
            raise ParameterError(f"stems={self.stems!r} must be 2, 4 or 5", params=("stems",))
        if self.backend not in BACKENDS:
            raise ParameterError(f"backend={self.backend!r} must be one of {', '.join(BACKENDS)}", params=("backend",))
        if self.segment_s is not None and not (
            isinstance(self.segment_s, (int, float)) and math.isfinite(self.segment_s) and self.segment_s > 0
        ):
            raise ParameterError(f"segment_s={self.segment_s!r} must be a positive number of seconds")
        if self.overlap_s is not None and not (
            isinstance(self.overlap_s, (int, float)) and math.isfinite(self.overlap_s) and self.overlap_s >= 0
        ):
            raise ParameterError(f"overlap_s={self.overlap_s!r} must be a number of seconds >= 0")
        if self.frames is not None and (
            isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames <= 0 or self.frames % 64
        ):
            raise ParameterError(f"frames={self.frames!r} must be a positive multiple of 64 (64 = 1.49 s at 44.1 kHz)")


# --------------------------------------------------------------------------------------- backends


def open_backend(params: SeparationParams):
    """The backend for ``params`` and a one-line note on the choice (None when nothing to say)."""
    from rtaudio.errors import MissingDependencyError

    stems = params.stems
    note = None
    if params.dialogue and stems == 2 and params.backend in ("auto", "onnx") and not params.model:
        from rtaudio.models.spleeter_dialogue import NAME

        try:
            path = registry.resolve(NAME)
            from rtaudio.jobs.separation.onnx import OnnxBackend

            backend = OnnxBackend(path, stems=2, frames=params.frames)
            backend.model["name"] = NAME
            return backend, None
        except (ModelError, MissingDependencyError) as exc:
            note = f"dialogue: {NAME} unusable, so the vocals stem keeps any singing ({exc})"
    backend, why = _open_backend(params)
    return backend, "; ".join(t for t in (note, why) if t) or None


def _open_backend(params: SeparationParams):
    from rtaudio.errors import MissingDependencyError

    stems = params.stems
    if params.backend == "dsp":
        from rtaudio.jobs.separation.dsp import DspBackend

        return DspBackend(params.dsp, stems=stems), None
    if params.backend == "spleeter":
        from rtaudio.errors import require
        from rtaudio.jobs.separation.tf import SpleeterBackend

        require("spleeter", "spleeter")  # before looking for a model: the missing extra is the first fix

        path = registry.resolve(f"spleeter-{stems}stems", params.model)
        return SpleeterBackend(path, stems=stems), _test_note(path)
    if params.backend == "onnx":
        from rtaudio.errors import require
        from rtaudio.jobs.separation.onnx import OnnxBackend

        require("onnxruntime", "stems-onnx")

        path = registry.resolve(f"spleeter-{stems}stems-onnx", params.model)
        return OnnxBackend(path, stems=stems, frames=params.frames), _test_note(path)
    # auto: a real pretrained model if there is one, else dsp, saying why
    reasons, missing = [], []
    for kind, name in (("onnx", f"spleeter-{stems}stems-onnx"), ("spleeter", f"spleeter-{stems}stems")):
        try:
            path = registry.resolve(name, params.model)
        except ModelError as exc:
            text = str(exc).split("; ")[0]
            (missing if text.startswith("no ") else reasons).append(name if text.startswith("no ") else text)
            continue
        if is_test_model(path):
            reasons.append(f"{name} at {str(path)!r} is a test model (random weights), not used by auto")
            continue
        try:
            if kind == "onnx":
                from rtaudio.jobs.separation.onnx import OnnxBackend

                return OnnxBackend(path, stems=stems, frames=params.frames), None
            from rtaudio.jobs.separation.tf import SpleeterBackend

            return SpleeterBackend(path, stems=stems), None
        except MissingDependencyError as exc:
            reasons.append(f"{name} found at {str(path)!r} but {exc}")
    why = "; ".join(([f"no pretrained model installed ({', '.join(missing)})"] if missing else []) + reasons)
    if stems != 2:
        raise ModelError(
            f"stems={stems} needs a pretrained spleeter model and none is usable: {why}; get one "
            f"with 'rtaudio models fetch spleeter-{stems}stems' (see 'rtaudio models list')",
            params=("stems",),
        )
    from rtaudio.jobs.separation.dsp import DspBackend

    return DspBackend(params.dsp, stems=2), (
        f"auto: separating with the dsp backend (no weights, far below spleeter's quality): {why}; "
        "get one with 'rtaudio models fetch spleeter-2stems'"
    )


def _test_note(path: Path) -> str | None:
    if is_test_model(path):
        return (
            f"warning: {str(path)!r} is a test model built by rtaudio's tests (random weights): its stems "
            "are not a separation"
        )
    return None


# -------------------------------------------------------------------------------------- the job


class Separator:
    """Separate a stream into stems, segment by segment, with one backend for the whole job.

    Parameters
    ----------
    params : SeparationParams
    rate : int > 0, Hz
        Rate of the input (and of the stems).
    channels : int >= 1
        Channels of the input (and of the stems).
    backend : object, optional
        An open backend to use instead of opening one from ``params`` (tests, several jobs in a row).

    Attributes
    ----------
    stems : tuple of str
        Stem names, in the order of the outputs.
    note : str or None
        One line on the backend choice (``auto`` falling back to dsp, a test model), for the user.
    work_rate : int, Hz
        Rate the backend runs at (spleeter: 44100).

    Use :meth:`process` for each block and :meth:`flush` at the end (live), or :meth:`separate` for
    an array. Each returns ``{stem: (k, channels) float32}``; over the whole stream the stems have as
    many samples as the input.
    """

    def __init__(self, params: SeparationParams | None = None, *, rate: int, channels: int, backend=None):
        from rtaudio.sources.base import check_channels, check_rate

        self.params = params or SeparationParams()
        self.rate = check_rate(rate, "rate")
        self.channels = check_channels(channels, "channels")
        if backend is None:
            backend, self.note = open_backend(self.params)
        else:
            self.note = None
        self.backend = backend
        self.stems = tuple(backend.stems)
        self.work_rate = int(backend.rate or self.rate)
        seg_s = self.params.segment_s or backend.segment_s
        ovl_s = backend.overlap_s if self.params.overlap_s is None else self.params.overlap_s
        self.segment = max(1, int(round(seg_s * self.work_rate)))
        self.overlap = min(int(round(ovl_s * self.work_rate)), self.segment // 2)
        self._fade_in = fade(self.overlap)
        self._buf = np.zeros((0, self.channels), np.float32)  # start of the next segment
        self._parts, self._count = [], 0  # blocks after it, and the samples in buf + parts
        self._pending = None  # faded-out tail of the last segment, (stems, overlap, channels)
        self._segments = 0
        self._in = 0  # input samples taken
        self._out = 0  # output samples given
        if self.work_rate != self.rate:
            import soxr

            self._down = soxr.ResampleStream(self.rate, self.work_rate, self.channels, dtype="float32")
            self._up = [
                soxr.ResampleStream(self.work_rate, self.rate, self.channels, dtype="float32") for _ in self.stems
            ]
        else:
            self._down = self._up = None

    # -- streaming
    def process(self, block: np.ndarray) -> dict[str, np.ndarray]:
        """Take ``block`` ((n, channels) or (n,) float) and return the stem samples that are ready."""
        x = self._check(block)
        self._in += len(x)
        if self._down is not None:
            x = self._down.resample_chunk(x)
        self._parts.append(x)  # gathered in a list: no copying per block
        self._count += len(x)
        ready = []
        if self._count < self.segment:
            return self._emit(ready, last=False)
        self._buf = np.concatenate([self._buf, *self._parts])
        self._parts, self._count = [], 0
        while len(self._buf) >= self.segment and len(self._buf) > self.overlap:
            ready.append(self._segment(self._buf[: self.segment], last=False))
            self._buf = self._buf[self.segment - self.overlap :]
        self._count = len(self._buf)
        return self._emit(ready, last=False)

    def flush(self) -> dict[str, np.ndarray]:
        """Separate what is buffered and return the rest of the stems (the stream has ended)."""
        if self._down is not None:
            self._parts.append(self._down.resample_chunk(np.zeros((0, self.channels), np.float32), last=True))
        self._buf = np.concatenate([self._buf, *self._parts])
        self._parts, self._count = [], 0
        ready = []
        if len(self._buf):  # what is left, faded in under the tail of the previous segment
            ready.append(self._segment(self._buf, last=True))
        elif self._pending is not None:  # overlap 0: the tail is already complete
            ready.append(self._pending)
        self._buf = self._buf[:0]
        self._pending = None
        return self._emit(ready, last=True)

    def separate(self, samples: np.ndarray, rate: int | None = None) -> dict[str, np.ndarray]:
        """Separate a whole array ((n,) or (n, channels)); returns ``{stem: array of the same shape}``."""
        if rate is not None and rate != self.rate:
            raise ParameterError(f"rate={rate} differs from this Separator's rate={self.rate}; make a new one")
        x = np.asarray(samples, dtype=np.float32)
        mono = x.ndim == 1
        parts = [self.process(x[i : i + self.segment]) for i in range(0, len(x), self.segment)] + [self.flush()]
        out = {s: np.concatenate([p[s] for p in parts]) for s in self.stems}
        return {s: (v[:, 0] if mono else v) for s, v in out.items()}

    def close(self) -> None:
        """Release the backend's model session."""
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals
    def _check(self, block) -> np.ndarray:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise InputError(f"block of shape {np.shape(block)} must be (n, {self.channels}) for this Separator")
        check_finite(x, self._in, self.rate, "the Separator's input")
        return x

    def _segment(self, seg: np.ndarray, *, last: bool) -> np.ndarray:
        """Separate one segment; returns the finished part (stems, k, channels), keeps the faded tail."""
        gain = level_gain(seg) if getattr(self.backend, "level_normalize", False) else 1.0
        y = np.asarray(self.backend.separate(np.ascontiguousarray(seg * gain), self.work_rate), np.float32)
        if gain != 1.0:
            y /= np.float32(gain)
        o = min(self.overlap, len(seg))
        if self._pending is not None:
            o_prev = self._pending.shape[1]
            y[:, :o_prev] = y[:, :o_prev] * self._fade_in[:o_prev] + self._pending
        self._segments += 1
        if last:
            self._pending = None
            return y
        keep = y[:, len(seg) - o :] * (1.0 - self._fade_in[:o])
        self._pending = keep
        return y[:, : len(seg) - o]

    def _emit(self, ready: list, *, last: bool) -> dict[str, np.ndarray]:
        if ready:
            y = np.concatenate(ready, axis=1)
        else:
            y = np.zeros((len(self.stems), 0, self.channels), np.float32)
        out = {}
        for i, s in enumerate(self.stems):
            v = y[i]
            if self._up is not None:
                v = self._up[i].resample_chunk(np.ascontiguousarray(v), last=last)
            out[s] = v
        # exactly as many samples out as in: the resamplers may differ by a few at the end
        n = len(next(iter(out.values())))
        allowed = self._in - self._out
        if last and n < allowed:
            out = {s: np.concatenate([v, np.zeros((allowed - n, self.channels), np.float32)]) for s, v in out.items()}
            n = allowed
        if n > allowed:
            out = {s: v[:allowed] for s, v in out.items()}
            n = allowed
        self._out += n
        return out


# ------------------------------------------------------------------------------------- file job


def separate_file(
    path: str,
    out_dir: str,
    params: SeparationParams | None = None,
    *,
    fmt: str = "wav",
    stream: int = 0,
    separator: Separator | None = None,
    progress=None,
) -> dict:
    """Separate the audio of ``path`` into one file per stem in ``out_dir``; returns the summary.

    Parameters
    ----------
    path : str
        Audio or video file (anything :class:`rtaudio.sources.av.FileSource` opens).
    out_dir : str
        Folder for ``<stem>.<fmt>`` and ``separation.json`` (created if missing).
    params : SeparationParams
    fmt : {"wav", "flac"}
        WAV is written as 32-bit float (the stems add back to the input exactly), FLAC as 24-bit.
    stream : int
        Audio stream of a container (0 = first).
    separator : Separator, optional
        Reuse an open separator (and its model session); its rate and channels must match the input.
    progress : callable (seconds done) -> None, optional

    Returns
    -------
    dict
        The summary also written to ``out_dir/separation.json``.
    """
    import soundfile as sf

    from rtaudio.sources.av import FileSource

    if fmt not in ("wav", "flac"):
        raise ParameterError(f"fmt={fmt!r} must be wav or flac", params=("fmt",))
    params = params or SeparationParams()
    source = FileSource(path, stream=stream)
    out = Path(out_dir)
    _prepare_dir(out)
    started = time.perf_counter()
    sep = separator or Separator(params, rate=source.rate, channels=source.channels)
    if sep.rate != source.rate or sep.channels != source.channels:
        raise ParameterError(
            f"the Separator is for {sep.rate} Hz, {sep.channels} ch; {path!r} is {source.rate} Hz, {source.channels} ch"
        )
    subtype = "FLOAT" if fmt == "wav" else "PCM_24"
    files = {s: out / f"{s}.{fmt}" for s in sep.stems}
    try:
        check_paths(
            {"the input": path},
            {**{f"the {s} stem": str(f) for s, f in files.items()}, "the summary": str(out / "separation.json")},
        )
    except ParameterError:
        source.close()
        if separator is None:
            sep.close()
        raise
    remove_stale(out)
    parts = {s: part_name(f) for s, f in files.items()}  # stems appear under their names only when complete
    writers = {}
    written = 0
    complete = False
    try:
        for s, f in files.items():
            try:
                writers[s] = sf.SoundFile(
                    parts[s], "w", samplerate=source.rate, channels=source.channels, subtype=subtype, format=fmt.upper()
                )
            except (OSError, RuntimeError, sf.LibsndfileError) as exc:
                raise InputError(f"cannot write {str(f)!r} ({exc}); expected a writable output folder") from None
        for block in source.blocks(lambda event: None):
            check_finite(block, sep._in, source.rate, repr(path))
            ready = sep.process(block)
            for s, v in ready.items():
                writers[s].write(v)
            written += len(next(iter(ready.values())))
            if progress:
                progress(written / source.rate)
        for s, v in sep.flush().items():
            writers[s].write(v)
        samples = sep._in
        for w in writers.values():
            w.close()
        complete = True
    except (OSError, sf.LibsndfileError) as exc:
        raise ParameterError(
            f"cannot write the stems into {str(out)!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    finally:
        for w in writers.values():
            w.close()
        source.close()
        if separator is None:
            sep.close()
        for s, f in files.items():
            if complete:
                os.replace(parts[s], f)
            elif os.path.exists(parts[s]):
                os.remove(parts[s])
    seconds = time.perf_counter() - started
    duration = samples / source.rate
    summary = {
        "input": os.path.abspath(path),
        "rate": source.rate,
        "channels": source.channels,
        "duration_s": round(duration, 6),
        "samples": samples,
        "stems": {s: str(f) for s, f in files.items()},
        "format": fmt,
        "subtype": subtype,
        "backend": sep.backend.name,
        "model": sep.backend.model,
        "segment_s": round(sep.segment / sep.work_rate, 6),
        "overlap_s": round(sep.overlap / sep.work_rate, 6),
        "work_rate": sep.work_rate,
        "seconds": round(seconds, 3),
        "speed_x_realtime": round(duration / seconds, 2) if seconds > 0 else None,
        "note": sep.note,
    }
    write_text(out / "separation.json", json.dumps(summary, indent=2) + "\n", "the summary")
    return summary


def _prepare_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"output {str(out)!r} is a file; expected a folder for the stems")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {str(out)!r} ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"output folder {str(out)!r} is not writable; expected a folder you can write to")

"""Audio operations of the soundtrack: pieces to a stem, fades, zero crossings, loudness, limiter, files."""

from __future__ import annotations

import math
import os

import numpy as np

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.soundtrack.plan import Piece
from rtaudio.jobs.soundtrack.signal import blocks_of

#: How far (s) a fade edge may move to reach a zero crossing.
ZERO_CROSS_S = 0.002
#: Formats :func:`write_audio` writes, by extension.
AUDIO_FORMATS = {".wav": "wav", ".flac": "flac", ".m4a": "aac", ".aac": "aac", ".mp4": "aac"}


def picture_offsets(src: list[tuple[float, float]], starts: list[float], rate: int) -> list[int]:
    """Source minus output index (samples) of each segment in sync with its picture (``starts``: output start, s)."""
    return [int(round(s * rate)) - int(round(o * rate)) for (s, _), o in zip(src, starts, strict=True)]


def zero_crossing(mono: np.ndarray, index: int, reach: int) -> int:
    """The sample index nearest ``index`` (within ``reach``) where ``mono`` changes sign; ``index`` if none."""
    lo, hi = max(1, index - reach), min(len(mono) - 1, index + reach)
    if hi <= lo:
        return index
    seg = mono[lo - 1 : hi + 1]
    cross = np.nonzero(np.signbit(seg[:-1]) != np.signbit(seg[1:]))[0] + lo
    if len(cross) == 0:
        return index
    return int(cross[np.argmin(np.abs(cross - index))])


def _curve(n: int, shape: str, rising: bool) -> np.ndarray:
    if n <= 0:
        return np.ones(0, np.float32)
    u = (np.arange(n) + 0.5) / n
    if shape == "power":
        g = np.sin(0.5 * np.pi * u) if rising else np.cos(0.5 * np.pi * u)
    else:
        g = 0.5 - 0.5 * np.cos(np.pi * u) if rising else 0.5 + 0.5 * np.cos(np.pi * u)
    return g.astype(np.float32)


def _take(src: np.ndarray, start: int, n: int) -> np.ndarray:
    """``src[start:start+n]`` with zeros outside the signal."""
    out = np.zeros((n, src.shape[1]), np.float32)
    a, b = max(0, start), min(len(src), start + n)
    if b > a:
        out[a - start : b - start] = src[a:b]
    return out


def render_stem(
    src: np.ndarray,
    pieces: list[Piece],
    offsets: list[int],
    rate: int,
    n_out: int,
    mono: np.ndarray | None = None,
    start: int = 0,
) -> np.ndarray:
    """Sum the faded pieces of one stem into an (n_out, channels) float32 array.

    Parameters
    ----------
    src : ndarray (n, channels) float32
        The stem, source clock, at ``rate`` Hz.
    pieces : list of Piece
    offsets : list of int, samples
        Picture offset (source minus output index) of each segment.
    mono : ndarray (n,) or None
        Mono of ``src`` for the zero-crossing search (default: the mono of the few
        samples each search looks at).
    start : int, samples
        Output index of the array's first sample: ``start=a, n_out=m`` renders the
        output's samples ``[a, a + m)`` only (what a render task of some joins does).
    """
    out = np.zeros((n_out, src.shape[1]), np.float32)
    reach = int(round(ZERO_CROSS_S * rate))
    for p in pieces:
        off = offsets[p.segment] + int(round(p.slip * rate))
        i0, i1 = int(round(p.out0 * rate)), int(round(p.out1 * rate))
        fi, fo = int(round(p.fade_in * rate)), int(round(p.fade_out * rate))
        if p.zc_in:
            i0 = _zero_crossing_near(src, mono, i0 + off, reach) - off
        if p.zc_out:
            i1 = _zero_crossing_near(src, mono, i1 + off, reach) - off
        n = i1 - i0
        if n <= 0:
            continue
        a, b = max(start, i0), min(start + n_out, i1)
        if b <= a:
            continue
        fi, fo = min(fi, n), min(fo, n)
        x = _take(src, a + off, b - a)  # only the part inside the window: a long piece is read once in all
        env = np.ones(n, np.float32)
        env[:fi] *= _curve(fi, p.shape_in, True)
        env[n - fo :] *= _curve(fo, p.shape_out, False)
        x *= env[a - i0 : b - i0, None]
        out[a - start : b - start] += x
    return out


def piece_span(p: Piece, offsets: list[int], rate: int) -> tuple[int, int]:
    """Output samples ``[a, b)`` that piece ``p`` may write (its edges plus the zero-crossing reach)."""
    reach = int(round(ZERO_CROSS_S * rate))
    return int(round(p.out0 * rate)) - reach, int(round(p.out1 * rate)) + reach


def _zero_crossing_near(src: np.ndarray, mono: np.ndarray | None, index: int, reach: int) -> int:
    """:func:`zero_crossing` of the mono of ``src``, computing only the samples the search reads."""
    if mono is not None:
        return zero_crossing(mono, index, reach)
    k0 = max(0, index - reach - 1)
    k1 = max(k0, min(len(src), index + reach + 2))
    part = src[k0:k1]
    local = part.mean(axis=1) if part.shape[1] > 1 else part[:, 0]
    return k0 + zero_crossing(local, index - k0, reach)  # the same search: it never reads outside [k0, k1)


def integrated_loudness(x: np.ndarray, rate: int) -> float:
    """EBU R128 integrated loudness (LUFS) through rtaudio's levels stage; -inf for silence."""
    from rtaudio.pipeline import Pipeline, run_array
    from rtaudio.stages.levels import LevelsParams, LevelsStage

    if isinstance(x, np.ndarray):
        x = np.ascontiguousarray(x if x.ndim == 2 else x[:, None], dtype=np.float32)
    stage = LevelsStage(LevelsParams(), sample_rate=rate, channels=x.shape[1])
    for event in run_array(Pipeline([stage], rate, x.shape[1], quantum=10 * rate), x, block=10 * rate):
        if event.TYPE == "loudness":
            return float(event.integrated_lufs)
    return -math.inf


def limit(x: np.ndarray, ceiling: float, rate: int, attack_s: float = 0.005) -> tuple[np.ndarray, float]:
    """Look-ahead peak limiter: no sample above ``ceiling`` (linear); returns (audio, largest reduction dB).

    The gain is the running minimum of ``ceiling / |x|`` over ``2 * attack`` around
    each sample, smoothed by a moving average over the same span, so it never
    exceeds what the peak needs and ramps over ``attack_s`` on both sides.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    peak = np.max(np.abs(x), axis=1) if x.ndim == 2 else np.abs(x)
    if peak.max(initial=0.0) <= ceiling:
        return x, 0.0
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    w = 2 * int(round(attack_s * rate)) + 1
    gain = uniform_filter1d(minimum_filter1d(need, w, mode="nearest"), w, mode="nearest")
    gain = np.minimum(gain, need)  # float rounding of the average
    y = (x * (gain[:, None] if x.ndim == 2 else gain)).astype(np.float32)
    return y, float(-20.0 * np.log10(max(gain.min(), 1e-12)))


def limit_signal(x, scale: float | None, ceiling: float, rate: int, dest, attack_s: float = 0.005):
    """:func:`limit` of ``x * scale`` (``scale`` None: ``x`` as it is) for a DiskSignal, by window, into a
    DiskSignal at ``dest``: the same gain curve (each window reads ``2 * attack`` more on both sides than the
    filters reach); returns (DiskSignal, largest reduction dB)."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    from rtaudio.jobs.soundtrack.signal import SignalWriter

    def scaled(a, b):
        seg = x[a:b]
        return seg if scale is None else (seg * scale).astype(np.float32)

    step, n = 10 * rate, len(x)
    top = max((float(np.max(np.abs(scaled(a, a + step)), initial=0.0)) for a in range(0, n, step)), default=0.0)
    w = 2 * int(round(attack_s * rate)) + 1
    margin = 2 * w
    writer, least = SignalWriter(dest, x.shape[1]), 1.0
    try:
        for a in range(0, n, step):
            b = min(n, a + step)
            if top <= ceiling:
                writer.write(scaled(a, b))
                continue
            lo, hi = max(0, a - margin), min(n, b + margin)
            seg = scaled(lo, hi)
            peak = np.max(np.abs(seg), axis=1)
            need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
            gain = uniform_filter1d(minimum_filter1d(need, w, mode="nearest"), w, mode="nearest")
            gain = np.minimum(gain, need)[a - lo : b - lo]
            least = min(least, float(gain.min(initial=1.0)))
            writer.write((seg[a - lo : b - lo] * gain[:, None]).astype(np.float32))
    except BaseException:
        writer.abort()
        raise
    return writer.close(), (0.0 if top <= ceiling else float(-20.0 * np.log10(max(least, 1e-12))))


def normalise(
    x: np.ndarray, rate: int, target: float | None, max_peak_dbfs: float, max_limiting_db: float = 12.0, dest=None
) -> tuple[np.ndarray, dict]:
    """Gain to ``target`` LUFS (None: unchanged) under a limiter at ``max_peak_dbfs``; returns (audio, facts).

    Limiting lowers the loudness, so the gain is raised and the limiter rerun (at most
    4 passes) until the target is met within 0.05 LU or the limiter would take more
    than ``max_limiting_db`` off the peaks; ``facts`` says what was reached.  A
    DiskSignal ``x`` is normalised by window into a DiskSignal at ``dest``.
    """
    on_disk = not isinstance(x, np.ndarray)

    def limited(scale):
        if on_disk:
            return limit_signal(x, scale, ceiling, rate, dest)
        return limit(x if scale is None else (x * scale).astype(np.float32), ceiling, rate)

    before = integrated_loudness(x, rate)
    facts = {"input_lufs": None if not math.isfinite(before) else round(before, 2), "gain_db": 0.0, "limiter_db": 0.0}
    ceiling = 10.0 ** (max_peak_dbfs / 20.0)
    if target is None or not math.isfinite(before):
        y, reduction = limited(None)
        after = integrated_loudness(y, rate)
    else:
        gain_db = target - before
        for _ in range(4):
            y, reduction = limited(10.0 ** (gain_db / 20.0))
            after = integrated_loudness(y, rate)
            if not math.isfinite(after) or abs(after - target) < 0.05 or reduction >= max_limiting_db:
                break
            gain_db += target - after
        facts["gain_db"] = round(gain_db, 2)
    facts["limiter_db"] = round(reduction, 2)
    facts["integrated_lufs"] = None if not math.isfinite(after) else round(after, 2)
    if on_disk:
        peak = max((float(np.max(np.abs(block), initial=0.0)) for _, block in y.windows()), default=0.0)
    else:
        peak = float(np.max(np.abs(y))) if y.size else 0.0
    facts["peak_dbfs"] = round(float(20 * np.log10(peak)), 2) if peak > 0 else None
    return y, facts


def check_output_path(path: str | os.PathLike, what: str = "-o") -> str:
    """The audio output path, checked: known extension, writable folder."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in AUDIO_FORMATS:
        raise ParameterError(f"{what}={path!r}: unknown audio format {ext!r}; expected .wav, .flac, .m4a or .aac")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ParameterError(f"{what}={path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"{what}={path!r}: the folder {folder!r} is not writable")
    return path


def write_audio(path: str, x: np.ndarray, rate: int) -> None:
    """Write (n, channels) float32 as WAV or FLAC (24-bit PCM) or AAC (256 kb/s; .m4a in MP4, .aac as ADTS).

    The file appears whole (a temporary name, then a rename: :func:`rtaudio.outputs.atomic`).
    """
    import av
    import soundfile as sf

    from rtaudio.outputs import atomic

    ext = os.path.splitext(path)[1].lower()
    fmt = AUDIO_FORMATS.get(ext)
    if fmt in ("wav", "flac", "aac"):
        with atomic(path, "the soundtrack", (OSError, sf.LibsndfileError, av.error.FFmpegError)) as tmp:
            if fmt == "aac":
                write_aac(tmp, x, rate)
            else:
                with sf.SoundFile(tmp, "w", rate, x.shape[1], subtype="PCM_24", format=fmt.upper()) as f:
                    for block in blocks_of(x):  # by window: x may be a DiskSignal
                        f.write(np.clip(block, -1.0, 1.0))
        return
    raise ParameterError(f"-o={path!r}: unknown audio format {ext!r}; expected .wav, .flac, .m4a or .aac")


def encode_aac_frames(stream, x: np.ndarray, rate: int):
    """Yield packets of ``x`` encoded by ``stream`` (a PyAV AAC stream)."""
    import av

    layout = "mono" if x.shape[1] == 1 else "stereo"
    frame_size = stream.codec_context.frame_size or 1024
    pts = 0
    for block in blocks_of(x, frame_size * 256):  # by window: x may be a DiskSignal
        data = np.ascontiguousarray(np.clip(block, -1.0, 1.0).T, dtype=np.float32)  # planar
        for i in range(0, data.shape[1], frame_size):
            chunk = data[:, i : i + frame_size]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = pts
            pts += chunk.shape[1]
            yield from stream.encode(frame)
    yield from stream.encode(None)


def write_aac(path: str, x: np.ndarray, rate: int) -> None:
    import av

    if x.shape[1] > 2:
        raise InputError(f"{path!r}: AAC output takes mono or stereo; the soundtrack has {x.shape[1]} channels")
    container_format = "adts" if path.lower().endswith(".aac") else "mp4"
    with av.open(path, "w", format=container_format) as out:
        stream = out.add_stream("aac", rate=rate, layout="mono" if x.shape[1] == 1 else "stereo")
        stream.bit_rate = 256000
        for packet in encode_aac_frames(stream, x, rate):
            out.mux(packet)

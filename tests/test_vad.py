"""The vad stage: webrtcvad gate + Silero verifier + hysteresis; music rejection; block-size parity; errors."""

from __future__ import annotations

import json
import sys
from itertools import pairwise

import numpy as np
import pytest

pytest.importorskip("webrtcvad", reason="webrtcvad-wheels is in the speech extra")
pytest.importorskip("onnxruntime", reason="onnxruntime is in the speech extra")

from _speech_fixtures import spoken_with_pauses

from rtaudio.api import analyze
from rtaudio.errors import MissingDependencyError, ModelError, ParameterError
from rtaudio.events import SpeechEnd, SpeechSegment, SpeechStart
from rtaudio.stages import build_stages
from rtaudio.stages.base import Frame
from rtaudio.stages.vad import (
    CHUNK,
    SILERO_CONTEXT,
    Hysteresis,
    SileroVerifier,
    VADParams,
    VADStage,
    silero_model_path,
)
from rtaudio.testing import beat_and_chords, noise

try:
    silero_model_path()
except ModelError as exc:
    pytest.skip(f"Silero VAD model not installed: {exc}", allow_module_level=True)

RATE = 16000


def _stage_events(x, block, **params):
    stage = VADStage(VADParams(**params))
    events = []
    for i in range(0, len(x), block):
        events += stage.process(Frame(i, np.asarray(x[i : i + block])[:, None], RATE))
    return events + stage.flush(), stage


def _segments(events, rate=RATE):
    return [(e.start / rate, e.end / rate) for e in events if isinstance(e, SpeechSegment)]


def _padded(events, rate=RATE):
    """The padded segments (SpeechStart to SpeechEnd): what the stt stage hears."""
    starts = [e.t / rate for e in events if isinstance(e, SpeechStart)]
    ends = [e.t / rate for e in events if isinstance(e, SpeechEnd)]
    return list(zip(starts, ends, strict=True))


def _sentences(events, rate=RATE):
    """The reported intervals grouped by padded segment: (first start, last end) of each group."""
    found = _segments(events, rate)
    return [
        (min(a for a, b in found if s <= a and b <= e), max(b for a, b in found if s <= a and b <= e))
        for s, e in _padded(events, rate)
    ]


@pytest.mark.parametrize("mode", ["both", "silero", "webrtc"])
def test_finds_each_sentence(mode):
    x, spans = spoken_with_pauses()
    events, _ = _stage_events(x, 4096, mode=mode, aggressiveness=3 if mode == "webrtc" else 1)
    padded = _padded(events)
    assert len(padded) == len(spans), (padded, spans)
    for (a, b), (ta, tb) in zip(padded, spans, strict=True):
        assert abs(a - ta) < 0.1 and abs(b - tb) < 0.15, (padded, spans)
    # every reported interval lies inside a padded segment, and each segment holds at least one
    found = _segments(events)
    assert all(any(s <= a < b <= e for s, e in padded) for a, b in found), (found, padded)
    for (a, b), (ta, tb) in zip(_sentences(events), spans, strict=True):
        assert abs(a - ta) < 0.1 and abs(b - tb) < 0.15, (found, spans)
    assert all(0.5 <= e.confidence <= 1 for e in events if isinstance(e, SpeechSegment))


def _words_with_pauses(pause_s=0.15, words=("seven", "four", "two", "one", "nine", "three")):
    """Words spoken one by one with ``pause_s`` of quiet noise between them: (samples, [(start, end) s])."""
    from _speech_fixtures import need_espeak, trim

    from rtaudio.testing import speech

    need_espeak()
    parts, spans, t = [np.zeros(RATE // 2, np.float32)], [], 0.5
    for w in words:
        y = trim(speech(w, RATE))
        parts += [y, np.zeros(round(pause_s * RATE), np.float32)]
        spans.append((t, t + len(y) / RATE))
        t += len(y) / RATE + pause_s
    parts.append(np.zeros(RATE // 2, np.float32))
    x = np.concatenate(parts)
    return x + noise(len(x) / RATE, RATE, 0.001, seed=3)[: len(x)], spans


def test_pauses_between_words_are_reported_and_the_stt_hears_the_same():
    x, spans = _words_with_pauses(0.15)
    events, _ = _stage_events(x, 4096)
    found = _segments(events)
    # one interval per word: every 150 ms pause between words shows (at least two 32 ms chunks of it)
    assert len(found) == len(spans), (found, spans)
    gaps = [c - b for (_, b), (c, _) in pairwise(found)]
    assert min(gaps) >= 0.06, gaps
    for (a, b), (ta, tb) in zip(found, spans, strict=True):
        assert abs(a - ta) < 0.1 and abs(b - tb) < 0.1, (found, spans)
    # the padded segments (what stt transcribes) bridge those pauses and do not depend on the interval params
    padded = _padded(events)
    assert len(padded) < len(spans)
    other, _ = _stage_events(x, 4096, interval_threshold=0.9, interval_lag_s=0.0, interval_min_pause_s=0.5)
    assert _padded(other) == padded
    assert [e for e in other if isinstance(e, (SpeechStart, SpeechEnd))] == [
        e for e in events if isinstance(e, (SpeechStart, SpeechEnd))
    ]
    # interval_min_pause_s joins them again
    joined, _ = _stage_events(x, 4096, interval_min_pause_s=0.3)
    assert len(_segments(joined)) == len(padded)


def test_soundtrack_sees_pauses_between_words():
    from rtaudio.jobs.soundtrack.params import SoundtrackParams
    from rtaudio.jobs.soundtrack.speech import detect

    x, spans = _words_with_pauses(0.15)
    speech = detect(x, RATE)
    assert speech.method == "vad+energy", speech.note
    pauses = speech.pauses(SoundtrackParams().min_pause_ms / 1000)
    inner = [(a, b) for a, b in pauses if 0 < a and b < len(x) / RATE]
    assert len(inner) == len(spans) - 1, (inner, spans)
    for (_, end), (start, _), (a, b) in zip(spans, spans[1:], inner, strict=False):
        assert end - 0.07 <= a < b <= start + 0.07, (inner, spans)  # within about two chunks of the truth


@pytest.mark.parametrize("block", [1, 160, 1023, 48000])
def test_events_do_not_depend_on_block_size(block):
    x, _ = spoken_with_pauses()
    x = x[: 5 * RATE] if block == 1 else x  # one sample at a time is slow in Python
    reference, _ = _stage_events(x, len(x))
    events, _ = _stage_events(x, block)
    assert events == reference and reference


def test_through_the_engine_at_another_rate_times_are_on_the_source_clock():
    x16, spans = spoken_with_pauses()
    import soxr

    x44 = soxr.resample(np.asarray(x16), RATE, 44100).astype(np.float32)
    found = {}
    for block in (512, 44100):
        events = analyze(x44, rate=44100, stages=["vad"], block=block)
        found[block] = _sentences(events, 44100)  # first start, last end per padded segment
    assert len(found[512]) == len(spans)
    for (a, b), (c, d) in zip(found[512], found[44100], strict=True):  # resampling streams: within one 32 ms chunk
        assert abs(a - c) <= 0.033 and abs(b - d) <= 0.033
    for (a, b), (ta, tb) in zip(found[512], spans, strict=True):
        assert abs(a - ta) < 0.1 and abs(b - tb) < 0.15


def test_music_is_not_speech_but_fools_webrtcvad_alone():
    music = beat_and_chords(8.0, RATE) + noise(8.0, RATE, 0.02)
    for mode in ("both", "silero"):
        events, _ = _stage_events(music, 4096, mode=mode)
        assert events == [], mode
    events, _ = _stage_events(music, 4096, mode="webrtc", aggressiveness=3)
    assert _segments(events), "webrtcvad alone should mistake this music for speech (why the verifier exists)"


def test_silence_costs_no_verification():
    x = np.zeros(10 * RATE, np.float32)
    events, stage = _stage_events(x, 4096)
    assert events == [] and stage.chunks == 10 * RATE // CHUNK and stage.verified == 0


def test_speech_in_noise_is_found_and_noise_alone_is_not():
    x, spans = spoken_with_pauses(level=0.01)
    events, _ = _stage_events(x, 4096)
    assert len(_padded(events)) == len(_sentences(events)) == len(spans)
    events, _ = _stage_events(noise(6.0, RATE, 0.05), 4096)
    assert events == []


def test_sequence_and_streaming_exports_agree():
    files = {p.name: p for p in silero_model_path().parent.glob("*.onnx")}
    if not {"silero_vad.onnx", "silero_vad_16k_sequence.onnx"} <= set(files):
        pytest.skip("the installed silero-vad wheel lacks one of the two exports")
    x, _ = spoken_with_pauses()
    n = len(x) // CHUNK
    padded = np.concatenate([np.zeros(SILERO_CONTEXT, np.float32), x[: n * CHUNK]])
    windows = np.stack([padded[i * CHUNK : i * CHUNK + SILERO_CONTEXT + CHUNK] for i in range(n)])
    seq = SileroVerifier(files["silero_vad_16k_sequence.onnx"])
    one = SileroVerifier(files["silero_vad.onnx"])
    assert seq.sequence and not one.sequence
    a = np.concatenate([seq(windows[i : i + 7]) for i in range(0, n, 7)])  # runs of any length
    b = one(windows)
    assert np.max(np.abs(a - b)) < 1e-4 and (b > 0.9).any() and (b < 0.1).any()


def _hyst(probs, **params):
    h = Hysteresis(VADParams(**params), 100)  # 100 "samples" per second: one chunk = 10 samples = 0.1 s
    events = []
    for i, p in enumerate(probs):
        events += h.push(10 * i, 10 * (i + 1), p)
    return events + h.flush(10 * len(probs))


def test_hysteresis_rules():
    p = {
        "min_speech_s": 0.2,
        "min_silence_s": 0.2,
        "pre_roll_s": 0.1,
        "hangover_s": 0.1,
        "start_threshold": 0.5,
        "end_threshold": 0.3,
        "confirm_threshold": 0.8,
    }
    # a blip shorter than min_speech is dropped; a short dip does not split; pre-roll and hangover apply
    # (padded segment); the reported intervals are the runs at or above interval_threshold inside it,
    # moved back by interval_lag_s
    events = _hyst([0, 0.9, 0, 0, 0, 0.6, 0.9, 0.4, 0.1, 0.9, 0.9, 0, 0, 0, 0], **p, interval_lag_s=0.02)
    assert events == [
        SpeechStart(40, pytest.approx(0.75)),
        SpeechEnd(120),
        SpeechSegment(48, 68, pytest.approx(0.75)),
        SpeechSegment(88, 108, pytest.approx(0.9)),
    ]
    # interval_min_pause_s joins runs; interval_threshold picks the chunks
    events = _hyst(
        [0, 0.9, 0, 0, 0, 0.6, 0.9, 0.4, 0.1, 0.9, 0.9, 0, 0, 0, 0],
        **p,
        interval_lag_s=0.0,
        interval_min_pause_s=0.2,
        interval_threshold=0.35,
    )
    assert events[2:] == [SpeechSegment(50, 110, pytest.approx((0.6 + 0.9 + 0.4 + 0.9 + 0.9) / 5))]
    # never reaching confirm_threshold: not speech (music Silero is unsure of)
    assert _hyst([0, 0.7, 0.75, 0.7, 0.6, 0, 0, 0], **p) == []
    # pre-roll never reaches back into the previous segment; input ending inside speech closes it there
    events = _hyst([0.9, 0.9, 0, 0, 0.9, 0.9, 0.9], **{**p, "pre_roll_s": 0.5, "hangover_s": 0.0})
    assert _padded(events, 100) == [(0.0, 0.2), (0.2, 0.7)]
    assert _segments(events, 100) == [(0.0, 0.18), (0.38, 0.68)]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"mode": "loud"}, "vad.mode='loud' must be one of both, webrtc, silero"),
        ({"aggressiveness": 4}, "vad.aggressiveness=4 must be an integer in 0..3"),
        ({"webrtc_frame_ms": 25}, "vad.webrtc_frame_ms=25 must be 10, 20 or 30 (ms)"),
        ({"end_threshold": 0.7}, "vad.end_threshold=0.7 must be in [0, start_threshold=0.5]"),
        ({"confirm_threshold": 0.4}, "vad.confirm_threshold=0.4 must be in [start_threshold=0.5, 1]"),
        ({"min_silence_s": -1}, "vad.min_silence_s=-1 must be a number of seconds >= 0"),
        ({"interval_threshold": 0.2}, "vad.interval_threshold=0.2 must be in [end_threshold=0.35, 1]"),
        ({"interval_lag_s": -0.01}, "vad.interval_lag_s=-0.01 must be a number of seconds >= 0"),
    ],
)
def test_bad_parameters_are_named(values, message):
    with pytest.raises(ParameterError) as info:
        VADParams(**values)
    assert str(info.value) == message


def test_config_strings_reach_the_params():
    (stage,) = build_stages(
        ["vad"], sample_rate=48000, channels=2, config={"vad": {"mode": "silero", "min_silence_s": "0.5"}}
    )
    assert stage.params.mode == "silero" and stage.params.min_silence_s == 0.5 and stage.rate == RATE


def test_model_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(
        ModelError,
        match=r"silero-vad model path '.*nowhere.onnx' does not exist; "
        r"install it with: pip install --no-deps silero-vad",
    ):
        VADStage(VADParams(model_path=str(tmp_path / "nowhere.onnx")))
    bogus = tmp_path / "silero_vad.onnx"
    bogus.write_text("not a model")
    with pytest.raises(ModelError, match=r"'.*silero_vad.onnx' is not an ONNX file"):
        VADStage(VADParams(model_path=str(bogus)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"folder '.*empty' holds none of silero_vad_16k_sequence.onnx"):
        VADStage(VADParams(model_path=str(tmp_path / "empty")))
    monkeypatch.setenv("RTAUDIO_SILERO_VAD", str(tmp_path / "gone"))
    with pytest.raises(ModelError, match=r"path in \$RTAUDIO_SILERO_VAD '.*gone' does not exist"):
        VADStage()
    # the webrtc mode needs no model at all
    VADStage(VADParams(mode="webrtc"))


@pytest.mark.parametrize("module, mode", [("webrtcvad", "webrtc"), ("onnxruntime", "silero")])
def test_missing_extra_names_it(monkeypatch, module, mode):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail as if not installed
    with pytest.raises(
        MissingDependencyError, match=rf"{module} is not installed; install it with: pip install 'rtaudio\[speech\]'"
    ):
        VADStage(VADParams(mode=mode))


@pytest.mark.corpus
def test_speech_command_on_real_recordings(corpus, tmp_path):
    from rtaudio.cli import main

    out = tmp_path / "intervals.json"
    count = corpus / "segments" / "count.wav"
    assert main(["speech", str(count), "-o", str(out), "--no-progress"]) == 0
    rows = json.loads(out.read_text())
    assert rows and set(rows[0]) == {"start", "end", "confidence"}
    truth = [
        tuple(map(float, line.split()[:2]))
        for line in (corpus / "segments" / "count.segments").read_text().splitlines()
        if line.split()[2:3] == ["speech"]
    ]
    # frame F1 on 10 ms frames against the annotation
    t = np.arange(0, 5.8, 0.01) + 0.005
    truth_f = np.zeros(len(t), bool)
    guess_f = np.zeros(len(t), bool)
    for a, b in truth:
        truth_f |= (t >= a) & (t < b)
    for r in rows:
        guess_f |= (t >= r["start"]) & (t < r["end"])
    tp = (truth_f & guess_f).sum()
    f1 = 2 * tp / (truth_f.sum() + guess_f.sum())
    assert f1 > 0.93, f1  # 0.950 measured (docs/speech.md); the padded segments score 0.930
    padded = tmp_path / "padded.json"
    assert main(["speech", str(count), "--padded", "-o", str(padded), "--no-progress"]) == 0
    padded_rows = json.loads(padded.read_text())
    # the padded segments (what stt hears) are longer and fewer: pauses under min_silence_s are bridged
    assert len(padded_rows) <= len(rows)
    assert sum(r["end"] - r["start"] for r in padded_rows) > sum(r["end"] - r["start"] for r in rows)
    csv_out = tmp_path / "intervals.csv"
    assert main(["speech", str(corpus / "segments" / "count.wav"), "-o", str(csv_out), "--no-progress"]) == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "start,end,confidence" and len(lines) == len(rows) + 1


@pytest.mark.corpus
def test_real_music_clips_are_not_speech(corpus):
    clips = sorted((corpus / "classes_1s" / "music").glob("*.wav"))[:10]
    flagged = [p.name for p in clips if _segments(analyze(str(p), stages=["vad"]), 8000)]
    assert flagged == []


def test_speech_command_rejects_an_unknown_output_format(tmp_path, capsys):
    from rtaudio.cli import main

    assert main(["speech", "whatever.wav", "-o", str(tmp_path / "x.txt")]) == 2
    assert "unknown extension '.txt'; expected .csv or .json" in capsys.readouterr().err

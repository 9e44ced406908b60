"""Whisper in the lid and stt stages, on real recordings of the dev corpus (slow: Whisper loads once per process)."""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
import pytest

from rtaudio.errors import ModelError
from rtaudio.stages.stt_whisper import stable_prefix

pytestmark = [pytest.mark.slow, pytest.mark.whisper]

LANGS = ("de", "en", "es", "fr", "pt")


@pytest.fixture(scope="module")
def whisper_path(whisper_env):
    pytest.importorskip("faster_whisper", reason="faster-whisper is not installed: pip install 'rtaudio[models]'")
    from rtaudio.models.whisper import load, resolve_whisper

    with pytest.MonkeyPatch.context() as mp:  # the real lookup (see tests/conftest.py)
        if whisper_env is None:
            mp.delenv("RTAUDIO_WHISPER_MODEL", raising=False)
        else:
            mp.setenv("RTAUDIO_WHISPER_MODEL", whisper_env)
        try:
            path = resolve_whisper()
        except ModelError as exc:
            pytest.skip(f"no whisper model installed: {exc}")
    load(path)  # once for the module: the stages below find it loaded
    return path


def _read(path, rate=16000):
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1).astype(np.float32)
    return x if sr == rate else soxr.resample(x, sr, rate).astype(np.float32)


def _langid(x, where="inline", **lid):
    from rtaudio.engine import Engine
    from rtaudio.sources.array import ArraySource
    from rtaudio.stages import build_stages

    cfg = {"backend": "whisper", "gate": "vad", "live": False, **lid}
    stages = build_stages(["vad", "lid"], sample_rate=16000, channels=1, config={"lid": cfg}, placement={"lid": where})
    assert stages[-1].backend == "whisper"
    Engine(ArraySource(x, 16000), stages, []).run()
    return stages[-1].decision()


@pytest.mark.parametrize("lang", LANGS)
def test_language_of_fleurs_clips(whisper_path, corpus, lang):
    d = _langid(_read(corpus / "speech_lid" / f"fleurs-{lang}-000.ogg"), whisper_model=str(whisper_path))
    assert d["language"] == lang, d
    assert d["probability"] >= 0.9 and len(d["top"]) == 3 and d["speech_s"] > 2
    first4 = _langid(_read(corpus / "speech_lid" / f"fleurs-{lang}-001.ogg"), max_speech_s=4.0)
    assert first4["language"] == lang and first4["speech_s"] <= 4.0, first4


def test_music_and_silence_give_unknown(whisper_path, corpus):
    assert _langid(np.zeros(5 * 16000, np.float32))["language"] == "unknown"
    d = _langid(_read(corpus / "music" / "Kevin_MacLeod_-_Vibe_Ace.ogg")[: 30 * 16000])
    assert d["language"] == "unknown", d


def test_live_decisions_come_early_and_accumulate(whisper_path, corpus):
    """Live: the first Language event within 2-4 s of speech, later ones on more speech, same top language."""
    from rtaudio.api import analyze
    from rtaudio.events import Language

    x = _read(corpus / "speech_lid" / "fleurs-es-001.ogg")
    events = analyze(x, rate=16000, stages=["vad", "lid"], config={"lid": {"backend": "whisper"}})
    langs = [e for e in events if isinstance(e, Language)]
    assert langs and 2.0 <= langs[0].speech_s <= 4.0
    assert all(a.speech_s < b.speech_s for a, b in pairwise(langs))
    assert langs[-1].language == "es"


def test_lid_in_a_worker_process_is_asynchronous_and_agrees(whisper_path, corpus):
    x = _read(corpus / "speech_lid" / "fleurs-pt-002.ogg")
    assert _langid(x, "process") == _langid(x, "inline")


def test_auto_picks_whisper(whisper_path):
    from rtaudio.stages.lid import LidParams
    from rtaudio.stages.lid import choose_backend as lid_backend
    from rtaudio.stages.stt import STTParams, choose_backend

    assert choose_backend(STTParams())[0] == "whisper"
    assert lid_backend(LidParams())[0] == "whisper"
    assert lid_backend(LidParams(backend="onnx"))[0] == "onnx"


def test_jfk_transcript_words_and_stable_captions(whisper_path, corpus):
    from rtaudio.api import analyze
    from rtaudio.events import PartialTranscript, Transcript

    x = _read(corpus / "speech_asr" / "jfk.flac")
    cfg = {"stt": {"engine": "whisper", "partials": True}, "vad": {"min_silence_s": 0.5}}
    events = analyze(x, rate=16000, stages=["vad", "stt"], config=cfg)
    finals = [e for e in events if isinstance(e, Transcript)]
    text = " ".join(re.sub(r"[^\w\s]", " ", e.text.lower()) for e in finals)
    assert "ask not what your country can do for you" in " ".join(text.split())
    assert all(e.engine == "whisper" and e.language == "en" for e in finals)
    words = [w for e in finals for w in e.words]
    assert all(0 <= w.start <= w.end <= len(x) for w in words)
    assert all(a.start <= b.start for a, b in pairwise(words))
    # "country" is said twice, at ~5.8 s and ~9.9 s of the recording (run-relative times would be < 2 s)
    country = [w.start / 16000 for w in words if "country" in w.word.lower()]
    assert len(country) == 2 and 5.0 < country[0] < 6.5 and 9.3 < country[1] < 10.6, country
    partials = [e for e in events if isinstance(e, (PartialTranscript, Transcript))]
    shown: list[str] = []
    for e in partials:  # a caption only grows until its run's final
        if isinstance(e, Transcript):
            shown = []
            continue
        now = e.text.split()
        assert now[: len(shown)] == shown, (shown, now)
        shown = now
    assert any(isinstance(e, PartialTranscript) for e in events)


def test_stable_prefix():
    assert stable_prefix([], None, ["ask", "not"]) == []
    assert stable_prefix([], ["ask", "not", "what"], ["Ask", "not,", "why"]) == ["Ask", "not,"]
    assert stable_prefix(["ask", "not"], ["ask", "now"], ["ask", "now", "what"]) == ["ask", "not"]  # never retracted
    assert stable_prefix(["ask"], ["ask", "not", "what"], ["ask", "not", "what", "your"]) == ["ask", "not", "what"]


def test_stt_in_a_worker_process_gives_the_same_finals(whisper_path, corpus):
    from rtaudio.api import analyze
    from rtaudio.events import Transcript

    x = _read(corpus / "speech_asr" / "librispeech-1995-1837-0001.wav")

    def finals(where):
        cfg = {"stt": {"engine": "whisper", "partials": False}, "vad": {"min_silence_s": 0.5}}
        events = analyze(x, rate=16000, stages=["vad", "stt"], config=cfg, placement={"stt": where})
        return [(e.start, e.end, e.text, e.language, e.words) for e in events if isinstance(e, Transcript)]

    in_thread = finals("inline")
    assert in_thread and finals("process") == in_thread


def test_window_frames():
    from rtaudio.stages.stt_whisper import window_frames

    assert window_frames(300, 30.0) == 3000  # faster-whisper's way: always the full window
    assert window_frames(300, 10.0) == 1000  # 3 s of audio: the 10 s shortest window
    assert window_frames(1234, 10.0) == 1400  # 12.34 s + 1 s margin, rounded up to a second
    assert window_frames(2950, 10.0) == 3000  # never past Whisper's 30 s
    assert window_frames(300, 0.0) == 400


def test_one_encoder_pass_per_decode_and_short_window(whisper_path, corpus, monkeypatch):
    """language=None detects on the decode's own encoder pass; a 10 s window gives the jfk sentence."""
    from rtaudio.stages.stt_whisper import WhisperDecoder

    decoder = WhisperDecoder(whisper_path)
    shapes = []
    encode = decoder.model.encode
    monkeypatch.setattr(decoder.model, "encode", lambda f: shapes.append(f.shape) or encode(f))
    x = (_read(corpus / "speech_asr" / "jfk.flac") * 32767).astype(np.int16)
    out = decoder.decode(x, None, True, 5, window_s=10.0)
    assert out["language"] == "en" and len(shapes) == 1 and shapes[0][-1] == 1200, shapes  # 11 s + 1 s margin
    text = " ".join(re.sub(r"[^\w\s]", " ", out["text"].lower()).split())
    assert "ask not what your country can do for you" in text
    assert out["words"] and out["words"][-1][1] <= len(x) / 16000 + 0.5


def test_short_window_decodes_a_short_run_in_one_pass(whisper_path, corpus, monkeypatch):
    """A 2.7 s sentence on the shortest window: one encoder pass and one decode (no tail redecoded on a
    30 s window, no sampling fallback), every word, word times inside the audio."""
    from rtaudio.stages.stt_whisper import WhisperDecoder

    decoder = WhisperDecoder(whisper_path)
    shapes = []
    encode = decoder.model.encode
    monkeypatch.setattr(decoder.model, "encode", lambda f: shapes.append(f.shape) or encode(f))
    x = (_read(corpus / "speech_asr" / "spk1_snt3.wav") * 32767).astype(np.int16)
    out = decoder.decode(x, "en", True, 5, window_s=10.0)
    assert [s[-1] for s in shapes] == [1000] and decoder.full_redecodes == 0, shapes
    assert " ".join(re.sub(r"[^\w\s]", " ", out["text"].lower()).split()) == "at that high level the air is pure"
    assert [w[2].strip(".,") for w in out["words"]][-1] == "pure"
    assert all(0 <= s <= e <= len(x) / 16000 + 0.5 for s, e, _, _ in out["words"])

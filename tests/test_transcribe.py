"""Subtitles (cue rules, SRT/WebVTT through their libraries), `rtaudio transcribe`, `rtaudio models`."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

pytest.importorskip("srt", reason="srt is in the speech extra")
pytest.importorskip("webvtt", reason="webvtt-py is in the speech extra")

import srt
import webvtt
from _speech_fixtures import spoken_with_pauses

from rtaudio.cli import main
from rtaudio.errors import ModelError, ParameterError
from rtaudio.events import Transcript, Word
from rtaudio.subtitles import CueRules, cues, to_srt, to_vtt

try:  # the vad stage needs Silero's ONNX file (pip install --no-deps silero-vad)
    __import__("rtaudio.stages.vad", fromlist=["silero_model_path"]).silero_model_path()
except ModelError as exc:
    pytest.skip(f"Silero VAD model not installed: {exc}", allow_module_level=True)


def _transcript(words, rate=100):
    """Words given as (start_s, end_s, text) at ``rate`` samples per second."""
    ws = tuple(Word(int(a * rate), int(b * rate), w, 0.9) for a, b, w in words)
    return Transcript(ws[0].start, ws[-1].end, " ".join(w.word for w in ws), ws, "test")


def test_cues_keep_line_length_lines_and_duration():
    long = _transcript([(0.3 * i, 0.3 * i + 0.25, f"word{i:02d}") for i in range(60)])  # 18 s of speech
    rules = CueRules(max_chars=20, max_lines=2, max_s=4.0, min_s=1.0)
    out = cues([long], 100, rules)
    assert len(out) > 5
    assert all(len(line) <= 20 for c in out for line in c.lines)
    assert all(1 <= len(c.lines) <= 2 for c in out)
    assert all(c.end - c.start <= 4.0 + 1e-9 for c in out)
    assert all(a.end <= b.start for a, b in itertools.pairwise(out))
    assert " ".join(" ".join(c.lines) for c in out) == long.text  # every word, in order, once


def test_a_pause_or_a_new_utterance_starts_a_cue_and_short_cues_are_held():
    a = _transcript([(0.0, 0.3, "yes"), (2.0, 2.3, "no")])  # 1.7 s pause
    b = _transcript([(2.5, 2.8, "maybe")])
    out = cues([a, b], 100, CueRules(min_s=1.0, split_pause_s=1.0))
    assert [c.text for c in out] == ["yes", "no", "maybe"]
    assert out[0].end == pytest.approx(1.0)  # held to min_s
    assert out[1].end == pytest.approx(2.5)  # held, but not into the next cue
    text = to_srt(out)
    parsed = list(srt.parse(text))
    assert [s.content for s in parsed] == ["yes", "no", "maybe"]
    assert parsed[1].end.total_seconds() == pytest.approx(2.5)
    vtt = webvtt.from_string(to_vtt(out))
    assert [c.text for c in vtt.captions] == ["yes", "no", "maybe"]
    assert vtt.captions[2].start == "00:00:02.500"


def test_bad_cue_rules_are_named():
    with pytest.raises(ParameterError, match=r"max_chars=5 must be an integer >= 10"):
        CueRules(max_chars=5)
    with pytest.raises(ParameterError, match=r"min_s=9 must satisfy 0 <= min_s <= max_s"):
        CueRules(min_s=9)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    import soundfile as sf

    x, spans = spoken_with_pauses()
    path = tmp_path_factory.mktemp("speech") / "three-sentences.wav"
    sf.write(path, np.asarray(x), 16000)
    return path, spans


@pytest.mark.slow
def test_transcribe_writes_srt_vtt_and_json(clip, tmp_path, capsys):
    path, spans = clip
    out = {ext: tmp_path / f"out.{ext}" for ext in ("srt", "vtt", "json")}
    for target in out.values():
        assert (
            main(
                [
                    "transcribe",
                    str(path),
                    "-o",
                    str(target),
                    "--no-progress",
                    "--max-chars",
                    "20",
                    "-p",
                    "stt.partials=false",
                ]
            )
            == 0
        )
    err = capsys.readouterr().err
    assert "pocketsphinx" in err and "recogniser fed" in err
    rows = json.loads(out["json"].read_text())
    assert len(rows) >= 1 and all(set(r) == {"start", "end", "text", "engine", "language", "words"} for r in rows)
    words = [w for r in rows for w in r["words"]]
    assert all(any(a - 0.1 <= w["start"] < b + 0.3 for a, b in spans) for w in words)
    subs = list(srt.parse(out["srt"].read_text()))
    caps = webvtt.from_string(out["vtt"].read_text()).captions
    assert len(subs) == len(caps) >= len(spans)
    assert all(len(line) <= 20 for s in subs for line in s.content.splitlines())
    assert " ".join(s.content.replace("\n", " ") for s in subs) == " ".join(w["word"] for w in words)


def test_transcribe_errors_are_one_line(clip, tmp_path, capsys):
    path, _ = clip
    assert main(["transcribe", str(path), "-o", str(tmp_path / "x.txt")]) == 2
    assert "unknown extension '.txt'; expected .srt, .vtt or .json" in capsys.readouterr().err
    assert main(["transcribe", str(path), "-o", str(tmp_path / "x.srt"), "-p", "vad.min_silence_s=2"]) == 2
    assert "stt.lag_s=0.5 must be >= 1.932 s" in capsys.readouterr().err
    assert main(["transcribe", str(path), "-o", str(tmp_path / "x.srt"), "--model", str(tmp_path / "none")]) == 2
    assert "vosk-en model path '" in capsys.readouterr().err


def test_models_list_path_fetch(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path))
    monkeypatch.delenv("RTAUDIO_VOSK_MODEL", raising=False)
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "pocketsphinx-en" in listing and "vosk-de " in listing and "silero-vad" in listing
    assert main(["models", "path", "pocketsphinx-en"]) == 0
    assert capsys.readouterr().out.strip().endswith("en-us")
    assert main(["models", "path", "vosk-de"]) == 2
    assert "rtaudio models fetch vosk-de" in capsys.readouterr().err
    assert main(["models", "fetch", "pocketsphinx-en"]) == 2
    assert "pocketsphinx-en cannot be downloaded by rtaudio" in capsys.readouterr().err
    assert main(["models", "fetch", "whisper"]) == 2
    assert "unknown model 'whisper'" in capsys.readouterr().err


@pytest.mark.slow
def test_transcribe_lang_auto_runs_the_lid_stage(clip, tmp_path, capsys):
    """--lang auto puts the lid stage between the VAD and STT; with no vosk model for what it hears, STT stays on
    its starting recogniser (pocketsphinx, English) and still transcribes."""
    path, _ = clip
    out = tmp_path / "auto.json"
    assert (
        main(["transcribe", str(path), "-o", str(out), "--lang", "auto", "--no-progress", "-p", "lid.threshold=0"]) == 0
    )
    assert "recogniser fed" in capsys.readouterr().err
    assert json.loads(out.read_text())
    assert main(["transcribe", str(path), "-o", str(out), "-p", "lid.threshold=0"]) == 2
    assert "transcribe runs the vad, stt stages; parameters for 'lid' do not apply" in capsys.readouterr().err

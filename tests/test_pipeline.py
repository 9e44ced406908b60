"""The Pipeline: dependency order, block-size independence, the slow lane, constraints, close()."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rtaudio.api import analyze
from rtaudio.engine import Engine
from rtaudio.errors import ParameterError
from rtaudio.events import KeyMoment, Levels, Transcript
from rtaudio.pipeline import Pipeline, order_stages, run_array
from rtaudio.sinks import ListSink
from rtaudio.sources.array import ArraySource
from rtaudio.stages import build_stages
from rtaudio.stages.base import Stage
from rtaudio.testing import tone
from tests._speech_fixtures import spoken_with_pauses


class _Echo(Stage):
    """A real (tiny) stage: hears ``listens``, emits one KeyMoment per block it hears something in."""

    def __init__(self, name, listens=(), emits=(KeyMoment,)):
        self.name, self.listens, self.emits = name, listens, emits

    def process(self, frame):
        return []


def _names(stages):
    return [s.name for s in stages]


def test_listeners_run_after_the_stages_they_listen_to():
    built = build_stages(["moments", "stt", "lid", "vad", "levels"], sample_rate=16000, channels=1)
    # each time the first listed stage whose producers have run
    assert _names(order_stages(built)) == ["vad", "lid", "stt", "levels", "moments"]
    already = build_stages(["levels", "vad", "moments"], sample_rate=16000, channels=1)
    assert _names(order_stages(already)) == ["levels", "vad", "moments"]  # a valid order is kept


def test_a_cycle_is_refused_naming_the_stages():
    a, b = _Echo("a", listens=(Levels,), emits=(KeyMoment,)), _Echo("b", listens=(KeyMoment,), emits=(Levels,))
    with pytest.raises(ParameterError, match="stages a, b listen to each other's events in a cycle"):
        Pipeline([a, b], 16000, 1)


def test_stt_without_a_vad_is_an_error_not_silence():
    with pytest.raises(ParameterError, match=r"stage 'stt' needs speech_end, speech_start events, which no stage"):
        analyze(np.zeros(16000, np.float32), rate=16000, stages=["stt"])


def test_stt_listed_before_vad_still_transcribes():
    x, _ = spoken_with_pauses()
    config = {"stt": {"engine": "pocketsphinx", "partials": "false"}}
    first = [e.text for e in analyze(x, rate=16000, stages=["stt", "vad"], config=config) if isinstance(e, Transcript)]
    second = [e.text for e in analyze(x, rate=16000, stages=["vad", "stt"], config=config) if isinstance(e, Transcript)]
    assert first == second and any("window" in t for t in first)


def test_stt_lag_is_checked_for_the_api_too():
    config = {"vad": {"min_silence_s": 2.0}}
    with pytest.raises(ParameterError, match=r"stt.lag_s=0.5 must be >= 1.932 s \(the VAD reports an end up to"):
        analyze(np.zeros(16000, np.float32), rate=16000, stages=["vad", "stt"], config=config)


@pytest.mark.parametrize("block", [1023, 4800, 70001])
def test_events_and_their_order_do_not_depend_on_the_block_size(block):
    rate = 48000
    x = np.concatenate([tone(440, 1.0, rate), np.zeros(rate // 2, np.float32), tone(880, 1.5, rate) * 0.3])
    stages = ["spectrum", "levels", "onsets", "moments"]
    want = analyze(x, rate=rate, stages=stages, block=48000, max_block=8192)
    got = analyze(x, rate=rate, stages=stages, block=block, max_block=8192)
    assert got == want


def test_slow_lane_gives_the_events_of_the_inline_run_in_the_same_order():
    x, _ = spoken_with_pauses(rate=48000)
    config = {"stt": {"engine": "pocketsphinx"}, "lid": {"backend": "onnx"}}
    stages = ["spectrum", "levels", "vad", "lid", "stt"]
    inline = analyze(x, rate=48000, stages=stages, config=config, max_block=2048)
    laned = analyze(
        x, rate=48000, stages=stages, config=config, max_block=2048, placement={"stt": "thread", "lid": "thread"}
    )
    assert laned == inline
    assert any(isinstance(e, Transcript) for e in inline)


class _Gated(Stage):
    """A real slow stage that decodes only once ``gate`` is set: one KeyMoment at each block's start."""

    name, slow, emits = "gated", True, (KeyMoment,)

    def __init__(self):
        self.gate = threading.Event()

    def process(self, frame):
        if not self.gate.wait(20.0):  # a bound, so that a merge waiting for this lane fails a test, not hangs it
            self.gate.set()
        return [KeyMoment(frame.index, "onset", 1.0, "block")]


def _gated_pipeline(live, rate=8000):
    gated = _Gated()
    stages = [*build_stages(["levels"], sample_rate=rate, channels=1), gated]
    pipeline = Pipeline(stages, rate, 1, quantum=400, placement={"gated": "thread"}, lane_delay_s=0.5, live=live)
    return pipeline, gated


def test_live_merge_never_waits_for_a_late_lane_and_loses_nothing():
    rate = 8000
    x = tone(440, 3.0, rate)[:, None]
    offline, gated = _gated_pipeline(live=False)
    gated.gate.set()
    want = run_array(offline, x, block=1000)
    live, gated = _gated_pipeline(live=True)
    try:
        first = live.process(0, x[: 2 * rate])  # the lane is stuck on its first block, 2 s behind
        assert live.released_to == 2 * rate
        assert not any(isinstance(e, KeyMoment) for e in first)
        assert [e for e in first if isinstance(e, Levels)] == [
            e for e in want if isinstance(e, Levels) and e.t <= 2 * rate
        ]
    finally:
        gated.gate.set()
    got = first + live.process(2 * rate, x[2 * rate :]) + live.finish()
    live.close()
    late = [e.t for e in got if isinstance(e, KeyMoment)]
    assert late == sorted(late) == list(range(0, len(x), 400))  # every block's, in time order, none twice
    assert sorted(got, key=repr) == sorted(want, key=repr)  # the same events, fast ones first when the lane is late


class _Opener(ListSink):
    """Opens the gated stage's gate once levels 1 s past the stuck block have arrived (the merge did not wait)."""

    def __init__(self, gate):
        super().__init__()
        self.gate, self.opened_by_sink = gate, False

    def emit(self, events):
        super().emit(events)
        if not self.gate.is_set() and any(isinstance(e, Levels) and e.t >= 8000 for e in events):
            self.opened_by_sink = True
            self.gate.set()


def test_the_engine_is_live_for_paced_input():
    rate = 8000
    gated = _Gated()
    stages = [*build_stages(["levels"], sample_rate=rate, channels=1), gated]
    sink = _Opener(gated.gate)
    source = ArraySource(tone(440, 1.5, rate), rate, block=400, realtime=True)
    Engine(source, stages, [sink], placement={"gated": "thread"}, lane_delay_s=0.5).run()
    assert sink.opened_by_sink  # 1 s of levels came while the lane was stuck on its first block
    assert [e.t for e in sink.events if isinstance(e, KeyMoment)] == list(range(0, 12000, 40))


def test_close_stops_the_recognisers_child_process():
    x, _ = spoken_with_pauses()
    built = build_stages(
        ["vad", "stt"],
        sample_rate=16000,
        channels=1,
        config={"stt": {"engine": "pocketsphinx", "partials": "false"}},
        placement={"stt": "process"},
    )
    child = built[1]._rec._proc
    events = run_array(Pipeline(built, 16000, 1), x[:, None].copy())
    assert any(isinstance(e, Transcript) for e in events)
    assert not child.is_alive()


def test_a_gap_and_the_end_of_the_stream():
    rate = 8000
    pipeline = Pipeline(build_stages(["levels"], sample_rate=rate, channels=1), rate, 1, quantum=1000)
    x = tone(440, 0.5, rate)[:, None]
    events = pipeline.process(0, x[:1500]) + pipeline.process(2500, x[1500:])  # 1000 samples lost
    events += pipeline.finish()
    assert pipeline.released_to == 2500 + len(x) - 1500
    assert [e.t for e in events if isinstance(e, Levels)] == sorted(e.t for e in events if isinstance(e, Levels))
    with pytest.raises(ParameterError, match=r"process\(\) after finish\(\)"):
        pipeline.process(len(x), x)
    pipeline.close()


def test_bad_arguments_are_named():
    with pytest.raises(ParameterError, match="quantum=0 must be a positive integer"):
        Pipeline([], 16000, 1, quantum=0)
    with pytest.raises(ParameterError, match=r"block of shape \(10, 2\) must be \(n, 1\)"):
        Pipeline([], 16000, 1).process(0, np.zeros((10, 2), np.float32))
    with pytest.raises(ParameterError, match=r"placement for 'stt': no such stage in this run \(levels\)"):
        build_stages(["levels"], sample_rate=16000, channels=1, placement={"stt": "thread"})


def test_cli_place_option(tmp_path, capsys):
    import json

    import soundfile as sf

    from rtaudio.cli import main

    x, _ = spoken_with_pauses()
    wav = tmp_path / "talk.wav"
    sf.write(wav, x, 16000)
    base = ["analyze", str(wav), "--no-progress", "--stages", "vad,stt", "-p", "stt.engine=pocketsphinx"]
    assert main([*base, "--place", "stt=gpu", "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "placement stt='gpu' must be one of inline, thread, process" in capsys.readouterr().err
    outs = []
    for where in ("inline", "thread"):
        out = tmp_path / f"{where}.jsonl"
        assert main([*base, "--place", f"stt={where}", "-o", str(out)]) == 0
        outs.append([json.loads(line) for line in out.read_text().splitlines()])
    assert outs[0] == outs[1] and any(e["type"] == "transcript" for e in outs[0])

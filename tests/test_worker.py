"""Recognisers in a child process (rtaudio.worker): same answers as in-process, errors come back, a dead child is named."""

import os
import shutil
import signal

import numpy as np
import pytest

from rtaudio.api import analyze
from rtaudio.errors import ParameterError
from rtaudio.events import Language, Transcript
from rtaudio.worker import ProcessProxy, WorkerError

pytest.importorskip("pocketsphinx")
from rtaudio.stages.lid_phones import PhoneRecognizer  # noqa: E402

HAVE_ESPEAK = shutil.which("espeak-ng") is not None
pytestmark = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def sentence():
    from rtaudio.testing import speech

    x = speech("the committee will meet again on thursday to discuss the new budget", 16000)
    return np.concatenate([np.zeros(8000, np.float32), x, np.zeros(16000, np.float32)])


def test_proxy_answers_as_in_process_and_raises_the_childs_errors(sentence):
    proxy = ProcessProxy(PhoneRecognizer)
    try:
        assert proxy.phones(sentence) == PhoneRecognizer().phones(sentence)
        with pytest.raises(AttributeError, match="no attribute 'nothing'"):
            proxy.nothing()
        with pytest.raises(TypeError):
            proxy.phones()
    finally:
        proxy.close()
    proxy.close()  # idempotent


def test_a_dead_child_is_a_clear_error(sentence):
    proxy = ProcessProxy(PhoneRecognizer)
    os.kill(proxy._proc.pid, signal.SIGKILL)
    proxy._proc.join(5)
    with pytest.raises(
        WorkerError,
        match=r"the PhoneRecognizer worker process ended \(exit code -9\); expected it "
        r"to answer; run its stage inline \(placement \{stage: 'inline'\}, CLI --place STAGE=inline\)",
    ):
        proxy.phones(sentence)


@pytest.mark.slow
def test_stt_and_lid_give_the_same_events_in_a_child_process(sentence):
    def run(where):
        cfg = {"stt": {"gate": "false", "engine": "pocketsphinx"}, "lid": {"gate": "energy", "threshold": "0"}}
        placement = {"stt": where, "lid": where}
        events = analyze(sentence, rate=16000, stages=["lid", "stt"], config=cfg, placement=placement)
        return (
            [(e.start, e.end, e.text) for e in events if isinstance(e, Transcript)],
            [(e.t, e.language, round(e.probability, 5)) for e in events if isinstance(e, Language)],
        )

    in_thread, in_process = run("inline"), run("process")
    assert in_thread == in_process
    assert in_thread[0] and in_thread[1]  # it did transcribe and decide


def test_old_worker_key_still_works_with_a_deprecation_warning():
    x = np.zeros(16000, np.float32)
    with pytest.warns(
        DeprecationWarning, match=r"lid.worker='process' is deprecated: .* placement \{'lid': 'process'\}"
    ):
        events = analyze(x, rate=16000, stages=["lid"], config={"lid": {"worker": "process", "gate": "energy"}})
    assert events[-1].TYPE == "end"


def test_bad_placement_is_named():
    x = np.zeros(16000, np.float32)
    with pytest.raises(ParameterError, match="placement stt='gpu' must be one of inline, thread, process"):
        analyze(x, rate=16000, stages=["stt"], config={"stt": {"gate": "false"}}, placement={"stt": "gpu"})
    with pytest.raises(ParameterError, match="placement levels='thread': only slow stages run in a lane"):
        analyze(x, rate=16000, stages=["levels"], placement={"levels": "thread"})


def test_bad_worker_is_named():
    with pytest.raises(ParameterError, match="stt.worker='gpu' must be one of thread, process"):
        analyze(np.zeros(16000, np.float32), rate=16000, stages=["stt"], config={"stt": {"worker": "gpu"}})
    with pytest.raises(ParameterError, match="lid.worker='x' must be one of thread, process"):
        analyze(np.zeros(16000, np.float32), rate=16000, stages=["lid"], config={"lid": {"worker": "x"}})


def test_a_call_past_the_timeout_is_an_error_naming_it():
    import threading

    proxy = ProcessProxy(threading.Event)  # a real object whose wait() outlasts the timeout
    proxy.timeout = 1.0
    try:
        with pytest.raises(
            WorkerError, match=r"the Event worker process gave no answer within timeout=1.0 s, so it was stopped"
        ):
            proxy.wait(60)
    finally:
        proxy.close()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no Unix process priorities here")
def test_an_asynchronous_worker_runs_at_a_lower_priority_a_waited_for_one_does_not():
    import threading

    from rtaudio.worker import NICE, make_worker

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    background, waited = make_worker("process", threading.Event), ProcessProxy(threading.Event)
    try:
        low = os.getpriority(os.PRIO_PROCESS, background._proc.pid)
        same = os.getpriority(os.PRIO_PROCESS, waited._proc.pid)
        assert low == min(mine + NICE, 19), f"background child niceness {low}, expected {mine} + {NICE}"
        assert same == mine, f"waited-for child niceness {same}, expected this process's {mine}"
        assert background.call("is_set") is False  # it still answers
    finally:
        background.close()
        waited.close()

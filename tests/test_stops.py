"""Clean stops (issue 13): Ctrl-C during analyze, and batch workers outliving a killed parent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from rtaudio.outputs import alive as process_alive
from rtaudio.testing import noise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def analyze_argv(wav: str, out: str) -> list[str]:
    """``rtaudio analyze WAV -o OUT`` with the speech detector, as a subprocess's argv."""
    return [
        sys.executable,
        "-m",
        "rtaudio.cli",
        "analyze",
        wav,
        "-o",
        out,
        "--no-progress",
        "--stages",
        "spectrum,levels,vad",
    ]


def interrupted_run(wav: str, out: str, delay_s: float) -> dict:
    """``rtaudio analyze WAV -o OUT``, SIGINT ``delay_s`` after OUT appears; what was left.

    Returns ``code`` (exit status), ``records`` (the parsed JSONL, None when a line did
    not parse), ``stderr`` and ``signalled`` (False when the run ended first).
    """
    if os.path.exists(out):
        os.remove(out)
    proc = subprocess.Popen(analyze_argv(wav, out), cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not os.path.exists(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay_s)
    signalled = proc.poll() is None
    if signalled:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    try:
        records = [json.loads(line) for line in open(out, encoding="utf-8")]
    except (OSError, json.JSONDecodeError):
        records = None
    return {"code": proc.returncode, "records": records, "stderr": err.decode(), "signalled": signalled}


def check_interrupted(run: dict) -> None:
    """The documented outcome of Ctrl-C: exit 0, a JSONL that parses and ends with ``end``."""
    assert run["code"] == 0, run["stderr"]
    assert "Traceback" not in run["stderr"]
    assert run["records"] is not None, "the JSONL does not parse"
    assert run["records"][0]["type"] == "source"
    end = run["records"][-1]
    assert end["type"] == "end", run["records"][-3:]
    # a signal that lands after the last block was read finds the run ending anyway
    assert end["reason"] == "stopped" and run["signalled"] or end["reason"] == "end" and end["t"] == 60.0, end


def analysis_seconds(wav: str, out: str) -> float:
    """Seconds from the JSONL's appearance to the exit of an uninterrupted ``rtaudio analyze`` (this machine's speed)."""
    proc = subprocess.Popen(analyze_argv(wav, out), cwd=ROOT, stderr=subprocess.DEVNULL)
    while not os.path.exists(out) and proc.poll() is None:
        time.sleep(0.002)
    t0 = time.monotonic()
    proc.wait(timeout=120)
    return time.monotonic() - t0


@pytest.mark.slow
def test_ctrl_c_at_random_times_always_leaves_a_jsonl_ending_with_end(tmp_path):
    """10 SIGINTs at random times of an analysis (benchmarks/ctrl_c_analyze.py runs 100).

    The times are drawn within this machine's own analysis time, so on a fast or a loaded machine
    alike most signals land while the analysis runs."""
    wav = str(tmp_path / "noise.wav")
    sf.write(wav, noise(60.0, 16000, 0.1, seed=1), 16000)
    span = 0.8 * analysis_seconds(wav, str(tmp_path / "full.jsonl"))
    rng = random.Random(13)
    runs = [interrupted_run(wav, str(tmp_path / "e.jsonl"), rng.uniform(0.0, span)) for _ in range(10)]
    for run in runs:
        check_interrupted(run)
    assert sum(r["records"][-1]["reason"] == "stopped" for r in runs) >= 5  # most stopped the analysis


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc (Linux)")
def test_batch_workers_exit_within_5_s_of_their_parents_death(tmp_path):
    x = noise(240.0, 22050, 0.1, seed=2)
    sf.write(tmp_path / "long.wav", np.stack([x, x], 1), 22050)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"input": "long.wav", "cuts": [[0, 200]], "output": "o.wav", "separation": "dsp"}\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtaudio.cli", "batch", str(jobs), "--workers", "1", "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    family: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        family = _descendants(proc.pid)
        if len(family) >= 2:  # the forkserver and a worker
            break
        time.sleep(0.1)
    assert len(family) >= 2, "the batch never started its workers"
    time.sleep(1.0)  # the worker is inside the job
    family = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < 5.0 and any(process_alive(p) for p in family):
        time.sleep(0.05)
    left = [p for p in family if process_alive(p)]
    for p in left:  # do not leave them behind when the test fails
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes {left} outlived their parent by 5 s"

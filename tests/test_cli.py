"""The command line: help with examples, analyze (file, stdin, config), monitor, demo, the JSONL contract."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from rtaudio.cli import command_modules
from rtaudio.testing import tone


def run(*args, stdin=None, timeout=120):
    proc = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", *args], input=stdin, capture_output=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode(), proc.stderr.decode()


def records(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


@pytest.mark.parametrize("verb", [m.NAME for m in command_modules()])
def test_every_verb_has_help_with_an_example(verb):
    out, _ = run(verb, "--help")
    assert "examples:" in out and f"rtaudio {verb}" in out


def test_analyze_writes_the_jsonl_contract(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, np.stack([tone(1000, 3.0, 48000), tone(1000, 3.0, 48000, 0.25)], 1), 48000)
    out = tmp_path / "events.jsonl"
    _, err = run("analyze", str(path), "-o", str(out), "--spectrum-rate", "4")
    assert "x real time" in err and "integrated loudness" in err
    recs = records(out)
    assert all(list(r)[0] == "type" for r in recs)
    assert recs[0] == {
        "type": "source",
        "t": 0.0,
        "source": str(path),
        "rate": 48000,
        "channels": 2,
        "layout": "stereo",
        "duration_s": 3.0,
        "live": False,
    }
    spectra = [r for r in recs if r["type"] == "spectrum"]
    assert 11 <= len(spectra) <= 13  # 4 per second of audio, not every frame
    bands = next(r for r in recs if r["type"] == "spectrum_bands")["centers_hz"]
    loudest = bands[int(np.argmax(spectra[-1]["bands_db"]))]
    assert 900 < loudest < 1120
    levels = [r for r in recs if r["type"] == "levels"]
    assert abs(levels[-1]["t"] - 3.0) < 0.11 and levels[-1]["peak_dbfs"] == pytest.approx(-6.02, abs=0.05)
    assert recs[-2]["type"] == "loudness" and recs[-1] == {"type": "end", "t": 3.0, "reason": "end", "dropped": 0}


@pytest.mark.slow
def test_analyze_raw_pcm_on_stdin_matches_the_file(tmp_path):
    x = tone(440, 1.0, 16000)
    pcm = (x * 32767).astype("<i2").tobytes()
    out_stdin = tmp_path / "stdin.jsonl"
    run("analyze", "-", "--rate", "16000", "--format", "s16le", "-o", str(out_stdin), "--stages", "levels", stdin=pcm)
    wav = tmp_path / "x.wav"
    sf.write(wav, (x * 32767).astype(np.int16), 16000, subtype="PCM_16")
    out_file = tmp_path / "file.jsonl"
    run("analyze", str(wav), "-o", str(out_file), "--stages", "levels")
    a, b = records(out_stdin), records(out_file)
    assert [r for r in a if r["type"] == "levels"] == [r for r in b if r["type"] == "levels"]


def test_config_file_and_param_override(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, tone(1000, 1.0, 16000), 16000)
    cfg = tmp_path / "rtaudio.toml"
    cfg.write_text('[spectrum]\nscale = "mel"\nn_mels = 40\nn_fft = 1024\n')
    out = tmp_path / "e.jsonl"
    run("analyze", str(path), "-o", str(out), "--config", str(cfg), "-p", "spectrum.n_mels=24")
    bands = next(r for r in records(out) if r["type"] == "spectrum_bands")
    assert bands["scale"] == "mel" and len(bands["centers_hz"]) == 24


def test_monitor_a_file_in_the_terminal(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, tone(1000, 5.0, 16000), 16000)
    out, err = run("monitor", str(path), "--duration", "1.0", "-o", str(tmp_path / "m.jsonl"))
    assert "LUFS M" in err and "spectrum" in err
    assert "stopped:" in err  # stopped after 1 s of a 5 s file played at real time
    recs = records(tmp_path / "m.jsonl")
    assert 0.5 < recs[-1]["t"] < 2.5 and recs[-1]["reason"] == "stopped"


@pytest.mark.slow
def test_demo_runs_from_nothing(tmp_path):
    _, err = run("demo", "-o", str(tmp_path / "demo"), timeout=300)
    assert (tmp_path / "demo" / "demo.mp4").stat().st_size > 10_000
    recs = records(tmp_path / "demo" / "events.jsonl")
    assert recs[0]["type"] == "source" and recs[0]["duration_s"] == pytest.approx(12.0, abs=0.1)
    loud = next(r for r in recs if r["type"] == "loudness")
    assert -30 < loud["integrated_lufs"] < -10
    assert "integrated loudness" in err


def test_ctrl_c_stops_cleanly_with_partial_output(tmp_path):
    """SIGINT while reading a live pipe: the events so far are written, with an end event, and no traceback."""
    import signal
    import time

    out = tmp_path / "e.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtaudio.cli", "analyze", "-", "--rate", "16000", "-o", str(out)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pcm = (tone(440, 0.5, 16000) * 32767).astype("<i2").tobytes()
    proc.stdin.write(pcm)
    proc.stdin.flush()
    deadline = time.time() + 30
    while time.time() < deadline and (not out.exists() or out.read_text().count('"levels"') < 5):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    recs = records(out)
    assert recs[-1]["type"] == "end" and recs[-1]["reason"] == "stopped"
    assert recs[-1]["t"] == pytest.approx(0.5, abs=0.01)
    assert sum(r["type"] == "levels" for r in recs) == 5


@pytest.mark.parametrize("verb", ["analyze", "monitor"])
def test_ctrl_c_stops_a_run_started_with_sigint_ignored(tmp_path, verb):
    """A script's background job starts with SIGINT ignored; Ctrl-C (SIGINT) still stops rtaudio cleanly."""
    import signal
    import time

    out = tmp_path / "e.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtaudio.cli", verb, "-", "--rate", "16000", "-o", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    proc.stdin.write((tone(440, 1.2, 16000) * 32767).astype("<i2").tobytes())  # analyze works in 1 s quanta
    proc.stdin.flush()
    deadline = time.time() + 30
    while time.time() < deadline and (not out.exists() or out.read_text().count('"levels"') < 10):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{verb} did not stop within 30 s of SIGINT: {proc.communicate()[1].decode()}")
    assert proc.returncode == 0, err.decode()
    assert records(out)[-1]["reason"] == "stopped"

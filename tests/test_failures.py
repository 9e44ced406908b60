"""Bad input gets a clear error naming the value and what was expected; the CLI prints it without a traceback."""

import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from rtaudio.api import analyze
from rtaudio.errors import InputError, ParameterError
from rtaudio.testing import tone


def cli(*args, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "rtaudio.cli", *args], input=stdin, capture_output=True, timeout=60)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def assert_clean_cli_error(args, match, stdin=None):
    code, _, err = cli(*args, stdin=stdin)
    assert code == 2, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("rtaudio: error: ")
    assert match in err, err
    return err


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, tone(440, 2.0, 16000), 16000)
    return path


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(InputError, match=f"input '{path}' does not exist"):
        analyze(str(path))
    assert_clean_cli_error(["analyze", str(path)], "does not exist")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\); expected an audio or video file"):
        analyze(str(path))
    assert_clean_cli_error(["analyze", str(path)], "is empty (0 bytes)")


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are my notes, not audio\n" * 20)
    with pytest.raises(InputError, match="is not a readable audio or video file"):
        analyze(str(path))
    assert_clean_cli_error(["analyze", str(path)], "notes.wav' is not a readable audio or video file")


def test_truncated_wav_keeps_what_was_decoded(wav, tmp_path):
    cut = tmp_path / "cut.wav"
    data = wav.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut.wav' is truncated: decoded 1.00 s of the 2.00 s its header declares"):
        analyze(str(cut), stages=["levels"])
    out = tmp_path / "events.jsonl"
    err = assert_clean_cli_error(["analyze", str(cut), "-o", str(out), "--stages", "levels"], "is truncated")
    assert "the audio before that point was analysed" in err
    lines = out.read_text().splitlines()
    assert len(lines) > 5 and '"type": "end"' in lines[-1] and '"reason": "error"' in lines[-1]


def test_truncated_flac(tmp_path):
    path = tmp_path / "t.flac"
    sf.write(path, tone(440, 2.0, 16000), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="t.flac"):
        analyze(str(path), stages=["levels"])


def test_video_without_audio(tmp_path):
    import av

    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            for p in v.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    with pytest.raises(InputError, match=r"silent.mp4' has no audio stream \(streams: video h264\)"):
        analyze(str(path))
    assert_clean_cli_error(["analyze", str(path)], "has no audio stream")


def test_stream_index_out_of_range(wav):
    with pytest.raises(
        ParameterError, match=r"--stream=3 does not exist in .*audio streams: 0 \(pcm_s16le, 1 ch, 16000 Hz\)"
    ):
        analyze(str(wav), stream=3)
    assert_clean_cli_error(["analyze", str(wav), "--stream", "3"], "--stream=3 does not exist")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_samples_named(tmp_path, bad):
    x = tone(440, 1.0, 16000)
    x[1234] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(InputError, match=rf"sample 1234 \(t=0.077 s, channel 0\) is {bad}; expected finite samples"):
        analyze(str(path))
    assert_clean_cli_error(["analyze", str(path), "-o", str(tmp_path / "e.jsonl")], "sample 1234")
    events = analyze(str(path), on_nonfinite="zero")
    assert events[-1].reason == "end"


@pytest.mark.parametrize("rate", ["0", "-8000", "12", "abc"])
def test_invalid_rate_on_stdin(rate):
    if rate == "abc":  # argparse rejects a non-integer itself, also without a traceback
        code, _, err = cli("analyze", "-", "--rate", rate)
        assert code == 2 and "invalid int value: 'abc'" in err and "Traceback" not in err
        return
    assert_clean_cli_error(["analyze", "-", "--rate", rate], f"--rate={rate} must be a sample rate in Hz", stdin=b"")


def test_stdin_without_rate():
    assert_clean_cli_error(["analyze", "-"], "needs --rate", stdin=b"\0\0")


def test_stdin_bad_format():
    assert_clean_cli_error(
        ["analyze", "-", "--rate", "8000", "--format", "s17le"], "--format='s17le' is not a PCM format", stdin=b""
    )


def test_stdin_partial_frame():
    err = assert_clean_cli_error(
        ["analyze", "-", "--rate", "8000", "--channels", "2", "-o", "/dev/null"],
        "stdin ended with 2 stray bytes",
        stdin=b"\0" * 4002,
    )
    assert "check --channels and --format" in err


def test_unknown_stage_and_parameter(wav):
    assert_clean_cli_error(["analyze", str(wav), "--stages", "spectrum,magic"], "unknown stage 'magic'")
    err = assert_clean_cli_error(["analyze", str(wav), "-p", "spectrum.nfft=4096"], "unknown parameter spectrum.nfft")
    assert "n_fft" in err
    assert_clean_cli_error(
        ["analyze", str(wav), "-p", "spectrum.n_fft=big"], "spectrum.n_fft='big' must be of type int"
    )
    assert_clean_cli_error(["analyze", str(wav), "-p", "n_fft=4096"], "must look like STAGE.NAME=VALUE")


def test_bad_config_file(wav, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[spectrum\nn_fft = 4096\n")
    assert_clean_cli_error(["analyze", str(wav), "--config", str(cfg)], "is not valid TOML")
    assert_clean_cli_error(["analyze", str(wav), "--config", str(tmp_path / "none.toml")], "does not exist")


def test_unknown_device():
    err = assert_clean_cli_error(
        ["monitor", "--device", "no-such-device-xyz", "--duration", "1"], "'no-such-device-xyz'"
    )
    assert "not found" in err


def test_unreachable_url():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there (port 9 may be served)
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/radio.mp3"
    err = assert_clean_cli_error(["analyze", url], url)
    assert "cannot open stream" in err


def test_unwritable_output(wav):
    assert_clean_cli_error(["analyze", str(wav), "-o", "/nonexistent-dir/e.jsonl"], "cannot write events to")

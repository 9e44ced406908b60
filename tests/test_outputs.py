"""Nothing lost, nothing overwritten (issue 13): outputs never replace inputs or each other; files appear whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from rtaudio.cli import main
from rtaudio.errors import ParameterError
from rtaudio.jobs.batch import read_jobs, run_batch
from rtaudio.outputs import HOST, alive, atomic, check_paths, part_name, remove_stale
from rtaudio.testing import noise, tone

RATE = 16000


def cli(capsys, *args):
    """``rtaudio ARGS`` in this process: (exit status, stderr)."""
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.fixture
def media(tmp_path):
    """A 3 s WAV, a cut list, their bytes, and a symlink and a hard link to the WAV."""
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(440, 3.0, RATE, 0.3), RATE)
    cuts = tmp_path / "c.csv"
    cuts.write_text("start,end\n0.0,1.0\n1.5,2.5\n")
    os.symlink(wav, tmp_path / "link.wav")
    os.link(wav, tmp_path / "hard.wav")
    (tmp_path / "sub").mkdir()
    return tmp_path, wav, cuts, wav.read_bytes(), cuts.read_bytes()


# ---------------------------------------------------------------------------------- the shared module


def test_check_paths_resolves_dotdot_symlinks_and_hard_links(media):
    d, wav, *_ = media
    for alias in (wav, d / "sub" / ".." / "a.wav", d / "link.wav", d / "hard.wav"):
        with pytest.raises(ParameterError, match=rf"-o '{alias}' is the same file as the input '{wav}'"):
            check_paths({"the input": str(wav)}, {"-o": str(alias)})
    with pytest.raises(ParameterError, match=r"--report '.*x.json' and -o '.*x.json' are the same file"):
        check_paths({}, {"-o": str(d / "x.json"), "--report": str(d / "sub/../x.json")})
    check_paths({"the input": str(wav), "url": "http://h/a.wav"}, {"-o": "-", "--report": None})


def test_atomic_leaves_the_previous_file_on_error_and_replaces_it_on_success(tmp_path):
    out = tmp_path / "o.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic(out) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".txt")
        open(tmp, "w").write("half")
        raise RuntimeError("killed")
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["o.txt"]
    with atomic(out) as tmp:
        open(tmp, "w").write("new")
    assert out.read_text() == "new" and os.listdir(tmp_path) == ["o.txt"]


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = part_name(tmp_path / "song.wav", pid=dead.pid)
    live = part_name(tmp_path / "other.wav")  # this process: still running
    cuts = tmp_path / f".song.cuts.part-{dead.pid}.json"
    other_host = tmp_path / f".song.part-{dead.pid}-zzzzzz.wav"  # not a tag: left alone
    other = tmp_path / f".song.part-{dead.pid}-{'0' if HOST != '000000' else '1'}00000.wav"  # another machine's
    for p in (stale, live, cuts, other_host, other, tmp_path / "keep.part-1.wav"):
        open(p, "w").close()
    assert sorted(remove_stale(tmp_path)) == sorted([stale, str(cuts)])
    assert sorted(os.listdir(tmp_path)) == sorted(
        [os.path.basename(p) for p in (live, other_host, other)] + ["keep.part-1.wav"]
    )


# ---------------------------------------------------------------------------------- analyze


@pytest.mark.parametrize("alias", ["a.wav", "sub/../a.wav", "link.wav", "hard.wav"])
def test_analyze_refuses_to_write_over_its_input(capsys, media, alias):
    d, wav, _, wav_bytes, _ = media
    code, err = cli(capsys, "analyze", str(wav), "-o", str(d / alias), "--no-progress")
    assert code == 2
    assert f"rtaudio: error: -o '{d / alias}' is the same file as the input '{wav}'" in err
    assert wav.read_bytes() == wav_bytes


def test_analyze_into_a_full_disk_is_one_line(capsys, media):
    _, wav, *_ = media
    code, err = cli(capsys, "analyze", str(wav), "-o", "/dev/full", "--no-progress")
    assert code == 2
    assert "rtaudio: error: cannot write events to '/dev/full': No space left on device" in err


# ---------------------------------------------------------------------------------- soundtrack


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{d}/a.wav"], "-o '{d}/a.wav' is the same file as the input '{d}/a.wav'"),
        (["-o", "{d}/link.wav"], "-o '{d}/link.wav' is the same file as the input '{d}/a.wav'"),
        (
            ["-o", "{d}/o.wav", "--report", "{d}/c.csv"],
            "--report '{d}/c.csv' is the same file as --cuts '{d}/c.csv'",
        ),
        (
            ["-o", "{d}/o.wav", "--report", "{d}/sub/../a.wav"],
            "--report '{d}/sub/../a.wav' is the same file as the input '{d}/a.wav'",
        ),
        (["-o", "{d}/o.wav", "--report", "{d}/o.wav"], "--report '{d}/o.wav' and -o '{d}/o.wav' are the same file"),
        (
            ["-o", "{d}/o.wav", "--report", "{d}/missing/r.json"],
            "--report='{d}/missing/r.json': the folder '{d}/missing' does not exist",
        ),
    ],
)
def test_soundtrack_refuses_to_write_over_inputs_or_outputs(capsys, media, extra, message):
    d, wav, cuts, wav_bytes, cut_bytes = media
    args = [a.format(d=d) for a in extra]
    code, err = cli(capsys, "soundtrack", str(wav), "--cuts", str(cuts), *args, "--no-progress", "--no-cache")
    assert code == 2
    assert f"rtaudio: error: {message.format(d=d)}" in err
    assert wav.read_bytes() == wav_bytes and cuts.read_bytes() == cut_bytes
    assert not (d / "o.wav").exists()


def test_soundtrack_mux_output_may_not_be_the_source_video(capsys, media):
    d, wav, cuts, *_ = media
    src = d / "src.mp4"
    src.write_bytes(b"a video")  # refused before it is read
    edited = d / "e.mp4"
    edited.write_bytes(b"the edit")
    code, err = cli(
        capsys, "soundtrack", str(src), "--cuts", str(cuts), "--mux", str(edited), "-o", str(src), "--no-progress"
    )
    assert code == 2
    assert f"the muxed video -o '{src}' is the same file as the input '{src}'" in err
    assert src.read_bytes() == b"a video"


def test_soundtrack_writes_whole_files_and_clears_stale_ones(capsys, media):
    d, wav, cuts, *_ = media
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = part_name(d / "o.wav", pid=dead.pid)
    open(stale, "wb").write(b"RIFF half a render")
    code, err = cli(
        capsys, "soundtrack", str(wav), "--cuts", str(cuts), "-o", str(d / "o.wav"), "--report", str(d / "r.json"),
        "--separation", "none", "--no-cache", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert sf.info(d / "o.wav").duration == pytest.approx(2.0, abs=0.01)
    assert json.loads((d / "r.json").read_text())["output"]["duration_s"] == pytest.approx(2.0, abs=0.01)
    assert not [n for n in os.listdir(d) if ".part-" in n]


# ---------------------------------------------------------------------------------- separate


def test_separate_refuses_to_write_a_stem_over_its_input(capsys, media):
    d, wav, *_ = media
    stems = d / "stems"
    stems.mkdir()
    vocals = stems / "vocals.wav"
    vocals.write_bytes(wav.read_bytes())
    before = vocals.read_bytes()
    code, err = cli(capsys, "separate", str(vocals), "-o", str(stems), "--backend", "dsp")
    assert code == 2
    assert f"rtaudio: error: the vocals stem '{vocals}' is the same file as the input '{vocals}'" in err
    assert vocals.read_bytes() == before


def _dead_pid_files(folder):
    return [n for n in os.listdir(folder) if ".part-" in n]


@pytest.mark.slow
def test_separate_killed_mid_write_leaves_no_stem_or_the_previous_one(tmp_path):
    """SIGKILL while the stems are written: the final names are absent, or the previous complete files."""
    src = tmp_path / "long.wav"
    sf.write(src, np.stack([noise(240.0, 22050, 0.1, seed=1), noise(240.0, 22050, 0.1, seed=2)], 1), 22050)
    out = tmp_path / "stems"
    out.mkdir()
    previous = out / "accompaniment.wav"
    sf.write(previous, np.zeros(1000, np.float32), 22050, subtype="FLOAT")
    before = previous.read_bytes()
    cmd = [sys.executable, "-m", "rtaudio.cli", "separate", str(src), "-o", str(out), "--backend", "dsp"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    part = None
    while time.time() < deadline and proc.poll() is None:
        parts = [n for n in os.listdir(out) if n.startswith(".vocals.part-")]
        if parts and os.path.getsize(out / parts[0]) > 500_000:  # well into the stem
            part = parts[0]
            break
        time.sleep(0.05)
    assert part is not None, "the stems never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert not (out / "vocals.wav").exists()
    assert previous.read_bytes() == before
    assert not (out / "separation.json").exists()
    # the next run clears the dead process's temporary files and writes whole stems
    sf.write(tmp_path / "short.wav", noise(2.0, 22050, 0.1, seed=3), 22050)
    subprocess.run([*cmd[:4], str(tmp_path / "short.wav"), *cmd[5:]], check=True, capture_output=True)
    assert not _dead_pid_files(out)
    assert sf.info(out / "vocals.wav").duration == pytest.approx(2.0, abs=0.01)


# ---------------------------------------------------------------------------------- batch


def _jobs(folder, *rows):
    p = folder / "jobs.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_batch_report_over_another_jobs_output_is_refused_with_both_lines(media):
    d, *_ = media
    p = _jobs(
        d,
        {"input": "a.wav", "cuts": "c.csv", "output": "o1.wav"},
        {"input": "a.wav", "cuts": "c.csv", "output": "o2.wav", "report": "o1.wav"},
    )
    with pytest.raises(
        ParameterError, match=rf"{p} line 2: report '{d}/o1.wav' and {p} line 1: output '{d}/o1.wav' are the same"
    ):
        read_jobs(p)


@pytest.mark.parametrize("field", ["output", "report"])
def test_batch_output_or_report_over_the_input_is_refused(media, field):
    d, wav, _, wav_bytes, _ = media
    row = {"input": "a.wav", "cuts": "c.csv", "output": "o.wav"}
    row[field] = "a.wav"
    p = _jobs(d, row)
    for force in (False, True):
        with pytest.raises(
            ParameterError, match=rf"{p} line 1: {field} '{wav}' is the same file as {p} line 1: input '{wav}'"
        ):
            run_batch(str(p), force=force)
    assert wav.read_bytes() == wav_bytes


def test_batch_duplicate_output_names_two_line_numbers(media):
    d, *_ = media
    p = _jobs(
        d,
        {"input": "a.wav", "cuts": "c.csv", "output": "o.wav"},
        {"input": "a.wav", "cuts": "c.csv", "output": "sub/../o.wav"},
    )
    with pytest.raises(ParameterError, match=rf"{p} line 2: output '{d}/o.wav' and {p} line 1: output '{d}/o.wav'"):
        read_jobs(p)


def test_batch_summary_may_not_be_the_job_list(capsys, media):
    d, *_ = media
    p = _jobs(d, {"input": "a.wav", "cuts": "c.csv", "output": "o.wav"})
    code, err = cli(capsys, "batch", str(p), "--summary", str(p))
    assert code == 2
    assert f"--summary '{p}' is the same file as the job list '{p}'" in err


def test_batch_inline_cut_errors_name_the_job_line_and_leave_no_temporary_file(media):
    d, *_ = media
    p = _jobs(d, {"input": "a.wav", "cuts": [[0, 1], [1.5, 9.5]], "output": "o.wav", "separation": "none"})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    open(part_name(d / "o.cuts.json", pid=dead.pid), "w").close()  # left by a killed batch
    result = run_batch(str(p), workers=1)
    row = result["jobs"][0]
    assert row["status"] == "failed"
    assert row["error"].startswith(f"{p} line 1: cuts segment 2: segment 1.5-9.5 s is out of range")
    assert ".part-" not in row["error"]
    assert not _dead_pid_files(d)


# ---------------------------------------------------------------------------------- NaN input


@pytest.fixture
def nan_wav(tmp_path):
    """3 s of tone with a NaN at exactly 1.0 s."""
    x = tone(440, 3.0, RATE, 0.3)
    x[RATE] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    return path


def test_analyze_nan_names_the_cli_flag_and_keeps_the_audio_before_it(capsys, tmp_path, nan_wav):
    out = tmp_path / "e.jsonl"
    code, err = cli(capsys, "analyze", str(nan_wav), "-o", str(out), "--no-progress", "--stages", "levels")
    assert code == 2
    assert f"'{nan_wav}': sample 16000 (t=1.000 s, channel 0) is nan; expected finite samples" in err
    assert "(replace them with silence: --nonfinite zero, or on_nonfinite='zero' in Python)" in err
    levels = [r for r in map(json.loads, open(out)) if r["type"] == "levels"]
    assert levels and levels[-1]["t"] == pytest.approx(1.0, abs=0.11)  # the second before the NaN was analysed


def test_separate_and_soundtrack_name_the_file_and_time_of_a_nan(capsys, tmp_path, nan_wav):
    code, err = cli(capsys, "separate", str(nan_wav), "-o", str(tmp_path / "stems"), "--backend", "dsp")
    assert code == 2
    assert f"rtaudio: error: '{nan_wav}': sample 16000 (t=1.000 s, channel 0) is nan; expected finite samples" in err
    assert not (tmp_path / "stems" / "vocals.wav").exists()
    cuts = tmp_path / "c.csv"
    cuts.write_text("start,end\n0,2\n")
    code, err = cli(
        capsys, "soundtrack", str(nan_wav), "--cuts", str(cuts), "-o", str(tmp_path / "o.wav"), "--no-cache",
        "--no-progress",
    )  # fmt: skip
    assert code == 2
    assert f"rtaudio: error: '{nan_wav}': sample 16000 (t=1.000 s, channel 0) is nan; expected finite samples" in err


def test_soundtrack_review_folder_may_not_hold_an_input_under_a_sheet_name(capsys, media):
    d, wav, *_ = media
    (d / "rev").mkdir()
    cuts = d / "rev" / "index.html"
    cuts.write_text("start,end\n0,1\n")
    code, err = cli(capsys, "soundtrack", str(wav), "--cuts", str(cuts), "-o", str(d / "o.wav"), "--review",
                    str(d / "rev"), "--no-progress")  # fmt: skip
    assert code == 2
    assert f"--cuts '{cuts}' lies in the --review folder '{d}/rev', where the review sheet writes" in err
    assert cuts.read_text() == "start,end\n0,1\n"


def test_alive_tells_running_zombie_and_gone_processes_apart():
    assert alive(os.getpid())
    assert not alive(0) and not alive(-5) and not alive(2**70)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    pid = child.pid
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:  # exited but not reaped: a zombie, which counts as gone
        time.sleep(0.01)
    assert not alive(pid)
    child.wait()
    assert not alive(pid)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert alive(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()

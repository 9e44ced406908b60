"""Parallel soundtrack jobs: local process pool and a real local Ray cluster (issue 9)."""

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

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs import probes
from rtaudio.jobs.batch import Runner, read_jobs, run_batch
from rtaudio.jobs.executors import make_executor
from rtaudio.jobs.graph import Ref, Task, run_graph

ray = pytest.importorskip("ray")
RATE = 22050
RTAUDIO = os.path.join(os.path.dirname(sys.executable), "rtaudio")


def _write_inputs(folder):
    from rtaudio.demo import write_demo_video
    from rtaudio.testing import beat_and_chords

    os.makedirs(folder, exist_ok=True)
    for i in range(2):
        x = beat_and_chords(6.0, RATE, bpm=110 + 10 * i, seed=i).astype(np.float32)
        st = np.stack([x, 0.8 * x], 1)
        if i == 0:
            write_demo_video(os.path.join(folder, "in0.mp4"), st, RATE)
        else:
            sf.write(os.path.join(folder, "in1.wav"), st, RATE)
    with open(os.path.join(folder, "bad.mp4"), "wb") as f:
        f.write(b"\x00not a video" * 200)
    with open(os.path.join(folder, "cuts1.csv"), "w") as f:
        f.write("start,end\n0,2.5\n3,5.2\n")


def _jobs_file(folder, out, with_bad=True):
    rows = [
        {
            "input": "in0.mp4",
            "cuts": [[0, 2], [3.1, 5.5]],
            "output": f"{out}/o0.wav",
            "separation": "dsp",
            "cache": False,
            "report": f"{out}/o0.json",
        },
        {
            "input": "in1.wav",
            "cuts": "cuts1.csv",
            "output": f"{out}/o1.wav",
            "separation": "none",
            "cache": False,
            "music": "crossfade",
        },
    ]
    if with_bad:
        rows.append(
            {"input": "bad.mp4", "cuts": [[0, 1]], "output": f"{out}/bad.wav", "separation": "none", "cache": False}
        )
    os.makedirs(os.path.join(folder, out), exist_ok=True)
    path = os.path.join(folder, f"{out}.jsonl")
    with open(path, "w") as f:
        f.write("# a comment line\n\n")
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("batch"))
    _write_inputs(folder)
    return folder


@pytest.fixture(scope="module")
def ray_cluster():
    # address="local": a cluster of the test's own, even where a `ray start` cluster runs on the machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local_run(inputs):
    return run_batch(_jobs_file(inputs, "local"), engine="local", workers=2)


def _by_name(summary):
    return {os.path.basename(r["output"]): r for r in summary["jobs"]}


@pytest.mark.slow
def test_local_batch_isolates_a_corrupt_input(inputs, local_run):
    rows = _by_name(local_run)
    assert local_run["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    assert rows["o0.wav"]["status"] == rows["o1.wav"]["status"] == "done"
    bad = rows["bad.wav"]
    assert bad["status"] == "failed" and bad["error_type"] == "InputError" and bad["attempts"] == 1
    assert "bad.mp4" in bad["error"] and "not a readable audio or video file" in bad["error"]
    assert not os.path.exists(os.path.join(inputs, "local", "bad.wav"))
    # the workers ran in other processes, and left no temporary file behind
    assert {rows["o0.wav"]["result"]["pid"], rows["o1.wav"]["result"]["pid"]} - {os.getpid()}
    assert sorted(os.listdir(os.path.join(inputs, "local"))) == ["o0.json", "o0.wav", "o1.wav"]
    y, rate = sf.read(os.path.join(inputs, "local", "o1.wav"))
    assert rate == RATE and abs(len(y) - round(4.7 * RATE)) <= 1


@pytest.mark.slow
def test_ray_outputs_identical_to_local_pool(inputs, local_run, ray_cluster):
    summary = run_batch(_jobs_file(inputs, "ray"), engine="ray")
    assert summary["engine"] == "ray" and summary["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    rows = _by_name(summary)
    assert rows["bad.wav"]["error_type"] == "InputError" and "bad.mp4" in rows["bad.wav"]["error"]
    for name in ("o0.wav", "o1.wav"):
        with open(os.path.join(inputs, "local", name), "rb") as a, open(os.path.join(inputs, "ray", name), "rb") as b:
            assert a.read() == b.read(), name
    assert ray_cluster.is_initialized()  # a cluster the caller started is left running


@pytest.mark.slow
def test_rerun_skips_finished_jobs_and_redoes_partial_ones(inputs, local_run):
    folder = os.path.join(inputs, "local")
    mtimes = {n: os.stat(os.path.join(folder, n)).st_mtime_ns for n in ("o0.wav", "o0.json", "o1.wav")}
    # a job killed while writing leaves only a temporary file: it must not count as finished
    os.rename(os.path.join(folder, "o1.wav"), os.path.join(folder, ".o1.part-999.wav"))
    again = run_batch(os.path.join(inputs, "local.jsonl"), engine="local", workers=2)
    rows = _by_name(again)
    assert again["counts"] == {"done": 1, "skipped": 1, "failed": 1}
    assert rows["o0.wav"]["status"] == "skipped" and rows["o1.wav"]["status"] == "done"
    assert os.stat(os.path.join(folder, "o0.wav")).st_mtime_ns == mtimes["o0.wav"]
    assert os.stat(os.path.join(folder, "o0.json")).st_mtime_ns == mtimes["o0.json"]
    assert os.stat(os.path.join(folder, "o1.wav")).st_mtime_ns != mtimes["o1.wav"]
    # a finished output needs its report too: without it the job is redone
    os.remove(os.path.join(folder, "o0.json"))
    third = _by_name(run_batch(os.path.join(inputs, "local.jsonl"), workers=1))
    assert third["o0.wav"]["status"] == "done" and third["o1.wav"]["status"] == "skipped"


@pytest.mark.slow
def test_killed_batch_resumes_without_redoing_finished_jobs(inputs):
    jobs = _jobs_file(inputs, "killed", with_bad=False)
    folder = os.path.join(inputs, "killed")
    cmd = [RTAUDIO, "batch", jobs, "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = os.path.join(folder, "o0.wav")
    deadline = time.time() + 30
    while not os.path.exists(first) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert os.path.exists(first)
    finished_at = os.stat(first).st_mtime_ns
    if os.path.exists(os.path.join(folder, "o1.wav")):
        pytest.skip("the second job finished before the kill landed; nothing left to resume")
    out = subprocess.run(cmd + ["--json"], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = _by_name(json.loads(out.stdout))
    assert rows["o0.wav"]["status"] == "skipped" and rows["o1.wav"]["status"] == "done"
    assert os.stat(first).st_mtime_ns == finished_at
    assert not [n for n in os.listdir(folder) if ".part-" in n and n.startswith(".o1")]


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_transient_fault_is_retried_and_arrays_travel_by_reference(engine, tmp_path, request):
    if engine == "ray":
        request.getfixturevalue("ray_cluster")
    with make_executor(engine, workers=2) as ex:
        marker = str(tmp_path / "marker")
        stored = ex.put(np.arange(100_000, dtype=np.float64))
        tasks = [
            Task("flaky", probes.fail_once, (marker, 7)),
            Task("sum", probes.total, (stored,)),
            Task("after", probes.noop, (Ref("flaky"),)),
            Task("never", probes.fail_once, (str(tmp_path / "m2"),), retries=0),
            Task("skipped", probes.noop, (Ref("never"),)),
        ]
        out = run_graph(tasks, ex, backoff_s=0.01)
    assert out["flaky"].ok and out["flaky"].attempts == 2 and out["flaky"].result == 7
    assert out["after"].result == 7
    assert out["sum"].result == float(np.arange(100_000).sum())
    assert not out["never"].ok and out["never"].error_type == "ConnectionError"
    assert "simulated transient fault" in out["never"].error
    assert not out["skipped"].ok and "dependency 'never' failed" in out["skipped"].error


def test_the_inline_executor_runs_a_graph_here_and_fails_fast(tmp_path):
    """In this process, in the tasks' order; without fail_fast a failure isolates as on a pool, with it the
    task's own exception comes out at once and nothing after it runs."""
    from rtaudio.jobs.executors import InlineExecutor

    def tasks(marker):
        return [
            Task("a", probes.noop, (3,)),
            Task("never", probes.fail_once, (marker,), retries=0),
            Task("skipped", probes.noop, (Ref("never"),)),
            Task("b", probes.noop, (Ref("a"),)),
        ]

    with InlineExecutor() as ex:
        out = run_graph(tasks(str(tmp_path / "m1")), ex)
        assert out["b"].ok and out["b"].result == 3
        assert not out["never"].ok and out["never"].error_type == "ConnectionError"
        assert not out["skipped"].ok and "dependency 'never' failed" in out["skipped"].error
        done = []
        with pytest.raises(ConnectionError, match="simulated transient fault"):
            run_graph(tasks(str(tmp_path / "m2")), ex, lambda o: done.append(o.key), fail_fast=True)
    assert done == ["a"]


@pytest.mark.slow
def test_submit_returns_while_the_caller_works(inputs, local_run, tmp_path):
    with Runner("local", workers=1) as runner:
        handle = runner.submit(
            os.path.join(inputs, "in1.wav"),
            os.path.join(inputs, "cuts1.csv"),
            tmp_path / "s.wav",
            separation="none",
            cache=False,
            music="crossfade",
        )
        busy = sum(i * i for i in range(200_000))  # the caller's own "video render"
        assert busy > 0
        result = handle.result()
        assert handle.done()
    assert result["output"] == str(tmp_path / "s.wav")
    with open(tmp_path / "s.wav", "rb") as a, open(os.path.join(inputs, "local", "o1.wav"), "rb") as b:
        assert a.read() == b.read()
    with Runner("local", workers=1) as runner:
        bad = runner.submit(os.path.join(inputs, "bad.mp4"), [(0, 1)], tmp_path / "b.wav", cache=False)
        with pytest.raises(InputError, match="bad.mp4"):
            bad.result()


def test_bad_job_lists_and_options_are_named(tmp_path):
    p = tmp_path / "j.jsonl"
    p.write_text('{"input": "a.mp4", "cuts": "a.csv", "output": "a.wav"}\n{"input": "b.mp4", "output": "b.wav"}\n')
    with pytest.raises(ParameterError, match=r"j.jsonl line 2: missing 'cuts'"):
        read_jobs(p)
    p.write_text('{"input": "a.mp4", "cuts": "a.csv", "output": "a.wav", "volume": 3}\n')
    with pytest.raises(ParameterError, match=r"line 1: unknown field\(s\) 'volume'"):
        read_jobs(p)
    p.write_text('{"input": "a.mp4", "cuts": "a.csv", "output": "a.mp3"}\n')
    with pytest.raises(ParameterError, match=r"output='a.mp3'"):
        read_jobs(p)
    p.write_text("{not json\n")
    with pytest.raises(ParameterError, match=r"line 1: not JSON"):
        read_jobs(p)
    with pytest.raises(InputError, match="does not exist"):
        read_jobs(tmp_path / "missing.jsonl")
    with pytest.raises(ParameterError, match="engine='spark' must be 'local' or 'ray'"):
        make_executor("spark")
    with pytest.raises(ParameterError, match="workers=0"):
        make_executor("local", workers=0)
    with pytest.raises(ParameterError, match="address='auto' is for engine='ray'"):
        make_executor("local", address="auto")
    with pytest.raises(ParameterError, match="cycle"):
        run_graph([Task("a", probes.noop, (Ref("b"),)), Task("b", probes.noop, (Ref("a"),))], None)


def test_cli_prints_summary_and_fails_on_a_failed_job(inputs, local_run):
    cmd = [
        RTAUDIO,
        "batch",
        os.path.join(inputs, "local.jsonl"),
        "--no-progress",
        "--summary",
        os.path.join(inputs, "summary.json"),
    ]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    assert "3 jobs on local" in out.stdout and "failed: bad.wav" in out.stdout and "InputError" in out.stdout
    with open(os.path.join(inputs, "summary.json")) as f:
        summary = json.load(f)
    assert summary["counts"]["failed"] == 1 and summary["counts"]["done"] + summary["counts"]["skipped"] == 2
    bad = subprocess.run(
        [RTAUDIO, "batch", os.path.join(inputs, "nope.jsonl")], check=False, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and bad.stderr.startswith("rtaudio: error: job list") and "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["local", "ray"])
def test_chunked_separation_equals_one_separator(engine, request):
    from threadpoolctl import threadpool_limits

    from rtaudio.jobs import separation as sep
    from rtaudio.jobs.chunked import plan_chunks, separate_chunked
    from rtaudio.testing import beat_and_chords

    if engine == "ray":
        request.getfixturevalue("ray_cluster")
    rate = 8000
    x = beat_and_chords(75.0, rate, seed=3).astype(np.float32)
    x = np.stack([x, 0.6 * x], 1)
    # one BLAS thread here and in the workers: float sums then run in the same order on any machine
    with threadpool_limits(1), sep.Separator(sep.SeparationParams(stems=2, backend="dsp"), rate=rate, channels=2) as s:
        whole = s.separate(x, rate)
        chunks = plan_chunks(len(x), s.segment, s.overlap, 1)
    assert len(chunks) == 3 and chunks[1][0] == chunks[0][1] - s.overlap
    with make_executor(engine, workers=2, threads=1) as ex:
        parts = separate_chunked(x, rate, ex, backend="dsp")
    assert set(parts) == {"vocals", "accompaniment"}
    for name in parts:
        assert parts[name].shape == x.shape
        np.testing.assert_allclose(parts[name], whole[name], atol=1e-6, err_msg=name)


def test_output_folders_are_created(tmp_path):
    """A job may name an output folder that does not exist yet; the batch makes it."""
    import soundfile as sf

    from rtaudio.jobs.batch import run_job
    from rtaudio.testing import tone

    src = tmp_path / "in.wav"
    sf.write(src, tone(440, 3.0, 16000), 16000)
    out = tmp_path / "new" / "deeper" / "out.wav"
    run_job(
        {"input": str(src), "cuts": [[0.0, 1.0], [2.0, 3.0]], "output": str(out), "options": {"separation": "none"}}
    )
    assert out.exists() and not list(out.parent.glob(".*part*"))

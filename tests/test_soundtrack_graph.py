"""One soundtrack job as a task graph (issue 9): same output as render_soundtrack, on the local pool and Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import soundfile as sf
from test_batch import ray_cluster  # noqa: F401  (a real local Ray cluster, num_cpus=2)
from threadpoolctl import threadpool_limits

from rtaudio.errors import InputError, ParameterError
from rtaudio.jobs.batch import Runner, run_batch
from rtaudio.jobs.executors import make_executor
from rtaudio.jobs.soundtrack.graph import render_soundtrack_graph
from rtaudio.jobs.soundtrack.render import render_soundtrack

RATE = 16000
CUTS = [(0.5, 6.0), (7.2, 14.5), (16.0, 23.3), (25.1, 31.0), (32.4, 38.8), (40.0, 44.0)]
RTAUDIO = os.path.join(os.path.dirname(sys.executable), "rtaudio")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """45 s of music with speech bursts: two dsp separation chunks (30 s segments), six segments."""
    from rtaudio.testing import beat_and_chords, noise

    folder = tmp_path_factory.mktemp("st-graph")
    x = beat_and_chords(45.0, RATE, bpm=104, seed=2) * 0.5 + noise(45.0, RATE, 0.003, seed=1)
    rng = np.random.default_rng(0)
    for t in np.arange(2.0, 43.0, 4.0):  # vowel-like bursts in the dialogue band
        i, n = int(t * RATE), int(rng.uniform(0.6, 1.4) * RATE)
        tt = np.arange(n) / RATE
        x[i : i + n] += (
            0.3 * np.sin(2 * np.pi * 180 * tt) * np.sin(np.pi * tt / tt[-1]) * (1 + np.sin(2 * np.pi * 700 * tt))
        )
    path = folder / "in.wav"
    sf.write(path, np.stack([x, 0.8 * x], 1).astype(np.float32), RATE)
    cuts = folder / "cuts.csv"
    cuts.write_text("start,end\n" + "".join(f"{a},{b}\n" for a, b in CUTS))
    return folder, str(path), str(cuts)


@pytest.fixture(scope="module")
def reference(source):
    folder, path, cuts = source
    out = str(folder / "ref.wav")
    with threadpool_limits(1):  # as the workers below (threads=1): same float sums on any machine
        report = render_soundtrack(path, cuts, out, separation="dsp", cache=False)
    return out, report


def _same(report, ref_report, out, ref_out):
    a, _ = sf.read(out, dtype="float64")
    b, _ = sf.read(ref_out, dtype="float64")
    assert a.shape == b.shape
    diff = float(np.max(np.abs(a - b)))
    assert diff <= 2.0**-23, diff  # at most one 24-bit step
    for key in ("joins", "baselines", "summary", "analysis", "stems", "needs_review"):
        assert report[key] == ref_report[key], key
    assert {k: v for k, v in report["output"].items() if k != "path"} == {
        k: v for k, v in ref_report["output"].items() if k != "path"
    }
    return diff


@pytest.mark.slow
def test_graph_equals_render_soundtrack_on_the_local_pool(source, reference):
    folder, path, cuts = source
    out = str(folder / "local.wav")
    with make_executor("local", workers=2, threads=1) as ex:
        report = render_soundtrack_graph(path, cuts, out, executor=ex, groups=3, separation="dsp", cache=False)
    assert _same(report, reference[1], out, reference[0]) == 0.0
    tasks = report["timings"]["tasks"]
    assert {
        "decode",
        "part0",
        "part1",
        "separate",
        "music",
        "beats",
        "speech",
        "plan",
        "render0",
        "render2",
        "mix",
        "measure",
        "naive",
        "crossfade",
        "report",
        "write",
    } <= set(tasks)
    assert report["graph"] == {"engine": "local", "workers": 2, "tasks": len(tasks)}


@pytest.mark.slow
def test_graph_equals_render_soundtrack_on_ray(source, reference, ray_cluster):  # noqa: F811
    folder, path, cuts = source
    out = str(folder / "ray.wav")
    report = render_soundtrack_graph(path, cuts, out, engine="ray", separation="dsp", cache=False)
    assert _same(report, reference[1], out, reference[0]) == 0.0
    assert report["graph"]["engine"] == "ray" and ray_cluster.is_initialized()


@pytest.mark.slow
def test_graph_writes_and_reads_the_render_cache(source, tmp_path):
    """A graph render fills the cache that render_soundtrack reads, and reads it back (no decode task)."""
    folder, path, cuts = source
    kw = dict(separation="none", cache_dir=str(tmp_path / "cache"), music="crossfade")
    with make_executor("local", workers=2) as ex:
        first = render_soundtrack_graph(path, cuts, str(tmp_path / "a.wav"), executor=ex, **kw)
        again = render_soundtrack_graph(path, cuts, str(tmp_path / "b.wav"), executor=ex, **kw)
    assert not first["cache"]["hit"] and "cache" in first["timings"]["tasks"]
    assert again["cache"]["hit"] and "decode" not in again["timings"]["tasks"]
    inproc = render_soundtrack(path, cuts, str(tmp_path / "c.wav"), **kw)
    assert inproc["cache"]["hit"]
    for p in ("a", "b"):
        _same(first if p == "a" else again, inproc, str(tmp_path / f"{p}.wav"), str(tmp_path / "c.wav"))


def test_a_failing_task_fails_the_job_naming_it(tmp_path):
    """A truncated upload: the header promises 10 s, 5 s decode; the decode task fails, and the job with it."""
    from rtaudio.testing import beat_and_chords

    path = tmp_path / "cut-short.wav"
    sf.write(path, beat_and_chords(10.0, RATE, seed=4).astype(np.float32), RATE, subtype="PCM_16")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(44 + (size - 44) // 2)
    cuts = tmp_path / "cuts.csv"
    cuts.write_text("start,end\n0,2\n6,9\n")
    with make_executor("local", workers=2) as ex, pytest.raises(InputError) as err:
        render_soundtrack_graph(
            str(path), str(cuts), str(tmp_path / "o.wav"), executor=ex, separation="none", cache=False
        )
    msg = str(err.value)
    assert "cut-short.wav' is truncated: decoded 5.00 s of the 10" in msg and "task 'decode'" in msg, msg
    assert not (tmp_path / "o.wav").exists()


def test_the_in_process_render_is_the_graph_and_passes_handles_not_arrays(source, tmp_path):
    """render_soundtrack = the graph on the inline executor; no task takes or returns a signal (5.8 MB here),
    only paths and small values; the work folder goes with the render; a failure is the task's own error."""
    import pickle

    from rtaudio.jobs.executors import InlineExecutor

    sizes: list[tuple[str, int]] = []

    class Recording(InlineExecutor):
        def submit(self, fn, args=(), kwargs=None):
            done = super().submit(fn, args, kwargs)
            sizes.append((fn.__name__, max(len(pickle.dumps((args, kwargs))), len(pickle.dumps(done.value)))))
            return done

    folder, path, cuts = source
    mine = f"rtaudio-soundtrack-{os.getpid()}-"  # the render's work folder (others' renders may run beside)
    with Recording() as ex:
        report = render_soundtrack_graph(
            path, cuts, str(tmp_path / "o.wav"), executor=ex, separation="dsp", cache=False
        )
    assert "graph" not in report and report["timings"]["separate_s"] > 0  # measured around the task, run in submit
    assert set(report["timings"]["tasks"]) == {
        "decode", "separate", "music", "beats", "speech", "plan", "render0", "mix", "measure", "naive", "crossfade",
        "report", "write",
    }  # fmt: skip
    assert len(sizes) == 13 and max(size for _, size in sizes) < 100_000, sizes
    assert not [p for p in os.listdir(tempfile.gettempdir()) if p.startswith(mine)]
    short = tmp_path / "short.wav"
    with open(path, "rb") as f, open(short, "wb") as g:
        g.write(f.read()[: os.path.getsize(path) // 2])
    with pytest.raises(InputError) as err:
        render_soundtrack(str(short), cuts, str(tmp_path / "x.wav"), separation="none", cache=False)
    assert "is truncated" in str(err.value) and "task 'decode'" not in str(err.value), str(err.value)


def test_bad_options_are_named(source, tmp_path):
    folder, path, cuts = source
    out = str(tmp_path / "o.wav")
    with pytest.raises(ParameterError, match="groups=0 must be a whole number >= 1"):
        render_soundtrack_graph(path, cuts, out, groups=0)
    with pytest.raises(ParameterError, match="unknown soundtrack setting.*'loudnes'"):
        render_soundtrack_graph(path, cuts, out, loudnes=-14)
    with pytest.raises(ParameterError, match="engine='spark' must be 'local' or 'ray'"):
        render_soundtrack_graph(path, cuts, out, engine="spark")
    bad = subprocess.run(
        [RTAUDIO, "soundtrack", path, "--cuts", cuts, "-o", out, "--workers", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--workers=0 must be a whole number >= 1" in bad.stderr


@pytest.mark.slow
def test_batch_split_jobs_isolates_a_corrupt_input(source, tmp_path):
    """``rtaudio batch --split-jobs``: each job a graph over the workers; a corrupt input fails alone."""
    folder, path, cuts = source
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 200)
    jobs = tmp_path / "jobs.jsonl"
    rows = [
        {
            "input": path,
            "cuts": cuts,
            "output": str(tmp_path / "out" / "good.wav"),
            "separation": "none",
            "cache": False,
            "report": str(tmp_path / "out" / "good.json"),
        },
        {"input": str(bad), "cuts": [[0, 1]], "output": str(tmp_path / "out" / "bad.wav"), "cache": False},
    ]
    jobs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = subprocess.run(
        [RTAUDIO, "batch", str(jobs), "--split-jobs", "--workers", "2", "--json", "--no-progress"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    summary = json.loads(run.stdout)
    assert summary["counts"] == {"done": 1, "skipped": 0, "failed": 1}
    failed = next(r for r in summary["jobs"] if r["status"] == "failed")
    assert failed["error_type"] == "InputError" and "is not a readable audio or video file" in failed["error"]
    report = json.loads((tmp_path / "out" / "good.json").read_text())
    assert report["graph"]["workers"] == 2 and "render0" in report["timings"]["tasks"]
    assert not [p for p in os.listdir(tmp_path / "out") if ".part-" in p]


@pytest.fixture(scope="module")
def short_jobs(tmp_path_factory):
    """Three 8 s jobs: dsp separation, no separation, and a truncated upload (its decode task fails)."""
    from rtaudio.testing import beat_and_chords

    folder = tmp_path_factory.mktemp("split-batch")
    for i in range(2):
        x = beat_and_chords(8.0, RATE, bpm=100 + 12 * i, seed=10 + i).astype(np.float32)
        sf.write(folder / f"in{i}.wav", np.stack([x, 0.8 * x], 1), RATE)
    sf.write(folder / "short.wav", beat_and_chords(8.0, RATE, seed=4).astype(np.float32), RATE, subtype="PCM_16")
    size = os.path.getsize(folder / "short.wav")
    with open(folder / "short.wav", "r+b") as f:
        f.truncate(44 + (size - 44) // 2)

    def jobs(out):
        return [
            {
                "input": str(folder / "in0.wav"),
                "cuts": [[0.3, 3.1], [4.0, 7.6]],
                "output": f"{out}/a.wav",
                "separation": "dsp",
                "cache": False,
                "report": f"{out}/a.json",
            },
            {
                "input": str(folder / "in1.wav"),
                "cuts": [[0, 2.5], [3, 5.2], [6, 7.9]],
                "output": f"{out}/b.wav",
                "separation": "none",
                "cache": False,
                "music": "crossfade",
            },
            {
                "input": str(folder / "short.wav"),
                "cuts": [[0, 2], [5, 7]],
                "output": f"{out}/c.wav",
                "separation": "none",
                "cache": False,
            },
        ]

    return folder, jobs


@pytest.mark.slow
def test_split_batch_runs_all_jobs_as_one_graph(short_jobs):
    """``split=True``: the 3 jobs' tasks in one graph; outputs byte-identical to one task per job; a bad job alone."""
    folder, jobs = short_jobs
    seen = []
    with make_executor("local", workers=2) as ex:
        one = run_batch(jobs(folder / "one"), executor=ex)
        split = run_batch(
            jobs(folder / "split"),
            executor=ex,
            split=True,
            progress=lambda done, total, row: seen.append((done, total, row["status"])),
            task_progress=lambda label, fraction: seen.append((label, fraction)),
        )
    for summary in (one, split):
        assert summary["counts"] == {"done": 2, "skipped": 0, "failed": 1}, summary
    assert [r["status"] for r in split["jobs"]] == ["done", "done", "failed"]
    failed = split["jobs"][2]
    assert failed["error_type"] == "InputError" and "short.wav' is truncated" in failed["error"], failed
    assert "task 'decode', 1 attempt(s)" in failed["error"] and failed["attempts"] == 1, failed
    for a, b in zip(one["jobs"][:2], split["jobs"][:2], strict=True):
        assert set(a) == set(b) and set(a["result"]) == set(b["result"])
        assert {k: v for k, v in a["result"].items() if k not in ("output", "seconds", "pid")} == {
            k: v for k, v in b["result"].items() if k not in ("output", "seconds", "pid")
        }
        with open(a["output"], "rb") as fa, open(b["output"], "rb") as fb:
            assert fa.read() == fb.read(), b["output"]
    assert json.loads((folder / "split" / "a.json").read_text())["graph"]["tasks"] > 10
    assert not [p for p in os.listdir(folder / "split") if ".part-" in p]
    jobs_done = [s for s in seen if isinstance(s[0], int)]
    assert [d for d, _, _ in jobs_done] == [1, 2, 3] and all(t == 3 for _, t, _ in jobs_done)
    labels = [s for s in seen if isinstance(s[0], str)]
    assert labels[-1][1] == 1.0 and {lab.split()[0] for lab, _ in labels} == {"a.wav", "b.wav", "c.wav"}
    names = [lab.split()[0] for lab, _ in labels]  # one graph: other jobs' tasks end before a.wav's last one
    assert min(names.index("b.wav"), names.index("c.wav")) < len(names) - 1 - names[::-1].index("a.wav"), names
    with make_executor("local", workers=2) as ex:
        again = run_batch(jobs(folder / "split"), executor=ex, split=True)
    assert [r["status"] for r in again["jobs"]] == ["skipped", "skipped", "failed"]


@pytest.mark.slow
def test_submit_split_equals_the_one_task_result(short_jobs):
    folder, jobs = short_jobs
    job = jobs(folder / "submit")[0]
    kw = {k: v for k, v in job.items() if k not in ("input", "cuts", "output", "report")}
    with Runner("local", workers=2) as runner:
        whole = runner.submit(job["input"], job["cuts"], str(folder / "submit" / "whole.wav"), **kw)
        split = runner.submit(job["input"], job["cuts"], str(folder / "submit" / "split.wav"), split=True, **kw)
        assert split.split and not whole.split
        a, b = whole.result(), split.result()
        assert split.done()
        with pytest.raises(ParameterError, match="split='yes' must be True or False"):
            runner.submit(job["input"], job["cuts"], str(folder / "submit" / "x.wav"), split="yes")
    assert b["pid"] == os.getpid() and a["pid"] != os.getpid()  # the graph's driver is this process
    assert {k: v for k, v in a.items() if k not in ("output", "seconds", "pid")} == {
        k: v for k, v in b.items() if k not in ("output", "seconds", "pid")
    }
    with open(a["output"], "rb") as fa, open(b["output"], "rb") as fb:
        assert fa.read() == fb.read()

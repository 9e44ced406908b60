"""One 10-minute soundtrack job (50 cuts, dsp separation): one task vs a task graph, wall time and peak memory.

Run: ``.venv/bin/python benchmarks/bench_soundtrack_graph.py [--keep DIR] [--json FILE]``

Input: the 10-minute MP4 with 50 cuts of ``test_bench_soundtrack.py`` (48 kHz stereo AAC).
Every configuration runs once, in a fresh Python process (one after the other, so
they see the same machine), with ``separation="dsp"`` and no cache:

* ``one-task``: the batch's unit, :func:`rtaudio.jobs.batch.run_job` as one task on a
  1-worker local pool (the baseline);
* ``graph-local-1`` / ``graph-local-2``: :func:`render_soundtrack_graph` on a local pool
  of 1 and 2 workers;
* ``graph-ray-2``: the same graph on a local Ray cluster of 2 CPUs (its start is timed
  apart, ``start_s``).

Peak memory is each worker process's kernel high-water mark (``VmHWM`` in
``/proc/PID/status``, read every 0.2 s while the job runs; the mark only rises, so
the last reading before a worker ends is its peak).  ``worker_peak_mb`` is the largest
worker, ``workers_sum_mb`` the sum over the job's workers (an upper bound: pages of
memory-mapped files and of Ray's shared object store count in every process that
touches them), ``driver_peak_mb`` the calling process.  The output of each graph is
compared with the one-task output (max abs difference of the decoded WAVs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CONFIGS = ("one-task", "graph-local-1", "graph-local-2", "graph-ray-2")


def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def _ray_workers() -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if f.read(5) == b"ray::":
                        pids.append(int(name))
            except OSError:
                pass
    return pids


class PeakSampler:
    """Per-process peak RSS (VmHWM) of the workers, read every ``interval_s``."""

    def __init__(self, find, interval_s: float = 0.2):
        self.find, self.interval_s, self.peaks = find, interval_s, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        for pid in self.find():
            mb = _hwm_mb(pid)
            if mb is not None:
                self.peaks[pid] = max(mb, self.peaks.get(pid, 0.0))

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._sample()
        self._stop.set()
        self._thread.join()


def run_one(config: str, video: str, cuts: str, out: str) -> dict:
    """One configuration in this process; returns its figures."""
    from rtaudio.jobs.batch import make_job, run_job
    from rtaudio.jobs.executors import make_executor
    from rtaudio.jobs.soundtrack.graph import render_soundtrack_graph

    opts = {"separation": "dsp", "cache": False}
    engine = "ray" if "ray" in config else "local"
    workers = 1 if config in ("one-task", "graph-local-1") else 2
    t0 = time.perf_counter()
    ex = make_executor(engine, workers=workers)
    start_s = time.perf_counter() - t0
    me = os.getpid()
    find = _ray_workers if engine == "ray" else (lambda: [p for p in _descendants(me)])
    try:
        with PeakSampler(find) as sampler:
            t0 = time.perf_counter()
            if config == "one-task":
                job = make_job({"input": video, "cuts": cuts, "output": out, **opts})
                h = ex.submit(run_job, (job.as_dict(),), {})
                ex.get(h)
                tasks = 1
            else:
                rep = render_soundtrack_graph(video, cuts, out, executor=ex, **opts)
                tasks = rep["graph"]["tasks"]
            wall = time.perf_counter() - t0
    finally:
        ex.close()
    peaks = [v for v in sampler.peaks.values() if v > 0]
    if engine == "local":  # the forkserver itself holds no job data; leave it out (smallest process)
        peaks = sorted(peaks)[1:] if len(peaks) > workers else peaks
    return {
        "config": config,
        "wall_s": round(wall, 2),
        "start_s": round(start_s, 2),
        "tasks": tasks,
        "workers": workers,
        "worker_peak_mb": round(max(peaks, default=0.0)),
        "workers_sum_mb": round(sum(peaks)),
        "processes": len(peaks),
        "driver_peak_mb": round(_hwm_mb(os.getpid()) or 0.0),
    }  # VmHWM: ru_maxrss would carry the parent's


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="folder for the input and outputs (default a temporary one)")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {', '.join(CONFIGS)}")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--video", help=argparse.SUPPRESS)
    ap.add_argument("--cuts", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run:  # a child: one configuration
        print(json.dumps(run_one(args.run, args.video, args.cuts, args.out)))
        return 0
    import numpy as np
    import soundfile as sf

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_bench_soundtrack import make_ten_minute_video

    folder = Path(args.keep or tempfile.mkdtemp(prefix="rtaudio-graph-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    video, cuts = (str(folder / "ten-minutes.mp4"), str(folder / "cuts.csv"))
    if not (os.path.exists(video) and os.path.exists(cuts)):
        video, cuts = make_ten_minute_video(folder)
    rows = []
    ref = None
    for config in args.configs.split(","):
        out = str(folder / f"{config}.wav")
        child = subprocess.run(
            [sys.executable, __file__, "--run", config, "--video", video, "--cuts", cuts, "--out", out],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{config} failed")
        row = json.loads(child.stdout.strip().splitlines()[-1])
        y, _ = sf.read(out, dtype="float64")
        if ref is None:
            ref = y
        row["max_abs_diff_vs_first"] = float(np.max(np.abs(y - ref))) if y.shape == ref.shape else None
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]["wall_s"]
    print(
        f"\n{'config':<15} {'wall s':>7} {'x base':>7} {'tasks':>6} {'worker peak MB':>15} {'sum MB':>7} "
        f"{'driver MB':>9} {'max diff':>9}"
    )
    for r in rows:
        print(
            f"{r['config']:<15} {r['wall_s']:>7.2f} {base / r['wall_s']:>7.2f} {r['tasks']:>6} "
            f"{r['worker_peak_mb']:>15} {r['workers_sum_mb']:>7} {r['driver_peak_mb']:>9} "
            f"{r['max_abs_diff_vs_first']:>9.2g}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "load": os.getloadavg()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

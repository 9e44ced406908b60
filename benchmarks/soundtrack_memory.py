"""Peak memory and time of ``rtaudio soundtrack`` against input length and number of cuts (issue 13).

Run: ``.venv/bin/python benchmarks/soundtrack_memory.py [--cases long,cuts] [--minutes 20,60] [--hours2]
[--separation none] [--workers N] [--out results.json]``

Inputs are synthesized into a temporary folder (never committed): the corpus video's audio
(``talking-with-pauses.mp4``, 42 s of 48 kHz stereo speech) repeated to N minutes as 16-bit FLAC,
and cut lists of K segments generated evenly (each keeps the middle 70 % of its slot, so a join
every ``length / K`` seconds). Each render runs in a fresh process (``python -m rtaudio soundtrack
... --no-progress``) that reports its own peak resident memory (``VmHWM`` of ``/proc/self/status``
at exit: the most it ever held, mapped file pages included) and, sampled every 0.1 s, the largest sum of
resident memory over it and all its descendants (``tree``: with ``--workers N`` the render is the task graph
on a pool of N worker processes, whose memory counts there); ``cpu``: user + system seconds of the
processes waited for (the render, and the pool workers where their parent reaped them).  Printed beside each figure: the
input's length and the size of its decoded audio as float32 (what one whole-length copy costs),
so a peak bounded by a window shows as a ratio that falls as the input grows.

Cases:

* ``long``: N-minute inputs (``--minutes``, default 20 and 60) with 50 cuts, the cache off, then
  the 20-minute one again with the cache on twice (the second run is the cache-hit re-render);
* ``cuts``: 300, 1,000 and 10,000 cuts on the 42 s corpus video (goal: 10,000 in under 60 s);
* ``--hours2``: a 2-hour input with 50 cuts (goal: it renders; slow, so off by default).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CORPUS = os.environ.get("RTAUDIO_CORPUS") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus")
VIDEO = os.path.join(CORPUS, "video", "talking-with-pauses.mp4")
#: ``python -c _PEAK PEAK_FILE ARGS...`` runs ``rtaudio ARGS`` and writes its VmHWM (kB) to PEAK_FILE at exit.
_PEAK = (
    "import atexit, runpy, sys\n"
    "peak_file = sys.argv.pop(1)\n"
    "def peak():\n"
    "    with open('/proc/self/status') as f:\n"
    "        hwm = [int(l.split()[1]) for l in f if l.startswith('VmHWM')][0]\n"
    "    with open(peak_file, 'w') as out:\n"
    "        out.write(str(hwm))\n"
    "atexit.register(peak)\n"
    "runpy.run_module('rtaudio', run_name='__main__', alter_sys=True)\n"
)


def long_input(folder: str, minutes: float, source: str = VIDEO) -> str:
    """``source``'s audio repeated to ``minutes`` as FLAC in ``folder`` (made once)."""
    import soundfile as sf

    from rtaudio.jobs.soundtrack.steps import decode

    path = os.path.join(folder, f"talking-{minutes:g}min.flac")
    if os.path.exists(path):
        return path
    x, rate = decode(source, 0, None)
    n = int(minutes * 60 * rate)
    with sf.SoundFile(path + ".part", "w", rate, x.shape[1], subtype="PCM_16", format="FLAC") as f:
        done = 0
        while done < n:
            k = min(len(x), n - done)
            f.write(x[:k])
            done += k
    os.replace(path + ".part", path)
    return path


def cut_list(folder: str, duration: float, cuts: int) -> str:
    """A CSV of ``cuts + 1`` segments over ``duration`` s: each keeps the middle 70 % of its slot."""
    path = os.path.join(folder, f"cuts-{duration:g}s-{cuts}.csv")
    slot = duration / (cuts + 1)
    with open(path, "w") as f:
        f.write("start,end\n")
        for i in range(cuts + 1):
            a = i * slot + 0.15 * slot
            f.write(f"{a:.4f},{a + 0.7 * slot:.4f}\n")
    return path


def tree_rss_kb(pid: int) -> int:
    """Resident memory (kB) of process ``pid`` and all its descendants, from /proc (0 when it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/status") as f:
                rss[int(name)] = next((int(line.split()[1]) for line in f if line.startswith("VmRSS")), 0)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def render(
    folder: str, source: str, cuts: str, *, separation: str, cache: bool, timeout: float, workers: int | None = None
) -> dict:
    """Run one render in a fresh process; its wall time, peak RSS (MB: its own, and of its process tree) and exit
    status."""
    import resource
    import threading

    out = os.path.join(folder, "out.wav")
    peak_file = os.path.join(folder, "peak.txt")
    args = [sys.executable, "-c", _PEAK, peak_file, "soundtrack", source, "--cuts", cuts, "-o", out]
    args += ["--no-progress", "--separation", separation, "--cache-dir", os.path.join(folder, "cache")]
    if not cache:
        args.append("--no-cache")
    if workers:
        args += ["--workers", str(workers)]
    if os.path.exists(peak_file):
        os.unlink(peak_file)
    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tree = [0]

    def sample():
        while proc.poll() is None:
            tree[0] = max(tree[0], tree_rss_kb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, stderr = proc.communicate(timeout=timeout)
        rc, err = proc.returncode, stderr.strip().splitlines()[-1:] if proc.returncode else []
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        rc, err = "timeout", [f"did not finish in {timeout:.0f} s"]
    sampler.join()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    peak = int(open(peak_file).read()) / 1024 if os.path.exists(peak_file) else None
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": None if peak is None else round(peak),
        "tree_peak_mb": round(tree[0] / 1024),
        "rc": rc,
        "error": err,
    }


def row(case: str, source: str, cuts: int, result: dict) -> dict:
    import soundfile as sf

    try:
        info = sf.info(source)
        frames, channels, rate = info.frames, info.channels, info.samplerate
    except RuntimeError:  # the video: its audio through the decoder
        from rtaudio.jobs.soundtrack.steps import probe

        p = probe(source)
        rate, channels = p["rate"], p["channels"]
        frames = int(p["duration"] * rate)
    r = {
        "case": case,
        "input_min": round(frames / rate / 60, 2),
        "input_f32_mb": round(frames * channels * 4 / 2**20),
        "cuts": cuts,
        **result,
    }
    if r["peak_rss_mb"]:
        r["peak_over_input"] = round(r["peak_rss_mb"] / max(1, r["input_f32_mb"]), 2)
    print(
        f"{case:28s} {r['input_min']:7.1f} min {r['input_f32_mb']:6d} MB f32 {cuts:6d} cuts  "
        f"{r['wall_s']:7.1f} s  cpu {r['cpu_s']:7.1f} s  peak {r['peak_rss_mb']} MB  tree {r['tree_peak_mb']} MB  rc {r['rc']} "
        f"{' '.join(r['error'])}",
        flush=True,
    )
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="long,cuts", help="comma-separated: long, cuts")
    ap.add_argument("--minutes", default="20,60", help="input lengths of the long case (minutes)")
    ap.add_argument("--counts", default="300,1000,10000", help="cut counts of the cuts case")
    ap.add_argument("--hours2", action="store_true", help="also a 2-hour input (slow)")
    ap.add_argument("--no-rerender", action="store_true", help="skip the cache-filled and cache-hit runs")
    ap.add_argument("--separation", default="none", help="backend for every render (none, dsp, auto, ...)")
    ap.add_argument("--workers", type=int, default=None, help="render as the task graph on N pool workers")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds before a render counts as not finished")
    ap.add_argument("--folder", default=None, help="where inputs go (default: a temporary folder, removed)")
    ap.add_argument("--out", default=None, help="also write the rows as JSON here")
    args = ap.parse_args()
    cases = set(args.cases.split(","))
    rows = []
    with tempfile.TemporaryDirectory(prefix="st-memory-") as tmp:
        folder = args.folder or tmp
        os.makedirs(folder, exist_ok=True)
        kw = {"separation": args.separation, "timeout": args.timeout, "workers": args.workers}
        on = f", {args.workers} workers" if args.workers else ""
        if "long" in cases:
            minutes = [float(m) for m in args.minutes.split(",")] + ([120.0] if args.hours2 else [])
            for m in minutes:
                src = long_input(folder, m)
                cuts = cut_list(folder, m * 60, 50)
                rows.append(row(f"{m:g} min, cache off{on}", src, 50, render(folder, src, cuts, cache=False, **kw)))
            if not args.no_rerender:
                src = long_input(folder, minutes[0])
                cuts = cut_list(folder, minutes[0] * 60, 50)
                for what in ("cache filled", "cache hit"):
                    result = render(folder, src, cuts, cache=True, **kw)
                    rows.append(row(f"{minutes[0]:g} min, {what}{on}", src, 50, result))
        if "cuts" in cases:
            from rtaudio.jobs.soundtrack.steps import probe

            duration = probe(VIDEO)["duration"]
            for k in (int(c) for c in args.counts.split(",")):
                cuts = cut_list(folder, duration - 0.1, k)
                rows.append(row(f"42 s video, {k} cuts{on}", VIDEO, k, render(folder, VIDEO, cuts, cache=False, **kw)))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"separation": args.separation, "rows": rows, "numpy": np.__version__}, f, indent=1)


if __name__ == "__main__":
    main()

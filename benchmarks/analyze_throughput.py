"""Throughput of ``rtaudio analyze`` (default stages: spectrum + levels) on one core, against decode-only.

Synthesises 10 minutes of 48 kHz mono music-like audio as a 16-bit WAV (once, in
the temp folder), then runs, alternately and ``--runs`` times each, pinned to one
core (``taskset -c CORE``):

* ``decode``: the file decoded through :class:`~rtaudio.sources.av.FileSource` alone;
* ``analyze``: ``rtaudio analyze FILE --no-progress -o OUT`` through the CLI's ``main``
  (in a child that also takes the CPU seconds of the engine's run).

Figures, as x real time (audio seconds / seconds): the work in wall seconds (for
``analyze`` the summary line's figure: the engine's run, start to end event); the
work in CPU seconds (user + system, all threads: what a free core would take,
much less disturbed than wall time on a shared machine); and the whole process in
CPU seconds, start-up and imports included. Printed: the median of each and the
ratio decode / analyze of the medians, taken in the same run.

    .venv/bin/python benchmarks/analyze_throughput.py --runs 7
    git archive BASE rtaudio | tar -x -C /tmp/base    # the code before a change, to compare in the same run
    .venv/bin/python benchmarks/analyze_throughput.py --runs 7 --before /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

RATE = 48000
SECONDS = 600.0


def make_wav(path: str) -> None:
    """10 minutes of beat-and-chords plus a little noise, 48 kHz mono, 16-bit PCM."""
    import numpy as np
    import soundfile as sf

    from rtaudio.testing import beat_and_chords, noise

    minute = 60.0
    one = beat_and_chords(minute, RATE) + noise(minute, RATE, 0.01)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        for k in range(int(SECONDS // minute)):
            f.write(np.roll(one, 100 * k) * 0.8)


def child_decode(path: str) -> None:
    from rtaudio.sources.av import FileSource

    t0, cpu = time.perf_counter(), time.process_time()
    source = FileSource(path)
    n = sum(len(b) for b in source.blocks(lambda e: None))
    source.close()
    print(json.dumps({"samples": n, "wall": time.perf_counter() - t0, "cpu": time.process_time() - cpu}))


def child_analyze(wav: str, out: str) -> None:
    """``rtaudio analyze WAV --no-progress -o OUT`` in this process, with the CPU seconds of the engine's run."""
    from rtaudio import cli
    from rtaudio.engine import Engine

    run = Engine.run
    taken = {}

    def timed_run(self):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return run(self)
        finally:
            taken.update(cpu=time.process_time() - cpu, wall=time.perf_counter() - wall)

    Engine.run = timed_run
    status = cli.main(["analyze", wav, "--no-progress", "-o", out])
    print(json.dumps({"status": status, **taken}))


def _run(cmd: list[str], root: str) -> tuple[float, str]:
    """Run ``cmd`` on the rtaudio package under ``root`` (working folder and PYTHONPATH: ``python -m``
    puts the working folder first); its CPU seconds (user + system, the whole process) and its output."""
    env = {**os.environ, "PYTHONPATH": root}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=root)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout + done.stderr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5, help="runs of each command (alternating)")
    p.add_argument("--core", type=int, default=0, help="the one core to pin to")
    p.add_argument("--wav", default=os.path.join(tempfile.gettempdir(), "rtaudio-bench-10min-48k-mono.wav"))
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "rtaudio-bench-analyze.jsonl"))
    p.add_argument(
        "--before",
        metavar="DIR",
        help="also run analyze from the rtaudio package in DIR (PYTHONPATH=DIR), e.g. an export of the "
        "commit before a change: figures before and after in the same run",
    )
    p.add_argument("--child-decode", metavar="WAV", help=argparse.SUPPRESS)
    p.add_argument("--child-analyze", metavar="WAV", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_decode:
        child_decode(args.child_decode)
        return
    if args.child_analyze:
        child_analyze(args.child_analyze, args.out)
        return
    if not os.path.exists(args.wav):
        make_wav(args.wav)
    pin = ["taskset", "-c", str(args.core)]
    cmds = {"decode": [*pin, sys.executable, os.path.abspath(__file__), "--child-decode", args.wav]}
    analyze = [*pin, sys.executable, os.path.abspath(__file__), "--child-analyze", args.wav, "--out", args.out]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roots = {"decode": here}
    if args.before:
        cmds["before"] = analyze
        roots["before"] = os.path.abspath(args.before)
    cmds["analyze"] = analyze
    roots["analyze"] = here
    for name in cmds:  # warm-up: numba's on-disk cache, the file in the page cache
        _run(cmds[name], roots[name])
    rows: dict[str, list[tuple[float, float, float]]] = {k: [] for k in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            cpu, out = _run(cmd, roots[name])
            if name == "decode":
                work = json.loads(out.splitlines()[-1])  # the decode child prints nothing else
            else:
                found = re.search(r"in ([0-9.]+) s \(", out)
                if found is None:
                    sys.exit(f"no summary line in the output of {' '.join(cmd)}:\n{out}")
                work = json.loads(next(line for line in out.splitlines() if line.startswith('{"status"')))
                work["wall"] = float(found.group(1))  # the summary line's figure
            rows[name].append((SECONDS / work["wall"], SECONDS / work["cpu"], SECONDS / cpu))
    heads = ("work, wall", "work, CPU", "whole process, CPU")
    print(f"10 min 48 kHz mono WAV, {args.runs} runs each, alternating, taskset -c {args.core}")
    print("x real time, median (min-max); work: the analysis (engine run) or the decoding; CPU: user + system")
    print(f"{'':8}" + "".join(f"{h:>22}" for h in heads))
    med = {}
    for k, v in rows.items():
        med[k] = [statistics.median(r[c] for r in v) for c in range(3)]
        cells = [f"{med[k][c]:.0f} ({min(r[c] for r in v):.0f}-{max(r[c] for r in v):.0f})" for c in range(3)]
        print(f"{k:8}" + "".join(f"{c:>22}" for c in cells))
    for k in cmds:
        if k != "decode":
            ratios = ", ".join(f"{h} {med['decode'][c] / med[k][c]:.1f}" for c, h in enumerate(heads))
            print(f"decode/{k} ratio of medians: {ratios}")


if __name__ == "__main__":
    main()

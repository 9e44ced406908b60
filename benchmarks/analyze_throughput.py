"""Throughput of ``rtaudio analyze`` (default stages: spectrum + levels) on one core, against decode-only.

Synthesises 10 minutes of 48 kHz mono music-like audio as a 16-bit WAV (once, in
the temp folder), then runs, alternately and ``--runs`` times each, pinned to one
core (``taskset -c CORE``):

* ``decode``: the file decoded through :class:`~rtaudio.sources.av.FileSource` alone;
* ``analyze``: ``rtaudio analyze FILE --no-progress -o OUT`` (the CLI, as a user runs it).

Each child times its own work after its imports (``x_real_time`` = audio seconds /
work seconds; for ``analyze`` that is the summary line's figure) and the script
also reports the whole process (start-up included). Printed: the median of each
and the ratio decode / analyze of the medians (how many times slower than reading
the file the analysis is), taken in the same run, so a noisy machine moves both.

    .venv/bin/python benchmarks/analyze_throughput.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

    t0 = time.perf_counter()
    source = FileSource(path)
    n = sum(len(b) for b in source.blocks(lambda e: None))
    source.close()
    seconds = time.perf_counter() - t0
    print(json.dumps({"samples": n, "seconds": seconds}))


def _run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return wall, done.stdout + done.stderr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5, help="runs of each command (alternating)")
    p.add_argument("--core", type=int, default=0, help="the one core to pin to")
    p.add_argument("--wav", default=os.path.join(tempfile.gettempdir(), "rtaudio-bench-10min-48k-mono.wav"))
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "rtaudio-bench-analyze.jsonl"))
    p.add_argument("--child-decode", metavar="WAV", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_decode:
        child_decode(args.child_decode)
        return
    if not os.path.exists(args.wav):
        make_wav(args.wav)
    pin = ["taskset", "-c", str(args.core)]
    decode = [*pin, sys.executable, __file__, "--child-decode", args.wav]
    analyze = [*pin, sys.executable, "-m", "rtaudio", "analyze", args.wav, "--no-progress", "-o", args.out]
    _run(analyze)  # warm-up: numba's on-disk cache, the file in the page cache
    rows: dict[str, list[tuple[float, float]]] = {"decode": [], "analyze": []}
    for _ in range(args.runs):
        wall, out = _run(decode)
        rows["decode"].append((SECONDS / json.loads(out.splitlines()[-1])["seconds"], SECONDS / wall))
        wall, out = _run(analyze)
        speed = re.search(r"in ([0-9.]+) s \(", out)
        if speed is None:
            sys.exit(f"no summary line in the output of {' '.join(analyze)}:\n{out}")
        rows["analyze"].append((SECONDS / float(speed.group(1)), SECONDS / wall))
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in rows.items()}
    print(f"10 min 48 kHz mono WAV, {args.runs} runs each, alternating, taskset -c {args.core}")
    print(f"{'':8} {'work x real time (median, min-max)':>36} {'whole process x real time':>28}")
    for k, v in rows.items():
        work = sorted(r[0] for r in v)
        whole = sorted(r[1] for r in v)
        print(
            f"{k:8} {med[k][0]:14.0f} ({work[0]:.0f}-{work[-1]:.0f})".ljust(46)
            + f"{med[k][1]:10.0f} ({whole[0]:.0f}-{whole[-1]:.0f})"
        )
    print(
        f"decode/analyze ratio of medians: work {med['decode'][0] / med['analyze'][0]:.1f}, "
        f"whole process {med['decode'][1] / med['analyze'][1]:.1f}"
    )


if __name__ == "__main__":
    main()

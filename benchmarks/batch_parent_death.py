"""How long batch workers outlive a ``kill -9`` of their ``rtaudio batch`` process (issue 13: goal < 5 s).

Usage: ``.venv/bin/python benchmarks/batch_parent_death.py [--trials 3] [--workers 2]``.  Starts a batch of
long jobs, kills the batch process with SIGKILL once its workers run, and prints the seconds until every
process it started (forkserver, resource tracker, workers) is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
from test_stops import _descendants  # noqa: E402

from rtaudio.outputs import alive as process_alive  # noqa: E402
from rtaudio.testing import noise  # noqa: E402


def trial(folder: str, workers: int) -> tuple[int, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtaudio.cli", "batch", os.path.join(folder, "jobs.jsonl"), "--workers", str(workers),
         "--no-progress", "--force"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_descendants(proc.pid)) < workers + 1:
        time.sleep(0.05)
    time.sleep(1.0)
    family = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    t0 = time.monotonic()
    while any(process_alive(p) for p in family) and time.monotonic() - t0 < 60:
        time.sleep(0.01)
    return len(family), time.monotonic() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        x = noise(240.0, 22050, 0.1, seed=2)
        sf.write(os.path.join(tmp, "long.wav"), np.stack([x, x], 1), 22050)
        with open(os.path.join(tmp, "jobs.jsonl"), "w") as f:
            for i in range(args.workers):
                f.write(f'{{"input": "long.wav", "cuts": [[0, 200]], "output": "o{i}.wav", "separation": "dsp"}}\n')
        for k in range(args.trials):
            n, seconds = trial(tmp, args.workers)
            print(f"trial {k + 1}: {n} processes below the batch, all gone {seconds:.2f} s after kill -9")
    return 0


if __name__ == "__main__":
    sys.exit(main())

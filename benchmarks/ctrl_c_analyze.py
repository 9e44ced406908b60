"""Ctrl-C during ``rtaudio analyze`` at random times (issue 13): how many runs leave a JSONL ending with ``end``.

Usage: ``.venv/bin/python benchmarks/ctrl_c_analyze.py [--runs 100] [--seed 13]``.  Each run analyses 60 s
of noise (spectrum, levels, vad: about 1.5 s of work here) and gets SIGINT 0-2 s after its events file
appears (a signal late in the run may find it ending: then the last event is ``end``, reason ``end``).  Prints one line per failure and a summary; exit status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections import Counter

import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]  # this checkout's rtaudio, and the test's helpers
from test_stops import check_interrupted, interrupted_run  # noqa: E402

from rtaudio.testing import noise  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "noise.wav")
        sf.write(wav, noise(60.0, 16000, 0.1, seed=1), 16000)
        ok, outcomes = 0, Counter()
        for i in range(args.runs):
            delay = rng.uniform(0.0, 2.0)
            run = interrupted_run(wav, os.path.join(tmp, "e.jsonl"), delay)
            try:
                check_interrupted(run)
                ok += 1
            except AssertionError as exc:
                print(f"run {i + 1} (SIGINT {delay:.3f} s after the file appeared): {exc!r}"[:300])
            last = (run["records"] or [{}])[-1]
            outcomes[(run["code"], last.get("type"), last.get("reason"), run["signalled"])] += 1
    print(f"{ok} of {args.runs} runs: exit 0, JSONL parses and ends with 'end'")
    for (code, kind, reason, signalled), n in sorted(outcomes.items(), key=str):
        print(f"  {n:3d} x exit {code}, last event {kind} ({reason}), {'signalled' if signalled else 'ended first'}")
    return 0 if ok == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
